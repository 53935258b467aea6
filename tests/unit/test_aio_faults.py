"""Fault injection for the asyncio client: the scenarios of test_faults.py, on aiohttp.

Retries (how many attempts, which statuses, Retry-After), stalls past the read timeout,
resets mid-body, bodies that cannot be sent twice and the 401 token refresh behave as in
the sync client, because the same RetryPolicy decides; plus cancellation in the middle of
an upload and of a download, after which the client's pool is still usable. Waits are
counted (``RetryPolicy.sleep_async`` recorded), never timed.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, List, Optional, TypeVar

import pytest

import lakefs_sdk
from lakefs_sdk import Configuration
from lakefs_sdk._retry import RetryPolicy
from lakefs_sdk.aio import AsyncApiClient, BranchesApi, CommitsApi, ObjectsApi
from lakefs_sdk.models import CommitCreation

from support.loopback import LoopbackServer, Reply

T = TypeVar("T")
REF = Reply(200, '{"id": "main", "commit_id": "c1"}')
COMMIT = Reply(
    201, '{"id": "c2", "parents": ["c1"], "committer": "u", "message": "m", "creation_date": 1, "meta_range_id": "r"}'
)
STATS = Reply(201, '{"path": "p", "path_type": "object", "physical_address": "s3://x", "checksum": "c", "mtime": 1}')
BACKOFF = 0.02


def config(url: str, **overrides: object) -> Configuration:
    c = Configuration(host=url + "/api/v1", username="AKIA", password="secret")
    c.retry_backoff = BACKOFF
    c.connect_timeout = 2.0
    c.read_timeout = 2.0
    for key, value in overrides.items():
        setattr(c, key, value)
    return c


def run(make: Callable[[AsyncApiClient], Awaitable[T]], configuration: Configuration) -> T:
    async def main() -> T:
        async with AsyncApiClient(configuration) as client:
            return await make(client)

    return asyncio.run(main())


def outcome(make: Callable[[AsyncApiClient], Awaitable[Any]], configuration: Configuration) -> Any:
    try:
        return run(make, configuration)
    except Exception as error:
        return error


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda request: REF) as srv:
        yield srv


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> List[float]:
    """Every wait between attempts, recorded instead of slept."""
    recorded: List[float] = []

    async def record(self: RetryPolicy, seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(RetryPolicy, "sleep_async", record)
    return recorded


def test_connection_refused_is_retried_then_raised(waits: List[float]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        error = outcome(lambda c: CommitsApi(c).commit("repo", "main", CommitCreation(message="m")), config(f"http://127.0.0.1:{port}"))
    assert isinstance(error, lakefs_sdk.ApiConnectionError) and not isinstance(error, lakefs_sdk.ApiTimeoutError)
    assert "connection failed" in str(error.reason)
    assert len(waits) == 2, "a request that never left is retried, even a POST"
    assert 0.75 * BACKOFF <= waits[0] <= BACKOFF and 1.5 * BACKOFF <= waits[1] <= 2 * BACKOFF


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_status_retried_for_get(server: LoopbackServer, waits: List[float], status: int) -> None:
    server.reply(Reply(status, '{"message": "busy"}'), Reply(status, '{"message": "busy"}'))
    ref = run(lambda c: BranchesApi(c).get_branch_with_http_info("repo", "main"), config(server.url))
    assert isinstance(ref, lakefs_sdk.ApiResponse) and ref.retries == 2 and ref.data.id == "main"
    assert len(server.requests) == 3 and len(waits) == 2


def test_gives_up_after_max_retries_with_typed_error(server: LoopbackServer, waits: List[float]) -> None:
    server.handler = lambda request: Reply(
        503, '{"message": "kv throttled"}', {"Content-Type": "application/json", "X-Request-Id": "req-9"}
    )
    error = outcome(lambda c: BranchesApi(c).get_branch("repo", "main"), config(server.url))
    assert type(error) is lakefs_sdk.ServiceException
    assert error.status == 503 and error.message == "kv throttled" and error.request_id == "req-9"
    assert error.operation == "getBranch"
    assert len(server.requests) == 3


@pytest.mark.parametrize("status", [409, 412, 400, 401, 403, 404, 410, 416, 501])
def test_answers_are_never_retried(server: LoopbackServer, waits: List[float], status: int) -> None:
    server.handler = lambda request: Reply(status, '{"message": "no"}')
    error = outcome(lambda c: BranchesApi(c).get_branch("repo", "main"), config(server.url))
    assert isinstance(error, lakefs_sdk.exceptions.exception_class_for(status)) and error.status == status
    assert len(server.requests) == 1 and waits == []


def test_post_is_not_retried_on_503(server: LoopbackServer, waits: List[float]) -> None:
    server.handler = lambda request: Reply(503, '{"message": "busy"}')
    error = outcome(lambda c: CommitsApi(c).commit("repo", "main", CommitCreation(message="m")), config(server.url))
    assert isinstance(error, lakefs_sdk.ServiceException)
    assert [r.method for r in server.requests] == ["POST"], "a non-idempotent request is sent once"


def test_retry_after_replaces_the_backoff_and_is_capped(server: LoopbackServer, waits: List[float]) -> None:
    server.reply(
        Reply(429, "{}", {"Retry-After": "0.3", "Content-Type": "application/json"}),
        Reply(503, "{}", {"Retry-After": "3600", "Content-Type": "application/json"}),
    )
    run(lambda c: BranchesApi(c).get_branch("repo", "main"), config(server.url, retry_after_max=1.0))
    assert waits == [0.3, 1.0]
    assert len(server.requests) == 3


@pytest.mark.parametrize("fault", ["reset", "close", "reset_mid_body", "truncate"])
def test_dropped_get_is_retried(server: LoopbackServer, waits: List[float], fault: str) -> None:
    server.reply(Reply(200, '{"id": "main", "commit_id": "c1", "pad": "' + "x" * 2000 + '"}', fault=fault))
    ref = run(lambda c: BranchesApi(c).get_branch_with_http_info("repo", "main"), config(server.url))
    assert ref.retries == 1 and ref.data.id == "main"
    assert len(server.requests) == 2


@pytest.mark.parametrize("fault", ["reset", "reset_mid_body", "truncate"])
def test_dropped_post_is_not_resent(server: LoopbackServer, waits: List[float], fault: str) -> None:
    server.reply(Reply(201, COMMIT.body, fault=fault))
    error = outcome(lambda c: CommitsApi(c).commit("repo", "main", CommitCreation(message="m")), config(server.url))
    assert isinstance(error, lakefs_sdk.ApiConnectionError)
    assert len(server.requests) == 1, "the commit may have happened: never send it twice"


def test_stall_past_the_read_timeout_is_retried_then_raises_timeout(server: LoopbackServer, waits: List[float]) -> None:
    server.handler = lambda request: Reply(200, REF.body, stall=0.6)
    error = outcome(lambda c: BranchesApi(c).get_branch("repo", "main"), config(server.url, read_timeout=0.2, max_retries=1))
    assert isinstance(error, lakefs_sdk.ApiTimeoutError) and "timed out" in str(error.reason)
    assert len(server.requests) == 2 and len(waits) == 1


def test_per_call_timeout_overrides_configuration(server: LoopbackServer, waits: List[float]) -> None:
    server.handler = lambda request: Reply(200, REF.body, stall=0.5)
    error = outcome(
        lambda c: BranchesApi(c).get_branch("repo", "main", _request_timeout=(1.0, 0.1)), config(server.url, max_retries=0)
    )
    assert isinstance(error, lakefs_sdk.ApiTimeoutError)


def test_conditional_upload_from_a_path_is_resent_whole(server: LoopbackServer, waits: List[float], tmp_path: Any) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(bytes(range(256)) * 100)
    server.reply(Reply(503, "{}"))
    server.handler = lambda request: STATS
    run(lambda c: ObjectsApi(c).upload_object("repo", "main", "p", if_none_match="*", content=source), config(server.url))
    first, second = server.requests
    assert first.body == second.body and source.read_bytes() in first.body


def test_async_iterator_upload_is_never_resent(server: LoopbackServer, waits: List[float]) -> None:
    server.handler = lambda request: Reply(503, "{}")

    async def chunks() -> AsyncIterator[bytes]:
        yield b"part-1;"
        yield b"part-2"

    error = outcome(
        lambda c: ObjectsApi(c).upload_object(
            "repo", "main", "p", if_none_match="*", content=chunks(), _content_type="application/octet-stream"
        ),
        config(server.url),
    )
    assert isinstance(error, lakefs_sdk.ServiceException)
    assert len(server.requests) == 1 and server.requests[0].body == b"part-1;part-2"


def test_an_iterator_yielding_str_is_refused_as_in_the_sync_client(server: LoopbackServer) -> None:
    async def chunks() -> AsyncIterator[Any]:
        yield "text"

    error = outcome(
        lambda c: ObjectsApi(c).upload_object("repo", "main", "p", content=chunks(), _content_type="application/octet-stream"),
        config(server.url),
    )
    assert isinstance(error, TypeError) and "must yield bytes" in str(error)


# -- the 401 refresh ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["function", "coroutine function"])
def test_token_provider_refreshes_once_after_401(server: LoopbackServer, kind: str) -> None:
    calls: List[bool] = []

    def token(refresh: bool) -> str:
        calls.append(refresh)
        return "fresh" if refresh else "stale"

    async def async_token(refresh: bool) -> str:
        await asyncio.sleep(0)
        return token(refresh)

    server.handler = lambda request: REF if request.header("Authorization") == "Bearer fresh" else Reply(401, "{}")
    c = Configuration(host=server.url + "/api/v1", access_token_provider=token if kind == "function" else async_token)
    ref = run(lambda client: BranchesApi(client).get_branch("repo", "main"), c)
    assert ref.id == "main"
    assert [r.header("Authorization") for r in server.requests] == ["Bearer stale", "Bearer fresh"]
    assert calls == [False, False, True]


def test_token_refresh_is_shared_by_concurrent_tasks(server: LoopbackServer) -> None:
    state = {"token": "t0", "refreshes": 0}

    async def provider(refresh: bool) -> str:
        if refresh:
            await asyncio.sleep(0.01)  # other tasks reach the lock meanwhile
            state["refreshes"] += 1
            state["token"] = f"t{state['refreshes']}"
        return state["token"]

    server.handler = lambda request: REF if request.header("Authorization") == "Bearer t1" else Reply(401, "{}")

    async def many(client: AsyncApiClient) -> List[Any]:
        api = BranchesApi(client)
        return list(await asyncio.gather(*(api.get_branch("repo", "main") for _ in range(8))))

    refs = run(many, Configuration(host=server.url + "/api/v1", access_token_provider=provider))
    assert [r.id for r in refs] == ["main"] * 8
    assert state["refreshes"] == 1, "one refresh for every task that saw the same rejected token"


def test_a_coroutine_provider_is_refused_by_the_sync_client(server: LoopbackServer) -> None:
    async def provider(refresh: bool) -> str:
        return "token"

    with lakefs_sdk.ApiClient(Configuration(host=server.url + "/api/v1", access_token_provider=provider)) as client:
        with pytest.raises(lakefs_sdk.ApiValueError, match="coroutine"):
            lakefs_sdk.BranchesApi(client).get_branch("repo", "main")
    assert server.requests == []


# -- cancellation ------------------------------------------------------------------------------------


def test_cancelled_download_releases_its_connection_and_the_pool_stays_usable(server: LoopbackServer) -> None:
    body = bytes(range(256)) * 4096 * 8  # 8 MiB: more than the socket buffers hold
    server.reply(Reply(200, body, {"Content-Type": "application/octet-stream"}))

    async def scenario(client: AsyncApiClient) -> Any:
        objects = ObjectsApi(client)
        first_chunk = asyncio.Event()
        received: List[int] = []

        async def download() -> None:
            async with await objects.get_object_without_preload_content("repo", "main", "big") as response:
                async for chunk in response.iter_bytes(64 * 1024):
                    received.append(len(chunk))
                    first_chunk.set()
                    await asyncio.sleep(0.01)

        task = asyncio.create_task(download())
        await first_chunk.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        connector = client.rest_client.session.connector
        assert connector is not None
        # Two more calls on the same client: the cancelled download's connection was closed, not reused.
        refs = [await BranchesApi(client).get_branch("repo", f"b{i}") for i in range(2)]
        return sum(received), refs

    got, refs = run(scenario, config(server.url))
    assert 0 < got < 8 * 1024 * 1024
    assert [r.id for r in refs] == ["main", "main"]
    assert len(server.requests) == 3
    assert server.requests[1].connection_id != server.requests[0].connection_id


def test_cancelled_upload_releases_its_connection_and_the_pool_stays_usable(server: LoopbackServer) -> None:
    server.handler = lambda request: STATS if "objects" in request.path else REF
    sent: List[int] = []

    async def scenario(client: AsyncApiClient) -> Any:
        begun = asyncio.Event()
        closed: List[bool] = []

        async def endless() -> AsyncIterator[bytes]:
            try:
                while True:
                    sent.append(1)
                    begun.set()
                    yield b"x" * 65536
                    await asyncio.sleep(0.001)
            finally:
                closed.append(True)

        task = asyncio.create_task(
            ObjectsApi(client).upload_object("repo", "main", "p", content=endless(), _content_type="application/octet-stream")
        )
        await begun.wait()
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        ref = await BranchesApi(client).get_branch("repo", "main")
        for _ in range(100):  # the source is closed once aiohttp's writer lets go of it
            if closed:
                break
            await asyncio.sleep(0.01)
        return ref, closed

    ref, closed = run(scenario, config(server.url))
    assert ref.id == "main"
    assert len(sent) > 1, "the upload was under way when cancelled"
    assert closed == [True], "the cancelled upload's source was closed"
    assert server.requests[-1].path.endswith("/branches/main"), "the client still works after the cancellation"
    assert all("objects" not in r.path for r in server.requests), "the cancelled upload never completed"


def test_many_tasks_share_one_client(server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(200, f'{{"id": "{request.path.rsplit("/", 1)[1]}", "commit_id": "c"}}')

    async def many(client: AsyncApiClient) -> List[Optional[str]]:
        api = BranchesApi(client)
        refs = await asyncio.gather(*(api.get_branch("repo", f"b{i}") for i in range(200)))
        return [r.id for r in refs]

    c = config(server.url)
    c.connection_pool_maxsize = 8
    ids = run(many, c)
    assert ids == [f"b{i}" for i in range(200)], "responses never cross between tasks"
    assert server.connections <= 8, f"{server.connections} connections: the pool is bounded"
