"""objects on the real server: every ObjectsApi operation, each effect read back by another call.

Uploads in every content form the SDK accepts (read back by stat, get, list and sha256),
zero-byte objects, empty header arguments, conditional and ranged requests, user metadata,
copy, delete (one and many), listing with prefix/delimiter/after/amount and the page
iterator, and what each blockstore answers for presign and underlying properties.

Runs on both stores. On the local one an object's ``physical_address`` is
``local:///<absolute path>``, which the data-loss case uses to remove an object's data; on
S3 (``LAKEFS_STORE=s3``) it is ``s3://bucket/key``, removed with a signed DELETE to the store.
The local blockstore refuses presigning (400, typed); the S3 one presigns URLs on the store.
"""

from __future__ import annotations

import hashlib
import io
import os
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, List, Tuple
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3

import lakefs_sdk
from lakefs_sdk import transfer
from lakefs_sdk.models import (
    BranchCreation,
    CommitCreation,
    ObjectCopyCreation,
    ObjectStats,
    PathList,
    UnderlyingObjectProperties,
    UpdateObjectUserMetadata,
)

from support.lakefs import LakeFS, Wire, local_store_only, s3_store_only, statuses
from support.s3_store import S3Store

EMPTY_MD5 = hashlib.md5(b"").hexdigest()
DATA = b"0123456789abcdefghij"  # 20 bytes: easy ranges
NOT_SUPPORTED = "presigned URL: operation not supported"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def local_path(physical_address: str) -> Path:
    """The file behind a ``local:///...`` physical address of the local blockstore."""
    assert physical_address.startswith("local:///"), physical_address
    return Path(physical_address[len("local://") :])


def listed(client: lakefs_sdk.LakeFSClient, repo: str, ref: str = "main", **kwargs: Any) -> List[ObjectStats]:
    return client.objects_api.list_objects(repo, ref, **kwargs).results


def assert_object(client: lakefs_sdk.LakeFSClient, repo: str, path: str, data: bytes, ref: str = "main") -> ObjectStats:
    """``path`` holds exactly ``data``: by stat, by get (sha256) and in the listing."""
    objects = client.objects_api
    stats = objects.stat_object(repo, ref, path)
    assert stats.path == path and stats.path_type == "object"
    assert stats.size_bytes == len(data) and stats.checksum == md5(data)
    assert sha256(objects.get_object(repo, ref, path)) == sha256(data)
    entries = {entry.path: entry for entry in listed(client, repo, ref, prefix=path)}
    assert path in entries and entries[path].size_bytes == len(data) and entries[path].checksum == md5(data)
    return stats


def assert_typed_error(error: lakefs_sdk.ApiException, status: int, message: str | None = None) -> None:
    assert error.status == status
    assert error.request_id
    if message is not None:
        assert error.message is not None and message in error.message


# -- uploads in every content form ------------------------------------------------------------

ContentFactory = Callable[[Path, bytes, ExitStack], Any]


def _file_at(tmp_path: Path, data: bytes, name: str = "source.bin") -> Path:
    source = tmp_path / name
    source.write_bytes(data)
    return source


def _pipe(tmp_path: Path, data: bytes, stack: ExitStack) -> Any:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)  # small enough for the pipe buffer
    os.close(write_fd)
    return stack.enter_context(os.fdopen(read_fd, "rb"))


def _file_at_offset(tmp_path: Path, data: bytes, stack: ExitStack) -> Any:
    file = stack.enter_context(open(_file_at(tmp_path, b"SKIPPED" + data), "rb"))
    file.seek(len(b"SKIPPED"))
    return file


# id -> (content factory, multipart?, length announced?)
CONTENT_FORMS: dict[str, Tuple[ContentFactory, bool, bool]] = {
    "bytes": (lambda tmp, data, stack: data, True, True),
    "bytearray": (lambda tmp, data, stack: bytearray(data), True, True),
    "str-path": (lambda tmp, data, stack: str(_file_at(tmp, data)), True, True),
    "pathlib-path": (lambda tmp, data, stack: _file_at(tmp, data), True, True),
    "binary-file": (lambda tmp, data, stack: stack.enter_context(open(_file_at(tmp, data), "rb")), True, True),
    "binary-file-at-offset": (_file_at_offset, True, True),
    "bytesio": (lambda tmp, data, stack: io.BytesIO(data), True, True),
    "pipe": (_pipe, True, False),
    "iterator": (lambda tmp, data, stack: iter([data[:7], b"", data[7:]]), True, False),
    "filename-bytes-tuple": (lambda tmp, data, stack: ("report.csv", data), True, True),
}


@pytest.mark.parametrize("form", list(CONTENT_FORMS))
def test_upload_every_content_form_reads_back(
    form: str, lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire, tmp_path: Path
) -> None:
    factory, multipart, announced = CONTENT_FORMS[form]
    data = f"content uploaded as {form}\n".encode() * 50
    path = f"forms/{form}.bin"
    with ExitStack() as stack:
        stats = lakefs_client.objects_api.upload_object(repo, "main", path, content=factory(tmp_path, data, stack))
    assert stats.path == path and stats.size_bytes == len(data) and stats.checksum == md5(data)
    assert_object(lakefs_client, repo, path, data)

    sent = wire.last("uploadObject").request
    content_type = sent.header("Content-Type") or ""
    assert content_type.startswith("multipart/form-data; boundary=") == multipart
    assert data in sent.body
    if announced:
        assert sent.header("Content-Length") == str(len(sent.body)) and sent.header("Transfer-Encoding") is None
    else:
        assert sent.header("Content-Length") is None and sent.header("Transfer-Encoding") == "chunked"


def test_the_filename_of_a_tuple_gives_the_media_type(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    objects = lakefs_client.objects_api
    assert objects.upload_object(repo, "main", "typed/a", content=("a.csv", b"x,y\n")).content_type == "text/csv"
    assert objects.upload_object(repo, "main", "typed/b", content=("b.json", b"{}")).content_type == "application/json"
    assert objects.stat_object(repo, "main", "typed/a").content_type == "text/csv"
    assert objects.head_object_with_http_info(repo, "main", "typed/b").headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("content_type", [None, "text/csv"])
def test_raw_octet_stream_upload_with_transfer_upload(
    content_type: str | None, lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    data = b"id,amount\n1,9.99\n" * 100
    stats = transfer.upload(lakefs_client.objects_api, repo, "main", "raw/sales.csv", data, content_type=content_type)
    assert stats.size_bytes == len(data)
    assert_object(lakefs_client, repo, "raw/sales.csv", data)
    expected_type = content_type or "application/octet-stream"
    assert lakefs_client.objects_api.stat_object(repo, "main", "raw/sales.csv").content_type == expected_type
    sent = wire.last("uploadObject").request
    assert sent.header("Content-Type") == expected_type and sent.body == data


# -- zero-byte objects ------------------------------------------------------------------------


def _empty_file(tmp_path: Path, stack: ExitStack) -> Any:
    return stack.enter_context(open(_file_at(tmp_path, b"", "empty.bin"), "rb"))


EMPTY_FORMS: dict[str, Callable[[Path, ExitStack], Any]] = {
    "no-content": lambda tmp, stack: None,
    "empty-bytes": lambda tmp, stack: b"",
    "empty-file": _empty_file,
    "empty-path": lambda tmp, stack: _file_at(tmp, b"", "empty-path.bin"),
    "empty-iterator": lambda tmp, stack: iter([]),
    "iterator-of-empty-chunks": lambda tmp, stack: iter([b"", b""]),
}


@pytest.mark.parametrize("form", list(EMPTY_FORMS))
def test_zero_byte_objects(
    form: str, lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire, tmp_path: Path
) -> None:
    objects = lakefs_client.objects_api
    path = f"empty/{form}"
    with ExitStack() as stack:
        content = EMPTY_FORMS[form](tmp_path, stack)
        if content is None:
            stats = objects.upload_object(repo, "main", path)
        else:
            stats = objects.upload_object(repo, "main", path, content=content)
    assert stats.size_bytes == 0 and stats.checksum == EMPTY_MD5
    assert objects.stat_object(repo, "main", path).size_bytes == 0
    assert objects.get_object(repo, "main", path) == b""
    assert [(e.path, e.size_bytes) for e in listed(lakefs_client, repo, prefix="empty/")] == [(path, 0)]
    sent = wire.last("uploadObject")
    assert sent.status == 201
    if form == "no-content":
        # No content, no body: lakeFS answers 500 to a multipart body without a part.
        assert sent.request.body == b"" and not (sent.request.header("Content-Type") or "").startswith("multipart")


# -- empty header arguments -----------------------------------------------------------------


def test_empty_header_arguments_mean_not_given(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    objects = lakefs_client.objects_api
    objects.upload_object(repo, "main", "h/a", content=b"first", if_match="", if_none_match="")
    upload = wire.last("uploadObject")
    assert upload.status == 201
    assert upload.request.header("If-Match") is None and upload.request.header("If-None-Match") is None
    objects.upload_object(repo, "main", "h/a", content=DATA, if_match="", if_none_match="")
    assert objects.get_object(repo, "main", "h/a", range="") == DATA
    get = wire.last("getObject")
    assert get.status == 200 and get.request.header("Range") is None
    assert objects.get_object(repo, "main", "h/a", if_none_match="") == DATA
    assert wire.last("getObject").request.header("If-None-Match") is None


# -- conditional writes and reads --------------------------------------------------------------


def test_if_none_match_star_refuses_to_overwrite(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    objects = lakefs_client.objects_api
    objects.upload_object(repo, "main", "c/new", content=b"original", if_none_match="*")
    assert wire.last("uploadObject").request.header("If-None-Match") == "*"
    with pytest.raises(lakefs_sdk.PreconditionFailedException) as raised:
        objects.upload_object(repo, "main", "c/new", content=b"replacement", if_none_match="*")
    assert_typed_error(raised.value, 412, "already exists")
    assert statuses(wire.exchanges(), "uploadObject") == [201, 412]  # a 412 is an answer: never retried
    assert_object(lakefs_client, repo, "c/new", b"original")


def test_if_match_is_not_implemented_by_the_open_source_server(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    objects = lakefs_client.objects_api
    etag = objects.upload_object(repo, "main", "c/obj", content=b"v1").checksum
    for if_match in (etag, f'"{etag}"', md5(b"something else")):
        with pytest.raises(lakefs_sdk.NotImplementedException) as raised:
            objects.upload_object(repo, "main", "c/obj", content=b"v2", if_match=if_match)
        assert_typed_error(raised.value, 501)
        assert isinstance(raised.value, lakefs_sdk.ServiceException)
        assert wire.last("uploadObject").request.header("If-Match") == if_match
    assert statuses(wire.exchanges(), "uploadObject") == [201, 501, 501, 501]  # 501 is not retried
    assert_object(lakefs_client, repo, "c/obj", b"v1")


def test_get_object_if_none_match(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    objects = lakefs_client.objects_api
    etag = objects.upload_object(repo, "main", "c/etag", content=DATA).checksum
    with pytest.raises(lakefs_sdk.ApiException) as raised:
        objects.get_object(repo, "main", "c/etag", if_none_match=f'"{etag}"')
    assert raised.value.status == 304 and raised.value.request_id
    assert wire.last("getObject").status == 304 and wire.last("getObject").response_body == b""
    # lakeFS compares the header with its quoted ETag: the bare checksum does not match.
    assert objects.get_object(repo, "main", "c/etag", if_none_match=etag) == DATA
    assert objects.get_object(repo, "main", "c/etag", if_none_match='"0000"') == DATA


# -- ranges ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("byte_range", "expected", "content_range"),
    [
        ("bytes=0-9", DATA[:10], "bytes 0-9/20"),
        ("bytes=5-5", DATA[5:6], "bytes 5-5/20"),
        ("bytes=-5", DATA[-5:], "bytes 15-19/20"),
        ("bytes=15-", DATA[15:], "bytes 15-19/20"),
        ("bytes=15-200", DATA[15:], "bytes 15-19/20"),  # clipped to the object
        ("bytes=0-", DATA, "bytes 0-19/20"),
    ],
)
def test_ranged_reads(
    byte_range: str, expected: bytes, content_range: str, lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    objects = lakefs_client.objects_api
    objects.upload_object(repo, "main", "r/data", content=DATA)
    response = objects.get_object_with_http_info(repo, "main", "r/data", range=byte_range)
    assert response.status_code == 206 and response.data == expected
    assert response.headers["Content-Range"] == content_range
    assert wire.last("getObject").request.header("Range") == byte_range
    head = objects.head_object_with_http_info(repo, "main", "r/data", range=byte_range)
    assert head.status_code == 206 and head.headers["Content-Length"] == str(len(expected))
    streamed = objects.get_object_without_preload_content(repo, "main", "r/data", range=byte_range)
    with streamed:
        assert b"".join(streamed.iter_bytes(3)) == expected


@pytest.mark.parametrize("byte_range", ["bytes=20-", "bytes=100-200", "bytes=0-1,5-6"])
def test_unsatisfiable_ranges(byte_range: str, lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    objects = lakefs_client.objects_api
    objects.upload_object(repo, "main", "r/data", content=DATA)
    with pytest.raises(lakefs_sdk.RangeNotSatisfiableException) as raised:
        objects.get_object(repo, "main", "r/data", range=byte_range)
    assert_typed_error(raised.value, 416, "Range Not Satisfiable")
    # lakeFS serves no multi-range; for a range past the end it names the size.
    if byte_range != "bytes=0-1,5-6":
        assert raised.value.headers is not None and raised.value.headers.get("Content-Range") == "bytes */20"
    with pytest.raises(lakefs_sdk.RangeNotSatisfiableException) as head_raised:
        objects.head_object(repo, "main", "r/data", range=byte_range)
    assert head_raised.value.status == 416 and head_raised.value.request_id
    assert statuses(wire.exchanges(), "getObject") == [416] and statuses(wire.exchanges(), "headObject") == [416]


def test_a_malformed_range_is_refused_before_sending(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    with pytest.raises(lakefs_sdk.ApiValueError):
        lakefs_client.objects_api.get_object(repo, "main", "r/data", range="items=0-9")
    assert wire.operations() == []


# -- head ----------------------------------------------------------------------------------------


def test_head_object_existing_and_missing(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    objects = lakefs_client.objects_api
    stats = objects.upload_object(repo, "main", "h/exists.txt", content=DATA)
    response = objects.head_object_with_http_info(repo, "main", "h/exists.txt")
    assert response.status_code == 200 and response.data is None and response.raw_data == b""
    assert response.headers["Content-Length"] == str(len(DATA))
    assert response.headers["ETag"] == f'"{stats.checksum}"'
    assert response.headers["Last-Modified"]
    assert objects.head_object(repo, "main", "h/exists.txt") is None
    with pytest.raises(lakefs_sdk.NotFoundException) as raised:
        objects.head_object(repo, "main", "h/missing.txt")
    assert raised.value.status == 404 and raised.value.request_id
    assert statuses(wire.exchanges(), "headObject") == [200, 200, 404]


# -- user metadata -------------------------------------------------------------------------------


def test_user_metadata_on_upload_and_update(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    objects = lakefs_client.objects_api
    # uploadObject has no metadata parameter: lakeFS reads X-Lakefs-Meta-* headers (names lower-cased).
    uploaded = objects.upload_object(
        repo, "main", "m/obj", content=DATA, _headers={"X-Lakefs-Meta-Owner-Name": "Ann", "x-lakefs-meta-pii": "No"}
    )
    assert uploaded.metadata == {"owner-name": "Ann", "pii": "No"}
    assert objects.stat_object(repo, "main", "m/obj", user_metadata=True).metadata == {"owner-name": "Ann", "pii": "No"}

    update = UpdateObjectUserMetadata(set={"team": "data-eng", "Tier": "gold"})
    assert objects.update_object_user_metadata(repo, "main", "m/obj", update) is None
    # Deviation: the spec declares only 201; lakeFS answers 204, which the SDK accepts as success.
    assert wire.last("updateObjectUserMetadata").status == 204
    # The new set replaces the old one; the data is untouched.
    stats = objects.stat_object(repo, "main", "m/obj", user_metadata=True)
    assert stats.metadata == {"team": "data-eng", "Tier": "gold"}
    assert stats.checksum == md5(DATA) and objects.get_object(repo, "main", "m/obj") == DATA
    assert objects.stat_object(repo, "main", "m/obj", user_metadata=False).metadata == {}

    objects.upload_object(repo, "main", "m/other", content=b"other")
    # A listing leaves out the metadata of an object that has none (stat says {}).
    with_metadata = {e.path: e.metadata for e in listed(lakefs_client, repo, prefix="m/", user_metadata=True)}
    assert with_metadata == {"m/obj": {"team": "data-eng", "Tier": "gold"}, "m/other": None}
    without = {e.path: e.metadata for e in listed(lakefs_client, repo, prefix="m/", user_metadata=False)}
    assert without == {"m/obj": None, "m/other": None}

    objects.update_object_user_metadata(repo, "main", "m/obj", UpdateObjectUserMetadata(set={}))
    assert objects.stat_object(repo, "main", "m/obj", user_metadata=True).metadata == {}


def test_update_user_metadata_of_a_missing_object(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    with pytest.raises(lakefs_sdk.NotFoundException) as raised:
        lakefs_client.objects_api.update_object_user_metadata(
            repo, "main", "m/missing", UpdateObjectUserMetadata(set={"k": "v"})
        )
    assert_typed_error(raised.value, 404, "not found")


# -- copy -------------------------------------------------------------------------------------------


def test_copy_object_on_one_branch_and_across_branches(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    objects = lakefs_client.objects_api
    source = objects.upload_object(repo, "main", "cp/src.txt", content=DATA)
    copy = objects.copy_object(repo, "main", "cp/dst.txt", ObjectCopyCreation(src_path="cp/src.txt"))
    assert wire.last("copyObject").status == 201
    assert copy.path == "cp/dst.txt" and copy.checksum == source.checksum and copy.size_bytes == len(DATA)
    assert copy.physical_address != source.physical_address  # a deep copy: its own data
    assert_object(lakefs_client, repo, "cp/dst.txt", DATA)
    assert_object(lakefs_client, repo, "cp/src.txt", DATA)

    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="dev", source="main"))
    objects.upload_object(repo, "main", "cp/src.txt", content=b"changed on main after the branch")
    across = objects.copy_object(
        repo, "dev", "from-main/src.txt", ObjectCopyCreation(src_path="cp/src.txt", src_ref="main")
    )
    assert across.size_bytes == len(b"changed on main after the branch")
    assert_object(lakefs_client, repo, "from-main/src.txt", b"changed on main after the branch", ref="dev")
    with pytest.raises(lakefs_sdk.NotFoundException):
        objects.stat_object(repo, "main", "from-main/src.txt")

    # A copy over an existing path replaces it.
    objects.copy_object(repo, "main", "cp/dst.txt", ObjectCopyCreation(src_path="cp/src.txt"))
    assert_object(lakefs_client, repo, "cp/dst.txt", b"changed on main after the branch")


def test_copy_object_errors(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    objects = lakefs_client.objects_api
    objects.upload_object(repo, "main", "cp/src.txt", content=DATA)
    with pytest.raises(lakefs_sdk.NotFoundException) as missing:
        objects.copy_object(repo, "main", "cp/dst", ObjectCopyCreation(src_path="cp/missing"))
    assert_typed_error(missing.value, 404)
    with pytest.raises(lakefs_sdk.NotImplementedException) as shallow:
        objects.copy_object(repo, "main", "cp/dst", ObjectCopyCreation(src_path="cp/src.txt", shallow=True))
    assert_typed_error(shallow.value, 501)
    assert [e.path for e in listed(lakefs_client, repo, prefix="cp/")] == ["cp/src.txt"]


# -- delete ---------------------------------------------------------------------------------------


def test_delete_object(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    objects = lakefs_client.objects_api
    objects.upload_object(repo, "main", "d/committed", content=b"kept in the commit")
    objects.upload_object(repo, "main", "d/staged", content=b"never committed")
    commit = lakefs_client.commits_api.commit(repo, "main", CommitCreation(message="before delete"))
    objects.upload_object(repo, "main", "d/staged", content=b"never committed")

    assert objects.delete_object(repo, "main", "d/committed") is None
    assert objects.delete_object(repo, "main", "d/staged") is None
    assert statuses(wire.exchanges(), "deleteObject") == [204, 204]
    for path in ("d/committed", "d/staged"):
        with pytest.raises(lakefs_sdk.NotFoundException):
            objects.stat_object(repo, "main", path)
    assert listed(lakefs_client, repo, prefix="d/") == []
    # The commit still has them.
    assert objects.get_object(repo, commit.id, "d/committed") == b"kept in the commit"
    # Deleting a path that holds nothing is no error.
    assert objects.delete_object(repo, "main", "d/never-existed") is None
    assert wire.last("deleteObject").status == 204


def test_delete_objects_in_one_call(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    objects = lakefs_client.objects_api
    for name in ("a", "b", "c", "keep"):
        objects.upload_object(repo, "main", f"batch/{name}", content=name.encode())
    result = objects.delete_objects(
        repo, "main", PathList(paths=["batch/a", "batch/b", "batch/c", "batch/does-not-exist"])
    )
    assert wire.last("deleteObjects").status == 200
    # A path that holds nothing is not an error: the answer lists only failures.
    assert result.errors == []
    assert [e.path for e in listed(lakefs_client, repo, prefix="batch/")] == ["batch/keep"]
    assert objects.delete_objects(repo, "main", PathList(paths=[])).errors == []


def test_delete_objects_refuses_more_than_1000_paths(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    objects = lakefs_client.objects_api
    objects.upload_object(repo, "main", "p0", content=b"x")
    with pytest.raises(lakefs_sdk.BadRequestException) as raised:
        objects.delete_objects(repo, "main", PathList(paths=[f"p{i}" for i in range(1001)]))
    assert_typed_error(raised.value, 400, "max paths")
    assert [e.path for e in listed(lakefs_client, repo)] == ["p0"]


# -- listing ----------------------------------------------------------------------------------------


@pytest.fixture
def tree(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> List[str]:
    paths = ["a.txt", "dir/1.txt", "dir/2.txt", "dir/sub/3.txt", "other/4.txt", "z.txt", "dir0/5.txt"]
    for path in paths:
        lakefs_client.objects_api.upload_object(repo, "main", path, content=path.encode())
    return sorted(paths)


def test_list_objects_with_prefix_delimiter_after_and_amount(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, tree: List[str], wire: Wire
) -> None:
    objects = lakefs_client.objects_api
    every = objects.list_objects(repo, "main")
    assert [e.path for e in every.results] == tree
    assert every.pagination.has_more is False and every.pagination.results == len(tree)
    assert all(e.size_bytes == len(e.path) and e.checksum == md5(e.path.encode()) for e in every.results)

    assert [e.path for e in objects.list_objects(repo, "main", prefix="dir/").results] == [
        "dir/1.txt", "dir/2.txt", "dir/sub/3.txt",
    ]  # fmt: skip
    top = objects.list_objects(repo, "main", delimiter="/").results
    assert [(e.path, e.path_type) for e in top] == [
        ("a.txt", "object"), ("dir/", "common_prefix"), ("dir0/", "common_prefix"),
        ("other/", "common_prefix"), ("z.txt", "object"),
    ]  # fmt: skip
    nested = objects.list_objects(repo, "main", delimiter="/", prefix="dir/").results
    assert [(e.path, e.path_type) for e in nested] == [
        ("dir/1.txt", "object"), ("dir/2.txt", "object"), ("dir/sub/", "common_prefix"),
    ]  # fmt: skip

    assert [e.path for e in objects.list_objects(repo, "main", after="dir/2.txt").results] == tree[3:]
    page = objects.list_objects(repo, "main", amount=2)
    assert [e.path for e in page.results] == tree[:2]
    assert page.pagination.has_more is True and page.pagination.next_offset == tree[1]
    assert page.pagination.results == 2
    sent = wire.last("listObjects").request
    assert sent.query == "amount=2"


def test_list_objects_iter_walks_every_page(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, tree: List[str], wire: Wire
) -> None:
    found = [e.path for e in lakefs_client.objects_api.list_objects_iter(repo, "main", amount=2)]
    assert found == tree
    pages = [e for e in wire.exchanges() if e.operation_id == "listObjects"]
    assert len(pages) == 4  # 2 + 2 + 2 + 1
    afters = [parse_qs(e.request.query).get("after") for e in pages]
    assert afters == [None, [tree[1]], [tree[3]], [tree[5]]]
    with_prefix = lakefs_client.objects_api.list_objects_iter(repo, "main", prefix="dir/", delimiter="/", amount=1)
    assert [(e.path, e.path_type) for e in with_prefix] == [
        ("dir/1.txt", "object"), ("dir/2.txt", "object"), ("dir/sub/", "common_prefix"),
    ]  # fmt: skip


def test_list_objects_of_a_missing_ref(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    with pytest.raises(lakefs_sdk.NotFoundException) as raised:
        lakefs_client.objects_api.list_objects(repo, "no-such-branch")
    assert_typed_error(raised.value, 404)


# -- paths -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["dir with space/ü+%20&=?#;,x.txt", "trailing/slash/", "a//double", "日本/データ.csv", "emoji/🙂"]
)
def test_paths_with_special_characters(path: str, lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    objects = lakefs_client.objects_api
    assert objects.upload_object(repo, "main", path, content=path.encode()).path == path
    assert_object(lakefs_client, repo, path, path.encode())
    objects.delete_object(repo, "main", path)
    with pytest.raises(lakefs_sdk.NotFoundException):
        objects.stat_object(repo, "main", path)


def test_stat_of_a_prefix_or_missing_path(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    objects = lakefs_client.objects_api
    objects.upload_object(repo, "main", "dir/file", content=b"x")
    for path in ("dir", "dir/", "missing"):
        with pytest.raises(lakefs_sdk.NotFoundException) as raised:
            objects.stat_object(repo, "main", path)
        assert_typed_error(raised.value, 404, "not found")
    with pytest.raises(lakefs_sdk.NotFoundException) as get_raised:
        objects.get_object(repo, "main", "missing")
    assert_typed_error(get_raised.value, 404, "not found")


def test_upload_to_a_missing_branch(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    with pytest.raises(lakefs_sdk.NotFoundException) as raised:
        lakefs_client.objects_api.upload_object(repo, "no-such-branch", "x", content=b"x")
    assert_typed_error(raised.value, 404, "no-such-branch")


# -- what each blockstore does -------------------------------------------------------------------


@local_store_only
def test_presign_is_refused_by_the_local_blockstore(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    objects = lakefs_client.objects_api
    objects.upload_object(repo, "main", "p/obj", content=DATA)
    calls: List[Callable[[], object]] = [
        lambda: objects.list_objects(repo, "main", presign=True),
        lambda: objects.stat_object(repo, "main", "p/obj", presign=True),
        lambda: objects.get_object(repo, "main", "p/obj", presign=True),
    ]
    for call in calls:
        with pytest.raises(lakefs_sdk.BadRequestException) as raised:
            call()
        assert_typed_error(raised.value, 400, NOT_SUPPORTED)
    for operation in ("listObjects", "statObject", "getObject"):
        assert statuses(wire.exchanges(), operation) == [400]
        assert "presign=true" in wire.last(operation).request.query
    assert objects.stat_object(repo, "main", "p/obj", presign=False).physical_address.startswith("local://")


def assert_presigned_url_on(store: S3Store, url: str, data: bytes) -> None:
    """``url`` is a signed GET URL on the store that answers exactly ``data`` without credentials."""
    assert url.startswith(store.endpoint + "/"), url
    query = parse_qs(urlsplit(url).query)
    assert query.get("X-Amz-Algorithm") == ["AWS4-HMAC-SHA256"] and query.get("X-Amz-Signature"), url
    answer = urllib3.request("GET", url, retries=False, timeout=10)
    assert answer.status == 200 and sha256(answer.data) == sha256(data)


@s3_store_only
def test_presign_works_on_the_s3_store(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire, s3_store: S3Store, lakefs: LakeFS
) -> None:
    objects = lakefs_client.objects_api
    objects.upload_object(repo, "main", "p/obj", content=DATA)
    objects.upload_object(repo, "main", "p/other", content=DATA[::-1])
    listing = {entry.path: entry for entry in objects.list_objects(repo, "main", prefix="p/", presign=True).results}
    assert sorted(listing) == ["p/obj", "p/other"]
    assert_presigned_url_on(s3_store, listing["p/obj"].physical_address, DATA)
    assert_presigned_url_on(s3_store, listing["p/other"].physical_address, DATA[::-1])
    assert all(entry.physical_address_expiry for entry in listing.values())
    stats = objects.stat_object(repo, "main", "p/obj", presign=True)
    assert_presigned_url_on(s3_store, stats.physical_address, DATA)
    # get_object(presign=True) is answered by a redirect to the store; the SDK follows it.
    assert objects.get_object(repo, "main", "p/obj", presign=True) == DATA
    assert objects.get_object(repo, "main", "p/obj", presign=True, range="bytes=2-5") == DATA[2:6]
    for operation in ("listObjects", "statObject"):
        assert statuses(wire.exchanges(), operation) == [200]
        assert "presign=true" in wire.last(operation).request.query
    assert statuses(wire.exchanges(), "getObject") == [302, 302]
    # Without presign the address is the object's place in the namespace, not a URL.
    unsigned = objects.stat_object(repo, "main", "p/obj", presign=False).physical_address
    assert unsigned.startswith(lakefs.namespace_base + repo + "/"), unsigned
    assert s3_store.get(unsigned) == DATA


@local_store_only
def test_get_underlying_properties_on_the_local_blockstore(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    objects = lakefs_client.objects_api
    objects.upload_object(repo, "main", "u/obj", content=DATA, storage_class="STANDARD_IA")
    assert "storageClass=STANDARD_IA" in wire.last("uploadObject").request.query
    properties = objects.get_underlying_properties(repo, "main", "u/obj")
    # The local blockstore has no storage classes: the one asked for is accepted and ignored.
    assert isinstance(properties, UnderlyingObjectProperties) and properties.storage_class is None
    assert wire.last("getUnderlyingProperties").status == 200
    with pytest.raises(lakefs_sdk.NotFoundException) as raised:
        objects.get_underlying_properties(repo, "main", "u/missing")
    assert_typed_error(raised.value, 404, "not found")


@s3_store_only
def test_get_underlying_properties_on_the_s3_store(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    objects = lakefs_client.objects_api
    objects.upload_object(repo, "main", "u/obj", content=DATA, storage_class="STANDARD_IA")
    objects.upload_object(repo, "main", "u/default", content=DATA)
    assert "storageClass=STANDARD_IA" in wire.exchanges()[0].request.query
    # S3 keeps the storage class asked for, and reports it back.
    assert objects.get_underlying_properties(repo, "main", "u/obj").storage_class == "STANDARD_IA"
    # Without one, SeaweedFS reports an empty class (AWS would say STANDARD); lakeFS passes it on.
    assert objects.get_underlying_properties(repo, "main", "u/default").storage_class == ""
    assert statuses(wire.exchanges(), "getUnderlyingProperties") == [200, 200]
    with pytest.raises(lakefs_sdk.NotFoundException) as raised:
        objects.get_underlying_properties(repo, "main", "u/missing")
    assert_typed_error(raised.value, 404, "not found")


def test_an_object_whose_data_is_gone(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire, lakefs: LakeFS, request: pytest.FixtureRequest
) -> None:
    objects = lakefs_client.objects_api
    stats = objects.upload_object(repo, "main", "g/obj", content=DATA)
    if lakefs.store == "s3":
        store: S3Store = request.getfixturevalue("s3_store")
        store.delete(stats.physical_address)
        assert store.status(stats.physical_address) == 404
    else:
        local_path(stats.physical_address).unlink()
    # The entry is still there; its data is not.
    assert objects.stat_object(repo, "main", "g/obj").size_bytes == len(DATA)
    assert [e.path for e in listed(lakefs_client, repo, prefix="g/")] == ["g/obj"]
    with pytest.raises(lakefs_sdk.GoneException) as gone:
        objects.get_object(repo, "main", "g/obj")
    assert_typed_error(gone.value, 410, "No data")
    # lakeFS answers 500 here on both stores (its blockstore's "not found" is not mapped); the SDK
    # retries it as a GET, then raises the typed 5xx.
    with pytest.raises(lakefs_sdk.ServiceException) as raised:
        objects.get_underlying_properties(repo, "main", "g/obj")
    assert_typed_error(raised.value, 500, "not found")
    attempts = statuses(wire.exchanges(), "getUnderlyingProperties")
    assert attempts == [500] * (1 + lakefs_client.api_client.configuration.max_retries)
