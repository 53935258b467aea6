"""Contract tests for the ``pulls`` tag: every operation of PullsApi on the wire, with typed results.

These operations are also tagged ``experimental``; they are exercised once, here.
"""

from __future__ import annotations

import lakefs_sdk
from lakefs_sdk import ApiClient
from lakefs_sdk.models import (
    MergeResult,
    PullRequest,
    PullRequestBasic,
    PullRequestCreation,
    PullRequestCreationResponse,
    PullRequestsList,
)

from support.contract import Wire, assert_result, json_body, query_dict, segments

REPO = "example-repo"


def api(client: ApiClient) -> lakefs_sdk.PullsApi:
    return lakefs_sdk.PullsApi(client)


def test_list_pull_requests(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).list_pull_requests(REPO, prefix="pr-", after="pr-10", amount=30, status="open")
    sent = wire.only("listPullRequests")
    assert query_dict(sent) == {"prefix": "pr-", "after": "pr-10", "amount": "30", "status": "open"}
    assert_result(page, PullRequestsList, sent)
    assert all(isinstance(pr, PullRequest) for pr in page.results)


def test_create_pull_request(any_client: ApiClient, wire: Wire) -> None:
    creation = PullRequestCreation(
        title="Add 2025 sales",
        description="Backfill of the 2025 partitions",
        source_branch="feature-x",
        destination_branch="main",
    )
    result = api(any_client).create_pull_request(REPO, creation)
    sent = wire.only("createPullRequest", 201)
    assert json_body(sent) == {
        "title": "Add 2025 sales",
        "description": "Backfill of the 2025 partitions",
        "source_branch": "feature-x",
        "destination_branch": "main",
    }
    assert_result(result, PullRequestCreationResponse, sent)


def test_get_pull_request(any_client: ApiClient, wire: Wire) -> None:
    pull = api(any_client).get_pull_request(REPO, "pr-11")
    sent = wire.only("getPullRequest")
    assert segments(sent) == ["repositories", REPO, "pulls", "pr-11"]
    assert_result(pull, PullRequest, sent)
    assert pull.status in ("open", "closed", "merged")
    assert pull.creation_date.tzinfo is not None


def test_update_pull_request(any_client: ApiClient, wire: Wire) -> None:
    assert (
        api(any_client).update_pull_request(REPO, "pr-11", PullRequestBasic(status="closed", title="Superseded"))
        is None
    )
    sent = wire.only("updatePullRequest", 200)
    assert sent.method == "PATCH"
    assert json_body(sent) == {"status": "closed", "title": "Superseded"}


def test_merge_pull_request(any_client: ApiClient, wire: Wire) -> None:
    result = api(any_client).merge_pull_request(REPO, "pr-11")
    sent = wire.only("mergePullRequest")
    assert sent.method == "PUT" and segments(sent)[-1] == "merge"
    assert_result(result, MergeResult, sent)
