"""Streaming uploads and downloads with progress reporting, for asyncio code.

Both directions stream: memory stays flat whatever the object size.

    from lakefs_sdk.aio.transfer import download, upload, tqdm_progress

    await upload(objects_api, "repo", "main", "data/big.bin", "big.bin", progress=tqdm_progress("upload"))
    await download(objects_api, "repo", "main", "data/big.bin", "copy.bin", progress=tqdm_progress("download"))
    await upload_presigned(staging_api, "repo", "main", "data/big.bin", "big.bin")  # straight to the store
    # ... in parts of part_size, concurrency at a time, from multipart_threshold on (8 MiB, 8 MiB, 8)
    await supports_presign(api_client)  # whether the server's store presigns at all (asked once per client)

A progress callback is called as ``progress(bytes_done, bytes_total)``; ``bytes_total`` is
None when the size is not known in advance (an iterator upload, a response without
``Content-Length``).

Many objects at once, as tasks of the running event loop sharing one client::

    report = await upload_many(objects_api, "repo", "main", [("local/data", "raw/")], progress=tqdm_progress("ingest"))
    report = await download_many(objects_api, "repo", "main", [("raw/", "copy/")], concurrency=16)
    report = await upload_many(objects_api, "repo", "main", [("local/data", "raw/")], presign=True)  # not via lakeFS
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
from collections.abc import AsyncIterator
from typing import IO, TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Mapping, Optional, Protocol, Tuple, Union
from urllib.parse import urlsplit

from lakefs_sdk import _bulk, _multipart
from lakefs_sdk._bulk import (
    DEFAULT_CONCURRENCY,
    Batch,
    BulkProgress,
    TransferInterrupted,
    TransferReport,
    TransferResult,
)
from lakefs_sdk.aio._workers import (
    GroupWork,
    ItemCallback,
    ItemWork,
    PartPool,
    run_batch,
    stopped_within,
    stream_chunks,
)

if TYPE_CHECKING:
    from lakefs_sdk._options import AsyncUploadContent
    from lakefs_sdk._request import Request
    from lakefs_sdk.aio.api.objects_api import ObjectsApi
    from lakefs_sdk.aio.api.staging_api import StagingApi
    from lakefs_sdk.aio.api_client import AsyncApiClient
    from lakefs_sdk.models.object_stats import ObjectStats
    from lakefs_sdk.models.staging_location import StagingLocation

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
_PRESIGN_SUPPORT: weakref.WeakKeyDictionary[AsyncApiClient, Tuple[Optional[bool], Optional[bool]]] = (
    weakref.WeakKeyDictionary()
)


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
    multipart_threshold: int = _multipart.DEFAULT_MULTIPART_THRESHOLD,
    part_size: int = _multipart.DEFAULT_PART_SIZE,
    concurrency: int = _multipart.DEFAULT_PART_CONCURRENCY,
) -> ObjectStats:
    """Upload ``content`` straight to the object store through presigned URLs, then link it.

    The data never passes through lakeFS, and no lakeFS credential goes to the store.
    ``progress(bytes_done, bytes_total)`` adds up everything sent.

    Below ``multipart_threshold`` bytes (8 MiB), one PUT: ``get_physical_address(presign=True)``
    reserves a location and a URL, the bytes are PUT there (retried like any idempotent
    call), ``link_physical_address`` makes the object appear with the store's ETag.

    At the threshold and above, and for content of unknown size, a multipart upload:
    ``create_presign_multipart_upload`` hands out a URL per part, parts of ``part_size``
    bytes (8 MiB; at least 5 MiB, raised to whole MiB when 10,000 parts would not hold the
    content) go ``concurrency`` (8) at a time, each retried on the client's retry policy and
    its URL asked for again when it expires within 15 seconds, then
    ``complete_presign_multipart_upload`` joins them. Any failure, Ctrl-C or cancellation
    aborts the upload (``abort_presign_multipart_upload``) and re-raises; nothing is linked.

    A URL that expires while its PUT is retried (a 403 from the store that says "Request
    has expired", or any 403 once the URL is within 15 seconds of its end) is asked for
    again and the bytes sent anew, at most twice per PUT (their progress starts over, never
    counted twice): a part gets a fresh URL for the same upload; the single PUT gets a new
    location (``get_physical_address`` again; the one left holds nothing and is not linked),
    and the location linked is the one that took the bytes. A URL already that close to
    its end is asked for again before it is used. Any other refusal fails at once.

    ``content``: bytes, a path, a seekable binary file (each part is read from it again on
    a retry), or a stream (an iterable of bytes, a non-seekable binary file;
    :mod:`lakefs_sdk.aio.transfer` also takes an async iterable): a stream is held one part
    at a time per part in flight, at most about ``max(multipart_threshold, concurrency x
    part_size)`` bytes, and has at most 10,000 parts.

    ``if_none_match="*"`` refuses to overwrite (``PreconditionFailedException``). The
    complete call takes no condition of its own: for a multipart upload the path is
    checked before the upload starts and again just before it completes (a write to it in
    between those moments is not detected). ``if_match`` and ``force`` need the single PUT
    (only ``link_physical_address`` takes them): given them, the content is not split, so
    it must have a known size (and the store's single-PUT limit, 5 GiB on S3, applies).

    Raises ``ApiValueError`` for bad arguments, and when the server's store cannot presign
    (:func:`supports_presign`, asked once per client) or cannot take a stream (no presigned
    multipart uploads), before anything is written; a store error raises the
    ``ApiException`` subclass of its status.
    """
    from lakefs_sdk._upload import UploadSource
    from lakefs_sdk.exceptions import ApiValueError

    _multipart.check_settings(multipart_threshold, part_size, concurrency)
    source = UploadSource(content)
    sized = source.size is not None and source.rewindable
    single_only = if_match is not None or force is not None
    if not sized and single_only:
        raise ApiValueError(
            "upload_presigned(): if_match and force need content of known size (bytes, a path or a seekable "
            "binary file): only the single-PUT upload takes them"
        )
    presign, multipart = await _presign_support(staging_api.api_client)
    if presign is False:
        raise ApiValueError(
            "upload_presigned(): this lakeFS server's object store does not support presigned URLs "
            "(get_config().storage_config.pre_sign_support is false); use upload()"
        )
    if not sized and multipart is False:
        raise ApiValueError(
            "upload_presigned() needs content of known size (bytes, a path or a seekable binary file) here: "
            "this server's store takes no presigned multipart uploads, and a single PUT needs Content-Length; "
            "use upload() for streams"
        )
    target = _Target(staging_api, repository, branch, path, content_type, metadata, if_none_match)
    if sized:
        assert source.size is not None
        if single_only or multipart is False or not _multipart.uses_multipart(source.size, multipart_threshold):
            return await _put_once(target, source, if_match, force, progress)
        plan = _multipart.plan_parts(source.size, part_size)
        return await _put_parts(target, _sized_parts(content, plan), plan.size, plan.count, concurrency, progress)
    stream = content[1] if isinstance(content, tuple) else content
    chunks = stream_chunks(stream, _CHUNK_SIZE)
    head: List[Any] = []
    buffered = 0
    async for chunk in chunks:  # the first multipart_threshold bytes tell whether it is large
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"upload iterables must yield bytes, got {type(chunk).__name__}")
        head.append(chunk)
        buffered += len(chunk)
        if buffered >= multipart_threshold:
            return await _put_parts(target, _stream_parts(head, chunks, part_size), None, None, concurrency, progress)
    return await _put_once(target, UploadSource(b"".join(head)), None, None, progress)


_CHUNK_SIZE = 1024 * 1024


class _Target:
    """Where an upload goes, and what the object gets."""

    def __init__(
        self,
        staging_api: StagingApi,
        repository: str,
        branch: str,
        path: str,
        content_type: Optional[str],
        metadata: Optional[Dict[str, str]],
        if_none_match: Optional[str],
    ) -> None:
        self.staging_api = staging_api
        self.api_client = staging_api.api_client
        self.repository, self.branch, self.path = repository, branch, path
        self.content_type, self.metadata, self.if_none_match = content_type, metadata, if_none_match

    def arguments(self) -> Dict[str, Any]:
        return {"repository": self.repository, "branch": self.branch, "path": self.path}


async def _put_once(
    target: _Target, source: Any, if_match: Optional[str], force: Optional[bool], progress: Optional[ProgressCallback]
) -> ObjectStats:
    """One PUT of the whole content to a presigned URL, then ``link_physical_address``."""
    from lakefs_sdk._request import Request
    from lakefs_sdk._upload import UploadBody
    from lakefs_sdk.exceptions import ApiValueError
    from lakefs_sdk.models.staging_metadata import StagingMetadata

    staging_api = target.staging_api
    reserved: List[StagingLocation] = []  # the last one is where the content went

    async def reserve() -> str:
        """A new staging location and its URL; one reserved before and not written to is simply left."""
        location = await staging_api.get_physical_address(target.repository, target.branch, target.path, presign=True)
        if not location.presigned_url:
            raise ApiValueError(
                f"lakeFS gave no presigned URL for {target.repository}/{target.branch}/{target.path}: "
                "its object store does not support presigned uploads; use upload()"
            )
        reserved.append(location)
        return location.presigned_url

    def put(url: str) -> Request:
        # Each body reads the content again from its start; its progress restarts from zero, never counted twice.
        body = UploadBody(source, progress=progress)
        return Request("PUT", url, store_put_headers(url, target.content_type, source.size), body)

    etag = await _put_to_store(target, await reserve(), reserve, put, target.path)
    staging = StagingMetadata(
        staging=reserved[-1],
        checksum=etag,
        size_bytes=source.size,
        user_metadata=target.metadata,
        content_type=target.content_type,
        force=force,
    )
    return await staging_api.link_physical_address(
        target.repository, target.branch, target.path, staging, if_none_match=target.if_none_match, if_match=if_match
    )


class _FreshUrl(Protocol):
    """Asks lakeFS for a fresh presigned URL for the bytes about to be PUT."""

    async def __call__(self) -> str: ...


async def _put_to_store(
    target: _Target, url: Optional[str], fresh_url: _FreshUrl, request: Callable[[str], Request], what: str
) -> str:
    """PUT ``request(url)`` to the store and return the store's ETag (its error raised as ``_store_etag`` does).

    ``url`` (None: none yet) is replaced by ``fresh_url()`` when it expires within the
    margin of ``_multipart.expiring``; a fresh one is sent as it comes. When the store
    refuses the PUT because its URL expired (the transport's retries resend the same URL,
    and their waits can outlast it), it is sent again with a fresh URL, at most
    ``_multipart.MAX_URL_REFRESHES`` times. ``request`` builds each attempt's request,
    its body read again from the start. ``what`` names the bytes in the log.
    """
    import time

    rest = target.api_client.rest_client
    refreshes = 0
    while True:
        if url is None or _multipart.expiring(url, time.time()):
            url = await fresh_url()
        _check_store_url(url, target)
        # The client's transport, not the client: no lakeFS credential goes to the store.
        response = await rest.send(request(url))
        if refreshes < _multipart.MAX_URL_REFRESHES and _multipart.expired_refusal(
            response.status, url, response.data, time.time()
        ):
            refreshes += 1
            _bulk.logger.info("%s: its presigned URL expired; asking for a fresh one", what)
            url = None
            continue
        return _store_etag(response, target)


def _check_store_url(url: str, target: _Target) -> None:
    """Refuse a presigned URL that is not HTTP(S) (a mock server's placeholder); the URL is not quoted: it is signed."""
    from lakefs_sdk.exceptions import ApiValueError

    if urlsplit(url).scheme not in ("http", "https"):
        raise ApiValueError(
            f"lakeFS gave a presigned URL for {target.repository}/{target.branch}/{target.path} that is not an "
            "http(s) URL; a real lakeFS with a presigning store gives one"
        )


def _store_etag(response: Any, target: _Target) -> str:
    """The ETag of the store's answer to a PUT; the store's error, or ``UnexpectedResponseError`` without one."""
    from lakefs_sdk.exceptions import UnexpectedResponseError, exception_class_for

    if not 200 <= response.status <= 299:
        error = exception_class_for(response.status)(http_resp=response)
        error.api_method = "upload_presigned"  # the store's answer to the PUT of the bytes
        error.arguments = target.arguments()
        raise error
    etag = (response.headers.get("ETag") or "").strip('"')
    if not etag:
        raise UnexpectedResponseError(
            response.status, "the object store accepted the upload but sent no ETag to link it with", http_resp=response
        )
    return etag


async def _sized_parts(content: Any, plan: _multipart.PartPlan) -> AsyncIterator[_multipart.PartSource]:
    """The parts of content of known size, each read from the content again on every attempt."""
    import threading

    inner = content[1] if isinstance(content, tuple) else content
    if isinstance(inner, (bytes, bytearray, memoryview)):
        view = memoryview(inner).cast("B")
        for number in range(1, plan.count + 1):
            offset, length = plan.span(number)
            yield _multipart.BufferPart([view[offset : offset + length]])
    elif isinstance(inner, str) or hasattr(inner, "__fspath__"):
        for number in range(1, plan.count + 1):
            yield _multipart.PathPart(os.fspath(inner), *plan.span(number))
    else:
        start, lock = inner.tell(), threading.Lock()
        for number in range(1, plan.count + 1):
            offset, length = plan.span(number)
            yield _multipart.SharedFilePart(inner, lock, start + offset, length)


async def _stream_parts(
    head: List[Any], chunks: AsyncIterator[Any], part_size: int
) -> AsyncIterator[_multipart.PartSource]:
    """The parts of a stream: ``head`` (already read), then the rest of ``chunks``, in parts of ``part_size``."""
    splitter = _multipart.StreamSplitter(part_size)
    count = 0
    # Parts are popped, never bound to a name here: a part sent must not stay alive in this frame.
    while head:
        complete = splitter.feed(head.pop(0))
        while complete:
            count += 1
            yield _multipart.BufferPart(complete.pop(0))
    async for chunk in chunks:
        complete = splitter.feed(chunk)
        while complete:
            count += 1
            yield _multipart.BufferPart(complete.pop(0))
    if splitter.buffered or not count:  # a stream of whole parts has no short last one
        yield _multipart.BufferPart(splitter.rest())


async def _put_parts(
    target: _Target,
    parts: AsyncIterator[_multipart.PartSource],
    size: Optional[int],
    count: Optional[int],
    concurrency: int,
    progress: Optional[ProgressCallback],
) -> ObjectStats:
    """A presigned multipart upload of ``parts``: created, sent, completed; aborted on any failure."""
    import functools

    from lakefs_sdk._request import Request
    from lakefs_sdk._upload import UploadBody
    from lakefs_sdk.aio.api.experimental_api import ExperimentalApi
    from lakefs_sdk.exceptions import ApiValueError
    from lakefs_sdk.models.complete_presign_multipart_upload import CompletePresignMultipartUpload
    from lakefs_sdk.models.upload_part import UploadPart
    from lakefs_sdk.models.upload_part_from import UploadPartFrom

    if target.if_none_match not in (None, "*"):
        raise ApiValueError(f"upload_presigned(): if_none_match must be '*' or None, got {target.if_none_match!r}")
    experimental = ExperimentalApi(target.api_client)
    repository, branch, path = target.repository, target.branch, target.path
    if target.if_none_match is not None:
        await _refuse_existing(target)
    # A URL per part when their number is known; a stream's parts ask for theirs one by one.
    started = await experimental.create_presign_multipart_upload(repository, branch, path, parts=count)
    upload_id, address = started.upload_id, started.physical_address
    urls = dict(enumerate(started.presigned_urls or [], start=1))
    etags: Dict[int, str] = {}
    tracker = _multipart.PartProgress(progress, size)
    rest = target.api_client.rest_client
    # Within the connections the client keeps per host (the store is one host): more would churn them.
    pool = PartPool(_bulk.workers(concurrency, rest.max_connections, count or concurrency))

    async def send_part(number: int, part: _multipart.PartSource) -> None:
        async def fresh_url() -> str:
            fresh = await experimental.upload_part(
                repository, branch, upload_id, path, number, UploadPartFrom(physical_address=address)
            )
            return fresh.presigned_url

        def put(url: str) -> Request:
            # A part reads its bytes again for each body; its progress restarts from zero, never counted twice.
            body = UploadBody(part, progress=tracker.for_part(number))
            return Request("PUT", url, {"Content-Length": str(part.size)}, body)

        url = urls.pop(number, None)
        etags[number] = await _put_to_store(target, url, fresh_url, put, f"part {number} of {path}")

    try:
        number, total = 0, 0
        await pool.ready()
        async for part in parts:
            number += 1
            if number > _multipart.MAX_PARTS:
                raise ApiValueError(
                    f"upload_presigned(): the content needs more than {_multipart.MAX_PARTS} parts of "
                    f"{part.size} bytes; pass a larger part_size"
                )
            assert part.size is not None
            total += part.size
            pool.start(functools.partial(send_part, number, part))
            del part  # held by its sender only, so that it is freed once sent
            await pool.ready()
        await pool.wait()
        missing = [n for n in range(1, number + 1) if n not in etags]
        if missing:  # never reached: a part that fails fails the upload; checked, as completing would lose data
            raise RuntimeError(f"upload_presigned(): parts {missing} were not sent; the upload was aborted")
        tracker.finish(total)
        if target.if_none_match is not None:
            await _refuse_existing(target)
        completion = CompletePresignMultipartUpload(
            physical_address=address,
            parts=[UploadPart(part_number=n, etag=etags[n]) for n in range(1, number + 1)],
            user_metadata=target.metadata,
            content_type=target.content_type,
        )
        # Sent along in case the server honours it; the check above is what the API promises.
        conditions: Dict[str, Any] = {}
        if target.if_none_match is not None:
            conditions["_headers"] = {"If-None-Match": target.if_none_match}
        return await experimental.complete_presign_multipart_upload(
            repository, branch, upload_id, path, completion, **conditions
        )
    except BaseException:
        await pool.stop()
        await _abort(experimental, target, upload_id, address)
        raise


async def _abort(experimental: Any, target: _Target, upload_id: str, address: str) -> None:
    """Abort a multipart upload that failed; an error of the abort is logged, never raised over the first."""
    from lakefs_sdk.models.abort_presign_multipart_upload import AbortPresignMultipartUpload

    try:
        aborted = AbortPresignMultipartUpload(physical_address=address)
        await experimental.abort_presign_multipart_upload(
            target.repository, target.branch, upload_id, target.path, aborted
        )
    except Exception as error:  # the original failure is what the caller must see
        _bulk.logger.warning("could not abort the multipart upload to %s: %s", target.path, error)


async def _refuse_existing(target: _Target) -> None:
    """``PreconditionFailedException`` when an object exists at the target path (``if_none_match="*"``)."""
    from lakefs_sdk.aio.api.objects_api import ObjectsApi
    from lakefs_sdk.exceptions import NotFoundException, exception_class_for
    from lakefs_sdk.models.error import Error

    try:
        await ObjectsApi(target.api_client).stat_object(target.repository, target.branch, target.path)
    except NotFoundException:
        return
    message = "an object exists at this path and if_none_match='*' was given"
    error = exception_class_for(412)(412, "Precondition Failed", data=Error(message=message))
    error.api_method = "upload_presigned"
    error.arguments = target.arguments()
    raise error


async def supports_presign(api_client: AsyncApiClient) -> Optional[bool]:
    """Whether the server behind ``api_client`` can hand out presigned URLs of its store.

    Reads ``ConfigApi.get_config().storage_config.pre_sign_support`` once per client and
    keeps the answer. ``None`` when the server does not say (no storage settings, or the
    configuration is not readable with these credentials). With several stores configured,
    True when any of them presigns. The local blockstore never does.
    """
    return (await _presign_support(api_client))[0]


async def _presign_support(api_client: AsyncApiClient) -> Tuple[Optional[bool], Optional[bool]]:
    """Whether the server's store presigns, and whether it takes presigned multipart uploads (None: not said)."""
    try:
        return _PRESIGN_SUPPORT[api_client]
    except KeyError:
        pass
    from lakefs_sdk.aio.api.config_api import ConfigApi
    from lakefs_sdk.exceptions import ForbiddenException, NotFoundException, NotImplementedException

    answer: Tuple[Optional[bool], Optional[bool]] = (None, None)
    try:
        config = await ConfigApi(api_client).get_config()
    except (ForbiddenException, NotFoundException, NotImplementedException):
        config = None
    stores = []
    if config is not None and config.storage_config is not None:
        stores = [config.storage_config]
    elif config is not None and config.storage_config_list:
        stores = list(config.storage_config_list)
    if stores:
        said = [s.pre_sign_multipart_upload for s in stores if s.pre_sign_multipart_upload is not None]
        answer = (any(s.pre_sign_support for s in stores), any(said) if said else None)
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

    A path target is written atomically: the data goes to a new file in its folder that
    becomes the target only once complete and as long as announced; missing folders are
    created, and an error names the target, never the temporary file. ``range`` takes an
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
    presign: Optional[bool] = None,
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
    an empty or repeated repository path) raise ``ApiValueError`` before anything is sent,
    and a keyword it does not take raises ``ApiTypeError``.

    ``presign=True`` sends the bytes straight to the object store, never through lakeFS
    (:func:`upload_presigned` per file, which goes multipart for large files and streams),
    and raises ``ApiValueError`` before anything starts when the server's store cannot
    presign. ``presign=None`` (the default) does so when the server says its store
    presigns (:func:`supports_presign`) and no per-call option is given (those are for
    requests to lakeFS); ``presign=False`` never does.
    """
    _bulk.check_options("upload_many", options)
    _bulk.check_concurrency(concurrency)
    _bulk.check_presign("upload_many", presign)
    plan = _bulk.upload_plan(items)
    results, resendable = plan.results, plan.resendable
    aggregate = BulkProgress(progress, plan.sizes)
    batch = Batch(results, fail_fast)
    client = objects_api.api_client
    presigned = await _upload_presign(client, presign, options, resendable)
    staging_api = _staging_api(client)
    workers = _worker_count(client, concurrency, len(results))
    # The files in flight share the connections to the store: their parts go this many at a time each.
    part_concurrency = max(1, min(_multipart.DEFAULT_PART_CONCURRENCY, client.rest_client.max_connections // workers))
    # With If-None-Match the transport already retries these answers itself.
    retry_statuses = if_none_match is None

    async def one(result: TransferResult) -> Any:
        retries = 0
        while True:
            try:
                if presigned(result.index):
                    return await upload_presigned(
                        staging_api,
                        repository,
                        branch,
                        result.path,
                        result.local,
                        content_type=content_type,
                        if_none_match=if_none_match,
                        force=force,
                        progress=aggregate.for_item(result.index),
                        concurrency=part_concurrency,
                    )
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

    ``presign=True`` reads the bytes straight from the object store (lakeFS answers
    ``get_object(presign=True)`` with a redirect to a presigned URL, which the client
    follows without sending its lakeFS credentials there) and raises ``ApiValueError``
    before anything starts when the server's store cannot presign; ``presign=None`` (the
    default) does so when the server says its store presigns; ``presign=False`` never.
    """
    _bulk.check_options("download_many", options)
    _bulk.check_concurrency(concurrency)
    _bulk.check_presign("download_many", presign)
    pairs = _bulk.download_pairs(items)
    _bulk.refuse_duplicate_targets([target for path, target in pairs if not _bulk.is_prefix(path)])
    presign = await _download_presign(objects_api.api_client, presign)
    plan = await _download_plan(objects_api, repository, ref, pairs)
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


async def _download_plan(
    objects_api: ObjectsApi, repository: str, ref: str, pairs: List[Tuple[str, Any]]
) -> _bulk.DownloadPlan:
    """The checked pairs with every prefix listed (``_bulk.DownloadPlan``)."""
    plan = _bulk.DownloadPlan()
    for path, target in pairs:
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
    A keyword it does not take raises ``ApiTypeError`` before anything is sent.
    """
    _bulk.check_options("delete_many", options)
    _bulk.check_concurrency(concurrency)
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


async def _upload_presign(
    api_client: AsyncApiClient, presign: Optional[bool], options: Dict[str, Any], resendable: List[bool]
) -> Callable[[int], bool]:
    """Which items of an ``upload_many`` go straight to the store (``presign=True`` checked up front)."""
    from lakefs_sdk.exceptions import ApiException, ApiValueError

    if presign is False or (presign is None and options):
        return lambda index: False
    if presign:
        if options:
            raise ApiValueError(
                f"upload_many(presign=True) takes no per-call options ({', '.join(options)}): they are for "
                "requests to lakeFS, and the bytes go to the object store"
            )
        supported, multipart = await _presign_support(api_client)
        if supported is False:
            raise _bulk.presign_refused("upload_many")
        if multipart is False and not all(resendable):
            raise ApiValueError(
                "upload_many(presign=True): this server's store takes no presigned multipart uploads, which "
                "content of unknown size (a stream) needs; pass presign=None to send those through lakeFS"
            )
        return lambda index: True
    try:
        supported, multipart = await _presign_support(api_client)
    except ApiException:  # the configuration could not be read: upload through lakeFS
        return lambda index: False
    if not supported:
        return lambda index: False
    return lambda index: multipart is not False or resendable[index]


async def _download_presign(api_client: AsyncApiClient, presign: Optional[bool]) -> Optional[bool]:
    """The ``presign`` argument each ``get_object`` of a ``download_many`` gets (``presign=True`` checked)."""
    from lakefs_sdk.exceptions import ApiException

    if presign is False:
        return False
    try:
        supported = await supports_presign(api_client)
    except ApiException:
        if presign:
            raise
        return None
    if presign and supported is False:
        raise _bulk.presign_refused("download_many")
    return True if presign or supported else None


def _staging_api(api_client: AsyncApiClient) -> StagingApi:
    from lakefs_sdk.aio.api.staging_api import StagingApi

    return StagingApi(api_client)


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
