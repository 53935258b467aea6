"""Configuration: defaults, upstream-compatible attributes, hosts, copies, and redaction."""

from __future__ import annotations

import copy

import pytest
import urllib3

import lakefs_sdk
from lakefs_sdk.configuration import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_HOST,
    DEFAULT_MAX_RETRIES,
    DEFAULT_READ_TIMEOUT,
    Configuration,
    normalize_endpoint,
)


def test_defaults_never_hang_and_retry() -> None:
    config = Configuration()
    assert config.host == DEFAULT_HOST == "http://localhost:8000/api/v1"
    assert config.max_retries == DEFAULT_MAX_RETRIES == 2
    assert (config.connect_timeout, config.read_timeout) == (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT)
    assert config.verify_ssl is True
    assert config.client_side_validation is True


def test_upstream_positional_constructor() -> None:
    config = Configuration("http://lakefs:8000/api/v1", {"cookie_auth": "c"}, None, "key", "secret", "jwt")
    assert (config.host, config.username, config.password, config.access_token) == (
        "http://lakefs:8000/api/v1",
        "key",
        "secret",
        "jwt",
    )
    assert config.api_key == {"cookie_auth": "c"}


def test_host_setter_and_settings() -> None:
    config = Configuration(host="http://a/api/v1")
    config.host = "http://b:9000/api/v1"
    assert config.host == "http://b:9000/api/v1"
    assert config.get_host_settings()[0]["url"] == "/api/v1"
    assert config.get_host_from_settings(0) == "/api/v1"
    with pytest.raises(ValueError, match="Invalid index 3"):
        config.get_host_from_settings(3)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("localhost:8000", "http://localhost:8000/api/v1"),
        ("http://localhost:8000", "http://localhost:8000/api/v1"),
        ("http://localhost:8000/", "http://localhost:8000/api/v1"),
        ("https://lakefs.example.com/api/v1", "https://lakefs.example.com/api/v1"),
        ("https://lakefs.example.com/api/v1/", "https://lakefs.example.com/api/v1"),
        ("  lakefs.internal  ", "http://lakefs.internal/api/v1"),
    ],
)
def test_normalize_endpoint(given: str, expected: str) -> None:
    assert normalize_endpoint(given) == expected


BAD_HOSTS = [
    ("localhost:80000", "port out of range"),
    ("http://[::1:8000", "invalid ipv6 url"),
    ("http://lake fs:8000", "invalid character"),
    ("ftp://lakefs:8000", "must start with http:// or https://"),
    ("http://:8000", "names no server"),
]


@pytest.mark.parametrize(("host", "complaint"), BAD_HOSTS)
def test_a_bad_host_fails_the_first_request_not_the_client(host: str, complaint: str) -> None:
    # lakefs-spec builds clients for hosts it never calls (to compare cache keys): building
    # must not parse the host. The first request refuses it before any connection is tried.
    client = lakefs_sdk.LakeFSClient(Configuration(host=host, max_retries=0, connect_timeout=0.01))
    with client:
        with pytest.raises(lakefs_sdk.ApiValueError, match=complaint) as raised:
            client.branches_api.get_branch("repo", "main")
    assert "Configuration.host" in str(raised.value)
    assert host.strip().split("://")[-1].split(":")[0] in str(raised.value)
    assert not isinstance(raised.value, lakefs_sdk.ApiException)


def test_a_bad_host_in_a_url_names_no_password() -> None:
    client = lakefs_sdk.ApiClient(Configuration(host="http://user:hunter2@lakefs:99999/api/v1"))
    with pytest.raises(lakefs_sdk.ApiValueError) as raised:
        lakefs_sdk.BranchesApi(client).get_branch("repo", "main")
    assert "hunter2" not in str(raised.value)


def test_auth_settings_in_upstream_format() -> None:
    config = Configuration(username="AKIA", password="s3cr3t", access_token="tok")
    config.api_key["cookie_auth"] = "session"
    settings = config.auth_settings()
    assert settings["basic_auth"] == {
        "type": "basic",
        "in": "header",
        "key": "Authorization",
        "value": "Basic QUtJQTpzM2NyM3Q=",
    }
    assert settings["jwt_token"]["value"] == "Bearer tok"
    assert settings["cookie_auth"] == {"type": "api_key", "in": "cookie", "key": "internal_auth_session", "value": "session"}
    assert "oidc_auth" not in settings


def test_api_key_prefix_and_refresh_hook() -> None:
    config = Configuration(api_key={"saml_auth": "v"}, api_key_prefix={"saml_auth": "P"})
    calls = []
    config.refresh_api_key_hook = lambda c: calls.append(c)
    assert config.get_api_key_with_prefix("saml_auth") == "P v"
    assert calls == [config]


def test_access_token_provider_takes_precedence() -> None:
    asked = []

    def provider(refresh: bool) -> str:
        asked.append(refresh)
        return "fresh" if refresh else "cached"

    config = Configuration(access_token="static", access_token_provider=provider)
    assert config.current_access_token() == "cached"
    assert config.current_access_token(refresh=True) == "fresh"
    assert asked == [False, True]


def test_retries_alias_accepts_int_and_urllib3_retry() -> None:
    config = Configuration()
    config.retries = 5
    assert config.max_retries == 5
    config.retries = urllib3.Retry(total=1)
    assert config.max_retries == 1
    config.retries = None
    assert config.max_retries == DEFAULT_MAX_RETRIES


def test_deepcopy_is_independent() -> None:
    config = Configuration(username="u", password="p")
    clone = copy.deepcopy(config)
    clone.username = "other"
    clone.api_key["cookie_auth"] = "x"
    assert config.username == "u"
    assert config.api_key == {}
    assert clone.logger is config.logger


def test_default_configuration_round_trip() -> None:
    custom = Configuration(host="http://custom/api/v1")
    Configuration.set_default(custom)
    try:
        assert Configuration.get_default() is custom
        copied = Configuration.get_default_copy()
        assert copied is not custom and copied.host == custom.host
    finally:
        Configuration.set_default(None)


def test_repr_hides_secrets() -> None:
    config = Configuration(
        host="http://user:pw@lakefs/api/v1", username="AKIA", password="hunter2", access_token="eyJhbGciOi"
    )
    config.api_key["cookie_auth"] = "cookie-secret"
    text = repr(config)
    for secret in ("hunter2", "eyJhbGciOi", "cookie-secret", "pw@"):
        assert secret not in text
    assert "AKIA" in text and "[REDACTED]" in text


def test_debug_switch_sets_logger_level_without_raw_header_dump() -> None:
    import http.client

    config = Configuration()
    config.debug = True
    try:
        assert config.logger["package_logger"].level == 10
        assert http.client.HTTPConnection.debuglevel == 0
    finally:
        config.debug = False


def test_to_debug_report_names_versions() -> None:
    report = Configuration().to_debug_report()
    assert "SDK Package Version: 1.84.0" in report


def test_package_version() -> None:
    assert lakefs_sdk.__version__ == "1.84.0"
