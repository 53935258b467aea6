"""Byte-exact requests, asserted against a loopback server (what Prism cannot show).

Complements tests/unit/test_input_validation.py (ref and object-path encodings of a few
combined strings, repeated query parameters, one JSON body) and tests/unit/test_streaming.py
(upload payloads and lengths): here every special character is encoded on its own, in a
query value and in a path segment, and whole request heads, header lines, multipart
layouts and JSON bodies are compared byte for byte.

Calls use ``*_without_preload_content``: the request is the same, and the reply ({}) is
not decoded, so one scripted answer serves every operation.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

import lakefs_sdk
from lakefs_sdk import ApiClient, ObjectsApi
from lakefs_sdk.models import (
    BranchProtectionRule,
    CommPrefsInput,
    StagingLocation,
    StagingMetadata,
    StatsEvent,
    StatsEventsList,
)

from support.contract import basic_auth_configuration
from support.loopback import LoopbackServer, Reply, Request

REPO = "example-repo"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda request: Reply(200, "{}")) as srv:
        yield srv


@pytest.fixture
def client(server: LoopbackServer) -> Iterator[ApiClient]:
    with ApiClient(basic_auth_configuration(server.url + "/api/v1")) as api_client:
        yield api_client


def authorization() -> str:
    configuration = basic_auth_configuration("http://unused")
    credentials = f"{configuration.username}:{configuration.password}".encode()
    return "Authorization: Basic " + base64.b64encode(credentials).decode()


def head(server: LoopbackServer, request_line: str, *headers: str) -> bytes:
    """A request head as urllib3 writes it: request line, Host, Accept-Encoding, then ``headers``."""
    lines = [request_line, f"Host: 127.0.0.1:{server.port}", "Accept-Encoding: identity", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def only_request(server: LoopbackServer) -> Request:
    assert len(server.requests) == 1, server.requests
    return server.requests[0]


def request_line(server: LoopbackServer) -> bytes:
    return only_request(server).raw_head.split(b"\r\n", 1)[0]


def boundary_of(request: Request) -> str:
    content_type = request.header("Content-Type") or ""
    assert content_type.startswith("multipart/form-data; boundary="), content_type
    boundary = content_type.split("boundary=", 1)[1]
    assert len(boundary) == 32 and all(c in "0123456789abcdef" for c in boundary), (
        "a fresh random token, never in the data"
    )
    return boundary


# -- whole request heads ----------------------------------------------------------------------------


def test_get_with_query_head(client: ApiClient, server: LoopbackServer) -> None:
    ObjectsApi(client).stat_object_without_preload_content(
        REPO, "main", "data/a b.csv", user_metadata=True, presign=False
    )
    assert only_request(server).raw_head == head(
        server,
        "GET /api/v1/repositories/example-repo/refs/main/objects/stat?path=data/a%20b.csv&user_metadata=true&presign=false HTTP/1.1",
        "User-Agent: lakefs-python-sdk/1.84.0",
        "Accept: application/json",
        authorization(),
    )
    assert only_request(server).body == b""


def test_delete_without_body_head(client: ApiClient, server: LoopbackServer) -> None:
    lakefs_sdk.BranchesApi(client).delete_branch_without_preload_content(REPO, "feature-x", force=True)
    assert only_request(server).raw_head == head(
        server,
        "DELETE /api/v1/repositories/example-repo/branches/feature-x?force=true HTTP/1.1",
        "User-Agent: lakefs-python-sdk/1.84.0",
        "Accept: application/json",
        authorization(),
    ), "no Content-Type and no Content-Length without a body"


def test_post_without_body_head(client: ApiClient, server: LoopbackServer) -> None:
    lakefs_sdk.RepositoriesApi(client).dump_submit_without_preload_content(REPO)
    assert only_request(server).raw_head == head(
        server,
        "POST /api/v1/repositories/example-repo/dump HTTP/1.1",
        "Content-Length: 0",
        "User-Agent: lakefs-python-sdk/1.84.0",
        "Accept: application/json",
        authorization(),
    )


def test_unauthenticated_json_post_head_and_body(client: ApiClient, server: LoopbackServer) -> None:
    prefs = CommPrefsInput(email="admin@example.com", feature_updates=False, security_updates=True)
    lakefs_sdk.InternalApi(client).setup_comm_prefs_without_preload_content(prefs)
    body = b'{"email":"admin@example.com","featureUpdates":false,"securityUpdates":true}'
    assert only_request(server).raw_head == head(
        server,
        "POST /api/v1/setup_comm_prefs HTTP/1.1",
        f"Content-Length: {len(body)}",
        "User-Agent: lakefs-python-sdk/1.84.0",
        "Accept: application/json",
        "Content-Type: application/json",
    ), "security: [] sends no Authorization"
    assert only_request(server).body == body


def test_binary_download_head(client: ApiClient, server: LoopbackServer) -> None:
    ObjectsApi(client).get_object_without_preload_content(
        REPO, "main~1", "img/ü.png", range="bytes=0-1023", if_none_match='"c0ffee"', presign=False
    )
    assert only_request(server).raw_head == head(
        server,
        "GET /api/v1/repositories/example-repo/refs/main~1/objects?path=img/%C3%BC.png&presign=false HTTP/1.1",
        "User-Agent: lakefs-python-sdk/1.84.0",
        "Accept: application/octet-stream, application/json",
        "Range: bytes=0-1023",
        'If-None-Match: "c0ffee"',
        authorization(),
    )


# -- every special character, alone, in a query value and in a path segment ------------------------

# (character, in a query value, in a path segment)
SPECIAL_CHARACTERS: List[Tuple[str, str, str]] = [
    (" ", "%20", "%20"),
    ("%", "%25", "%25"),
    ("+", "%2B", "%2B"),
    ("?", "%3F", "%3F"),
    ("#", "%23", "%23"),
    ("&", "%26", "%26"),
    ("=", "%3D", "%3D"),
    ("/", "/", "%2F"),
    (";", "%3B", "%3B"),
    (",", "%2C", "%2C"),
    (":", "%3A", "%3A"),
    ("@", "%40", "%40"),
    ("^", "%5E", "%5E"),
    ("~", "~", "~"),
    ("'", "%27", "%27"),
    ('"', "%22", "%22"),
    ("\\", "%5C", "%5C"),
    ("\t", "%09", "%09"),
    ("\n", "%0A", "%0A"),
    ("é", "%C3%A9", "%C3%A9"),
    ("文", "%E6%96%87", "%E6%96%87"),
    ("😀", "%F0%9F%98%80", "%F0%9F%98%80"),
]
CHARACTER_IDS = [f"U+{ord(c[0]):04X}" for c in SPECIAL_CHARACTERS]


@pytest.mark.parametrize(("char", "in_query", "in_segment"), SPECIAL_CHARACTERS, ids=CHARACTER_IDS)
def test_character_in_object_path_query(
    client: ApiClient, server: LoopbackServer, char: str, in_query: str, in_segment: str
) -> None:
    ObjectsApi(client).stat_object_without_preload_content(REPO, "main", f"a{char}b")
    assert (
        request_line(server)
        == f"GET /api/v1/repositories/example-repo/refs/main/objects/stat?path=a{in_query}b HTTP/1.1".encode()
    )


@pytest.mark.parametrize(("char", "in_query", "in_segment"), SPECIAL_CHARACTERS, ids=CHARACTER_IDS)
def test_character_in_ref_path_segment(
    client: ApiClient, server: LoopbackServer, char: str, in_query: str, in_segment: str
) -> None:
    lakefs_sdk.RefsApi(client).log_commits_without_preload_content(REPO, f"a{char}b")
    assert (
        request_line(server) == f"GET /api/v1/repositories/example-repo/refs/a{in_segment}b/commits HTTP/1.1".encode()
    )


@pytest.mark.parametrize(
    ("path", "encoded"),
    [
        ("/leading", "/leading"),
        ("//double-leading", "//double-leading"),
        ("a//b", "a//b"),
        ("a///", "a///"),
        ("/", "/"),
        ("a/./b/../c", "a/./b/../c"),
    ],
)
def test_slashes_and_dots_in_object_path_are_kept(
    client: ApiClient, server: LoopbackServer, path: str, encoded: str
) -> None:
    """Object paths are query values: slashes and dot segments reach lakeFS unchanged (a
    path segment would refuse them, see test_input_validation.py)."""
    ObjectsApi(client).get_object_without_preload_content(REPO, "main", path)
    assert (
        request_line(server)
        == f"GET /api/v1/repositories/example-repo/refs/main/objects?path={encoded} HTTP/1.1".encode()
    )


def test_slashes_in_a_path_segment_stay_inside_it(client: ApiClient, server: LoopbackServer) -> None:
    lakefs_sdk.TagsApi(client).get_tag_without_preload_content(REPO, "/releases//2025/")
    assert request_line(server) == b"GET /api/v1/repositories/example-repo/tags/%2Freleases%2F%2F2025%2F HTTP/1.1"


def test_list_parameters_in_spec_order(client: ApiClient, server: LoopbackServer) -> None:
    ObjectsApi(client).list_objects_without_preload_content(
        REPO, "main", prefix="a b/", delimiter="/", amount=-1, after="a b/x&y", presign=True, user_metadata=False
    )
    assert request_line(server) == (
        b"GET /api/v1/repositories/example-repo/refs/main/objects/ls"
        b"?user_metadata=false&presign=true&after=a%20b/x%26y&amount=-1&delimiter=/&prefix=a%20b/ HTTP/1.1"
    )


# -- header values --------------------------------------------------------------------------------

HEADER_CASES = [
    (
        "If-None-Match: *",
        lambda c: ObjectsApi(c).upload_object_without_preload_content(
            REPO, "main", "p", if_none_match="*", content=b""
        ),
    ),
    (
        'If-Match: "9a0364b9"',
        lambda c: ObjectsApi(c).upload_object_without_preload_content(
            REPO, "main", "p", if_match='"9a0364b9"', content=b""
        ),
    ),
    (
        'If-Match: W/"9a0364b9"',
        lambda c: lakefs_sdk.RepositoriesApi(c).set_branch_protection_rules_without_preload_content(
            REPO, [BranchProtectionRule(pattern="main")], if_match='W/"9a0364b9"'
        ),
    ),
    (
        "Range: bytes=0-99, 200-299, -50",
        lambda c: ObjectsApi(c).head_object_without_preload_content(
            REPO, "main", "p", range="bytes=0-99, 200-299, -50"
        ),
    ),
    (
        "x-lakefs-meta-owner: data team; cost=42",
        lambda c: ObjectsApi(c).upload_object_without_preload_content(
            REPO, "main", "p", content=b"", _headers={"x-lakefs-meta-owner": "data team; cost=42"}
        ),
    ),
]


@pytest.mark.parametrize(
    ("line", "call"), HEADER_CASES, ids=[h[0].split(":")[0] + "-" + str(i) for i, h in enumerate(HEADER_CASES)]
)
def test_header_line_is_sent_verbatim(client: ApiClient, server: LoopbackServer, line: str, call: object) -> None:
    call(client)  # type: ignore[operator]
    header_lines = only_request(server).raw_head.split(b"\r\n")[1:]
    assert line.encode("latin-1") in header_lines
    name = line.split(":", 1)[0].lower().encode()
    assert [h for h in header_lines if h.lower().startswith(name + b":")] == [line.encode("latin-1")], "sent once"


# -- multipart layouts ----------------------------------------------------------------------------

DATA = b"id,value\r\n1,\x00\xff\r\n--not-a-boundary\r\n"


def multipart(boundary: str, filename: str, mime: str, data: bytes) -> bytes:
    return (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="content"; filename="{filename}"\r\n'
            f"Content-Type: {mime}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )


def test_multipart_upload_head_and_body(client: ApiClient, server: LoopbackServer) -> None:
    ObjectsApi(client).upload_object_without_preload_content(
        REPO, "main", "data/sales.csv", content=("sales.csv", DATA)
    )
    request = only_request(server)
    boundary = boundary_of(request)
    body = multipart(boundary, "sales.csv", "text/csv", DATA)
    assert request.body == body
    assert request.raw_head == head(
        server,
        "POST /api/v1/repositories/example-repo/branches/main/objects?path=data/sales.csv HTTP/1.1",
        "User-Agent: lakefs-python-sdk/1.84.0",
        "Accept: application/json",
        authorization(),
        f"Content-Type: multipart/form-data; boundary={boundary}",
        f"Content-Length: {len(body)}",
    )


def test_multipart_part_from_a_path(client: ApiClient, server: LoopbackServer, tmp_path: Path) -> None:
    source = tmp_path / "report.json"
    source.write_bytes(b'{"ok": true}')
    ObjectsApi(client).upload_object_without_preload_content(REPO, "main", "r.json", content=source)
    request = only_request(server)
    assert request.body == multipart(boundary_of(request), "report.json", "application/json", b'{"ok": true}')


@pytest.mark.parametrize(
    ("content", "filename", "mime"),
    [
        (DATA, "content", "application/octet-stream"),
        (("notes.txt", DATA), "notes.txt", "text/plain"),
        (("dir/sub/part-0.no-such-type", DATA), "part-0.no-such-type", "application/octet-stream"),
        (('we"ird\r\nname.txt', DATA), "we%22irdname.txt", "text/plain"),
        (("ü-文件.csv", DATA), "ü-文件.csv", "text/csv"),
    ],
    ids=["bytes", "named", "basename", "quote-and-crlf", "unicode-name"],
)
def test_multipart_part_headers(
    client: ApiClient, server: LoopbackServer, content: object, filename: str, mime: str
) -> None:
    ObjectsApi(client).upload_object_without_preload_content(REPO, "main", "p", content=content)  # type: ignore[arg-type]
    request = only_request(server)
    assert request.body == multipart(boundary_of(request), filename, mime, DATA)


def test_multipart_from_unnamed_stream_is_chunked(client: ApiClient, server: LoopbackServer) -> None:
    ObjectsApi(client).upload_object_without_preload_content(REPO, "main", "p", content=iter([DATA[:5], DATA[5:]]))
    request = only_request(server)
    assert request.header("Transfer-Encoding") == "chunked" and request.header("Content-Length") is None
    assert request.body == multipart(boundary_of(request), "content", "application/octet-stream", DATA)


def test_upload_without_content_sends_no_body(client: ApiClient, server: LoopbackServer) -> None:
    # lakeFS refuses a multipart body without a part (500) and stores a body-less upload as a
    # zero-byte object, which is what upstream sends; tests/integration/test_objects.py checks it.
    ObjectsApi(client).upload_object_without_preload_content(REPO, "main", "p")
    request = only_request(server)
    assert request.body == b""
    assert request.header("Content-Type") is None
    assert request.header("Content-Length") == "0"


def test_empty_header_arguments_are_not_sent(client: ApiClient, server: LoopbackServer) -> None:
    # lakeFS answers an empty If-Match with 400; its own ETag for "no rules" is empty.
    ObjectsApi(client).upload_object_without_preload_content(REPO, "main", "p", if_match="", if_none_match="", content=DATA)
    ObjectsApi(client).get_object_without_preload_content(REPO, "main", "p", range="")
    upload, download = server.requests
    assert upload.header("If-Match") is None and upload.header("If-None-Match") is None
    assert download.header("Range") is None


def test_raw_upload_head_and_body(client: ApiClient, server: LoopbackServer) -> None:
    ObjectsApi(client).upload_object_without_preload_content(
        REPO, "main", "blob.bin", if_match='"e1"', content=io.BytesIO(DATA), _content_type="application/octet-stream"
    )
    request = only_request(server)
    assert request.body == DATA
    assert request.raw_head == head(
        server,
        "POST /api/v1/repositories/example-repo/branches/main/objects?path=blob.bin HTTP/1.1",
        "User-Agent: lakefs-python-sdk/1.84.0",
        "Accept: application/json",
        'If-Match: "e1"',
        authorization(),
        "Content-Type: application/octet-stream",
        f"Content-Length: {len(DATA)}",
    )


# -- JSON bodies ----------------------------------------------------------------------------------


def test_json_body_keeps_explicit_null_and_utf8(client: ApiClient, server: LoopbackServer) -> None:
    metadata = StagingMetadata(
        staging=StagingLocation(physical_address="s3://bucket/ü", presigned_url=None),
        checksum="c0ffee",
        size_bytes=0,
        user_metadata={"ü": "文", "empty": ""},
    )
    lakefs_sdk.StagingApi(client).link_physical_address_without_preload_content(REPO, "main", "p", metadata)
    assert (
        only_request(server).body
        == (
            '{"staging":{"physical_address":"s3://bucket/ü","presigned_url":null},"checksum":"c0ffee","size_bytes":0,'
            '"user_metadata":{"ü":"文","empty":""},"force":false}'
        ).encode()
    ), "nullable set to None is sent as null; UTF-8, not \\u escapes"


def test_json_body_unset_nullable_is_left_out(client: ApiClient, server: LoopbackServer) -> None:
    metadata = StagingMetadata(staging=StagingLocation(physical_address="s3://b/k"), checksum="c", size_bytes=1)
    lakefs_sdk.StagingApi(client).link_physical_address_without_preload_content(REPO, "main", "p", metadata)
    assert (
        only_request(server).body
        == b'{"staging":{"physical_address":"s3://b/k"},"checksum":"c","size_bytes":1,"force":false}'
    )


def test_json_body_uses_aliases(client: ApiClient, server: LoopbackServer) -> None:
    events = StatsEventsList(events=[StatsEvent(var_class="ui", name="login", count=2)])
    lakefs_sdk.InternalApi(client).post_stats_events_without_preload_content(events)
    assert only_request(server).body == b'{"events":[{"class":"ui","name":"login","count":2}]}'


def test_json_array_body(client: ApiClient, server: LoopbackServer) -> None:
    rules = [BranchProtectionRule(pattern="main"), {"pattern": "release-*"}]
    lakefs_sdk.RepositoriesApi(client).set_branch_protection_rules_without_preload_content(REPO, rules)  # type: ignore[arg-type]
    request = only_request(server)
    assert request.header("Content-Type") == "application/json"
    assert request.body == b'[{"pattern":"main"},{"pattern":"release-*"}]'
