"""Async streaming transfers, and many of them at once with a concurrency limit.

    from lakefs_sdk import aio
    from lakefs_sdk.aio.transfer import delete_many, download_many, upload_many

    objects = aio.ObjectsApi(client)
    report = await upload_many(objects, "repo", "main", [("a.csv", "data/a.csv"), (b"...", "data/b.csv")],
                               concurrency=16)
    for failure in report.failed:
        print(failure.path, failure.error)

``upload`` and ``download`` are the async twins of :mod:`lakefs_sdk.transfer`'s: constant
memory, ``progress(bytes_done, bytes_total)`` callbacks. ``upload_many``,
``download_many`` and ``delete_many`` are the twins of the sync ones, one design with
them (:mod:`lakefs_sdk._bulk`): the same ``(source, destination)`` items and folders, the
same options and the same :class:`TransferReport`, with at most ``concurrency`` transfers
at a time as tasks of the running loop (also bounded by
``Configuration.connection_pool_maxsize``, the connections per host). ``on_item`` is
called on the loop as each item ends. Cancelling the call (Ctrl-C under
``asyncio.run`` does) cancels the transfers in flight and raises ``CancelledError``; the
items ``on_item`` was called for are those that completed.
"""

from __future__ import annotations

import asyncio
import os
from typing import IO, TYPE_CHECKING, Any, Awaitable, Callable, Iterable, List, Mapping, Optional, Tuple, Union

from lakefs_sdk import _bulk
from lakefs_sdk._bulk import DEFAULT_CONCURRENCY, Batch, BulkProgress, TransferReport, TransferResult

if TYPE_CHECKING:
    from lakefs_sdk._options import AsyncUploadContent
    from lakefs_sdk.aio.api.objects_api import ObjectsApi
    from lakefs_sdk.models.object_stats import ObjectStats

ProgressCallback = Callable[[int, Optional[int]], None]
ItemCallback = Callable[[TransferResult], None]
DownloadTarget = Union[str, "os.PathLike[str]", IO[bytes]]

__all__ = [
    "DEFAULT_CONCURRENCY",
    "TransferReport",
    "TransferResult",
    "delete_many",
    "download",
    "download_many",
    "upload",
    "upload_many",
]


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


async def upload_many(
    objects_api: ObjectsApi,
    repository: str,
    branch: str,
    items: Union[Iterable[Tuple[AsyncUploadContent, str]], Mapping[Any, str]],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    fail_fast: bool = False,
    progress: Optional[ProgressCallback] = None,
    on_item: Optional[ItemCallback] = None,
    content_type: Optional[str] = None,
    if_none_match: Optional[str] = None,
    force: Optional[bool] = None,
    **options: Any,
) -> TransferReport:
    """Upload each ``(content, repository path)`` of ``items``, at most ``concurrency`` at a time.

    As :func:`lakefs_sdk.transfer.upload_many` (folders, mappings, ``progress``,
    ``on_item``, ``fail_fast``, per-item retries, the report); ``content`` may also be an
    async iterable of bytes.
    """
    plan = _bulk.upload_plan(items)
    results, resendable = plan.results, plan.resendable
    aggregate = BulkProgress(progress, plan.sizes)
    batch = Batch(results, fail_fast)
    client = objects_api.api_client
    retry_statuses = if_none_match is None  # with If-None-Match the transport retries these itself

    async def one(result: TransferResult) -> Any:
        retries = 0
        while True:
            try:
                return await upload(
                    objects_api,
                    repository,
                    branch,
                    result.path,
                    result.local,
                    content_type=content_type,
                    if_none_match=if_none_match,
                    force=force,
                    progress=aggregate.for_item(result.index),
                    **options,
                )
            except Exception as error:
                delay = None
                if retry_statuses and resendable[result.index]:
                    delay = _bulk.retry_delay(client.rest_client.retry_policy(), retries, error)
                if delay is None or await _stopped_within(batch, delay):
                    raise
                retries += 1

    aggregate.start()
    return await _run_tasks(batch, _each(batch, one), _tasks(client, concurrency, len(results)), on_item)


async def download_many(
    objects_api: ObjectsApi,
    repository: str,
    ref: str,
    items: Union[Iterable[Tuple[str, DownloadTarget]], Mapping[str, DownloadTarget]],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    fail_fast: bool = False,
    progress: Optional[ProgressCallback] = None,
    on_item: Optional[ItemCallback] = None,
    presign: Optional[bool] = None,
    chunk_size: int = 1024 * 1024,
    **options: Any,
) -> TransferReport:
    """Download each ``(repository path, target)`` of ``items``, at most ``concurrency`` at a time.

    As :func:`lakefs_sdk.transfer.download_many`: path targets written atomically, a prefix
    paired with a folder downloads everything under it; each result's ``value`` is the
    number of bytes written.
    """
    from lakefs_sdk.exceptions import ApiConnectionError

    plan = await _download_plan(objects_api, repository, ref, items)
    results, refused = plan.finish(), plan.refused
    aggregate = BulkProgress(progress, plan.sizes)
    batch = Batch(results, fail_fast)
    client = objects_api.api_client

    async def one(result: TransferResult) -> Any:
        if result.index in refused:
            raise refused[result.index]
        retries = 0
        while True:
            response = await objects_api.get_object_without_preload_content(
                repository, ref, result.path, presign=presign, **options
            )
            async with response:
                try:
                    return await response.write_to(
                        result.local, progress=aggregate.for_item(result.index), chunk_size=chunk_size
                    )
                except ApiConnectionError:  # the body stopped arriving: a path target can start over
                    delay = _bulk.download_retry_delay(client.rest_client.retry_policy(), retries, result.local)
                    if delay is None or await _stopped_within(batch, delay):
                        raise
                    retries += 1

    aggregate.start()
    return await _run_tasks(batch, _each(batch, one), _tasks(client, concurrency, len(results)), on_item)


async def _download_plan(objects_api: ObjectsApi, repository: str, ref: str, items: Any) -> _bulk.DownloadPlan:
    """As the sync one: the items with every prefix listed (``_bulk.DownloadPlan``)."""
    plan = _bulk.DownloadPlan()
    for path, target in _bulk.download_pairs(items):
        if not _bulk.is_prefix(path):
            plan.add(path, target)
            continue
        async for stats in objects_api.list_objects_iter(repository, ref, prefix=path, amount=1000):
            plan.add_listed(path, target, stats.path, stats.size_bytes)
    return plan


async def delete_many(
    objects_api: ObjectsApi,
    repository: str,
    branch: str,
    paths: Iterable[str],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    fail_fast: bool = False,
    progress: Optional[ProgressCallback] = None,
    on_item: Optional[ItemCallback] = None,
    force: Optional[bool] = None,
    **options: Any,
) -> TransferReport:
    """Delete ``paths`` with the batch ``delete_objects`` call, 1,000 paths a request.

    As :func:`lakefs_sdk.transfer.delete_many`: the paths lakeFS answers it could not
    delete fail in the report with the exception of their status, the others succeed.
    """
    from lakefs_sdk.models.path_list import PathList

    checked = _bulk.delete_paths(paths)
    results = [TransferResult(i, path) for i, path in enumerate(checked)]
    groups = _bulk.batches(len(results))
    aggregate = BulkProgress(progress, [1] * len(results))
    batch = Batch(results, fail_fast, groups)
    client = objects_api.api_client

    async def delete_group(group: List[TransferResult]) -> None:
        group_paths = [r.path for r in group]
        retries = 0
        while True:
            try:
                response = await objects_api.delete_objects_with_http_info(
                    repository, branch, PathList(paths=group_paths), force=force, **options
                )
                break
            except Exception as error:
                delay = _bulk.retry_delay(client.rest_client.retry_policy(), retries, error)
                if delay is None or await _stopped_within(batch, delay):
                    raise
                retries += 1
        _bulk.record_deletes(batch, aggregate, group, response, repository, branch)

    aggregate.start()
    return await _run_tasks(batch, delete_group, _tasks(client, concurrency, len(groups)), on_item)


def _each(
    batch: Batch, one: Callable[[TransferResult], Awaitable[Any]]
) -> Callable[[List[TransferResult]], Awaitable[None]]:
    """Run ``one`` on each item of a group, recording its value or exception."""

    async def run(group: List[TransferResult]) -> None:
        for result in group:
            try:
                value = await one(result)
            except Exception as error:  # recorded, never dropped; cancellation propagates
                batch.fail(result, error)
            else:
                batch.succeed(result, value)

    return run


def _tasks(api_client: Any, concurrency: int, work: int) -> int:
    concurrency = _bulk.check_concurrency(concurrency)
    return _bulk.workers(concurrency, api_client.rest_client.max_connections, work)


async def _stopped_within(batch: Batch, seconds: float) -> bool:
    """Wait ``seconds`` before a retry; True when the batch was stopped meanwhile (then no retry)."""
    await asyncio.sleep(seconds)
    return batch.stopped.is_set()


async def _run_tasks(
    batch: Batch,
    work: Callable[[List[TransferResult]], Awaitable[None]],
    tasks: int,
    on_item: Optional[ItemCallback],
) -> TransferReport:
    """Run ``work`` on the batch's groups in ``tasks`` tasks of the running loop."""
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

    running = [asyncio.ensure_future(worker()) for _ in range(tasks)]
    try:
        await asyncio.gather(*running)
    except BaseException:
        batch.stop()
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        raise
    return batch.report()
