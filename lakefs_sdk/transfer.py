"""Streaming uploads and downloads with progress reporting.

Both directions stream: memory stays flat whatever the object size.

    from lakefs_sdk.transfer import download, upload, tqdm_progress

    upload(objects_api, "repo", "main", "data/big.bin", "big.bin", progress=tqdm_progress("upload"))
    download(objects_api, "repo", "main", "data/big.bin", "copy.bin", progress=tqdm_progress("download"))

A progress callback is called as ``progress(bytes_done, bytes_total)``; ``bytes_total`` is
None when the size is not known in advance (an iterator upload, a response without
``Content-Length``).
"""

from __future__ import annotations

import os
from typing import IO, TYPE_CHECKING, Any, Callable, Optional, Union

if TYPE_CHECKING:
    from lakefs_sdk._options import UploadContent
    from lakefs_sdk.api.objects_api import ObjectsApi
    from lakefs_sdk.models.object_stats import ObjectStats

ProgressCallback = Callable[[int, Optional[int]], None]


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
