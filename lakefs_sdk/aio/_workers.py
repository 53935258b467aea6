"""How the bulk transfers of :mod:`lakefs_sdk.aio.transfer` run: tasks of the running loop, and waits they leave.

The asyncio image of :mod:`lakefs_sdk._workers`: the same names and signatures, as
coroutines. Only what depends on the event loop lives here; everything else of a bulk
transfer is written once in :mod:`lakefs_sdk.aio.transfer`.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Awaitable, Callable, List, Optional, Set

from lakefs_sdk._bulk import Batch, TransferReport, TransferResult

# What transfers one item (its value is the item's result), and what runs a group of items.
ItemWork = Callable[[TransferResult], Awaitable[Any]]
GroupWork = Callable[[List[TransferResult]], Awaitable[None]]
ItemCallback = Callable[[TransferResult], None]


async def stopped_within(batch: Batch, seconds: float) -> bool:
    """Wait ``seconds`` before a retry; True when the batch stopped meanwhile (then at once, no retry).

    The batch wakes the wait when it stops (``fail_fast`` after another item's failure, an
    exception from ``on_item``), as ``threading.Event.wait`` does for the threads.
    """
    if batch.stopped.is_set():
        return True
    woken = asyncio.Event()
    batch.on_stop(woken.set)  # the batch is only ever stopped on this loop: no thread-safe call needed
    try:
        await asyncio.wait_for(woken.wait(), seconds)
    except asyncio.TimeoutError:
        pass
    finally:
        batch.forget_on_stop(woken.set)
    return batch.stopped.is_set()


async def run_batch(batch: Batch, work: GroupWork, workers: int, on_item: Optional[ItemCallback]) -> TransferReport:
    """Run ``work`` on the batch's groups in ``workers`` tasks of the running loop; ``on_item`` on the loop.

    Cancelling the call (or an exception from ``on_item``) stops the batch: no new group
    starts, the groups in flight are cancelled, then ``CancelledError`` (or that exception)
    propagates.
    """
    if not batch.size:
        return batch.report()

    async def worker() -> None:
        while True:
            group = batch.take()
            if group is None:
                return
            try:
                await work(group)
            except Exception as error:  # the group's call failed as a whole
                batch.fail_unfinished(group, error)
            if on_item is not None:
                for result in group:
                    on_item(result)

    running = [asyncio.ensure_future(worker()) for _ in range(workers)]
    try:
        await asyncio.gather(*running)
    except BaseException:
        batch.stop()
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        raise
    return batch.report()


# -- the parts of one multipart upload ------------------------------------------------------------


class PartPool:
    """Runs the parts of one multipart upload, at most ``concurrency`` at a time, as tasks of the running loop.

    The asyncio image of ``lakefs_sdk._workers.PartPool``: ``await ready()`` waits for a
    free place, ``start(work)`` runs ``await work()`` there, ``await wait()`` waits for all
    of them; the first failure stops the pool and ``ready``/``wait`` raise it.
    ``await stop()`` starts nothing more and cancels the parts in flight.
    """

    def __init__(self, concurrency: int) -> None:
        self._places = asyncio.Semaphore(concurrency)
        self._tasks: Set[asyncio.Task[None]] = set()
        self._failure: Optional[BaseException] = None

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    async def ready(self) -> None:
        """Wait until a part may start; raise the first failure of a part."""
        self._raise_failure()
        await self._places.acquire()
        self._raise_failure()

    def start(self, work: Callable[[], Awaitable[Any]]) -> None:
        """Run ``await work()`` in the place :meth:`ready` found."""

        pending = [work]

        async def run() -> None:
            job: Optional[Callable[[], Awaitable[Any]]] = pending.pop()
            try:
                assert job is not None
                await job()
            except asyncio.CancelledError:
                raise
            except BaseException as error:  # handed to the caller
                if self._failure is None:
                    self._failure = error
            finally:
                job = None  # the part's bytes go before its place is given to the next part
                self._places.release()

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(self) -> None:
        """Wait for every part started; raise the first failure."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))
        self._raise_failure()

    async def stop(self) -> None:
        """Start nothing more; cancel the parts in flight and wait until they are gone."""
        if self._failure is None:
            self._failure = asyncio.CancelledError()
        running = list(self._tasks)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


async def stream_chunks(content: Any, chunk_size: int) -> AsyncIterator[Any]:
    """The chunks of a stream given as upload content: an (async) iterable of bytes, or a non-seekable binary file.

    Blocking reads (a file, a plain iterator) run in a worker thread, off the loop.
    """
    if hasattr(content, "read"):
        while True:
            chunk = await asyncio.to_thread(content.read, chunk_size)
            if not chunk:
                return
            yield chunk
    elif hasattr(content, "__aiter__"):
        async for chunk in content:
            yield chunk
    else:
        iterator = iter(content)
        end = object()
        while True:
            chunk = await asyncio.to_thread(next, iterator, end)
            if chunk is end:
                return
            yield chunk


async def sleep(seconds: float) -> None:
    """Wait ``seconds`` without blocking the running loop (cancelling the task ends the wait)."""
    if seconds > 0:
        await asyncio.sleep(seconds)
