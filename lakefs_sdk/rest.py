"""HTTP transport: one urllib3 pool per ``ApiClient``, retries, timeouts, streamed bodies.

``RESTClientObject.send`` is the only place a request goes out. It retries what
:mod:`lakefs_sdk._retry` allows, turns transport failures into ``ApiConnectionError`` /
``ApiTimeoutError`` and never retries a body it cannot send whole again.
``RESTResponse`` wraps the urllib3 response; when its body was not preloaded it can be
read in chunks, iterated, or written to a file or path (atomically) without holding it
in memory.

Thread safety: the pool is urllib3's ``PoolManager``, safe to share between threads; it
keeps at most ``Configuration.connection_pool_maxsize`` connections per host. Processes:
``ApiClient`` gives each process its own ``RESTClientObject`` (after unpickling, after
``fork()``); one pickled by itself comes back with a new pool, too.

The asyncio transport (``lakefs_sdk.aio.rest``) has the same ``send()`` shape; both take
what does not wait on I/O from the neutral kit (``lakefs_sdk._transport``, ``_retry``,
``_atomic_file``), so both retry, log, fail and write files alike. This module only sends.
"""

from __future__ import annotations

import logging
import os
import ssl
import time
from typing import IO, Any, Callable, Dict, Iterator, Mapping, Optional, Tuple, Union

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)

from lakefs_sdk._atomic_file import AtomicFile
from lakefs_sdk._pool_manager import PoolManager
from lakefs_sdk._redact import install_log_redaction
from lakefs_sdk._request import Request
from lakefs_sdk._retry import MAYBE_SENT, NOT_SENT, RETRY_STATUSES, TLS_FAILED, Attempts, PolicyCache, RetryPolicy
from lakefs_sdk._transport import (
    CONNECT,
    DOWNLOAD_CHUNK_SIZE,
    MAX_REDIRECTS,
    READ,
    Progress,
    Timeouts,
    body_interrupted,
    can_resend,
    connection_error,
    expected_length,
    log_exchange,
    normalize_timeout,
    warn_unverified_tls,
)
from lakefs_sdk._upload import UploadBody
from lakefs_sdk.configuration import Configuration
from lakefs_sdk.exceptions import ApiConnectionError, ApiValueError, exception_class_for

__all__ = ["DOWNLOAD_CHUNK_SIZE", "DRAIN_LIMIT", "RESTClientObject", "RESTResponse", "RequestBody"]

logger = logging.getLogger("lakefs_sdk")

# Unread body bytes worth reading to keep a connection for reuse, rather than closing it.
DRAIN_LIMIT = 64 * 1024

RequestBody = Union[None, bytes, UploadBody]


class RESTResponse:
    """An HTTP response: ``status``, ``reason``, ``headers`` and the body.

    The body is ``data`` (bytes, read on first access) or, for a response requested
    without preloading, can be streamed with :meth:`iter_bytes`, :meth:`read` or
    :meth:`write_to`. Anything else is passed through to the urllib3 response.
    Use it as a context manager to return the connection to the pool.
    """

    def __init__(self, response: urllib3.BaseHTTPResponse, retries: int = 0, body: Optional[bytes] = None) -> None:
        self.response = response
        self.status: int = response.status
        self.reason: Optional[str] = response.reason
        self.retries = retries
        self._body = body  # the body when the transport read it itself (before a deadline)

    @property
    def urllib3_response(self) -> urllib3.BaseHTTPResponse:
        """The underlying urllib3 response (upstream name)."""
        return self.response

    @property
    def data(self) -> bytes:
        """The whole body (read now if it was not preloaded)."""
        body = self._body
        return self.response.data if body is None else body

    @property
    def headers(self) -> urllib3.HTTPHeaderDict:
        """Response headers, looked up case-insensitively."""
        return self.response.headers

    def getheaders(self) -> urllib3.HTTPHeaderDict:
        """Response headers (upstream name)."""
        return self.response.headers

    def getheader(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """One response header, or ``default``."""
        return self.response.headers.get(name, default)

    def read(self, amt: Optional[int] = None) -> bytes:
        """Read up to ``amt`` bytes of the body (all of it when None)."""
        return self.response.read(amt)

    def iter_bytes(self, chunk_size: int = DOWNLOAD_CHUNK_SIZE) -> Iterator[bytes]:
        """Yield the body in chunks of at most ``chunk_size`` bytes, then release the connection.

        A connection lost mid-body raises ``ApiConnectionError`` (``ApiTimeoutError`` on a stall).
        """
        response = self.response
        try:
            remaining = getattr(response, "length_remaining", None)
            if remaining is not None and remaining <= chunk_size and not response.headers.get("Content-Encoding"):
                data = response.read()  # all of a short body in one read, the cheap path of many small files
                if data:
                    yield data
            else:
                yield from response.stream(chunk_size)
        except (HTTPError, OSError) as error:
            raise body_interrupted(error, isinstance(error, ReadTimeoutError)) from error
        finally:
            self.release_conn()

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_bytes()

    def write_to(
        self,
        target: Union[str, os.PathLike[str], IO[bytes]],
        *,
        progress: Optional[Progress] = None,
        chunk_size: int = DOWNLOAD_CHUNK_SIZE,
    ) -> int:
        """Stream the body into a binary file object or a path; return the byte count.

        A path is written atomically: into a new file in its folder (unnamed on Linux, else
        with a temporary name) that becomes the target only once complete and as long as
        ``Content-Length`` announced. Missing folders of the path are created. On any
        failure the target is left untouched; a file-system error (``OSError``) names the
        target. ``progress(bytes_done, bytes_total)`` is called after each chunk
        (``bytes_total`` is None when the length is unknown).
        """
        total = expected_length(self.headers)
        if not isinstance(target, (str, os.PathLike)):
            return self._copy_to(target.write, total, progress, chunk_size)
        atomic = AtomicFile(target)
        try:
            written = self._copy_to(atomic.write, total, progress, chunk_size)
            atomic.commit(self.status, written, total)
            return written
        except BaseException:
            atomic.discard()
            raise

    def _copy_to(
        self, write: Callable[[bytes], object], total: Optional[int], progress: Optional[Progress], chunk_size: int
    ) -> int:
        written = 0
        for chunk in self.iter_bytes(chunk_size):
            write(chunk)
            written += len(chunk)
            if progress is not None:
                progress(written, total)
        return written

    def release_conn(self) -> None:
        """Return the connection to the pool; an unread rest of the body never goes with it.

        A rest of at most ``DRAIN_LIMIT`` announced bytes is read and dropped; a longer or
        unannounced one closes the connection instead (the pool opens a new one when it
        needs it). A pooled connection with unread bytes would answer the next request with
        them.
        """
        response = self.response
        if not response.closed:
            remaining = getattr(response, "length_remaining", None)
            if remaining is not None and remaining <= DRAIN_LIMIT:
                response.drain_conn()
            else:
                response.close()
        response.release_conn()

    def close(self) -> None:
        """Close the response; an unread body is discarded with its connection."""
        self.response.close()

    def __enter__(self) -> RESTResponse:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.release_conn()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.response, name)

    def __repr__(self) -> str:
        return f"<RESTResponse status={self.status} reason={self.reason!r}>"


class RESTClientObject:
    """Owns the urllib3 pool and sends requests with retries.

    It pickles as its configuration and pool sizes: the unpickled one has a pool of its own.
    """

    def __init__(self, configuration: Configuration, pools_size: int = 4, maxsize: Optional[int] = None) -> None:
        self.configuration = configuration
        self._sizes = (pools_size, maxsize)
        install_log_redaction()
        maxsize = maxsize or configuration.connection_pool_maxsize or 4
        self._maxsize = maxsize
        pool_args: Dict[str, Any] = {
            "num_pools": pools_size,
            "maxsize": maxsize,
            "cert_reqs": ssl.CERT_REQUIRED if configuration.verify_ssl else ssl.CERT_NONE,
            "ca_certs": configuration.ssl_ca_cert,
            "ca_cert_data": configuration.ca_cert_data,
            "cert_file": configuration.cert_file,
            "key_file": configuration.key_file,
        }
        if configuration.assert_hostname is not None:
            pool_args["assert_hostname"] = configuration.assert_hostname
        if configuration.tls_server_name:
            pool_args["server_hostname"] = configuration.tls_server_name
        if configuration.socket_options is not None:
            pool_args["socket_options"] = configuration.socket_options
        if not configuration.verify_ssl:
            warn_unverified_tls(stacklevel=5)  # once here, instead of urllib3's warning on every request
        self.pool_manager: urllib3.PoolManager
        if configuration.proxy:
            self.pool_manager = urllib3.ProxyManager(
                proxy_url=configuration.proxy, proxy_headers=configuration.proxy_headers, **pool_args
            )
        else:
            self.pool_manager = PoolManager(**pool_args)
        if not configuration.verify_ssl:
            self.pool_manager.pool_classes_by_scheme = {
                **self.pool_manager.pool_classes_by_scheme,
                "https": _UnverifiedHTTPSConnectionPool,
            }
        self._policy = PolicyCache()
        self._timeout: Optional[Tuple[Tuple[Optional[float], Optional[float]], urllib3.Timeout]] = None
        # urllib3 follows redirects (dropping credentials on a change of host); we retry.
        self._urllib3_retries = urllib3.Retry(
            total=None,
            connect=0,
            read=0,
            status=0,
            other=0,
            redirect=MAX_REDIRECTS,
            raise_on_status=False,
            respect_retry_after_header=False,
        )

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.configuration, *self._sizes))

    def retry_policy(self) -> RetryPolicy:
        """The retry policy built from the current configuration (rebuilt when it changes)."""
        return self._policy.get(self.configuration)

    def timeout(self, request_timeout: object = None) -> urllib3.Timeout:
        """The urllib3 timeout for a call: the per-call one if given, else the configured defaults.

        ``request_timeout`` is what ``_request_timeout`` accepts (checked by
        ``lakefs_sdk._transport.normalize_timeout``: ``ApiValueError`` when malformed).
        """
        if isinstance(request_timeout, urllib3.Timeout):
            return request_timeout
        timeouts = normalize_timeout(request_timeout)
        if timeouts is None:
            c = self.configuration
            key = (c.connect_timeout, c.read_timeout)
            cached = self._timeout
            if cached is None or cached[0] != key:
                cached = self._timeout = (key, urllib3.Timeout(connect=key[0], read=key[1]))
            return cached[1]
        return urllib3.Timeout(connect=timeouts.connect, read=timeouts.read, total=timeouts.total)

    @property
    def max_connections(self) -> int:
        """Connections kept per host: at most this many requests to one host are under way at once."""
        return self._maxsize

    def close(self) -> None:
        """Close the pooled connections; the pool opens new ones if it is used again."""
        self.pool_manager.clear()

    def send(
        self,
        request: Request,
        *,
        timeout: Union[Timeouts, urllib3.Timeout, None] = None,
        preload_content: bool = True,
        policy: Optional[RetryPolicy] = None,
    ) -> RESTResponse:
        """Send ``request``, retrying transient failures as ``policy`` allows.

        ``timeout`` defaults to the configured connect and read timeouts, which limit each
        attempt (as a ``(connect, read)`` pair does); a total (``Timeouts(total=T)``, what
        ``_request_timeout=T`` becomes) limits the whole call: its retries and the waits
        between them stay within ``T`` (see ``lakefs_sdk._retry``). ``policy`` defaults to
        the configuration's retry policy. A failure without a response raises
        ``ApiConnectionError`` (``ApiTimeoutError`` for a timeout, worded by the timeout
        given).
        """
        method, url, headers, body = request.method, request.url, request.headers, request.body
        given = self.timeout(timeout)
        total = given.total
        # Made when first needed: most calls end after one attempt with no retry to decide.
        attempts = self._attempts(policy, request, total) if isinstance(total, (int, float)) else None
        attempt_timeout = given
        deadline = None if attempts is None else attempts.deadline
        # urllib3 applies a total to each read of the body, not to all of them: with a
        # deadline, the body is read here, each read given only the time left.
        preload = preload_content and deadline is None
        data: Optional[bytes] = None
        while True:
            started = time.monotonic()
            if attempts is not None and deadline is not None and attempts.retries:
                attempt_timeout = given.clone()
                attempt_timeout.total = attempts.attempt_total()  # a retry gets what is left of the total
            payload = body.iterate() if isinstance(body, UploadBody) else body
            try:
                response = self._urlopen(
                    method,
                    url,
                    body=payload,
                    headers=headers,
                    retries=self._urllib3_retries,
                    timeout=attempt_timeout,
                    preload_content=preload,
                    assert_same_host=False,
                )
                if deadline is not None and preload_content:
                    data = _read_before(response, deadline)
            except (HTTPError, OSError) as raised:
                error = _root_cause(raised)
                outcome = _outcome(error)
                if attempts is None:
                    attempts = self._attempts(policy, request, None)
                wait = attempts.after_failure(outcome, can_resend(body), repr(error))
                if wait is None:
                    raise _no_response(method, url, error, outcome, given) from raised
                attempts.policy.sleep(wait)
                continue
            if response.status in RETRY_STATUSES:  # no other status is ever retried
                if attempts is None:
                    attempts = self._attempts(policy, request, None)
                wait = attempts.after_response(response.status, response.headers, can_resend(body))
                if wait is not None:
                    response.drain_conn()
                    response.release_conn()
                    attempts.policy.sleep(wait)
                    continue
            retries = 0 if attempts is None else attempts.retries
            if logger.isEnabledFor(logging.DEBUG):
                body_read = (response.data if data is None else data) if preload_content else None
                elapsed = time.monotonic() - started
                log_exchange(
                    method,
                    url,
                    headers,
                    response.status,
                    response.reason,
                    response.headers,
                    body_read,
                    retries,
                    elapsed,
                )
            return RESTResponse(response, retries, data)

    def _attempts(self, policy: Optional[RetryPolicy], request: Request, total: Optional[float]) -> Attempts:
        """The retry state of ``request`` under ``policy`` (default: the configuration's); see ``send``."""
        chosen = policy if policy is not None else self.retry_policy()
        return chosen.attempts(request.method, request.url, request.headers, total)

    def _urlopen(self, method: str, url: str, **kw: Any) -> urllib3.BaseHTTPResponse:
        """One attempt, redirects followed (credentials dropped on a change of host)."""
        manager = self.pool_manager  # may have been replaced by the caller
        if isinstance(manager, PoolManager):
            return manager.open_url(method, url, **kw)
        return manager.urlopen(method, url, redirect=True, **kw)

    def request(
        self,
        method: str,
        url: str,
        query_params: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        body: Any = None,
        post_params: Any = None,
        _preload_content: bool = True,
        _request_timeout: Any = None,
    ) -> RESTResponse:
        """Send a request with the upstream signature; raise ``ApiException`` on error statuses.

        ``body`` may be bytes, str, or a JSON-serializable object (sent as JSON).
        """
        import json

        if post_params:
            raise ApiValueError("post_params are not supported; pass a body")
        timeout = self.timeout(_request_timeout)  # a malformed timeout fails before anything is sent
        request_headers = dict(headers or {})
        payload: RequestBody
        if body is None or isinstance(body, bytes):
            payload = body
        elif isinstance(body, str):
            payload = body.encode("utf-8")
        else:
            payload = json.dumps(body).encode("utf-8")
            request_headers.setdefault("Content-Type", "application/json")
        response = self.send(
            Request(method.upper(), url, request_headers, payload), timeout=timeout, preload_content=_preload_content
        )
        if not 200 <= response.status <= 299:
            raise exception_class_for(response.status)(http_resp=response)
        return response


class _UnverifiedHTTPSConnectionPool(urllib3.HTTPSConnectionPool):
    """HTTPS pool for ``verify_ssl=False``: connects like urllib3's, without its per-request warning."""

    def _validate_conn(self, conn: Any) -> None:
        urllib3.HTTPConnectionPool._validate_conn(self, conn)
        if conn.is_closed:
            conn.connect()


def _root_cause(error: BaseException) -> BaseException:
    """The transport error behind urllib3's ``MaxRetryError`` / ``ProxyError`` wrappers."""
    while isinstance(error, (MaxRetryError, ProxyError)):
        reason = getattr(error, "reason", None) if isinstance(error, MaxRetryError) else error.original_error
        if not isinstance(reason, BaseException):
            break
        error = reason
    return error


def _outcome(error: BaseException) -> str:
    """What urllib3's ``error`` says about the request: never sent, TLS failure, or maybe sent."""
    if isinstance(error, (SSLError, ssl.SSLError)) or "CERTIFICATE" in str(error).upper():
        return TLS_FAILED
    # NewConnectionError subclasses ConnectTimeoutError: both mean no connection was made.
    if isinstance(error, (ConnectTimeoutError, NewConnectionError)):
        return NOT_SENT
    return MAYBE_SENT


def _no_response(
    method: str, url: str, error: BaseException, outcome: str, given: urllib3.Timeout
) -> ApiConnectionError:
    """The exception for the last attempt's ``error``, a timeout worded by the ``given`` timeout."""
    if isinstance(error, ReadTimeoutError):
        return connection_error(method, url, error, outcome, True, normalize_timeout(given), READ)
    if isinstance(error, ConnectTimeoutError) and not isinstance(error, NewConnectionError):
        return connection_error(method, url, error, outcome, True, normalize_timeout(given), CONNECT)
    if isinstance(error, TimeoutError):  # the deadline passed while the body arrived (_read_before)
        return connection_error(method, url, error, outcome, True, normalize_timeout(given), None)
    return connection_error(method, url, _os_cause(error), outcome, False)


def _read_before(response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
    """The whole body of ``response``, each read limited to the time left before ``deadline``.

    Past the deadline, the connection is closed (never pooled with unread bytes) and
    ``TimeoutError`` raised, as a socket that waited too long would.
    """
    connection = getattr(response, "connection", None)
    sock = getattr(connection, "sock", None)
    parts = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            response.close()
            raise TimeoutError("the call's total timeout ran out while the body arrived")
        if sock is not None:
            sock.settimeout(left)
        chunk = response.read1(DOWNLOAD_CHUNK_SIZE)
        if not chunk:
            break
        parts.append(chunk)
    response.release_conn()
    return b"".join(parts)


def _os_cause(error: BaseException) -> BaseException:
    """The operating system's error behind urllib3's failure to connect (its text names an object)."""
    if isinstance(error, NewConnectionError) and isinstance(error.__cause__, OSError):
        return error.__cause__
    return error
