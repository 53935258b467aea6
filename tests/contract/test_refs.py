"""Contract tests for the ``refs`` tag: every operation of RefsApi on the wire, with typed results."""

from __future__ import annotations

import datetime

import lakefs_sdk
from lakefs_sdk import ApiClient
from lakefs_sdk.models import Commit, CommitList, DiffList, FindMergeBaseResult, Merge, MergeResult

from support.contract import Wire, assert_result, json_body, query, query_dict, segments

REPO = "example-repo"


def api(client: ApiClient) -> lakefs_sdk.RefsApi:
    return lakefs_sdk.RefsApi(client)


def test_log_commits(any_client: ApiClient, wire: Wire) -> None:
    since = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    page = api(any_client).log_commits(
        REPO,
        "main",
        amount=25,
        objects=["data/sales.csv"],
        prefixes=["data/", "logs/"],
        limit=True,
        first_parent=True,
        since=since,
        stop_at="v1.0.0",
    )
    sent = wire.only("logCommits")
    assert query(sent) == [
        ("amount", "25"),
        ("objects", "data/sales.csv"),
        ("prefixes", "data/"),
        ("prefixes", "logs/"),
        ("limit", "true"),
        ("first_parent", "true"),
        ("since", "2025-01-02T03:04:05+00:00"),
        ("stop_at", "v1.0.0"),
    ]
    assert_result(page, CommitList, sent)
    assert all(isinstance(commit, Commit) for commit in page.results)


def test_merge_into_branch(any_client: ApiClient, wire: Wire) -> None:
    merge = Merge(message="Merge feature-x", metadata={"reviewer": "jane"}, strategy="source-wins", squash_merge=True)
    result = api(any_client).merge_into_branch(REPO, "feature-x", "main", merge)
    sent = wire.only("mergeIntoBranch")
    assert segments(sent) == ["repositories", REPO, "refs", "feature-x", "merge", "main"]
    assert json_body(sent) == {
        "message": "Merge feature-x",
        "metadata": {"reviewer": "jane"},
        "strategy": "source-wins",
        "force": False,
        "allow_empty": False,
        "squash_merge": True,
    }
    assert_result(result, MergeResult, sent)
    assert isinstance(result.reference, str)


def test_find_merge_base(any_client: ApiClient, wire: Wire) -> None:
    result = api(any_client).find_merge_base(REPO, "feature-x", "main")
    sent = wire.only("findMergeBase")
    assert sent.method == "GET"
    assert_result(result, FindMergeBaseResult, sent)
    assert isinstance(result.base_commit_id, str)


def test_diff_refs(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).diff_refs(
        REPO,
        "main",
        "feature-x",
        after="data/2024/",
        amount=200,
        prefix="data/",
        delimiter="/",
        type="two_dot",
        include_right_stats=True,
    )
    sent = wire.only("diffRefs")
    assert segments(sent) == ["repositories", REPO, "refs", "main", "diff", "feature-x"]
    assert query_dict(sent) == {
        "after": "data/2024/",
        "amount": "200",
        "prefix": "data/",
        "delimiter": "/",
        "type": "two_dot",
        "include_right_stats": "true",
    }
    assert_result(page, DiffList, sent)
