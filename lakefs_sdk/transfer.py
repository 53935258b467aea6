"""Streaming uploads and downloads with progress reporting.

Both directions stream: memory stays flat whatever the object size.

    from lakefs_sdk.transfer import download, upload, tqdm_progress

    upload(objects_api, "repo", "main", "data/big.bin", "big.bin", progress=tqdm_progress("upload"))
    download(objects_api, "repo", "main", "data/big.bin", "copy.bin", progress=tqdm_progress("download"))
    upload_presigned(staging_api, "repo", "main", "data/big.bin", "big.bin")  # straight to the store
    supports_presign(api_client)  # whether the server's store presigns at all (asked once per client)

A progress callback is called as ``progress(bytes_done, bytes_total)``; ``bytes_total`` is
None when the size is not known in advance (an iterator upload, a response without
``Content-Length``).
"""

from __future__ import annotations

import os
import weakref
from typing import IO, TYPE_CHECKING, Any, Callable, Dict, Optional, Union
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from lakefs_sdk._options import UploadContent
    from lakefs_sdk.api.objects_api import ObjectsApi
    from lakefs_sdk.api.staging_api import StagingApi
    from lakefs_sdk.api_client import ApiClient
    from lakefs_sdk.models.object_stats import ObjectStats

ProgressCallback = Callable[[int, Optional[int]], None]

# What each client's server said about presigning (None: it would not say). A server's
# storage does not change while a client talks to it; the entry goes with the client.
_PRESIGN_SUPPORT: weakref.WeakKeyDictionary[ApiClient, Optional[bool]] = weakref.WeakKeyDictionary()


def upload(
    objects_api: ObjectsApi,
    repository: str,
    branch: str,
    path: str,
    content: UploadContent,
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
    overwriting an existing object.
    """
    return objects_api.upload_object(
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


def upload_presigned(
    staging_api: StagingApi,
    repository: str,
    branch: str,
    path: str,
    content: UploadContent,
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
    from lakefs_sdk._upload import UploadBody, UploadSource
    from lakefs_sdk.exceptions import ApiValueError, UnexpectedResponseError, exception_class_for
    from lakefs_sdk.models.staging_metadata import StagingMetadata

    source = UploadSource(content)
    if source.size is None or not source.rewindable:
        raise ApiValueError(
            "upload_presigned() needs content of known size (bytes, a path or a seekable binary file): "
            "object stores refuse a PUT without Content-Length; use upload() for streams"
        )
    if supports_presign(staging_api.api_client) is False:
        raise ApiValueError(
            "upload_presigned(): this lakeFS server's object store does not support presigned URLs "
            "(get_config().storage_config.pre_sign_support is false); use upload()"
        )
    location = staging_api.get_physical_address(repository, branch, path, presign=True)
    url = location.presigned_url
    if not url:
        raise ApiValueError(
            f"lakeFS gave no presigned URL for {repository}/{branch}/{path}: "
            "its object store does not support presigned uploads; use upload()"
        )
    body = UploadBody(source, progress=progress)
    rest = staging_api.api_client.rest_client
    headers = store_put_headers(url, content_type, source.size)
    response = rest.send("PUT", url, headers, body, timeout=rest.timeout(None))
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
    return staging_api.link_physical_address(
        repository, branch, path, staging, if_none_match=if_none_match, if_match=if_match
    )


def supports_presign(api_client: ApiClient) -> Optional[bool]:
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
    from lakefs_sdk.api.config_api import ConfigApi
    from lakefs_sdk.exceptions import ForbiddenException, NotFoundException, NotImplementedException

    answer: Optional[bool] = None
    try:
        config = ConfigApi(api_client).get_config()
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


def download(
    objects_api: ObjectsApi,
    repository: str,
    ref: str,
    path: str,
    target: Union[str, os.PathLike[str], IO[bytes]],
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
    response = objects_api.get_object_without_preload_content(
        repository, ref, path, range=range, presign=presign, **options
    )
    with response:
        return response.write_to(target, progress=progress, chunk_size=chunk_size)


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
