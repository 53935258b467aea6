"""Import data that already sits in object storage, and wait for the outcome, for asyncio code.

lakeFS answers ``import_start`` at once and imports in the background; whether the import
landed shows only in later ``import_status`` answers. :func:`import_and_wait` starts an
import, polls it and returns the final :class:`~lakefs_sdk.models.ImportStatus` (its
``commit`` is the import commit), or raises a typed error when lakeFS says it failed::

    from lakefs_sdk.aio.imports import DirtyBranchError, import_and_wait

    creation = ImportCreation(
        paths=[ImportLocation(type="common_prefix", path="s3://bucket/landing/", destination="raw/")],
        commit=CommitCreation(message="Import the landing zone"),
    )
    try:
        status = await import_and_wait(import_api, "repo", "main", creation, timeout=600)
    except DirtyBranchError as error:  # the branch had uncommitted changes: nothing was imported
        print(error)

Errors: :class:`ImportFailedError` when the status carries lakeFS's error (its subclass
:class:`DirtyBranchError` when the branch has uncommitted changes, which lakeFS refuses
to import onto), :class:`ImportTimeoutError` when ``timeout`` passed first, and the usual
``ApiException`` subclass when a call itself fails.

Whenever the wait stops before the import is over, the import is canceled with
``import_cancel`` (best effort: a failure to cancel is logged, never raised over the
error that stopped the wait). It stops early on a timeout, a failed poll, an exception
from ``on_status``, and when the task is cancelled (as Ctrl-C under ``asyncio.run`` does).

:func:`wait_for_import` waits the same way for an import started elsewhere. The blocking
module and the asyncio one have the same functions, with the same arguments.
"""

# The source of lakefs_sdk/imports.py too: edit here, then run python3 scripts/unasync.py, which writes it.

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from lakefs_sdk._imports import (
    DEFAULT_MAX_POLL_INTERVAL,
    DEFAULT_POLL_INTERVAL,
    ImportWait,
    StatusCallback,
    finished_before_cancel,
    is_settled,
)
from lakefs_sdk.aio._workers import sleep
from lakefs_sdk.exceptions import DirtyBranchError, ImportFailedError, ImportTimeoutError

if TYPE_CHECKING:
    from lakefs_sdk.aio.api.import_api import ImportApi
    from lakefs_sdk.models.import_creation import ImportCreation
    from lakefs_sdk.models.import_status import ImportStatus

__all__ = [
    "DirtyBranchError",
    "ImportFailedError",
    "ImportTimeoutError",
    "import_and_wait",
    "wait_for_import",
]


async def import_and_wait(
    import_api: ImportApi,
    repository: str,
    branch: str,
    import_creation: ImportCreation,
    *,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
    timeout: Optional[float] = None,
    on_status: Optional[StatusCallback] = None,
    **options: Any,
) -> ImportStatus:
    """Start the import ``import_creation`` into ``branch`` and wait until lakeFS has committed it.

    Polls ``import_status`` after ``poll_interval`` seconds (0.5), then at intervals growing
    by half up to ``max_poll_interval`` (5); ``on_status(status)`` sees each status polled
    (``ingested_objects`` counts the objects so far). ``timeout``: seconds to wait at most
    (None: as long as it takes), after which the import is canceled and
    :class:`ImportTimeoutError` raised. ``options`` (``_request_timeout``, ``_headers`` ...)
    go to every call.

    Returns the completed status (``status.commit`` is the import commit). Raises
    :class:`DirtyBranchError` when the branch has uncommitted changes,
    :class:`ImportFailedError` for any other failure lakeFS reports, ``ApiValueError`` for
    bad arguments before anything is sent.
    """
    waiting = ImportWait(
        repository,
        branch,
        poll_interval=poll_interval,
        max_poll_interval=max_poll_interval,
        timeout=timeout,
        on_status=on_status,
    )
    started = await import_api.import_start(repository, branch, import_creation, **options)
    waiting.started(started.id)
    return await _wait(import_api, waiting, options)


async def wait_for_import(
    import_api: ImportApi,
    repository: str,
    branch: str,
    import_id: str,
    *,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
    timeout: Optional[float] = None,
    on_status: Optional[StatusCallback] = None,
    **options: Any,
) -> ImportStatus:
    """Wait for the import ``import_id`` (as ``import_start`` returned it) as :func:`import_and_wait` does.

    The same polling, result and errors; it too cancels the import when it stops waiting
    before the import is over.
    """
    waiting = ImportWait(
        repository,
        branch,
        poll_interval=poll_interval,
        max_poll_interval=max_poll_interval,
        timeout=timeout,
        on_status=on_status,
    )
    waiting.started(import_id)
    return await _wait(import_api, waiting, options)


async def _wait(import_api: ImportApi, waiting: ImportWait, options: Dict[str, Any]) -> ImportStatus:
    """Poll until the import is over or the deadline passed; cancel it when the wait stops early."""
    try:
        status = await _poll(import_api, waiting, options)
    except BaseException:
        await _cancel(import_api, waiting, options)
        raise
    if not is_settled(status):  # out of time
        cancel_error = await _cancel(import_api, waiting, options)
        if finished_before_cancel(cancel_error):
            status = await import_api.import_status(waiting.repository, waiting.branch, waiting.import_id, **options)
            if waiting.settled(status):
                return waiting.result(status)
        raise waiting.timed_out(cancel_error)
    return waiting.result(status)


async def _poll(import_api: ImportApi, waiting: ImportWait, options: Dict[str, Any]) -> ImportStatus:
    """The first status that settles the import, or the last one polled before the deadline."""
    while True:
        status = await import_api.import_status(waiting.repository, waiting.branch, waiting.import_id, **options)
        if waiting.settled(status):
            return status
        pause = waiting.pause()
        if pause is None:
            return status
        await sleep(pause)


async def _cancel(import_api: ImportApi, waiting: ImportWait, options: Dict[str, Any]) -> Optional[Exception]:
    """Cancel the import; the error of ``import_cancel`` (logged), or None when it was canceled."""
    try:
        await import_api.import_cancel(waiting.repository, waiting.branch, waiting.import_id, **options)
    except Exception as error:  # the error that stopped the wait is what the caller must see
        waiting.cancel_failed(error)
        return error
    return None
