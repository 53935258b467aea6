"""Transfer progress: callbacks see monotonic byte counts, and tqdm_progress draws a bar."""

from __future__ import annotations

import io
from typing import Iterator, List, Optional, Tuple

import pytest

from lakefs_sdk import ApiClient, Configuration, ObjectsApi
from lakefs_sdk.transfer import download, tqdm_progress, upload

from support.loopback import LoopbackServer, Reply

PAYLOAD = bytes(range(256)) * 9000  # 2.2 MiB: several 1 MiB chunks
STATS = Reply(201, '{"path": "p", "path_type": "object", "physical_address": "s3://x", "checksum": "c", "mtime": 1}')
Calls = List[Tuple[int, Optional[int]]]


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda request: STATS) as srv:
        yield srv


@pytest.fixture
def api(server: LoopbackServer) -> Iterator[ObjectsApi]:
    with ApiClient(Configuration(host=server.url + "/api/v1")) as client:
        yield ObjectsApi(client)


def test_multipart_upload_reports_the_whole_body(api: ObjectsApi, server: LoopbackServer) -> None:
    calls: Calls = []
    api.upload_object("repo", "main", "p", content=PAYLOAD, _progress=lambda d, t: calls.append((d, t)))
    assert PAYLOAD in server.requests[0].body
    assert calls[-1] == (len(PAYLOAD), len(PAYLOAD)), "progress counts the object's bytes, not the multipart framing"
    assert all(t == len(PAYLOAD) for _, t in calls) and [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_download_without_content_length_reports_unknown_total(api: ObjectsApi, server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(
        200, PAYLOAD, {"Content-Type": "application/octet-stream", "Transfer-Encoding": "chunked"}
    )
    calls: Calls = []
    sink = io.BytesIO()
    assert download(api, "repo", "main", "p", sink, progress=lambda d, t: calls.append((d, t)), chunk_size=512 * 1024) == len(PAYLOAD)
    assert sink.getvalue() == PAYLOAD
    assert calls[-1] == (len(PAYLOAD), None) and len(calls) >= 4


def test_tqdm_progress_draws_a_bar_to_completion(api: ObjectsApi, server: LoopbackServer) -> None:
    out = io.StringIO()
    progress = tqdm_progress("upload", file=out, mininterval=0)
    upload(api, "repo", "main", "p", PAYLOAD, progress=progress)
    drawn = out.getvalue()
    assert "upload: 100%" in drawn and "2.20M/2.20M" in drawn, drawn[-200:]


def test_tqdm_progress_with_unknown_total_counts_bytes(api: ObjectsApi, server: LoopbackServer) -> None:
    out = io.StringIO()
    progress = tqdm_progress("stream", file=out, mininterval=0)
    upload(api, "repo", "main", "p", iter([b"x" * 2048, b"y" * 2048]), progress=progress)
    assert "4.00k" in out.getvalue(), out.getvalue()
