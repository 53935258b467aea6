"""Run sync-style tests through the asyncio client: ``AioBridge`` stands in for an ``ApiClient``.

A sync API class built on an ``AioBridge`` (``lakefs_sdk.BranchesApi(bridge)``) hands each
call to ``bridge.invoke(op, args, options, result)``, as it would to an ``ApiClient``. The
bridge calls the *generated async method of the same name* (``aio.BranchesApi.get_branch``,
``..._with_http_info`` or ``..._without_preload_content``) with the same positional
arguments and keyword options, awaits it on an event loop in a background thread, and
returns the result; an unread response comes back wrapped so that the test can read it
with the sync calls (``data``, ``read``, ``iter_bytes``, ``write_to``). So every assertion a
contract test makes about the sync client is made about the async one too.

It also checks that the async method sends the very ``Operation`` object of the sync
module (one description per endpoint).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import pkgutil
import threading
from typing import IO, Any, Awaitable, Dict, Iterator, Mapping, Optional, Sequence, Tuple, TypeVar, Union

import lakefs_sdk
import lakefs_sdk.aio.api
from lakefs_sdk._operation import Operation
from lakefs_sdk.aio import AsyncApiClient, AsyncRESTResponse
from lakefs_sdk.api_response import ApiResponse

T = TypeVar("T")

TRANSPORT_HEADER = "X-Test-Transport"
SUFFIXES = {"data": "", "http_info": "_with_http_info", "raw": "_without_preload_content"}


def async_classes_by_operation() -> Dict[int, Tuple[type, str]]:
    """``id(Operation)`` -> (the async API class sending it, the module-level name it has there)."""
    found: Dict[int, Tuple[type, str]] = {}
    for info in pkgutil.iter_modules(lakefs_sdk.aio.api.__path__):
        module = importlib.import_module(f"lakefs_sdk.aio.api.{info.name}")
        classes = [v for k, v in vars(module).items() if k.endswith("Api") and isinstance(v, type)]
        assert len(classes) == 1, f"{module.__name__}: {classes}"
        for name, value in vars(module).items():
            if isinstance(value, Operation):
                found[id(value)] = (classes[0], name)
    return found


class AioBridge:
    """An ``ApiClient`` look-alike whose calls go through ``lakefs_sdk.aio`` (see the module docstring)."""

    def __init__(self, configuration: lakefs_sdk.Configuration) -> None:
        self.configuration = configuration
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="aio-bridge", daemon=True)
        self._thread.start()
        self.api_client = AsyncApiClient(configuration)
        # The clients send the same requests; this header tells the coverage gate which sent it.
        self.api_client.set_default_header(TRANSPORT_HEADER, "aio")
        self._classes = async_classes_by_operation()
        self._apis: Dict[type, Any] = {}
        self.calls = 0

    # -- the ApiClient surface the sync API classes use ---------------------------------------

    def invoke(self, op: Operation, args: Sequence[Any], options: Mapping[str, Any], result: str) -> Any:
        entry = self._classes.get(id(op))
        assert entry is not None, f"no async API module sends the sync Operation {op!r} itself"
        cls, _ = entry
        api = self._apis.get(cls)
        if api is None:
            api = self._apis[cls] = cls(self.api_client)
        method = getattr(api, op.method_name + SUFFIXES[result])
        assert inspect.iscoroutinefunction(method), f"{cls.__name__}.{method.__name__} is not a coroutine function"
        self.calls += 1
        return self._adapt(self.run(method(*args, **dict(options))))

    @property
    def rest_client(self) -> Any:
        return self.api_client.rest_client

    # -- helpers ----------------------------------------------------------------------------------

    def run(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` on the bridge's loop; return its result or raise its exception."""

        async def wrapper() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result()

    def call(self, function: Any, *args: Any) -> Any:
        """Call a plain function on the bridge's loop (aiohttp objects belong to their loop)."""

        async def wrapper() -> Any:
            return function(*args)

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result()

    def _adapt(self, value: Any) -> Any:
        if isinstance(value, AsyncRESTResponse):
            return SyncResponse(self, value)
        if isinstance(value, ApiResponse) and isinstance(value.raw_data, AsyncRESTResponse):
            value.raw_data = SyncResponse(self, value.raw_data)
        return value

    def close(self) -> None:
        self.run(self.api_client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> AioBridge:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class SyncResponse:
    """An ``AsyncRESTResponse`` read with the sync ``RESTResponse`` calls (on the bridge's loop)."""

    def __init__(self, bridge: AioBridge, response: AsyncRESTResponse) -> None:
        self._bridge = bridge
        self.response = response
        self.status = response.status
        self.reason = response.reason
        self.headers = response.headers
        self.retries = response.retries

    @property
    def data(self) -> bytes:
        return self._bridge.run(self.response.read())

    def getheader(self, name: str, default: Optional[str] = None) -> Optional[str]:
        return self.response.getheader(name, default)

    def getheaders(self) -> Any:
        return self.response.getheaders()

    def read(self, amt: Optional[int] = None) -> bytes:
        return self._bridge.run(self.response.read(amt))

    def iter_bytes(self, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        chunks = self.response.iter_bytes(chunk_size)
        try:
            while True:
                try:
                    yield self._bridge.run(chunks.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            self._bridge.run(chunks.aclose())

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_bytes()

    def write_to(self, target: Union[str, IO[bytes]], **kwargs: Any) -> int:
        return self._bridge.run(self.response.write_to(target, **kwargs))

    def release_conn(self) -> None:
        self._bridge.call(self.response.release_conn)

    def close(self) -> None:
        self._bridge.call(self.response.close)

    def __enter__(self) -> SyncResponse:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.release_conn()
