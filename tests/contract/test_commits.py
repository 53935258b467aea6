"""Contract tests for the ``commits`` tag: every operation of CommitsApi on the wire, with typed results."""

from __future__ import annotations

import lakefs_sdk
from lakefs_sdk import ApiClient
from lakefs_sdk.models import Commit, CommitCreation

from support.contract import Wire, assert_result, json_body, query_dict, segments

REPO = "example-repo"
COMMIT_ID = "a3f9c2e1b7d4860f5e2c9a1b3d7f0e4c6a8b2d9f1e3c5a7b9d0f2e4c6a8b1d3f"


def test_commit(any_client: ApiClient, wire: Wire) -> None:
    creation = CommitCreation(
        message="Add daily sales partition",
        metadata={"source": "airflow", "run_id": "2025-01-02T03:00"},
        date=1735787045,
    )
    commit = lakefs_sdk.CommitsApi(any_client).commit(REPO, "feature-x", creation, source_metarange="mr-5b1c")
    sent = wire.only("commit", 201)
    assert segments(sent) == ["repositories", REPO, "branches", "feature-x", "commits"]
    assert query_dict(sent) == {"source_metarange": "mr-5b1c"}
    assert json_body(sent) == {
        "message": "Add daily sales partition",
        "metadata": {"source": "airflow", "run_id": "2025-01-02T03:00"},
        "date": 1735787045,
        "allow_empty": False,
        "force": False,
    }
    assert_result(commit, Commit, sent)
    assert isinstance(commit.parents, list) and isinstance(commit.creation_date, int)


def test_get_commit(any_client: ApiClient, wire: Wire) -> None:
    commit = lakefs_sdk.CommitsApi(any_client).get_commit(REPO, COMMIT_ID)
    sent = wire.only("getCommit")
    assert segments(sent) == ["repositories", REPO, "commits", COMMIT_ID]
    assert_result(commit, Commit, sent)
    assert isinstance(commit.meta_range_id, str) and isinstance(commit.committer, str)
