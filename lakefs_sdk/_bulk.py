"""What the bulk transfers of ``lakefs_sdk.transfer`` and ``lakefs_sdk.aio.transfer`` share.

Both run many uploads, downloads or deletes at a time over one client. This module holds
everything that does not depend on threads or an event loop, so that the two are one
design: the items as given (and a folder expanded to its files), the result of every item
(:class:`TransferResult`, :class:`TransferReport`), the bookkeeping of which item runs next
(:class:`Batch`, with ``fail_fast`` and interruption), one progress callback adding up all
items (:class:`BulkProgress`), the per-item retry decision on the client's retry policy,
and the per-path errors of a batch delete.

Items are ``(source, destination)`` pairs, as in ``cp``: ``(local path or content,
repository path)`` to upload, ``(repository path, local path or binary file)`` to download.
A local folder paired with a repository prefix (``""`` or ending in ``/``) stands for every
file under it.
"""

from __future__ import annotations

import http
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from lakefs_sdk._retry import RETRY_STATUSES, RetryPolicy
from lakefs_sdk.exceptions import ApiException, ApiValueError, exception_class_for

ProgressCallback = Callable[[int, Optional[int]], None]

logger = logging.getLogger("lakefs_sdk")

DEFAULT_CONCURRENCY = 8
# lakeFS refuses a delete_objects request with more paths (DefaultMaxDeleteObjects).
DELETE_BATCH_SIZE = 1000

# What became of an item.
SUCCEEDED = "succeeded"
FAILED = "failed"
SKIPPED = "skipped"  # never started: fail_fast stopped the batch, or it was interrupted
UNFINISHED = "unfinished"  # still running when an interruption was not waited out: outcome unknown
_PENDING = "pending"
_RUNNING = "running"


@dataclass
class TransferResult:
    """What became of one item.

    ``path`` is the repository path and ``local`` the local side as given (a path, the
    content, or a download target; None for a delete). ``value`` is the item's result when
    it succeeded: the ``ObjectStats`` of an upload, the number of bytes a download wrote,
    None for a delete. ``error`` is the exception that failed it, typed as a single call
    would raise it (``PreconditionFailedException``, ``NotFoundException``, ``OSError`` ...).
    """

    index: int
    path: str
    local: Any = None
    value: Any = None
    error: Optional[BaseException] = None
    status: str = _PENDING

    @property
    def ok(self) -> bool:
        """True when the item was transferred."""
        return self.status == SUCCEEDED


@dataclass
class TransferReport:
    """One :class:`TransferResult` per item, in the order given (a folder's files sorted by path).

    Every item is listed: succeeded, failed (with its exception), skipped (never started,
    after ``fail_fast`` or an interruption) or unfinished (abandoned mid-way by a second
    interruption). ``interrupted`` tells whether the call was interrupted.
    """

    results: List[TransferResult] = field(default_factory=list)
    interrupted: bool = False

    def _with(self, status: str) -> List[TransferResult]:
        return [r for r in self.results if r.status == status]

    @property
    def succeeded(self) -> List[TransferResult]:
        """The items that were transferred."""
        return self._with(SUCCEEDED)

    @property
    def failed(self) -> List[TransferResult]:
        """The items that failed, each with its exception."""
        return self._with(FAILED)

    @property
    def skipped(self) -> List[TransferResult]:
        """The items never started (``fail_fast`` stopped the batch, or it was interrupted)."""
        return self._with(SKIPPED)

    @property
    def unfinished(self) -> List[TransferResult]:
        """The items abandoned while they ran (a second Ctrl-C): done or not, nobody knows."""
        return self._with(UNFINISHED)

    @property
    def ok(self) -> bool:
        """True when every item succeeded."""
        return all(r.status == SUCCEEDED for r in self.results)

    def raise_first(self) -> None:
        """Raise the exception of the first failed item, if any."""
        for result in self.results:
            if result.error is not None:
                raise result.error

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[TransferResult]:
        return iter(self.results)

    def summary(self) -> str:
        """One line: how many items succeeded, failed, were skipped and left unfinished."""
        counts = {s: 0 for s in (SUCCEEDED, FAILED, SKIPPED, UNFINISHED)}
        for result in self.results:
            counts[result.status] = counts.get(result.status, 0) + 1
        parts = [f"{counts[s]} {s}" for s in (SUCCEEDED, FAILED, SKIPPED, UNFINISHED) if counts[s] or s == SUCCEEDED]
        return f"{len(self.results)} items: " + ", ".join(parts) + (" (interrupted)" if self.interrupted else "")

    def __repr__(self) -> str:
        return f"<TransferReport {self.summary()}>"


class TransferInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a bulk transfer; ``report`` says what completed.

    A ``KeyboardInterrupt``, so a program that does not catch it stops as on any Ctrl-C.
    Items not started are ``skipped``; items in flight were waited for (a second Ctrl-C
    abandons them as ``unfinished``).
    """

    def __init__(self, report: TransferReport) -> None:
        super().__init__(f"interrupted: {report.summary()}")
        self.report = report


# -- items --------------------------------------------------------------------------------------


def _pairs(items: Any, what: str) -> List[Tuple[Any, Any]]:
    if isinstance(items, Mapping):
        items = list(items.items())
    pairs = []
    for number, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ApiValueError(f"{what}: item {number} is {type(item).__name__}, not a (source, destination) pair")
        pairs.append((item[0], item[1]))
    return pairs


def is_prefix(path: str) -> bool:
    """Whether a repository path names a prefix (a folder's counterpart): empty, or ending in ``/``."""
    return path == "" or path.endswith("/")


def _repository_path(value: Any, what: str, number: int, side: str) -> str:
    if not isinstance(value, str):
        raise ApiValueError(
            f"{what}: item {number} has {type(value).__name__} as its {side}, where the repository path "
            f"(a str) belongs; items are {_FORMS[what]}"
        )
    return value


_FORMS = {
    "upload_many": "(local path or content, repository path) pairs",
    "download_many": "(repository path, local path or binary file) pairs",
}


def _is_folder(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike)) and os.path.isdir(value)


def folder_files(folder: Union[str, os.PathLike[str]]) -> List[Tuple[str, str]]:
    """Every file under ``folder`` (symbolic links to folders not followed), as (relative POSIX path, path), sorted."""
    root = os.fspath(folder)
    found = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories.sort()
        for name in files:
            path = os.path.join(directory, name)
            found.append((os.path.relpath(path, root).replace(os.sep, "/"), path))
    found.sort()
    return found


def upload_items(items: Any) -> List[Tuple[Any, str]]:
    """``(content, repository path)`` for every upload: folders expanded, paths checked.

    Raises ``ApiValueError`` for a malformed item, an empty repository path or one given
    twice, before anything is sent.
    """
    expanded: List[Tuple[Any, str]] = []
    for number, (local, path) in enumerate(_pairs(items, "upload_many")):
        path = _repository_path(path, "upload_many", number, "destination")
        if _is_folder(local):
            prefix = path if is_prefix(path) else path + "/"
            expanded.extend((file, prefix + relative) for relative, file in folder_files(local))
        else:
            if path == "":
                raise ApiValueError(f"upload_many: item {number} has an empty repository path")
            expanded.append((local, path))
    _refuse_duplicates([path for _, path in expanded], "upload_many", "repository path")
    return expanded


@dataclass
class UploadPlan:
    """The items of a bulk upload: one result each, and what each content allows.

    ``sizes[i]`` is the byte count when known beforehand (for the aggregate progress),
    ``resendable[i]`` whether the content can be read again for a retry. A file that
    cannot be opened is neither; its upload then fails with the ``OSError``, the others go on.
    """

    results: List[TransferResult]
    sizes: List[Optional[int]]
    resendable: List[bool]


def upload_plan(items: Any) -> UploadPlan:
    """Check ``items`` (``ApiValueError`` for a bad one) and plan their uploads."""
    from lakefs_sdk._upload import UploadSource

    pairs = upload_items(items)
    plan = UploadPlan([TransferResult(i, path, local) for i, (local, path) in enumerate(pairs)], [], [])
    for local, _ in pairs:
        try:
            source = UploadSource(local)  # an async iterable: size unknown, not rewindable
        except OSError:
            plan.sizes.append(None)
            plan.resendable.append(False)
            continue
        plan.sizes.append(source.size)
        plan.resendable.append(source.rewindable)
    return plan


def download_pairs(items: Any) -> List[Tuple[str, Any]]:
    """``(repository path, target)`` pairs as given, checked; prefixes still to be listed."""
    checked = []
    for number, (path, target) in enumerate(_pairs(items, "download_many")):
        path = _repository_path(path, "download_many", number, "source")
        if not isinstance(target, (str, os.PathLike)) and not hasattr(target, "write"):
            raise ApiValueError(
                f"download_many: item {number} has {type(target).__name__} as its target: "
                "give a local path or a binary file open for writing"
            )
        if is_prefix(path) and not isinstance(target, (str, os.PathLike)):
            raise ApiValueError(f"download_many: item {number} names the prefix {path!r}: its target must be a folder")
        checked.append((path, target))
    return checked


def folder_target(folder: Union[str, os.PathLike[str]], prefix: str, path: str) -> Union[str, ApiValueError]:
    """Where object ``path`` listed under ``prefix`` goes inside ``folder``, or why it cannot go there.

    An object key is the server's data: one whose rest after the prefix would leave the
    folder or name no file (``..``, ``.``, an empty part, an absolute path) is refused.
    """
    relative = path[len(prefix) :]
    parts = relative.split("/")
    if not relative or any(part in ("", ".", "..") for part in parts) or "\\" in relative or "\x00" in relative:
        return ApiValueError(
            f"download_many: object {path!r} cannot be written under {os.fspath(folder)!r}: "
            "its key after the prefix has an empty, '.' or '..' part"
        )
    return os.path.join(os.fspath(folder), *parts)


def refuse_duplicate_targets(targets: Sequence[Any]) -> None:
    """Refuse two downloads into one local path (they would overwrite each other)."""
    paths = [os.path.abspath(os.fspath(t)) for t in targets if isinstance(t, (str, os.PathLike))]
    _refuse_duplicates(paths, "download_many", "local target")


def _refuse_duplicates(values: Sequence[str], what: str, name: str) -> None:
    seen: Dict[str, int] = {}
    for number, value in enumerate(values):
        if value in seen:
            raise ApiValueError(f"{what}: the {name} {value!r} is given twice (items {seen[value]} and {number})")
        seen[value] = number


class DownloadPlan:
    """The items of a bulk download, each prefix replaced by the objects listed under it.

    Fed one pair at a time (:meth:`add`) and one listed object at a time
    (:meth:`add_listed`) by the sync or the async ``download_many``, whichever way each
    lists; :meth:`finish` checks the targets and creates the folders. ``sizes[i]`` is
    known when the listing told it; ``refused[i]`` is the error of a listed key that cannot
    be a file in its folder (its target is None).
    """

    def __init__(self) -> None:
        self.pairs: List[Tuple[str, Any]] = []
        self.sizes: List[Optional[int]] = []
        self.refused: Dict[int, Exception] = {}
        self._folders: set[str] = set()
        self._listed = False

    def add(self, path: str, target: Any) -> None:
        """One ``(repository path, target)`` as given."""
        self.pairs.append((path, target))
        self.sizes.append(None)

    def add_listed(self, prefix: str, folder: Any, path: str, size: Optional[int]) -> None:
        """One object listed under ``prefix``, to land in ``folder``."""
        self._listed = True
        local = folder_target(folder, prefix, path)
        if isinstance(local, Exception):
            self.refused[len(self.pairs)] = local
            self.pairs.append((path, None))
        else:
            self._folders.add(os.path.dirname(local))
            self.pairs.append((path, local))
        self.sizes.append(size)

    def finish(self) -> List[TransferResult]:
        """Refuse targets given twice, create the folders; one result per item, in order.

        Only a listing can add a target twice: ``download_many`` refuses the targets it was
        given twice before it lists.
        """
        if self._listed:
            refuse_duplicate_targets([t for _, t in self.pairs])
        for folder in sorted(self._folders):
            os.makedirs(folder, exist_ok=True)
        return [TransferResult(i, path, target) for i, (path, target) in enumerate(self.pairs)]


def download_retry_delay(policy: RetryPolicy, retries: int, target: Any) -> Optional[float]:
    """After a body stopped arriving: the wait before downloading the item again, or None.

    Only a path target can start over (a file object has the first bytes already).
    """
    if not isinstance(target, (str, os.PathLike)) or retries >= policy.max_retries:
        return None
    return policy.delay(retries + 1)


def delete_paths(paths: Any) -> List[str]:
    """The paths to delete, checked (each a non-empty str), in the order given."""
    if isinstance(paths, str):
        raise ApiValueError("delete_many takes an iterable of paths, not one str")
    checked = list(paths)
    for number, path in enumerate(checked):
        if not isinstance(path, str) or not path:
            raise ApiValueError(f"delete_many: path {number} is {path!r}, not a non-empty str")
    return checked


def batches(count: int, size: int = DELETE_BATCH_SIZE) -> List[range]:
    """Index ranges of at most ``size`` items covering ``count`` items."""
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


# The per-call options a bulk helper passes on to each of its calls; the others (``_progress``,
# ``_content_type``, ``_preload_content``, ``async_req`` ...) are the helper's own business.
PASSED_OPTIONS = ("_request_timeout", "_headers", "_request_auth", "_host_index")


def check_options(what: str, options: Mapping[str, Any]) -> None:
    """Refuse, before anything starts, a keyword ``what`` does not take (``ApiTypeError``) or a bad option value."""
    from lakefs_sdk._options import parse_options
    from lakefs_sdk.exceptions import ApiTypeError

    for key in options:
        if key not in PASSED_OPTIONS:
            raise ApiTypeError(
                f"{what}() got an unexpected keyword argument {key!r} "
                f"(the per-call options it passes on: {', '.join(PASSED_OPTIONS)})"
            )
    parse_options(what, options)


def check_presign(what: str, presign: Any) -> None:
    """``presign`` must be None, True or False."""
    if presign is not None and not isinstance(presign, bool):
        raise ApiValueError(f"{what}(): presign must be None, True or False, got {presign!r}")


def presign_refused(what: str) -> ApiValueError:
    """The error of ``presign=True`` on a server whose store cannot presign."""
    return ApiValueError(
        f"{what}(presign=True): this lakeFS server's object store does not support presigned URLs "
        "(get_config().storage_config.pre_sign_support is false); pass presign=None or False"
    )


def check_concurrency(concurrency: Any) -> int:
    """``concurrency`` as a positive int, or ``ApiValueError``."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ApiValueError(f"concurrency must be an int of at least 1, got {concurrency!r}")
    return concurrency


def workers(concurrency: int, pool_size: Optional[int], items: int) -> int:
    """How many transfers to run at once: ``concurrency``, bounded by the pool's connections per host.

    Logs a warning when the pool is what bounds it: the caller asked for more.
    """
    bound = max(1, min(concurrency, items))
    if pool_size and bound > pool_size:
        logger.warning(
            "running %d transfers at a time, not the %d asked for: the client keeps %d connections per host; "
            "set Configuration.connection_pool_maxsize = %d before creating the client",
            pool_size, concurrency, pool_size, concurrency,
        )
        return pool_size
    return bound


# -- results and progress -------------------------------------------------------------------------


class Batch:
    """The items of one bulk call: which run next, and what became of each.

    Items are handed out in groups (one item each, or up to 1,000 paths for a batch
    delete). Safe to share between threads (and used as is on one event loop): ``take``
    hands out each group once, until they run out or the batch is stopped (``fail_fast``
    after a failure, an interruption); the items never handed out are then ``skipped``.
    ``size`` is the number of groups.
    """

    def __init__(self, results: List[TransferResult], fail_fast: bool, groups: Optional[List[range]] = None) -> None:
        self.results = results
        self.fail_fast = fail_fast
        self._groups = groups  # None: each item is a group of its own
        self.size = len(groups) if groups is not None else len(results)
        self.stopped = threading.Event()
        self._next = 0
        self._lock = threading.Lock()
        self._on_stop: List[Callable[[], None]] = []

    def take(self) -> Optional[List[TransferResult]]:
        """The next group of items to run (now marked running), or None when none is left or the batch stopped."""
        with self._lock:
            number = self._next
            if number >= self.size or self.stopped.is_set():
                return None
            self._next = number + 1
            groups = self._groups
            group = [self.results[number]] if groups is None else [self.results[i] for i in groups[number]]
            for result in group:
                result.status = _RUNNING
            return group

    def succeed(self, result: TransferResult, value: Any = None) -> None:
        """Record that ``result``'s item succeeded with ``value``."""
        result.value, result.error, result.status = value, None, SUCCEEDED

    def fail(self, result: TransferResult, error: BaseException) -> None:
        """Record that ``result``'s item failed; with ``fail_fast``, start no other item."""
        result.value, result.error, result.status = None, error, FAILED
        if self.fail_fast:
            self.stop()

    def fail_unfinished(self, group: Sequence[TransferResult], error: BaseException) -> None:
        """Record ``error`` for every item of ``group`` still running (the whole group's call failed)."""
        for result in group:
            if result.status == _RUNNING:
                self.fail(result, error)

    def stop(self) -> None:
        """Start no other item, and wake what waits for the batch to stop (:meth:`on_stop`)."""
        self.stopped.set()
        for callback in list(self._on_stop):
            callback()

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (in the thread that stops the batch) when it stops, e.g. to wake a waiting task."""
        self._on_stop.append(callback)

    def forget_on_stop(self, callback: Callable[[], None]) -> None:
        """No longer call ``callback`` when the batch stops."""
        if callback in self._on_stop:
            self._on_stop.remove(callback)

    def report(self, interrupted: bool = False) -> TransferReport:
        """Every item's outcome; items never started are skipped, items still running unfinished."""
        with self._lock:
            for result in self.results:
                if result.status == _PENDING:
                    result.status = SKIPPED
                elif result.status == _RUNNING:
                    result.status = UNFINISHED
        return TransferReport(self.results, interrupted)


class BulkProgress:
    """Adds up the progress of all items into one ``progress(done, total)`` call.

    ``total`` is the sum of every item's size, or None while the size of an item is not
    known (an item reports its own total once it starts; a download learns it from the
    response). ``done`` counts what was sent or received so far; an item sent again on
    retry counts from zero again. Calls come from the threads doing the transfers, one at
    a time (so a tqdm bar needs no lock of its own).
    """

    def __init__(self, callback: Optional[ProgressCallback], expected: Sequence[Optional[int]]) -> None:
        self.callback = callback
        self._done: Dict[int, int] = {}
        self._sizes: List[Optional[int]] = list(expected)
        self._unknown = sum(1 for size in self._sizes if size is None)
        self._known_total = sum(size for size in self._sizes if size is not None)
        self._done_total = 0
        self._lock = threading.Lock()

    def for_item(self, index: int) -> Optional[ProgressCallback]:
        """The callback to give the transfer of item ``index`` (None when nobody listens)."""
        if self.callback is None:
            return None

        def update(done: int, total: Optional[int]) -> None:
            self.update(index, done, total)

        return update

    def update(self, index: int, done: int, total: Optional[int]) -> None:
        """Item ``index`` has ``done`` of ``total`` bytes (or units) behind it."""
        callback = self.callback
        if callback is None:
            return
        with self._lock:
            self._done_total += done - self._done.get(index, 0)
            self._done[index] = done
            if total is not None and self._sizes[index] != total:
                previous = self._sizes[index]
                if previous is None:
                    self._unknown -= 1
                else:
                    self._known_total -= previous
                self._sizes[index] = total
                self._known_total += total
            callback(self._done_total, None if self._unknown else self._known_total)

    def start(self) -> None:
        """Report the starting point (nothing done, and the total if known)."""
        if self.callback is not None:
            with self._lock:
                self.callback(0, None if self._unknown else self._known_total)


def retry_delay(policy: RetryPolicy, retries: int, error: BaseException) -> Optional[float]:
    """Seconds to wait before sending an item again after ``error``, or None to give up.

    For what the bulk helpers send that repeats without harm (an upload of the same bytes
    to the same path, a batch delete), where the transport does not retry on its own: a
    POST answered with a status the client's ``RetryPolicy`` retries for idempotent calls
    (408, 429, 500, 502, 503, 504; ``Retry-After`` respected), up to its ``max_retries``.
    """
    status = getattr(error, "status", None)
    if not isinstance(error, ApiException) or status not in RETRY_STATUSES or retries >= policy.max_retries:
        return None
    retry_after = error.headers.get("Retry-After") if error.headers else None
    return policy.delay(retries + 1, retry_after)


def record_deletes(
    batch: Batch, progress: BulkProgress, group: Sequence[TransferResult], response: Any, repository: str, branch: str
) -> None:
    """Record each path of a ``delete_objects`` request from its answer (an ``ApiResponse``)."""
    request_id = response.headers.get("X-Request-Id") if response.headers else None
    errors = path_errors(response.data, [r.path for r in group], repository, branch, request_id)
    for result in group:
        failure = errors.get(result.path)
        if failure is None:
            batch.succeed(result)
        else:
            batch.fail(result, failure)
        progress.update(result.index, 1, 1)


def path_errors(
    answer: Any, paths: Sequence[str], repository: str, branch: str, request_id: Optional[str]
) -> Dict[str, ApiException]:
    """The per-path errors of a ``delete_objects`` answer, as the exceptions a single call would raise.

    An error naming no path of the request leaves the outcome of every path of the
    request unknown: each is given that error (nothing is reported deleted that may not be).
    """
    from lakefs_sdk.models.error import Error

    found: Dict[str, ApiException] = {}
    unattributed: Optional[ApiException] = None
    wanted = set(paths)
    for item in getattr(answer, "errors", None) or []:
        error = _path_error(item.status_code, item.message, repository, branch, item.path, request_id, Error)
        if item.path in wanted:
            found.setdefault(item.path, error)
        elif unattributed is None:
            unattributed = error
    if unattributed is not None:
        for path in paths:
            found.setdefault(path, unattributed)
    return found


def _path_error(
    status: int, message: str, repository: str, branch: str, path: Optional[str], request_id: Optional[str], model: Any
) -> ApiException:
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = None
    error = exception_class_for(status)(status, reason, data=model(message=message))
    error.operation = "deleteObjects"
    error.api_method = "delete_objects"
    error.arguments = {"repository": repository, "branch": branch}
    if path is not None:
        error.arguments["path"] = path
    if request_id:
        from urllib3 import HTTPHeaderDict

        error.headers = HTTPHeaderDict({"X-Request-Id": request_id})
    return error
