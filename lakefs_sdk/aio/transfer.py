"""Streaming uploads and downloads with progress reporting, for asyncio code.

Both directions stream: memory stays flat whatever the object size.

    from lakefs_sdk.aio.transfer import download, upload, tqdm_progress

    await upload(objects_api, "repo", "main", "data/big.bin", "big.bin", progress=tqdm_progress("upload"))
    await download(objects_api, "repo", "main", "data/big.bin", "copy.bin", progress=tqdm_progress("download"))
    await upload_presigned(staging_api, "repo", "main", "data/big.bin", "big.bin")  # straight to the store
    await supports_presign(api_client)  # whether the server's store presigns at all (asked once per client)

A progress callback is called as ``progress(bytes_done, bytes_total)``; ``bytes_total`` is
None when the size is not known in advance (an iterator upload, a response without
``Content-Length``).

Many objects at once, as tasks of the running event loop sharing one client::

    report = await upload_many(objects_api, "repo", "main", [("local/data", "raw/")], progress=tqdm_progress("ingest"))
    report = await download_many(objects_api, "repo", "main", [("raw/", "copy/")], concurrency=16)
    report = await delete_many(objects_api, "repo", "main", ["raw/a.csv", "raw/b.csv"])
    for failed in report.failed:
        print(failed.path, failed.error)

Items are ``(source, destination)`` pairs: ``(local path or content, repository path)`` to
upload, ``(repository path, local path or binary file)`` to download; a local folder
paired with a prefix (``""`` or ending in ``/``) stands for every file under it. Each call
returns a :class:`~lakefs_sdk._bulk.TransferReport` listing every item in order with its
outcome. The blocking module and the asyncio one have the same functions, with the same
items, options and report.
"""

# The source of lakefs_sdk/transfer.py too: edit here, then run python3 scripts/unasync.py, which writes it.
# What differs between threads and tasks lives in lakefs_sdk/_workers.py and lakefs_sdk/aio/_workers.py.

from __future__ import annotations

import os
import weakref
from typing import IO, TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlsplit

from lakefs_sdk import _bulk
from lakefs_sdk._bulk import (
    DEFAULT_CONCURRENCY,
    Batch,
    BulkProgress,
    TransferInterrupted,
    TransferReport,
    TransferResult,
)
from lakefs_sdk.aio._workers import GroupWork, ItemCallback, ItemWork, run_batch, stopped_within

if TYPE_CHECKING:
    from lakefs_sdk._options import AsyncUploadContent
    from lakefs_sdk.aio.api.objects_api import ObjectsApi
    from lakefs_sdk.aio.api.staging_api import StagingApi
    from lakefs_sdk.aio.api_client import AsyncApiClient
    from lakefs_sdk.models.object_stats import ObjectStats

ProgressCallback = Callable[[int, Optional[int]], None]
DownloadTarget = Union[str, "os.PathLike[str]", IO[bytes]]

__all__ = [
    "DEFAULT_CONCURRENCY",
    "TransferInterrupted",
    "TransferReport",
    "TransferResult",
    "delete_many",
    "download",
    "download_many",
    "supports_presign",
    "tqdm_progress",
    "upload",
    "upload_many",
    "upload_presigned",
]

# What each client's server said about presigning (None: it would not say). A server's
# storage does not change while a client talks to it; the entry goes with the client.
_PRESIGN_SUPPORT: weakref.WeakKeyDictionary[AsyncApiClient, Optional[bool]] = weakref.WeakKeyDictionary()


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
    """Upload ``content`` (bytes, a path, a binary file or an iterable of bytes) to ``path``.

    The body is sent raw as ``application/octet-stream``, streamed, with ``Content-Length``
    when the size is known. ``content_type`` replaces that header and lakeFS stores it as
    the object's media type; note that the published API description declares only
    ``application/octet-stream`` and ``multipart/form-data`` bodies for this operation, so
    a validating proxy or mock server may refuse other values.

    Pass ``if_none_match="*"`` to fail with ``PreconditionFailedException`` instead of
    overwriting an existing object. :mod:`lakefs_sdk.aio.transfer` also takes an async iterable of bytes.
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


async def upload_presigned(
    staging_api: StagingApi,
    repository: str,
    branch: str,
    path: str,
    content: AsyncUploadContent,
    *,
    content_type: Optional[str] = None,
    metadata: Optional[Dict[str, str]] = None,
    if_none_match: Optional[str] = None,
    if_match: Optional[str] = None,
    force: Optional[bool] = None,
    progress: Optional[ProgressCallback] = None,
) -> ObjectStats:
    """Upload ``content`` straight to the object store through a presigned URL, then link it.

    Three steps: ``get_physical_address(presign=True)`` reserves a location and a URL; the
    bytes are PUT to that URL (streamed, never with lakeFS credentials, retried like any
    idempotent call when the content can be re-read); ``link_physical_address`` makes the
    object appear at ``path`` with the store's ETag as its checksum. The data never passes
    through lakeFS.

    ``content`` must have a known size (bytes, a path or a seekable binary file): object
    stores refuse a PUT without ``Content-Length``. Raises ``ApiValueError`` for other
    content and when the server's store cannot presign (:func:`supports_presign`, asked once
    per client), before anything is written; a store error raises the ``ApiException``
    subclass of its status.
    """
    from lakefs_sdk._request import Request
    from lakefs_sdk._upload import UploadBody, UploadSource
    from lakefs_sdk.exceptions import ApiValueError, UnexpectedResponseError, exception_class_for
    from lakefs_sdk.models.staging_metadata import StagingMetadata

    source = UploadSource(content)
    if source.size is None or not source.rewindable:
        raise ApiValueError(
            "upload_presigned() needs content of known size (bytes, a path or a seekable binary file): "
            "object stores refuse a PUT without Content-Length; use upload() for streams"
        )
    if await supports_presign(staging_api.api_client) is False:
        raise ApiValueError(
            "upload_presigned(): this lakeFS server's object store does not support presigned URLs "
            "(get_config().storage_config.pre_sign_support is false); use upload()"
        )
    location = await staging_api.get_physical_address(repository, branch, path, presign=True)
    url = location.presigned_url
    if not url:
        raise ApiValueError(
            f"lakeFS gave no presigned URL for {repository}/{branch}/{path}: "
            "its object store does not support presigned uploads; use upload()"
        )
    body = UploadBody(source, progress=progress)
    rest = staging_api.api_client.rest_client
    headers = store_put_headers(url, content_type, source.size)
    # The client's transport, not the client: no lakeFS credential goes to the store.
    response = await rest.send(Request("PUT", url, headers, body))
    if not 200 <= response.status <= 299:
        error = exception_class_for(response.status)(http_resp=response)
        error.api_method = "upload_presigned"  # the store's answer to the PUT of the bytes
        error.arguments = {"repository": repository, "branch": branch, "path": path}
        raise error
    etag = (response.headers.get("ETag") or "").strip('"')
    if not etag:
        raise UnexpectedResponseError(
            response.status, "the object store accepted the upload but sent no ETag to link it with", http_resp=response
        )
    staging = StagingMetadata(
        staging=location,
        checksum=etag,
        size_bytes=source.size,
        user_metadata=metadata,
        content_type=content_type,
        force=force,
    )
    return await staging_api.link_physical_address(
        repository, branch, path, staging, if_none_match=if_none_match, if_match=if_match
    )


async def supports_presign(api_client: AsyncApiClient) -> Optional[bool]:
    """Whether the server behind ``api_client`` can hand out presigned URLs of its store.

    Reads ``ConfigApi.get_config().storage_config.pre_sign_support`` once per client and
    keeps the answer. ``None`` when the server does not say (no storage settings, or the
    configuration is not readable with these credentials). With several stores configured,
    True when any of them presigns. The local blockstore never does.
    """
    try:
        return _PRESIGN_SUPPORT[api_client]
    except KeyError:
        pass
    from lakefs_sdk.aio.api.config_api import ConfigApi
    from lakefs_sdk.exceptions import ForbiddenException, NotFoundException, NotImplementedException

    answer: Optional[bool] = None
    try:
        config = await ConfigApi(api_client).get_config()
    except (ForbiddenException, NotFoundException, NotImplementedException):
        config = None
    if config is not None and config.storage_config is not None:
        answer = config.storage_config.pre_sign_support
    elif config is not None and config.storage_config_list:
        answer = any(storage.pre_sign_support for storage in config.storage_config_list)
    _PRESIGN_SUPPORT[api_client] = answer
    return answer


def store_put_headers(url: str, content_type: Optional[str], length: int) -> Dict[str, str]:
    """The headers of a PUT of ``length`` bytes to the presigned URL ``url``."""
    headers = {"Content-Type": content_type or "application/octet-stream", "Content-Length": str(length)}
    if (urlsplit(url).hostname or "").endswith(".blob.core.windows.net"):
        headers["x-ms-blob-type"] = "BlockBlob"  # Azure refuses a PUT that does not name the blob type
    return headers


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
    """Stream object ``path`` at ``ref`` into ``target`` (a path or a binary file); return its size.

    A path target is written atomically: the data goes to a temporary file beside it that
    replaces the target only once complete and as long as announced. ``range`` takes an
    HTTP byte range such as ``"bytes=0-1023"``.
    """
    response = await objects_api.get_object_without_preload_content(
        repository, ref, path, range=range, presign=presign, **options
    )
    async with response:
        return await response.write_to(target, progress=progress, chunk_size=chunk_size)


def tqdm_progress(description: Optional[str] = None, **tqdm_options: Any) -> ProgressCallback:
    """A progress callback that draws a tqdm bar (install the ``progress`` extra for tqdm)."""
    try:
        from tqdm.auto import tqdm
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("tqdm_progress needs tqdm: pip install 'lakefs-sdk[progress]'") from error
    bar = tqdm(desc=description, unit="B", unit_scale=True, unit_divisor=1024, **tqdm_options)

    def update(done: int, total: Optional[int]) -> None:
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)
        if total is not None and done >= total:
            bar.close()

    return update


# -- many at once ---------------------------------------------------------------------------------


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
    """Upload each ``(content, repository path)`` of ``items``, ``concurrency`` at a time.

    ``content`` is what :func:`upload` takes (a path, bytes, a binary file, an iterable of
    bytes); a local folder paired with a prefix (``"raw/"``, or ``""`` for the top) uploads
    every file under it, at the prefix plus its path in the folder. A mapping
    ``{content: repository path}`` works as well.

    Runs at most ``concurrency`` tasks of the running event loop sharing the client
    (and never more than ``Configuration.connection_pool_maxsize``, the connections it
    keeps per host). Returns a :class:`TransferReport` with one :class:`TransferResult`
    per file, in order: its ``ObjectStats``, or the exception it failed with.
    ``progress(bytes_done, bytes_total)`` adds up every file (the same callbacks as
    :func:`upload`, so :func:`tqdm_progress` draws one bar);
    ``on_item(result)`` is called on the event loop as each file ends.
    ``fail_fast=True`` starts no new file after the first failure (the rest are reported
    skipped; a file waiting to be retried gives up at once).
    Cancelling the call (Ctrl-C under ``asyncio.run`` does) starts no new file, cancels
    those in flight and raises ``CancelledError``.

    Each file is retried on the client's retry policy: its own budget of
    ``Configuration.max_retries`` for what the transport retries, and, as an upload of the
    same bytes to the same path can be repeated without harm, also after a 408, 429 or 5xx
    answer when its content can be read again. ``if_none_match="*"`` refuses to overwrite
    (such a file fails with ``PreconditionFailedException``). Bad items (a malformed pair,
    an empty or repeated repository path) raise ``ApiValueError`` before anything is sent.
    """
    plan = _bulk.upload_plan(items)
    results, resendable = plan.results, plan.resendable
    aggregate = BulkProgress(progress, plan.sizes)
    batch = Batch(results, fail_fast)
    client = objects_api.api_client
    # With If-None-Match the transport already retries these answers itself.
    retry_statuses = if_none_match is None

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
                    delay = _bulk.retry_delay(client.retry_policy(), retries, error)
                if delay is None or await stopped_within(batch, delay):
                    raise
                retries += 1

    aggregate.start()
    workers = _worker_count(client, concurrency, len(results))
    return await run_batch(batch, _each(batch, one), workers, on_item)


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
    """Download each ``(repository path, target)`` of ``items``, ``concurrency`` at a time.

    A target is a local path (written atomically, as by :func:`download`: a failed item
    leaves it untouched) or a binary file. A prefix (``"raw/"``, or ``""`` for the whole
    ref) paired with a local folder downloads every object under it into the folder, at
    its path after the prefix (sub-folders created); it is listed first, and an object
    whose key would land outside the folder (a ``..`` part) fails with ``ApiValueError``.

    Concurrency, ``progress``, ``on_item``, ``fail_fast``, interruption and the report are
    as for :func:`upload_many`; each successful result's ``value`` is the number of bytes
    written. Each object is retried on the client's retry policy: the transport's retries,
    and, for a path target, the whole download again when the body stops arriving.
    """
    plan = await _download_plan(objects_api, repository, ref, items)
    results, refused = plan.finish(), plan.refused
    aggregate = BulkProgress(progress, plan.sizes)
    batch = Batch(results, fail_fast)
    client = objects_api.api_client

    async def one(result: TransferResult) -> Any:
        from lakefs_sdk.exceptions import ApiConnectionError

        if result.index in refused:  # a listed key that cannot be a file in the folder
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
                    delay = _bulk.download_retry_delay(client.retry_policy(), retries, result.local)
                    if delay is None or await stopped_within(batch, delay):
                        raise
                    retries += 1

    aggregate.start()
    workers = _worker_count(client, concurrency, len(results))
    return await run_batch(batch, _each(batch, one), workers, on_item)


async def _download_plan(objects_api: ObjectsApi, repository: str, ref: str, items: Any) -> _bulk.DownloadPlan:
    """The items with every prefix listed (``_bulk.DownloadPlan``)."""
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
    """Delete ``paths`` from ``branch`` with the batch ``delete_objects`` call, 1,000 paths a request.

    Requests run ``concurrency`` at a time. lakeFS answers each request with the paths it
    could not delete; each of those fails in the report with the exception a single call
    would raise for its status (``ForbiddenException`` for a protected branch ...), the
    others succeed (a path that did not exist counts as deleted, as lakeFS says). A request
    that fails as a whole fails all its paths. ``progress(paths_done, paths_total)`` counts
    paths; ``on_item``, ``fail_fast`` (no new request after one with a failure),
    interruption and the retries on the client's policy are as for :func:`upload_many`.
    """
    checked = _bulk.delete_paths(paths)
    results = [TransferResult(i, path) for i, path in enumerate(checked)]
    groups = _bulk.batches(len(results))
    aggregate = BulkProgress(progress, [1] * len(results))
    batch = Batch(results, fail_fast, groups)
    client = objects_api.api_client

    async def delete_group(group: List[TransferResult]) -> None:
        from lakefs_sdk.models.path_list import PathList

        group_paths = [r.path for r in group]
        retries = 0
        while True:
            try:
                response = await objects_api.delete_objects_with_http_info(
                    repository, branch, PathList(paths=group_paths), force=force, **options
                )
                break
            except Exception as error:
                delay = _bulk.retry_delay(client.retry_policy(), retries, error)
                if delay is None or await stopped_within(batch, delay):
                    raise
                retries += 1
        _bulk.record_deletes(batch, aggregate, group, response, repository, branch)

    aggregate.start()
    return await run_batch(batch, delete_group, _worker_count(client, concurrency, len(groups)), on_item)


def _each(batch: Batch, one: ItemWork) -> GroupWork:
    """Run ``one`` on each item of a group, recording its value or exception."""

    async def run(group: List[TransferResult]) -> None:
        for result in group:
            try:
                value = await one(result)
            except Exception as error:  # recorded, never dropped; an interruption propagates
                batch.fail(result, error)
            else:
                batch.succeed(result, value)

    return run


def _worker_count(api_client: AsyncApiClient, concurrency: int, work: int) -> int:
    """How many items run at once: ``concurrency`` (checked), within the client's connections per host."""
    concurrency = _bulk.check_concurrency(concurrency)
    return _bulk.workers(concurrency, api_client.rest_client.max_connections, work)
