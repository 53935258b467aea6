"""The transport kit: what both transports share, and what a transport must offer a client.

Neutral: no I/O here. The urllib3 transport (``lakefs_sdk.rest``) and the aiohttp one
(``lakefs_sdk.aio.rest``) import this module and never each other, so both normalise
timeouts, judge bodies, fail, log and warn alike.

**The transport protocol.** ``ApiClient(configuration, transport=...)`` takes any object
with the shape of :class:`Transport`; ``AsyncApiClient(configuration, transport=...)`` any
with the shape of :class:`AsyncTransport`. A transport sends one :class:`~lakefs_sdk._request.Request`
(method, complete URL, headers, body) and returns a :class:`Response`; the client prepared
the request (arguments checked, auth added) and decodes the response or raises the typed
``ApiException`` for its status, whoever sent it. A fake transport in a test therefore sees
exactly what would go on the wire, and its answers are read as the server's would be.
"""

from __future__ import annotations

import logging
import os
import ssl
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Protocol, runtime_checkable

import urllib3

from lakefs_sdk._redact import redact_headers, redact_text, redact_url
from lakefs_sdk._request import Request
from lakefs_sdk._retry import MIN_ATTEMPT_SECONDS, TLS_FAILED
from lakefs_sdk.exceptions import ApiConnectionError, ApiTimeoutError, ApiValueError

logger = logging.getLogger("lakefs_sdk")

DOWNLOAD_CHUNK_SIZE = 1024 * 1024
MAX_REDIRECTS = 10
LOGGED_BODY_CHARS = 1000

Progress = Callable[[int, Optional[int]], None]
"""``progress(bytes_done, bytes_total_or_None)``, called as a body streams."""


# -- what a transport offers -----------------------------------------------------------------


@runtime_checkable
class Response(Protocol):
    """A transport's response, as the clients read it.

    ``headers`` is looked up case-insensitively; ``data`` is the whole body (for a response
    sent with ``preload_content=False``, reading it may wait on the network, or, in the
    asyncio transport, need ``await read()`` first); ``retries`` is how many times the
    transport sent the request again before this answer.
    """

    @property
    def status(self) -> int: ...

    @property
    def reason(self) -> Optional[str]: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def data(self) -> bytes: ...

    @property
    def retries(self) -> int: ...

    def release_conn(self) -> None:
        """Give the connection back (the client calls it on a response it drops unread)."""


@runtime_checkable
class AsyncResponse(Response, Protocol):
    """A response of an asyncio transport: :class:`Response`, and its body read by awaiting."""

    async def read(self) -> bytes:
        """The whole body (then also ``data``)."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds allowed for one call: to connect, for each read, and for the whole call.

    None means no limit of that kind. Built by :func:`normalize_timeout`; each transport
    turns it into its library's timeout object.
    """

    connect: Optional[float] = None
    read: Optional[float] = None
    total: Optional[float] = None


class Transport(Protocol):
    """What ``ApiClient`` needs from a transport (``lakefs_sdk.rest.RESTClientObject`` by default).

    ``send`` sends ``request`` and returns the answer, whatever its status: raising for an
    error status is the client's job. ``timeout`` None means the transport's configured
    timeouts. With ``preload_content=False`` the body may be left unread (streamed by the
    caller). Failures without a response raise ``ApiConnectionError`` / ``ApiTimeoutError``.
    """

    def send(self, request: Request, *, timeout: Optional[Timeouts] = None, preload_content: bool = True) -> Response:
        """Send ``request``; return its response."""

    def close(self) -> None:
        """Close pooled connections (the transport may be used again afterwards)."""

    @property
    def max_connections(self) -> int:
        """Requests to one host the transport sends at once (bulk helpers size their workers by it)."""


class AsyncTransport(Protocol):
    """What ``AsyncApiClient`` needs from a transport (``lakefs_sdk.aio.rest.AsyncRESTClientObject`` by default).

    As :class:`Transport`, with coroutines. ``request.body`` may also be an asyncio upload
    (``lakefs_sdk.aio._body.AsyncUpload``) whose ``stream(executor)`` yields the chunks.
    """

    async def send(
        self, request: Request, *, timeout: Optional[Timeouts] = None, preload_content: bool = True
    ) -> AsyncResponse:
        """Send ``request``; return its response."""

    async def close(self) -> None:
        """Close pooled connections."""

    @property
    def max_connections(self) -> int:
        """Requests to one host the transport sends at once."""


# -- timeouts --------------------------------------------------------------------------------


def normalize_timeout(value: object, what: str = "_request_timeout") -> Optional[Timeouts]:
    """A per-call timeout as :class:`Timeouts`; ``ApiValueError`` for anything malformed.

    Accepts None (the configured timeouts), positive seconds for the whole call, a
    ``(connect, read)`` pair of positive seconds (either may be None), a ``urllib3.Timeout``
    or a ``Timeouts``. Refuses bools, zero or negative numbers, NaN, and tuples of any other
    length, such as ``(5,)``: before anything is sent, the same way for both transports.
    """
    if value is None or isinstance(value, Timeouts):
        return value
    if isinstance(value, urllib3.Timeout):
        # The fields as given: its read_timeout property needs a started timer when total is set.
        return Timeouts(_seconds(value._connect), _seconds(value._read), _seconds(value.total))
    if isinstance(value, tuple):
        if len(value) == 2 and all(n is None or _positive(n) for n in value):
            connect, read = (None if n is None else float(n) for n in value)
            return Timeouts(connect=connect, read=read)
    elif _positive(value):
        assert isinstance(value, (int, float))
        return Timeouts(total=float(value))
    raise ApiValueError(f"{what} must be a positive number of seconds or a (connect, read) pair, got {value!r}")


def remaining(timeout: Optional[Timeouts], started: float) -> Optional[Timeouts]:
    """``timeout`` for a request sent again within the same call (after a token refresh).

    A total is what is left of it since ``started`` (``time.monotonic()`` when the call
    began; at least ``MIN_ATTEMPT_SECONDS``); other timeouts are per attempt and stay.
    """
    if timeout is None or timeout.total is None:
        return timeout
    left = max(timeout.total - (time.monotonic() - started), MIN_ATTEMPT_SECONDS)
    return Timeouts(timeout.connect, timeout.read, left)


def _positive(value: object) -> bool:
    # NaN fails `value > 0`; a bool is an int but never meant as seconds.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _seconds(value: object) -> Optional[float]:
    """A urllib3 timeout field as seconds (its "not set" sentinel and None are None)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# -- bodies ----------------------------------------------------------------------------------


def can_resend(body: object) -> bool:
    """Whether ``body`` can be sent whole once more: no body, bytes, or an upload that can be re-read.

    An upload body (sync ``UploadBody`` or its asyncio image) says so in ``can_resend``.
    """
    if body is None or isinstance(body, (bytes, bytearray)):
        return True
    return bool(getattr(body, "can_resend", False))


def expected_length(headers: Mapping[str, str]) -> Optional[int]:
    """The body length a response announced, or None (unknown, or the body is decoded on the way)."""
    if headers.get("Content-Encoding"):
        return None  # the transport decodes the body; the announced length is the encoded one
    length = headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


# -- failures --------------------------------------------------------------------------------


CONNECT = "connect"
READ = "read"


def connection_error(
    method: str,
    url: str,
    error: BaseException,
    outcome: str,
    timed_out: bool,
    given: Optional[Timeouts] = None,
    phase: Optional[str] = None,
) -> ApiConnectionError:
    """The exception for a request that got no response, its URL and reason masked.

    ``error`` is the library's error closest to the cause (an ``OSError`` is worded by its
    errno). A timeout is worded by the timeouts the call was ``given`` (not by what its
    library had left of them when it gave up) and the ``phase`` (``CONNECT``, ``READ`` or
    None) that ran out. The client names the call when it catches the exception.
    """
    what = f"{method} {redact_url(url)}"
    if timed_out:
        return ApiTimeoutError(f"{what}: timed out ({describe_timeout(given, phase)})")
    detail = redact_text(failure_text(error))
    if outcome == TLS_FAILED:
        return ApiConnectionError(f"{what}: TLS failure ({detail})")
    return ApiConnectionError(f"{what}: connection failed ({detail})")


def describe_timeout(given: Optional[Timeouts], phase: Optional[str]) -> str:
    """Which of the ``given`` timeouts ran out, in words, e.g. ``no data within the read timeout of 0.2 s``."""
    if given is None:
        return "no response in time"
    total = given.total
    if phase == CONNECT and given.connect is not None and (total is None or given.connect < total):
        return f"no connection within the connect timeout of {given.connect:g} s"
    if phase == READ and given.read is not None and (total is None or given.read < total):
        return f"no data within the read timeout of {given.read:g} s"
    if total is not None:
        return f"the call's total timeout of {total:g} s ran out, retries included"
    return "no response in time"


def failure_text(error: BaseException) -> str:
    """What went wrong, without the library's wrapping: an ``OSError`` as ``[Errno 111] Connection refused``."""
    if isinstance(error, OSError) and not isinstance(error, ssl.SSLError):
        number = error.errno
        if isinstance(number, int) and number > 0:
            return f"[Errno {number}] {os.strerror(number)}"
    return str(error)


def body_interrupted(error: BaseException, timed_out: bool) -> ApiConnectionError:
    """The exception for a response body that stopped arriving while it was streamed."""
    failure = ApiTimeoutError if timed_out else ApiConnectionError
    detail = redact_text(failure_text(error)) or ("timed out" if timed_out else type(error).__name__)
    return failure(f"response body interrupted: {detail}")


def warn_unverified_tls(stacklevel: int) -> None:
    """The one warning a client with ``verify_ssl=False`` gives, when it is created."""
    warnings.warn(
        "TLS certificate verification is disabled (Configuration.verify_ssl=False): "
        "the server's identity is not checked.",
        stacklevel=stacklevel,
    )


# -- logging ---------------------------------------------------------------------------------


def log_exchange(
    method: str,
    url: str,
    headers: Mapping[str, str],
    status: int,
    reason: Optional[str],
    response_headers: Mapping[str, str],
    body: Optional[bytes],
    retries: int,
    elapsed: float,
) -> None:
    """Log (DEBUG) one request and its response, credentials masked; ``body`` when it was read."""
    logger.debug(
        "%s %s -> %s %s in %.1f ms (%d retries); request headers %s; response headers %s",
        method,
        redact_url(url),
        status,
        reason,
        elapsed * 1000,
        retries,
        redact_headers(headers),
        redact_headers(response_headers),
    )
    if body:
        text = body[:LOGGED_BODY_CHARS].decode("utf-8", errors="replace")
        logger.debug("response body: %s", redact_text(text))
