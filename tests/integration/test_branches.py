"""The ``branches`` tag on the real server: branches made, listed, deleted, reset, reverted, cherry-picked.

Every operation of BranchesApi is called through the recording proxy, and each effect is read
back through another call (get_branch, list_branches, diff_branch, get_object, list_objects,
get_commit, diff_refs). What lakeFS does with ``parent_number`` (revert and cherry-pick, normal
and merge commits) is pinned here value by value.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Callable, List, Optional, Tuple

import pytest
import urllib3

import lakefs_sdk
from lakefs_sdk.models import (
    BranchCreation,
    BranchProtectionRule,
    CherryPickCreation,
    Commit,
    CommitCreation,
    CommitOverrides,
    Merge,
    Ref,
    ResetCreation,
    RevertCreation,
    TagCreation,
)

from support.contract import json_body, query_dict
from support.lakefs import LakeFS, Wire, create_repository, delete_repository
from support.recording_proxy import RecordingProxy

ADMIN = "admin"  # the user scripts/lakefs_server.py sets the server up with
Client = lakefs_sdk.LakeFSClient


# -- helpers ------------------------------------------------------------------------------


def commit_files(client: Client, repo: str, branch: str, files: dict[str, bytes], message: str = "") -> Commit:
    """Upload ``files`` to ``branch`` and commit them."""
    for path, data in files.items():
        client.objects_api.upload_object(repo, branch, path, content=data)
    return client.commits_api.commit(repo, branch, CommitCreation(message=message or f"add {', '.join(files)}"))


def content(client: Client, repo: str, ref: str) -> dict[str, bytes]:
    """Every object under ``ref``, path -> bytes."""
    listing = client.objects_api.list_objects(repo, ref).results
    return {o.path: client.objects_api.get_object(repo, ref, o.path) for o in listing}


def changes(client: Client, repo: str, branch: str, **kwargs: object) -> List[Tuple[str, str]]:
    """The uncommitted changes of ``branch`` as (type, path) pairs."""
    return [(d.type, d.path) for d in client.branches_api.diff_branch(repo, branch, **kwargs).results]  # type: ignore[arg-type]


def assert_server_error(error: lakefs_sdk.ApiException, status: int, message_part: str) -> None:
    """The typed exception carries the server's status, its own message and the request id."""
    assert error.status == status
    assert error.message is not None and message_part in error.message, error.message
    assert error.request_id


def poll(check: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    """Wait, without a fixed sleep, until ``check()`` holds; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def merge_commit(client: Client, repo: str) -> Commit:
    """main gets ``m.txt`` and branch ``feature`` gets ``f.txt`` from a common base; feature is merged into main.

    Parent 1 of the merge commit is main's side (base + m.txt), parent 2 the feature's (base + f.txt).
    """
    commit_files(client, repo, "main", {"base.txt": b"base"})
    client.branches_api.create_branch(repo, BranchCreation(name="feature", source="main"))
    commit_files(client, repo, "feature", {"f.txt": b"feature"})
    commit_files(client, repo, "main", {"m.txt": b"main"})
    result = client.refs_api.merge_into_branch(repo, "feature", "main", Merge(message="merge feature"))
    merged = client.commits_api.get_commit(repo, result.reference)
    assert len(merged.parents) == 2
    return merged


# -- create, get, list --------------------------------------------------------------------


def test_create_branch_from_main_a_commit_id_and_a_tag(lakefs_client: Client, repo: str, wire: Wire) -> None:
    branches = lakefs_client.branches_api
    first = commit_files(lakefs_client, repo, "main", {"a.txt": b"a"})
    second = commit_files(lakefs_client, repo, "main", {"b.txt": b"b"})
    lakefs_client.tags_api.create_tag(repo, TagCreation(id="v1", ref=first.id))

    from_main = branches.create_branch(repo, BranchCreation(name="from-main", source="main"))
    sent = wire.last("createBranch")
    assert sent.status == 201 and json_body(sent) == {
        "name": "from-main",
        "source": "main",
        "force": False,
        "hidden": False,
    }
    # createBranch answers with the new branch's commit ID as text, not JSON.
    assert from_main == second.id == sent.response_body.decode()
    assert branches.create_branch(repo, BranchCreation(name="from-commit", source=first.id)) == first.id
    assert branches.create_branch(repo, BranchCreation(name="from-tag", source="v1")) == first.id
    assert branches.create_branch(repo, BranchCreation(name="from-parent", source="main~1")) == first.id

    assert branches.get_branch(repo, "from-main") == Ref(id="from-main", commit_id=second.id)
    assert branches.get_branch(repo, "from-commit") == Ref(id="from-commit", commit_id=first.id)
    assert branches.get_branch(repo, "from-tag").commit_id == first.id
    assert content(lakefs_client, repo, "from-main") == {"a.txt": b"a", "b.txt": b"b"}
    assert content(lakefs_client, repo, "from-tag") == {"a.txt": b"a"}

    # A branch is its own line: a commit on it leaves main and the tag where they were.
    moved = commit_files(lakefs_client, repo, "from-tag", {"c.txt": b"c"})
    assert moved.parents == [first.id]
    assert branches.get_branch(repo, "main").commit_id == second.id
    assert lakefs_client.tags_api.get_tag(repo, "v1").commit_id == first.id


def test_create_branch_refusals(lakefs_client: Client, repo: str) -> None:
    branches = lakefs_client.branches_api
    branches.create_branch(repo, BranchCreation(name="taken", source="main"))

    with pytest.raises(lakefs_sdk.ConflictException) as taken:
        branches.create_branch(repo, BranchCreation(name="taken", source="main"))
    assert_server_error(taken.value, 409, "branch already exists")

    with pytest.raises(lakefs_sdk.NotFoundException) as no_source:
        branches.create_branch(repo, BranchCreation(name="orphan", source="no-such-ref"))
    assert_server_error(no_source.value, 404, "source reference 'no-such-ref'")

    with pytest.raises(lakefs_sdk.BadRequestException) as bad_name:
        branches.create_branch(repo, BranchCreation(name="a/b", source="main"))
    assert_server_error(bad_name.value, 400, "branch id must consist of letters, digits, underscores and dashes")

    with pytest.raises(lakefs_sdk.NotFoundException) as missing:
        branches.get_branch(repo, "orphan")
    assert_server_error(missing.value, 404, "branch not found")
    assert [b.id for b in branches.list_branches(repo).results] == ["main", "taken"]


def test_list_branches_with_prefix_after_and_amount(lakefs_client: Client, repo: str, wire: Wire) -> None:
    branches = lakefs_client.branches_api
    for name in ("feat-a", "feat-b", "feat-c", "fix-1"):
        branches.create_branch(repo, BranchCreation(name=name, source="main"))
    head = branches.get_branch(repo, "main").commit_id

    listing = branches.list_branches(repo)
    assert [b.id for b in listing.results] == ["feat-a", "feat-b", "feat-c", "fix-1", "main"]
    assert all(b.commit_id == head for b in listing.results)

    assert [b.id for b in branches.list_branches(repo, prefix="feat-").results] == ["feat-a", "feat-b", "feat-c"]
    assert query_dict(wire.last("listBranches")) == {"prefix": "feat-"}

    page = branches.list_branches(repo, amount=2)
    assert [b.id for b in page.results] == ["feat-a", "feat-b"]
    assert page.pagination.has_more is True and page.pagination.next_offset == "feat-b"
    # ``after`` is exclusive.
    assert [b.id for b in branches.list_branches(repo, after="feat-b").results] == ["feat-c", "fix-1", "main"]
    last = branches.list_branches(repo, prefix="feat-", after="feat-a", amount=5)
    assert [b.id for b in last.results] == ["feat-b", "feat-c"] and last.pagination.has_more is False
    assert query_dict(wire.last("listBranches")) == {"prefix": "feat-", "after": "feat-a", "amount": "5"}


def test_list_branches_iter_follows_every_page(lakefs_client: Client, repo: str, wire: Wire) -> None:
    names = [f"b-{i:02d}" for i in range(7)]
    for name in names:
        lakefs_client.branches_api.create_branch(repo, BranchCreation(name=name, source="main"))
    mark = len(wire.exchanges())

    listed = [b.id for b in lakefs_client.branches_api.list_branches_iter(repo, amount=3)]

    assert listed == [*names, "main"]
    pages = [e for e in wire.exchanges()[mark:] if e.operation_id == "listBranches"]
    assert [query_dict(e).get("after") for e in pages] == [None, "b-02", "b-05"]
    assert all(query_dict(e)["amount"] == "3" for e in pages)
    assert [b.id for b in lakefs_client.branches_api.list_branches_iter(repo, prefix="b-0", after="b-04")] == [
        "b-05",
        "b-06",
    ]


def test_hidden_branch_is_listed_only_with_show_hidden(lakefs_client: Client, repo: str, wire: Wire) -> None:
    branches = lakefs_client.branches_api
    branches.create_branch(repo, BranchCreation(name="visible", source="main"))
    head = branches.create_branch(repo, BranchCreation(name="hidden", source="main", hidden=True))

    assert json_body(wire.last("createBranch"))["hidden"] is True
    assert [b.id for b in branches.list_branches(repo).results] == ["main", "visible"]
    assert [b.id for b in branches.list_branches(repo, show_hidden=False).results] == ["main", "visible"]
    assert [b.id for b in branches.list_branches(repo, show_hidden=True).results] == ["hidden", "main", "visible"]
    assert query_dict(wire.last("listBranches")) == {"show_hidden": "true"}
    assert [b.id for b in branches.list_branches_iter(repo, show_hidden=True, amount=1)] == [
        "hidden",
        "main",
        "visible",
    ]
    # Hidden only from listings: it is read and written like any branch.
    assert branches.get_branch(repo, "hidden").commit_id == head
    commit_files(lakefs_client, repo, "hidden", {"h.txt": b"h"})
    assert content(lakefs_client, repo, "hidden") == {"h.txt": b"h"}


# -- delete ----------------------------------------------------------------------------------


def test_delete_branch_keeps_its_commits(lakefs_client: Client, repo: str, wire: Wire) -> None:
    branches = lakefs_client.branches_api
    branches.create_branch(repo, BranchCreation(name="short-lived", source="main"))
    work = commit_files(lakefs_client, repo, "short-lived", {"w.txt": b"w"})

    assert branches.delete_branch(repo, "short-lived") is None
    assert wire.last("deleteBranch").status == 204

    with pytest.raises(lakefs_sdk.NotFoundException) as gone:
        branches.get_branch(repo, "short-lived")
    assert_server_error(gone.value, 404, "branch not found")
    assert [b.id for b in branches.list_branches(repo).results] == ["main"]
    # Commits are not owned by branches: the work is still reachable by its ID.
    assert lakefs_client.commits_api.get_commit(repo, work.id).id == work.id
    assert content(lakefs_client, repo, work.id) == {"w.txt": b"w"}

    with pytest.raises(lakefs_sdk.NotFoundException) as again:
        branches.delete_branch(repo, "short-lived", force=True)
    assert_server_error(again.value, 404, "branch not found")
    assert query_dict(wire.last("deleteBranch")) == {"force": "true"}


def test_default_branch_cannot_be_deleted(lakefs_client: Client, repo: str) -> None:
    for force in (False, True):
        with pytest.raises(lakefs_sdk.ForbiddenException) as refused:
            lakefs_client.branches_api.delete_branch(repo, "main", force=force)
        assert_server_error(refused.value, 403, "cannot delete repository default branch")
    assert lakefs_client.branches_api.get_branch(repo, "main").id == "main"


def test_branches_of_a_read_only_repository_need_force(lakefs_client: Client) -> None:
    repo = create_repository(lakefs_client, "branches-read-only", read_only=True)
    try:
        branches = lakefs_client.branches_api
        with pytest.raises(lakefs_sdk.ForbiddenException) as create:
            branches.create_branch(repo, BranchCreation(name="side", source="main"))
        assert_server_error(create.value, 403, "read-only repository")
        branches.create_branch(repo, BranchCreation(name="side", source="main", force=True))

        with pytest.raises(lakefs_sdk.ForbiddenException) as delete:
            branches.delete_branch(repo, "side")
        assert_server_error(delete.value, 403, "read-only repository")
        assert branches.get_branch(repo, "side").id == "side"

        branches.delete_branch(repo, "side", force=True)
        assert [b.id for b in branches.list_branches(repo).results] == ["main"]
    finally:
        delete_repository(lakefs_client, repo)


def test_protected_branch_refuses_writes_but_not_deletion(lakefs_client: Client, repo: str) -> None:
    """Branch protection blocks staging writes and commits; lakeFS lets the branch be deleted."""
    branches = lakefs_client.branches_api
    lakefs_client.repositories_api.set_branch_protection_rules(repo, [BranchProtectionRule(pattern="prot-*")])
    head = branches.create_branch(repo, BranchCreation(name="prot-1", source="main"))
    branches.create_branch(repo, BranchCreation(name="prot-probe", source="main"))

    def probe_refused() -> bool:  # lakeFS caches repository settings for a few seconds
        try:
            lakefs_client.objects_api.upload_object(repo, "prot-probe", "probe", content=b"p")
        except lakefs_sdk.ForbiddenException:
            return True
        return False

    poll(probe_refused, "the protection rule to apply")

    with pytest.raises(lakefs_sdk.ForbiddenException) as upload:
        lakefs_client.objects_api.upload_object(repo, "prot-1", "x.txt", content=b"x")
    assert_server_error(upload.value, 403, "cannot write to protected branch")
    with pytest.raises(lakefs_sdk.ForbiddenException) as commit:
        lakefs_client.commits_api.commit(repo, "prot-1", CommitCreation(message="x", allow_empty=True))
    assert_server_error(commit.value, 403, "cannot commit to protected branch")
    with pytest.raises(lakefs_sdk.ForbiddenException) as reset:
        branches.reset_branch(repo, "prot-1", ResetCreation(type="reset"))
    assert_server_error(reset.value, 403, "cannot write to protected branch")
    assert branches.get_branch(repo, "prot-1").commit_id == head
    assert changes(lakefs_client, repo, "prot-1") == []

    branches.delete_branch(repo, "prot-1")
    with pytest.raises(lakefs_sdk.NotFoundException):
        branches.get_branch(repo, "prot-1")
    assert [b.id for b in branches.list_branches(repo, prefix="prot-").results] == ["prot-probe"]


# -- diff ------------------------------------------------------------------------------------


def test_diff_branch_lists_uncommitted_changes(lakefs_client: Client, repo: str, wire: Wire) -> None:
    objects, branches = lakefs_client.objects_api, lakefs_client.branches_api
    commit_files(lakefs_client, repo, "main", {"d/a": b"a", "d/b": b"b", "d/sub/c": b"c", "e/x": b"x", "top": b"t"})
    assert branches.diff_branch(repo, "main").results == []

    objects.upload_object(repo, "main", "d/a", content=b"changed")
    objects.delete_object(repo, "main", "d/b")
    objects.upload_object(repo, "main", "d/new", content=b"n")
    objects.upload_object(repo, "main", "e/y", content=b"yy")

    diff = branches.diff_branch(repo, "main")
    assert [(d.type, d.path, d.path_type) for d in diff.results] == [
        ("changed", "d/a", "object"),
        ("removed", "d/b", "object"),
        ("added", "d/new", "object"),
        ("added", "e/y", "object"),
    ]
    assert [d.size_bytes for d in diff.results if d.type != "removed"] == [7, 1, 2]
    assert diff.pagination.has_more is False

    assert changes(lakefs_client, repo, "main", prefix="e/") == [("added", "e/y")]
    by_prefix = branches.diff_branch(repo, "main", delimiter="/")
    assert [(d.type, d.path, d.path_type) for d in by_prefix.results] == [
        ("prefix_changed", "d/", "common_prefix"),
        ("prefix_changed", "e/", "common_prefix"),
    ]
    assert changes(lakefs_client, repo, "main", prefix="d/", delimiter="/") == [
        ("changed", "d/a"),
        ("removed", "d/b"),
        ("added", "d/new"),
    ]
    assert query_dict(wire.last("diffBranch")) == {"prefix": "d/", "delimiter": "/"}

    page = branches.diff_branch(repo, "main", amount=2)
    assert [d.path for d in page.results] == ["d/a", "d/b"]
    assert page.pagination.has_more is True and page.pagination.next_offset == "d/b"
    assert changes(lakefs_client, repo, "main", after="d/b") == [("added", "d/new"), ("added", "e/y")]

    mark = len(wire.exchanges())
    assert [d.path for d in branches.diff_branch_iter(repo, "main", amount=1)] == ["d/a", "d/b", "d/new", "e/y"]
    pages = [e for e in wire.exchanges()[mark:] if e.operation_id == "diffBranch"]
    assert [query_dict(e).get("after") for e in pages] == [None, "d/a", "d/b", "d/new"]

    lakefs_client.commits_api.commit(repo, "main", CommitCreation(message="apply"))
    assert branches.diff_branch(repo, "main").results == []


# -- reset -----------------------------------------------------------------------------------


def test_reset_branch_of_one_object_a_prefix_and_everything(lakefs_client: Client, repo: str, wire: Wire) -> None:
    objects, branches = lakefs_client.objects_api, lakefs_client.branches_api
    committed = {"d/a": b"a", "d/b": b"b", "d/sub/c": b"c", "e/x": b"x"}
    commit_files(lakefs_client, repo, "main", committed)
    objects.upload_object(repo, "main", "d/a", content=b"A!")
    objects.upload_object(repo, "main", "d/sub/c", content=b"C!")
    objects.delete_object(repo, "main", "d/b")
    objects.upload_object(repo, "main", "d/new", content=b"n")
    objects.upload_object(repo, "main", "e/x", content=b"X!")
    objects.upload_object(repo, "main", "top", content=b"t")

    branches.reset_branch(repo, "main", ResetCreation(type="object", path="d/a"))
    assert json_body(wire.last("resetBranch")) == {"type": "object", "path": "d/a", "force": False}
    assert wire.last("resetBranch").status == 204
    assert objects.get_object(repo, "main", "d/a") == b"a"
    assert changes(lakefs_client, repo, "main") == [
        ("removed", "d/b"),
        ("added", "d/new"),
        ("changed", "d/sub/c"),
        ("changed", "e/x"),
        ("added", "top"),
    ]

    # A path with nothing staged: accepted, nothing changes.
    branches.reset_branch(repo, "main", ResetCreation(type="object", path="no/such/path"))
    assert len(changes(lakefs_client, repo, "main")) == 5

    branches.reset_branch(repo, "main", ResetCreation(type="common_prefix", path="d/"))
    assert changes(lakefs_client, repo, "main") == [("changed", "e/x"), ("added", "top")]
    assert [o.path for o in objects.list_objects(repo, "main", prefix="d/").results] == ["d/a", "d/b", "d/sub/c"]
    assert objects.get_object(repo, "main", "d/sub/c") == b"c"

    branches.reset_branch(repo, "main", ResetCreation(type="reset"))
    assert json_body(wire.last("resetBranch")) == {"type": "reset", "force": False}
    assert branches.diff_branch(repo, "main").results == []
    assert content(lakefs_client, repo, "main") == committed


def test_reset_branch_of_an_object_needs_a_path(lakefs_client: Client, repo: str) -> None:
    lakefs_client.objects_api.upload_object(repo, "main", "a", content=b"a")
    with pytest.raises(lakefs_sdk.BadRequestException) as refused:
        lakefs_client.branches_api.reset_branch(repo, "main", ResetCreation(type="object"))
    assert_server_error(refused.value, 400, "missing path")
    assert changes(lakefs_client, repo, "main") == [("added", "a")]


# -- revert ----------------------------------------------------------------------------------


def test_revert_of_a_normal_commit_takes_parent_number_0_or_1(lakefs_client: Client, repo: str, wire: Wire) -> None:
    """For a one-parent commit, 0 and 1 both mean "its parent"; 2 is out of range (400)."""
    branches, commits = lakefs_client.branches_api, lakefs_client.commits_api
    first = commit_files(lakefs_client, repo, "main", {"a.txt": b"1"})
    second = commit_files(lakefs_client, repo, "main", {"a.txt": b"2", "b.txt": b"b"})

    with pytest.raises(lakefs_sdk.BadRequestException) as out_of_range:
        branches.revert_branch(repo, "main", RevertCreation(ref=second.id, parent_number=2))
    assert_server_error(out_of_range.value, 400, "given commit does not have the given parent number: parent 2")
    assert commits.get_commit(repo, "main").id == second.id

    assert branches.revert_branch(repo, "main", RevertCreation(ref=second.id, parent_number=0)) is None
    sent = wire.last("revertBranch")
    assert sent.status == 204
    assert json_body(sent) == {"ref": second.id, "parent_number": 0, "force": False, "allow_empty": False}
    revert = commits.get_commit(repo, "main")
    assert revert.parents == [second.id] and revert.message == f"Revert {second.id}"
    assert revert.committer == ADMIN
    assert revert.meta_range_id == first.meta_range_id
    assert content(lakefs_client, repo, "main") == {"a.txt": b"1"}

    # Reverting the revert, now with parent_number 1, brings the second commit's content back.
    branches.revert_branch(repo, "main", RevertCreation(ref=revert.id, parent_number=1))
    assert commits.get_commit(repo, "main").parents == [revert.id]
    assert content(lakefs_client, repo, "main") == {"a.txt": b"2", "b.txt": b"b"}
    assert lakefs_client.refs_api.diff_refs(repo, second.id, "main", type="two_dot").results == []


def test_revert_of_a_merge_commit_needs_parent_number_1_or_2(lakefs_client: Client, repo: str) -> None:
    """0 is refused for a merge commit (409, not 400); 1 and 2 revert against that parent; 3 is out of range."""
    branches = lakefs_client.branches_api
    merged = merge_commit(lakefs_client, repo)
    branches.create_branch(repo, BranchCreation(name="other", source="main"))

    with pytest.raises(lakefs_sdk.ConflictException) as no_parent:
        branches.revert_branch(repo, "main", RevertCreation(ref=merged.id, parent_number=0))
    assert_server_error(no_parent.value, 409, "must specify 1-based parent number for reverting merge commit")
    with pytest.raises(lakefs_sdk.BadRequestException) as out_of_range:
        branches.revert_branch(repo, "main", RevertCreation(ref=merged.id, parent_number=3))
    assert_server_error(out_of_range.value, 400, "given commit does not have the given parent number: parent 3")
    assert lakefs_client.commits_api.get_commit(repo, "main").id == merged.id

    # Against parent 1 (main's side): what the feature brought is undone.
    branches.revert_branch(repo, "main", RevertCreation(ref=merged.id, parent_number=1))
    assert content(lakefs_client, repo, "main") == {"base.txt": b"base", "m.txt": b"main"}
    assert lakefs_client.refs_api.diff_refs(repo, merged.parents[0], "main", type="two_dot").results == []

    # Against parent 2 (the feature's side): what main had is undone instead.
    branches.revert_branch(repo, "other", RevertCreation(ref=merged.id, parent_number=2))
    assert content(lakefs_client, repo, "other") == {"base.txt": b"base", "f.txt": b"feature"}
    assert lakefs_client.commits_api.get_commit(repo, "other").parents == [merged.id]


def test_revert_without_parent_number_is_refused_on_both_sides(
    lakefs: LakeFS, lakefs_client: Client, lakefs_proxy: RecordingProxy, repo: str, wire: Wire
) -> None:
    """parent_number is required for every commit, merge or not: the SDK refuses to leave it out,
    and so does lakeFS (its request validation answers 400) for a body sent by hand."""
    merged = merge_commit(lakefs_client, repo)
    sent_before = len(wire.exchanges())
    with pytest.raises(lakefs_sdk.ApiValueError):
        lakefs_client.branches_api.revert_branch(repo, "main", {"ref": merged.id})  # type: ignore[arg-type]
    assert len(wire.exchanges()) == sent_before

    token = base64.b64encode(f"{lakefs.access_key_id}:{lakefs.secret_access_key}".encode()).decode()
    http = urllib3.PoolManager()
    for ref in (merged.id, merged.parents[0]):  # a merge commit and a normal one
        answer = http.request(
            "POST",
            f"{lakefs_proxy.url}/repositories/{repo}/branches/main/revert",
            body=json.dumps({"ref": ref}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
        )
        assert answer.status == 400
        assert 'property "parent_number" is missing' in json.loads(answer.data)["message"]
    assert [e.status for e in wire.exchanges()[sent_before:]] == [400, 400]
    assert lakefs_client.commits_api.get_commit(repo, "main").id == merged.id


def test_revert_with_commit_overrides_and_allow_empty(lakefs_client: Client, repo: str) -> None:
    branches, commits = lakefs_client.branches_api, lakefs_client.commits_api
    commit_files(lakefs_client, repo, "main", {"a.txt": b"1"})
    bad = commit_files(lakefs_client, repo, "main", {"a.txt": b"2"})
    overrides = CommitOverrides(message="Undo the bad import", metadata={"ticket": "DATA-42"})

    branches.revert_branch(repo, "main", RevertCreation(ref=bad.id, parent_number=1, commit_overrides=overrides))
    revert = commits.get_commit(repo, "main")
    assert (revert.message, revert.metadata) == ("Undo the bad import", {"ticket": "DATA-42"})
    assert lakefs_client.objects_api.get_object(repo, "main", "a.txt") == b"1"

    # Reverting it a second time changes nothing: refused unless empty commits are allowed.
    with pytest.raises(lakefs_sdk.BadRequestException) as empty:
        branches.revert_branch(repo, "main", RevertCreation(ref=bad.id, parent_number=1))
    assert_server_error(empty.value, 400, "no changes")
    assert commits.get_commit(repo, "main").id == revert.id
    branches.revert_branch(repo, "main", RevertCreation(ref=bad.id, parent_number=1, allow_empty=True))
    again = commits.get_commit(repo, "main")
    assert again.parents == [revert.id] and again.meta_range_id == revert.meta_range_id


def test_revert_and_cherry_pick_refuse_a_dirty_branch(lakefs_client: Client, repo: str) -> None:
    commit_files(lakefs_client, repo, "main", {"a.txt": b"1"})
    change = commit_files(lakefs_client, repo, "main", {"a.txt": b"2"})
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="target", source="main~1"))
    lakefs_client.objects_api.upload_object(repo, "main", "dirt", content=b"d")
    lakefs_client.objects_api.upload_object(repo, "target", "dirt", content=b"d")

    with pytest.raises(lakefs_sdk.BadRequestException) as revert:
        lakefs_client.branches_api.revert_branch(repo, "main", RevertCreation(ref=change.id, parent_number=1))
    assert_server_error(revert.value, 400, "uncommitted changes (dirty branch)")
    with pytest.raises(lakefs_sdk.BadRequestException) as pick:
        lakefs_client.branches_api.cherry_pick(repo, "target", CherryPickCreation(ref=change.id))
    assert_server_error(pick.value, 400, "uncommitted changes (dirty branch)")
    assert lakefs_client.commits_api.get_commit(repo, "main").id == change.id
    assert lakefs_client.objects_api.get_object(repo, "target", "a.txt") == b"1"


# -- cherry-pick -----------------------------------------------------------------------------


def test_cherry_pick_of_a_normal_commit(lakefs_client: Client, repo: str, wire: Wire) -> None:
    """Without parent_number or with 1; 0 fails validation and 2 is out of range (both 400)."""
    branches = lakefs_client.branches_api
    base = commit_files(lakefs_client, repo, "main", {"a.txt": b"a"})
    branches.create_branch(repo, BranchCreation(name="release", source="main"))
    commit_files(lakefs_client, repo, "main", {"skip.txt": b"s"})
    fix = commit_files(lakefs_client, repo, "main", {"fix.txt": b"f"}, message="the fix")

    with pytest.raises(lakefs_sdk.BadRequestException) as zero:
        branches.cherry_pick(repo, "release", CherryPickCreation(ref=fix.id, parent_number=0))
    assert_server_error(zero.value, 400, "parentNumber: value should be greater than 0")
    with pytest.raises(lakefs_sdk.BadRequestException) as two:
        branches.cherry_pick(repo, "release", CherryPickCreation(ref=fix.id, parent_number=2))
    assert_server_error(two.value, 400, "given commit does not have the given parent number")
    assert branches.get_branch(repo, "release").commit_id == base.id

    picked = branches.cherry_pick(repo, "release", CherryPickCreation(ref=fix.id))

    sent = wire.last("cherryPick")
    assert sent.status == 201 and json_body(sent) == {"ref": fix.id, "force": False}
    assert isinstance(picked, Commit)
    assert picked.parents == [base.id] and picked.message == "the fix" and picked.committer == ADMIN
    assert picked.metadata == {"cherry-pick-origin": fix.id, "cherry-pick-committer": ADMIN}
    assert branches.get_branch(repo, "release").commit_id == picked.id
    assert lakefs_client.commits_api.get_commit(repo, picked.id) == picked
    assert content(lakefs_client, repo, "release") == {"a.txt": b"a", "fix.txt": b"f"}

    # parent_number 1 names the one parent: the same change again, with overrides, on another branch.
    branches.create_branch(repo, BranchCreation(name="hotfix", source=base.id))
    overrides = CommitOverrides(message="backport", metadata={"pr": "7"})
    again = branches.cherry_pick(
        repo, "hotfix", CherryPickCreation(ref=fix.id, parent_number=1, commit_overrides=overrides)
    )
    assert again.message == "backport"
    assert again.metadata == {"pr": "7", "cherry-pick-origin": fix.id, "cherry-pick-committer": ADMIN}
    assert content(lakefs_client, repo, "hotfix") == {"a.txt": b"a", "fix.txt": b"f"}


def test_cherry_pick_of_a_merge_commit_needs_parent_number(lakefs_client: Client, repo: str) -> None:
    branches = lakefs_client.branches_api
    merged = merge_commit(lakefs_client, repo)
    base = merged.parents[0]
    base_commit = lakefs_client.commits_api.get_commit(repo, base).parents[0]  # before m.txt
    for name in ("pick-1", "pick-2"):
        branches.create_branch(repo, BranchCreation(name=name, source=base_commit))

    with pytest.raises(lakefs_sdk.BadRequestException) as no_parent:
        branches.cherry_pick(repo, "pick-1", CherryPickCreation(ref=merged.id))
    assert_server_error(no_parent.value, 400, "must specify 1-based parent number for cherry-picking merge commit")
    with pytest.raises(lakefs_sdk.BadRequestException) as zero:
        branches.cherry_pick(repo, "pick-1", CherryPickCreation(ref=merged.id, parent_number=0))
    assert_server_error(zero.value, 400, "parentNumber: value should be greater than 0")
    with pytest.raises(lakefs_sdk.BadRequestException) as three:
        branches.cherry_pick(repo, "pick-1", CherryPickCreation(ref=merged.id, parent_number=3))
    assert_server_error(three.value, 400, "given commit does not have the given parent number")

    # Relative to parent 1 (main's side) the merge brought the feature's file ...
    one = branches.cherry_pick(repo, "pick-1", CherryPickCreation(ref=merged.id, parent_number=1))
    assert one.message == "merge feature" and one.parents == [base_commit]
    assert content(lakefs_client, repo, "pick-1") == {"base.txt": b"base", "f.txt": b"feature"}
    # ... relative to parent 2 (the feature's side) it brought main's. By branch name: after a
    # cherry-pick lakeFS no longer resolves this merge commit by its full ID (see the next test).
    two = branches.cherry_pick(repo, "pick-2", CherryPickCreation(ref="main", parent_number=2))
    assert two.metadata is not None and two.metadata["cherry-pick-origin"] == merged.id
    assert content(lakefs_client, repo, "pick-2") == {"base.txt": b"base", "m.txt": b"main"}


def test_lakefs_bug_cherry_pick_rewrites_the_picked_commit_in_the_server_cache(
    lakefs: LakeFS, lakefs_client: Client, repo: str, wire: Wire
) -> None:
    """lakeFS 1.84 and 1.86: cherry_pick without commit_overrides of a commit that carries metadata
    adds its cherry-pick keys to the *cached* source commit (Graveler.CherryPick shares the
    metadata map). Looking that commit up by its full ID then hashes the altered record: the
    server answers with another commit (the cherry-pick itself, when it was made in the same
    second) or 404 (always, for a merge commit).
    A short ID prefix resolves through the database to the right ID, but the record read back
    is the altered cached one. The SDK only decodes what it is sent.
    """
    branches, commits = lakefs_client.branches_api, lakefs_client.commits_api
    branches.create_branch(repo, BranchCreation(name="source", source="main"))
    lakefs_client.objects_api.upload_object(repo, "source", "x.txt", content=b"x")
    picked_from = commits.commit(repo, "source", CommitCreation(message="with metadata", metadata={"k": "v"}))

    picked = branches.cherry_pick(repo, "main", CherryPickCreation(ref=picked_from.id))

    assert picked.metadata == {"k": "v", "cherry-pick-origin": picked_from.id, "cherry-pick-committer": ADMIN}

    try:
        answered: Optional[str] = commits.get_commit(repo, picked_from.id).id
    except lakefs_sdk.NotFoundException as missing:
        assert_server_error(missing, 404, "commit not found")
        answered = None
    by_prefix = commits.get_commit(repo, picked_from.id[:20])
    assert by_prefix.id == picked_from.id
    if lakefs.version_info <= (1, 86, 0):
        # Another ID (the cherry-pick's when both commits fall in the same second) or 404.
        assert answered != picked_from.id
        assert wire.exchanges()[-2].operation_id == "getCommit"
        # The record behind the right ID carries the cherry-pick's keys it never had.
        assert by_prefix.metadata == picked.metadata
    else:  # a fixed server
        assert answered == picked_from.id and by_prefix == picked_from
