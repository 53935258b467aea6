"""Contract tests for the ``actions`` tag: every operation of ActionsApi on the wire, with typed results."""

from __future__ import annotations

import lakefs_sdk
from lakefs_sdk import ApiClient
from lakefs_sdk.models import ActionRun, ActionRunList, HookRun, HookRunList

from support.contract import Wire, assert_result, query_dict, segments

REPO = "example-repo"
RUN_ID = "20250102T030405Z_3f2a1b"


def api(client: ApiClient) -> lakefs_sdk.ActionsApi:
    return lakefs_sdk.ActionsApi(client)


def test_list_repository_runs(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).list_repository_runs(
        REPO, after="20250101T000000Z", amount=10, branch="main", commit="c0ffee42"
    )
    sent = wire.only("listRepositoryRuns")
    assert query_dict(sent) == {"after": "20250101T000000Z", "amount": "10", "branch": "main", "commit": "c0ffee42"}
    assert_result(page, ActionRunList, sent)
    assert all(isinstance(run, ActionRun) for run in page.results)


def test_get_run(any_client: ApiClient, wire: Wire) -> None:
    run = api(any_client).get_run(REPO, RUN_ID)
    sent = wire.only("getRun")
    assert segments(sent) == ["repositories", REPO, "actions", "runs", RUN_ID]
    assert_result(run, ActionRun, sent)
    assert run.start_time.tzinfo is not None, "date-time fields decode to aware datetimes"


def test_list_run_hooks(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).list_run_hooks(REPO, RUN_ID, after="hook-0", amount=5)
    sent = wire.only("listRunHooks")
    assert query_dict(sent) == {"after": "hook-0", "amount": "5"}
    assert_result(page, HookRunList, sent)
    assert all(isinstance(hook, HookRun) for hook in page.results)


def test_get_run_hook_output_is_binary(any_client: ApiClient, wire: Wire) -> None:
    output = api(any_client).get_run_hook_output(REPO, RUN_ID, "hook-run-1")
    sent = wire.only("getRunHookOutput")
    assert segments(sent) == ["repositories", REPO, "actions", "runs", RUN_ID, "hooks", "hook-run-1", "output"]
    assert sent.request.header("Accept") == "application/octet-stream, application/json"
    assert isinstance(output, bytes) and output == sent.response_body
