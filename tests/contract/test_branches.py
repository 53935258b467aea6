"""Contract tests for the ``branches`` tag: every operation of BranchesApi on the wire, with typed results."""

from __future__ import annotations

import lakefs_sdk
from lakefs_sdk import ApiClient
from lakefs_sdk.models import (
    BranchCreation,
    CherryPickCreation,
    Commit,
    CommitOverrides,
    Diff,
    DiffList,
    Ref,
    RefList,
    ResetCreation,
    RevertCreation,
)

from support.contract import Wire, assert_result, json_body, query_dict, segments

REPO = "example-repo"
COMMIT_ID = "c0ffee1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b"


def api(client: ApiClient) -> lakefs_sdk.BranchesApi:
    return lakefs_sdk.BranchesApi(client)


def test_list_branches(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).list_branches(REPO, prefix="feature-", after="feature-a", amount=100, show_hidden=True)
    sent = wire.only("listBranches")
    assert query_dict(sent) == {"prefix": "feature-", "after": "feature-a", "amount": "100", "show_hidden": "true"}
    assert_result(page, RefList, sent)
    assert all(isinstance(branch, Ref) for branch in page.results)


def test_create_branch_returns_the_text_body(any_client: ApiClient, wire: Wire) -> None:
    """createBranch answers 201 with a text/html body (the new branch's commit), not JSON."""
    result = api(any_client).create_branch(REPO, BranchCreation(name="feature-x", source="main"))
    sent = wire.only("createBranch", 201)
    assert json_body(sent) == {"name": "feature-x", "source": "main", "force": False, "hidden": False}
    assert sent.response_header("Content-Type") == "text/html"
    assert isinstance(result, str) and result == sent.response_body.decode("utf-8")


def test_get_branch(any_client: ApiClient, wire: Wire) -> None:
    branch = api(any_client).get_branch(REPO, "feature-x")
    sent = wire.only("getBranch")
    assert segments(sent) == ["repositories", REPO, "branches", "feature-x"]
    assert_result(branch, Ref, sent)
    assert isinstance(branch.id, str) and isinstance(branch.commit_id, str)


def test_delete_branch(any_client: ApiClient, wire: Wire) -> None:
    assert api(any_client).delete_branch(REPO, "feature-x", force=True) is None
    sent = wire.only("deleteBranch", 204)
    assert sent.method == "DELETE" and query_dict(sent) == {"force": "true"}


def test_reset_branch(any_client: ApiClient, wire: Wire) -> None:
    reset = ResetCreation(type="common_prefix", path="data/tmp/")
    assert api(any_client).reset_branch(REPO, "feature-x", reset) is None
    sent = wire.only("resetBranch", 204)
    assert sent.method == "PUT"
    assert json_body(sent) == {"type": "common_prefix", "path": "data/tmp/", "force": False}


def test_revert_branch(any_client: ApiClient, wire: Wire) -> None:
    revert = RevertCreation(
        ref=COMMIT_ID,
        parent_number=1,
        commit_overrides=CommitOverrides(message="Revert bad import", metadata={"ticket": "DATA-42"}),
    )
    assert api(any_client).revert_branch(REPO, "main", revert) is None
    sent = wire.only("revertBranch", 204)
    assert segments(sent)[-1] == "revert"
    assert json_body(sent) == {
        "ref": COMMIT_ID,
        "parent_number": 1,
        "commit_overrides": {"message": "Revert bad import", "metadata": {"ticket": "DATA-42"}},
        "force": False,
        "allow_empty": False,
    }


def test_cherry_pick(any_client: ApiClient, wire: Wire) -> None:
    commit = api(any_client).cherry_pick(REPO, "release-1.x", CherryPickCreation(ref=COMMIT_ID, parent_number=1))
    sent = wire.only("cherryPick", 201)
    assert segments(sent) == ["repositories", REPO, "branches", "release-1.x", "cherry-pick"]
    assert json_body(sent) == {"ref": COMMIT_ID, "parent_number": 1, "force": False}
    assert_result(commit, Commit, sent)


def test_diff_branch(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).diff_branch(REPO, "feature-x", after="data/a.csv", amount=10, prefix="data/", delimiter="/")
    sent = wire.only("diffBranch")
    assert query_dict(sent) == {"after": "data/a.csv", "amount": "10", "prefix": "data/", "delimiter": "/"}
    assert_result(page, DiffList, sent)
    assert all(isinstance(diff, Diff) and isinstance(diff.path, str) for diff in page.results)
