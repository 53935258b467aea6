"""Upload bodies on the event loop: the sync ``UploadBody``, streamed without blocking the loop.

``lakefs_sdk._upload.UploadBody`` frames the content (raw, or one multipart part), reports
progress and knows whether the body can be sent again; none of that is repeated here.
This module only drives it from the event loop, one chunk at a time (constant memory):

* bytes are iterated on the loop (there is no I/O to wait for);
* paths, binary files and plain iterables are read in a worker thread, so a slow disk
  or a blocking iterator never stalls the loop; progress is still reported on the loop;
* an async iterable of bytes is wrapped in :class:`AsyncChunks` before the arguments are
  checked: ``UploadBody`` reads it as a plain iterable, and :meth:`AsyncUpload.stream`
  awaits each chunk on the loop just before ``UploadBody`` asks for it.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor, Future
from typing import Any, AsyncIterable, AsyncIterator, Generator, Iterator, List, Optional, Sequence, Tuple, cast

from lakefs_sdk._operation import Operation
from lakefs_sdk._upload import UploadBody

_END: Any = object()  # no more chunks
_NONE: Any = object()  # no chunk fetched yet


class AsyncChunks:
    """Upload content given as an async iterable of bytes (it cannot be sent twice).

    Iterating it hands out the chunk :meth:`fetch` awaited last; only
    :meth:`AsyncUpload.stream` does both, in turn.
    """

    def __init__(self, source: AsyncIterable[Any]) -> None:
        self.source = source
        self._iterator: Optional[AsyncIterator[Any]] = None
        self._next: Any = _NONE

    def __iter__(self) -> Iterator[Any]:
        while True:
            chunk, self._next = self._next, _NONE
            if chunk is _END:
                return
            if chunk is _NONE:
                raise RuntimeError("AsyncChunks is read by AsyncUpload.stream(), not iterated directly")
            yield chunk

    @property
    def hungry(self) -> bool:
        """True when the last fetched chunk has been handed out."""
        return self._next is _NONE

    async def fetch(self) -> None:
        """Await the next chunk of the source (or its end) for the iterator to hand out."""
        if self._iterator is None:
            self._iterator = self.source.__aiter__()
        while True:
            try:
                chunk = await self._iterator.__anext__()
            except StopAsyncIteration:
                self._next = _END
                return
            if isinstance(chunk, (bytes, bytearray, memoryview)) and not chunk:
                continue  # UploadSource skips empty chunks; it must never find none fetched
            self._next = chunk  # anything but bytes is refused by UploadSource, as in the sync client
            return


class AsyncUpload:
    """An ``UploadBody`` sent by the asyncio transport: ``stream()`` is one attempt's body.

    ``content`` is the upload argument the body was built from; it decides where chunks
    are read (see the module docstring). Without it, chunks are read in a worker thread.
    ``failure`` holds an exception the content raised (a file that cannot be read, an
    iterator yielding ``str``): the transport raises it instead of a connection error.
    """

    def __init__(self, upload: UploadBody, content: Any = None) -> None:
        self.upload = upload
        inner = content[1] if isinstance(content, tuple) and len(content) == 2 else content
        self.feed = inner if isinstance(inner, AsyncChunks) else None
        self.threaded = self.feed is None and not isinstance(inner, (bytes, bytearray, memoryview))
        self.failure: Optional[BaseException] = None
        self._progress = upload.progress
        self._seen: Optional[Tuple[int, Optional[int]]] = None
        if self.threaded and self._progress is not None:
            upload.progress = self._record  # called in the worker thread; reported on the loop

    @property
    def can_resend(self) -> bool:
        """True when a new attempt can send the whole body again."""
        return self.upload.can_resend

    def _record(self, done: int, total: Optional[int]) -> None:
        self._seen = (done, total)

    def _report(self) -> None:
        seen, self._seen = self._seen, None
        if seen is not None and self._progress is not None:
            self._progress(*seen)

    async def stream(self, executor: Executor) -> AsyncIterator[bytes]:
        """The complete body, chunk by chunk, for one attempt.

        One chunk is read ahead: ``UploadBody`` reports a chunk's progress when asked for
        the next one, and aiohttp may have the response (and the call return) before it
        asks again after the last chunk.
        """
        chunks = cast(Generator[bytes, None, None], self.upload.iterate())  # a generator: it can be closed
        self._running: Optional[Future[Any]] = None
        try:
            chunk = await self._pull(chunks, executor)
            while chunk is not _END:
                following = await self._pull(chunks, executor)
                yield chunk
                chunk = following
        except Exception as error:
            self.failure = error
            raise
        finally:
            running = self._running
            if running is not None:  # cancelled while a worker reads: close the source after it
                running.add_done_callback(lambda _: chunks.close())
            else:
                chunks.close()

    async def _pull(self, chunks: Generator[bytes, None, None], executor: Executor) -> Any:
        if self.feed is not None and self.feed.hungry:
            await self.feed.fetch()
        if not self.threaded:
            return next(chunks, _END)
        self._running = executor.submit(next, chunks, _END)
        chunk = await asyncio.wrap_future(self._running)
        self._running = None
        self._report()
        return chunk


def wrap_async_content(op: Operation[Any], args: Sequence[Any]) -> Sequence[Any]:
    """``args`` with every async iterable given as upload content wrapped in ``AsyncChunks``."""
    wrapped: Optional[List[Any]] = None
    for i in op.form_indexes:
        value = args[i]
        named = isinstance(value, tuple) and len(value) == 2
        inner = value[1] if named else value
        if hasattr(inner, "__aiter__") and not isinstance(inner, AsyncChunks):
            wrapped = list(args) if wrapped is None else wrapped
            wrapped[i] = (value[0], AsyncChunks(inner)) if named else AsyncChunks(inner)
    return args if wrapped is None else wrapped


def upload_content(op: Operation[Any], values: Sequence[Any]) -> Any:
    """The upload argument of a call (the first form argument given), or None."""
    forms = op.form_arguments(values)
    return forms[0][1] if forms else None
