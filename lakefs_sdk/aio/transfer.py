"""Async streaming transfers, and many of them at once with a concurrency limit.

    from lakefs_sdk import aio
    from lakefs_sdk.aio.transfer import download_many, upload_many

    objects = aio.ObjectsApi(client)
    report = await upload_many(objects, "repo", "main", [("data/a.csv", "a.csv"), ("data/b.csv", b"...")],
                               concurrency=16)
    for failure in report.failed:
        print(failure.path, failure.error)

``upload`` and ``download`` are the async twins of :mod:`lakefs_sdk.transfer`'s: constant
memory, ``progress(bytes_done, bytes_total)`` callbacks. ``upload_many`` /
``download_many`` run at most ``concurrency`` transfers at a time (also bounded by
``Configuration.connection_pool_maxsize``, the connections per host) and return a
:class:`TransferReport` with one :class:`TransferResult` per item, in the order given:
what succeeded (with its result), what failed and why. A failure never stops the other
transfers and is never dropped; cancelling the call cancels the transfers in flight.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

from lakefs_sdk.exceptions import ApiValueError

if TYPE_CHECKING:
    from lakefs_sdk._options import AsyncUploadContent
    from lakefs_sdk.aio.api.objects_api import ObjectsApi
    from lakefs_sdk.models.object_stats import ObjectStats

ProgressCallback = Callable[[int, Optional[int]], None]
DownloadTarget = Union[str, "os.PathLike[str]", IO[bytes]]
DEFAULT_CONCURRENCY = 8


async def upload(
    objects_api: ObjectsApi,
    repository: str,
    branch: str,
    path: str,
    content: AsyncUploadContent,
    *,
    content_type: Optional[str] = None,
    if_none_match: Optional[str] = None,
    if_match: Optional[str] = None,
    force: Optional[bool] = None,
    progress: Optional[ProgressCallback] = None,
    **options: Any,
) -> ObjectStats:
    """Upload ``content`` (bytes, a path, a binary file, or an iterable or async iterable of bytes).

    As :func:`lakefs_sdk.transfer.upload`: sent raw as ``application/octet-stream``
    (``content_type`` replaces it), streamed, with ``Content-Length`` when the size is known.
    """
    return await objects_api.upload_object(
        repository,
        branch,
        path,
        if_none_match=if_none_match,
        if_match=if_match,
        force=force,
        content=content,
        _content_type=content_type or "application/octet-stream",
        _progress=progress,
        **options,
    )


async def download(
    objects_api: ObjectsApi,
    repository: str,
    ref: str,
    path: str,
    target: DownloadTarget,
    *,
    range: Optional[str] = None,
    presign: Optional[bool] = None,
    progress: Optional[ProgressCallback] = None,
    chunk_size: int = 1024 * 1024,
    **options: Any,
) -> int:
    """Stream object ``path`` at ``ref`` into ``target`` (a path, written atomically, or a binary file)."""
    response = await objects_api.get_object_without_preload_content(
        repository, ref, path, range=range, presign=presign, **options
    )
    async with response:
        return await response.write_to(target, progress=progress, chunk_size=chunk_size)


@dataclass
class TransferResult:
    """What became of one item: ``value`` when it succeeded (``ObjectStats`` or a byte count), else ``error``."""

    index: int
    path: str
    value: Any = None
    error: Optional[BaseException] = None

    @property
    def ok(self) -> bool:
        """True when the transfer succeeded."""
        return self.error is None


@dataclass
class TransferReport:
    """One result per item given, in the order given."""

    results: List[TransferResult] = field(default_factory=list)

    @property
    def succeeded(self) -> List[TransferResult]:
        """The items that were transferred."""
        return [r for r in self.results if r.ok]

    @property
    def failed(self) -> List[TransferResult]:
        """The items that were not, each with its exception."""
        return [r for r in self.results if not r.ok]

    def raise_first(self) -> None:
        """Raise the exception of the first failed item, if any."""
        for result in self.results:
            if result.error is not None:
                raise result.error


class _Progress:
    """Adds up the progress of concurrent transfers into one ``progress(done, total)`` call."""

    def __init__(self, callback: Optional[ProgressCallback]) -> None:
        self.callback = callback
        self.done: Dict[int, int] = {}
        self.totals: Dict[int, Optional[int]] = {}

    def for_item(self, index: int) -> Optional[ProgressCallback]:
        if self.callback is None:
            return None

        def update(done: int, total: Optional[int]) -> None:
            self.done[index] = done
            self.totals[index] = total
            self.report()

        return update

    def report(self) -> None:
        if self.callback is None:
            return
        totals = list(self.totals.values())
        total = None if any(t is None for t in totals) else sum(t for t in totals if t is not None)
        self.callback(sum(self.done.values()), total)


async def _run_all(
    items: Iterable[Tuple[str, Any]],
    concurrency: int,
    transfer: Callable[[str, Any, Optional[ProgressCallback]], Any],
    progress: Optional[ProgressCallback],
) -> TransferReport:
    if concurrency < 1:
        raise ApiValueError(f"concurrency must be at least 1, got {concurrency}")
    pending = enumerate(items)
    results: Dict[int, TransferResult] = {}
    aggregate = _Progress(progress)

    async def worker() -> None:
        for index, (path, payload) in pending:  # one shared iterator: each item is taken once
            result = results[index] = TransferResult(index, path)
            try:
                result.value = await transfer(path, payload, aggregate.for_item(index))
            except Exception as error:  # recorded, never dropped; cancellation propagates
                result.error = error

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return TransferReport([results[i] for i in sorted(results)])


async def upload_many(
    objects_api: ObjectsApi,
    repository: str,
    branch: str,
    items: Iterable[Tuple[str, AsyncUploadContent]],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Optional[ProgressCallback] = None,
    content_type: Optional[str] = None,
    if_none_match: Optional[str] = None,
    force: Optional[bool] = None,
    **options: Any,
) -> TransferReport:
    """Upload each ``(path, content)`` of ``items``, at most ``concurrency`` at a time.

    ``progress(bytes_done, bytes_total)`` adds up all transfers started so far
    (``bytes_total`` is None while one of them has no known size). Pass
    ``if_none_match="*"`` to refuse overwriting existing objects (each such item fails
    with ``PreconditionFailedException`` in the report).
    """

    def one(path: str, content: Any, item_progress: Optional[ProgressCallback]) -> Any:
        return upload(
            objects_api,
            repository,
            branch,
            path,
            content,
            content_type=content_type,
            if_none_match=if_none_match,
            force=force,
            progress=item_progress,
            **options,
        )

    return await _run_all(items, concurrency, one, progress)


async def download_many(
    objects_api: ObjectsApi,
    repository: str,
    ref: str,
    items: Iterable[Tuple[str, DownloadTarget]],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Optional[ProgressCallback] = None,
    **options: Any,
) -> TransferReport:
    """Download each ``(path, target)`` of ``items``, at most ``concurrency`` at a time.

    A path target is written atomically, so a failed item leaves its target untouched.
    Each successful result's ``value`` is the number of bytes written.
    """

    def one(path: str, target: Any, item_progress: Optional[ProgressCallback]) -> Any:
        return download(objects_api, repository, ref, path, target, progress=item_progress, **options)

    return await _run_all(items, concurrency, one, progress)
