"""A download target written atomically: the target appears only once its file is complete.

Neutral (plain file calls, no network): both transports' ``write_to`` use it, and through
it ``download`` and ``download_many`` of both clients.
"""

from __future__ import annotations

import errno
import itertools
import os
import threading
from typing import Callable, NoReturn, Optional, Tuple, TypeVar, Union

from lakefs_sdk.exceptions import ApiException

T = TypeVar("T")


class AtomicFile:
    """A download target: a new file in the folder of ``path`` that becomes ``path`` only when complete.

    Missing folders of ``path`` are created first. Where the system can (Linux, on file
    systems with ``O_TMPFILE``), the file has no name until :meth:`commit` links it in as
    ``path``: nothing is left behind by a process that dies mid-download, and with many
    downloads into one folder this is the cheapest way (the folder is locked once per file,
    not for a create and then a rename). Elsewhere, and when ``path`` exists already, the
    file takes a temporary name beside ``path``, ``.lakefs-download-<pid>-<n>.part`` (a name
    taken by anything else is skipped), and is renamed over it. Either way the file gets the
    mode ``open()`` would give the target.

    A file-system error (a folder that cannot be made or written, a target that is a
    folder) is raised as the ``OSError`` subclass the system gave, naming ``path``: the
    temporary file is an implementation detail the caller never chose.

    Bytes go straight to the file descriptor (:meth:`write`), unbuffered: a body arrives in
    chunks of a megabyte or as one short piece, and a Python file object would add three
    system calls per file (``fstat``, ``isatty``, ``lseek``), each of which hands the GIL to
    another thread when many small downloads run at once.
    """

    def __init__(self, path: Union[str, os.PathLike[str]]) -> None:
        self.path = os.fspath(path)
        if os.path.isdir(self.path):  # found now, not after the whole body was written beside it
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), self.path)
        self._folder = os.path.dirname(self.path) or "."
        self.temp_path: Optional[str] = None  # the file's name until commit; None while it has none
        self._proc_fds: Optional[int] = None  # /proc/self/fd, through which an unnamed file is named
        self._closed = False
        made_folder = False
        while True:
            try:
                self._fd = self._create()
                return
            except FileNotFoundError as error:
                if made_folder:  # removed again as soon as it was made
                    _raise_for_target(error, self.path)
                # The rare path (a new folder): made here, so the common one costs nothing more.
                self._make_folder()
                made_folder = True
            except OSError as error:
                _raise_for_target(error, self.path)

    def _create(self) -> int:
        proc_fds = _proc_fd_folder() if _UNNAMED_FLAGS else None
        if proc_fds is not None:
            try:
                fd = os.open(self._folder, _UNNAMED_FLAGS, 0o666)
                self._proc_fds = proc_fds
                return fd
            except OSError as error:
                if error.errno not in _NO_UNNAMED_FILES:
                    raise
        self.temp_path, fd = _at_free_name(self._folder, lambda name: os.open(name, _TEMP_FLAGS, 0o666))
        return fd

    def _make_folder(self) -> None:
        try:
            os.makedirs(self._folder, exist_ok=True)
        except OSError as error:
            _raise_for_target(error, self.path)

    def write(self, data: bytes) -> None:
        """Append ``data`` to the file (all of it: a short write is continued)."""
        try:
            done = os.write(self._fd, data)
            while done < len(data):
                done += os.write(self._fd, memoryview(data)[done:])
        except OSError as error:
            _raise_for_target(error, self.path)

    def commit(self, status: int, written: int, total: Optional[int]) -> None:
        """Put the file in place as the target, unless fewer bytes came than announced.

        On an exception the file is not in place; :meth:`discard` then removes it.
        """
        if total is not None and written != total:
            raise ApiException(status=status, reason=f"download incomplete: received {written} of {total} bytes")
        try:
            if self.temp_path is not None:  # a named file: renamed over the target
                self._close()  # before the rename: some systems cannot rename an open file
                os.replace(self.temp_path, self.path)
                self.temp_path = None
            elif self._proc_fds is not None:  # an unnamed file: linked in as the target
                self._link_in_place(self._proc_fds)
        except OSError as error:
            _raise_for_target(error, self.path)
        self._close()

    def _link_in_place(self, proc_fds: int) -> None:
        """Give the unnamed file the target's name; a target that exists is replaced through a temporary name."""

        def link(name: str) -> None:
            os.link(str(self._fd), name, src_dir_fd=proc_fds, follow_symlinks=True)

        try:
            link(self.path)
            return
        except FileExistsError:
            pass
        name, _ = _at_free_name(self._folder, link)
        self.temp_path = name  # removed by discard() if the rename fails
        os.replace(name, self.path)
        self.temp_path = None

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self._fd)

    def discard(self) -> None:
        """Close and remove the file; the target is left untouched."""
        self._close()
        if self.temp_path is not None and os.path.lexists(self.temp_path):
            os.unlink(self.temp_path)


def _at_free_name(folder: str, take: Callable[[str], T]) -> Tuple[str, T]:
    """``take(name)`` for the first temporary name in ``folder`` that nothing holds (``FileExistsError``: the next)."""
    while True:
        name = os.path.join(folder, f".lakefs-download-{os.getpid()}-{next(_TEMP_NUMBERS)}.part")
        try:
            return name, take(name)
        except FileExistsError:
            continue


def _raise_for_target(error: OSError, path: str) -> NoReturn:
    """Raise ``error`` again as the same ``OSError`` subclass, naming ``path`` (the cause kept)."""
    if error.errno is None:
        raise error
    try:
        named = type(error)(error.errno, error.strerror, path)
    except TypeError:  # pragma: no cover - an OSError subclass with another constructor
        named = OSError(error.errno, error.strerror, path)
    raise named from error


class _ProcFdFolder:
    """This process's ``/proc/self/fd``, opened once: how an unnamed file is given a name (``linkat``).

    Opened again in a forked child, where the inherited one lists the parent's files.
    """

    def __init__(self) -> None:
        self.fd: Optional[int] = None
        self.pid = 0
        self.lock = threading.Lock()

    def get(self) -> Optional[int]:
        pid = os.getpid()
        if self.pid != pid:
            with self.lock:
                if self.pid != pid:
                    if self.fd is not None:
                        os.close(self.fd)
                    try:
                        self.fd = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
                    except OSError:  # no /proc: temporary names only
                        self.fd = None
                    self.pid = pid
        return self.fd


_proc_fd_folder = _ProcFdFolder().get
_TEMP_NUMBERS = itertools.count()  # next() on it is atomic in CPython: threads get distinct numbers
_CLOEXEC: int = getattr(os, "O_CLOEXEC", 0)
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | _CLOEXEC
_O_TMPFILE: int = getattr(os, "O_TMPFILE", 0)
# An unnamed file, without O_EXCL so that it can be linked in; 0 where the system has none.
_UNNAMED_FLAGS = _O_TMPFILE | os.O_WRONLY | _CLOEXEC if _O_TMPFILE else 0
# What a folder answers when its file system (or an old kernel) cannot make unnamed files.
_NO_UNNAMED_FILES = frozenset({errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL})
