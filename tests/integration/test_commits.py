"""The ``commits`` tag on the real server: commits are made, refused when empty, and read back.

Every operation of CommitsApi (commit, getCommit) is called through the recording proxy;
each commit is read back through get_commit, log_commits, get_branch or the object listing.
"""

from __future__ import annotations

import time

import pytest

import lakefs_sdk
from lakefs_sdk.models import (
    BranchCreation,
    Commit,
    CommitCreation,
    ResetCreation,
    TagCreation,
)

from support.contract import json_body, query_dict
from support.lakefs import Wire, create_repository, delete_repository

ADMIN = "admin"  # the user scripts/lakefs_server.py sets the server up with


def assert_server_error(error: lakefs_sdk.ApiException, status: int, message_part: str) -> None:
    """The typed exception carries the server's status, its own message and the request id."""
    assert error.status == status
    assert error.message is not None and message_part in error.message, error.message
    assert error.request_id


def paths(client: lakefs_sdk.LakeFSClient, repo: str, ref: str) -> list[str]:
    return [o.path for o in client.objects_api.list_objects(repo, ref).results]


def test_commit_with_message_and_metadata_is_read_back_field_by_field(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    commits = lakefs_client.commits_api
    parent = lakefs_client.branches_api.get_branch(repo, "main").commit_id
    lakefs_client.objects_api.upload_object(repo, "main", "data/sales.csv", content=b"id,amount\n1,10\n")
    metadata = {"source": "airflow", "run_id": "2025-01-02T03:00", "empty": ""}

    before = int(time.time())
    made = commits.commit(repo, "main", CommitCreation(message="Add daily sales", metadata=metadata))
    after = int(time.time()) + 1

    sent = wire.last("commit")
    assert sent.status == 201
    assert json_body(sent) == {"message": "Add daily sales", "metadata": metadata, "allow_empty": False, "force": False}
    assert isinstance(made, Commit)
    assert made.message == "Add daily sales" and made.metadata == metadata
    assert made.committer == ADMIN  # the calling user (the open-source server has no other: test_auth.py)
    assert made.parents == [parent]
    assert len(made.id) == 64 and made.meta_range_id
    # Same clock (one machine), whole seconds: no duration is measured here.
    assert before <= made.creation_date <= after

    read = commits.get_commit(repo, made.id)
    assert read == made
    assert (
        read.id,
        read.committer,
        read.message,
        read.metadata,
        read.parents,
        read.meta_range_id,
        read.creation_date,
    ) == (
        made.id,
        ADMIN,
        "Add daily sales",
        metadata,
        [parent],
        made.meta_range_id,
        made.creation_date,
    )
    assert read.generation == 2  # the repository's first commit is generation 1
    assert lakefs_client.refs_api.log_commits(repo, "main", amount=1).results == [made]
    assert lakefs_client.branches_api.get_branch(repo, "main").commit_id == made.id
    assert lakefs_client.branches_api.diff_branch(repo, "main").results == []
    assert paths(lakefs_client, repo, made.id) == ["data/sales.csv"]


def test_commit_date_overrides_the_creation_date(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    lakefs_client.objects_api.upload_object(repo, "main", "a.txt", content=b"a")

    made = lakefs_client.commits_api.commit(repo, "main", CommitCreation(message="backfill", date=1_600_000_000))

    assert json_body(wire.last("commit"))["date"] == 1_600_000_000
    assert made.creation_date == 1_600_000_000
    assert lakefs_client.commits_api.get_commit(repo, made.id).creation_date == 1_600_000_000
    assert lakefs_client.refs_api.log_commits(repo, "main", amount=1).results[0].creation_date == 1_600_000_000


def test_empty_commit_is_refused_unless_allowed(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    commits = lakefs_client.commits_api
    head = commits.get_commit(repo, "main")

    with pytest.raises(lakefs_sdk.BadRequestException) as refused:
        commits.commit(repo, "main", CommitCreation(message="nothing"))
    assert_server_error(refused.value, 400, "no changes")
    assert wire.last("commit").status == 400
    assert lakefs_client.branches_api.get_branch(repo, "main").commit_id == head.id

    empty = commits.commit(repo, "main", CommitCreation(message="marker", allow_empty=True))

    assert json_body(wire.last("commit"))["allow_empty"] is True
    assert empty.parents == [head.id] and empty.message == "marker"
    assert lakefs_client.branches_api.get_branch(repo, "main").commit_id == empty.id
    read = commits.get_commit(repo, empty.id)
    assert read.parents == [head.id] and read.message == "marker"


def test_commit_on_a_branch_whose_changes_cancel_out_is_refused(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str
) -> None:
    """Staged writes that change nothing (identical bytes rewritten, or reset away) make no commit."""
    objects, commits = lakefs_client.objects_api, lakefs_client.commits_api
    objects.upload_object(repo, "main", "a.txt", content=b"same")
    head = commits.commit(repo, "main", CommitCreation(message="first"))

    objects.upload_object(repo, "main", "a.txt", content=b"same")
    assert lakefs_client.branches_api.diff_branch(repo, "main").results == []
    with pytest.raises(lakefs_sdk.BadRequestException) as identical:
        commits.commit(repo, "main", CommitCreation(message="rewrite"))
    assert_server_error(identical.value, 400, "commit: no changes")

    objects.upload_object(repo, "main", "b.txt", content=b"new")
    lakefs_client.branches_api.reset_branch(repo, "main", ResetCreation(type="reset"))
    with pytest.raises(lakefs_sdk.BadRequestException) as reset:
        commits.commit(repo, "main", CommitCreation(message="after reset"))
    assert_server_error(reset.value, 400, "commit: no changes")

    assert commits.get_commit(repo, "main").id == head.id
    assert paths(lakefs_client, repo, "main") == ["a.txt"]


def test_commit_of_a_source_metarange(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    """``source_metarange`` commits an existing meta-range; the branch must have nothing staged."""
    objects, commits = lakefs_client.objects_api, lakefs_client.commits_api
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="copy", source="main"))
    objects.upload_object(repo, "main", "a.txt", content=b"a")
    source = commits.commit(repo, "main", CommitCreation(message="content"))

    made = commits.commit(repo, "copy", CommitCreation(message="adopt"), source_metarange=source.meta_range_id)

    assert query_dict(wire.last("commit")) == {"source_metarange": source.meta_range_id}
    assert made.meta_range_id == source.meta_range_id and made.id != source.id
    assert commits.get_commit(repo, "copy").meta_range_id == source.meta_range_id
    assert paths(lakefs_client, repo, "copy") == ["a.txt"]

    objects.upload_object(repo, "copy", "b.txt", content=b"b")
    with pytest.raises(lakefs_sdk.BadRequestException) as dirty:
        commits.commit(repo, "copy", CommitCreation(message="again"), source_metarange=source.meta_range_id)
    assert_server_error(dirty.value, 400, "cannot use source MetaRange on a branch with uncommitted changes")
    assert commits.get_commit(repo, "copy").id == made.id


def test_get_commit_resolves_any_ref(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    commits = lakefs_client.commits_api
    lakefs_client.objects_api.upload_object(repo, "main", "a.txt", content=b"a")
    first = commits.commit(repo, "main", CommitCreation(message="first"))
    lakefs_client.objects_api.upload_object(repo, "main", "b.txt", content=b"b")
    second = commits.commit(repo, "main", CommitCreation(message="second"))
    lakefs_client.tags_api.create_tag(repo, TagCreation(id="v1", ref=first.id))

    assert commits.get_commit(repo, "main") == second
    assert commits.get_commit(repo, "v1") == first
    assert commits.get_commit(repo, "main~1") == first
    assert commits.get_commit(repo, first.id[:16]) == first
    root = commits.get_commit(repo, "main~2")
    assert root.parents == [] and first.parents == [root.id]


def test_get_commit_of_a_missing_commit_is_not_found(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    with pytest.raises(lakefs_sdk.NotFoundException) as missing:
        lakefs_client.commits_api.get_commit(repo, "0" * 64)
    assert_server_error(missing.value, 404, "commit not found")


def test_commit_on_a_missing_branch_is_not_found(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    with pytest.raises(lakefs_sdk.NotFoundException) as missing:
        lakefs_client.commits_api.commit(repo, "no-such-branch", CommitCreation(message="x", allow_empty=True))
    # lakeFS words this through its pre-commit hooks ("... listing actions: not found").
    assert_server_error(missing.value, 404, "not found")
    assert [b.id for b in lakefs_client.branches_api.list_branches(repo).results] == ["main"]


def test_metadata_values_must_be_strings_before_anything_is_sent(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    with pytest.raises(lakefs_sdk.ApiValueError):
        lakefs_client.commits_api.commit(
            repo,
            "main",
            {"message": "typed", "metadata": {"attempt": 3}, "allow_empty": True},  # type: ignore[arg-type]
        )
    assert "commit" not in wire.operations()


def test_commit_in_a_read_only_repository_needs_force(lakefs_client: lakefs_sdk.LakeFSClient) -> None:
    repo = create_repository(lakefs_client, "commits-read-only", read_only=True)
    try:
        commits = lakefs_client.commits_api
        head = commits.get_commit(repo, "main")
        with pytest.raises(lakefs_sdk.ForbiddenException) as refused:
            commits.commit(repo, "main", CommitCreation(message="x", allow_empty=True))
        assert_server_error(refused.value, 403, "read-only repository")
        assert commits.get_commit(repo, "main").id == head.id

        forced = commits.commit(repo, "main", CommitCreation(message="x", allow_empty=True, force=True))
        assert forced.parents == [head.id]
        assert commits.get_commit(repo, "main") == forced
    finally:
        delete_repository(lakefs_client, repo)
