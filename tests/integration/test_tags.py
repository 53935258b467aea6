"""The ``tags`` tag on the real server: tags are created, listed, read and deleted, and never written to.

Every operation of TagsApi is called through the recording proxy; each effect is read back
through another call (get_tag, list_tags, get_branch, get_commit, list_objects).
"""

from __future__ import annotations

import pytest

import lakefs_sdk
from lakefs_sdk.models import Commit, CommitCreation, Ref, TagCreation

from support.contract import query_dict
from support.lakefs import Wire, create_repository, delete_repository


def commit_file(client: lakefs_sdk.LakeFSClient, repo: str, branch: str, path: str, data: bytes) -> Commit:
    """Upload one object to ``branch`` and commit it."""
    client.objects_api.upload_object(repo, branch, path, content=data)
    return client.commits_api.commit(repo, branch, CommitCreation(message=f"add {path}"))


def assert_server_error(error: lakefs_sdk.ApiException, status: int, message_part: str) -> None:
    """The typed exception carries the server's status, its own message and the request id."""
    assert error.status == status
    assert error.message is not None and message_part in error.message, error.message
    assert error.request_id


def test_tag_on_a_commit_id_is_read_back_by_get_and_list(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    first = commit_file(lakefs_client, repo, "main", "a.txt", b"one")
    commit_file(lakefs_client, repo, "main", "b.txt", b"two")
    tags = lakefs_client.tags_api

    created = tags.create_tag(repo, TagCreation(id="v1.0.0", ref=first.id))

    assert isinstance(created, Ref) and created == Ref(id="v1.0.0", commit_id=first.id)
    assert wire.last("createTag").status == 201
    assert tags.get_tag(repo, "v1.0.0") == created
    assert [tag.id for tag in tags.list_tags(repo).results] == ["v1.0.0"]
    # The tag is a ref: the commit and the content it names are reachable through it.
    assert lakefs_client.commits_api.get_commit(repo, "v1.0.0").id == first.id
    assert [o.path for o in lakefs_client.objects_api.list_objects(repo, "v1.0.0").results] == ["a.txt"]


def test_tag_on_a_branch_name_pins_the_branch_head_of_that_moment(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str
) -> None:
    head = commit_file(lakefs_client, repo, "main", "a.txt", b"one")

    tag = lakefs_client.tags_api.create_tag(repo, TagCreation(id="release", ref="main"))
    assert tag.commit_id == head.id

    later = commit_file(lakefs_client, repo, "main", "b.txt", b"two")
    # The branch moves on; the tag keeps the commit it resolved to when it was created.
    assert lakefs_client.branches_api.get_branch(repo, "main").commit_id == later.id
    assert lakefs_client.tags_api.get_tag(repo, "release").commit_id == head.id


def test_tag_on_a_ref_expression_resolves_it(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    first = commit_file(lakefs_client, repo, "main", "a.txt", b"one")
    commit_file(lakefs_client, repo, "main", "b.txt", b"two")

    tag = lakefs_client.tags_api.create_tag(repo, TagCreation(id="previous", ref="main~1"))

    assert tag.commit_id == first.id
    assert lakefs_client.tags_api.get_tag(repo, "previous").commit_id == first.id


def test_list_tags_with_prefix_after_amount_and_iter(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    head = commit_file(lakefs_client, repo, "main", "a.txt", b"one")
    names = ["v1.0", "v1.1", "v1.2", "v2.0", "x-latest"]
    for name in names:
        lakefs_client.tags_api.create_tag(repo, TagCreation(id=name, ref=head.id))
    tags = lakefs_client.tags_api

    assert [t.id for t in tags.list_tags(repo).results] == names
    assert all(t.commit_id == head.id for t in tags.list_tags(repo).results)

    by_prefix = tags.list_tags(repo, prefix="v1.")
    assert [t.id for t in by_prefix.results] == ["v1.0", "v1.1", "v1.2"]
    assert by_prefix.pagination.has_more is False

    page = tags.list_tags(repo, amount=2)
    assert [t.id for t in page.results] == ["v1.0", "v1.1"]
    assert page.pagination.has_more is True and page.pagination.next_offset == "v1.1"
    assert page.pagination.results == 2

    # ``after`` is exclusive: the page starts past the given name.
    rest = tags.list_tags(repo, after=page.pagination.next_offset, amount=2)
    assert [t.id for t in rest.results] == ["v1.2", "v2.0"]
    assert [t.id for t in tags.list_tags(repo, prefix="v", after="v1.1").results] == ["v1.2", "v2.0"]
    assert query_dict(wire.last("listTags")) == {"prefix": "v", "after": "v1.1"}

    mark = len(wire.exchanges())
    assert [t.id for t in tags.list_tags_iter(repo, amount=2)] == names
    pages = [e for e in wire.exchanges()[mark:] if e.operation_id == "listTags"]
    assert [query_dict(e).get("after") for e in pages] == [None, "v1.1", "v2.0"]
    assert [t.id for t in tags.list_tags_iter(repo, prefix="v1.", amount=1)] == ["v1.0", "v1.1", "v1.2"]


def test_delete_tag_removes_it_and_keeps_its_commit(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    head = commit_file(lakefs_client, repo, "main", "a.txt", b"one")
    tags = lakefs_client.tags_api
    tags.create_tag(repo, TagCreation(id="doomed", ref=head.id))
    tags.create_tag(repo, TagCreation(id="kept", ref=head.id))

    assert tags.delete_tag(repo, "doomed") is None
    assert wire.last("deleteTag").status == 204

    with pytest.raises(lakefs_sdk.NotFoundException) as missing:
        tags.get_tag(repo, "doomed")
    assert_server_error(missing.value, 404, "tag not found")
    assert [t.id for t in tags.list_tags(repo).results] == ["kept"]
    assert lakefs_client.commits_api.get_commit(repo, head.id).id == head.id

    with pytest.raises(lakefs_sdk.NotFoundException) as again:
        tags.delete_tag(repo, "doomed")
    assert_server_error(again.value, 404, "tag not found")


def test_creating_an_existing_tag_is_a_conflict(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    first = commit_file(lakefs_client, repo, "main", "a.txt", b"one")
    second = commit_file(lakefs_client, repo, "main", "b.txt", b"two")
    tags = lakefs_client.tags_api
    tags.create_tag(repo, TagCreation(id="v1", ref=first.id))

    for ref in (first.id, second.id):  # the same target or another: both refused
        with pytest.raises(lakefs_sdk.ConflictException) as conflict:
            tags.create_tag(repo, TagCreation(id="v1", ref=ref))
        assert_server_error(conflict.value, 409, "tag already exists")
    assert wire.last("createTag").status == 409
    assert tags.get_tag(repo, "v1").commit_id == first.id


def test_tag_on_a_missing_ref_is_not_found(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    with pytest.raises(lakefs_sdk.NotFoundException) as missing:
        lakefs_client.tags_api.create_tag(repo, TagCreation(id="v1", ref="no-such-branch"))
    assert_server_error(missing.value, 404, "not found")
    assert lakefs_client.tags_api.list_tags(repo).results == []


def test_writes_to_a_tag_are_refused_as_a_missing_branch(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    """Writes take a branch; lakeFS answers a tag name there with 404 "branch ... not found"."""
    head = commit_file(lakefs_client, repo, "main", "a.txt", b"one")
    lakefs_client.tags_api.create_tag(repo, TagCreation(id="v1", ref=head.id))

    with pytest.raises(lakefs_sdk.NotFoundException) as upload:
        lakefs_client.objects_api.upload_object(repo, "v1", "b.txt", content=b"two")
    assert_server_error(upload.value, 404, "branch 'v1' not found")

    with pytest.raises(lakefs_sdk.NotFoundException) as commit:
        lakefs_client.commits_api.commit(repo, "v1", CommitCreation(message="on a tag", allow_empty=True))
    assert_server_error(commit.value, 404, "branch not found")

    # Nothing moved: the tag, its content and main are as they were, and no branch "v1" appeared.
    assert lakefs_client.tags_api.get_tag(repo, "v1").commit_id == head.id
    assert [o.path for o in lakefs_client.objects_api.list_objects(repo, "v1").results] == ["a.txt"]
    assert lakefs_client.branches_api.get_branch(repo, "main").commit_id == head.id
    assert [b.id for b in lakefs_client.branches_api.list_branches(repo).results] == ["main"]


def test_tags_of_a_read_only_repository_need_force(lakefs_client: lakefs_sdk.LakeFSClient) -> None:
    repo = create_repository(lakefs_client, "tags-read-only", read_only=True)
    try:
        tags = lakefs_client.tags_api
        with pytest.raises(lakefs_sdk.ForbiddenException) as refused:
            tags.create_tag(repo, TagCreation(id="v1", ref="main"))
        assert_server_error(refused.value, 403, "read-only repository")
        assert tags.list_tags(repo).results == []

        created = tags.create_tag(repo, TagCreation(id="v1", ref="main", force=True))
        assert tags.get_tag(repo, "v1") == created

        with pytest.raises(lakefs_sdk.ForbiddenException) as kept:
            tags.delete_tag(repo, "v1", force=False)
        assert_server_error(kept.value, 403, "read-only repository")
        assert tags.get_tag(repo, "v1") == created

        tags.delete_tag(repo, "v1", force=True)
        assert tags.list_tags(repo).results == []
    finally:
        delete_repository(lakefs_client, repo)
