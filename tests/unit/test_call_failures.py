"""Calls that get no response (refused, timed out), through both clients, on 127.0.0.1.

Such an error says what the user did, as an error status does: the call and its
identifying arguments first (``operation``, ``api_method``, ``arguments``), then the
masked request and what went wrong; a timeout reports the timeout the user gave. A total
``_request_timeout=T`` bounds the whole call, retries and waits included; a
``(connect, read)`` pair stays per attempt.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import SimpleNamespace
from typing import Any, Callable, Iterator, List, Optional, Tuple

import pytest
import urllib3

import lakefs_sdk
from lakefs_sdk import ApiClient, BranchesApi, Configuration, ObjectsApi
from lakefs_sdk._request import Request
from lakefs_sdk._transport import AsyncResponse, Response, Timeouts, body_interrupted
from lakefs_sdk.aio import AsyncApiClient
from lakefs_sdk.aio import BranchesApi as AsyncBranchesApi
from lakefs_sdk.aio import ObjectsApi as AsyncObjectsApi

from support.loopback import LoopbackServer, Reply
from support.pki import have_openssl, make_pki, server_context

REF = Reply(200, '{"id": "main", "commit_id": "c1"}')
CALL = "get_branch(repository='repo', branch='main') failed: no response: "


def config(url: str, **overrides: object) -> Configuration:
    c = Configuration(host=url + "/api/v1", username="AKIA", password="secret")
    c.retry_backoff = 0.02
    c.connect_timeout = 2.0
    c.read_timeout = 2.0
    for key, value in overrides.items():
        setattr(c, key, value)
    return c


def sync_call(configuration: Configuration, **options: Any) -> Tuple[Any, float]:
    start = time.monotonic()
    try:
        with ApiClient(configuration) as client:
            result: Any = BranchesApi(client).get_branch("repo", "main", **options)
    except Exception as error:
        result = error
    return result, time.monotonic() - start


def async_call(configuration: Configuration, **options: Any) -> Tuple[Any, float]:
    async def main() -> Any:
        async with AsyncApiClient(configuration) as client:
            return await AsyncBranchesApi(client).get_branch("repo", "main", **options)

    start = time.monotonic()
    try:
        result: Any = asyncio.run(main())
    except Exception as error:
        result = error
    return result, time.monotonic() - start


CALLERS = {"sync": sync_call, "async": async_call}
Caller = Callable[..., Tuple[Any, float]]


@pytest.fixture(params=sorted(CALLERS))
def call(request: pytest.FixtureRequest) -> Caller:
    return CALLERS[request.param]


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda request: REF) as srv:
        yield srv


@pytest.fixture
def refusing_url() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


# -- the call is named --------------------------------------------------------------------------


def test_a_refused_connection_names_the_call(call: Caller, refusing_url: str) -> None:
    error, _ = call(config(refusing_url, max_retries=0))
    assert type(error) is lakefs_sdk.ApiConnectionError
    assert error.operation == "getBranch" and error.api_method == "get_branch"
    assert error.arguments == {"repository": "repo", "branch": "main"}
    text = str(error)
    assert text.startswith(CALL + f"GET {refusing_url}/api/v1/repositories/repo/branches/main: connection failed")
    assert "Connection refused" in text
    assert "ssl:default" not in text and " at 0x" not in text
    assert error.__cause__ is not None, "the library's error stays the cause"
    assert "operation='getBranch'" in repr(error)


def test_a_timeout_names_the_call_and_the_timeout_given(call: Caller, server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(200, REF.body, stall=1.0)
    error, elapsed = call(config(server.url, max_retries=0), _request_timeout=0.05)
    assert type(error) is lakefs_sdk.ApiTimeoutError and elapsed < 0.9
    assert error.operation == "getBranch" and error.arguments == {"repository": "repo", "branch": "main"}
    text = str(error)
    assert text.startswith(CALL + f"GET {server.url}/api/v1/repositories/repo/branches/main: timed out")
    assert "0.05 s" in text, text
    assert "timeout=0" not in text and "()" not in text


def test_a_tiny_timeout_is_reported_as_given_not_as_what_was_left(call: Caller, server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(200, REF.body, stall=1.0)
    error, _ = call(config(server.url, max_retries=0), _request_timeout=0.001)
    assert isinstance(error, lakefs_sdk.ApiTimeoutError)
    assert "0.001 s" in str(error) and "timeout=0." not in str(error), str(error)


def test_a_read_timeout_of_a_pair_is_reported_as_the_read_timeout(call: Caller, server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(200, REF.body, stall=1.0)
    error, _ = call(config(server.url, max_retries=0), _request_timeout=(2, 0.1))
    assert isinstance(error, lakefs_sdk.ApiTimeoutError)
    assert "read timeout of 0.1 s" in str(error), str(error)


def test_the_configured_read_timeout_is_reported(call: Caller, server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(200, REF.body, stall=1.0)
    error, _ = call(config(server.url, max_retries=0, read_timeout=0.1))
    assert isinstance(error, lakefs_sdk.ApiTimeoutError)
    assert str(error).startswith(CALL) and "read timeout of 0.1 s" in str(error), str(error)


def test_an_unverified_server_names_the_call_and_the_certificate_problem(
    call: Caller, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if not have_openssl():
        pytest.skip("openssl is not installed: TLS tests need it to make certificates")
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    with LoopbackServer(lambda request: REF, tls=server_context(pki)) as srv:
        error, _ = call(config(srv.url))
    assert type(error) is lakefs_sdk.ApiConnectionError and error.api_method == "get_branch"
    text = str(error)
    assert text.startswith(CALL + f"GET {srv.url}/api/v1/repositories/repo/branches/main: TLS failure (")
    assert "certificate verify failed" in text and "ssl:" not in text, text


class Unreachable:
    """A transport that never gets an answer, as a user's test double might."""

    max_connections = 1

    def send(self, request: Request, *, timeout: Optional[Timeouts] = None, preload_content: bool = True) -> Response:
        raise lakefs_sdk.ApiTimeoutError(f"{request.method} {request.url}: timed out")

    def close(self) -> None:
        pass


class AsyncUnreachable:
    max_connections = 1

    async def send(
        self, request: Request, *, timeout: Optional[Timeouts] = None, preload_content: bool = True
    ) -> AsyncResponse:
        raise lakefs_sdk.ApiTimeoutError(f"{request.method} {request.url}: timed out")

    async def close(self) -> None:
        pass


def test_the_client_names_the_call_whatever_transport_failed() -> None:
    configuration = config("http://127.0.0.1:9")
    with ApiClient(configuration, transport=Unreachable()) as client:
        with pytest.raises(lakefs_sdk.ApiTimeoutError) as raised:
            BranchesApi(client).get_branch("repo", "main")
    assert raised.value.api_method == "get_branch" and str(raised.value).startswith(CALL)

    async def main() -> None:
        async with AsyncApiClient(configuration, transport=AsyncUnreachable()) as client:
            await AsyncBranchesApi(client).get_branch("repo", "main")

    with pytest.raises(lakefs_sdk.ApiTimeoutError) as raised_async:
        asyncio.run(main())
    assert raised_async.value.api_method == "get_branch" and str(raised_async.value).startswith(CALL)


# -- a total timeout bounds the whole call ------------------------------------------------------


def test_retries_of_a_timed_out_call_stay_within_the_total(call: Caller, server: LoopbackServer) -> None:
    """First a fast 503 (a retry is due), then a stall: the retry gets only the time left."""
    server.reply(Reply(503, "{}"))
    server.handler = lambda request: Reply(200, REF.body, stall=2.0)
    error, elapsed = call(config(server.url, max_retries=3), _request_timeout=0.5)
    assert isinstance(error, lakefs_sdk.ApiTimeoutError), error
    assert len(server.requests) == 2, "the stalled retry used up the rest of the budget"
    assert 0.4 <= elapsed < 0.8, elapsed
    assert "0.5 s" in str(error)


def test_a_wait_past_the_total_is_not_made(call: Caller, server: LoopbackServer) -> None:
    """A Retry-After longer than what is left: the 503 is the answer, at once."""
    server.handler = lambda request: Reply(503, "{}", {"Content-Type": "application/json", "Retry-After": "1"})
    error, elapsed = call(config(server.url, max_retries=3, retry_after_max=1.0), _request_timeout=0.5)
    assert isinstance(error, lakefs_sdk.ServiceException) and error.status == 503
    assert len(server.requests) == 1 and elapsed < 0.9, elapsed  # the 1 s wait was not made


def test_a_refused_connection_retries_within_the_total(call: Caller, refusing_url: str) -> None:
    # Waits 0.2, 0.4, 0.8 ... (no jitter below 0.15 each): only the first fits in 0.3 s.
    error, elapsed = call(config(refusing_url, max_retries=5, retry_backoff=0.2), _request_timeout=0.3)
    assert isinstance(error, lakefs_sdk.ApiConnectionError) and elapsed < 0.45, elapsed


def test_a_pair_keeps_its_per_attempt_meaning(call: Caller, server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(200, REF.body, stall=1.0)
    error, elapsed = call(config(server.url, max_retries=1), _request_timeout=(2, 0.2))
    assert isinstance(error, lakefs_sdk.ApiTimeoutError)
    assert len(server.requests) == 2 and elapsed >= 0.4, "each attempt has the whole read timeout"


def test_a_urllib3_timeout_with_a_total_is_accepted_and_bounds_the_call(call: Caller, server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(200, REF.body, stall=2.0)
    error, elapsed = call(config(server.url, max_retries=2), _request_timeout=urllib3.Timeout(total=0.3))
    assert isinstance(error, lakefs_sdk.ApiTimeoutError), error
    assert elapsed < 0.6 and "0.3 s" in str(error), (elapsed, str(error))


def test_a_body_cut_by_a_timeout_says_so() -> None:
    """aiohttp's total timeout raises a TimeoutError without text: the message must not end empty."""
    error = body_interrupted(asyncio.TimeoutError(), True)
    assert isinstance(error, lakefs_sdk.ApiTimeoutError)
    assert str(error.reason).endswith("response body interrupted: timed out")
    lost = body_interrupted(ConnectionResetError(104, "Connection reset by peer"), False)
    assert str(lost.reason) == "response body interrupted: [Errno 104] Connection reset by peer"


class Scripted401:
    """Answers 401 after a delay, then 200: a token refresh sends the request again."""

    max_connections = 1

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.timeouts: List[Optional[Timeouts]] = []

    def answer(self, timeout: Optional[Timeouts]) -> Any:
        self.timeouts.append(timeout)
        status = 401 if len(self.timeouts) == 1 else 200
        body = b'{"message": "expired"}' if status == 401 else REF.encoded_body()
        return SimpleNamespace(
            status=status,
            reason=None,
            headers={"Content-Type": "application/json"},
            data=body,
            retries=0,
            release_conn=lambda: None,
        )


class Refusing401(Scripted401):
    def send(self, request: Request, *, timeout: Optional[Timeouts] = None, preload_content: bool = True) -> Any:
        time.sleep(self.delay)
        return self.answer(timeout)

    def close(self) -> None:
        pass


class AsyncRefusing401(Scripted401):
    async def send(
        self, request: Request, *, timeout: Optional[Timeouts] = None, preload_content: bool = True
    ) -> Any:
        await asyncio.sleep(self.delay)
        return self.answer(timeout)

    async def close(self) -> None:
        pass


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_request_sent_again_after_a_token_refresh_gets_what_is_left_of_the_total(kind: str) -> None:
    tokens = iter(["old", "new"])
    configuration = Configuration(host="http://127.0.0.1:9/api/v1", access_token_provider=lambda refresh: next(tokens))
    fake: Scripted401
    if kind == "sync":
        fake = sync_fake = Refusing401(0.2)
        client = ApiClient(configuration, transport=sync_fake)
        assert BranchesApi(client).get_branch("repo", "main", _request_timeout=1.0).id == "main"
    else:
        fake = async_fake = AsyncRefusing401(0.2)

        async def main() -> str:
            client = AsyncApiClient(configuration, transport=async_fake)
            return (await AsyncBranchesApi(client).get_branch("repo", "main", _request_timeout=1.0)).id

        assert asyncio.run(main()) == "main"
    first, second = fake.timeouts
    assert first is not None and first.total == 1.0
    assert second is not None and second.total is not None and 0.5 < second.total <= 0.8, second


def test_a_pair_is_sent_again_unchanged_after_a_token_refresh() -> None:
    tokens = iter(["old", "new"])
    configuration = Configuration(host="http://127.0.0.1:9/api/v1", access_token_provider=lambda refresh: next(tokens))
    fake = Refusing401(0.0)
    BranchesApi(ApiClient(configuration, transport=fake)).get_branch("repo", "main", _request_timeout=(1, 2))
    assert fake.timeouts == [Timeouts(1.0, 2.0), Timeouts(1.0, 2.0)]


@pytest.fixture
def trickling_url() -> Iterator[str]:
    """A server whose answer starts at once and then arrives a byte every 0.1 s (8 bytes)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def answer(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 8\r\n\r\n")
                for _ in range(8):
                    if stop.wait(0.1):
                        return
                    conn.sendall(b"x")
            except OSError:
                pass  # the client gave up

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()


def sync_get_object(configuration: Configuration, **options: Any) -> Tuple[Any, float]:
    start = time.monotonic()
    try:
        with ApiClient(configuration) as client:
            result: Any = ObjectsApi(client).get_object("repo", "main", "p", **options)
    except Exception as error:
        result = error
    return result, time.monotonic() - start


def async_get_object(configuration: Configuration, **options: Any) -> Tuple[Any, float]:
    async def main() -> Any:
        async with AsyncApiClient(configuration) as client:
            return await AsyncObjectsApi(client).get_object("repo", "main", "p", **options)

    start = time.monotonic()
    try:
        result: Any = asyncio.run(main())
    except Exception as error:
        result = error
    return result, time.monotonic() - start


@pytest.mark.parametrize("get_object", [sync_get_object, async_get_object], ids=["sync", "async"])
def test_a_body_arriving_slowly_is_cut_at_the_total(get_object: Caller, trickling_url: str) -> None:
    """Each byte comes well within any read timeout; the total still ends the call."""
    error, elapsed = get_object(config(trickling_url, max_retries=2), _request_timeout=0.35)
    assert isinstance(error, lakefs_sdk.ApiTimeoutError), error
    assert elapsed < 0.7, elapsed
    assert error.api_method == "get_object" and "total timeout of 0.35 s" in str(error), str(error)


@pytest.mark.parametrize("get_object", [sync_get_object, async_get_object], ids=["sync", "async"])
def test_a_body_arriving_slowly_within_a_pair_is_read_whole(get_object: Caller, trickling_url: str) -> None:
    data, elapsed = get_object(config(trickling_url, max_retries=0), _request_timeout=(1, 0.5))
    assert data == b"x" * 8 and elapsed >= 0.7
