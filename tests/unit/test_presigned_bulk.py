"""upload_many / download_many with ``presign=``, and the bulk helpers' refusal of unknown keywords, sync and async.

lakeFS is a loopback server on 127.0.0.1 answering the presign endpoints (and the plain
ones, to tell which path an item took); the object store is another on 127.0.0.2.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

import lakefs_sdk
from lakefs_sdk import ApiClient, Configuration, ObjectsApi
from lakefs_sdk.transfer import delete_many, download_many, upload_many

from support.loopback import LoopbackServer, Reply, Request

SECRET = "bulk-presign-secret"


def stats(path: str, size: int, checksum: str = "c") -> Dict[str, Any]:
    return {"path": path, "path_type": "object", "physical_address": f"s3://bucket/{path}", "checksum": checksum,
            "mtime": 1, "size_bytes": size}


class Store:
    """The object store: PUT and GET of /bucket/<key>, behind presigned URLs."""

    def __init__(self) -> None:
        self.objects: Dict[str, bytes] = {}

    def __call__(self, request: Request) -> Reply:
        key = request.path.split("/bucket/", 1)[1]
        if request.method == "PUT":
            self.objects[key] = request.body
            return Reply(200, b"", {"ETag": f'"etag-{key}"'})
        if key in self.objects:
            return Reply(200, self.objects[key], {"Content-Type": "application/octet-stream"})
        return Reply(404, b"<Error>NoSuchKey</Error>", {"Content-Type": "application/xml"})


class Lakefs:
    """lakeFS: its storage settings, presigned single uploads and links, redirects to the store, plain transfers."""

    def __init__(self, store_url: str, presign: bool = True, multipart: Optional[bool] = None) -> None:
        self.store_url, self.presign, self.multipart = store_url, presign, multipart
        self.linked: Dict[str, Any] = {}
        self.plain: Dict[str, bytes] = {}  # objects uploaded through lakeFS
        self.objects: Dict[str, bytes] = {}  # objects lakeFS serves itself

    def __call__(self, request: Request) -> Reply:
        route = request.path.split("/api/v1", 1)[1]
        query = dict(urllib.parse.parse_qsl(request.query))
        path = query.get("path", "")
        if route == "/config":
            store = {"blockstore_type": "s3", "blockstore_namespace_example": "s3://b/",
                     "blockstore_namespace_ValidityRegex": "^s3://", "pre_sign_support": self.presign,
                     "pre_sign_support_ui": self.presign, "import_support": True, "import_validity_regex": "^s3://"}
            if self.multipart is not None:
                store["pre_sign_multipart_upload"] = self.multipart
            return Reply(200, json.dumps({"storage_config": store}))
        if route.endswith("/staging/backing") and request.method == "GET":
            url = f"{self.store_url}/bucket/{path}?X-Amz-Signature=f00d"
            return Reply(200, json.dumps({"physical_address": f"s3://bucket/{path}", "presigned_url": url}))
        if route.endswith("/staging/backing") and request.method == "PUT":
            self.linked[path] = json.loads(request.body)
            return Reply(200, json.dumps(stats(path, self.linked[path]["size_bytes"], self.linked[path]["checksum"])))
        if route.endswith("/objects") and request.method == "POST":
            self.plain[path] = request.body
            return Reply(201, json.dumps(stats(path, len(request.body))))
        if route.endswith("/objects") and request.method == "GET":
            if query.get("presign") == "true":
                return Reply(302, b"", {"Location": f"{self.store_url}/bucket/{path}?X-Amz-Signature=f00d"})
            if path in self.objects:
                return Reply(200, self.objects[path], {"Content-Type": "application/octet-stream"})
        return Reply(404, '{"message": "not found"}')


@pytest.fixture
def store() -> Iterator[LoopbackServer]:
    with LoopbackServer(Store(), host="127.0.0.2") as srv:
        yield srv


@pytest.fixture
def lakefs(store: LoopbackServer) -> Iterator[LoopbackServer]:
    with LoopbackServer(Lakefs(store.url)) as srv:
        yield srv


def configuration(url: str) -> Configuration:
    config = Configuration(host=url + "/api/v1", username="AKIA", password=SECRET)
    config.retry_backoff = 0.01
    return config


@pytest.fixture
def objects(lakefs: LoopbackServer) -> Iterator[ObjectsApi]:
    with ApiClient(configuration(lakefs.url), cookie="session=lakefs-cookie") as client:
        yield ObjectsApi(client)


def handler(server: LoopbackServer) -> Lakefs:
    assert isinstance(server.handler, Lakefs)
    return server.handler


def assert_no_credentials(store: LoopbackServer) -> None:
    assert store.requests, "the store was asked"
    for request in store.requests:
        assert request.header("Authorization") is None and request.header("Cookie") is None
        assert SECRET.encode() not in request.raw_head and b"AKIA" not in request.raw_head


ITEMS = [(b"first", "raw/a.csv"), (b"second body", "raw/b.csv")]


# -- upload_many ------------------------------------------------------------------------------------


def test_upload_many_presign_true_sends_the_bytes_to_the_store(
    objects: ObjectsApi, lakefs: LoopbackServer, store: LoopbackServer, tmp_path: Path
) -> None:
    """Failed on the old code: presign=True went on to upload_object, which refused it for every item."""
    (tmp_path / "c.csv").write_bytes(b"third")
    calls: List[Tuple[int, Optional[int]]] = []
    report = upload_many(objects, "repo", "main", [*ITEMS, (str(tmp_path / "c.csv"), "raw/c.csv")], presign=True,
                         content_type="text/csv", progress=lambda done, total: calls.append((done, total)))
    assert report.ok, report.results
    assert store.handler.objects == {"raw/a.csv": b"first", "raw/b.csv": b"second body", "raw/c.csv": b"third"}  # type: ignore[union-attr]
    lake = handler(lakefs)
    assert lake.plain == {} and sorted(lake.linked) == ["raw/a.csv", "raw/b.csv", "raw/c.csv"]
    assert lake.linked["raw/b.csv"]["checksum"] == "etag-raw/b.csv" and lake.linked["raw/b.csv"]["content_type"] == "text/csv"
    assert [r.value.checksum for r in report] == ["etag-raw/a.csv", "etag-raw/b.csv", "etag-raw/c.csv"]
    assert calls[-1] == (21, 21)
    assert_no_credentials(store)


def test_presign_none_presigns_when_the_store_does(objects: ObjectsApi, lakefs: LoopbackServer, store: LoopbackServer) -> None:
    assert upload_many(objects, "repo", "main", ITEMS).ok
    assert sorted(handler(lakefs).linked) == ["raw/a.csv", "raw/b.csv"] and handler(lakefs).plain == {}
    assert [r.path for r in lakefs.requests].count("/api/v1/config") == 1


def test_presign_none_goes_through_lakefs_when_the_store_cannot(
    objects: ObjectsApi, lakefs: LoopbackServer, store: LoopbackServer
) -> None:
    handler(lakefs).presign = False
    assert upload_many(objects, "repo", "main", ITEMS).ok
    assert handler(lakefs).plain == {"raw/a.csv": b"first", "raw/b.csv": b"second body"} and store.requests == []


def test_presign_none_with_per_call_options_goes_through_lakefs(objects: ObjectsApi, lakefs: LoopbackServer) -> None:
    assert upload_many(objects, "repo", "main", ITEMS, _request_timeout=30).ok
    assert sorted(handler(lakefs).plain) == ["raw/a.csv", "raw/b.csv"]


def test_presign_none_sends_a_stream_through_lakefs_when_the_store_takes_no_multipart_uploads(
    objects: ObjectsApi, lakefs: LoopbackServer, store: LoopbackServer
) -> None:
    handler(lakefs).multipart = False
    report = upload_many(objects, "repo", "main", [(b"sized", "s/a"), (iter([b"str", b"eam"]), "s/b")])
    assert report.ok
    assert handler(lakefs).plain == {"s/b": b"stream"} and list(handler(lakefs).linked) == ["s/a"]


def test_presign_false_never_asks_the_server(objects: ObjectsApi, lakefs: LoopbackServer, store: LoopbackServer) -> None:
    assert upload_many(objects, "repo", "main", ITEMS, presign=False).ok
    assert sorted(handler(lakefs).plain) == ["raw/a.csv", "raw/b.csv"] and store.requests == []
    assert "/api/v1/config" not in [r.path for r in lakefs.requests]


def test_presign_true_on_a_store_that_cannot_fails_before_anything_starts(
    objects: ObjectsApi, lakefs: LoopbackServer, store: LoopbackServer, tmp_path: Path
) -> None:
    handler(lakefs).presign = False
    with pytest.raises(lakefs_sdk.ApiValueError, match=r"upload_many\(presign=True\).*does not support presigned"):
        upload_many(objects, "repo", "main", ITEMS, presign=True)
    with pytest.raises(lakefs_sdk.ApiValueError, match=r"download_many\(presign=True\).*does not support presigned"):
        download_many(objects, "repo", "main", [("raw/a.csv", str(tmp_path / "a"))], presign=True)
    assert [r.path for r in lakefs.requests] == ["/api/v1/config"] and store.requests == []
    assert list(tmp_path.iterdir()) == []


def test_presign_true_refuses_what_cannot_be_presigned_before_anything_starts(
    objects: ObjectsApi, lakefs: LoopbackServer, store: LoopbackServer
) -> None:
    with pytest.raises(lakefs_sdk.ApiValueError, match="per-call options"):
        upload_many(objects, "repo", "main", ITEMS, presign=True, _request_timeout=3)
    handler(lakefs).multipart = False
    with pytest.raises(lakefs_sdk.ApiValueError, match="stream"):
        upload_many(objects, "repo", "main", [*ITEMS, (iter([b"x"]), "s")], presign=True)
    with pytest.raises(lakefs_sdk.ApiValueError, match="presign must be None, True or False"):
        upload_many(objects, "repo", "main", ITEMS, presign="yes")  # type: ignore[arg-type]
    assert store.requests == [] and handler(lakefs).plain == {} and handler(lakefs).linked == {}


# -- download_many ----------------------------------------------------------------------------------


def test_download_many_presign_reads_from_the_store_without_credentials(
    objects: ObjectsApi, lakefs: LoopbackServer, store: LoopbackServer, tmp_path: Path
) -> None:
    store.handler.objects.update({"raw/a.csv": b"first", "raw/b.csv": b"second"})  # type: ignore[union-attr]
    for presign in (True, None):
        report = download_many(objects, "repo", "main", [("raw/a.csv", tmp_path / "a"), ("raw/b.csv", tmp_path / "b")],
                               presign=presign)
        assert report.ok and (tmp_path / "a").read_bytes() == b"first" and (tmp_path / "b").read_bytes() == b"second"
        (tmp_path / "a").unlink()
        (tmp_path / "b").unlink()
    gets = [r for r in lakefs.requests if r.path.endswith("/objects")]
    assert len(gets) == 4 and all("presign=true" in r.query for r in gets)
    assert_no_credentials(store)


def test_download_many_presign_none_or_false_reads_through_lakefs(
    objects: ObjectsApi, lakefs: LoopbackServer, store: LoopbackServer, tmp_path: Path
) -> None:
    handler(lakefs).objects["raw/a.csv"] = b"served by lakeFS"
    assert download_many(objects, "repo", "main", [("raw/a.csv", tmp_path / "a")], presign=False).ok
    handler(lakefs).presign = False
    with ApiClient(configuration(lakefs.url)) as client:  # a new client asks the server again
        assert download_many(ObjectsApi(client), "repo", "main", [("raw/a.csv", tmp_path / "b")]).ok
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes() == b"served by lakeFS"
    assert store.requests == [] and not any("presign=true" in r.query for r in lakefs.requests)


# -- unknown keywords: refused before anything starts -------------------------------------------------


@pytest.mark.parametrize("helper, args", [
    ("upload_many", (ITEMS,)), ("download_many", ([("raw/a.csv", "ignored")],)), ("delete_many", (["raw/a.csv"],)),
])
@pytest.mark.parametrize("keyword", ["presing", "_progress", "async_req", "_preload_content"])
def test_an_unknown_keyword_is_refused_before_anything_starts(
    objects: ObjectsApi, lakefs: LoopbackServer, helper: str, args: Tuple[Any, ...], keyword: str
) -> None:
    function = {"upload_many": upload_many, "download_many": download_many, "delete_many": delete_many}[helper]
    with pytest.raises(lakefs_sdk.ApiTypeError) as raised:
        function(objects, "repo", "main", *args, **{keyword: True})
    message = str(raised.value)
    assert message.startswith(f"{helper}() got an unexpected keyword argument '{keyword}'") and "\n" not in message
    assert lakefs.requests == []


def test_a_bad_option_value_is_refused_before_anything_starts(objects: ObjectsApi, lakefs: LoopbackServer) -> None:
    with pytest.raises(lakefs_sdk.ApiTypeError, match="_headers"):
        delete_many(objects, "repo", "main", ["a"], _headers="X-Not: a mapping")
    assert lakefs.requests == []


# -- asyncio -----------------------------------------------------------------------------------------


def aio_call(url: str, helper: str, *args: Any, **kwargs: Any) -> Any:
    aio = pytest.importorskip("lakefs_sdk.aio")
    from lakefs_sdk.aio import transfer as aio_transfer

    async def main() -> Any:
        async with aio.AsyncApiClient(configuration(url), cookie="session=lakefs-cookie") as client:
            return await getattr(aio_transfer, helper)(aio.ObjectsApi(client), "repo", "main", *args, **kwargs)

    return asyncio.run(main())


def test_async_presigned_upload_and_download(lakefs: LoopbackServer, store: LoopbackServer, tmp_path: Path) -> None:
    report = aio_call(lakefs.url, "upload_many", ITEMS, presign=True)
    assert report.ok and store.handler.objects == dict((p, b) for b, p in ITEMS)  # type: ignore[union-attr]
    assert handler(lakefs).plain == {} and sorted(handler(lakefs).linked) == ["raw/a.csv", "raw/b.csv"]
    report = aio_call(lakefs.url, "download_many", [("raw/b.csv", tmp_path / "b")], presign=True)
    assert report.ok and (tmp_path / "b").read_bytes() == b"second body"
    assert_no_credentials(store)


def test_async_refusals_come_before_anything_starts(lakefs: LoopbackServer, store: LoopbackServer) -> None:
    for helper, args in [("upload_many", (ITEMS,)), ("download_many", ([("a", "b")],)), ("delete_many", (["a"],))]:
        with pytest.raises(lakefs_sdk.ApiTypeError, match=f"{helper}.. got an unexpected keyword argument 'presing'"):
            aio_call(lakefs.url, helper, *args, presing=True)
    assert lakefs.requests == []
    handler(lakefs).presign = False
    with pytest.raises(lakefs_sdk.ApiValueError, match="does not support presigned"):
        aio_call(lakefs.url, "upload_many", ITEMS, presign=True)
    assert [r.path for r in lakefs.requests] == ["/api/v1/config"] and store.requests == []
