"""failed_hooks / failed_hook_output, sync (lakefs_sdk.hooks) and asyncio (lakefs_sdk.aio.hooks):
the same answers from the same server, for hooks the 412 names and for hooks found in the run."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable, Dict, Iterator, List, Optional
from urllib.parse import parse_qs

import pytest

import lakefs_sdk
from lakefs_sdk import Configuration, aio
from lakefs_sdk.aio import hooks as async_hooks
from lakefs_sdk.aio.client import AsyncLakeFSClient
from lakefs_sdk.hooks import FailedHook, failed_hook_output, failed_hooks

from support.loopback import LoopbackServer, Reply, Request

RUN = "20250102T030405Z_3f2a1b"
NAMED = (
    "update branch main: pre-merge hook aborted, run id '" + RUN + "': 1 error occurred:\n\t"
    "* hook run id '0000_0000' failed on action 'check schema' hook 'schema_check': webhook failed"
)
UNNAMED = "commit: pre-commit hook aborted, run id '" + RUN + "': lua hook said no"
HOOKS_PATH = f"/api/v1/repositories/repo/actions/runs/{RUN}/hooks"
# The run's hook listing, two pages of it; "skipped" is what lakeFS lists but its spec lacks.
PAGES = {
    "": {
        "pagination": {"has_more": True, "next_offset": "0000_0001", "results": 2, "max_per_page": 1000},
        "results": [
            {"hook_run_id": "0000_0000", "action": "a", "hook_id": "ok", "status": "completed"},
            {"hook_run_id": "0000_0001", "action": "a", "hook_id": "lint", "status": "failed"},
        ],
    },
    "0000_0001": {
        "pagination": {"has_more": False, "next_offset": "", "results": 2, "max_per_page": 1000},
        "results": [
            {"hook_run_id": "0001_0000", "action": "b", "hook_id": "size", "status": "failed"},
            {"hook_run_id": "0001_0001", "action": "b", "hook_id": "later", "status": "skipped"},
        ],
    },
}


class FakeLakeFS:
    """Answers the merge or commit with a 412 carrying ``message``, and the run's hooks and outputs."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.served: List[str] = []

    def __call__(self, request: Request) -> Reply:
        self.served.append(request.target)
        if request.method == "POST":
            return Reply(412, json.dumps({"message": self.message}))
        if request.path == HOOKS_PATH:
            after = parse_qs(request.query).get("after", [""])[0]
            assert parse_qs(request.query)["amount"] == ["1000"]
            return Reply(200, json.dumps(PAGES[after]))
        if request.path.startswith(HOOKS_PATH + "/") and request.path.endswith("/output"):
            hook_run_id = request.path.split("/")[-2]
            if hook_run_id == "missing":
                return Reply(404, '{"message": "hook run not found"}')
            return Reply(200, f"output of {hook_run_id}\n", {"Content-Type": "application/octet-stream"})
        return Reply(404, '{"message": "not found"}')


def serve(message: str) -> Iterator[tuple[LoopbackServer, FakeLakeFS]]:
    fake = FakeLakeFS(message)
    with LoopbackServer(fake) as server:
        yield server, fake


@pytest.fixture
def named() -> Iterator[tuple[LoopbackServer, FakeLakeFS]]:
    yield from serve(NAMED)


@pytest.fixture
def unnamed() -> Iterator[tuple[LoopbackServer, FakeLakeFS]]:
    yield from serve(UNNAMED)


def config(url: str) -> Configuration:
    return Configuration(host=url + "/api/v1", username="AKIA", password="secret", max_retries=0)


class Sync:
    """The sync helpers with a LakeFSClient (or its ApiClient)."""

    def __init__(self, url: str, use_api_client: bool = False) -> None:
        self.url, self.use_api_client = url, use_api_client

    def rejection(self) -> lakefs_sdk.ApiException:
        with lakefs_sdk.LakeFSClient(config(self.url)) as client, pytest.raises(lakefs_sdk.ApiException) as info:
            client.refs_api.merge_into_branch("repo", "feature", "main")
        return info.value

    def run(self, helper: str, error: lakefs_sdk.ApiException, repository: Optional[str] = None) -> Any:
        function: Callable[..., Any] = {"failed_hooks": failed_hooks, "failed_hook_output": failed_hook_output}[helper]
        with lakefs_sdk.LakeFSClient(config(self.url)) as client:
            return function(client.api_client if self.use_api_client else client, error, repository)


class Async(Sync):
    """The asyncio helpers with an AsyncLakeFSClient (or its AsyncApiClient)."""

    def rejection(self) -> lakefs_sdk.ApiException:
        async def main() -> lakefs_sdk.ApiException:
            async with AsyncLakeFSClient(config(self.url)) as client:
                with pytest.raises(lakefs_sdk.ApiException) as info:
                    await client.refs_api.merge_into_branch("repo", "feature", "main")
            return info.value

        return asyncio.run(main())

    def run(self, helper: str, error: lakefs_sdk.ApiException, repository: Optional[str] = None) -> Any:
        function = {"failed_hooks": async_hooks.failed_hooks, "failed_hook_output": async_hooks.failed_hook_output}[helper]

        async def main() -> Any:
            async with AsyncLakeFSClient(config(self.url)) as client:
                target = client.api_client if self.use_api_client else client
                assert isinstance(target, (AsyncLakeFSClient, aio.AsyncApiClient))
                return await function(target, error, repository)

        return asyncio.run(main())


FLAVOURS: Dict[str, Callable[[str], Sync]] = {
    "sync": Sync,
    "sync-api-client": lambda url: Sync(url, use_api_client=True),
    "async": Async,
    "async-api-client": lambda url: Async(url, use_api_client=True),
}


@pytest.fixture(params=list(FLAVOURS))
def flavour(request: pytest.FixtureRequest) -> Callable[[str], Sync]:
    return FLAVOURS[request.param]


def test_a_hook_the_rejection_names_is_read_directly(named: Any, flavour: Callable[[str], Sync]) -> None:
    server, fake = named
    helpers = flavour(server.url)
    error = helpers.rejection()
    assert isinstance(error, lakefs_sdk.PreconditionFailedException) and error.run_id == RUN
    fake.served.clear()
    assert helpers.run("failed_hooks", error) == [
        FailedHook(run_id=RUN, hook_run_id="0000_0000", action="check schema", hook_id="schema_check", output="output of 0000_0000\n")
    ]
    assert fake.served == [f"{HOOKS_PATH}/0000_0000/output"], "no listing: the message named the hook"
    assert helpers.run("failed_hook_output", error) == "output of 0000_0000\n"


def test_hooks_the_rejection_does_not_name_are_found_in_the_run(unnamed: Any, flavour: Callable[[str], Sync]) -> None:
    server, fake = unnamed
    helpers = flavour(server.url)
    error = helpers.rejection()
    fake.served.clear()
    found = helpers.run("failed_hooks", error)
    assert [(h.hook_run_id, h.action, h.hook_id, h.output) for h in found] == [
        ("0000_0001", "a", "lint", "output of 0000_0001\n"),
        ("0001_0000", "b", "size", "output of 0001_0000\n"),
    ], "only the failed ones, from both pages"
    assert fake.served == [
        f"{HOOKS_PATH}?after=&amount=1000",
        f"{HOOKS_PATH}?after=0000_0001&amount=1000",
        f"{HOOKS_PATH}/0000_0001/output",
        f"{HOOKS_PATH}/0001_0000/output",
    ]
    assert helpers.run("failed_hook_output", error) == (
        "--- a / lint ---\noutput of 0000_0001\n\n--- b / size ---\noutput of 0001_0000\n"
    )


def test_an_error_that_is_no_hook_rejection_is_refused_before_sending(named: Any, flavour: Callable[[str], Sync]) -> None:
    server, fake = named
    helpers = flavour(server.url)
    fake.message = "branch main not found"
    error = helpers.rejection()
    fake.served.clear()
    with pytest.raises(lakefs_sdk.ApiValueError, match="not a hook rejection: the error names no action run"):
        helpers.run("failed_hooks", error)
    assert fake.served == []


def test_the_repository_comes_from_the_call_or_the_argument(named: Any, flavour: Callable[[str], Sync]) -> None:
    server, _fake = named
    helpers = flavour(server.url)
    error = helpers.rejection()
    assert error.arguments["repository"] == "repo"
    error.arguments.clear()
    with pytest.raises(lakefs_sdk.ApiValueError, match="pass repository="):
        helpers.run("failed_hooks", error)
    assert helpers.run("failed_hook_output", error, "repo") == "output of 0000_0000\n"


def test_an_output_that_cannot_be_read_raises_the_api_error(named: Any, flavour: Callable[[str], Sync]) -> None:
    server, fake = named
    helpers = flavour(server.url)
    fake.message = NAMED.replace("0000_0000", "missing")
    error = helpers.rejection()
    with pytest.raises(lakefs_sdk.NotFoundException, match="hook run not found"):
        helpers.run("failed_hooks", error)


def test_both_modules_export_the_same_record() -> None:
    assert async_hooks.FailedHook is FailedHook
    assert set(async_hooks.__all__) <= set(lakefs_sdk.hooks.__all__)


# -- the one-line reason of a failed hook -------------------------------------------------------------
# Hook outputs as lakeFS 1.84 wrote them (tests/integration/test_errors.py makes the same hooks fail).

WEBHOOK_403 = (
    "Request:\nPOST http://127.0.0.1:39563/deny\nQuery Params:\nHeaders:\nContent-Type: application/json\n"
    'Request Body:\n{"event_type":"pre-commit","action_name":"deny","hook_id":"deny_hook"}\n\n\n'
    "Request duration: 57.082616ms\n\nResponse:\nHTTP/1.1 403 Forbidden\r\nContent-Length: 77\r\n"
    "Content-Type: application/json\r\nDate: Mon, 07 Dec 2026 12:06:02 GMT\r\nServer: BaseHTTP/0.6 Python/3.11.7\r\n\r\n"
    '{"error": "schema check failed: column id is missing", "details": ["a", "b"]}'
    "Error: action failed: webhook request failed (status code: 403)\n"
)
WEBHOOK_422_LINES = (
    "Request:\nPOST http://127.0.0.1:39563/text\nQuery Params:\nHeaders:\nContent-Type: application/json\n"
    "Request Body:\n{}\n\n\nRequest duration: 56.48602ms\n\nResponse:\nHTTP/1.1 422 Unprocessable Entity\r\n"
    "Content-Length: 32\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "line one of the reason\nline two\nError: action failed: webhook request failed (status code: 422)\n"
)
WEBHOOK_400_EMPTY = (
    "Request:\nPOST http://127.0.0.1:39563/empty\nQuery Params:\nHeaders:\nContent-Type: application/json\n"
    "Request Body:\n{}\n\n\nRequest duration: 54.993736ms\n\nResponse:\nHTTP/1.1 400 Bad Request\r\n"
    "Content-Length: 0\r\nContent-Type: application/octet-stream\r\n\r\n"
    "Error: action failed: webhook request failed (status code: 400)\n"
)
WEBHOOK_UNREACHABLE = (
    "Request:\nPOST http://127.0.0.1:38341/gone\nQuery Params:\nHeaders:\nContent-Type: application/json\n"
    "Request Body:\n{}\n\n\nRequest duration: 159.576µs\n"
    'Error: action failed: Post "http://127.0.0.1:38341/gone": dial tcp 127.0.0.1:38341: connect: connection refused\n'
)
WEBHOOK_409_CHUNKED = (
    "Request:\nPOST http://127.0.0.1:40743/chunk\nQuery Params:\nHeaders:\nContent-Type: application/json\n"
    "Request Body:\n{}\n\n\nRequest duration: 4.423304ms\n\nResponse:\nHTTP/1.1 409 Conflict\r\n"
    "Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n1f\r\nthe table is locked: try later\n\r\n"
    "0\r\n\r\nError: action failed: webhook request failed (status code: 409)\n"
)
IF_NOT_EVALUATED = 'Error: unexpected token Bracket("{") (1:2)\n | ${{ success() }}\n | .^\n'
LUA_ERROR = (
    'checking\nError: action failed: runtime error: [string "lua"]:2: the table has no id column\n'
    'stack traceback:\n\t[Go]: in ?\n\t[string "lua"]:2: in main chunk\n'
)


@pytest.mark.parametrize(
    ("output", "reason", "ran"),
    [
        (WEBHOOK_403, 'webhook answered 403 Forbidden: {"error": "schema check failed: column id is missing", '
                      '"details": ["a", "b"]}', True),
        (WEBHOOK_422_LINES, "webhook answered 422 Unprocessable Entity: line one of the reason line two", True),
        (WEBHOOK_400_EMPTY, "webhook answered 400 Bad Request (no body)", True),
        (WEBHOOK_409_CHUNKED, "webhook answered 409 Conflict: the table is locked: try later", True),
        (WEBHOOK_UNREACHABLE, 'no answer from the webhook: Post "http://127.0.0.1:38341/gone": dial tcp '
                              "127.0.0.1:38341: connect: connection refused", False),
        (IF_NOT_EVALUATED, 'did not run: unexpected token Bracket("{") (1:2)', False),
        (LUA_ERROR, 'runtime error: [string "lua"]:2: the table has no id column', True),
        ("", "the hook failed and wrote no output", True),
    ],
    ids=["webhook-403-json", "webhook-422-lines", "webhook-400-empty", "webhook-409-chunked", "unreachable", "if-not-evaluated", "lua", "empty"],
)
def test_a_failed_hook_has_a_one_line_reason(output: str, reason: str, ran: bool) -> None:
    hook = FailedHook("run", "0000_0000", "action", "hook", output)
    assert hook.reason == reason and "\n" not in hook.reason
    assert hook.ran is ran


def test_a_long_answer_is_cut_in_the_reason() -> None:
    body = "x" * 5000
    output = (
        f"Request:\n\nResponse:\nHTTP/1.1 400 Bad Request\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        "Error: action failed: webhook request failed (status code: 400)\n"
    )
    reason = FailedHook("run", "0000_0000", "a", "h", output).reason
    assert reason.startswith("webhook answered 400 Bad Request: xxx") and reason.endswith("...") and len(reason) < 300


def test_a_non_ascii_answer_is_cut_at_its_content_length() -> None:
    body = '{"error": "colonne «id» absente"}'
    output = (
        f"Request:\n\nResponse:\nHTTP/1.1 400 Bad Request\r\nContent-Length: {len(body.encode())}\r\n\r\n{body}"
        "Error: action failed: webhook request failed (status code: 400)\n"
    )
    assert FailedHook("run", "0000_0000", "a", "h", output).reason == f"webhook answered 400 Bad Request: {body}"


def test_failed_hooks_carry_reasons_sync_and_async() -> None:
    outputs = {"0000_0000": WEBHOOK_403, "0001_0000": WEBHOOK_UNREACHABLE}
    message = (
        "pre-commit hook aborted, run id '" + RUN + "': 2 errors occurred:\n"
        "\t* hook run id '0001_0000' failed on action 'nowhere' hook 'call_nowhere': action failed: "
        'Post "http://127.0.0.1:38341/gone": dial tcp 127.0.0.1:38341: connect: connection refused\n'
        "\t* hook run id '0000_0000' failed on action 'gate' hook 'deny': action failed: "
        "webhook request failed (status code: 403)\n\n"
    )

    def answer(request: Request) -> Reply:
        if request.method == "POST":
            return Reply(412, json.dumps({"message": message}))
        hook_run_id = request.path.split("/")[-2]
        return Reply(200, outputs[hook_run_id], {"Content-Type": "application/octet-stream"})

    with LoopbackServer(answer) as server:
        configuration = Configuration(host=server.url + "/api/v1", username="a", password="b")
        with lakefs_sdk.LakeFSClient(configuration) as client:
            with pytest.raises(lakefs_sdk.PreconditionFailedException) as refused:
                client.commits_api.commit("repo", "main", lakefs_sdk.CommitCreation(message="m"))
            found = failed_hooks(client, refused.value)

        async def run() -> List[FailedHook]:
            async with AsyncLakeFSClient(Configuration(host=server.url + "/api/v1", username="a", password="b")) as aclient:
                return await async_hooks.failed_hooks(aclient, refused.value)

        found_async = asyncio.run(run())
    for hooks in (found, found_async):
        assert [(hook.hook_id, hook.ran) for hook in hooks] == [("call_nowhere", False), ("deny", True)]
        assert hooks[0].reason.startswith('no answer from the webhook: Post "http://127.0.0.1:38341/gone"')
        assert hooks[1].reason.startswith('webhook answered 403 Forbidden: {"error": "schema check failed')
