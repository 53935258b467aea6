"""How the bulk transfers of :mod:`lakefs_sdk.aio.transfer` run: tasks of the running loop, and waits they leave.

The asyncio image of :mod:`lakefs_sdk._workers`: the same names and signatures, as
coroutines. Only what depends on the event loop lives here; everything else of a bulk
transfer is written once in :mod:`lakefs_sdk.aio.transfer`.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, List, Optional

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
    if not batch.groups:
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
