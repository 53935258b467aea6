"""The plan of a presigned multipart upload: part sizes, URL lifetimes, part bodies, progress.

Written once for :mod:`lakefs_sdk.transfer` and :mod:`lakefs_sdk.aio.transfer`; nothing
here waits on the network. The limits are the object store's (S3, which lakeFS presigns
multipart uploads for): parts of at least 5 MiB but the last, at most 10,000 parts, at
most 5 TiB in all. The defaults are those of ``s3transfer`` (boto3): contents of 8 MiB
and more go in parts of 8 MiB.
"""

from __future__ import annotations

import calendar
import math
import threading
import time
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Dict, Iterator, List, Optional, Sequence, Tuple
from urllib.parse import parse_qs, urlsplit

from lakefs_sdk._upload import CHUNK_SIZE, UploadSource, _read_chunks
from lakefs_sdk.exceptions import ApiValueError

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB
MAX_PARTS = 10_000
MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MiB  # 5 TiB
DEFAULT_MULTIPART_THRESHOLD = 8 * MiB
DEFAULT_PART_SIZE = 8 * MiB
# Parts in flight per upload: the bulk helpers' default too. It keeps within the connections
# a client keeps per host by default (5 per CPU), and bounds what a stream holds in memory
# (8 x 8 MiB) while keeping a fast link busy.
DEFAULT_PART_CONCURRENCY = 8
# A part URL that expires within this many seconds is asked for again before use (as lakectl does).
URL_EXPIRY_MARGIN = 15.0
# A part whose URL expired while it was being sent (its retries waited past the URL's end) is
# sent again with a fresh URL at most this many times; then the store's refusal stands.
MAX_URL_REFRESHES = 2
# How S3 (and MinIO, SeaweedFS) word the 403 of an expired presigned URL (code AccessDenied).
EXPIRED_REFUSAL_TEXT = b"Request has expired"

ProgressCallback = Callable[[int, Optional[int]], None]


def _positive_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ApiValueError(f"upload_presigned(): {name} must be an int of at least {minimum}, got {value!r}")
    return value


def check_settings(multipart_threshold: Any, part_size: Any, concurrency: Any) -> None:
    """Refuse bad multipart settings with ``ApiValueError``, before anything is sent.

    ``part_size`` below 5 MiB is refused rather than quietly raised: the store would refuse
    every part but the last.
    """
    _positive_int("multipart_threshold", multipart_threshold, 0)
    if isinstance(part_size, int) and not isinstance(part_size, bool) and 0 < part_size < MIN_PART_SIZE:
        raise ApiValueError(
            f"upload_presigned(): part_size must be at least 5 MiB ({MIN_PART_SIZE} bytes), got {part_size}: "
            "object stores refuse smaller parts but the last"
        )
    _positive_int("part_size", part_size, MIN_PART_SIZE)
    _positive_int("concurrency", concurrency, 1)


def uses_multipart(size: Optional[int], multipart_threshold: int) -> bool:
    """Whether content of ``size`` bytes goes in parts: at ``multipart_threshold`` and above (as s3transfer)."""
    return size is None or size >= multipart_threshold


@dataclass(frozen=True)
class PartPlan:
    """How ``size`` bytes are split: ``count`` parts of ``part_size`` bytes, the last one shorter or equal."""

    size: int
    part_size: int
    count: int

    def span(self, number: int) -> Tuple[int, int]:
        """``(offset, length)`` of part ``number`` (1 to ``count``)."""
        if not 1 <= number <= self.count:
            raise ValueError(f"part {number} of {self.count}")
        offset = (number - 1) * self.part_size
        return offset, min(self.part_size, self.size - offset)

    def lengths(self) -> List[int]:
        """The length of every part, in order."""
        return [self.span(number)[1] for number in range(1, self.count + 1)]


def plan_parts(size: int, part_size: int) -> PartPlan:
    """Split ``size`` bytes into parts of ``part_size``, raised (to whole MiB) when 10,000 would not do.

    Raises ``ApiValueError`` above 5 TiB, the largest object the store takes.
    """
    if size > MAX_OBJECT_SIZE:
        raise ApiValueError(
            f"upload_presigned(): {size} bytes is more than the 5 TiB ({MAX_OBJECT_SIZE} bytes) an object may have"
        )
    if size <= 0:
        return PartPlan(0, part_size, 1)  # one empty part: the store needs at least one
    smallest = math.ceil(size / MAX_PARTS)
    if smallest > part_size:
        part_size = math.ceil(smallest / MiB) * MiB
    return PartPlan(size, part_size, math.ceil(size / part_size))


# -- presigned URL lifetimes ------------------------------------------------------------------------


def _parse_time(value: str, layout: str) -> Optional[float]:
    try:
        return float(calendar.timegm(time.strptime(value, layout)))
    except ValueError:
        return None


def url_expiry(url: str) -> Optional[float]:
    """When the presigned ``url`` stops working (seconds since the epoch), or None when it does not say.

    Reads SigV4 (``X-Amz-Date`` + ``X-Amz-Expires``), its Google twin (``X-Goog-*``) and an
    Azure SAS end time (``se``).
    """
    query = {key.lower(): values[0] for key, values in parse_qs(urlsplit(url).query).items() if values}
    for vendor in ("x-amz-", "x-goog-"):
        signed, lifetime = query.get(vendor + "date"), query.get(vendor + "expires")
        if signed is not None and lifetime is not None and lifetime.isdigit():
            start = _parse_time(signed, "%Y%m%dT%H%M%SZ")
            return None if start is None else start + int(lifetime)
    end = query.get("se")
    if end is not None:
        return _parse_time(end, "%Y-%m-%dT%H:%M:%SZ")
    return None


def expiring(url: str, now: float, margin: float = URL_EXPIRY_MARGIN) -> bool:
    """Whether ``url`` expires within ``margin`` seconds of ``now`` (or has): ask for a fresh one first."""
    expiry = url_expiry(url)
    return expiry is not None and now + margin >= expiry


def expired_refusal(status: int, url: str, body: bytes, now: float) -> bool:
    """Whether the store's ``status`` answer (with ``body``) to a PUT to ``url`` refused it because the URL expired.

    A 403 that says so (S3: ``<Code>AccessDenied</Code><Message>Request has expired</Message>``),
    or any 403 once ``url`` is :func:`expiring` at ``now`` (a URL that would not be sent now:
    a store that does not say why, or a store's clock a little ahead of ours). A fresh URL
    may get such a part through; any other answer stands.
    """
    return status == 403 and (EXPIRED_REFUSAL_TEXT in body or expiring(url, now))


# -- part bodies -------------------------------------------------------------------------------------


class PartSource(UploadSource):
    """The bytes of one part, read again from the start on every attempt (so the transport can retry)."""

    def __init__(self, size: int) -> None:
        super().__init__(b"")
        self.size = size
        self.rewindable = True


class BufferPart(PartSource):
    """A part held in memory, as pieces of the caller's bytes or of a stream's chunks (not copied)."""

    def __init__(self, pieces: Sequence[memoryview]) -> None:
        super().__init__(sum(len(piece) for piece in pieces))
        self.pieces = list(pieces)

    def chunks(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        for piece in self.pieces:
            for offset in range(0, len(piece), chunk_size):
                yield bytes(piece[offset : offset + chunk_size])


class PathPart(PartSource):
    """``length`` bytes of the file at ``path`` from ``offset``; the file is opened for each attempt."""

    def __init__(self, path: str, offset: int, length: int) -> None:
        super().__init__(length)
        self.path, self.offset = path, offset

    def chunks(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        with open(self.path, "rb") as file:
            file.seek(self.offset)
            yield from _read_chunks(file, chunk_size, self.size, self.path)


class SharedFilePart(PartSource):
    """``length`` bytes of an open seekable file from ``offset``; parts share the file under ``lock``."""

    def __init__(self, file: BinaryIO, lock: threading.Lock, offset: int, length: int) -> None:
        super().__init__(length)
        self.file, self.lock, self.offset = file, lock, offset

    def chunks(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        assert self.size is not None
        done = 0
        while done < self.size:
            with self.lock:  # other parts read the same file from other threads
                self.file.seek(self.offset + done)
                chunk = self.file.read(min(chunk_size, self.size - done))
            if isinstance(chunk, str):
                raise TypeError("upload files must be opened in binary mode ('rb')")
            if not chunk:
                raise ApiValueError(
                    f"upload content shrank while it was sent: part at offset {self.offset} ended after {done} "
                    f"of its {self.size} bytes; the upload was aborted"
                )
            done += len(chunk)
            yield chunk


class StreamSplitter:
    """Cuts a stream of chunks into parts of exactly ``part_size`` bytes (the last one shorter).

    Holds what it was fed until a part is complete; the pieces reference the chunks, uncopied.
    """

    def __init__(self, part_size: int) -> None:
        self.part_size = part_size
        self.buffered = 0
        self._pieces: List[memoryview] = []

    def feed(self, chunk: Any) -> List[List[memoryview]]:
        """Add ``chunk``; the parts it completes (usually none or one).

        A list the caller pops: a part must not stay referenced here once it is sent.
        """
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"upload iterables must yield bytes, got {type(chunk).__name__}")
        complete: List[List[memoryview]] = []
        view = memoryview(chunk).cast("B")
        while len(view):
            take = min(len(view), self.part_size - self.buffered)
            self._pieces.append(view[:take])
            self.buffered += take
            view = view[take:]
            if self.buffered == self.part_size:
                complete.append(self.rest())
        return complete

    def rest(self) -> List[memoryview]:
        """What is left once the stream ended (possibly nothing)."""
        pieces, self._pieces, self.buffered = self._pieces, [], 0
        return pieces


# -- progress ----------------------------------------------------------------------------------------


class PartProgress:
    """Adds up the parts of one upload into one ``progress(bytes_done, bytes_total)`` call.

    ``total`` is None until known (a stream's size is known when it ends). A part sent again
    on retry counts from zero again. Parts report from several threads; calls are serialized.
    """

    def __init__(self, callback: Optional[ProgressCallback], total: Optional[int]) -> None:
        self.callback = callback
        self.total = total
        self._done: Dict[int, int] = {}
        self._sum = 0
        self._lock = threading.Lock()

    def for_part(self, number: int) -> Optional[ProgressCallback]:
        """The callback to give the body of part ``number`` (None when nobody listens)."""
        if self.callback is None:
            return None

        def update(done: int, _total: Optional[int]) -> None:
            self.update(number, done)

        return update

    def update(self, number: int, done: int) -> None:
        """Part ``number`` has ``done`` bytes behind it."""
        if self.callback is None:
            return
        with self._lock:
            self._sum += done - self._done.get(number, 0)
            self._done[number] = done
            self.callback(self._sum, self.total)

    def finish(self, total: int) -> None:
        """Every part is sent: ``total`` bytes (a stream's size is known now); tell the callback."""
        if self.callback is None:
            return
        with self._lock:
            self.total = total
            self.callback(self._sum, total)
