"""lakefs_sdk._multipart: part plans, URL lifetimes, part bodies and progress (no I/O but local files)."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

from lakefs_sdk import ApiValueError
from lakefs_sdk._multipart import (
    DEFAULT_MULTIPART_THRESHOLD,
    DEFAULT_PART_SIZE,
    MAX_OBJECT_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    BufferPart,
    PartProgress,
    PathPart,
    SharedFilePart,
    StreamSplitter,
    check_settings,
    expired_refusal,
    expiring,
    plan_parts,
    url_expiry,
    uses_multipart,
)
from lakefs_sdk._upload import UploadBody

MiB = 1024 * 1024
TiB = 1024 * 1024 * MiB


def test_the_defaults_are_those_of_s3transfer() -> None:
    assert DEFAULT_MULTIPART_THRESHOLD == 8 * MiB and DEFAULT_PART_SIZE == 8 * MiB
    assert MIN_PART_SIZE == 5 * MiB and MAX_PARTS == 10_000 and MAX_OBJECT_SIZE == 5 * TiB


def test_the_threshold_itself_goes_multipart_and_one_byte_less_does_not() -> None:
    assert uses_multipart(8 * MiB, 8 * MiB) is True
    assert uses_multipart(8 * MiB - 1, 8 * MiB) is False
    assert uses_multipart(8 * MiB + 1, 8 * MiB) is True
    assert uses_multipart(None, 8 * MiB) is True, "a stream of unknown size goes multipart"


def test_exactly_at_the_threshold_is_one_full_part() -> None:
    plan = plan_parts(8 * MiB, 8 * MiB)
    assert (plan.count, plan.part_size, plan.lengths()) == (1, 8 * MiB, [8 * MiB])


def test_one_byte_over_a_part_makes_a_one_byte_last_part() -> None:
    plan = plan_parts(8 * MiB + 1, 8 * MiB)
    assert plan.count == 2 and plan.lengths() == [8 * MiB, 1]
    assert plan.span(1) == (0, 8 * MiB) and plan.span(2) == (8 * MiB, 1)
    with pytest.raises(ValueError):
        plan.span(3)


def test_parts_cover_the_content_without_gap_or_overlap() -> None:
    plan = plan_parts(30 * MiB + 123, 5 * MiB)
    spans = [plan.span(n) for n in range(1, plan.count + 1)]
    assert plan.count == 7 and sum(length for _, length in spans) == 30 * MiB + 123
    assert all(offset == (n - 1) * 5 * MiB for n, (offset, _) in enumerate(spans, start=1))


def test_the_part_size_is_raised_to_whole_mib_to_fit_10000_parts() -> None:
    plan = plan_parts(5 * TiB, 8 * MiB)
    assert plan.count <= MAX_PARTS and plan.part_size % MiB == 0
    assert plan.part_size == 525 * MiB and plan.count == 9987
    assert sum(plan.lengths()) == 5 * TiB
    just_fits = plan_parts(MAX_PARTS * 8 * MiB, 8 * MiB)
    assert (just_fits.count, just_fits.part_size) == (MAX_PARTS, 8 * MiB), "no raise when 10,000 parts do"
    one_more = plan_parts(MAX_PARTS * 8 * MiB + 1, 8 * MiB)
    assert one_more.part_size == 9 * MiB and one_more.count <= MAX_PARTS


def test_more_than_5_tib_is_refused() -> None:
    with pytest.raises(ApiValueError, match="5 TiB"):
        plan_parts(5 * TiB + 1, 8 * MiB)


def test_a_part_size_below_5_mib_is_refused_not_raised() -> None:
    with pytest.raises(ApiValueError, match="part_size must be at least 5 MiB"):
        check_settings(8 * MiB, 5 * MiB - 1, 4)
    check_settings(0, 5 * MiB, 1)  # the smallest that is taken


@pytest.mark.parametrize(
    "threshold, part_size, concurrency, word",
    [(-1, 8 * MiB, 4, "multipart_threshold"), ("8", 8 * MiB, 4, "multipart_threshold"), (8, 0, 4, "part_size"),
     (8, True, 4, "part_size"), (8, 8 * MiB, 0, "concurrency"), (8, 8 * MiB, 2.0, "concurrency")],
)
def test_bad_settings_are_refused(threshold: object, part_size: object, concurrency: object, word: str) -> None:
    with pytest.raises(ApiValueError, match=word):
        check_settings(threshold, part_size, concurrency)


# -- URL lifetimes: a fixed clock ------------------------------------------------------------------

SIGNED = 1_700_000_000  # 2023-11-14T22:13:20Z
S3_URL = "https://b.s3.amazonaws.com/k?partNumber=1&X-Amz-Date=20231114T221320Z&X-Amz-Expires=900&X-Amz-Signature=ab"


def test_a_sigv4_url_expires_at_its_date_plus_its_lifetime() -> None:
    assert url_expiry(S3_URL) == SIGNED + 900
    assert url_expiry(S3_URL.replace("X-Amz-", "X-Goog-")) == SIGNED + 900
    azure = "https://a.blob.core.windows.net/c/k?sv=2021&se=2023-11-14T22%3A28%3A20Z&sig=x"
    assert url_expiry(azure) == SIGNED + 900


def test_a_url_that_does_not_say_never_expires_for_us() -> None:
    assert url_expiry("http://127.0.0.2:9000/bucket/k?sig=1") is None
    assert url_expiry("https://b/k?X-Amz-Date=garbage&X-Amz-Expires=900") is None
    assert expiring("http://127.0.0.2:9000/bucket/k", now=10.0**12) is False


def test_a_url_is_refreshed_15_seconds_before_it_expires() -> None:
    expiry = SIGNED + 900
    assert expiring(S3_URL, now=expiry - 16) is False
    assert expiring(S3_URL, now=expiry - 15) is True, "within the margin"
    assert expiring(S3_URL, now=expiry + 60) is True, "long gone"
    assert expiring(S3_URL, now=expiry - 100, margin=120) is True


S3_EXPIRED = b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"


def test_a_403_is_an_expired_url_when_the_store_says_so_or_the_url_is_past_its_end() -> None:
    expiry = SIGNED + 900
    assert expired_refusal(403, S3_URL, S3_EXPIRED, now=expiry - 600), "the store's clock is the one that counts"
    assert expired_refusal(403, S3_URL, b"", now=expiry + 1), "a store that does not say why, past the URL's end"
    assert expired_refusal(403, S3_URL, b"", now=expiry - 15), "within the margin: a URL that would not be sent now"
    assert not expired_refusal(403, S3_URL, b"", now=expiry - 16)
    denied = b"<Error><Code>SignatureDoesNotMatch</Code></Error>"
    assert not expired_refusal(403, S3_URL, denied, now=expiry - 600), "any other refusal stands"
    assert not expired_refusal(403, "http://127.0.0.2:9000/bucket/k?sig=1", b"", now=10.0**12), "no lifetime known"
    for status in (200, 400, 401, 404, 503):
        assert not expired_refusal(status, S3_URL, S3_EXPIRED, now=expiry + 60), status


# -- part bodies -----------------------------------------------------------------------------------


def body_bytes(body: UploadBody) -> bytes:
    return b"".join(body.iterate())


def test_a_path_part_is_its_own_slice_read_again_on_each_attempt(tmp_path: Path) -> None:
    data = bytes(range(256)) * 100
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    body = UploadBody(PathPart(str(path), 1000, 5000), chunk_size=777)
    assert body.length == 5000 and body.can_resend
    assert body_bytes(body) == data[1000:6000]
    assert body_bytes(body) == data[1000:6000], "a retry sends the same bytes"


def test_parts_of_one_open_file_do_not_disturb_each_other() -> None:
    data = bytes(range(250)) * 400
    file = io.BytesIO(data)
    lock = threading.Lock()
    parts = [SharedFilePart(file, lock, offset, 10_000) for offset in range(0, len(data), 10_000)]
    streams = [p.chunks(1000) for p in parts]
    received: List[List[bytes]] = [[] for _ in parts]
    for _ in range(10):  # interleaved, as concurrent parts are
        for index, stream in enumerate(streams):
            received[index].append(next(stream, b""))
    assert [b"".join(r) for r in received] == [data[o : o + 10_000] for o in range(0, len(data), 10_000)]


def test_a_file_that_shrank_fails_its_part() -> None:
    part = SharedFilePart(io.BytesIO(b"x" * 10), threading.Lock(), 5, 20)
    with pytest.raises(ApiValueError, match="shrank"):
        list(part.chunks())


def test_a_buffer_part_is_sent_without_joining_its_pieces() -> None:
    part = BufferPart([memoryview(b"abc"), memoryview(b"defgh")[1:]])
    assert part.size == 7 and part.rewindable
    assert list(part.chunks(2)) == [b"ab", b"c", b"ef", b"gh"]


def test_the_splitter_cuts_exact_parts_from_any_chunks() -> None:
    splitter = StreamSplitter(4)
    parts = []
    for chunk in [b"ab", b"cdefghij", b"", bytearray(b"k"), memoryview(b"lm")]:
        parts.extend(b"".join(bytes(p) for p in pieces) for pieces in splitter.feed(chunk))
    assert parts == [b"abcd", b"efgh", b"ijkl"] and splitter.buffered == 1
    assert b"".join(bytes(p) for p in splitter.rest()) == b"m" and splitter.buffered == 0
    with pytest.raises(TypeError, match="must yield bytes"):
        splitter.feed("text")


def test_progress_adds_up_parts_and_a_retried_part_counts_again() -> None:
    calls: List[Tuple[int, Optional[int]]] = []
    progress = PartProgress(lambda done, total: calls.append((done, total)), 30)
    one, two = progress.for_part(1), progress.for_part(2)
    assert one is not None and two is not None
    one(10, 10)
    two(5, 20)
    two(0, 20)  # part 2 sent again
    two(20, 20)
    assert calls == [(10, 30), (15, 30), (10, 30), (30, 30)]
    stream = PartProgress(lambda done, total: calls.append((done, total)), None)
    part = stream.for_part(1)
    assert part is not None
    part(7, 7)
    stream.finish(7)
    assert calls[-2:] == [(7, None), (7, 7)], "a stream's total is told once it ended"
    assert PartProgress(None, 3).for_part(1) is None
