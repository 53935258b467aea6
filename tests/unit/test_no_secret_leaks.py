"""No credential ever appears in a log record, on stdout/stderr, or in repr()/str() of a
configuration, response, model or exception — with debug logging on, through success and
failure of every authentication flow."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any, Iterator, List

import pytest

import lakefs_sdk
from lakefs_sdk import ApiClient, AuthApi, BranchesApi, Configuration, ExperimentalApi, ObjectsApi
from lakefs_sdk.models import LoginInformation, StsAuthRequest

from support.loopback import LoopbackServer, Reply

ACCESS_KEY = "AKIALEAKTEST0000"
SECRET_KEY = "s3cr3t-Pa55w0rd-do-not-leak"
BEARER = "eyJhbGciOiJIUzI1NiJ9.bearer-do-not-leak.sig"
COOKIE = "cookie-session-do-not-leak"
LOGIN_TOKEN = "eyJhbGciOiJIUzI1NiJ9.login-token-do-not-leak.sig"
SET_COOKIE = "internal_auth_session=set-cookie-do-not-leak; Path=/; HttpOnly"
NEW_SECRET = "created-secret-key-do-not-leak"
STS_CODE = "oidc-code-do-not-leak"
SIGNATURE = "f00dfacecafebeefsignaturedonotleak"
CREDENTIAL = "AKIASTORAGECRED%2F20250101%2Fus-east-1"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEDoNotLeak"

SECRETS = {
    "secret access key": SECRET_KEY,
    "basic auth header": base64.b64encode(f"{ACCESS_KEY}:{SECRET_KEY}".encode()).decode(),
    "bearer token": BEARER,
    "session cookie": COOKIE,
    "login token": LOGIN_TOKEN,
    "set-cookie": "set-cookie-do-not-leak",
    "created secret key": NEW_SECRET,
    "sts code": STS_CODE,
    "presign signature": SIGNATURE,
    "presign credential": CREDENTIAL,
    "presign session token": SESSION_TOKEN,
}

PRESIGNED = (
    "https://bucket.s3.amazonaws.com/data/obj?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    f"&X-Amz-Credential={CREDENTIAL}&X-Amz-Security-Token={SESSION_TOKEN}&X-Amz-Signature={SIGNATURE}"
)


def reply_for(request: Any) -> Reply:
    path = request.path
    if path.endswith("/auth/login"):
        if b"wrong" in request.body:
            return Reply(401, '{"message": "invalid credentials"}')
        body = {"token": LOGIN_TOKEN, "token_expiration": 1}
        return Reply(200, json.dumps(body), {"Content-Type": "application/json", "Set-Cookie": SET_COOKIE})
    if path.endswith("/sts/login"):
        return Reply(200, json.dumps({"token": LOGIN_TOKEN}))
    if "/credentials" in path:
        body = {"access_key_id": "AKIANEW", "secret_access_key": NEW_SECRET, "creation_date": 1}
        return Reply(201, json.dumps(body))
    if path.endswith("/objects/stat"):
        # Go's JSON encoder writes & as \u0026.
        stats = {"path": "obj", "path_type": "object", "physical_address": PRESIGNED, "checksum": "c", "mtime": 1}
        return Reply(200, json.dumps(stats).replace("&", "\\u0026"))
    if path.endswith("/objects") and request.method == "GET":
        return Reply(302, b"", {"Location": request.header("X-Test-Storage") + "/data/obj?" + PRESIGNED.split("?", 1)[1]})
    if "fail" in path:
        return Reply(401, '{"message": "token expired or invalid"}', {"Content-Type": "application/json", "X-Request-Id": "r-1"})
    return Reply(200, '{"id": "main", "commit_id": "c1"}')


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(reply_for) as srv:
        yield srv


def configurations(url: str) -> List[Configuration]:
    host = url + "/api/v1"
    configs = [
        Configuration(host=host, username=ACCESS_KEY, password=SECRET_KEY),
        Configuration(host=host, access_token=BEARER),
        Configuration(host=host, api_key={"cookie_auth": COOKIE}),
        Configuration(host=host, access_token_provider=lambda refresh: BEARER),
    ]
    for c in configs:
        c.debug = True
        c.max_retries = 0
    return configs


def run_flows(url: str, storage_url: str) -> List[Any]:
    """Exercise every flow; return what a user might print (results, responses, errors)."""
    seen: List[Any] = []

    def attempt(fn: Any) -> None:
        try:
            seen.append(fn())
        except lakefs_sdk.ApiException as error:
            seen.extend([error, error.headers, error.body])

    for config in configurations(url):
        seen.append(config)
        with ApiClient(config) as client:
            seen.append(client)
            for call in flows(client, storage_url):
                attempt(call)
    return seen


def flows(client: ApiClient, storage_url: str) -> List[Any]:
    branches, auth, objects = BranchesApi(client), AuthApi(client), ObjectsApi(client)
    login = LoginInformation(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)
    bad_login = LoginInformation(access_key_id=ACCESS_KEY, secret_access_key="wrong" + SECRET_KEY)
    sts = StsAuthRequest(code=STS_CODE, state="s", redirect_uri="http://x")
    return [
        lambda: branches.get_branch_with_http_info("repo", "main"),
        lambda: branches.get_branch("repo", "fail"),
        lambda: auth.login_with_http_info(login),
        lambda: auth.login(bad_login),
        lambda: auth.create_credentials("jane"),
        lambda: ExperimentalApi(client).sts_login(sts),
        lambda: objects.stat_object("repo", "main", "obj", presign=True),
        lambda: objects.get_object("repo", "main", "obj", presign=True, _headers={"X-Test-Storage": storage_url}),
    ]


def test_no_secret_in_logs_output_or_reprs(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)  # root: captures lakefs_sdk and urllib3 records alike
    with LoopbackServer(lambda request: Reply(200, b"bytes", {"Content-Type": "application/octet-stream"}), host="127.0.0.2") as storage:
        seen = run_flows(server.url, storage.url)
        assert storage.requests, "the presigned redirect was followed"
    out, err = capfd.readouterr()

    channels = {
        "log records": "\n".join(r.getMessage() for r in caplog.records),
        "stdout": out,
        "stderr": err,
        "repr()": "\n".join(repr(x) for x in seen),
        "str()": "\n".join(str(x) for x in seen),
        "to_str()": "\n".join(x.to_str() for x in seen if hasattr(x, "to_str")),
    }
    assert len(caplog.records) > 50, "debug logging produced records to inspect"
    assert "GET" in channels["log records"]
    leaks = [
        f"{secret_name} in {channel}"
        for channel, text in channels.items()
        for secret_name, secret in SECRETS.items()
        if secret in text
    ]
    assert not leaks, "secrets leaked: " + ", ".join(leaks)


def test_secrets_still_reach_the_caller_where_they_belong(server: LoopbackServer) -> None:
    """Masking is for display only: the data itself is intact."""
    with ApiClient(Configuration(host=server.url + "/api/v1", username=ACCESS_KEY, password=SECRET_KEY)) as client:
        token = AuthApi(client).login(LoginInformation(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY))
        created = AuthApi(client).create_credentials("jane")
        stats = ObjectsApi(client).stat_object("repo", "main", "obj", presign=True)
    assert token.token == LOGIN_TOKEN and token.to_dict()["token"] == LOGIN_TOKEN
    assert created.secret_access_key == NEW_SECRET
    assert stats.physical_address == PRESIGNED
    login_request = server.requests[0]
    assert json.loads(login_request.body)["secret_access_key"] == SECRET_KEY
