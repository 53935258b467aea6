"""Streaming request bodies for uploads.

An upload is sent without ever holding the whole content in memory, either as a
``multipart/form-data`` body with one file part or as a raw ``application/octet-stream``
body. ``Content-Length`` is computed up front when the size is known (bytes, paths,
regular files); otherwise the body goes out with chunked encoding. A body can be sent
again on retry only when its source can be rewound (bytes, paths, seekable files);
an iterator cannot, and the retry layer is told so. A ``str`` content is a file name; one
that cannot be a file name (a line break, NUL, too long) or names no file is most likely
text meant as data, and is refused with ``ApiValueError`` before anything is sent.
"""

from __future__ import annotations

import mimetypes
import os
import secrets
from typing import Any, BinaryIO, Callable, Iterator, Optional, Tuple

from lakefs_sdk.exceptions import ApiValueError

# Large enough that per-chunk overhead disappears on loopback, small enough for the memory bound.
CHUNK_SIZE = 1024 * 1024

Progress = Callable[[int, Optional[int]], None]

# The hint for text passed where bytes belong (a str content is a file name).
PASS_BYTES = "pass bytes for data (e.g. text.encode())"


class NoSuchFileError(ApiValueError, FileNotFoundError):
    """A ``str`` upload content that names no file: most likely text meant as data.

    An ``ApiValueError`` saying so, and still the ``FileNotFoundError`` a missing file raised before.
    """


class UploadSource:
    """Where upload bytes come from: bytes, a path, a binary file, or an iterable of bytes."""

    def __init__(self, content: Any) -> None:
        self.filename = "content"
        self._data: Optional[bytes] = None
        self._path: Optional[str] = None
        self._file: Optional[BinaryIO] = None
        self._iterable: Any = None
        self._start = 0
        self.size: Optional[int] = None
        self.rewindable = True
        if isinstance(content, tuple):
            name, content = content
            self.filename = os.path.basename(str(name)) or self.filename
        if isinstance(content, (bytes, bytearray, memoryview)):
            self._data = bytes(content)
            self.size = len(self._data)
        elif isinstance(content, str) or hasattr(content, "__fspath__"):
            if isinstance(content, str):
                _check_file_name(content)
            self._path = os.fspath(content)
            self.filename = os.path.basename(self._path) or self.filename
            try:
                self.size = os.path.getsize(self._path)
            except (FileNotFoundError, NotADirectoryError) as error:
                if not isinstance(content, str):
                    raise  # a path object is meant as a path: its own error says it best
                raise NoSuchFileError(
                    f"upload content {_preview(content)} is a str, which is read as a file name, and no such "
                    f"file exists; {PASS_BYTES}, or the path of an existing file"
                ) from error
        elif hasattr(content, "read"):
            self._file = content
            name = getattr(content, "name", None)
            if isinstance(name, str):
                self.filename = os.path.basename(name) or self.filename
            self._init_file(content)
        else:
            self._iterable = content
            self.rewindable = False

    def _init_file(self, file: BinaryIO) -> None:
        try:
            seekable = file.seekable()
        except (AttributeError, OSError, ValueError):
            seekable = False
        if not seekable:
            self.rewindable = False
            return
        self._start = file.tell()
        end = file.seek(0, os.SEEK_END)
        file.seek(self._start)
        self.size = end - self._start

    def chunks(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Yield the content from its beginning (rewinding a seekable file first)."""
        if self._data is not None:
            view = memoryview(self._data)
            for offset in range(0, len(view), chunk_size):
                yield bytes(view[offset : offset + chunk_size])
        elif self._path is not None:
            with open(self._path, "rb") as file:
                yield from _read_chunks(file, chunk_size, self.size, self._path)
        elif self._file is not None:
            if self.rewindable:
                self._file.seek(self._start)
            yield from _read_chunks(self._file, chunk_size, self.size, self.filename)
        else:
            for chunk in self._iterable:
                if not isinstance(chunk, (bytes, bytearray, memoryview)):
                    raise TypeError(f"upload iterables must yield bytes, got {type(chunk).__name__}")
                if chunk:
                    yield bytes(chunk)


def _check_file_name(name: str) -> None:
    """Refuse a ``str`` that cannot name a file: it is data passed where bytes belong.

    A ``str`` content is a path. Text such as ``"id,v\n1,2\n"`` would otherwise fail as a
    missing file with a baffling name (or, worse, name one that exists).
    """
    why = None
    if "\n" in name or "\r" in name:
        why = "it contains a line break"
    elif "\x00" in name:
        why = "it contains a NUL character"
    elif len(os.fsencode(name)) > _PATH_MAX:
        why = f"it is longer than a path may be ({_PATH_MAX} bytes)"
    elif any(len(os.fsencode(part)) > _NAME_MAX for part in name.replace(os.sep, "/").split("/")):
        why = f"a part of it is longer than a file name may be ({_NAME_MAX} bytes)"
    if why is not None:
        raise ApiValueError(
            f"upload content {_preview(name)} is a str, which is read as a file name, and cannot be one: {why}; "
            + PASS_BYTES
        )


def _preview(text: str) -> str:
    return repr(text[:40] + "...") if len(text) > 40 else repr(text)


def _os_limit(name: str, default: int) -> int:
    try:
        return int(os.pathconf("/", name))
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows) or no such limit
        return default


# What the OS allows for a whole path and for one of its parts (Linux: 4096 and 255 bytes).
_PATH_MAX = _os_limit("PC_PATH_MAX", 4096)
_NAME_MAX = _os_limit("PC_NAME_MAX", 255)


def _read_chunks(file: BinaryIO, chunk_size: int, size: Optional[int], name: str) -> Iterator[bytes]:
    """Read ``file`` in chunks: exactly ``size`` bytes when the size was announced, else to EOF.

    A file that grows while it is sent is sent as it was when the upload began (the
    ``Content-Length`` already went out); one that shrinks fails the upload at once instead
    of leaving the server waiting for bytes that never come.
    """
    remaining = size
    while remaining is None or remaining > 0:
        chunk = file.read(chunk_size if remaining is None else min(chunk_size, remaining))
        if isinstance(chunk, str):
            raise TypeError("upload files must be opened in binary mode ('rb')")
        if not chunk:
            if remaining:
                assert size is not None
                raise ApiValueError(
                    f"upload content {name!r} shrank while it was sent: it had {size} bytes when the upload "
                    f"began and ended after {size - remaining}; the upload was aborted"
                )
            return
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


class UploadBody:
    """A request body streamed from an :class:`UploadSource`, raw or as a multipart part.

    ``iterate()`` returns a fresh iterator for each attempt; ``started`` tells whether any
    byte of a non-rewindable source has been consumed (then it cannot be sent again).
    """

    def __init__(
        self,
        source: UploadSource,
        *,
        multipart_field: Optional[str] = None,
        progress: Optional[Progress] = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.source = source
        self.progress = progress
        self.chunk_size = chunk_size
        self.started = False
        self._head = b""
        self._tail = b""
        if multipart_field is not None:
            boundary = secrets.token_hex(16)
            self.content_type = f"multipart/form-data; boundary={boundary}"
            self._head, self._tail = _multipart_frame(boundary, multipart_field, source.filename)
        else:
            self.content_type = "application/octet-stream"

    @property
    def length(self) -> Optional[int]:
        """Exact body length in bytes, or None when the source size is unknown."""
        if self.source.size is None:
            return None
        return len(self._head) + self.source.size + len(self._tail)

    @property
    def can_resend(self) -> bool:
        """True when a new attempt can send the whole body again."""
        return self.source.rewindable or not self.started

    def iterate(self) -> Iterator[bytes]:
        """A fresh iterator over the complete body."""
        self.started = True
        done = 0
        total = self.source.size
        if self._head:
            yield self._head
        for chunk in self.source.chunks(self.chunk_size):
            yield chunk
            done += len(chunk)
            if self.progress is not None:
                self.progress(done, total)
        if self._tail:
            yield self._tail
        if self.progress is not None and done == 0:
            self.progress(0, total)


def _multipart_frame(boundary: str, field: str, filename: str) -> Tuple[bytes, bytes]:
    mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    safe_name = filename.replace('"', "%22").replace("\r", "").replace("\n", "")
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{field}"; filename="{safe_name}"\r\n'
        f"Content-Type: {mime}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode("ascii")
    return head, tail

