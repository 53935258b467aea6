"""Configuration from the lakectl conventions: environment first, then ~/.lakectl.yaml."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from lakefs_sdk import Configuration
from lakefs_sdk.lakectl import LakectlConfigError, read_settings

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


def test_the_whole_file_lakectl_writes_is_read(tmp_path: Path) -> None:
    path = write_config(tmp_path, "---\n" + LAKECTL_YAML + "ui:\n  tabs: [a, b]\n...\n")
    assert read_settings(str(path), environ={}) == {
        "host": "http://127.0.0.1:8000/api/v1",
        "username": "AKIAFILE",
        "password": "file secret # not a comment",
    }


def test_flow_style_and_documents_are_yaml_too(tmp_path: Path) -> None:
    text = "%YAML 1.1\n---\nserver: {endpoint_url: 'http://h:1'}\ncredentials: {access_key_id: K, secret_access_key: S}\n"
    assert read_settings(str(write_config(tmp_path, text)), environ={}) == {
        "host": "http://h:1",
        "username": "K",
        "password": "S",
    }


def test_an_empty_file_names_the_first_missing_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, "# nothing yet\n")
    with pytest.raises(LakectlConfigError, match=r"key 'server\.endpoint_url' is missing \(or set LAKECTL_SERVER_ENDPOINT_URL\)"):
        read_settings(str(path), environ={})


SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzSECRET"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (f"credentials:\n\tsecret_access_key: {SECRET}\n", r"at line 2, column 1: .*'\\t'"),
        (f"credentials:\n  secret_access_key: '{SECRET}\n", r"at line 3, column 1: while scanning a quoted scalar"),
        (f"credentials:\n  secret_access_key: [{SECRET}\n", "at line 3, column 1"),
        (f"credentials:\n  secret_access_key: *{SECRET}\n", r"while scanning an alias, expected alphabetic or numeric character, but found '/'"),
        (f"credentials:\n  secret_access_key: *{SECRET.replace('/', '').replace('+', '')}\n", r"found undefined alias '\.\.\.'"),
        (f"credentials:\n  secret_access_key: !{SECRET} x\n", r"could not determine a constructor for the tag '\.\.\.'"),
        (f"credentials:\n  secret_access_key: {SECRET}\n extra: [\n", "at line 3"),
        (f"credentials:\n  secret_access_key: \"{SECRET}\\q\"\n", r"found unknown escape character 'q'"),
    ],
)
def test_malformed_file_error_is_one_typed_line_without_the_secret(tmp_path: Path, text: str, complaint: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(LakectlConfigError, match=complaint) as raised:
        read_settings(str(path), environ={})
    message = str(raised.value)
    assert message.startswith(f"{path}: not valid YAML at line ")
    assert "\n" not in message
    for part in (SECRET[:12], SECRET[12:24], SECRET[-12:]):
        assert part not in message and part not in repr(raised.value)
    # Nothing of PyYAML's own message (it quotes the line) travels with the error either.
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "just a line\n")
    with pytest.raises(LakectlConfigError, match="expected a mapping of settings, not str") as raised:
        read_settings(str(path), environ={})
    assert str(raised.value).startswith(f"{path}: ")


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / ".lakectl.yaml"
    path.write_bytes(b"credentials:\n  secret_access_key: \xff\xfe" + SECRET.encode() + b"\n")
    with pytest.raises(LakectlConfigError, match="not UTF-8 text") as raised:
        read_settings(str(path), environ={})
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize("value", ["true", "[a, b]", "{k: v}"])
def test_a_setting_that_is_no_text_is_refused(tmp_path: Path, value: str) -> None:
    path = write_config(tmp_path, LAKECTL_YAML.replace("AKIAFILE", value))
    with pytest.raises(LakectlConfigError, match=r"'credentials\.access_key_id' must be a string"):
        read_settings(str(path), environ={})


def test_without_pyyaml_reading_the_file_says_what_to_install(
    lakectl_env: Dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path)
    monkeypatch.setitem(sys.modules, "yaml", None)  # makes `import yaml` fail
    with pytest.raises(LakectlConfigError, match=r"reading it needs PyYAML \(pip install PyYAML\)") as raised:
        Configuration.from_env()
    assert str(raised.value).startswith(f"{path}: ")


def test_pyyaml_is_imported_only_to_read_a_file(tmp_path: Path) -> None:
    code = (
        "import sys, lakefs_sdk\n"
        "c = lakefs_sdk.Configuration.from_env()\n"
        "assert c.username == 'AKIAENV', c\n"
        "print('yaml' in sys.modules)\n"
        "from lakefs_sdk.lakectl import read_settings\n"
        f"read_settings({str(write_config(tmp_path))!r}, environ={{}})\n"
        "print('yaml' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKECTL_")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env, **ENV})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
