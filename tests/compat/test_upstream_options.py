"""The per-call options, client objects and exceptions that code written for upstream
lakefs-sdk 1.84.0 uses, with upstream's semantics (on static Prism, or a loopback server
where a misbehaving server is needed)."""

from __future__ import annotations

import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import urllib3

import lakefs_sdk
from lakefs_sdk.client import LakeFSClient

from support.compat import ACCESS_KEY_ID, SECRET_ACCESS_KEY, operation_ids, response_json
from support.loopback import LoopbackServer, Reply
from support.recording_proxy import PrismProxy

pytestmark = pytest.mark.prism

REPO = "example-repo"


@pytest.fixture
def tags(client: lakefs_sdk.ApiClient) -> lakefs_sdk.TagsApi:
    return lakefs_sdk.TagsApi(client)


def _configuration(host: str) -> lakefs_sdk.Configuration:
    configuration = lakefs_sdk.Configuration(host=host, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY)
    configuration.retry_backoff = 0.01
    return configuration


# -- async_req ----------------------------------------------------------------------------------


def test_async_req_returns_a_handle_with_get(tags: lakefs_sdk.TagsApi, prism: PrismProxy) -> None:
    mark = prism.mark()
    handle = tags.get_tag(REPO, "v1", async_req=True)
    ref = handle.get()
    info_handle = tags.get_tag_with_http_info(REPO, "v1", async_req=True)
    info = info_handle.get(30)
    sent = prism.since(mark)
    assert operation_ids(sent) == ["getTag", "getTag"]
    assert isinstance(ref, lakefs_sdk.Ref) and ref.id == response_json(sent[0])["id"]
    assert handle.ready() and handle.successful()
    assert isinstance(info, lakefs_sdk.ApiResponse) and info.status_code == 200
    assert info.data == ref


def test_async_req_get_raises_the_calls_exception(tags: lakefs_sdk.TagsApi, prism: PrismProxy) -> None:
    handle = tags.get_tag(REPO, "missing", async_req=True, _headers={"Prefer": "code=404"})
    with pytest.raises(lakefs_sdk.ApiException) as caught:
        handle.get()
    assert caught.value.status == 404
    assert handle.ready() and not handle.successful()


# -- _preload_content / _return_http_data_only ---------------------------------------------------------


def test_preload_content_false_leaves_the_body_unread(client: lakefs_sdk.ApiClient, prism: PrismProxy) -> None:
    objects = lakefs_sdk.ObjectsApi(client)
    mark = prism.mark()
    response = objects.get_object_with_http_info(REPO, "main", "data/events.csv", _preload_content=False)
    body = response.raw_data.read()
    sent = prism.since(mark)
    assert operation_ids(sent) == ["getObject"]
    assert response.status_code == 200 and response.data is None
    assert body == sent[0].response_body


def test_return_http_data_only(tags: lakefs_sdk.TagsApi, prism: PrismProxy) -> None:
    mark = prism.mark()
    data = tags.get_tag_with_http_info(REPO, "v1", _return_http_data_only=True)
    plain = tags.get_tag(REPO, "v1", _return_http_data_only=False)  # upstream forces True on the plain method
    sent = prism.since(mark)
    assert isinstance(data, lakefs_sdk.Ref) and data.id == response_json(sent[0])["id"]
    assert isinstance(plain, lakefs_sdk.Ref) and plain == data


def test_with_http_info_headers_are_case_insensitive(tags: lakefs_sdk.TagsApi, prism: PrismProxy) -> None:
    mark = prism.mark()
    response = tags.get_tag_with_http_info(REPO, "v1")
    sent = prism.since(mark)
    assert response.status_code == 200
    assert response.raw_data == sent[0].response_body
    assert response.headers is not None
    assert response.headers["content-type"] == response.headers["CONTENT-TYPE"]
    assert response.headers["Content-Type"].startswith("application/json")


# -- _request_timeout ------------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [5, 2.5, (3, 10), (1.5, 7.5)])
def test_request_timeout_number_or_pair(tags: lakefs_sdk.TagsApi, prism: PrismProxy, timeout: Any) -> None:
    mark = prism.mark()
    ref = tags.get_tag(REPO, "v1", _request_timeout=timeout)
    assert ref.id == response_json(prism.since(mark)[0])["id"]


@pytest.mark.parametrize("timeout", [0.3, (5, 0.3)])
def test_request_timeout_is_applied(timeout: Any) -> None:
    """A server slower than the read timeout fails the call well before it would answer."""
    with LoopbackServer() as server:
        server.reply(Reply(200, '{"id": "v1", "commit_id": "c"}', stall=3))
        configuration = _configuration(server.url + "/api/v1")
        configuration.max_retries = 0
        with lakefs_sdk.ApiClient(configuration) as api_client:
            started = time.monotonic()
            with pytest.raises(lakefs_sdk.ApiException):
                lakefs_sdk.TagsApi(api_client).get_tag(REPO, "v1", _request_timeout=timeout)
            assert time.monotonic() - started < 2.5
        assert [r.path for r in server.requests] == [f"/api/v1/repositories/{REPO}/tags/v1"]


# -- _headers / _request_auth / _content_type / _host_index ----------------------------------------------------


def test_headers_are_sent(tags: lakefs_sdk.TagsApi, prism: PrismProxy) -> None:
    mark = prism.mark()
    tags.list_tags(REPO, amount=5, _headers={"X-Request-Tag": "compat", "X-Other": "2"})
    sent = prism.since(mark)
    assert sent[0].request.header("X-Request-Tag") == "compat"
    assert sent[0].request.header("X-Other") == "2"
    assert sent[0].request.query == "amount=5"


def test_request_auth_replaces_the_configured_credentials(tags: lakefs_sdk.TagsApi, prism: PrismProxy) -> None:
    auth = {"in": "header", "type": "bearer", "key": "Authorization", "value": "Bearer compat-token"}
    mark = prism.mark()
    tags.get_tag(REPO, "v1", _request_auth=auth)
    assert prism.since(mark)[0].request.header("Authorization") == "Bearer compat-token"


def test_content_type_selects_the_raw_upload(client: lakefs_sdk.ApiClient, prism: PrismProxy) -> None:
    objects = lakefs_sdk.ObjectsApi(client)
    data = b"\x00\x01raw bytes\xff" * 64
    mark = prism.mark()
    raw = objects.upload_object(REPO, "dev", "raw/a.bin", content=data, _content_type="application/octet-stream")
    form = objects.upload_object(REPO, "dev", "raw/b.bin", content=data)
    sent = prism.since(mark)
    assert operation_ids(sent) == ["uploadObject", "uploadObject"]
    assert sent[0].request.header("Content-Type") == "application/octet-stream"
    assert sent[0].request.body == data
    assert (sent[1].request.header("Content-Type") or "").startswith("multipart/form-data; boundary=")
    assert b'name="content"' in sent[1].request.body and data in sent[1].request.body
    assert isinstance(raw, lakefs_sdk.ObjectStats) and raw.path == response_json(sent[0])["path"]
    assert form == raw


def test_content_type_on_a_json_operation(client: lakefs_sdk.ApiClient, prism: PrismProxy) -> None:
    branches = lakefs_sdk.BranchesApi(client)
    mark = prism.mark()
    branches.create_branch(REPO, lakefs_sdk.BranchCreation(name="dev", source="main"), _content_type="application/json")
    assert prism.since(mark)[0].request.header("Content-Type") == "application/json"


def test_host_index(tags: lakefs_sdk.TagsApi, prism: PrismProxy) -> None:
    """The spec has one server: index 0 is accepted (the configured host is used), others refused."""
    mark = prism.mark()
    tags.get_tag(REPO, "v1", _host_index=0)
    assert operation_ids(prism.since(mark)) == ["getTag"]
    with pytest.raises(lakefs_sdk.ApiValueError, match="_host_index"):
        tags.get_tag(REPO, "v1", _host_index=1)
    assert prism.since(mark)[1:] == []


@pytest.mark.parametrize("method", ["get_tag", "get_tag_with_http_info"])
def test_unknown_keyword_raises_api_type_error(tags: lakefs_sdk.TagsApi, prism: PrismProxy, method: str) -> None:
    mark = prism.mark()
    with pytest.raises(lakefs_sdk.ApiTypeError, match="unexpected keyword argument 'bogus_option'") as caught:
        getattr(tags, method)(REPO, "v1", bogus_option=True)
    assert "get_tag" in str(caught.value)
    assert isinstance(caught.value, TypeError)
    assert prism.since(mark) == []


# -- LakeFSClient and ApiClient ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("localhost:8000", "http://localhost:8000/api/v1"),
        ("localhost:8000/", "http://localhost:8000/api/v1"),
        ("http://localhost:8000", "http://localhost:8000/api/v1"),
        ("https://lakefs.example.com", "https://lakefs.example.com/api/v1"),
        ("http://127.0.0.1:8000/api/v1", "http://127.0.0.1:8000/api/v1"),
        ("https://example.com/lakefs/api/v1", "https://example.com/lakefs/api/v1"),
    ],
)
def test_lakefs_client_normalises_the_host(given: str, expected: str) -> None:
    configuration = lakefs_sdk.Configuration(host=given)
    client = LakeFSClient(configuration)
    assert configuration.host == expected
    assert client.branches_api.api_client.configuration.host == expected


def test_lakefs_client_without_configuration() -> None:
    client = LakeFSClient()
    assert isinstance(client.tags_api, lakefs_sdk.TagsApi)
    assert isinstance(client.tags_api.api_client.configuration, lakefs_sdk.Configuration)


def test_lakefs_client_shares_one_api_client_and_sends_its_headers(prism: PrismProxy) -> None:
    client = LakeFSClient(
        _configuration(prism.url), header_name="X-Lakefs-Client", header_value="compat", cookie="theme=dark"
    )
    apis = [value for name, value in vars(client).items() if name.endswith("_api") and not name.startswith("_")]
    assert len(apis) == 17
    assert len({id(api.api_client) for api in apis}) == 1
    mark = prism.mark()
    client.repositories_api.get_repository(REPO)
    request = prism.since(mark)[0].request
    assert request.header("X-Lakefs-Client") == "compat"
    assert request.header("Cookie") == "theme=dark"
    assert request.header("User-Agent") == f"lakefs-python-sdk/{lakefs_sdk.__version__}"


def test_api_client_positional_arguments(prism: PrismProxy) -> None:
    """``ApiClient(configuration, header_name, header_value, cookie, pool_threads)`` positionally, as upstream."""
    with lakefs_sdk.ApiClient(_configuration(prism.url), "X-Positional", "yes", None, 2) as api_client:
        assert api_client.pool_threads == 2
        mark = prism.mark()
        lakefs_sdk.TagsApi(api_client).get_tag(REPO, "v1")
        assert prism.since(mark)[0].request.header("X-Positional") == "yes"


def test_pool_manager_sends_raw_requests(client: lakefs_sdk.ApiClient, prism: PrismProxy) -> None:
    """``rest_client.pool_manager.request`` plus ``update_params_for_auth``: how lakefs uploads."""
    headers: Dict[str, str] = {"Accept": "application/json"}
    client.update_params_for_auth(headers, None, ["basic_auth", "jwt_token"], "/config", "GET", None)
    mark = prism.mark()
    response = client.rest_client.pool_manager.request("GET", prism.url + "/config", headers=headers)
    sent = prism.since(mark)
    assert response.status == 200 and response.data == sent[0].response_body
    assert sent[0].request.header("Authorization") == client.configuration.get_basic_auth_token()


# -- update_params_for_auth ------------------------------------------------------------------------------------------------


def _auth_result(
    configuration: lakefs_sdk.Configuration, settings: List[str], request_auth: Optional[Dict[str, str]] = None
) -> Tuple[Dict[str, str], List[Tuple[str, str]]]:
    headers: Dict[str, str] = {}
    queries: List[Tuple[str, str]] = []
    with lakefs_sdk.ApiClient(configuration) as api_client:
        api_client.update_params_for_auth(headers, queries, settings, "/repositories", "GET", None, request_auth)
    return headers, queries


def test_update_params_for_auth_basic_and_bearer() -> None:
    basic = lakefs_sdk.Configuration(host="http://127.0.0.1:9/api/v1", username="key", password="secret")
    headers, queries = _auth_result(basic, ["basic_auth", "cookie_auth", "jwt_token"])
    assert headers == {"Authorization": urllib3.util.make_headers(basic_auth="key:secret")["authorization"]}
    assert queries == []
    token = lakefs_sdk.Configuration(host="http://127.0.0.1:9/api/v1", access_token="jwt-1")
    assert _auth_result(token, ["basic_auth", "jwt_token"])[0] == {"Authorization": "Bearer jwt-1"}
    assert _auth_result(token, [])[0] == {}


def test_update_params_for_auth_request_auth_wins() -> None:
    basic = lakefs_sdk.Configuration(host="http://127.0.0.1:9/api/v1", username="key", password="secret")
    header = {"in": "header", "type": "api_key", "key": "X-Api-Key", "value": "k1"}
    assert _auth_result(basic, ["basic_auth"], header)[0] == {"X-Api-Key": "k1"}
    query = {"in": "query", "type": "api_key", "key": "token", "value": "t1"}
    assert _auth_result(basic, ["basic_auth"], query) == ({}, [("token", "t1")])


def test_update_params_for_auth_cookie() -> None:
    configuration = lakefs_sdk.Configuration(
        host="http://127.0.0.1:9/api/v1", api_key={"cookie_auth": "internal_auth_session=s1"}
    )
    assert _auth_result(configuration, ["cookie_auth"])[0] == {"Cookie": "internal_auth_session=s1"}


# -- ApiResponse and ApiException --------------------------------------------------------------------------------------------


def test_api_response_constructor() -> None:
    response = lakefs_sdk.ApiResponse(
        status_code=201, headers={"Content-Type": "application/json"}, data=None, raw_data=b"{}"
    )
    assert response.status_code == 201 and response.data is None and response.raw_data == b"{}"
    assert response.headers is not None and response.headers["content-type"] == "application/json"
    positional = lakefs_sdk.ApiResponse(200, {"X-A": "1"}, "data", b"raw")
    assert (positional.status_code, positional.data, positional.raw_data) == (200, "data", b"raw")
    empty = lakefs_sdk.ApiResponse()
    assert (empty.status_code, empty.headers, empty.data, empty.raw_data) == (None, None, None, None)


class _GetHeadersOnly:
    """A response object offering only what upstream's ApiException read: status, reason, data, getheaders()."""

    status = 409
    reason = "Conflict"
    data = b'{"message": "branch already exists"}'

    def getheaders(self) -> Dict[str, str]:
        return {"Content-Type": "application/json", "X-Request-Id": "r-1"}


def test_api_exception_from_a_response_with_getheaders_only() -> None:
    error = lakefs_sdk.ApiException(http_resp=_GetHeadersOnly())
    assert (error.status, error.reason) == (409, "Conflict")
    assert error.body == '{"message": "branch already exists"}'
    assert error.headers is not None
    assert error.headers["x-request-id"] == "r-1" and dict(error.headers)["X-Request-Id"] == "r-1"
    assert "409" in str(error) and "Conflict" in str(error)


def test_api_exception_from_parts() -> None:
    error = lakefs_sdk.ApiException(404, "Not Found")
    assert (error.status, error.reason, error.body, error.headers) == (404, "Not Found", None, None)
    keyword = lakefs_sdk.ApiException(status=400, reason="Bad Request", body='{"message": "no"}', data={"x": 1})
    assert (keyword.status, keyword.body, keyword.data) == (400, '{"message": "no"}', {"x": 1})
    bare = lakefs_sdk.ApiException()
    assert (bare.status, bare.reason, bare.body, bare.headers) == (None, None, None, None)
    assert isinstance(bare, lakefs_sdk.OpenApiException)


def test_api_exception_raised_for_an_error_status(tags: lakefs_sdk.TagsApi, prism: PrismProxy) -> None:
    mark = prism.mark()
    with pytest.raises(lakefs_sdk.ApiException) as caught:
        tags.get_tag(REPO, "missing", _headers={"Prefer": "code=404"})
    sent = prism.since(mark)
    error = caught.value
    assert error.status == 404 and error.reason == "Not Found"
    assert error.body == sent[0].response_body.decode()
    assert error.headers is not None and error.headers["content-type"].startswith("application/json")


@pytest.fixture
def default_api_client() -> Iterator[None]:
    """Restore ``ApiClient``'s default after a test that sets it."""
    yield
    lakefs_sdk.ApiClient.set_default(None)


def test_api_classes_use_the_default_api_client(prism: PrismProxy, default_api_client: None) -> None:
    with lakefs_sdk.ApiClient(_configuration(prism.url)) as api_client:
        lakefs_sdk.ApiClient.set_default(api_client)
        assert lakefs_sdk.ApiClient.get_default() is api_client
        tags = lakefs_sdk.TagsApi()
        assert tags.api_client is api_client
        mark = prism.mark()
        tags.get_tag(REPO, "v1")
        assert operation_ids(prism.since(mark)) == ["getTag"]
