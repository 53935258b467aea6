"""The clients: turn one API method call into one HTTP exchange and its result.

The flow of every call::

    BranchesApi.get_branch(...)               generated: names the Operation, passes arguments
      -> ApiClient.invoke(op, args, options)   parse the options
        -> BaseApiClient._prepare(...)         check arguments; build URL, headers, auth, body
        -> RESTClientObject.send(...)          urllib3, retries, timeouts
      <- BaseApiClient._result(...)            decode the body once in pydantic-core, or raise
                                               the ApiException subclass for the status (_errors)

``BaseApiClient`` (``lakefs_sdk._base_client``) holds everything that does not wait on
I/O: preparing a request and reading a response. ``ApiClient`` (here) and
``lakefs_sdk.aio.AsyncApiClient`` only add a transport and the few steps that wait
(sending, asking a token provider after a 401). The transport is a parameter:
``ApiClient(configuration, transport=...)`` takes anything shaped like
``lakefs_sdk._transport.Transport`` (default: ``lakefs_sdk.rest.RESTClientObject``).

An ``ApiClient`` is safe to share between threads: it holds the connection pool and
configuration, and no per-call state.

Processes: a client pickles (for ``multiprocessing``, Dask, Spark ...) as its settings
alone: the configuration (credentials included), default headers and cookie; its pool,
locks and threads stay behind, and the unpickled client builds its own pool on first use.
A client used in a process ``fork()`` made notices the new process id on its next call and
does the same, never sending on the parent's pooled sockets. A transport given as
``transport=`` is the caller's: it is pickled with the client (pickling fails with the
pickler's error if it cannot be pickled) and kept as it is after ``fork()``.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar, FrozenSet, Generic, Literal, Mapping, Optional, Sequence, cast, overload

from typing_extensions import Self, TypeVar

from lakefs_sdk import _process
from lakefs_sdk._auth import CONFIGURED, token_text
from lakefs_sdk._base_client import USER_AGENT, BaseApiClient, check_picklable
from lakefs_sdk._operation import Operation
from lakefs_sdk._options import DEFAULT_OPTIONS, CallOptions, parse_options
from lakefs_sdk._request import Request, ResultKind
from lakefs_sdk._transport import Transport, remaining
from lakefs_sdk.api_response import ApiResponse
from lakefs_sdk.configuration import Configuration
from lakefs_sdk.exceptions import ApiConnectionError
from lakefs_sdk.rest import RESTClientObject, RESTResponse

__all__ = ["CONFIGURED", "USER_AGENT", "ApiClient", "AsyncResult", "BaseApiClient", "check_picklable", "token_text"]

T = TypeVar("T")
R = TypeVar("R")
TransportT = TypeVar("TransportT", bound=Transport, default=RESTClientObject)


class AsyncResult(Generic[R]):
    """Handle of a call made with ``async_req=True``; ``get()`` waits for its result."""

    def __init__(self, future: Future[R]) -> None:
        self._future = future

    def get(self, timeout: Optional[float] = None) -> R:
        """The call's result; raises what the call raised."""
        return self._future.result(timeout)

    def wait(self, timeout: Optional[float] = None) -> None:
        """Wait until the call has finished (or ``timeout`` seconds passed)."""
        self._future.exception(timeout)

    def ready(self) -> bool:
        """True once the call has finished."""
        return self._future.done()

    def successful(self) -> bool:
        """True if the call finished without raising (``ValueError`` if not finished yet)."""
        if not self._future.done():
            raise ValueError("the call has not finished")
        return self._future.exception() is None


class ApiClient(BaseApiClient, Generic[TransportT]):
    """Sends the requests of all API classes built on it, with one configuration and pool.

    :param configuration: Settings; ``Configuration.get_default()`` when None.
    :param header_name: Name of one extra header sent with every request.
    :param header_value: Value of that header.
    :param cookie: A ``Cookie`` header value sent with every request.
    :param pool_threads: Worker threads for calls made with ``async_req=True``.
    :param transport: (keyword only) What sends the requests: anything shaped like
        ``lakefs_sdk._transport.Transport`` (``send(request, *, timeout, preload_content)``,
        ``close()``, ``max_connections``). Default: a ``RESTClientObject`` (urllib3) built
        from ``configuration``, per process. Either way it is ``rest_client``.

    A client pickles as its settings (see the module docstring): the pickle carries the
    credentials of its configuration, so treat it as a secret. It is used again after
    ``fork()`` without any step of yours: the child builds its own pool. A ``transport``
    you gave is pickled with the client and kept as it is after ``fork()``: making it safe
    to use in a child process is the transport's own job.
    """

    _default: ClassVar[Optional[ApiClient[Any]]] = None
    _PROCESS_LOCAL: ClassVar[FrozenSet[str]] = BaseApiClient._PROCESS_LOCAL | {"_rest", "_forks", "_executor", "_lock"}

    def __init__(
        self,
        configuration: Optional[Configuration] = None,
        header_name: Optional[str] = None,
        header_value: Optional[str] = None,
        cookie: Optional[str] = None,
        pool_threads: int = 1,
        *,
        transport: Optional[TransportT] = None,
    ) -> None:
        super().__init__(configuration, header_name, header_value, cookie)
        self.pool_threads = pool_threads
        self._given_transport: Optional[TransportT] = transport
        self._executor: Optional[ThreadPoolExecutor] = None
        self._lock = threading.Lock()
        # Built now, not on first use: a verify_ssl=False warning then points at this line's caller.
        self._rest: TransportT = transport if transport is not None else self._default_transport()
        self._forks = _process.forks

    def _default_transport(self) -> TransportT:
        return cast(TransportT, RESTClientObject(self.configuration))

    # -- the transport of this process -----------------------------------------------------

    @property
    def rest_client(self) -> TransportT:
        """The transport; the default one is this process's own (rebuilt after ``fork()``)."""
        if self._forks != _process.forks:
            return self._own_transport()
        return self._rest

    @rest_client.setter
    def rest_client(self, value: TransportT) -> None:
        self._given_transport = value
        self._rest = value
        self._forks = _process.forks

    def _own_transport(self) -> TransportT:
        inherited = self._rest if self._forks != _process.forks and self._given_transport is None else None
        self._new_process()
        if inherited is not None:
            # Closing the inherited sockets closes this process's descriptors only: the
            # parent's connections stay open (close() sends nothing while it holds them).
            inherited.close()
        return self._rest

    def _new_process(self) -> None:
        super()._new_process()
        # A lock another thread held at fork() time would stay locked here for ever, and
        # the parent's worker threads do not exist here: new ones, made when needed.
        self._lock = threading.Lock()
        self._executor = None
        self._rest = self._given_transport if self._given_transport is not None else self._default_transport()
        self._forks = _process.forks

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the ``async_req`` worker threads and close pooled connections."""
        if self._forks != _process.forks:
            self._own_transport()  # closes what this process inherited; nothing of the parent's
            return
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        self._rest.close()

    # -- calling operations ----------------------------------------------------------------

    @overload
    def invoke(
        self, op: Operation[T], args: Sequence[Any], options: Mapping[str, Any], result: Literal["data"]
    ) -> T: ...

    @overload
    def invoke(
        self, op: Operation[T], args: Sequence[Any], options: Mapping[str, Any], result: Literal["http_info"]
    ) -> ApiResponse[T]: ...

    @overload
    def invoke(
        self, op: Operation[Any], args: Sequence[Any], options: Mapping[str, Any], result: Literal["raw"]
    ) -> RESTResponse: ...

    @overload
    def invoke(self, op: Operation[Any], args: Sequence[Any], options: Mapping[str, Any], result: str) -> Any: ...

    def invoke(self, op: Operation[Any], args: Sequence[Any], options: Mapping[str, Any], result: str) -> Any:
        """Call ``op`` with positional ``args`` (in the operation's parameter order).

        ``result`` is ``ResultKind.DATA`` (the decoded body), ``ResultKind.HTTP_INFO`` (an
        ``ApiResponse``) or ``ResultKind.RAW`` (the unread response of the transport, a
        ``RESTResponse`` by default). Generated methods call this.
        """
        opts = parse_options(op.method_name, options) if options else DEFAULT_OPTIONS
        if opts.async_req:
            return AsyncResult(self._thread_pool().submit(self._call, op, args, opts, result))
        return self._call(op, args, opts, result)

    def _call(self, op: Operation[Any], args: Sequence[Any], opts: CallOptions, result: str) -> Any:
        values = self._check(op, args)
        request = self._prepare(op, values, opts)
        preload = opts.preload_content and result != ResultKind.RAW
        rest = self.rest_client
        timeout = opts.timeout
        started = time.monotonic() if timeout is not None and timeout.total is not None else 0.0
        try:
            response = rest.send(request, timeout=timeout, preload_content=preload)
            if response.status == 401 and self._refresh_token(op, opts, request):
                response.release_conn()
                response = rest.send(request, timeout=remaining(timeout, started), preload_content=preload)
        except ApiConnectionError as error:
            self._name_the_call(error, op, values)
            raise
        return self._result(op, values, response, opts, result)

    def _refresh_token(self, op: Operation[Any], opts: CallOptions, request: Request) -> bool:
        """After a 401, ask the token provider once for a fresh token; True if there is one to retry with."""
        if not self._may_refresh(op, opts, request.body):
            return False
        config = self.configuration
        rejected = request.headers.get("Authorization")
        with self._lock:  # one refresh for all threads that saw the same rejected token
            fresh = token_text(config.current_access_token(False))
            if fresh is not None and self._credentials.bearer_header(fresh) == rejected:
                fresh = token_text(config.current_access_token(True))
        return self._use_fresh_token(request.headers, fresh)

    def _thread_pool(self) -> ThreadPoolExecutor:
        if self._forks != _process.forks:
            self._own_transport()
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=self.pool_threads, thread_name_prefix="lakefs_sdk")
            return self._executor
