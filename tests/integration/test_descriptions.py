"""What api/openapi.yaml's descriptions say where lakeFS's own spec says otherwise, on the real server.

Each description below was rewritten after watching lakeFS 1.84.0 and 1.86.0 (they agree):
``hardResetBranch`` keeps staged changes; ``RevertCreation.parent_number`` is always
required and ``CherryPickCreation.parent_number`` only for a merge commit;
``getCurrentUser`` answers a request without credentials with an empty user; the
``status`` filter of ``listPullRequests`` has no ``merged`` (a merged pull request counts as
closed). A test here fails when a server does something else than the text says.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, Tuple

import pytest
import urllib3

import lakefs_sdk
from lakefs_sdk import BranchCreation, CherryPickCreation, CommitCreation, PullRequestCreation, RevertCreation

from support.lakefs import LakeFS, Wire
from support.recording_proxy import RecordingProxy

Client = lakefs_sdk.LakeFSClient


def put(client: Client, repo: str, branch: str, files: Dict[str, bytes]) -> str:
    """Upload ``files`` to ``branch`` and commit them; return the commit ID."""
    for path, data in files.items():
        client.objects_api.upload_object(repo, branch, path, content=data)
    return client.commits_api.commit(repo, branch, CommitCreation(message=", ".join(files))).id


def content(client: Client, repo: str, ref: str) -> Dict[str, bytes]:
    listing = client.objects_api.list_objects(repo, ref).results
    return {entry.path: client.objects_api.get_object(repo, ref, entry.path) for entry in listing}


def raw(lakefs: LakeFS, method: str, path: str, body: Any) -> Tuple[int, str]:
    """Send ``body`` straight to the server, as the SDK would not (a value its model refuses)."""
    headers = urllib3.make_headers(basic_auth=f"{lakefs.access_key_id}:{lakefs.secret_access_key}")
    headers["Content-Type"] = "application/json"
    response = urllib3.request(method, f"{lakefs.endpoint}/api/v1{path}", body=json.dumps(body), headers=headers)
    return response.status, json.loads(response.data or b"{}").get("message", "")


# -- hardResetBranch -------------------------------------------------------------------------------


def test_hard_reset_keeps_staged_changes_on_top_of_the_new_head(lakefs_client: Client, repo: str, wire: Wire) -> None:
    first = put(lakefs_client, repo, "main", {"kept": b"1", "deleted": b"1"})
    put(lakefs_client, repo, "main", {"later": b"2"})
    objects = lakefs_client.objects_api
    objects.upload_object(repo, "main", "added", content=b"new")
    objects.upload_object(repo, "main", "kept", content=b"overwritten")
    objects.delete_object(repo, "main", "deleted")  # the new head has it
    objects.delete_object(repo, "main", "later")  # the new head lacks it

    assert lakefs_client.experimental_api.hard_reset_branch(repo, "main", first) is None

    assert wire.last("hardResetBranch").status == 204
    assert lakefs_client.branches_api.get_branch(repo, "main").commit_id == first
    assert content(lakefs_client, repo, "main") == {"added": b"new", "kept": b"overwritten"}
    assert content(lakefs_client, repo, first) == {"deleted": b"1", "kept": b"1"}
    changes = {(entry.path, entry.type) for entry in lakefs_client.branches_api.diff_branch(repo, "main").results}
    assert changes == {("added", "added"), ("kept", "changed"), ("deleted", "removed")}


# -- parent_number of revert and cherry-pick -------------------------------------------------------


@pytest.fixture
def history(lakefs_client: Client, repo: str) -> Iterator[Tuple[str, str, str]]:
    """``repo`` with (a commit with one parent on main, a merge commit on main, the branch it merged)."""
    put(lakefs_client, repo, "main", {"base": b"0"})
    single = put(lakefs_client, repo, "main", {"single": b"1"})
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="feature", source="main"))
    put(lakefs_client, repo, "feature", {"feature": b"f"})
    put(lakefs_client, repo, "main", {"main": b"m"})
    merge = lakefs_client.refs_api.merge_into_branch(repo, "feature", "main").reference
    yield single, merge, "feature"


@pytest.mark.parametrize("parent_number", [0, 1])
def test_reverting_a_commit_with_one_parent_takes_0_or_1(
    lakefs_client: Client, repo: str, history: Tuple[str, str, str], parent_number: int
) -> None:
    single, _, _ = history
    lakefs_client.branches_api.revert_branch(repo, "main", RevertCreation(ref=single, parent_number=parent_number))
    assert "single" not in content(lakefs_client, repo, "main")


def test_reverting_a_merge_commit_needs_a_1_based_parent(lakefs_client: Client, repo: str, history: Tuple[str, str, str]) -> None:
    _, merge, _ = history
    branches = lakefs_client.branches_api
    with pytest.raises(lakefs_sdk.ConflictException) as caught:
        branches.revert_branch(repo, "main", RevertCreation(ref=merge, parent_number=0))
    assert caught.value.message == "must specify 1-based parent number for reverting merge commit"
    branches.revert_branch(repo, "main", RevertCreation(ref=merge, parent_number=1))
    assert set(content(lakefs_client, repo, "main")) == {"base", "single", "main"}, "feature's change is undone"


def test_revert_without_a_parent_number_is_refused_before_sending(lakefs: LakeFS, repo: str, history: Tuple[str, str, str]) -> None:
    with pytest.raises(ValueError, match="parent_number"):
        RevertCreation(ref=history[0])  # type: ignore[call-arg]
    status, message = raw(lakefs, "POST", f"/repositories/{repo}/branches/main/revert", {"ref": history[0]})
    assert status == 400 and 'property \\"parent_number\\" is missing' in json.dumps(message)


@pytest.mark.parametrize("parent_number", [None, 1])
def test_cherry_picking_a_commit_with_one_parent_needs_no_parent_number(
    lakefs_client: Client, repo: str, history: Tuple[str, str, str], parent_number: Any
) -> None:
    single, _, _ = history
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="pick", source=f"{single}~1"))
    picked = lakefs_client.branches_api.cherry_pick(repo, "pick", CherryPickCreation(ref=single, parent_number=parent_number))
    assert content(lakefs_client, repo, picked.id) == {"base": b"0", "single": b"1"}


def test_cherry_picking_a_merge_commit_needs_a_1_based_parent(lakefs_client: Client, repo: str, history: Tuple[str, str, str]) -> None:
    single, merge, _ = history
    branches = lakefs_client.branches_api
    branches.create_branch(repo, BranchCreation(name="pick", source=single))
    with pytest.raises(lakefs_sdk.BadRequestException) as missing:
        branches.cherry_pick(repo, "pick", CherryPickCreation(ref=merge))
    assert missing.value.message == "must specify 1-based parent number for cherry-picking merge commit"
    with pytest.raises(lakefs_sdk.BadRequestException) as zero:
        branches.cherry_pick(repo, "pick", CherryPickCreation(ref=merge, parent_number=0))
    assert "parentNumber: value should be greater than 0" in (zero.value.message or "")
    picked = branches.cherry_pick(repo, "pick", CherryPickCreation(ref=merge, parent_number=1))
    assert content(lakefs_client, repo, picked.id) == {"base": b"0", "single": b"1", "feature": b"f"}


# -- getCurrentUser without credentials ------------------------------------------------------------


def test_get_current_user_without_credentials_is_an_empty_user(lakefs_proxy: RecordingProxy, wire: Wire) -> None:
    with lakefs_sdk.LakeFSClient(lakefs_sdk.Configuration(host=lakefs_proxy.url)) as anonymous:
        answer = anonymous.auth_api.get_current_user()
    exchange = wire.last("getCurrentUser")
    assert exchange.status == 200 and exchange.request.header("Authorization") is None
    assert (answer.user.id, answer.user.creation_date) == ("", 0)


# -- listPullRequests status -----------------------------------------------------------------------


def test_listing_pull_requests_has_no_merged_filter(lakefs: LakeFS, lakefs_client: Client, repo: str, wire: Wire) -> None:
    put(lakefs_client, repo, "main", {"base": b"0"})
    pulls = lakefs_client.pulls_api
    ids = {}
    for name in ("merged", "open"):
        lakefs_client.branches_api.create_branch(repo, BranchCreation(name=name, source="main"))
        put(lakefs_client, repo, name, {name: b"x"})
        ids[name] = pulls.create_pull_request(
            repo, PullRequestCreation(title=name, source_branch=name, destination_branch="main")
        ).id
    pulls.merge_pull_request(repo, ids["merged"])

    assert [pr.id for pr in pulls.list_pull_requests(repo, status="closed").results] == [ids["merged"]]
    assert [pr.id for pr in pulls.list_pull_requests(repo, status="open").results] == [ids["open"]]
    assert pulls.get_pull_request(repo, ids["merged"]).status == "merged"
    with pytest.raises(lakefs_sdk.ApiValueError, match="must be one of"):
        pulls.list_pull_requests(repo, status="merged")  # type: ignore[arg-type]
    assert [e.target for e in wire.exchanges() if e.operation_id == "listPullRequests" and "merged" in e.target] == []
    headers = urllib3.make_headers(basic_auth=f"{lakefs.access_key_id}:{lakefs.secret_access_key}")
    response = urllib3.request("GET", f"{lakefs.endpoint}/api/v1/repositories/{repo}/pulls?status=merged", headers=headers)
    assert response.status == 400 and b"not one of the allowed values" in response.data
