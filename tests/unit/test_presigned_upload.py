"""transfer.upload_presigned (and its asyncio twin): reserve a location, PUT the bytes to the store, link them.

Two loopback servers: lakeFS on 127.0.0.1 and the object store on 127.0.0.2, so that the
PUT goes to another host, as it does in production.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Iterator, List, Optional, Tuple, TypeVar

import pytest

import lakefs_sdk
from lakefs_sdk import ApiClient, Configuration, StagingApi
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
