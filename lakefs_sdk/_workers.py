"""How the bulk transfers of :mod:`lakefs_sdk.transfer` run: threads, and waits the caller can leave.

Only what depends on threads lives here; everything else of a bulk transfer is written
once in :mod:`lakefs_sdk.aio.transfer`, from which ``lakefs_sdk/transfer.py`` is generated
(``scripts/unasync.py``). :mod:`lakefs_sdk.aio._workers` is the asyncio image of this
module: the same names and signatures, as coroutines.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, List, Optional

from lakefs_sdk._bulk import Batch, TransferInterrupted, TransferReport, TransferResult

# What transfers one item (its value is the item's result), and what runs a group of items.
ItemWork = Callable[[TransferResult], Any]
GroupWork = Callable[[List[TransferResult]], None]
ItemCallback = Callable[[TransferResult], None]

# The calling thread of a bulk transfer wakes this often while it waits: a Ctrl-C that the
# kernel delivered to another thread is only acted on when the main thread runs.
_WAKE_SECONDS = 0.1


def stopped_within(batch: Batch, seconds: float) -> bool:
    """Wait ``seconds`` before a retry; True when the batch stopped meanwhile (then at once, no retry)."""
    return batch.stopped.wait(seconds)


def run_batch(batch: Batch, work: GroupWork, workers: int, on_item: Optional[ItemCallback]) -> TransferReport:
    """Run ``work`` on the batch's groups in ``workers`` threads; the calling thread reports each item.

    Ctrl-C (or an exception from ``on_item``) stops the batch: no new group starts, the
    groups in flight are waited for, then ``TransferInterrupted`` (or that exception) is raised.
    """
    if not batch.groups:
        return batch.report()
    finished: queue.Queue[Optional[TransferResult]] = queue.Queue()

    def worker() -> None:
        try:
            while True:
                group = batch.take()
                if group is None:
                    return
                try:
                    work(group)
                except Exception as error:  # the group's call failed as a whole
                    batch.fail_unfinished(group, error)
                if on_item is not None:  # else the calling thread need not wake per item
                    for result in group:
                        finished.put(result)
        finally:
            finished.put(None)

    # Daemon threads: a transfer abandoned by a second Ctrl-C must not keep the program alive.
    pool = [threading.Thread(target=worker, name=f"lakefs_sdk.bulk-{n}", daemon=True) for n in range(workers)]
    for thread in pool:
        thread.start()
    try:
        running = len(pool)
        while running:
            try:
                result = finished.get(timeout=_WAKE_SECONDS)
            except queue.Empty:
                continue
            if result is None:
                running -= 1
            elif on_item is not None:
                on_item(result)
    except KeyboardInterrupt:
        batch.stop()
        try:
            for thread in pool:
                while thread.is_alive():
                    thread.join(_WAKE_SECONDS)
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: what is still running is reported unfinished
        raise TransferInterrupted(batch.report(interrupted=True)) from None
    except BaseException:
        batch.stop()
        for thread in pool:
            thread.join()
        raise
    return batch.report()
