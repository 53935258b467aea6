"""The credentials each auth scheme puts on the wire, checked on a loopback server."""

from __future__ import annotations

import base64
import threading
from typing import Iterator, List

import pytest

import lakefs_sdk
from lakefs_sdk import ApiClient, BranchesApi, Configuration, HealthCheckApi

from support.loopback import LoopbackServer, Reply

REF = Reply(200, '{"id": "main", "commit_id": "c1"}')


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda request: REF) as srv:
        yield srv


def _get_branch(config: Configuration, **options: object) -> None:
    with ApiClient(config) as client:
        BranchesApi(client).get_branch("repo", "main", **options)  # type: ignore[arg-type]


def test_basic_auth(server: LoopbackServer) -> None:
    _get_branch(Configuration(host=server.url + "/api/v1", username="AKIA", password="s3cr3t:x"))
    expected = "Basic " + base64.b64encode(b"AKIA:s3cr3t:x").decode()
    assert server.requests[0].header("Authorization") == expected


def test_bearer_token(server: LoopbackServer) -> None:
    _get_branch(Configuration(host=server.url + "/api/v1", access_token="eyJ.token"))
    assert server.requests[0].header("Authorization") == "Bearer eyJ.token"


def test_bearer_wins_over_basic_like_upstream(server: LoopbackServer) -> None:
    # Upstream applies the schemes in spec order (basic ... jwt_token): the later one wins.
    _get_branch(Configuration(host=server.url + "/api/v1", username="a", password="b", access_token="jwt"))
    assert server.requests[0].header("Authorization") == "Bearer jwt"


@pytest.mark.parametrize(
    ("scheme", "cookie_name"),
    [("cookie_auth", "internal_auth_session"), ("oidc_auth", "oidc_auth_session"), ("saml_auth", "saml_auth_session")],
)
def test_session_cookies(server: LoopbackServer, scheme: str, cookie_name: str) -> None:
    _get_branch(Configuration(host=server.url + "/api/v1", api_key={scheme: "sess-1"}))
    assert server.requests[0].header("Cookie") == f"{cookie_name}=sess-1"
    assert server.requests[0].header("Authorization") is None


def test_cookie_value_already_a_pair_is_not_doubled(server: LoopbackServer) -> None:
    _get_branch(Configuration(host=server.url + "/api/v1", api_key={"cookie_auth": "internal_auth_session=v"}))
    assert server.requests[0].header("Cookie") == "internal_auth_session=v"


def test_client_cookie_and_scheme_cookie_combine(server: LoopbackServer) -> None:
    config = Configuration(host=server.url + "/api/v1", api_key={"cookie_auth": "s"})
    with ApiClient(config, cookie="theme=dark") as client:
        BranchesApi(client).get_branch("repo", "main")
    assert server.requests[0].header("Cookie") == "theme=dark; internal_auth_session=s"


def test_operation_without_security_sends_no_credentials(server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(204, b"")
    config = Configuration(host=server.url + "/api/v1", username="a", password="b", api_key={"cookie_auth": "s"})
    with ApiClient(config) as client:
        HealthCheckApi(client).health_check()
    assert server.requests[0].header("Authorization") is None
    assert server.requests[0].header("Cookie") is None


def test_request_auth_overrides_configuration(server: LoopbackServer) -> None:
    config = Configuration(host=server.url + "/api/v1", username="a", password="b")
    override = {"in": "header", "key": "Authorization", "value": "Bearer one-off", "type": "bearer"}
    _get_branch(config, _request_auth=override)
    assert server.requests[0].header("Authorization") == "Bearer one-off"


def test_custom_headers_and_user_agent(server: LoopbackServer) -> None:
    config = Configuration(host=server.url + "/api/v1", username="a", password="b")
    with ApiClient(config, header_name="X-Trace", header_value="t-1") as client:
        BranchesApi(client).get_branch("repo", "main", _headers={"X-Extra": "1"})
    request = server.requests[0]
    assert request.header("User-Agent") == "lakefs-python-sdk/1.84.0"
    assert request.header("X-Trace") == "t-1"
    assert request.header("X-Extra") == "1"
    assert request.header("Accept") == "application/json"


def test_credential_change_is_picked_up(server: LoopbackServer) -> None:
    config = Configuration(host=server.url + "/api/v1", username="a", password="b")
    with ApiClient(config) as client:
        api = BranchesApi(client)
        api.get_branch("repo", "main")
        config.password = "rotated"
        api.get_branch("repo", "main")
    first, second = (r.header("Authorization") for r in server.requests)
    assert first != second
    assert second == "Basic " + base64.b64encode(b"a:rotated").decode()


def test_token_provider_refreshes_once_after_401(server: LoopbackServer) -> None:
    tokens = iter(["fresh-1", "fresh-2"])
    asked: List[bool] = []
    current = {"token": "expired"}

    def provider(refresh: bool) -> str:
        asked.append(refresh)
        if refresh:
            current["token"] = next(tokens)
        return current["token"]

    def handler(request: object) -> Reply:
        ok = server.requests[-1].header("Authorization") == "Bearer fresh-1"
        return REF if ok else Reply(401, '{"message": "token expired"}')

    server.handler = handler
    _get_branch(Configuration(host=server.url + "/api/v1", access_token_provider=provider))
    assert [r.header("Authorization") for r in server.requests] == ["Bearer expired", "Bearer fresh-1"]
    assert asked.count(True) == 1


def test_token_refresh_is_shared_by_threads(server: LoopbackServer) -> None:
    refreshes = []
    lock = threading.Lock()
    current = {"token": "old"}

    def provider(refresh: bool) -> str:
        if refresh:
            with lock:
                refreshes.append(1)
                current["token"] = f"new-{len(refreshes)}"
        return current["token"]

    server.handler = lambda request: REF if request.header("Authorization") != "Bearer old" else Reply(401, "{}")
    config = Configuration(host=server.url + "/api/v1", access_token_provider=provider)
    barrier = threading.Barrier(8)
    errors: List[BaseException] = []

    with ApiClient(config) as client:
        api = BranchesApi(client)

        def work() -> None:
            barrier.wait()
            try:
                api.get_branch("repo", "main")
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    assert not errors
    assert len(refreshes) == 1, "threads that saw the same rejected token share one refresh"


def test_token_provider_cannot_inject_headers(server: LoopbackServer) -> None:
    config = Configuration(host=server.url + "/api/v1", access_token_provider=lambda refresh: "t\r\nX-Evil: 1")
    with pytest.raises(lakefs_sdk.ApiValueError, match="CR, LF or NUL"):
        _get_branch(config)
    assert server.requests == []


def test_update_params_for_auth_for_callers_sending_themselves() -> None:
    config = Configuration(username="a", password="b", api_key={"cookie_auth": "s"})
    with ApiClient(config) as client:
        headers: dict = {}
        client.update_params_for_auth(headers, None, ["basic_auth", "cookie_auth"], "/x", "POST", None)
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"a:b").decode()
    assert headers["Cookie"] == "internal_auth_session=s"
