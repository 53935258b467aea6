"""Streaming transfers are exact: the bytes that arrive are the bytes that were sent,
Content-Length is right when the size is known, downloads to a path are atomic, and
progress is reported."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import ClassVar, Dict, Iterator, List, Optional, Tuple

import pytest

import lakefs_sdk
from lakefs_sdk import ApiClient, Configuration, ObjectsApi
from lakefs_sdk.transfer import download, upload

from support.loopback import LoopbackServer, Reply

STATS = Reply(201, '{"path": "p", "path_type": "object", "physical_address": "s3://x", "checksum": "c", "mtime": 1}')
PAYLOAD = os.urandom(3 * 1024 * 1024 + 17)  # several chunks and a ragged end


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda request: STATS) as srv:
        yield srv


@pytest.fixture
def api(server: LoopbackServer) -> Iterator[ObjectsApi]:
    config = Configuration(host=server.url + "/api/v1", username="a", password="b")
    config.retry_backoff = 0.01
    with ApiClient(config) as client:
        yield ObjectsApi(client)


def sources(tmp_path: Path) -> List[Tuple[str, object, bool]]:
    path = tmp_path / "payload.bin"
    path.write_bytes(PAYLOAD)
    chunks = [PAYLOAD[i : i + 100_000] for i in range(0, len(PAYLOAD), 100_000)]
    return [
        ("bytes", PAYLOAD, True),
        ("str path", str(path), True),
        ("PathLike", path, True),
        ("binary file", open(path, "rb"), True),
        ("BytesIO", io.BytesIO(PAYLOAD), True),
        ("iterator", iter(chunks), False),
        ("generator", (c for c in chunks), False),
    ]


@pytest.mark.parametrize("index", range(7))
def test_raw_upload_round_trips(api: ObjectsApi, server: LoopbackServer, tmp_path: Path, index: int) -> None:
    name, content, known_size = sources(tmp_path)[index]
    api.upload_object("repo", "main", "p", content=content, _content_type="application/octet-stream")
    request = server.requests[0]
    assert request.body == PAYLOAD, name
    assert request.header("Content-Type") == "application/octet-stream"
    if known_size:
        assert request.header("Content-Length") == str(len(PAYLOAD)), name
        assert request.header("Transfer-Encoding") is None
    else:
        assert request.header("Transfer-Encoding") == "chunked", name


@pytest.mark.parametrize("index", range(7))
def test_multipart_upload_round_trips(api: ObjectsApi, server: LoopbackServer, tmp_path: Path, index: int) -> None:
    name, content, known_size = sources(tmp_path)[index]
    api.upload_object("repo", "main", "p", content=content)
    request = server.requests[0]
    content_type = request.header("Content-Type") or ""
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=", 1)[1].encode()
    head, _, rest = request.body.partition(b"\r\n\r\n")
    assert head.startswith(b"--" + boundary + b"\r\n")
    assert b'Content-Disposition: form-data; name="content"; filename=' in head
    assert rest == PAYLOAD + b"\r\n--" + boundary + b"--\r\n", name
    if known_size:
        assert request.header("Content-Length") == str(len(request.body))


def test_upload_of_a_file_at_an_offset_sends_the_rest(api: ObjectsApi, server: LoopbackServer) -> None:
    file = io.BytesIO(b"header:" + PAYLOAD)
    file.seek(7)
    api.upload_object("repo", "main", "p", content=file, _content_type="application/octet-stream")
    assert server.requests[0].body == PAYLOAD
    assert server.requests[0].header("Content-Length") == str(len(PAYLOAD))


def test_text_mode_file_is_refused_clearly(api: ObjectsApi, server: LoopbackServer, tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("text")
    with open(path) as text_file, pytest.raises((TypeError, lakefs_sdk.ApiException)) as raised:
        api.upload_object("repo", "main", "p", content=text_file, _content_type="application/octet-stream")
    assert "binary mode" in str(raised.value) or "binary" in repr(raised.value.__cause__)


def test_upload_progress(api: ObjectsApi, server: LoopbackServer) -> None:
    calls: List[Tuple[int, Optional[int]]] = []
    upload(api, "repo", "main", "p", PAYLOAD, progress=lambda done, total: calls.append((done, total)))
    assert server.requests[0].body == PAYLOAD
    assert calls[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert len(calls) >= 3


def test_upload_progress_with_unknown_size(api: ObjectsApi, server: LoopbackServer) -> None:
    calls: List[Tuple[int, Optional[int]]] = []
    upload(api, "repo", "main", "p", iter([b"a" * 10, b"b" * 5]), progress=lambda d, t: calls.append((d, t)))
    assert calls == [(10, None), (15, None)]


# -- downloads -------------------------------------------------------------------------------------


def serve_object(server: LoopbackServer, body: bytes = PAYLOAD, fault: Optional[str] = None) -> None:
    server.handler = lambda request: Reply(200, body, {"Content-Type": "application/octet-stream"}, fault=fault)


def test_download_to_path(api: ObjectsApi, server: LoopbackServer, tmp_path: Path) -> None:
    serve_object(server)
    calls: List[Tuple[int, Optional[int]]] = []
    target = tmp_path / "out.bin"
    size = download(api, "repo", "main", "p", target, progress=lambda d, t: calls.append((d, t)))
    assert size == len(PAYLOAD) and target.read_bytes() == PAYLOAD
    assert calls[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert os.listdir(tmp_path) == ["out.bin"], "no temporary file is left behind"


def test_download_to_file_object_and_in_chunks(api: ObjectsApi, server: LoopbackServer) -> None:
    serve_object(server)
    sink = io.BytesIO()
    assert download(api, "repo", "main", "p", sink) == len(PAYLOAD)
    assert sink.getvalue() == PAYLOAD
    with api.get_object_without_preload_content("repo", "main", "p") as response:
        chunks = list(response.iter_bytes(64 * 1024))
    assert b"".join(chunks) == PAYLOAD
    assert max(len(c) for c in chunks) <= 64 * 1024


def test_download_with_range(api: ObjectsApi, server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(
        206, PAYLOAD[:1024], {"Content-Type": "application/octet-stream", "Content-Range": f"bytes 0-1023/{len(PAYLOAD)}"}
    )
    response = api.get_object_with_http_info("repo", "main", "p", range="bytes=0-1023")
    assert response.status_code == 206 and response.data == PAYLOAD[:1024]
    assert response.headers["content-range"] == f"bytes 0-1023/{len(PAYLOAD)}"
    assert server.requests[0].header("Range") == "bytes=0-1023"


@pytest.mark.parametrize("fault", ["truncate", "reset_mid_body"])
def test_failed_download_leaves_the_target_untouched(api: ObjectsApi, server: LoopbackServer, tmp_path: Path, fault: str) -> None:
    serve_object(server, fault=fault)
    target = tmp_path / "out.bin"
    target.write_bytes(b"previous version")
    with pytest.raises(lakefs_sdk.ApiConnectionError):
        download(api, "repo", "main", "p", target)
    assert target.read_bytes() == b"previous version"
    assert os.listdir(tmp_path) == ["out.bin"], "the partial temporary file is removed"


def test_download_shorter_than_announced_is_rejected(tmp_path: Path) -> None:
    """Even if the transport does not notice, a body shorter than Content-Length is not kept."""

    class Short:
        status = 200
        reason = "OK"
        headers: ClassVar[Dict[str, str]] = {"Content-Length": "10"}

        def stream(self, n: int) -> Iterator[bytes]:
            yield b"12345"

        closed = True

        def release_conn(self) -> None:
            pass

    response = lakefs_sdk.rest.RESTResponse(Short())  # type: ignore[arg-type]
    target = tmp_path / "out.bin"
    with pytest.raises(lakefs_sdk.ApiException, match="received 5 of 10 bytes"):
        response.write_to(target)
    assert not target.exists() and os.listdir(tmp_path) == []


@pytest.mark.parametrize(("size", "reused"), [(1000, True), (2 * 1024 * 1024, False)])
def test_a_response_left_unread_never_poisons_the_next_request(
    api: ObjectsApi, server: LoopbackServer, size: int, reused: bool
) -> None:
    # urllib3 2 returns a connection to the pool as it is: unread body bytes would be read as
    # the answer to the next request on it. A small rest is drained, a big one closes it.
    body = os.urandom(size)
    server.reply(Reply(200, body, {"Content-Type": "application/octet-stream"}), Reply(200, b"second"))
    with api.get_object_without_preload_content("repo", "main", "big.bin") as response:
        assert response.read(10) == body[:10]
    assert api.get_object("repo", "main", "other.bin") == b"second"
    first, second = server.requests
    assert (second.connection_id == first.connection_id) is reused
