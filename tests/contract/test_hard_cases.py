"""Hard cases against Prism: what the SDK returns and what the proxy saw on the wire.

Special characters in object paths (query) and refs (path segments), boolean and integer
query parameters, conditional headers, multipart and raw uploads, ranged and streamed
downloads, presign flags, responses without a body, list parameters. The byte-exact
encodings are asserted against a loopback server in test_wire_format.py; here each case
also has to get through Prism's routing and validation.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Callable, List, Tuple
from urllib.parse import quote

import pytest

import lakefs_sdk
from lakefs_sdk import ApiClient, ObjectsApi
from lakefs_sdk.models import (
    ACL,
    CommitList,
    DiffList,
    ObjectStats,
    ObjectStatsList,
    StagingLocation,
    StagingMetadata,
    UpdateObjectUserMetadata,
)

from support.contract import Wire, assert_result, query, query_dict, segments

REPO = "example-repo"

# Object paths a user may really have; each goes into the ``path`` query parameter.
SPECIAL_PATHS: List[Tuple[str, str]] = [
    ("space", "reports/Q1 2025/sales summary.csv"),
    ("unicode", "données/été/Ünïcödé-文件-😀.csv"),
    ("percent", "metrics/growth 100%/50%25.csv"),
    ("plus", "events/a+b/c++.log"),
    ("question", "faq/why?/what?.md"),
    ("hash", "issues/#42/notes#1.txt"),
    ("ampersand", "r&d/salt&pepper.csv"),
    ("equals", "partitions/year=2025/month=01/part-0.parquet"),
    ("leading-slash", "/absolute/looking/path.csv"),
    ("repeated-slash", "a//b///c.csv"),
    ("all-at-once", "/x y/ü+%?#&=//z"),
]
PATH_IDS = [case[0] for case in SPECIAL_PATHS]
PATHS = [case[1] for case in SPECIAL_PATHS]


def objects(client: ApiClient) -> ObjectsApi:
    return ObjectsApi(client)


# -- object paths with special characters ------------------------------------------------------


@pytest.mark.parametrize("path", PATHS, ids=PATH_IDS)
def test_special_object_path_in_stat_object(any_client: ApiClient, wire: Wire, path: str) -> None:
    stats = objects(any_client).stat_object(REPO, "main", path)
    sent = wire.only("statObject")
    assert sent.request.query == "path=" + quote(path, safe="/"), "every delimiter is percent-encoded, '/' stays"
    assert query(sent) == [("path", path)], "the server decodes exactly the path that was given"
    assert_result(stats, ObjectStats, sent)


@pytest.mark.parametrize("path", PATHS, ids=PATH_IDS)
def test_special_object_path_in_upload_and_delete(any_client: ApiClient, wire: Wire, path: str) -> None:
    objects(any_client).upload_object(REPO, "feature-x", path, content=b"x", _content_type="application/octet-stream")
    objects(any_client).delete_object(REPO, "feature-x", path)
    upload, delete = wire.exchanges()
    assert (upload.operation_id, upload.status) == ("uploadObject", 201)
    assert (delete.operation_id, delete.status) == ("deleteObject", 204)
    assert query(upload) == query(delete) == [("path", path)]


# -- refs in path segments ------------------------------------------------------------------------

SPECIAL_REFS = ["main~2", "main^1", "abc123@", "main~1^2", "v1.0.0@"]


@pytest.mark.parametrize("ref", SPECIAL_REFS)
def test_ref_expression_in_log_commits(any_client: ApiClient, wire: Wire, ref: str) -> None:
    page = lakefs_sdk.RefsApi(any_client).log_commits(REPO, ref, amount=1)
    sent = wire.only("logCommits")
    assert segments(sent) == ["repositories", REPO, "refs", ref, "commits"], "the ref stays one path segment"
    assert_result(page, CommitList, sent)


@pytest.mark.parametrize("ref", SPECIAL_REFS)
def test_ref_expression_in_stat_object_and_diff(any_client: ApiClient, wire: Wire, ref: str) -> None:
    objects(any_client).stat_object(REPO, ref, "data/file.csv")
    diff = lakefs_sdk.RefsApi(any_client).diff_refs(REPO, ref, "main")
    stat, diff_sent = wire.exchanges()
    assert stat.operation_id == "statObject" and segments(stat)[3] == ref
    assert diff_sent.operation_id == "diffRefs" and segments(diff_sent)[3:6] == [ref, "diff", "main"]
    assert isinstance(diff, DiffList)


# -- boolean and integer query parameters ------------------------------------------------------

QueryCall = Callable[[ApiClient], Any]
TYPED_QUERIES: List[Tuple[str, str, QueryCall, List[Tuple[str, str]]]] = [
    (
        "bools true/false",
        "listObjects",
        lambda c: objects(c).list_objects(REPO, "main", user_metadata=True, presign=False),
        [("user_metadata", "true"), ("presign", "false")],
    ),
    (
        "amount -1 (server default)",
        "listObjects",
        lambda c: objects(c).list_objects(REPO, "main", amount=-1),
        [("amount", "-1")],
    ),
    ("amount 0", "listBranches", lambda c: lakefs_sdk.BranchesApi(c).list_branches(REPO, amount=0), [("amount", "0")]),
    ("amount maximum", "listTags", lambda c: lakefs_sdk.TagsApi(c).list_tags(REPO, amount=1000), [("amount", "1000")]),
    (
        "bool false is sent, not dropped",
        "deleteObject",
        lambda c: objects(c).delete_object(REPO, "main", "p", force=False, no_tombstone=False),
        [("path", "p"), ("force", "false"), ("no_tombstone", "false")],
    ),
    (
        "bool with enum",
        "diffRefs",
        lambda c: lakefs_sdk.RefsApi(c).diff_refs(REPO, "main", "dev", type="three_dot", include_right_stats=False),
        [("type", "three_dot"), ("include_right_stats", "false")],
    ),
    (
        "integer parts",
        "createPresignMultipartUpload",
        lambda c: lakefs_sdk.ExperimentalApi(c).create_presign_multipart_upload(REPO, "main", "big.bin", parts=10000),
        [("path", "big.bin"), ("parts", "10000")],
    ),
    (
        "bare repository",
        "createRepository",
        lambda c: lakefs_sdk.RepositoriesApi(c).create_repository(
            {"name": "bare-repo", "storage_namespace": "s3://bucket/bare"}, bare=True
        ),
        [("bare", "true")],
    ),
]


@pytest.mark.parametrize(("case", "operation_id", "call", "expected"), TYPED_QUERIES, ids=[t[0] for t in TYPED_QUERIES])
def test_boolean_and_integer_query_parameters(
    any_client: ApiClient, wire: Wire, case: str, operation_id: str, call: QueryCall, expected: List[Tuple[str, str]]
) -> None:
    call(any_client)
    sent = wire.only(operation_id)
    assert query(sent) == expected, case


# -- conditional headers ------------------------------------------------------------------------


def test_upload_if_none_match_star(any_client: ApiClient, wire: Wire) -> None:
    """If-None-Match: * means "only if the object does not exist yet"."""
    stats = objects(any_client).upload_object(REPO, "main", "data/once.csv", if_none_match="*", content=b"a,b\n")
    sent = wire.only("uploadObject", 201)
    assert sent.request.header("If-None-Match") == "*" and sent.request.header("If-Match") is None
    assert_result(stats, ObjectStats, sent)


def test_upload_if_match_etag(any_client: ApiClient, wire: Wire) -> None:
    etag = '"9a0364b9e99bb480dd25e1f0284c8555"'
    stats = objects(any_client).upload_object(REPO, "main", "data/once.csv", if_match=etag, content=b"a,b\n")
    sent = wire.only("uploadObject", 201)
    assert sent.request.header("If-Match") == etag and sent.request.header("If-None-Match") is None
    assert_result(stats, ObjectStats, sent)


def test_link_physical_address_if_match(any_client: ApiClient, wire: Wire) -> None:
    metadata = StagingMetadata(
        staging=StagingLocation(physical_address="s3://bucket/x"), checksum="c0ffee", size_bytes=4
    )
    lakefs_sdk.StagingApi(any_client).link_physical_address(REPO, "main", "data/x", metadata, if_match='W/"c0ffee"')
    sent = wire.only("linkPhysicalAddress")
    assert sent.request.header("If-Match") == 'W/"c0ffee"'


def test_get_object_if_none_match_not_modified(client: ApiClient, static_wire: Wire) -> None:
    """A 304 (documented for getObject, with no body) is raised as an ApiException with status
    304: the SDK has no result type for it (see the report). ``Prefer: code=304`` makes
    Prism answer with the documented 304."""
    etag = '"9a0364b9e99bb480dd25e1f0284c8555"'
    with pytest.raises(lakefs_sdk.ApiException) as raised:
        objects(client).get_object(REPO, "main", "data/x.csv", if_none_match=etag, _headers={"Prefer": "code=304"})
    sent = static_wire.only("getObject", 304)
    assert sent.request.header("If-None-Match") == etag
    assert raised.value.status == 304 and type(raised.value) is lakefs_sdk.ApiException


# -- uploads ------------------------------------------------------------------------------------

CSV = b"id,amount,note\n1,9.99,caf\xc3\xa9\n2,19.50,\x00binary\xff\n"


def test_multipart_upload(any_client: ApiClient, wire: Wire) -> None:
    stats = objects(any_client).upload_object(REPO, "main", "data/sales.csv", content=("sales.csv", CSV))
    sent = wire.only("uploadObject", 201)
    content_type = sent.request.header("Content-Type") or ""
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=", 1)[1].encode()
    assert sent.request.body == (
        b"--" + boundary + b"\r\n"
        b'Content-Disposition: form-data; name="content"; filename="sales.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n" + CSV + b"\r\n--" + boundary + b"--\r\n"
    )
    assert sent.request.header("Content-Length") == str(len(sent.request.body))
    assert_result(stats, ObjectStats, sent)


def test_raw_octet_stream_upload(any_client: ApiClient, wire: Wire, tmp_path: Path) -> None:
    source = tmp_path / "payload.bin"
    source.write_bytes(CSV * 1000)
    stats = objects(any_client).upload_object(
        REPO, "main", "data/payload.bin", content=source, _content_type="application/octet-stream"
    )
    sent = wire.only("uploadObject", 201)
    assert sent.request.header("Content-Type") == "application/octet-stream"
    assert sent.request.header("Content-Length") == str(len(CSV) * 1000)
    assert sent.request.body == CSV * 1000
    assert_result(stats, ObjectStats, sent)


def test_raw_upload_of_unknown_size_is_chunked(any_client: ApiClient, wire: Wire) -> None:
    chunks = iter([CSV, b"", CSV])
    objects(any_client).upload_object(
        REPO, "main", "data/stream.bin", content=chunks, _content_type="application/octet-stream"
    )
    sent = wire.only("uploadObject", 201)
    assert sent.request.header("Transfer-Encoding") == "chunked" and sent.request.header("Content-Length") is None
    assert sent.request.body == CSV + CSV


# -- downloads ----------------------------------------------------------------------------------


@pytest.mark.parametrize("prism_any", ["dynamic"], indirect=True)
def test_ranged_download_partial_content(any_client: ApiClient, wire: Wire) -> None:
    """``Prefer: code=206`` asks Prism for the documented 206. Dynamic mode only: static
    Prism fills the 206 Content-Range header with "string", which fails the spec's pattern
    for it, and answers 500 instead (the pattern is the Range request syntax, see the report)."""
    assert not wire.static
    response = objects(any_client).get_object_with_http_info(
        REPO, "main", "data/big.bin", range="bytes=0-1023", _headers={"Prefer": "code=206"}
    )
    sent = wire.only("getObject", 206)
    assert sent.request.header("Range") == "bytes=0-1023"
    assert response.status_code == 206
    assert isinstance(response.data, bytes) and response.data == sent.response_body
    assert response.headers is not None and response.headers["Content-Range"] == sent.response_header("Content-Range")


def test_multi_range_header_passes_validation(any_client: ApiClient, wire: Wire) -> None:
    data = objects(any_client).get_object(REPO, "main", "data/big.bin", range="bytes=0-99, 200-")
    sent = wire.only("getObject")
    assert sent.request.header("Range") == "bytes=0-99, 200-"
    assert isinstance(data, bytes)


def test_streamed_download_to_file(any_client: ApiClient, wire: Wire, tmp_path: Path) -> None:
    target = tmp_path / "download.bin"
    with objects(any_client).get_object_without_preload_content(REPO, "main", "data/file.bin") as response:
        written = response.write_to(target)
    sent = wire.only("getObject", 200)
    assert response.status == 200
    assert target.read_bytes() == sent.response_body and written == len(sent.response_body)


def test_streamed_download_in_chunks(any_client: ApiClient, wire: Wire) -> None:
    response = objects(any_client).get_object_without_preload_content(REPO, "main", "data/file.bin")
    chunks = list(response.iter_bytes(4))
    sent = wire.only("getObject", 200)
    assert b"".join(chunks) == sent.response_body and all(len(c) <= 4 for c in chunks)
    sink = io.BytesIO()
    objects(any_client).get_object_without_preload_content(REPO, "main", "data/file.bin").write_to(sink)
    assert sink.getvalue() == sent.response_body


# -- presign flags ---------------------------------------------------------------------------------


def test_presigned_stat(any_client: ApiClient, wire: Wire) -> None:
    stats = objects(any_client).stat_object(REPO, "main", "data/file.csv", presign=True)
    sent = wire.only("statObject")
    assert query_dict(sent) == {"path": "data/file.csv", "presign": "true"}
    assert_result(stats, ObjectStats, sent)
    assert stats.physical_address_expiry is None or isinstance(stats.physical_address_expiry, int)


def test_presigned_listing(any_client: ApiClient, wire: Wire) -> None:
    page = objects(any_client).list_objects(REPO, "main", presign=True, prefix="data/")
    sent = wire.only("listObjects")
    assert query_dict(sent) == {"presign": "true", "prefix": "data/"}
    assert_result(page, ObjectStatsList, sent)


def test_presigned_get_object(any_client: ApiClient, wire: Wire) -> None:
    data = objects(any_client).get_object(REPO, "main", "data/file.csv", presign=True)
    sent = wire.only("getObject", 200)
    assert query_dict(sent) == {"path": "data/file.csv", "presign": "true"}
    assert data == sent.response_body


def test_presigned_physical_address(any_client: ApiClient, wire: Wire) -> None:
    location = lakefs_sdk.StagingApi(any_client).get_physical_address(REPO, "main", "data/new.csv", presign=True)
    sent = wire.only("getPhysicalAddress")
    assert query_dict(sent) == {"path": "data/new.csv", "presign": "true"}
    assert_result(location, StagingLocation, sent)
    assert location.presigned_url is None or isinstance(location.presigned_url, str)


def test_presigned_metadata_object(any_client: ApiClient, wire: Wire) -> None:
    data = lakefs_sdk.InternalApi(any_client).get_metadata_object(REPO, "f1e2d3", "meta_range", presign=True)
    sent = wire.only("getMetadataObject", 200)
    assert query_dict(sent) == {"presign": "true"}
    assert data == sent.response_body


# -- 201 and 204 without a body ------------------------------------------------------------------

NoBodyCall = Callable[[ApiClient], Any]
NO_BODY: List[Tuple[str, int, NoBodyCall]] = [
    ("addGroupMembership", 201, lambda c: lakefs_sdk.AuthApi(c).add_group_membership_with_http_info("admins", "jane")),
    (
        "setGroupACL",
        201,
        lambda c: lakefs_sdk.AuthApi(c).set_group_acl_with_http_info("admins", ACL(permission="Read")),
    ),
    (
        "updateObjectUserMetadata",
        201,
        lambda c: objects(c).update_object_user_metadata_with_http_info(
            REPO, "main", "data/x.csv", UpdateObjectUserMetadata(set={"k": "v"})
        ),
    ),
    ("deleteBranch", 204, lambda c: lakefs_sdk.BranchesApi(c).delete_branch_with_http_info(REPO, "feature-x")),
    ("healthCheck", 204, lambda c: lakefs_sdk.HealthCheckApi(c).health_check_with_http_info()),
    ("deleteObject", 204, lambda c: objects(c).delete_object_with_http_info(REPO, "main", "data/x.csv")),
]


@pytest.mark.parametrize(("operation_id", "status", "call"), NO_BODY, ids=[n[0] for n in NO_BODY])
def test_response_without_body(
    any_client: ApiClient, wire: Wire, operation_id: str, status: int, call: NoBodyCall
) -> None:
    response = call(any_client)
    sent = wire.only(operation_id, status)
    assert sent.response_body == b""
    assert response.status_code == status and response.data is None and response.raw_data == b""


def test_response_without_body_streamed(any_client: ApiClient, wire: Wire) -> None:
    response = lakefs_sdk.BranchesApi(any_client).delete_branch_without_preload_content(REPO, "feature-x")
    wire.only("deleteBranch", 204)
    assert response.status == 204 and response.read() == b""


# -- list parameters -------------------------------------------------------------------------------


def test_list_objects_with_after_amount_prefix_delimiter(any_client: ApiClient, wire: Wire) -> None:
    page = objects(any_client).list_objects(
        REPO, "main", after="data/2025 Q1/a&b=c.csv", amount=250, delimiter="/", prefix="data/2025 Q1/"
    )
    sent = wire.only("listObjects")
    assert sent.request.query == "after=data/2025%20Q1/a%26b%3Dc.csv&amount=250&delimiter=/&prefix=data/2025%20Q1/"
    assert query(sent) == [
        ("after", "data/2025 Q1/a&b=c.csv"),
        ("amount", "250"),
        ("delimiter", "/"),
        ("prefix", "data/2025 Q1/"),
    ]
    assert_result(page, ObjectStatsList, sent)


def test_diff_branch_with_after_amount_prefix_delimiter(any_client: ApiClient, wire: Wire) -> None:
    page = lakefs_sdk.BranchesApi(any_client).diff_branch(
        REPO, "feature-x", after="logs/#3", amount=1, prefix="logs/", delimiter="|"
    )
    sent = wire.only("diffBranch")
    assert query(sent) == [("after", "logs/#3"), ("amount", "1"), ("prefix", "logs/"), ("delimiter", "|")]
    assert_result(page, DiffList, sent)


def test_diff_refs_with_after_amount_prefix_delimiter(any_client: ApiClient, wire: Wire) -> None:
    page = lakefs_sdk.RefsApi(any_client).diff_refs(
        REPO, "main~1", "main", after="a+b", amount=2, prefix="ü/", delimiter="/"
    )
    sent = wire.only("diffRefs")
    assert query(sent) == [("after", "a+b"), ("amount", "2"), ("prefix", "ü/"), ("delimiter", "/")]
    assert_result(page, DiffList, sent)
