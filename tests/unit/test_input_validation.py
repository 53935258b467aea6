"""Bad input fails with a clear error before any byte is sent; good input is encoded so
that the request means exactly what the caller asked."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

import lakefs_sdk
from lakefs_sdk import ApiClient, BranchesApi, Configuration, ObjectsApi, RefsApi
from lakefs_sdk.models import BranchCreation

from support.loopback import LoopbackServer, Reply

OK = Reply(200, "{}")


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda request: OK) as srv:
        yield srv


@pytest.fixture
def client(server: LoopbackServer) -> Iterator[ApiClient]:
    with ApiClient(Configuration(host=server.url + "/api/v1", username="a", password="b")) as api_client:
        yield api_client


Call = Callable[[ApiClient], Any]

BAD_INPUTS: list[tuple[str, Call, type, str]] = [
    # wrong types
    ("int for a str path param", lambda c: BranchesApi(c).get_branch("repo", 7), lakefs_sdk.ApiTypeError, "'branch' must be str"),
    ("bytes for a str", lambda c: BranchesApi(c).get_branch(b"repo", "main"), lakefs_sdk.ApiTypeError, "must be str"),
    ("str for a bool", lambda c: ObjectsApi(c).stat_object("r", "main", "p", presign="yes"), lakefs_sdk.ApiTypeError, "'presign' must be bool"),
    ("str for an int", lambda c: BranchesApi(c).list_branches("r", amount="10"), lakefs_sdk.ApiTypeError, "'amount' must be int"),
    ("bool for an int", lambda c: BranchesApi(c).list_branches("r", amount=True), lakefs_sdk.ApiTypeError, "'amount' must be int"),
    ("list of int for list of str", lambda c: RefsApi(c).log_commits("r", "main", objects=[1]), lakefs_sdk.ApiTypeError, "list of str"),
    ("bad model dict", lambda c: BranchesApi(c).create_branch("r", {"name": "x"}), lakefs_sdk.ApiValueError, "not a valid BranchCreation"),
    ("wrong model", lambda c: BranchesApi(c).create_branch("r", lakefs_sdk.models.TagCreation(id="t", ref="main")), lakefs_sdk.ApiValueError, "BranchCreation"),
    ("number for upload content", lambda c: ObjectsApi(c).upload_object("r", "main", "p", content=42), lakefs_sdk.ApiTypeError, "'content'"),
    # values outside the spec's constraints
    ("amount above maximum", lambda c: BranchesApi(c).list_branches("r", amount=1001), lakefs_sdk.ApiValueError, "between -1 and 1000"),
    ("amount below minimum", lambda c: BranchesApi(c).list_branches("r", amount=-2), lakefs_sdk.ApiValueError, "between -1 and 1000"),
    ("enum value", lambda c: RefsApi(c).diff_refs("r", "a", "b", type="one_dot"), lakefs_sdk.ApiValueError, "one of ('two_dot', 'three_dot')"),
    ("Range pattern", lambda c: ObjectsApi(c).get_object("r", "main", "p", range="0-10"), lakefs_sdk.ApiValueError, "must match"),
    ("missing required", lambda c: BranchesApi(c).get_branch("repo", None), lakefs_sdk.ApiValueError, "missing required argument 'branch'"),
    # path segments that would reach another route
    ("empty segment", lambda c: BranchesApi(c).get_branch("", "main"), lakefs_sdk.ApiValueError, "dot path segment"),
    ("dot segment", lambda c: BranchesApi(c).get_branch("repo", "."), lakefs_sdk.ApiValueError, "dot path segment"),
    ("dot-dot segment", lambda c: BranchesApi(c).get_branch("repo", ".."), lakefs_sdk.ApiValueError, "dot path segment"),
    ("encoded dot-dot", lambda c: BranchesApi(c).get_branch("repo", "%2e%2E"), lakefs_sdk.ApiValueError, "dot path segment"),
    ("encoded dot", lambda c: BranchesApi(c).get_branch("%2e", "main"), lakefs_sdk.ApiValueError, "dot path segment"),
    # header injection
    ("LF in If-Match", lambda c: ObjectsApi(c).upload_object("r", "main", "p", if_match="e\nX-A: 1", content=b""), lakefs_sdk.ApiValueError, "CR, LF or NUL"),
    ("CR in If-None-Match", lambda c: ObjectsApi(c).upload_object("r", "main", "p", if_none_match="*\r", content=b""), lakefs_sdk.ApiValueError, "CR, LF or NUL"),
    ("NUL in user metadata", lambda c: ObjectsApi(c).upload_object("r", "main", "p", content=b"", _headers={"x-lakefs-meta-a": "v\x00"}), lakefs_sdk.ApiValueError, "CR, LF or NUL"),
    ("CRLF in custom header", lambda c: BranchesApi(c).get_branch("r", "main", _headers={"X-Trace": "1\r\nHost: evil"}), lakefs_sdk.ApiValueError, "CR, LF or NUL"),
    ("space in header name", lambda c: BranchesApi(c).get_branch("r", "main", _headers={"X Trace": "1"}), lakefs_sdk.ApiValueError, "invalid header name"),
    ("colon in header name", lambda c: BranchesApi(c).get_branch("r", "main", _headers={"X:Trace": "1"}), lakefs_sdk.ApiValueError, "invalid header name"),
    # call options
    ("unknown keyword", lambda c: BranchesApi(c).get_branch("r", "main", _timeout=3), lakefs_sdk.ApiTypeError, "unexpected keyword argument '_timeout'"),
    ("negative timeout", lambda c: BranchesApi(c).get_branch("r", "main", _request_timeout=-1), lakefs_sdk.ApiValueError, "_request_timeout"),
    ("three-part timeout", lambda c: BranchesApi(c).get_branch("r", "main", _request_timeout=(1, 2, 3)), lakefs_sdk.ApiValueError, "_request_timeout"),
    ("string timeout", lambda c: BranchesApi(c).get_branch("r", "main", _request_timeout="5"), lakefs_sdk.ApiValueError, "_request_timeout"),
    ("host index", lambda c: BranchesApi(c).get_branch("r", "main", _host_index=1), lakefs_sdk.ApiValueError, "_host_index"),
    ("headers not a mapping", lambda c: BranchesApi(c).get_branch("r", "main", _headers=[("a", "b")]), lakefs_sdk.ApiTypeError, "_headers"),
    ("progress not callable", lambda c: ObjectsApi(c).upload_object("r", "main", "p", content=b"", _progress=3), lakefs_sdk.ApiTypeError, "_progress"),
]


@pytest.mark.parametrize(("case", "call", "error", "message"), BAD_INPUTS, ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_is_refused_before_sending(
    client: ApiClient, server: LoopbackServer, case: str, call: Call, error: type, message: str
) -> None:
    with pytest.raises(error) as raised:
        call(client)
    assert message in str(raised.value), f"{case}: unclear message {raised.value}"
    assert server.connections == 0 and server.requests == [], f"{case}: a request was sent"


def test_argument_errors_are_also_builtin_errors(client: ApiClient) -> None:
    """Code that catches TypeError/ValueError (as pydantic's errors were) still works."""
    with pytest.raises(TypeError):
        BranchesApi(client).get_branch("repo", 7)
    with pytest.raises(ValueError):
        BranchesApi(client).list_branches("r", amount=5000)


# -- what good input becomes on the wire ------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "encoded"),
    [("main~2", "main~2"), ("main^1", "main%5E1"), ("abc123@", "abc123%40"), ("feat/x", "feat%2Fx"), ("a b", "a%20b"),
     ("50%", "50%25"), ("q?x", "q%3Fx"), ("h#1", "h%231"), ("ü", "%C3%BC"), ("...", "..."), ("a.b", "a.b")],
)
def test_path_parameters_are_encoded_as_one_segment(client: ApiClient, server: LoopbackServer, ref: str, encoded: str) -> None:
    server.handler = lambda request: Reply(200, '{"id": "x", "commit_id": "c", "message": "m", "parents": [], "committer": "u", "creation_date": 1, "meta_range_id": "r"}')
    lakefs_sdk.CommitsApi(client).get_commit("repo", ref)
    assert server.requests[0].target == f"/api/v1/repositories/repo/commits/{encoded}"


@pytest.mark.parametrize(
    ("path", "encoded"),
    [("a b/c+d&e#f%g=h?i/ü", "a%20b/c%2Bd%26e%23f%25g%3Dh%3Fi/%C3%BC"), ("/leading//double", "/leading//double"),
     ("plain/file.csv", "plain/file.csv"), ("tilde~dash-_.", "tilde~dash-_.")],
)
def test_object_paths_in_the_query(client: ApiClient, server: LoopbackServer, path: str, encoded: str) -> None:
    server.handler = lambda request: Reply(200, '{"path": "p", "path_type": "object", "physical_address": "s", "checksum": "c", "mtime": 1}')
    ObjectsApi(client).stat_object("repo", "main", path, presign=False, user_metadata=True)
    assert server.requests[0].target == f"/api/v1/repositories/repo/refs/main/objects/stat?path={encoded}&user_metadata=true&presign=false"


def test_repeated_query_parameters_and_datetimes(client: ApiClient, server: LoopbackServer) -> None:
    import datetime

    server.handler = lambda request: Reply(200, '{"pagination": {"has_more": false, "next_offset": "", "results": 0, "max_per_page": 100}, "results": []}')
    since = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    RefsApi(client).log_commits("repo", "main", objects=["a", "b c"], prefixes=["p/"], since=since, limit=True, amount=10)
    query = server.requests[0].query
    assert "objects=a&objects=b%20c" in query and "prefixes=p/" in query
    assert "since=2025-01-02T03%3A04%3A05%2B00%3A00" in query
    assert "limit=true" in query and "amount=10" in query


def test_model_bodies_use_json_names_and_drop_unset_fields(client: ApiClient, server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(201, "main-branch-commit", {"Content-Type": "text/html"})
    result = BranchesApi(client).create_branch("repo", BranchCreation(name="b", source="main"))
    assert result == "main-branch-commit"
    request = server.requests[0]
    assert request.header("Content-Type") == "application/json"
    assert request.body == b'{"name":"b","source":"main","force":false,"hidden":false}'


# -- one line, led by the field and the reason ------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda c: lakefs_sdk.CommitsApi(c).commit("r", "main", {"message": 5}),
         "commit_creation.message: Input should be a valid string "
         "(commit() argument 'commit_creation' is not a valid CommitCreation)"),
        (lambda c: BranchesApi(c).create_branch("r", {"name": "x"}),
         "branch_creation.source: Field required (create_branch() argument 'branch_creation' is not a valid BranchCreation)"),
        (lambda c: lakefs_sdk.CommitsApi(c).commit("r", "main", {"message": 5, "metadata": {"k": 1}}),
         "commit_creation.message: Input should be a valid string; and 1 more error "
         "(commit() argument 'commit_creation' is not a valid CommitCreation)"),
        (lambda c: BranchesApi(c).create_branch("r", lakefs_sdk.models.TagCreation(id="t", ref="main")),
         "branch_creation: Input should be a valid dictionary or instance of BranchCreation "
         "(create_branch() argument 'branch_creation' is not a valid BranchCreation)"),
    ],
    ids=["wrong-type", "missing", "two-errors", "wrong-model"],
)
def test_a_refused_body_is_one_line_led_by_the_field(
    client: ApiClient, server: LoopbackServer, call: Call, text: str
) -> None:
    with pytest.raises(lakefs_sdk.ApiValueError) as raised:
        call(client)
    assert str(raised.value) == text
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert server.requests == []


def test_a_model_built_directly_fails_with_pydantics_error(client: ApiClient, server: LoopbackServer) -> None:
    """Building a model validates it: pydantic's ``ValidationError``, as upstream. Both it and
    ``ApiValueError`` are ``ValueError``s, which is how to catch either."""
    import pydantic

    with pytest.raises(pydantic.ValidationError) as raised:
        lakefs_sdk.CommitCreation(message=5)  # type: ignore[arg-type]
    assert not isinstance(raised.value, lakefs_sdk.ApiValueError)
    assert raised.value.errors()[0]["loc"] == ("message",)
    for build in (lambda: lakefs_sdk.CommitCreation(message=5),  # type: ignore[arg-type]
                  lambda: lakefs_sdk.CommitsApi(client).commit("r", "main", {"message": 5})):
        with pytest.raises(ValueError):
            build()
    assert server.requests == []


@pytest.mark.parametrize("text", ["id,value", "hello", "data.csv"])
def test_a_one_line_str_that_is_no_file_is_data_passed_as_a_name(
    client: ApiClient, server: LoopbackServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no such file here
    with pytest.raises(lakefs_sdk.ApiValueError) as raised:
        ObjectsApi(client).upload_object("r", "main", "p", content=text)
    message = str(raised.value)
    assert message == (
        f"upload content {text!r} is a str, which is read as a file name, and no such file exists; "
        "pass bytes for data (e.g. text.encode()), or the path of an existing file"
    )
    assert isinstance(raised.value, FileNotFoundError), "code catching the missing file still does"
    assert isinstance(raised.value.__cause__, FileNotFoundError)
    assert server.requests == []


def test_a_missing_path_object_keeps_its_own_error(client: ApiClient, server: LoopbackServer, tmp_path: Any) -> None:
    with pytest.raises(FileNotFoundError) as raised:
        ObjectsApi(client).upload_object("r", "main", "p", content=tmp_path / "missing.csv")
    assert not isinstance(raised.value, lakefs_sdk.ApiValueError)
    assert server.requests == []
