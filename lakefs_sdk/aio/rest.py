"""asyncio HTTP transport: one aiohttp session per ``AsyncApiClient``, with the sync transport's rules.

``AsyncRESTClientObject.send`` has the shape of ``lakefs_sdk.rest.RESTClientObject.send``
and the same behaviour: the same ``RetryPolicy`` decides what is retried and how long to
wait (``Retry-After`` included), the same timeouts apply (``connect_timeout`` to make a
connection, ``read_timeout`` for each read), failures become the same
``ApiConnectionError`` / ``ApiTimeoutError`` with the same masked messages, and a body
that cannot be sent whole again is never retried. Only the library differs.

``AsyncRESTResponse`` is the async image of ``RESTResponse``: ``data`` once read (always,
unless the body was left unread on purpose), else ``await read()``, ``async for chunk in
response.iter_bytes()`` or ``await write_to(path)``; headers are urllib3's
``HTTPHeaderDict``, as in the sync response.

Cancellation: a call cancelled while it waits closes the connection it held (an unread
response is never put back into the pool), so the pool stays usable for other tasks.

Event loops: a session belongs to the loop it was made in. The transport makes one on
first use in the running loop, and a new one when it finds itself used in another loop
(successive ``asyncio.run`` calls on one client, ``AsyncApiClient.get_default()`` in
several scripts' mains). The old loop's session cannot be closed from the new loop: if
the old loop is still running (in another thread) its session is closed there; else it
is detached and its connections closed from the new loop, their sockets freed when
collected. After ``fork()`` the child makes its own session, and never touches the
parent's.

What does not wait on I/O (retry decisions, timeouts, errors, logs, atomic files) is the
neutral kit's (``lakefs_sdk._transport``, ``_retry``, ``_atomic_file``): this module
only sends.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, AsyncIterator, Callable, List, Mapping, Optional, Tuple, Union

try:
    import aiohttp
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("lakefs_sdk.aio needs aiohttp: pip install 'lakefs-sdk[aio]'") from error
from urllib3 import HTTPHeaderDict
from yarl import URL

from lakefs_sdk import _process
from lakefs_sdk import _transport as kit
from lakefs_sdk._atomic_file import AtomicFile
from lakefs_sdk._redact import install_log_redaction
from lakefs_sdk._request import Request
from lakefs_sdk._retry import MAYBE_SENT, NOT_SENT, RETRY_STATUSES, TLS_FAILED, Attempts, PolicyCache, RetryPolicy
from lakefs_sdk._upload import UploadBody
from lakefs_sdk.aio._body import AsyncUpload
from lakefs_sdk.configuration import Configuration
from lakefs_sdk.exceptions import ApiConnectionError, ApiValueError

logger = logging.getLogger("lakefs_sdk")

AsyncRequestBody = Union[None, bytes, UploadBody, AsyncUpload]

# Worker threads reading upload files and writing downloads, per client.
IO_THREADS = 4
# Sessions a forked process inherited (see AsyncRESTClientObject.session).
_INHERITED: List[Any] = []
# What aiohttp raises when a request gets no (complete) response.
_TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
# Headers aiohttp would add to a request lacking them (``Accept: */*``, a guessed
# ``Content-Type``), which urllib3 never sends; see ``_auto_headers_to_skip``.
_AUTO_HEADERS = ("Accept", "Content-Type")
_METHODS_WITH_BODY = frozenset({"PATCH", "POST", "PUT"})
_NO_OPTIONS: Mapping[str, Any] = {}


class AsyncRESTResponse:
    """An HTTP response of the asyncio transport: ``status``, ``reason``, ``headers`` and the body.

    ``data`` is the whole body when it was read (every response but one requested with
    ``_preload_content=False`` or ``*_without_preload_content``); otherwise read it with
    ``await read()``, stream it with ``async for chunk in iter_bytes()`` or write it with
    ``await write_to(target)``. Use ``async with response:`` to release the connection.
    """

    __slots__ = ("_body", "_headers", "_io", "reason", "response", "retries", "status")

    def __init__(
        self, response: aiohttp.ClientResponse, retries: int = 0, body: Optional[bytes] = None, io: Any = None
    ) -> None:
        self.response = response
        self.status: int = response.status
        self.reason: Optional[str] = response.reason
        self.retries = retries
        self._headers: Optional[HTTPHeaderDict] = None
        self._body = body
        self._io = io

    @property
    def headers(self) -> HTTPHeaderDict:
        """Response headers, a repeated header with all its values (built when first asked for)."""
        if self._headers is None:
            self._headers = HTTPHeaderDict(list(self.response.headers.items()))
        return self._headers

    @property
    def aiohttp_response(self) -> aiohttp.ClientResponse:
        """The underlying aiohttp response."""
        return self.response

    @property
    def data(self) -> bytes:
        """The whole body; for a response whose body was left unread, ``await read()`` first."""
        if self._body is None:
            raise ApiValueError("the body of this response has not been read: use `await response.read()` first")
        return self._body

    def getheaders(self) -> HTTPHeaderDict:
        """Response headers (upstream name)."""
        return self.headers

    def getheader(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """One response header, or ``default``."""
        return self.headers.get(name, default)

    async def read(self, amt: Optional[int] = None) -> bytes:
        """Read up to ``amt`` bytes of the body, or all of it (then kept as ``data``) when None."""
        if amt is None:
            if self._body is None:
                try:
                    self._body = await self.response.read()
                except _TRANSPORT_ERRORS as error:
                    self.close()
                    raise kit.body_interrupted(error, isinstance(error, asyncio.TimeoutError)) from error
            return self._body
        try:
            return await self.response.content.read(amt)
        except _TRANSPORT_ERRORS as error:
            self.close()
            raise kit.body_interrupted(error, isinstance(error, asyncio.TimeoutError)) from error

    async def iter_bytes(self, chunk_size: int = kit.DOWNLOAD_CHUNK_SIZE) -> AsyncIterator[bytes]:
        """Yield the body in chunks of at most ``chunk_size`` bytes, then release the connection.

        A connection lost mid-body raises ``ApiConnectionError`` (``ApiTimeoutError`` on a stall).
        Leaving the loop early (``break``, an exception, cancellation) closes the connection.
        """
        try:
            if self._body is not None:
                for offset in range(0, len(self._body), chunk_size):
                    yield self._body[offset : offset + chunk_size]
                return
            try:
                async for chunk in self.response.content.iter_chunked(chunk_size):
                    yield chunk
            except _TRANSPORT_ERRORS as error:
                raise kit.body_interrupted(error, isinstance(error, asyncio.TimeoutError)) from error
        finally:
            self.release_conn()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.iter_bytes()

    async def write_to(
        self,
        target: Union[str, os.PathLike[str], IO[bytes]],
        *,
        progress: Optional[kit.Progress] = None,
        chunk_size: int = kit.DOWNLOAD_CHUNK_SIZE,
    ) -> int:
        """Stream the body into a binary file object or a path; return the byte count.

        As ``RESTResponse.write_to``: a path is written atomically (a new file in its folder
        becomes the target only when complete and as long as announced; missing folders
        are created), and
        ``progress(bytes_done, bytes_total)`` is called after each chunk. Writes run in a
        worker thread, so a slow disk does not stall the event loop.
        """
        total = kit.expected_length(self.headers)
        if not isinstance(target, (str, os.PathLike)):
            return await self._copy_to(target.write, total, progress, chunk_size)
        atomic = await self._run(AtomicFile, target)
        try:
            written = await self._copy_to(atomic.write, total, progress, chunk_size)
            await self._run(atomic.commit, self.status, written, total)
            return written
        except BaseException:
            atomic.discard()
            raise

    async def _copy_to(
        self, write: Callable[[bytes], object], total: Optional[int], progress: Optional[kit.Progress], chunk_size: int
    ) -> int:
        written = 0
        async for chunk in self.iter_bytes(chunk_size):
            await self._run(write, chunk)
            written += len(chunk)
            if progress is not None:
                progress(written, total)
        return written

    async def _run(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._io, function, *args)

    def release_conn(self) -> None:
        """Return the connection to the pool (or close it, when the body was not read to its end)."""
        self.response.release()

    def close(self) -> None:
        """Close the response; an unread body is discarded with its connection."""
        self.response.close()

    async def __aenter__(self) -> AsyncRESTResponse:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.release_conn()

    def __repr__(self) -> str:
        return f"<AsyncRESTResponse status={self.status} reason={self.reason!r}>"


class AsyncRESTClientObject:
    """Owns the aiohttp session (its connection pool) and sends requests with retries.

    At most ``Configuration.connection_pool_maxsize`` requests are in flight per host at a
    time; more wait for a free connection (that wait is not part of ``connect_timeout``).
    One session per event loop (see the module docstring).
    """

    def __init__(self, configuration: Configuration, maxsize: Optional[int] = None) -> None:
        self.configuration = configuration
        install_log_redaction()
        self.maxsize = maxsize or configuration.connection_pool_maxsize or 4
        self.ssl_context = _ssl_context(configuration)
        if not configuration.verify_ssl:
            kit.warn_unverified_tls(stacklevel=5)
        self.server_hostname = configuration.tls_server_name or (
            configuration.assert_hostname if isinstance(configuration.assert_hostname, str) else None
        )
        self._session: Optional[aiohttp.ClientSession] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stale: List[aiohttp.BaseConnector] = []  # of sessions left in other loops, to close
        self._io: Optional[ThreadPoolExecutor] = None
        self._forks = _process.forks
        self._policy = PolicyCache()
        self._timeout: Optional[Tuple[Tuple[Optional[float], Optional[float]], aiohttp.ClientTimeout]] = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session of the running event loop, created on first use there."""
        if self._forks != _process.forks:
            # Forked: the parent's session, its loop and worker threads are not this process's.
            # Kept as they are, never used: closing the session needs the parent's loop, and
            # collecting it unclosed would log an error.
            _INHERITED.append((self._session, self._io))
            self._session, self._io, self._forks = None, None, _process.forks
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and self._loop is not loop:
            self._leave(session)
            session = None
        if session is None or session.closed:
            session = self._session = self._open()
            self._loop = loop
        return session

    def _leave(self, session: aiohttp.ClientSession) -> None:
        """Give up the session of another event loop, closing it the only ways that loop allows."""
        old_loop, self._session = self._loop, None
        if old_loop is not None and old_loop.is_running() and not old_loop.is_closed():
            asyncio.run_coroutine_threadsafe(session.close(), old_loop)  # that loop runs in another thread
            return
        connector = session.connector
        session.detach()  # closed for aiohttp (no "Unclosed client session"); its connections: below
        if connector is not None:
            self._stale.append(connector)

    async def _close_stale(self) -> None:
        stale, self._stale = self._stale, []
        for connector in stale:
            try:
                await connector.close()
            except (RuntimeError, OSError):  # pragma: no cover - depends on the aiohttp version
                pass  # the sockets are freed when the connector is collected

    @property
    def max_connections(self) -> int:
        """Connections kept per host: at most this many requests to one host are under way at once."""
        return self.maxsize

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.configuration, self.maxsize))

    def _open(self) -> aiohttp.ClientSession:
        c = self.configuration
        connector = aiohttp.TCPConnector(
            limit=0,
            limit_per_host=self.maxsize,
            ssl=self.ssl_context,
            socket_factory=_socket_factory(c.socket_options) if c.socket_options else None,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            # As urllib3 sends: no cookie jar (credentials are explicit), no compression asked for,
            # no proxy read from the environment (and no media type guessed: see send).
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"Accept-Encoding": "identity"},
            trust_env=False,
            timeout=aiohttp.ClientTimeout(total=None),
        )
        # aiohttp sends an idempotent request once more, silently, when its connection drops
        # (ServerDisconnectedError, ClientOSError): max_retries=0 would not mean no retry, and
        # the retry count would be wrong. The RetryPolicy decides and counts every attempt,
        # as in the sync client. aiohttp 3.9-3.14 has no public switch for this (its own
        # test_utils sets this attribute; aio-libs/aiohttp#10790): set where it exists,
        # checked by tests/unit/test_aio_faults.py::test_dropped_get_is_retried.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        return session

    def io_executor(self) -> ThreadPoolExecutor:
        """The worker threads that read upload files and write downloads, created on first use."""
        if self._io is None:
            self._io = ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="lakefs_sdk.aio")
        return self._io

    async def close(self) -> None:
        """Close the session and its connections, and stop the worker threads."""
        session = self._session
        if session is not None and self._loop is not asyncio.get_running_loop():
            self._leave(session)
            session = None
        self._session = None
        if session is not None:
            await session.close()
        await self._close_stale()
        io, self._io = self._io, None
        if io is not None:
            io.shutdown(wait=False)

    def retry_policy(self) -> RetryPolicy:
        """The retry policy built from the current configuration (rebuilt when it changes)."""
        return self._policy.get(self.configuration)

    def timeout(self, request_timeout: object = None) -> aiohttp.ClientTimeout:
        """The aiohttp timeout for a call: the per-call one if given, else the configured defaults.

        Accepts what ``_request_timeout`` accepts in the sync client (seconds for the whole
        call, a ``(connect, read)`` pair, a ``urllib3.Timeout``), checked by
        ``lakefs_sdk._transport.normalize_timeout``, or an ``aiohttp.ClientTimeout``.
        """
        if isinstance(request_timeout, aiohttp.ClientTimeout):
            return request_timeout
        timeouts = kit.normalize_timeout(request_timeout)
        if timeouts is None:
            return self._configured_timeout()
        return aiohttp.ClientTimeout(total=timeouts.total, sock_connect=timeouts.connect, sock_read=timeouts.read)

    def _configured_timeout(self) -> aiohttp.ClientTimeout:
        """The configured connect and read timeouts, made again only when they change."""
        c = self.configuration
        key = (c.connect_timeout, c.read_timeout)
        cached = self._timeout
        if cached is None or cached[0] != key:
            cached = self._timeout = (key, aiohttp.ClientTimeout(total=None, sock_connect=key[0], sock_read=key[1]))
        return cached[1]

    async def send(
        self,
        request: Request,
        *,
        timeout: Union[kit.Timeouts, aiohttp.ClientTimeout, None] = None,
        preload_content: bool = True,
        policy: Optional[RetryPolicy] = None,
    ) -> AsyncRESTResponse:
        """Send ``request``, retrying transient failures as ``policy`` allows.

        As ``RESTClientObject.send``: ``timeout`` defaults to the configured connect and
        read timeouts, which limit each attempt; a total (``_request_timeout=T``) limits the
        whole call, its retries and the waits between them included. ``policy`` defaults to
        the configuration's retry policy.
        """
        method, url, headers = request.method, request.url, request.headers
        body: AsyncRequestBody = request.body
        given = self._configured_timeout() if timeout is None else self.timeout(timeout)
        if body is not None and isinstance(body, UploadBody):
            body = AsyncUpload(body)
        session = self.session
        if self._stale:
            await self._close_stale()
        c = self.configuration
        target = URL(url, encoded=True)  # sent as built: yarl must not re-quote what Operation encoded
        if c.proxy and c.proxy_headers and target.scheme == "http":
            headers = {**headers, **c.proxy_headers}  # aiohttp sends proxy_headers only to open a tunnel
        # Made when first needed: most calls end after one attempt with no retry to decide.
        attempts = None if given.total is None else self._attempts(policy, request, given.total)
        skip = _auto_headers_to_skip(method, headers, body)
        # Only what differs from aiohttp's defaults: each option costs aiohttp work per request.
        options: Mapping[str, Any] = _NO_OPTIONS
        if c.proxy or self.server_hostname or skip:
            options = {
                "proxy": c.proxy,
                "proxy_headers": c.proxy_headers,
                "server_hostname": self.server_hostname,
                "skip_auto_headers": skip,
            }
        attempt_timeout = given
        debug = logger.isEnabledFor(logging.DEBUG)
        while True:
            started = time.monotonic() if debug else 0.0
            if attempts is not None and attempts.deadline is not None and attempts.retries:
                attempt_timeout = _with_total(given, attempts.attempt_total())  # a retry gets what is left
            payload = body.stream(self.io_executor()) if body is not None and isinstance(body, AsyncUpload) else body
            response: Optional[aiohttp.ClientResponse] = None
            try:
                response = await session.request(
                    method,
                    target,
                    headers=headers,
                    data=payload,
                    timeout=attempt_timeout,
                    allow_redirects=True,
                    max_redirects=kit.MAX_REDIRECTS,
                    **options,
                )
                data = await response.read() if preload_content else None
            except _TRANSPORT_ERRORS as error:
                if response is not None:
                    response.close()
                if isinstance(body, AsyncUpload) and body.failure is not None:
                    raise body.failure from None  # the content failed (unreadable, not bytes), not the network
                outcome = _outcome(error)
                if attempts is None:
                    attempts = self._attempts(policy, request, None)
                wait = attempts.after_failure(outcome, kit.can_resend(body), repr(error))
                if wait is None:
                    raise _no_response(method, url, error, outcome, given) from error
                await attempts.policy.sleep_async(wait)
                continue
            except BaseException:  # cancelled: never leave a half-read connection in the pool
                if response is not None:
                    response.close()
                raise
            if response.status in RETRY_STATUSES:  # no other status is ever retried
                if attempts is None:
                    attempts = self._attempts(policy, request, None)
                wait = attempts.after_response(response.status, response.headers, kit.can_resend(body))
                if wait is not None:
                    if data is None:
                        response.close()  # an unread body: the connection cannot be reused
                    else:
                        response.release()
                    await attempts.policy.sleep_async(wait)
                    continue
            retries = 0 if attempts is None else attempts.retries
            result = AsyncRESTResponse(response, retries, data, self._io)
            if debug:
                elapsed = time.monotonic() - started
                kit.log_exchange(
                    method, url, headers, result.status, result.reason, result.headers, data, retries, elapsed
                )
            return result

    def _attempts(self, policy: Optional[RetryPolicy], request: Request, total: Optional[float]) -> Attempts:
        """The retry state of ``request`` under ``policy`` (default: the configuration's); see ``send``."""
        chosen = policy if policy is not None else self.retry_policy()
        return chosen.attempts(request.method, request.url, request.headers, total)


def _auto_headers_to_skip(method: str, headers: Mapping[str, str], body: object) -> Optional[Tuple[str, ...]]:
    """The headers aiohttp must be told not to add to this request, or None when it would add none.

    aiohttp adds ``Accept: */*`` to a request without one, and a ``Content-Type`` to a body
    (or a POST, PUT or PATCH) without one; urllib3 adds neither, and both clients send the
    same requests. Asking aiohttp to skip them costs it work on every request, so it is
    asked only when a request lacks one of them (a header named in another case counts as
    lacking: skipping then changes nothing).
    """
    if "Accept" in headers and ("Content-Type" in headers or (body is None and method not in _METHODS_WITH_BODY)):
        return None
    return _AUTO_HEADERS


def _outcome(error: BaseException) -> str:
    """What aiohttp's ``error`` says about the request: never sent, TLS failure, or maybe sent."""
    if isinstance(error, (aiohttp.ClientSSLError, ssl.SSLError)) or "CERTIFICATE" in str(error).upper():
        return TLS_FAILED
    if isinstance(error, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)):
        return NOT_SENT  # no connection was made (refused, DNS, connect timeout)
    return MAYBE_SENT


def _no_response(
    method: str, url: str, error: BaseException, outcome: str, given: aiohttp.ClientTimeout
) -> ApiConnectionError:
    """The exception for the last attempt's ``error``, a timeout worded by the ``given`` timeout."""
    if isinstance(error, asyncio.TimeoutError):
        if isinstance(error, aiohttp.ConnectionTimeoutError):
            phase: Optional[str] = kit.CONNECT
        elif isinstance(error, aiohttp.ServerTimeoutError):
            phase = kit.READ  # sock_read ran out (SocketTimeoutError)
        else:
            phase = None  # the total ran out
        connect = given.sock_connect if given.sock_connect is not None else given.connect
        return kit.connection_error(
            method, url, error, outcome, True, kit.Timeouts(connect, given.sock_read, given.total), phase
        )
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return kit.connection_error(method, url, error.certificate_error, outcome, False)
    if isinstance(error, aiohttp.ClientConnectorError):
        # Its text names the connector's TLS setting ("ssl:default" for a plain-http host).
        return kit.connection_error(method, url, error.os_error, outcome, False)
    return kit.connection_error(method, url, error, outcome, False)


def _with_total(timeout: aiohttp.ClientTimeout, total: Optional[float]) -> aiohttp.ClientTimeout:
    """``timeout`` with another ``total`` (what is left of the call's)."""
    return aiohttp.ClientTimeout(
        total=total,
        connect=timeout.connect,
        sock_read=timeout.sock_read,
        sock_connect=timeout.sock_connect,
        ceil_threshold=timeout.ceil_threshold,
    )


def _ssl_context(c: Configuration) -> ssl.SSLContext:
    """The TLS settings of ``c`` (CA bundle or data, client certificate, verification) as a context."""
    cadata = c.ca_cert_data
    if isinstance(cadata, bytes) and cadata.lstrip().startswith(b"-----"):
        cadata = cadata.decode("ascii")  # PEM given as bytes (ssl reads bytes as DER)
    if c.verify_ssl:
        context = ssl.create_default_context(cafile=c.ssl_ca_cert, cadata=cadata)
        if c.assert_hostname is False:
            context.check_hostname = False
    else:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if c.cert_file:
        context.load_cert_chain(c.cert_file, c.key_file)
    return context


def _socket_factory(options: List[Tuple[int, int, int]]) -> Any:
    """An aiohttp socket factory applying ``Configuration.socket_options`` to every connection."""

    def make(addr_info: Any) -> socket.socket:
        family, type_, proto = addr_info[0], addr_info[1], addr_info[2]
        sock = socket.socket(family=family, type=type_, proto=proto)
        for level, name, value in options:
            sock.setsockopt(level, name, value)
        return sock

    return make
