"""``AsyncApiClient``: the asyncio client, the same request and response logic as ``ApiClient``.

The flow of every call::

    await aio.BranchesApi.get_branch(...)         generated: names the sync module's Operation
      -> AsyncApiClient.invoke(op, args, options)  parse the options; await a coroutine token provider
        -> BaseApiClient._prepare(...)             the sync client's: check arguments, URL, headers, body
        -> AsyncRESTClientObject.send(...)         aiohttp, the sync client's retry policy and timeouts
      <- BaseApiClient._result(...)                the sync client's decoding, or its typed exception

Everything but waiting is ``lakefs_sdk.api_client.BaseApiClient``'s, so both clients send
the same requests and give the same results and exceptions.

One ``AsyncApiClient`` serves any number of concurrent tasks on one event loop (its
session is created there on first use); use one client per loop. Close it with
``await client.close()`` or ``async with AsyncApiClient(...) as client:``.

It pickles as the sync client does, as its settings (credentials included): the unpickled
client has a transport of its own, whose session is made on first use in that process's
loop. After ``fork()`` the transport leaves the parent's session alone and opens its own.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, ClassVar, Dict, FrozenSet, Literal, Mapping, Optional, Sequence, TypeVar, overload

from lakefs_sdk._operation import Operation
from lakefs_sdk._options import DEFAULT_OPTIONS, CallOptions, parse_options
from lakefs_sdk._request import Request, ResultKind
from lakefs_sdk._upload import UploadBody
from lakefs_sdk.aio._body import AsyncUpload, upload_content, wrap_async_content
from lakefs_sdk.aio.rest import AsyncRequestBody, AsyncRESTClientObject, AsyncRESTResponse
from lakefs_sdk.api_client import CONFIGURED, BaseApiClient, token_text
from lakefs_sdk.api_response import ApiResponse
from lakefs_sdk.configuration import Configuration
from lakefs_sdk.exceptions import ApiValueError

T = TypeVar("T")


class AsyncApiClient(BaseApiClient):
    """Sends the requests of all async API classes built on it, with one configuration and pool.

    :param configuration: Settings; ``Configuration.get_default()`` when None.
    :param header_name: Name of one extra header sent with every request.
    :param header_value: Value of that header.
    :param cookie: A ``Cookie`` header value sent with every request.

    ``Configuration.access_token_provider`` may be a plain function or a coroutine
    function; either is called as ``provider(refresh)`` on the event loop (make one that
    does I/O a coroutine function, so that it does not block the loop).
    """

    # The user's coroutine -> the API method -> invoke -> _prepare.
    _WARNING_DEPTH: ClassVar[int] = 4
    _default: ClassVar[Optional[AsyncApiClient]] = None
    _PROCESS_LOCAL: ClassVar[FrozenSet[str]] = BaseApiClient._PROCESS_LOCAL | {"rest_client", "_refresh_lock"}

    def __init__(
        self,
        configuration: Optional[Configuration] = None,
        header_name: Optional[str] = None,
        header_value: Optional[str] = None,
        cookie: Optional[str] = None,
    ) -> None:
        super().__init__(configuration, header_name, header_value, cookie)
        self.rest_client = AsyncRESTClientObject(self.configuration)
        self._refresh_lock: Optional[asyncio.Lock] = None

    def _new_process(self) -> None:
        super()._new_process()
        self.rest_client = AsyncRESTClientObject(self.configuration)  # its session: on first use
        self._refresh_lock = None

    # -- lifecycle and defaults ------------------------------------------------------------

    async def __aenter__(self) -> AsyncApiClient:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool; the client opens a new one if it is used again."""
        await self.rest_client.close()

    @classmethod
    def get_default(cls) -> AsyncApiClient:
        """The client async API classes use when given none; created on first use."""
        if cls._default is None:
            cls._default = AsyncApiClient()
        return cls._default

    @classmethod
    def set_default(cls, default: Optional[AsyncApiClient]) -> None:
        """Set the client async API classes use when given none."""
        cls._default = default

    # -- calling operations ----------------------------------------------------------------

    @overload
    async def invoke(
        self, op: Operation[T], args: Sequence[Any], options: Mapping[str, Any], result: Literal[ResultKind.DATA]
    ) -> T: ...

    @overload
    async def invoke(
        self, op: Operation[T], args: Sequence[Any], options: Mapping[str, Any], result: Literal[ResultKind.HTTP_INFO]
    ) -> ApiResponse[T]: ...

    @overload
    async def invoke(
        self, op: Operation[Any], args: Sequence[Any], options: Mapping[str, Any], result: Literal[ResultKind.RAW]
    ) -> AsyncRESTResponse: ...

    @overload
    async def invoke(self, op: Operation[Any], args: Sequence[Any], options: Mapping[str, Any], result: str) -> Any: ...

    async def invoke(self, op: Operation[Any], args: Sequence[Any], options: Mapping[str, Any], result: str) -> Any:
        """Call ``op`` with positional ``args`` (in the operation's parameter order).

        ``result`` is ``"data"`` (the decoded body), ``"http_info"`` (an ``ApiResponse``)
        or ``"raw"`` (the unread ``AsyncRESTResponse``). Generated methods call this.
        """
        opts = parse_options(op.method_name, options) if options else DEFAULT_OPTIONS
        if opts.async_req:
            raise ApiValueError(
                f"{op.method_name}(): async_req does not apply to the asyncio client: "
                "await the call, or run it with asyncio.create_task()"
            )
        if op.content_types:
            args = wrap_async_content(op, args)
        token = await self._provided_token(False) if self._uses_token_provider(op, opts) else CONFIGURED
        values, url, headers, prepared = self._prepare(op, args, opts, token)
        body: AsyncRequestBody = prepared
        if isinstance(prepared, UploadBody):
            body = AsyncUpload(prepared, upload_content(op, values))
        preload = opts.preload_content and result != "raw"
        timeout = self.rest_client.timeout(opts.timeout)
        request = Request(op.http_method, url, headers, body)
        send = self.rest_client.send
        response = await send(request, timeout=timeout, preload_content=preload)
        if response.status == 401 and await self._refresh_token(op, opts, headers, prepared):
            response.release_conn()
            response = await send(request, timeout=timeout, preload_content=preload)
        if not preload and self._is_error(op, response.status):
            await response.read()  # the exception carries the error body
        return self._result(op, values, response, opts, result)

    async def _provided_token(self, refresh: bool) -> Optional[str]:
        token = self.configuration.current_access_token(refresh)
        if inspect.isawaitable(token):
            token = await token
        return token_text(token)

    async def _refresh_token(self, op: Operation[Any], opts: CallOptions, headers: Dict[str, str], body: Any) -> bool:
        """After a 401, ask the token provider once for a fresh token; True if there is one to retry with."""
        if not self._may_refresh(op, opts, body):
            return False
        rejected = headers.get("Authorization")
        if self._refresh_lock is None:
            self._refresh_lock = asyncio.Lock()
        async with self._refresh_lock:  # one refresh for all tasks that saw the same rejected token
            fresh = await self._provided_token(False)
            if "Bearer " + (fresh or "") == rejected:
                fresh = await self._provided_token(True)
        return self._use_fresh_token(headers, fresh)
