"""A download target written atomically: a temporary file beside it, put in place when complete.

Neutral (plain file calls, no network): both transports' ``write_to`` use it, and through
it ``download`` and ``download_many`` of both clients.
"""

from __future__ import annotations

import errno
import itertools
import os
from typing import IO, NoReturn, Optional, Union

from lakefs_sdk.exceptions import ApiException


class AtomicFile:
    """A download target: a temporary file beside ``path`` that replaces it only when complete.

    Missing folders of ``path`` are created first. The temporary file is named
    ``.lakefs-download-<pid>-<n>.part``, unique in the process, and created exclusively (a
    name taken by anything else is skipped), with the mode ``open()`` would give the
    target. Cheaper than ``tempfile.mkstemp``, which matters for many small downloads.

    A file-system error (a folder that cannot be made or written, a target that is a
    folder) is raised as the ``OSError`` subclass the system gave, naming ``path``: the
    temporary file is an implementation detail the caller never chose.
    """

    def __init__(self, path: Union[str, os.PathLike[str]]) -> None:
        self.path = os.fspath(path)
        if os.path.isdir(self.path):  # found now, not after the whole body was written beside it
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), self.path)
        directory = os.path.dirname(self.path) or "."
        made_folder = False
        while True:
            self.temp_path = os.path.join(directory, f".lakefs-download-{os.getpid()}-{next(_TEMP_NUMBERS)}.part")
            try:
                fd = os.open(self.temp_path, _TEMP_FLAGS, 0o666)
            except FileExistsError:
                continue
            except FileNotFoundError as error:
                if made_folder:  # removed again as soon as it was made
                    _raise_for_target(error, self.path)
                # The rare path (a new folder): made here, so the common one costs nothing more.
                self._make_folder(directory)
                made_folder = True
                continue
            except OSError as error:
                _raise_for_target(error, self.path)
            break
        self.file: IO[bytes] = open(fd, "wb")

    def _make_folder(self, directory: str) -> None:
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as error:
            _raise_for_target(error, self.path)

    def commit(self, status: int, written: int, total: Optional[int]) -> None:
        """Close the file and put it in place, unless fewer bytes came than announced."""
        self.file.close()
        if total is not None and written != total:
            raise ApiException(status=status, reason=f"download incomplete: received {written} of {total} bytes")
        try:
            os.replace(self.temp_path, self.path)
        except OSError as error:
            _raise_for_target(error, self.path)

    def discard(self) -> None:
        """Close and delete the temporary file; the target is left untouched."""
        self.file.close()
        if os.path.exists(self.temp_path):
            os.unlink(self.temp_path)


def _raise_for_target(error: OSError, path: str) -> NoReturn:
    """Raise ``error`` again as the same ``OSError`` subclass, naming ``path`` (the cause kept)."""
    if error.errno is None:
        raise error
    try:
        named = type(error)(error.errno, error.strerror, path)
    except TypeError:  # pragma: no cover - an OSError subclass with another constructor
        named = OSError(error.errno, error.strerror, path)
    raise named from error


_TEMP_NUMBERS = itertools.count()  # next() on it is atomic in CPython: threads get distinct numbers
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
