"""Configuration the way ``lakectl`` finds it: environment variables, then ``~/.lakectl.yaml``.

=========================================  ===============================
environment variable                       key in ``~/.lakectl.yaml``
=========================================  ===============================
``LAKECTL_SERVER_ENDPOINT_URL``            ``server.endpoint_url``
``LAKECTL_CREDENTIALS_ACCESS_KEY_ID``      ``credentials.access_key_id``
``LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY``  ``credentials.secret_access_key``
=========================================  ===============================

Each setting comes from its environment variable when set, otherwise from the file
(``LAKECTL_CONFIG_FILE`` names another file). The endpoint may be given with or without
``/api/v1``. A missing, unreadable or malformed file, or a missing key, raises
``LakectlConfigError`` naming the file and the key, and never quoting the file's content
(it holds the secret key). The file is read with PyYAML, imported only when a file is read.
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from lakefs_sdk.exceptions import ApiValueError

SETTINGS: Tuple[Tuple[str, str, str], ...] = (
    # (Configuration attribute, environment variable, dotted key in the file)
    ("host", "LAKECTL_SERVER_ENDPOINT_URL", "server.endpoint_url"),
    ("username", "LAKECTL_CREDENTIALS_ACCESS_KEY_ID", "credentials.access_key_id"),
    ("password", "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", "credentials.secret_access_key"),
)
SETTING_NAMES = tuple(attr for attr, _, _ in SETTINGS)
CONFIG_FILE_VARIABLE = "LAKECTL_CONFIG_FILE"


class LakectlConfigError(ApiValueError):
    """The lakectl settings are missing or cannot be read; the message names the file and key."""


def default_config_file(environ: Mapping[str, str] = os.environ) -> str:
    """The file lakectl reads: ``$LAKECTL_CONFIG_FILE`` or ``~/.lakectl.yaml``."""
    return environ.get(CONFIG_FILE_VARIABLE) or os.path.join(os.path.expanduser("~"), ".lakectl.yaml")


def read_settings(
    config_file: Optional[str] = None, environ: Mapping[str, str] = os.environ
) -> Dict[str, str]:
    """Return ``{"host", "username", "password"}`` from the environment, then the file."""
    settings = {attr: environ[var] for attr, var, _ in SETTINGS if environ.get(var)}
    missing = [(attr, var, key) for attr, var, key in SETTINGS if attr not in settings]
    if not missing:
        return settings
    path = config_file or default_config_file(environ)
    document = _load_file(path, [var for _, var, _ in missing])
    for attr, var, key in missing:
        value = _lookup(document, key)
        if value is None:
            raise LakectlConfigError(f"{path}: key '{key}' is missing (or set {var})")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise LakectlConfigError(f"{path}: key '{key}' must be a string, not {type(value).__name__}")
        settings[attr] = str(value)
    return settings


def _load_file(path: str, variables: List[str]) -> Any:
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except FileNotFoundError:
        raise LakectlConfigError(f"{path}: file not found; set {', '.join(variables)} or create it") from None
    except OSError as error:
        raise LakectlConfigError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise LakectlConfigError(f"{path}: not UTF-8 text (byte {error.start})") from None
    try:
        import yaml  # imported here: only reading the file needs PyYAML
    except ImportError:
        raise LakectlConfigError(f"{path}: reading it needs PyYAML (pip install PyYAML)") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise LakectlConfigError(f"{path}: not valid YAML{_where(error)}") from None
    except RecursionError:
        raise LakectlConfigError(f"{path}: not valid YAML: nested too deeply") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise LakectlConfigError(f"{path}: expected a mapping of settings, not {type(document).__name__}")
    return document


def _where(error: Any) -> str:
    # PyYAML's own message quotes the offending line, which may hold the secret key: keep
    # only the position and what went wrong, with any quoted text longer than a character cut.
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    said = [getattr(error, name, None) for name in ("context", "problem")]
    reason = ", ".join(_QUOTED.sub(_keep_one_character, text) for text in said if isinstance(text, str) and text)
    return where + (": " + reason if reason else "")


_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def _keep_one_character(match: re.Match[str]) -> str:
    # A single character ('\t', '%') says what is wrong; anything longer may be file content.
    quoted = match.group(0)
    inner = quoted[1:-1]
    one = len(inner) == 1 or re.fullmatch(r"\\(?:.|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4})", inner) is not None
    return quoted if one else quoted[0] + "..." + quoted[0]


def _lookup(document: Any, dotted_key: str) -> Any:
    node = document
    for part in dotted_key.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node
