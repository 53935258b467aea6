"""Configuration from the lakectl conventions: environment first, then ~/.lakectl.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest

from lakefs_sdk import Configuration
from lakefs_sdk.lakectl import LakectlConfigError, parse_simple_yaml, read_settings

ENV = {
    "LAKECTL_SERVER_ENDPOINT_URL": "https://lakefs.example.com",
    "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": "AKIAENV",
    "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": "env-secret",
}
LAKECTL_YAML = """\
# written by lakectl config
credentials:
  access_key_id: AKIAFILE
  secret_access_key: "file secret # not a comment"
metastore:
  glue:
    catalog_id: ""
server:
  endpoint_url: http://127.0.0.1:8000/api/v1   # trailing comment
  retries:
    enabled: true
"""


@pytest.fixture
def lakectl_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Dict[str, str]:
    """No LAKECTL_* variables and a HOME without a config file."""
    for name in [*ENV, "LAKECTL_CONFIG_FILE"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return {}


def write_config(tmp_path: Path, text: str = LAKECTL_YAML) -> Path:
    path = tmp_path / ".lakectl.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_environment_variables(lakectl_env: Dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    configuration = Configuration.from_env()
    assert configuration.host == "https://lakefs.example.com/api/v1", "base path added"
    assert (configuration.username, configuration.password) == ("AKIAENV", "env-secret")


def test_home_file_when_the_environment_is_empty(lakectl_env: Dict[str, str], tmp_path: Path) -> None:
    write_config(tmp_path)
    configuration = Configuration.from_env()
    assert configuration.host == "http://127.0.0.1:8000/api/v1", "base path kept once"
    assert (configuration.username, configuration.password) == ("AKIAFILE", "file secret # not a comment")


def test_environment_wins_over_the_file_setting_by_setting(
    lakectl_env: Dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path)
    monkeypatch.setenv("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", "env-secret")
    configuration = Configuration.from_env()
    assert (configuration.username, configuration.password) == ("AKIAFILE", "env-secret")


def test_config_file_variable_and_keyword_overrides(
    lakectl_env: Dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "elsewhere.yaml"
    other.write_text(LAKECTL_YAML.replace("AKIAFILE", "AKIAOTHER"), encoding="utf-8")
    monkeypatch.setenv("LAKECTL_CONFIG_FILE", str(other))
    assert Configuration.from_env().username == "AKIAOTHER"
    configuration = Configuration.from_env(host="lakefs.internal:8000", max_retries=5)
    assert configuration.host == "http://lakefs.internal:8000/api/v1"
    assert configuration.max_retries == 5 and configuration.username == "AKIAOTHER"


def test_config_file_argument_is_used(lakectl_env: Dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "explicit.yaml"
    path.write_text(LAKECTL_YAML, encoding="utf-8")
    assert Configuration.from_env(config_file=str(path)).username == "AKIAFILE"


def test_missing_file_names_the_file_and_the_variables(lakectl_env: Dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(LakectlConfigError) as raised:
        Configuration.from_env()
    message = str(raised.value)
    assert str(tmp_path / ".lakectl.yaml") in message and "file not found" in message
    assert "LAKECTL_SERVER_ENDPOINT_URL" in message


def test_missing_key_names_the_file_and_the_key(lakectl_env: Dict[str, str], tmp_path: Path) -> None:
    path = write_config(tmp_path, LAKECTL_YAML.replace("  secret_access_key", "  other_key"))
    with pytest.raises(LakectlConfigError, match=r"key 'credentials\.secret_access_key' is missing") as raised:
        Configuration.from_env()
    assert str(path) in str(raised.value)


def test_malformed_file_names_the_file(lakectl_env: Dict[str, str], tmp_path: Path) -> None:
    path = write_config(tmp_path, "server:\n  endpoint_url: [unclosed\n")
    with pytest.raises(LakectlConfigError, match="not valid YAML") as raised:
        Configuration.from_env()
    assert str(path) in str(raised.value)


def test_non_string_value_is_refused(lakectl_env: Dict[str, str], tmp_path: Path) -> None:
    write_config(tmp_path, LAKECTL_YAML.replace("endpoint_url: http://127.0.0.1:8000/api/v1", "endpoint_url:\n    nested: 1"))
    with pytest.raises(LakectlConfigError, match=r"'server\.endpoint_url' must be a string"):
        Configuration.from_env()


def test_secret_from_the_file_is_not_in_the_repr(lakectl_env: Dict[str, str], tmp_path: Path) -> None:
    write_config(tmp_path)
    assert "file secret" not in repr(Configuration.from_env())


def test_read_settings_takes_an_explicit_environment(tmp_path: Path) -> None:
    assert read_settings(environ=ENV) == {
        "host": "https://lakefs.example.com",
        "username": "AKIAENV",
        "password": "env-secret",
    }


def test_fallback_parser_reads_what_lakectl_writes() -> None:
    assert parse_simple_yaml(LAKECTL_YAML) == {
        "credentials": {"access_key_id": "AKIAFILE", "secret_access_key": "file secret # not a comment"},
        "metastore": {"glue": {"catalog_id": ""}},
        "server": {"endpoint_url": "http://127.0.0.1:8000/api/v1", "retries": {"enabled": True}},
    }


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("server:\n\tendpoint_url: x\n", "tabs"),
        ("server: {endpoint_url: x}\n", "install PyYAML"),
        ("server:\n  endpoint_url: 'unterminated\n", "unterminated"),
        ("just a line\n", "expected 'key: value'"),
    ],
)
def test_fallback_parser_errors_name_the_line(text: str, complaint: str) -> None:
    with pytest.raises(LakectlConfigError, match=complaint) as raised:
        parse_simple_yaml(text, "cfg.yaml")
    assert str(raised.value).startswith("cfg.yaml:")


def test_without_pyyaml_the_fallback_parser_is_used(
    lakectl_env: Dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path)
    monkeypatch.setitem(__import__("sys").modules, "yaml", None)  # makes `import yaml` fail
    configuration = Configuration.from_env()
    assert (configuration.host, configuration.password) == ("http://127.0.0.1:8000/api/v1", "file secret # not a comment")
