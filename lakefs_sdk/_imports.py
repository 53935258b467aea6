"""Waiting for a lakeFS import, without the waiting: the poll schedule, and what a status means.

lakeFS answers ``import_start`` at once (202) and does the work in the background; the
outcome shows only in later ``import_status`` answers: ``completed`` once the import
commit is on the branch, or ``error`` (then ``completed`` stays False). :class:`ImportWait`
holds one wait for one import: how long to pause before the next poll, whether a status
settles the import, and the typed error of a failure. The blocking and asyncio helpers
(:mod:`lakefs_sdk.imports`, :mod:`lakefs_sdk.aio.imports`) only send the calls and pause.
"""

from __future__ import annotations

import logging
import math
import re
import time
from typing import TYPE_CHECKING, Callable, Optional

from lakefs_sdk.exceptions import (
    ApiValueError,
    ConflictException,
    DirtyBranchError,
    ImportFailedError,
    ImportTimeoutError,
)

if TYPE_CHECKING:
    from lakefs_sdk.models.import_status import ImportStatus

logger = logging.getLogger("lakefs_sdk")

# The first pause between polls, how much each pause grows, and the longest pause.
DEFAULT_POLL_INTERVAL = 0.5
POLL_GROWTH = 1.5
DEFAULT_MAX_POLL_INTERVAL = 5.0

# lakeFS's words for an import onto a branch with uncommitted changes (graveler's
# ErrDirtyBranch, wrapped: "import error: merge import: uncommitted changes (dirty branch)").
_DIRTY_BRANCH = re.compile(r"dirty branch|uncommitted changes", re.IGNORECASE)

DIRTY_BRANCH_EXPLANATION = (
    "The branch has uncommitted changes, and lakeFS imports only onto a clean branch: commit or reset "
    "the branch's uncommitted changes (or import into a new branch), then import again."
)

StatusCallback = Callable[["ImportStatus"], None]


def is_dirty_branch(message: Optional[str]) -> bool:
    """Whether lakeFS's error message says the import failed because the branch has uncommitted changes."""
    return bool(message) and _DIRTY_BRANCH.search(message or "") is not None


def is_settled(status: ImportStatus) -> bool:
    """Whether the import is over: it completed, or it failed (its status carries an error)."""
    return status.error is not None or status.completed


def failure_of(status: ImportStatus, import_id: str, repository: str, branch: str) -> Optional[ImportFailedError]:
    """The typed error for a status that carries an error (:class:`DirtyBranchError` when the branch was dirty)."""
    if status.error is None:
        return None
    message = status.error.message
    if is_dirty_branch(message):
        return DirtyBranchError(
            message,
            import_id=import_id,
            repository=repository,
            branch=branch,
            status=status,
            explanation=DIRTY_BRANCH_EXPLANATION,
        )
    return ImportFailedError(message, import_id=import_id, repository=repository, branch=branch, status=status)


def finished_before_cancel(cancel_error: Optional[BaseException]) -> bool:
    """Whether ``import_cancel`` failed because the import was over already (lakeFS answers 409)."""
    return isinstance(cancel_error, ConflictException)


def _check_seconds(name: str, value: Optional[float], *, allow_none: bool = False, allow_zero: bool = False) -> None:
    if value is None and allow_none:
        return
    bad = isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or math.isinf(value)
    if bad or value is None or value < 0 or (value == 0 and not allow_zero):
        wanted = "a number of seconds, at least 0" if allow_zero else "a positive number of seconds"
        raise ApiValueError(f"{name} must be {wanted}{' or None' if allow_none else ''}, got {value!r}")


class ImportWait:
    """One wait for one import: the pauses between polls, the deadline, and the outcome.

    The pause starts at ``poll_interval`` seconds and grows by half each poll up to
    ``max_poll_interval``; with ``timeout`` (seconds from when the wait is made), no pause
    reaches past the deadline and :meth:`pause` is None once it has passed.
    """

    def __init__(
        self,
        repository: str,
        branch: str,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
        timeout: Optional[float] = None,
        on_status: Optional[StatusCallback] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_seconds("poll_interval", poll_interval)
        _check_seconds("max_poll_interval", max_poll_interval)
        _check_seconds("timeout", timeout, allow_none=True, allow_zero=True)
        if max_poll_interval < poll_interval:
            raise ApiValueError(
                f"max_poll_interval ({max_poll_interval!r}) must not be less than poll_interval ({poll_interval!r})"
            )
        if on_status is not None and not callable(on_status):
            raise ApiValueError(f"on_status must be a callable taking an ImportStatus, got {on_status!r}")
        self.repository = repository
        self.branch = branch
        self.import_id = ""
        self.timeout = timeout
        self.last: Optional[ImportStatus] = None
        self._interval = float(poll_interval)
        self._max_interval = float(max_poll_interval)
        self._on_status = on_status
        self._clock = clock
        self._deadline = None if timeout is None else clock() + timeout

    def started(self, import_id: str) -> None:
        """Record the id ``import_start`` gave the import."""
        self.import_id = import_id

    def settled(self, status: ImportStatus) -> bool:
        """Take a polled status (passed to ``on_status``); True when the import is over."""
        self.last = status
        if self._on_status is not None:
            self._on_status(status)
        return is_settled(status)

    def pause(self) -> Optional[float]:
        """Seconds to wait before the next poll; None when the deadline has passed."""
        interval = self._interval
        self._interval = min(self._interval * POLL_GROWTH, self._max_interval)
        if self._deadline is None:
            return interval
        left = self._deadline - self._clock()
        return None if left <= 0 else min(interval, left)

    def result(self, status: ImportStatus) -> ImportStatus:
        """``status`` when the import completed; else raise its :class:`ImportFailedError`."""
        failure = failure_of(status, self.import_id, self.repository, self.branch)
        if failure is not None:
            raise failure
        return status

    def timed_out(self, cancel_error: Optional[BaseException]) -> ImportTimeoutError:
        """The error for an import not finished by the deadline; ``cancel_error``: why ``import_cancel`` failed."""
        reason = f"not finished within {self.timeout or 0:g} s"
        if cancel_error is None:
            reason += "; canceled"
        else:
            reason += f"; could not cancel it ({type(cancel_error).__name__}), so it may still complete"
        return ImportTimeoutError(
            reason, import_id=self.import_id, repository=self.repository, branch=self.branch, status=self.last
        )

    def cancel_failed(self, error: BaseException) -> None:
        """Log a failed ``import_cancel``: the error that made the wait stop is what the caller sees."""
        if finished_before_cancel(error):
            logger.info("import %s was over before it could be canceled", self.import_id)
            return
        logger.warning(
            "could not cancel import %s into %s/%s: %s", self.import_id, self.repository, self.branch, error
        )
