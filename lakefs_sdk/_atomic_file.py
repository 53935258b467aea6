"""A download target written atomically: a temporary file beside it, put in place when complete.

Neutral (plain file calls, no network): both transports' ``write_to`` use it.
"""

from __future__ import annotations

import itertools
import os
from typing import IO, Optional, Union

from lakefs_sdk.exceptions import ApiException


class AtomicFile:
    """A download target: a temporary file beside ``path`` that replaces it only when complete.

    The temporary file is named ``.lakefs-download-<pid>-<n>.part``, unique in the process,
    and created exclusively (a name taken by anything else is skipped), with the mode
    ``open()`` would give the target. Cheaper than ``tempfile.mkstemp``, which matters for
    many small downloads.
    """

    def __init__(self, path: Union[str, os.PathLike[str]]) -> None:
        self.path = os.fspath(path)
        directory = os.path.dirname(self.path) or "."
        while True:
            self.temp_path = os.path.join(directory, f".lakefs-download-{os.getpid()}-{next(_TEMP_NUMBERS)}.part")
            try:
                fd = os.open(self.temp_path, _TEMP_FLAGS, 0o666)
            except FileExistsError:
                continue
            break
        self.file: IO[bytes] = open(fd, "wb")

    def commit(self, status: int, written: int, total: Optional[int]) -> None:
        """Close the file and put it in place, unless fewer bytes came than announced."""
        self.file.close()
        if total is not None and written != total:
            raise ApiException(status=status, reason=f"download incomplete: received {written} of {total} bytes")
        os.replace(self.temp_path, self.path)

    def discard(self) -> None:
        """Close and delete the temporary file; the target is left untouched."""
        self.file.close()
        if os.path.exists(self.temp_path):
            os.unlink(self.temp_path)


_TEMP_NUMBERS = itertools.count()  # next() on it is atomic in CPython: threads get distinct numbers
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
