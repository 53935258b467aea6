"""Mock transports: run a client against a function instead of a server.

``MockTransport(handler)`` goes to ``ApiClient(configuration, transport=...)``,
``AsyncMockTransport(handler)`` to ``AsyncApiClient(configuration, transport=...)``: two
classes, because a client calls ``send`` and the asyncio client awaits it, and a transport
cannot tell which is calling. Both take the same handlers: ``handler(request)`` gets a
:class:`~lakefs_sdk.testing.Request` and returns a :class:`~lakefs_sdk.testing.Response`;
for the asyncio client it may also be a coroutine function.

Only the network is replaced. The client prepares the request (arguments checked,
credentials, body) and reads the answer exactly as it does a server's: an error status
raises its typed exception, ``*_iter`` walks the pages the handler serves, a response
left unread (``_preload_content=False``) is streamed with the same methods, and a
transient status (429, 503 ...) is retried by the same :class:`~lakefs_sdk._retry.Attempts`
decisions the real transports make, with the retry settings of ``configuration``.
Waits between retries are recorded in ``waits`` rather than slept (``sleep=True`` sleeps
them). A handler raising ``OSError`` plays a request that got no response:
``ConnectionRefusedError`` was never sent (always retried), ``TimeoutError`` timed out,
any other may have arrived; the last attempt's failure is raised as ``ApiConnectionError``
(``ApiTimeoutError``), as the real transports do.
"""

from __future__ import annotations

import asyncio
import inspect
import io
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, AsyncIterator, Awaitable, Callable, List, Optional, Tuple, TypeVar, Union, cast

import urllib3
from typing_extensions import ParamSpec

from lakefs_sdk._request import Request as WireRequest
from lakefs_sdk._retry import MAYBE_SENT, NOT_SENT, Attempts, PolicyCache, RetryPolicy
from lakefs_sdk._transport import Timeouts, can_resend, connection_error
from lakefs_sdk._upload import UploadBody
from lakefs_sdk.configuration import Configuration
from lakefs_sdk.exceptions import ApiTypeError, ApiValueError
from lakefs_sdk.rest import RESTResponse
from lakefs_sdk.testing._messages import Request, Response

if TYPE_CHECKING:
    from aiohttp import ClientResponse

    from lakefs_sdk.aio.rest import AsyncRESTResponse

__all__ = ["AsyncHandler", "AsyncMockTransport", "Handler", "MockTransport"]

Handler = Callable[[Request], Response]
"""A sync handler: ``handler(request) -> Response``."""
AsyncHandler = Callable[[Request], Union[Response, Awaitable[Response]]]
"""An asyncio transport's handler: a function or a coroutine function of the request."""

P = ParamSpec("P")
T = TypeVar("T")


class _MockBase:
    """What both mock transports share: the handler, the record, the retry policy."""

    def __init__(
        self,
        configuration: Optional[Configuration],
        retry_policy: Optional[RetryPolicy],
        sleep: bool,
        max_connections: int,
    ) -> None:
        if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
            raise ApiValueError(f"max_connections must be a positive int, got {max_connections!r}")
        self.configuration = configuration
        self.requests: List[Request] = []
        """Every request the handler was given, retries included, in order."""
        self.waits: List[float] = []
        """The seconds the retry policy asked to wait before each retry."""
        self.closed = 0
        """How many times the client closed the transport."""
        self._retry_policy = retry_policy
        self._policies = PolicyCache()
        self._sleep = sleep
        self._max_connections = max_connections

    @property
    def max_connections(self) -> int:
        """Requests the bulk helpers send at once through this transport."""
        return self._max_connections

    def retry_policy(self) -> RetryPolicy:
        """The retry policy: the one given, else ``configuration``'s (else the default configuration's)."""
        if self._retry_policy is not None:
            return self._retry_policy
        configuration = self.configuration if self.configuration is not None else Configuration.get_default()
        return self._policies.get(configuration)

    def _attempts(self, request: WireRequest, policy: Optional[RetryPolicy]) -> Attempts:
        chosen = policy if policy is not None else self.retry_policy()
        return chosen.attempts(request.method, request.url, request.headers)

    def _record(self, sent: WireRequest, content: bytes) -> Request:
        request = Request(sent.method, sent.url, sent.headers, content)
        self.requests.append(request)
        return request

    def _wait(self, seconds: float) -> bool:
        """Record a wait; True when it is to be slept."""
        self.waits.append(seconds)
        return self._sleep

    @staticmethod
    def _checked(answer: object, transport: str) -> Response:
        if isinstance(answer, Response):
            return answer
        if inspect.isawaitable(answer):
            if inspect.iscoroutine(answer):
                answer.close()  # never awaited: no "coroutine was never awaited" warning
            raise ApiTypeError(f"the handler of {transport} returned an awaitable: use AsyncMockTransport (asyncio)")
        raise ApiTypeError(
            f"the handler of {transport} must return lakefs_sdk.testing.Response, got {type(answer).__name__}"
        )

    @staticmethod
    def _after_failure(attempts: Attempts, sent: WireRequest, error: OSError) -> float:
        """The wait before another attempt after the handler raised ``error``; raises when there is none."""
        outcome, timed_out = _failure(error)
        wait = attempts.after_failure(outcome, can_resend(sent.body), repr(error))
        if wait is None:
            raise connection_error(sent.method, sent.url, error, outcome, timed_out) from error
        return wait


class MockTransport(_MockBase):
    """A transport for ``ApiClient`` that answers every request with ``handler(request)``, sending nothing.

    :param handler: ``handler(request: Request) -> Response``.
    :param configuration: Whose retry settings apply (give the client's; default: the
        default ``Configuration``'s).
    :param retry_policy: A ``RetryPolicy`` to use instead (``RetryPolicy(0, 0, 0, 0)``: no retries).
    :param sleep: Sleep the waits between retries (default: only record them in ``waits``).
    :param max_connections: What the transport reports as its connections per host.

    Every request is recorded in ``requests``. Responses are ``lakefs_sdk.rest.RESTResponse``
    objects, as the default transport's, so ``_preload_content=False`` bodies stream the same way.

    Example::

        def handler(request: Request) -> Response:
            if request.path == "/repositories/repo/branches/main":
                return Response(200, json={"id": "main", "commit_id": "c1"})
            return Response(404, json={"message": "not found"})

        transport = MockTransport(handler)
        api = BranchesApi(ApiClient(Configuration(host="http://lakefs.test/api/v1"), transport=transport))
        assert api.get_branch("repo", "main").commit_id == "c1"
        assert transport.requests[0].method == "GET"
    """

    def __init__(
        self,
        handler: Handler,
        *,
        configuration: Optional[Configuration] = None,
        retry_policy: Optional[RetryPolicy] = None,
        sleep: bool = False,
        max_connections: int = 4,
    ) -> None:
        super().__init__(configuration, retry_policy, sleep, max_connections)
        self.handler = handler

    def send(
        self,
        request: WireRequest,
        *,
        timeout: Optional[Timeouts] = None,
        preload_content: bool = True,
        policy: Optional[RetryPolicy] = None,
    ) -> RESTResponse:
        """Answer ``request`` with the handler, retrying as the policy says; return a ``RESTResponse``."""
        attempts = self._attempts(request, policy)
        while True:
            seen = self._record(request, _read_body(request.body))
            try:
                answer = self._checked(self.handler(seen), "MockTransport")
            except OSError as error:
                wait = self._after_failure(attempts, request, error)
            else:
                retry = attempts.after_response(answer.status_code, answer.headers, can_resend(request.body))
                if retry is None:
                    return RESTResponse(_urllib3_response(answer, preload_content), attempts.retries)
                wait = retry
            if self._wait(wait):
                attempts.policy.sleep(wait)

    def close(self) -> None:
        """Count the close (a mock holds no connections)."""
        self.closed += 1


class AsyncMockTransport(_MockBase):
    """A transport for ``AsyncApiClient`` that answers every request with ``handler(request)``, sending nothing.

    As :class:`MockTransport`; ``handler`` may also be a coroutine function. Responses are
    ``lakefs_sdk.aio.rest.AsyncRESTResponse`` objects, as the default transport's: a body
    left unread is read with ``await read()``, ``async for chunk in iter_bytes()`` or
    ``await write_to(target)``.

    Example::

        async def handler(request: Request) -> Response:
            return Response(200, json={"id": "main", "commit_id": "c1"})

        async with AsyncApiClient(configuration, transport=AsyncMockTransport(handler)) as client:
            ref = await aio.BranchesApi(client).get_branch("repo", "main")
    """

    def __init__(
        self,
        handler: AsyncHandler,
        *,
        configuration: Optional[Configuration] = None,
        retry_policy: Optional[RetryPolicy] = None,
        sleep: bool = False,
        max_connections: int = 4,
    ) -> None:
        super().__init__(configuration, retry_policy, sleep, max_connections)
        self.handler = handler

    async def send(
        self,
        request: WireRequest,
        *,
        timeout: Optional[Timeouts] = None,
        preload_content: bool = True,
        policy: Optional[RetryPolicy] = None,
    ) -> AsyncRESTResponse:
        """Answer ``request`` with the handler, retrying as the policy says; return an ``AsyncRESTResponse``."""
        from lakefs_sdk.aio.rest import AsyncRESTResponse  # needs aiohttp: only an asyncio caller gets here

        attempts = self._attempts(request, policy)
        while True:
            seen = self._record(request, await _read_async_body(request.body))
            try:
                answer = self.handler(seen)
                if inspect.isawaitable(answer):
                    answer = await answer
                answer = self._checked(answer, "AsyncMockTransport")
            except OSError as error:
                wait = self._after_failure(attempts, request, error)
            else:
                retry = attempts.after_response(answer.status_code, answer.headers, can_resend(request.body))
                if retry is None:
                    fake = _FakeAiohttpResponse(answer)
                    body = answer.content if preload_content else None  # as aiohttp hands it over
                    return AsyncRESTResponse(cast("ClientResponse", fake), attempts.retries, body)
                wait = retry
            if self._wait(wait):
                await attempts.policy.sleep_async(wait)

    async def close(self) -> None:
        """Count the close (a mock holds no connections)."""
        self.closed += 1


# -- request bodies --------------------------------------------------------------------------


def _read_body(body: object) -> bytes:
    """The whole of a sync request body, read as the urllib3 transport would send it."""
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, UploadBody):
        return b"".join(body.iterate())
    raise ApiTypeError(f"MockTransport cannot read a request body of type {type(body).__name__}")


async def _read_async_body(body: object) -> bytes:
    """The whole of an asyncio request body, read as the aiohttp transport would send it."""
    from lakefs_sdk.aio._body import AsyncUpload

    if isinstance(body, UploadBody):
        body = AsyncUpload(body)
    if isinstance(body, AsyncUpload):
        return b"".join([chunk async for chunk in body.stream(_INLINE)])
    return _read_body(body)


class _InlineExecutor(Executor):
    """Runs what it is given at once, in the caller's thread: a mock reads an upload without threads."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            future.set_exception(error)
        return future


_INLINE = _InlineExecutor()


def _failure(error: OSError) -> Tuple[str, bool]:
    """What a handler's ``OSError`` plays: the outcome for ``Attempts``, and whether it timed out."""
    if isinstance(error, ConnectionRefusedError):
        return NOT_SENT, False
    return MAYBE_SENT, isinstance(error, TimeoutError)


# -- responses -------------------------------------------------------------------------------


def _urllib3_response(answer: Response, preload_content: bool) -> urllib3.HTTPResponse:
    """The answer as urllib3 would have read it off a socket (``preload_content``: read whole now)."""
    return urllib3.HTTPResponse(
        body=io.BytesIO(answer.content),
        headers=answer.headers,
        status=answer.status_code,
        reason=answer.reason,
        preload_content=preload_content,
        decode_content=True,
    )


class _FakeStream:
    """The ``content`` of an aiohttp response, over bytes."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    async def read(self, n: int = -1) -> bytes:
        return self._data.read(n if n >= 0 else None)

    async def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        while True:
            chunk = self._data.read(n)
            if not chunk:
                return
            yield chunk
            await asyncio.sleep(0)  # a real stream yields to the loop between chunks


class _FakeAiohttpResponse:
    """The part of ``aiohttp.ClientResponse`` that ``AsyncRESTResponse`` uses, over a mock's answer.

    Duck-typed (hence the ``cast`` where it is handed over): ``AsyncRESTResponse`` reads
    ``status``, ``reason``, ``headers``, ``content.read``/``iter_chunked``, ``read``,
    ``release`` and ``close``, and nothing else of it.
    """

    def __init__(self, answer: Response) -> None:
        self.status = answer.status_code
        self.reason = answer.reason
        self.headers = answer.headers
        self.content = _FakeStream(answer.content)
        self.released = False

    async def read(self) -> bytes:
        return await self.content.read()

    def release(self) -> None:
        self.released = True

    def close(self) -> None:
        self.released = True
