"""``AsyncApiClient``: the asyncio client, the same request and response logic as ``ApiClient``.

The flow of every call::

    await aio.BranchesApi.get_branch(...)         generated: names the sync module's Operation
      -> AsyncApiClient.invoke(op, args, options)  parse the options; await a coroutine token provider
        -> BaseApiClient._prepare(...)             shared: check arguments, URL, headers, body
        -> AsyncRESTClientObject.send(...)         aiohttp, the shared retry decisions and timeouts
      <- BaseApiClient._result(...)                shared decoding, or the typed exception

Everything but waiting is ``lakefs_sdk._base_client.BaseApiClient``'s, so both clients
send the same requests and give the same results and exceptions. The transport is a
parameter: ``AsyncApiClient(configuration, transport=...)`` takes anything shaped like
``lakefs_sdk._transport.AsyncTransport`` (default: ``AsyncRESTClientObject``).

One ``AsyncApiClient`` serves any number of concurrent tasks on one event loop (its
session is created there on first use). Used in another loop later (successive
``asyncio.run`` calls), it opens a new session there (see ``lakefs_sdk.aio.rest``). Close
it with ``await client.close()`` or ``async with AsyncApiClient(...) as client:``.

It pickles as the sync client does, as its settings (credentials included): the unpickled
client has a transport of its own, whose session is made on first use in that process's
loop. After ``fork()`` the transport leaves the parent's session alone and opens its own.
A transport given as ``transport=`` is the caller's: pickled with the client (pickling
fails with the pickler's error if it cannot be) and kept as it is after ``fork()``.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any, ClassVar, FrozenSet, Generic, Literal, Mapping, Optional, Sequence, cast, overload

from typing_extensions import Self, TypeVar

from lakefs_sdk._auth import CONFIGURED, Token, token_text
from lakefs_sdk._base_client import BaseApiClient
from lakefs_sdk._operation import Operation
from lakefs_sdk._options import DEFAULT_OPTIONS, CallOptions, parse_options
from lakefs_sdk._request import Request, ResultKind
from lakefs_sdk._transport import AsyncTransport, remaining
from lakefs_sdk._upload import UploadBody
from lakefs_sdk.aio._body import AsyncUpload, upload_content, wrap_async_content
from lakefs_sdk.aio.rest import AsyncRESTClientObject, AsyncRESTResponse
from lakefs_sdk.api_response import ApiResponse
from lakefs_sdk.configuration import Configuration
from lakefs_sdk.exceptions import ApiConnectionError, ApiValueError

T = TypeVar("T")
TransportT = TypeVar("TransportT", bound=AsyncTransport, default=AsyncRESTClientObject)


class AsyncApiClient(BaseApiClient, Generic[TransportT]):
    """Sends the requests of all async API classes built on it, with one configuration and pool.

    :param configuration: Settings; ``Configuration.get_default()`` when None.
    :param header_name: Name of one extra header sent with every request.
    :param header_value: Value of that header.
    :param cookie: A ``Cookie`` header value sent with every request.
    :param transport: (keyword only) What sends the requests: anything shaped like
        ``lakefs_sdk._transport.AsyncTransport``. Default: an ``AsyncRESTClientObject``
        (aiohttp) built from ``configuration``. Either way it is ``rest_client``.

    ``Configuration.access_token_provider`` may be a plain function or a coroutine
    function; either is called as ``provider(refresh)`` on the event loop (make one that
    does I/O a coroutine function, so that it does not block the loop).
    """

    # The user's coroutine -> the API method -> invoke -> _check.
    _WARNING_DEPTH: ClassVar[int] = 4
    _default: ClassVar[Optional[AsyncApiClient[Any]]] = None
    _PROCESS_LOCAL: ClassVar[FrozenSet[str]] = BaseApiClient._PROCESS_LOCAL | {
        "rest_client",
        "_refresh_lock",
        "_lock_loop",
    }

    def __init__(
        self,
        configuration: Optional[Configuration] = None,
        header_name: Optional[str] = None,
        header_value: Optional[str] = None,
        cookie: Optional[str] = None,
        *,
        transport: Optional[TransportT] = None,
    ) -> None:
        super().__init__(configuration, header_name, header_value, cookie)
        self._given_transport: Optional[TransportT] = transport
        self.rest_client: TransportT = transport if transport is not None else self._default_transport()
        self._refresh_lock: Optional[asyncio.Lock] = None
        self._lock_loop: Optional[asyncio.AbstractEventLoop] = None

    def _default_transport(self) -> TransportT:
        return cast(TransportT, AsyncRESTClientObject(self.configuration))

    def _new_process(self) -> None:
        super()._new_process()
        # The default transport makes its session on first use; a given one is the caller's.
        self.rest_client = self._given_transport if self._given_transport is not None else self._default_transport()
        self._refresh_lock = None
        self._lock_loop = None

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool; the client opens a new one if it is used again."""
        await self.rest_client.close()

    # -- calling operations ----------------------------------------------------------------

    @overload
    async def invoke(
        self, op: Operation[T], args: Sequence[Any], options: Mapping[str, Any], result: Literal["data"]
    ) -> T: ...

    @overload
    async def invoke(
        self, op: Operation[T], args: Sequence[Any], options: Mapping[str, Any], result: Literal["http_info"]
    ) -> ApiResponse[T]: ...

    @overload
    async def invoke(
        self, op: Operation[Any], args: Sequence[Any], options: Mapping[str, Any], result: Literal["raw"]
    ) -> AsyncRESTResponse: ...

    @overload
    async def invoke(self, op: Operation[Any], args: Sequence[Any], options: Mapping[str, Any], result: str) -> Any: ...

    async def invoke(self, op: Operation[Any], args: Sequence[Any], options: Mapping[str, Any], result: str) -> Any:
        """Call ``op`` with positional ``args`` (in the operation's parameter order).

        ``result`` is ``ResultKind.DATA`` (the decoded body), ``ResultKind.HTTP_INFO`` (an
        ``ApiResponse``) or ``ResultKind.RAW`` (the unread response of the transport, an
        ``AsyncRESTResponse`` by default). Generated methods call this.
        """
        opts = parse_options(op.method_name, options) if options else DEFAULT_OPTIONS
        if opts.async_req:
            raise ApiValueError(
                f"{op.method_name}(): async_req does not apply to the asyncio client: "
                "await the call, or run it with asyncio.create_task()"
            )
        if op.form_indexes:
            args = wrap_async_content(op, args)
        values = self._check(op, args)
        token: Token = await self._provided_token(False) if self._uses_token_provider(op, opts) else CONFIGURED
        request = self._prepare(op, values, opts, token)
        if op.has_content and isinstance(request.body, UploadBody):
            request.body = AsyncUpload(request.body, upload_content(op, values))
        preload = opts.preload_content and result != ResultKind.RAW
        send = self.rest_client.send
        timeout = opts.timeout
        started = 0.0 if timeout is None or timeout.total is None else time.monotonic()
        try:
            response = await send(request, timeout=timeout, preload_content=preload)
            if response.status == 401 and await self._refresh_token(op, opts, request):
                response.release_conn()
                response = await send(request, timeout=remaining(timeout, started), preload_content=preload)
            if not preload and self._is_error(op, response.status):
                await response.read()  # the exception carries the error body
        except ApiConnectionError as error:
            self._name_the_call(error, op, values)
            raise
        return self._result(op, values, response, opts, result)

    async def _provided_token(self, refresh: bool) -> Optional[str]:
        token = self.configuration.current_access_token(refresh)
        if inspect.isawaitable(token):
            token = await token
        return token_text(token)

    async def _refresh_token(self, op: Operation[Any], opts: CallOptions, request: Request) -> bool:
        """After a 401, ask the token provider once for a fresh token; True if there is one to retry with."""
        if not self._may_refresh(op, opts, request.body):
            return False
        rejected = request.headers.get("Authorization")
        loop = asyncio.get_running_loop()
        if self._refresh_lock is None or self._lock_loop is not loop:  # a lock serves one loop
            self._refresh_lock, self._lock_loop = asyncio.Lock(), loop
        async with self._refresh_lock:  # one refresh for all tasks that saw the same rejected token
            fresh = await self._provided_token(False)
            if fresh is not None and self._credentials.bearer_header(fresh) == rejected:
                fresh = await self._provided_token(True)
        return self._use_fresh_token(request.headers, fresh)
