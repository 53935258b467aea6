"""1 GiB both ways through the real server in bounded memory, with every byte checked.

The recording proxy buffers bodies, so these tests talk to lakeFS directly
(``direct_lakefs_client``). The content is generated (a pseudo-random MiB, stamped with its
index) or a sparse file, so neither disk nor time grows with the test: on loopback each
gigabyte takes seconds. Memory is the test process's peak resident set during the transfer
(``VmHWM``, reset first through ``/proc/self/clear_refs``) minus its resident set before;
the bound is the benchmarks' 32 MiB. What came back is compared by sha256 with what went in.

A file that grows or shrinks while it is streamed must still make one well-formed request
of the length announced in ``Content-Length`` (or fail at once): more bytes would reach
lakeFS as further requests on the same connection, fewer leave it waiting.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple

import pytest

import lakefs_sdk
from lakefs_sdk import transfer

from support.lakefs import LakeFS

MiB = 1 << 20
GiB = 1 << 30
RSS_BOUND_MIB = 32.0
BLOCK = hashlib.shake_256(b"lakefs-sdk streaming test").digest(MiB)


def block(index: int) -> bytes:
    """MiB number ``index`` of the generated object: the random MiB with the index in front."""
    return index.to_bytes(8, "big") + BLOCK[8:]


def generated(start: int, end: int) -> bytes:
    """Bytes ``start`` to ``end`` (exclusive) of the generated object."""
    out = bytearray()
    for index in range(start // MiB, (end - 1) // MiB + 1):
        data = block(index)
        lo = max(start - index * MiB, 0)
        hi = min(end - index * MiB, MiB)
        out += data[lo:hi]
    return bytes(out)


class Digest:
    """sha256 and size of a stream, fed as it passes."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self.sha256.update(chunk)
        self.size += len(chunk)


def generate(digest: Digest, size: int = GiB) -> Iterator[bytes]:
    for index in range(size // MiB):
        chunk = block(index)
        digest.update(chunk)
        yield chunk


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"/proc/self/status has no {field}")


class PeakRss:
    """Peak resident memory growth of this process over a block, in MiB."""

    def __enter__(self) -> PeakRss:
        self.before_kib = _status_kib("VmRSS")
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
                refs.write("5")  # resets VmHWM to the current resident set
        except OSError as error:
            pytest.skip(f"cannot reset the peak resident set here ({error}): no clean memory measurement")
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.peak_kib = _status_kib("VmHWM")

    @property
    def growth_mib(self) -> float:
        return max(0, self.peak_kib - self.before_kib) / 1024


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture
def big_objects(direct_lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> Iterator[List[str]]:
    """Paths the test fills with a gigabyte; their data files are removed afterwards (the
    server's blockstore is on this machine and keeps data after a repository is deleted)."""
    paths: List[str] = []
    yield paths
    for path in paths:
        try:
            stats = direct_lakefs_client.objects_api.stat_object(repo, "main", path)
        except lakefs_sdk.NotFoundException:
            continue
        if stats.physical_address.startswith("local:///"):
            Path(stats.physical_address[len("local://") :]).unlink(missing_ok=True)


def test_1_gib_from_an_iterator_and_back_in_chunks(
    direct_lakefs_client: lakefs_sdk.LakeFSClient, repo: str, big_objects: List[str]
) -> None:
    objects = direct_lakefs_client.objects_api
    big_objects.append("big/generated.bin")
    sent = Digest()
    with PeakRss() as upload_memory:
        stats = objects.upload_object(repo, "main", "big/generated.bin", content=generate(sent))
    assert sent.size == GiB
    assert stats.size_bytes == GiB
    assert upload_memory.growth_mib <= RSS_BOUND_MIB, f"upload grew the process by {upload_memory.growth_mib:.1f} MiB"
    assert objects.stat_object(repo, "main", "big/generated.bin").size_bytes == GiB

    received = Digest()
    with PeakRss() as download_memory:
        response = objects.get_object_without_preload_content(repo, "main", "big/generated.bin")
        with response:
            assert response.status == 200 and response.headers["Content-Length"] == str(GiB)
            for chunk in response.iter_bytes():
                assert len(chunk) <= MiB
                received.update(chunk)
    assert received.size == GiB and received.sha256.hexdigest() == sent.sha256.hexdigest()
    assert download_memory.growth_mib <= RSS_BOUND_MIB, (
        f"download grew the process by {download_memory.growth_mib:.1f} MiB"
    )

    ranges: List[Tuple[str, int, int]] = [
        ("bytes=0-9", 0, 10),
        (f"bytes={MiB - 5}-{MiB + 4}", MiB - 5, MiB + 5),  # across two generated blocks
        (f"bytes={GiB // 2}-{GiB // 2 + 3 * MiB - 1}", GiB // 2, GiB // 2 + 3 * MiB),
        ("bytes=-16", GiB - 16, GiB),
        (f"bytes={GiB - 1}-", GiB - 1, GiB),
        (f"bytes={GiB - 100}-{GiB + 100}", GiB - 100, GiB),  # clipped at the end
    ]
    for byte_range, start, end in ranges:
        partial = objects.get_object_with_http_info(repo, "main", "big/generated.bin", range=byte_range)
        assert partial.status_code == 206 and partial.data == generated(start, end), byte_range
        assert partial.headers["Content-Range"] == f"bytes {start}-{end - 1}/{GiB}"
    with pytest.raises(lakefs_sdk.RangeNotSatisfiableException) as raised:
        objects.get_object(repo, "main", "big/generated.bin", range=f"bytes={GiB}-")
    assert raised.value.status == 416


def test_1_gib_file_raw_upload_and_download_to_a_path(
    direct_lakefs_client: lakefs_sdk.LakeFSClient, repo: str, big_objects: List[str], tmp_path: Path
) -> None:
    objects = direct_lakefs_client.objects_api
    big_objects.append("big/sparse.bin")
    source = tmp_path / "sparse.bin"
    target = tmp_path / "downloaded.bin"
    marks = {0: block(0), 341 * MiB: block(1), GiB - MiB: block(2)}  # data among the holes
    try:
        with open(source, "wb") as file:
            file.truncate(GiB)
            for offset, data in marks.items():
                file.seek(offset)
                file.write(data)
        # The file's digest from what it holds, without reading a gigabyte of holes back.
        expected = hashlib.sha256()
        zeros = bytes(MiB)
        for offset in range(0, GiB, MiB):
            expected.update(marks.get(offset, zeros))

        progress: List[Tuple[int, Optional[int]]] = []
        with PeakRss() as upload_memory:
            stats = transfer.upload(
                objects,
                repo,
                "main",
                "big/sparse.bin",
                source,
                progress=lambda done, total: progress.append((done, total)),
            )
        assert stats.size_bytes == GiB and stats.content_type == "application/octet-stream"
        assert progress[-1] == (GiB, GiB) and all(total == GiB for _, total in progress)
        assert upload_memory.growth_mib <= RSS_BOUND_MIB, (
            f"upload grew the process by {upload_memory.growth_mib:.1f} MiB"
        )

        with PeakRss() as download_memory:
            written = transfer.download(objects, repo, "main", "big/sparse.bin", target)
        assert written == GiB and target.stat().st_size == GiB
        assert download_memory.growth_mib <= RSS_BOUND_MIB, (
            f"download grew the process by {download_memory.growth_mib:.1f} MiB"
        )
        assert file_sha256(target) == expected.hexdigest()
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".lakefs-download-")]

        # A range straight into a path: only those bytes.
        offset = 341 * MiB
        part = tmp_path / "part.bin"
        assert (
            transfer.download(objects, repo, "main", "big/sparse.bin", part, range=f"bytes={offset - 8}-{offset + 7}")
            == 16
        )
        assert part.read_bytes() == b"\0" * 8 + marks[offset][:8]
    finally:
        for path in (source, target):
            path.unlink(missing_ok=True)


def test_a_download_that_fails_leaves_the_target_untouched(
    direct_lakefs_client: lakefs_sdk.LakeFSClient, repo: str, tmp_path: Path
) -> None:
    target = tmp_path / "existing.bin"
    target.write_bytes(b"previous content")
    with pytest.raises(lakefs_sdk.NotFoundException):
        transfer.download(direct_lakefs_client.objects_api, repo, "main", "big/missing.bin", target)
    assert target.read_bytes() == b"previous content"
    assert sorted(os.listdir(tmp_path)) == ["existing.bin"]


# -- a source that changes size while it is sent -----------------------------------------------------

ANNOUNCED = 3 * MiB
# What a file gains during the upload; sent past the announced body, lakeFS would read it as
# a request of its own on the same connection.
SMUGGLED = b"GET /api/v1/healthcheck HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


class AfterFirstChunk:
    """A progress callback that changes the source file once the first MiB is sent."""

    def __init__(self, change: Any) -> None:
        self.change = change
        self.seen: List[Tuple[int, Optional[int]]] = []

    def __call__(self, done: int, total: Optional[int]) -> None:
        if not self.seen:
            self.change()
        self.seen.append((done, total))


def upload_changing(
    objects: lakefs_sdk.ObjectsApi, repo: str, form: str, path: str, source: Path, progress: Any
) -> Any:
    if form == "raw":
        return transfer.upload(objects, repo, "main", path, source, progress=progress)
    return objects.upload_object(repo, "main", path, content=source, _progress=progress)


@pytest.mark.parametrize("form", ["raw", "multipart"])
def test_a_file_that_grows_during_the_upload_is_sent_as_announced(
    form: str, direct_lakefs_client: lakefs_sdk.LakeFSClient, repo: str, tmp_path: Path
) -> None:
    objects = direct_lakefs_client.objects_api
    source = tmp_path / "growing.log"
    source.write_bytes(b"a" * ANNOUNCED)

    def grow() -> None:
        with open(source, "ab") as file:
            file.write(SMUGGLED + b"b" * MiB)

    progress = AfterFirstChunk(grow)
    try:
        stats = upload_changing(objects, repo, form, "grown.log", source, progress)
    finally:
        # Never more than announced: the bytes the file gained are not part of this request.
        assert all(done <= ANNOUNCED and total == ANNOUNCED for done, total in progress.seen)
    assert progress.seen[-1] == (ANNOUNCED, ANNOUNCED)
    # What the file held when the upload began, as upstream (which reads it whole first) stores.
    assert stats.size_bytes == ANNOUNCED
    assert objects.get_object(repo, "main", "grown.log") == b"a" * ANNOUNCED
    assert [e.path for e in objects.list_objects(repo, "main").results] == ["grown.log"]


@pytest.mark.parametrize("form", ["raw", "multipart"])
def test_a_file_that_shrinks_during_the_upload_fails_at_once(
    form: str, lakefs: LakeFS, repo: str, tmp_path: Path
) -> None:
    source = tmp_path / "shrinking.bin"
    source.write_bytes(b"a" * ANNOUNCED)
    progress = AfterFirstChunk(lambda: os.truncate(source, 2 * MiB))
    # A short read timeout: if the SDK did not notice the short read itself, lakeFS would wait
    # for the missing bytes (raw) or store the shortened object (multipart).
    with lakefs_sdk.LakeFSClient(lakefs.configuration(read_timeout=5.0, max_retries=0)) as client:
        with pytest.raises(lakefs_sdk.ApiValueError, match="shrank while it was sent"):
            upload_changing(client.objects_api, repo, form, "shrunk.bin", source, progress)
        with pytest.raises(lakefs_sdk.NotFoundException):
            client.objects_api.stat_object(repo, "main", "shrunk.bin")
