"""transfer.upload_presigned (and its asyncio twin): reserve a location, PUT the bytes to the store, link them.

Two loopback servers: lakeFS on 127.0.0.1 and the object store on 127.0.0.2, so that the
PUT goes to another host, as it does in production.
"""

from __future__ import annotations

import _thread
import asyncio
import hashlib
import http.server
import io
import json
import threading
import time
import tracemalloc
import urllib.parse
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Iterator, List, Optional, Tuple, TypeVar

import pytest

import lakefs_sdk
from lakefs_sdk import ApiClient, Configuration, StagingApi, _workers
from lakefs_sdk.models import ObjectStats
from lakefs_sdk.transfer import store_put_headers, supports_presign, upload_presigned

from support.loopback import LoopbackServer, Reply, Request

PAYLOAD = bytes(range(256)) * 5000  # 1.2 MiB: more than one 1 MiB chunk
SECRET = "presign-test-secret-key"
T = TypeVar("T")
STATS = {"path": "data/big.bin", "path_type": "object", "physical_address": "s3://bucket/abc", "checksum": "etag-1",
         "mtime": 1, "size_bytes": len(PAYLOAD)}


def storage_config(pre_sign_support: bool, multipart: Optional[bool] = None) -> Dict[str, object]:
    extra: Dict[str, object] = {} if multipart is None else {"pre_sign_multipart_upload": multipart}
    return {**extra, "blockstore_type": "s3", "blockstore_namespace_example": "s3://bucket/", "blockstore_namespace_validity_regex": "^s3://",
            "pre_sign_support": pre_sign_support, "pre_sign_support_ui": pre_sign_support, "import_support": True,
            "import_validity_regex": "^s3://"}


class Lakefs:
    """Answers getConfig with its storage settings, getPhysicalAddress with a URL on the store server,
    and linkPhysicalAddress with ObjectStats."""

    def __init__(self, presigned_url: Optional[str], pre_sign_support: bool = True,
                 multipart: Optional[bool] = None) -> None:
        self.presigned_url = presigned_url
        self.pre_sign_support = pre_sign_support
        self.multipart = multipart

    def __call__(self, request: Request) -> Reply:
        if request.method == "GET" and request.path.endswith("/api/v1/config"):
            return Reply(200, json.dumps({"storage_config": storage_config(self.pre_sign_support, self.multipart)}))
        if request.method == "GET" and request.path.endswith("/staging/backing"):
            location = {"physical_address": "s3://bucket/abc", "presigned_url": self.presigned_url}
            return Reply(200, json.dumps(location))
        if request.method == "PUT" and request.path.endswith("/staging/backing"):
            return Reply(200, json.dumps(STATS))
        return Reply(404, '{"message": "not found"}')


@pytest.fixture
def store() -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda request: Reply(200, b"", {"ETag": '"etag-1"'}), host="127.0.0.2") as srv:
        yield srv


@pytest.fixture
def lakefs(store: LoopbackServer) -> Iterator[LoopbackServer]:
    with LoopbackServer(Lakefs(store.url + "/bucket/abc?X-Amz-Signature=f00d")) as srv:
        yield srv


@pytest.fixture
def staging(lakefs: LoopbackServer) -> Iterator[StagingApi]:
    config = Configuration(host=lakefs.url + "/api/v1", username="AKIA", password=SECRET)
    config.retry_backoff = 0.01
    with ApiClient(config) as client:
        yield StagingApi(client)


def test_bytes_go_to_the_store_and_are_linked(staging: StagingApi, lakefs: LoopbackServer, store: LoopbackServer) -> None:
    calls: List[Tuple[int, Optional[int]]] = []
    stats = upload_presigned(staging, "repo", "main", "data/big.bin", PAYLOAD, content_type="application/x-bin",
                             metadata={"owner": "etl"}, progress=lambda done, total: calls.append((done, total)))

    assert isinstance(stats, ObjectStats) and stats.checksum == "etag-1"
    config, reserve, link = lakefs.requests
    assert config.method == "GET" and config.path == "/api/v1/config"
    assert reserve.method == "GET" and reserve.query == "path=data/big.bin&presign=true"
    (put,) = store.requests
    assert put.method == "PUT" and put.target == "/bucket/abc?X-Amz-Signature=f00d"
    assert put.body == PAYLOAD and put.header("Content-Length") == str(len(PAYLOAD))
    assert put.header("Content-Type") == "application/x-bin"
    assert put.header("Authorization") is None and put.header("Cookie") is None, "lakeFS credentials stay with lakeFS"
    assert link.method == "PUT" and link.header("Authorization") is not None
    assert json.loads(link.body) == {
        "staging": {"physical_address": "s3://bucket/abc", "presigned_url": store.url + "/bucket/abc?X-Amz-Signature=f00d"},
        "checksum": "etag-1",
        "size_bytes": len(PAYLOAD),
        "user_metadata": {"owner": "etl"},
        "content_type": "application/x-bin",
    }
    assert calls[-1] == (len(PAYLOAD), len(PAYLOAD))


def test_a_path_and_a_seekable_file_are_streamed(staging: StagingApi, store: LoopbackServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "big.bin"
    source.write_bytes(PAYLOAD)
    upload_presigned(staging, "repo", "main", "data/big.bin", str(source))
    with open(source, "rb") as file:
        file.seek(10)
        upload_presigned(staging, "repo", "main", "data/big.bin", file)
    assert [r.body for r in store.requests] == [PAYLOAD, PAYLOAD[10:]]


def test_conditional_link_sends_if_none_match(staging: StagingApi, lakefs: LoopbackServer) -> None:
    upload_presigned(staging, "repo", "main", "data/big.bin", PAYLOAD, if_none_match="*")
    assert lakefs.requests[-1].header("If-None-Match") == "*"


def test_a_transient_store_error_is_retried_with_the_whole_body(staging: StagingApi, store: LoopbackServer) -> None:
    store.reply(Reply(503, b"<Error>SlowDown</Error>", {"Content-Type": "application/xml"}))
    upload_presigned(staging, "repo", "main", "data/big.bin", io.BytesIO(PAYLOAD))
    assert [r.body for r in store.requests] == [PAYLOAD, PAYLOAD]


def test_a_store_refusal_raises_and_links_nothing(staging: StagingApi, lakefs: LoopbackServer, store: LoopbackServer) -> None:
    store.handler = lambda request: Reply(403, b"<Error>SignatureDoesNotMatch</Error>", {"Content-Type": "application/xml"})
    with pytest.raises(lakefs_sdk.ForbiddenException) as raised:
        upload_presigned(staging, "repo", "main", "data/big.bin", PAYLOAD)
    assert raised.value.status == 403 and "SignatureDoesNotMatch" in str(raised.value)
    assert str(raised.value).startswith("upload_presigned(repository='repo', branch='main', path='data/big.bin') failed: 403")
    assert [r.path for r in lakefs.requests] == ["/api/v1/config", "/api/v1/repositories/repo/branches/main/staging/backing"], (
        "nothing is linked after a failed upload"
    )


def test_a_store_answer_without_etag_is_an_unexpected_response(staging: StagingApi, lakefs: LoopbackServer, store: LoopbackServer) -> None:
    store.handler = lambda request: Reply(200, b"", {})
    with pytest.raises(lakefs_sdk.UnexpectedResponseError, match="no ETag"):
        upload_presigned(staging, "repo", "main", "data/big.bin", PAYLOAD)
    assert not any(r.method == "PUT" for r in lakefs.requests), "nothing is linked"


def test_a_small_stream_is_one_put(staging: StagingApi, store: LoopbackServer) -> None:
    upload_presigned(staging, "repo", "main", "data/big.bin", iter([PAYLOAD[:1000], PAYLOAD[1000:]]))
    (put,) = store.requests
    assert put.body == PAYLOAD and put.header("Content-Length") == str(len(PAYLOAD))


def test_a_stream_is_refused_before_any_upload_when_the_store_takes_no_multipart_uploads(
    staging: StagingApi, lakefs: LoopbackServer, store: LoopbackServer
) -> None:
    lakefs.handler = Lakefs(store.url + "/bucket/abc", multipart=False)
    with pytest.raises(lakefs_sdk.ApiValueError, match="known size"):
        upload_presigned(staging, "repo", "main", "data/big.bin", iter([PAYLOAD]))
    assert [r.path for r in lakefs.requests] == ["/api/v1/config"] and store.requests == []


def test_a_server_that_does_not_presign_is_refused_before_any_upload(lakefs: LoopbackServer, store: LoopbackServer,
                                                                     staging: StagingApi) -> None:
    lakefs.handler = Lakefs(presigned_url=None)
    with pytest.raises(lakefs_sdk.ApiValueError, match="no presigned URL"):
        upload_presigned(staging, "repo", "main", "data/big.bin", PAYLOAD)
    assert store.requests == [] and [r.path for r in lakefs.requests][-1].endswith("/staging/backing")


def test_a_store_that_cannot_presign_is_refused_before_anything_is_reserved(
    lakefs: LoopbackServer, store: LoopbackServer, staging: StagingApi
) -> None:
    lakefs.handler = Lakefs(presigned_url=None, pre_sign_support=False)
    for _ in range(2):
        with pytest.raises(lakefs_sdk.ApiValueError, match=r"does not support presigned URLs.*use upload"):
            upload_presigned(staging, "repo", "main", "data/big.bin", PAYLOAD)
    assert store.requests == []
    assert [r.path for r in lakefs.requests] == ["/api/v1/config"], "the configuration is read once per client"


def test_the_configuration_is_read_once_per_client(lakefs: LoopbackServer, staging: StagingApi) -> None:
    upload_presigned(staging, "repo", "main", "data/big.bin", PAYLOAD)
    upload_presigned(staging, "repo", "main", "data/big.bin", PAYLOAD)
    assert [r.path for r in lakefs.requests].count("/api/v1/config") == 1
    with ApiClient(staging.api_client.configuration) as other:
        upload_presigned(StagingApi(other), "repo", "main", "data/big.bin", PAYLOAD)
    assert [r.path for r in lakefs.requests].count("/api/v1/config") == 2, "another client asks again"


def test_a_server_whose_configuration_is_not_readable_is_still_tried(lakefs: LoopbackServer, staging: StagingApi) -> None:
    inner = Lakefs(presigned_url=None)
    lakefs.handler = lambda request: (
        Reply(403, '{"message": "insufficient permissions"}') if request.path.endswith("/config") else inner(request)
    )
    assert supports_presign(staging.api_client) is None
    with pytest.raises(lakefs_sdk.ApiValueError, match="no presigned URL"):
        upload_presigned(staging, "repo", "main", "data/big.bin", PAYLOAD)
    assert [r.path for r in lakefs.requests] == ["/api/v1/config", "/api/v1/repositories/repo/branches/main/staging/backing"]


def test_put_headers_name_the_blob_type_for_azure_only() -> None:
    azure = store_put_headers("https://acct.blob.core.windows.net/c/abc?sig=x", None, 3)
    s3 = store_put_headers("https://bucket.s3.amazonaws.com/abc?X-Amz-Signature=x", "text/csv", 3)
    assert azure == {"Content-Type": "application/octet-stream", "Content-Length": "3", "x-ms-blob-type": "BlockBlob"}
    assert s3 == {"Content-Type": "text/csv", "Content-Length": "3"}


# -- asyncio: the same helpers from lakefs_sdk.aio.transfer -------------------------------------------


def aio_run(lakefs: LoopbackServer, scenario: Callable[[Any, Any], Awaitable[T]], cookie: Optional[str] = None) -> T:
    """Run ``scenario(aio_transfer, staging)`` with an async client of ``lakefs``."""
    aio = pytest.importorskip("lakefs_sdk.aio")
    from lakefs_sdk.aio import transfer as aio_transfer

    async def main() -> T:
        config = Configuration(host=lakefs.url + "/api/v1", username="AKIA", password=SECRET)
        config.retry_backoff = 0.01
        async with aio.AsyncApiClient(config, cookie=cookie) as client:
            return await scenario(aio_transfer, aio.StagingApi(client))

    return asyncio.run(main())


def test_async_bytes_go_to_the_store_without_credentials_and_are_linked(
    lakefs: LoopbackServer, store: LoopbackServer, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(PAYLOAD)
    calls: List[Tuple[int, Optional[int]]] = []

    async def scenario(aio_transfer: Any, staging: Any) -> Any:
        first = await aio_transfer.upload_presigned(staging, "repo", "main", "data/big.bin", PAYLOAD, content_type="application/x-bin",
                                                    metadata={"owner": "etl"}, progress=lambda d, t: calls.append((d, t)))
        await aio_transfer.upload_presigned(staging, "repo", "main", "data/big.bin", str(source))
        return first

    stats = aio_run(lakefs, scenario, cookie="session=lakefs-cookie")
    assert isinstance(stats, ObjectStats) and stats.checksum == "etag-1"
    assert [r.path for r in lakefs.requests].count("/api/v1/config") == 1, "the configuration is read once per client"
    puts = store.requests
    assert [p.body for p in puts] == [PAYLOAD, PAYLOAD], "bytes and a path are both streamed whole"
    assert puts[0].method == "PUT" and puts[0].target == "/bucket/abc?X-Amz-Signature=f00d"
    assert puts[0].header("Content-Length") == str(len(PAYLOAD)) and puts[0].header("Content-Type") == "application/x-bin"
    for put in puts:
        assert put.header("Authorization") is None and put.header("Cookie") is None, "lakeFS credentials stay with lakeFS"
    link = next(r for r in lakefs.requests if r.method == "PUT")
    assert link.header("Authorization") is not None and link.header("Cookie") == "session=lakefs-cookie"
    assert json.loads(link.body)["checksum"] == "etag-1" and json.loads(link.body)["user_metadata"] == {"owner": "etl"}
    assert calls[-1] == (len(PAYLOAD), len(PAYLOAD))


def test_async_store_refusal_raises_and_links_nothing(lakefs: LoopbackServer, store: LoopbackServer) -> None:
    store.handler = lambda request: Reply(403, b"<Error>SignatureDoesNotMatch</Error>", {"Content-Type": "application/xml"})

    async def scenario(aio_transfer: Any, staging: Any) -> Any:
        return await aio_transfer.upload_presigned(staging, "repo", "main", "data/big.bin", PAYLOAD)

    with pytest.raises(lakefs_sdk.ForbiddenException) as raised:
        aio_run(lakefs, scenario)
    assert str(raised.value).startswith("upload_presigned(repository='repo', branch='main', path='data/big.bin') failed: 403")
    assert "SignatureDoesNotMatch" in str(raised.value)
    assert not any(r.method == "PUT" for r in lakefs.requests), "nothing is linked"


def test_async_refusals_come_before_any_upload(lakefs: LoopbackServer, store: LoopbackServer) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield PAYLOAD

    async def unknown_size(aio_transfer: Any, staging: Any) -> Any:
        return await aio_transfer.upload_presigned(staging, "repo", "main", "data/big.bin", chunks())

    lakefs.handler = Lakefs(store.url + "/bucket/abc", multipart=False)
    with pytest.raises(lakefs_sdk.ApiValueError, match="known size"):
        aio_run(lakefs, unknown_size)
    assert [r.path for r in lakefs.requests] == ["/api/v1/config"]
    lakefs.requests.clear()

    lakefs.handler = Lakefs(presigned_url=None, pre_sign_support=False)

    async def twice(aio_transfer: Any, staging: Any) -> List[str]:
        assert await aio_transfer.supports_presign(staging.api_client) is False
        messages = []
        for _ in range(2):
            with pytest.raises(lakefs_sdk.ApiValueError) as raised:
                await aio_transfer.upload_presigned(staging, "repo", "main", "data/big.bin", PAYLOAD)
            messages.append(str(raised.value))
        return messages

    messages = aio_run(lakefs, twice)
    assert all("does not support presigned URLs" in m and "use upload()" in m for m in messages)
    assert [r.path for r in lakefs.requests] == ["/api/v1/config"], "asked once per client; nothing reserved"
    assert store.requests == []


def test_async_supports_presign_is_none_when_the_configuration_is_not_readable(lakefs: LoopbackServer) -> None:
    lakefs.handler = lambda request: Reply(403, '{"message": "insufficient permissions"}')

    async def scenario(aio_transfer: Any, staging: Any) -> Tuple[Optional[bool], Optional[bool]]:
        return await aio_transfer.supports_presign(staging.api_client), await aio_transfer.supports_presign(staging.api_client)

    assert aio_run(lakefs, scenario) == (None, None)
    assert len(lakefs.requests) == 1


# -- multipart: above multipart_threshold ---------------------------------------------------------------

MiB = 1024 * 1024
PART = 5 * MiB
BIG = bytes(range(251)) * (12 * MiB // 251) + b"tail"  # 12 MiB and a bit: parts of 5, 5 and 2+ MiB
UPLOAD_ID = "u-1"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class PartStore:
    """The object store of a multipart upload: takes part PUTs, keeps each part's length and hash (not its bytes).

    A threaded ``http.server`` on 127.0.0.2. ``fail[n]`` answers part ``n`` with that status
    (as many times as listed, or for ever with ``fail_always``); ``on_part(n)`` runs first.
    """

    def __init__(self) -> None:
        self.parts: Dict[int, Tuple[int, str]] = {}
        self.requests: List[Tuple[str, Dict[str, str]]] = []  # (target, headers) of every request
        self.fail: Dict[int, List[int]] = {}
        self.fail_always: Dict[int, int] = {}
        self.on_part: Optional[Callable[[int], None]] = None
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_PUT(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                digest, remaining = hashlib.sha256(), length
                while remaining:
                    block = self.rfile.read(min(remaining, 65536))
                    if not block:
                        return
                    digest.update(block)
                    remaining -= len(block)
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                number = int(query["partNumber"][0])
                with outer.lock:
                    outer.requests.append((self.path, dict(self.headers.items())))
                if outer.on_part is not None:
                    outer.on_part(number)
                with outer.lock:
                    scripted = outer.fail.get(number)
                    status = scripted.pop(0) if scripted else outer.fail_always.get(number, 200)
                    if status == 200:
                        outer.parts[number] = (length, digest.hexdigest())
                self.send_response(status)
                if status == 200:
                    self.send_header("ETag", f'"etag-{number}-{digest.hexdigest()[:8]}"')
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.2:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def received(self, part_size: int = PART) -> List[Tuple[int, int, str]]:
        return sorted((n, length, digest) for n, (length, digest) in self.parts.items())


def expected_parts(data: bytes, part_size: int = PART) -> List[Tuple[int, int, str]]:
    return [(i // part_size + 1, len(data[i : i + part_size]), sha(data[i : i + part_size]))
            for i in range(0, len(data), part_size)]


class MultipartLakefs:
    """lakeFS's presigned multipart endpoints (and stat), handing out URLs of a ``PartStore``."""

    def __init__(self, store_url: str, expired: Tuple[int, ...] = (), exists: bool = False) -> None:
        self.store_url, self.expired, self.exists = store_url, set(expired), exists
        self.created: List[Dict[str, List[str]]] = []
        self.refreshed: List[int] = []
        self.completed: List[Any] = []
        self.aborted: List[Any] = []
        self.complete_headers: List[Optional[str]] = []

    def part_url(self, number: int, signed: float, fresh: bool = False) -> str:
        date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(signed))
        return (f"{self.store_url}/bucket/obj?partNumber={number}&uploadId={UPLOAD_ID}&X-Amz-Date={date}"
                f"&X-Amz-Expires=900&X-Amz-Signature=f00d" + ("&fresh=1" if fresh else ""))

    def __call__(self, request: Request) -> Reply:
        route = request.path.split("/api/v1", 1)[1]
        query = urllib.parse.parse_qs(request.query)
        now = time.time()
        if route == "/config":
            return Reply(200, json.dumps({"storage_config": storage_config(True, True)}))
        if request.method == "POST" and route.endswith("/staging/pmpu"):
            self.created.append(query)
            started: Dict[str, Any] = {"upload_id": UPLOAD_ID, "physical_address": "s3://bucket/obj"}
            if "parts" in query:
                count = int(query["parts"][0])
                started["presigned_urls"] = [self.part_url(n, now - 890 if n in self.expired else now)
                                             for n in range(1, count + 1)]
            return Reply(201, json.dumps(started))
        if request.method == "PUT" and "/parts/" in route:
            number = int(route.rsplit("/", 1)[1])
            assert json.loads(request.body) == {"physical_address": "s3://bucket/obj"}
            self.refreshed.append(number)
            return Reply(200, json.dumps({"presigned_url": self.part_url(number, now, fresh=True)}))
        if request.method == "PUT" and route.endswith(f"/staging/pmpu/{UPLOAD_ID}"):
            self.completed.append(json.loads(request.body))
            self.complete_headers.append(request.header("If-None-Match"))
            return Reply(200, json.dumps({**STATS, "checksum": "mpu-etag", "size_bytes": len(BIG)}))
        if request.method == "DELETE" and route.endswith(f"/staging/pmpu/{UPLOAD_ID}"):
            self.aborted.append(json.loads(request.body))
            return Reply(204, b"")
        if route.endswith("/objects/stat"):
            return Reply(200, json.dumps(STATS)) if self.exists else Reply(404, '{"message": "not found"}')
        return Reply(404, '{"message": "not found"}')


@pytest.fixture
def part_store() -> Iterator[PartStore]:
    store = PartStore()
    yield store
    store.close()


@pytest.fixture
def mpu(part_store: PartStore) -> Iterator[Tuple[LoopbackServer, MultipartLakefs]]:
    lake = MultipartLakefs(part_store.url)
    with LoopbackServer(lake) as srv:
        yield srv, lake


@pytest.fixture
def mpu_staging(mpu: Tuple[LoopbackServer, MultipartLakefs]) -> Iterator[StagingApi]:
    config = Configuration(host=mpu[0].url + "/api/v1", username="AKIA", password=SECRET)
    config.retry_backoff = 0.01
    with ApiClient(config, cookie="session=lakefs-cookie") as client:
        yield StagingApi(client)


def assert_no_credentials(store: PartStore) -> None:
    assert store.requests, "the store was asked"
    for target, headers in store.requests:
        names = {name.lower() for name in headers}
        assert "authorization" not in names and "cookie" not in names, "lakeFS credentials stay with lakeFS"
        text = target + json.dumps(headers)
        assert "AKIA" not in text and SECRET not in text and "lakefs-cookie" not in text


def complete_body(data: bytes, part_size: int = PART, **extra: Any) -> Dict[str, Any]:
    parts = [{"part_number": n, "etag": f"etag-{n}-{digest[:8]}"} for n, _, digest in expected_parts(data, part_size)]
    return {"physical_address": "s3://bucket/obj", "parts": parts, **extra}


@pytest.mark.parametrize("kind", ["bytes", "path", "file"])
def test_a_large_upload_goes_in_parts_straight_to_the_store(
    kind: str, mpu_staging: StagingApi, mpu: Tuple[LoopbackServer, MultipartLakefs], part_store: PartStore,
    tmp_path: Path,
) -> None:
    server, lake = mpu
    (tmp_path / "big.bin").write_bytes(b"skip" + BIG)
    file = open(tmp_path / "big.bin", "rb")
    file.seek(4)
    content: Any = {"bytes": BIG, "path": str(tmp_path / "big.bin"), "file": file}[kind]
    data = BIG if kind != "path" else b"skip" + BIG
    # Part 1 answers last: the ETags still go to complete in part order.
    part_store.on_part = lambda number: time.sleep(0.3) if number == 1 else None
    calls: List[Tuple[int, Optional[int]]] = []
    with file:
        stats = upload_presigned(mpu_staging, "repo", "main", "data/big.bin", content, content_type="application/x-bin",
                                 metadata={"owner": "etl"}, part_size=PART, concurrency=2,
                                 progress=lambda done, total: calls.append((done, total)))
    assert stats.checksum == "mpu-etag"
    assert lake.created == [{"path": ["data/big.bin"], "parts": ["3"]}]
    assert part_store.received() == expected_parts(data) and [n for n, _, _ in part_store.received()] == [1, 2, 3]
    assert [length for _, length, _ in part_store.received()] == [PART, PART, len(data) - 2 * PART]
    assert lake.completed == [complete_body(data, user_metadata={"owner": "etl"}, content_type="application/x-bin")]
    assert lake.aborted == [] and lake.refreshed == []
    assert calls[-1] == (len(data), len(data)) and all(total == len(data) for _, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls) or max(d for d, _ in calls) == len(data)
    assert_no_credentials(part_store)
    assert not any(r.path.endswith("/staging/backing") for r in server.requests), "no single PUT"


def test_the_threshold_itself_goes_in_parts_and_one_byte_less_in_one_put(
    mpu_staging: StagingApi, mpu: Tuple[LoopbackServer, MultipartLakefs], part_store: PartStore, store: LoopbackServer,
) -> None:
    server, lake = mpu
    exact = BIG[:PART]
    upload_presigned(mpu_staging, "repo", "main", "data/big.bin", exact, multipart_threshold=PART, part_size=PART)
    assert lake.created == [{"path": ["data/big.bin"], "parts": ["1"]}] and part_store.received() == expected_parts(exact)
    server.handler = Lakefs(store.url + "/bucket/abc?X-Amz-Signature=f00d")
    upload_presigned(mpu_staging, "repo", "main", "data/big.bin", exact[:-1], multipart_threshold=PART, part_size=PART)
    (put,) = store.requests
    assert put.body == exact[:-1], "one byte under the threshold: one PUT"


def test_a_url_about_to_expire_is_asked_for_again(
    mpu_staging: StagingApi, mpu: Tuple[LoopbackServer, MultipartLakefs], part_store: PartStore,
) -> None:
    _, lake = mpu
    lake.expired = {2}  # signed 890 s ago for 900 s: within the 15 s margin
    upload_presigned(mpu_staging, "repo", "main", "data/big.bin", BIG, part_size=PART)
    assert lake.refreshed == [2]
    targets = {int(urllib.parse.parse_qs(urllib.parse.urlsplit(t).query)["partNumber"][0]): t for t, _ in part_store.requests}
    assert "fresh=1" in targets[2] and "fresh=1" not in targets[1] + targets[3]
    assert part_store.received() == expected_parts(BIG) and len(lake.completed) == 1


def test_a_failed_part_aborts_the_upload_and_nothing_is_completed(
    mpu_staging: StagingApi, mpu: Tuple[LoopbackServer, MultipartLakefs], part_store: PartStore,
) -> None:
    _, lake = mpu
    part_store.fail_always[2] = 403
    with pytest.raises(lakefs_sdk.ForbiddenException) as raised:
        upload_presigned(mpu_staging, "repo", "main", "data/big.bin", BIG, part_size=PART, concurrency=1)
    assert str(raised.value).startswith("upload_presigned(repository='repo', branch='main', path='data/big.bin') failed: 403")
    assert lake.completed == [] and lake.aborted == [{"physical_address": "s3://bucket/obj"}]
    assert 3 not in part_store.parts, "no part starts after a failure (one at a time)"


def test_a_transient_part_error_is_retried_with_the_same_bytes(
    mpu_staging: StagingApi, mpu: Tuple[LoopbackServer, MultipartLakefs], part_store: PartStore, tmp_path: Path,
) -> None:
    _, lake = mpu
    (tmp_path / "big.bin").write_bytes(BIG)
    part_store.fail[2] = [503, 500]
    upload_presigned(mpu_staging, "repo", "main", "data/big.bin", tmp_path / "big.bin", part_size=PART)
    assert part_store.received() == expected_parts(BIG) and lake.aborted == []
    assert lake.completed == [complete_body(BIG)]
    assert sum(1 for t, _ in part_store.requests if "partNumber=2&" in t) == 3


def test_ctrl_c_aborts_the_upload(
    mpu_staging: StagingApi, mpu: Tuple[LoopbackServer, MultipartLakefs], part_store: PartStore,
    monkeypatch: pytest.MonkeyPatch, ctrl_c_raises: None,
) -> None:
    _, lake = mpu
    interrupted = threading.Event()
    stop = _workers.PartPool.stop

    def stop_seen(pool: _workers.PartPool) -> None:
        interrupted.set()  # the calling thread took the Ctrl-C and stops the pool
        stop(pool)

    monkeypatch.setattr(_workers.PartPool, "stop", stop_seen)

    def interrupt(number: int) -> None:
        if number == 2:
            _thread.interrupt_main()  # a Ctrl-C while the calling thread waits for the parts
            # Part 2 stays unanswered until the calling thread has taken the Ctrl-C (it wakes
            # every 0.1 s): with a fixed short hold a loaded machine could finish the upload first.
            assert interrupted.wait(30)

    part_store.on_part = interrupt
    with pytest.raises(KeyboardInterrupt):
        upload_presigned(mpu_staging, "repo", "main", "data/big.bin", BIG, part_size=PART, concurrency=1)
    assert lake.aborted == [{"physical_address": "s3://bucket/obj"}] and lake.completed == []


def test_if_none_match_checks_the_path_before_and_after_the_parts(
    mpu_staging: StagingApi, mpu: Tuple[LoopbackServer, MultipartLakefs], part_store: PartStore,
) -> None:
    server, lake = mpu
    upload_presigned(mpu_staging, "repo", "main", "data/big.bin", BIG, part_size=PART, if_none_match="*")
    stats = [r for r in server.requests if r.path.endswith("/objects/stat")]
    assert len(stats) == 2 and lake.complete_headers == ["*"]
    lake.exists, lake.created = True, []
    with pytest.raises(lakefs_sdk.PreconditionFailedException, match="if_none_match"):
        upload_presigned(mpu_staging, "repo", "main", "data/big.bin", BIG, part_size=PART, if_none_match="*")
    assert lake.created == [], "refused before anything was sent"

    def written_meanwhile(number: int) -> None:
        lake.exists = True

    lake.exists, part_store.on_part = False, written_meanwhile
    with pytest.raises(lakefs_sdk.PreconditionFailedException):
        upload_presigned(mpu_staging, "repo", "main", "data/big.bin", BIG, part_size=PART, if_none_match="*")
    assert len(lake.completed) == 1 and lake.aborted == [{"physical_address": "s3://bucket/obj"}]


def test_if_match_and_force_keep_the_single_put(
    mpu_staging: StagingApi, mpu: Tuple[LoopbackServer, MultipartLakefs], store: LoopbackServer,
) -> None:
    server, _ = mpu
    server.handler = Lakefs(store.url + "/bucket/abc?X-Amz-Signature=f00d")
    upload_presigned(mpu_staging, "repo", "main", "data/big.bin", BIG, part_size=PART, force=True)
    assert [r.body for r in store.requests] == [BIG]
    with pytest.raises(lakefs_sdk.ApiValueError, match="if_match and force need content of known size"):
        upload_presigned(mpu_staging, "repo", "main", "data/big.bin", iter([BIG]), if_match="abc")


def test_bad_multipart_settings_are_refused_before_any_request(
    mpu_staging: StagingApi, mpu: Tuple[LoopbackServer, MultipartLakefs],
) -> None:
    for settings, word in [({"part_size": MiB}, "at least 5 MiB"), ({"concurrency": 0}, "concurrency"),
                           ({"multipart_threshold": -1}, "multipart_threshold")]:
        with pytest.raises(lakefs_sdk.ApiValueError, match=word):
            upload_presigned(mpu_staging, "repo", "main", "data/big.bin", BIG, **settings)
    assert mpu[0].requests == []


def generated_chunks(parts: int, part_size: int = PART, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """A stream made as it is read: ``parts`` x ``part_size`` bytes in fresh 64 KiB chunks."""
    for index in range(parts * part_size // chunk):
        yield bytes([index % 251]) * chunk


def stream_data(parts: int) -> bytes:
    return b"".join(generated_chunks(parts))


def test_a_stream_is_held_one_part_per_part_in_flight(
    mpu_staging: StagingApi, mpu: Tuple[LoopbackServer, MultipartLakefs], part_store: PartStore,
) -> None:
    _, lake = mpu
    calls: List[Tuple[int, Optional[int]]] = []
    tracemalloc.start()
    try:
        upload_presigned(mpu_staging, "repo", "main", "data/big.bin", generated_chunks(6), multipart_threshold=PART,
                         part_size=PART, concurrency=2, progress=lambda done, total: calls.append((done, total)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * PART + 3 * MiB, f"peak {peak / MiB:.1f} MiB for 30 MiB sent two 5 MiB parts at a time"
    data = stream_data(6)
    assert lake.created == [{"path": ["data/big.bin"]}], "the part count of a stream is not known up front"
    assert sorted(lake.refreshed) == [1, 2, 3, 4, 5, 6], "each part's URL asked for on its own; no empty last part"
    assert part_store.received() == expected_parts(data) and lake.completed == [complete_body(data)]
    assert calls[-1] == (len(data), len(data)) and all(total is None for _, total in calls[:-1])
    assert_no_credentials(part_store)


def test_a_non_seekable_file_is_a_stream(
    mpu_staging: StagingApi, mpu: Tuple[LoopbackServer, MultipartLakefs], part_store: PartStore,
) -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.source = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            return self.source.readinto(buffer)

    upload_presigned(mpu_staging, "repo", "main", "data/big.bin", io.BufferedReader(Pipe(BIG)), part_size=PART)
    assert part_store.received() == expected_parts(BIG)


# -- multipart, asyncio ------------------------------------------------------------------------------


def test_async_large_upload_in_parts_and_a_stream(
    mpu: Tuple[LoopbackServer, MultipartLakefs], part_store: PartStore,
) -> None:
    server, lake = mpu
    part_store.on_part = lambda number: time.sleep(0.3) if number == 1 else None
    calls: List[Tuple[int, Optional[int]]] = []

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in generated_chunks(3):
            yield chunk

    async def scenario(aio_transfer: Any, staging: Any) -> Any:
        first = await aio_transfer.upload_presigned(staging, "repo", "main", "data/big.bin", BIG, part_size=PART,
                                                    concurrency=2, metadata={"owner": "etl"},
                                                    progress=lambda d, t: calls.append((d, t)))
        received = part_store.received()
        part_store.parts.clear()
        await aio_transfer.upload_presigned(staging, "repo", "main", "data/big.bin", chunks(), part_size=PART)
        return first, received

    stats, received = aio_run(server, scenario, cookie="session=lakefs-cookie")
    assert stats.checksum == "mpu-etag" and received == expected_parts(BIG)
    assert lake.created == [{"path": ["data/big.bin"], "parts": ["3"]}, {"path": ["data/big.bin"]}]
    assert lake.completed == [complete_body(BIG, user_metadata={"owner": "etl"}), complete_body(stream_data(3))]
    assert part_store.received() == expected_parts(stream_data(3))
    assert calls[-1] == (len(BIG), len(BIG)) and lake.aborted == []
    assert_no_credentials(part_store)


def test_async_failed_part_aborts(mpu: Tuple[LoopbackServer, MultipartLakefs], part_store: PartStore) -> None:
    server, lake = mpu
    part_store.fail_always[3] = 400

    async def scenario(aio_transfer: Any, staging: Any) -> Any:
        return await aio_transfer.upload_presigned(staging, "repo", "main", "data/big.bin", BIG, part_size=PART)

    with pytest.raises(lakefs_sdk.BadRequestException):
        aio_run(server, scenario)
    assert lake.completed == [] and lake.aborted == [{"physical_address": "s3://bucket/obj"}]


def test_async_cancellation_aborts(mpu: Tuple[LoopbackServer, MultipartLakefs], part_store: PartStore) -> None:
    server, lake = mpu
    arrived, release = threading.Event(), threading.Event()

    def hold(number: int) -> None:
        arrived.set()
        release.wait(timeout=10)

    part_store.on_part = hold

    async def scenario(aio_transfer: Any, staging: Any) -> Any:
        task = asyncio.ensure_future(
            aio_transfer.upload_presigned(staging, "repo", "main", "data/big.bin", BIG, part_size=PART)
        )
        await asyncio.get_running_loop().run_in_executor(None, arrived.wait, 10)
        task.cancel()
        try:
            await task
        finally:
            release.set()

    with pytest.raises(asyncio.CancelledError):
        aio_run(server, scenario)
    assert lake.aborted == [{"physical_address": "s3://bucket/obj"}] and lake.completed == []


def test_async_stream_memory_is_bounded(mpu: Tuple[LoopbackServer, MultipartLakefs], part_store: PartStore) -> None:
    server, _ = mpu

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in generated_chunks(6):
            yield chunk

    async def scenario(aio_transfer: Any, staging: Any) -> int:
        tracemalloc.start()
        try:
            await aio_transfer.upload_presigned(staging, "repo", "main", "data/big.bin", chunks(),
                                                multipart_threshold=PART, part_size=PART, concurrency=2)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak = aio_run(server, scenario)
    assert peak < 2 * PART + 3 * MiB, f"peak {peak / MiB:.1f} MiB"
    assert part_store.received() == expected_parts(stream_data(6))


def test_a_stream_that_breaks_aborts_the_upload(
    mpu_staging: StagingApi, mpu: Tuple[LoopbackServer, MultipartLakefs], part_store: PartStore,
) -> None:
    _, lake = mpu

    def broken() -> Iterator[bytes]:
        yield from generated_chunks(1)
        yield b"x" * MiB
        raise OSError("the pipe broke")

    with pytest.raises(OSError, match="the pipe broke"):
        upload_presigned(mpu_staging, "repo", "main", "data/big.bin", broken(), multipart_threshold=PART, part_size=PART)
    assert lake.aborted == [{"physical_address": "s3://bucket/obj"}] and lake.completed == []


def test_a_presigned_url_that_is_not_http_is_refused_without_quoting_it(lakefs: LoopbackServer, staging: StagingApi) -> None:
    lakefs.handler = Lakefs("string-X-Amz-Signature=f00d")  # what a mock server may answer
    with pytest.raises(lakefs_sdk.ApiValueError, match="not an http") as raised:
        upload_presigned(staging, "repo", "main", "data/big.bin", PAYLOAD)
    assert "f00d" not in str(raised.value), "a signed URL is a credential"


def test_parts_in_flight_stay_within_the_connections_the_client_keeps(
    mpu: Tuple[LoopbackServer, MultipartLakefs], part_store: PartStore, caplog: pytest.LogCaptureFixture,
) -> None:
    server, _ = mpu
    lock, seen = threading.Lock(), {"now": 0, "most": 0}

    def slow(number: int) -> None:
        with lock:
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])
        time.sleep(0.2)
        with lock:
            seen["now"] -= 1

    part_store.on_part = slow
    config = Configuration(host=server.url + "/api/v1", username="AKIA", password=SECRET)
    config.connection_pool_maxsize = 2
    with ApiClient(config) as client:
        upload_presigned(StagingApi(client), "repo", "main", "data/big.bin", BIG, part_size=PART, concurrency=8)
    assert seen["most"] == 2 and part_store.received() == expected_parts(BIG)
    assert any("connection_pool_maxsize" in r.getMessage() for r in caplog.records), "the caller is told why"
