"""How the bulk transfers of :mod:`lakefs_sdk.transfer` run: threads, and waits the caller can leave.

Only what depends on threads lives here; everything else of a bulk transfer is written
once in :mod:`lakefs_sdk.aio.transfer`, from which ``lakefs_sdk/transfer.py`` is generated
(``scripts/unasync.py``). :mod:`lakefs_sdk.aio._workers` is the asyncio image of this
module: the same names and signatures, as coroutines.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable, Iterator, List, Optional

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
    if not batch.size:
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


# -- the parts of one multipart upload ------------------------------------------------------------


class PartPool:
    """Runs the parts of one multipart upload, at most ``concurrency`` at a time, each in a thread.

    ``ready()`` waits for a free place (so that a stream is read no faster than its parts
    go out), ``start(work)`` runs ``work`` there, ``wait()`` waits for all of them. The
    first failure stops the pool: ``ready`` and ``wait`` raise it. ``stop()`` starts nothing
    more and waits for the parts in flight (a Ctrl-C leaves them running, in daemon threads).
    """

    def __init__(self, concurrency: int) -> None:
        self._places = threading.Semaphore(concurrency)
        self._threads: List[threading.Thread] = []
        self._failure: Optional[BaseException] = None
        self._lock = threading.Lock()

    def _raise_failure(self) -> None:
        with self._lock:
            failure = self._failure
        if failure is not None:
            raise failure

    def ready(self) -> None:
        """Wait until a part may start; raise the first failure of a part."""
        while not self._places.acquire(timeout=_WAKE_SECONDS):
            self._raise_failure()
        self._raise_failure()

    def start(self, work: Callable[[], Any]) -> None:
        """Run ``work`` in the place :meth:`ready` found."""

        pending = [work]

        def run() -> None:
            job: Optional[Callable[[], Any]] = pending.pop()
            try:
                with self._lock:
                    if self._failure is not None:
                        return
                assert job is not None
                job()
            except BaseException as error:  # handed to the calling thread
                with self._lock:
                    if self._failure is None:
                        self._failure = error
            finally:
                job = None  # the part's bytes go before its place is given to the next part
                self._places.release()

        thread = threading.Thread(target=run, name=f"lakefs_sdk.part-{len(self._threads) + 1}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def wait(self) -> None:
        """Wait for every part started; raise the first failure."""
        for thread in list(self._threads):
            while thread.is_alive():
                thread.join(_WAKE_SECONDS)
        self._raise_failure()

    def stop(self) -> None:
        """Start nothing more; wait for the parts in flight, unless a Ctrl-C comes meanwhile."""
        with self._lock:
            if self._failure is None:
                self._failure = _Stopped()
        try:
            for thread in list(self._threads):
                while thread.is_alive():
                    thread.join(_WAKE_SECONDS)
        except KeyboardInterrupt:
            pass  # the parts still running fail once the upload is aborted


class _Stopped(Exception):
    """The pool was stopped: no part may start."""


def stream_chunks(content: Any, chunk_size: int) -> Iterator[Any]:
    """The chunks of a stream given as upload content: an iterable of bytes, or a non-seekable binary file."""
    if hasattr(content, "read"):
        while True:
            chunk = content.read(chunk_size)
            if not chunk:
                return
            yield chunk
    else:
        yield from content


def sleep(seconds: float) -> None:
    """Wait ``seconds`` in the calling thread (Ctrl-C interrupts it with ``KeyboardInterrupt``)."""
    if seconds > 0:
        time.sleep(seconds)
