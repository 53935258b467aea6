"""Configuration: defaults, upstream-compatible attributes, hosts, copies, and redaction."""

from __future__ import annotations

import copy
import gc
import logging
from pathlib import Path
from typing import Iterator, List

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


# -- logging: the changes a configuration makes to the process's loggers are its own to undo -----


@pytest.fixture
def sdk_logger() -> Iterator[logging.Logger]:
    """The package logger at INFO with no handler; whatever a test leaves is put back."""
    logger = logging.getLogger("lakefs_sdk")
    level, handlers = logger.level, list(logger.handlers)
    logger.setLevel(logging.INFO)
    yield logger
    gc.collect()
    for handler in logger.handlers:
        if handler not in handlers:
            logger.removeHandler(handler)
            handler.close()
    logger.setLevel(level)


def test_a_new_configuration_leaves_logger_levels_alone(sdk_logger: logging.Logger) -> None:
    config = Configuration()
    config.debug = False  # upstream set WARNING here (and in every constructor)
    assert sdk_logger.level == logging.INFO


def test_debug_off_restores_the_level_it_found(sdk_logger: logging.Logger) -> None:
    config = Configuration()
    config.debug = True
    assert sdk_logger.level == logging.DEBUG and config.debug is True
    config.debug = True  # twice is one hold
    config.debug = False
    assert sdk_logger.level == logging.INFO and config.debug is False


def test_two_configurations_do_not_undo_each_others_debug(sdk_logger: logging.Logger) -> None:
    first, second = Configuration(), Configuration()
    first.debug = True
    second.debug = True
    first.debug = False
    assert sdk_logger.level == logging.DEBUG, "second still asks for DEBUG"
    second.debug = False
    assert sdk_logger.level == logging.INFO, "the level from before the first one"


def test_a_level_set_since_is_kept(sdk_logger: logging.Logger) -> None:
    config = Configuration()
    config.debug = True
    sdk_logger.setLevel(logging.ERROR)  # the application decides
    config.debug = False
    assert sdk_logger.level == logging.ERROR


def test_a_collected_configuration_lets_go_of_debug(sdk_logger: logging.Logger) -> None:
    config = Configuration()
    config.debug = True
    del config
    gc.collect()
    assert sdk_logger.level == logging.INFO


def test_a_deep_copy_holds_debug_in_its_own_name(sdk_logger: logging.Logger) -> None:
    config = Configuration()
    config.debug = True
    clone = copy.deepcopy(config)
    config.debug = False
    assert clone.debug is True and sdk_logger.level == logging.DEBUG
    clone.debug = False
    assert sdk_logger.level == logging.INFO


def added_handlers(logger: logging.Logger) -> List[logging.FileHandler]:
    return [h for h in logger.handlers if isinstance(h, logging.FileHandler)]


def test_clearing_logger_file_removes_and_closes_its_handler(sdk_logger: logging.Logger, tmp_path: Path) -> None:
    config = Configuration()
    config.logger_file = str(tmp_path / "sdk.log")
    (handler,) = added_handlers(sdk_logger)
    assert config.logger_file_handler is handler
    sdk_logger.info("kept")
    config.logger_file = None
    assert added_handlers(sdk_logger) == [] and config.logger_file_handler is None
    assert handler.stream is None, "closed"
    sdk_logger.info("after")
    assert (tmp_path / "sdk.log").read_text().count("kept") == 1
    assert "after" not in (tmp_path / "sdk.log").read_text()


def test_another_logger_file_replaces_the_handler(sdk_logger: logging.Logger, tmp_path: Path) -> None:
    config = Configuration()
    config.logger_file = str(tmp_path / "a.log")
    config.logger_file = str(tmp_path / "b.log")
    (handler,) = added_handlers(sdk_logger)
    assert handler.baseFilename == str(tmp_path / "b.log") and config.logger_file_handler is handler
    sdk_logger.warning("only in b")
    assert "only in b" in (tmp_path / "b.log").read_text()
    assert "only in b" not in (tmp_path / "a.log").read_text()


def test_two_configurations_on_one_file_write_each_record_once(sdk_logger: logging.Logger, tmp_path: Path) -> None:
    path = str(tmp_path / "sdk.log")
    first, second = Configuration(), Configuration()
    first.logger_file = path
    second.logger_file = path
    assert len(added_handlers(sdk_logger)) == 1 and first.logger_file_handler is second.logger_file_handler
    sdk_logger.warning("once")
    first.logger_file = None
    assert len(added_handlers(sdk_logger)) == 1, "second still writes to it"
    second.logger_file = None
    assert added_handlers(sdk_logger) == []
    assert Path(path).read_text().count("once") == 1


def test_a_deep_copy_and_a_collected_configuration_share_then_release_the_file(
    sdk_logger: logging.Logger, tmp_path: Path
) -> None:
    config = Configuration()
    config.logger_file = str(tmp_path / "sdk.log")
    clone = copy.deepcopy(config)
    assert clone.logger_file_handler is config.logger_file_handler
    config.logger_file = None
    assert len(added_handlers(sdk_logger)) == 1, "the copy still holds it"
    del clone
    gc.collect()
    assert added_handlers(sdk_logger) == []


def test_logger_format_applies_to_the_file_set_before(sdk_logger: logging.Logger, tmp_path: Path) -> None:
    config = Configuration()
    config.logger_file = str(tmp_path / "sdk.log")
    config.logger_format = "FMT %(message)s"
    (handler,) = added_handlers(sdk_logger)
    sdk_logger.warning("hello")
    assert (tmp_path / "sdk.log").read_text().splitlines() == ["FMT hello"]
    config.logger_file = None
    assert handler not in sdk_logger.handlers


def test_a_logger_file_that_cannot_be_opened_changes_nothing(sdk_logger: logging.Logger, tmp_path: Path) -> None:
    config = Configuration()
    config.logger_file = str(tmp_path / "sdk.log")
    (handler,) = added_handlers(sdk_logger)
    with pytest.raises(OSError):
        config.logger_file = str(tmp_path / "no-such-dir" / "sdk.log")
    assert config.logger_file == str(tmp_path / "sdk.log")
    assert added_handlers(sdk_logger) == [handler] and config.logger_file_handler is handler
    sdk_logger.warning("still logged")
    assert "still logged" in (tmp_path / "sdk.log").read_text()
