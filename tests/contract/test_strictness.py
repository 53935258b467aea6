"""The contract suite is strict: Prism runs with ``--errors`` in both modes, a request that
violates the spec is answered with a 4xx and an ``sl-violations`` header, and the
fixtures (``prism`` / ``prism_any``) turn any such exchange into a test failure.

The invalid requests are sent with urllib3 directly (the SDK refuses them before
sending), through the same recording proxy the SDK tests use.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from types import ModuleType
from typing import Dict

import pytest
import urllib3

import lakefs_sdk
from lakefs_sdk import ApiClient

from support.contract import Wire, basic_auth_configuration
from support.recording_proxy import PrismProxy

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
STAT = "/repositories/example-repo/refs/main/objects/stat"


def auth_headers() -> Dict[str, str]:
    configuration = basic_auth_configuration("http://unused")
    token = base64.b64encode(f"{configuration.username}:{configuration.password}".encode()).decode()
    return {"Authorization": "Basic " + token, "Accept": "application/json"}


def root_conftest(config: pytest.Config) -> ModuleType:
    """tests/conftest.py as loaded by pytest (a conftest is not importable by name)."""
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, ModuleType) and Path(getattr(plugin, "__file__", "") or "") == ROOT_CONFTEST:
            return plugin
    raise AssertionError("tests/conftest.py is not loaded")


@pytest.fixture(params=["_static_proxy", "_dynamic_proxy"], ids=["static", "dynamic"])
def raw_proxy(request: pytest.FixtureRequest) -> PrismProxy:
    """A proxy without the violation check, in each Prism mode."""
    proxy: PrismProxy = request.getfixturevalue(request.param)
    return proxy


def test_missing_required_query_parameter_is_rejected(raw_proxy: PrismProxy) -> None:
    mark = raw_proxy.mark()
    response = urllib3.request("GET", raw_proxy.url + STAT, headers=auth_headers(), retries=False)
    [sent] = raw_proxy.since(mark)
    assert sent.operation_id == "statObject"
    assert 400 <= sent.status < 500 and response.status == sent.status, "--errors: Prism refuses instead of answering"
    violations = json.loads(sent.violations or "[]")
    assert any(v["location"] == ["request", "query"] and "path" in v["message"] for v in violations), violations


def test_wrong_query_parameter_type_is_rejected(raw_proxy: PrismProxy) -> None:
    mark = raw_proxy.mark()
    urllib3.request("GET", raw_proxy.url + "/repositories?amount=lots", headers=auth_headers(), retries=False)
    [sent] = raw_proxy.since(mark)
    assert sent.operation_id == "listRepositories" and 400 <= sent.status < 500
    assert "amount" in (sent.violations or "")


def test_invalid_json_body_is_rejected(raw_proxy: PrismProxy) -> None:
    mark = raw_proxy.mark()
    body = json.dumps({"name": "feature-x"}).encode()  # "source" is required
    headers = {**auth_headers(), "Content-Type": "application/json"}
    urllib3.request(
        "POST", raw_proxy.url + "/repositories/example-repo/branches", body=body, headers=headers, retries=False
    )
    [sent] = raw_proxy.since(mark)
    assert sent.operation_id == "createBranch" and 400 <= sent.status < 500
    assert "source" in (sent.violations or "")


def test_fixture_fails_a_test_that_caused_a_violation(
    request: pytest.FixtureRequest, _static_proxy: PrismProxy
) -> None:
    """The check behind ``prism`` / ``prism_any`` (tests/conftest.py) raises on such an exchange."""
    checked = root_conftest(request.config)._checked(_static_proxy)
    next(checked)
    urllib3.request("GET", _static_proxy.url + STAT, headers=auth_headers(), retries=False)
    with pytest.raises(AssertionError, match="Prism reported spec violations") as raised:
        next(checked)
    assert "objects/stat" in str(raised.value)


def test_fixture_passes_a_clean_exchange(request: pytest.FixtureRequest, _static_proxy: PrismProxy) -> None:
    checked = root_conftest(request.config)._checked(_static_proxy)
    next(checked)
    urllib3.request("GET", _static_proxy.url + STAT + "?path=data%2Fx.csv", headers=auth_headers(), retries=False)
    with pytest.raises(StopIteration):
        next(checked)


def test_response_violation_is_reported(unchecked_client: ApiClient, unchecked_wire: Wire) -> None:
    """Prism also validates its own responses. Static Prism cannot build a valid 206 for
    getObject: the spec's pattern for the Content-Range header (the Range request syntax,
    ``^bytes=...``) rejects its "string" placeholder, so Prism answers 500 and says why."""
    unchecked_client.configuration.max_retries = 0  # a 500 on a GET is otherwise retried
    with pytest.raises(lakefs_sdk.ServiceException):
        lakefs_sdk.ObjectsApi(unchecked_client).get_object(
            "example-repo", "main", "data/x.bin", range="bytes=0-9", _headers={"Prefer": "code=206"}
        )
    sent = unchecked_wire.only("getObject", 500)
    violations = json.loads(sent.violations or "[]")
    assert [v["location"] for v in violations] == [["response", "header", "content-range"]]


def test_proxy_refuses_requests_outside_the_base_path(unchecked_wire: Wire) -> None:
    """Prism ignores the spec's base path; the proxy enforces /api/v1 so a client that forgets it fails."""
    host = unchecked_wire.proxy.url.removesuffix("/api/v1")
    with ApiClient(basic_auth_configuration(host)) as client, pytest.raises(lakefs_sdk.NotFoundException):
        lakefs_sdk.ConfigApi(client).get_config()
    assert unchecked_wire.exchanges() == [], "nothing reached Prism"
