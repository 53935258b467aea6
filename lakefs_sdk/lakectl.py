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
``/api/v1``. A missing or unreadable file, or a missing key, raises ``LakectlConfigError``
naming the file and the key.
"""

from __future__ import annotations

import os
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
        if not isinstance(value, (str, int, float)):
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
    try:
        import yaml
    except ImportError:
        return parse_simple_yaml(text, path)
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise LakectlConfigError(f"{path}: not valid YAML: {error}") from None


def _lookup(document: Any, dotted_key: str) -> Any:
    node = document
    for part in dotted_key.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def parse_simple_yaml(text: str, path: str = "<yaml>") -> Dict[str, Any]:
    """Parse the block-mapping subset of YAML that lakectl writes (no PyYAML needed).

    Supports nested ``key: value`` mappings, quoted or plain scalars, comments and
    ``- item`` lists of scalars; anything else raises ``LakectlConfigError`` with the line.
    """
    root: Dict[str, Any] = {}
    # Stack of (indent, container) for the mappings/lists currently open.
    stack: List[Tuple[int, Any]] = [(-1, root)]
    pending_key: Optional[Tuple[Dict[str, Any], str, int]] = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw).rstrip()
        if not line.strip() or line.strip() in ("---", "..."):
            continue
        leading = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in leading:
            raise LakectlConfigError(f"{path}:{number}: tabs are not allowed for indentation")
        indent = len(leading)
        content = line.strip()
        if pending_key is not None:
            parent, key, key_indent = pending_key
            pending_key = None
            if indent > key_indent:
                child: Any = [] if content.startswith("- ") or content == "-" else {}
                parent[key] = child
                stack.append((indent, child))
        while stack and indent < stack[-1][0]:
            stack.pop()
        container = stack[-1][1]
        if content.startswith("-"):
            if not isinstance(container, list):
                raise LakectlConfigError(f"{path}:{number}: unexpected list item")
            container.append(_scalar(content[1:].strip(), path, number))
            continue
        if not isinstance(container, dict) or ":" not in content:
            raise LakectlConfigError(f"{path}:{number}: expected 'key: value', got {content!r}")
        key, _, value = content.partition(":")
        key = _unquote(key.strip())
        value = value.strip()
        if value:
            container[key] = _scalar(value, path, number)
        else:
            container[key] = None
            pending_key = (container, key, indent)
    return root


def _strip_comment(line: str) -> str:
    quote = ""
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _scalar(text: str, path: str, number: int) -> Any:
    if text[:1] in ("{", "[", "&", "*", "|", ">", "!"):
        raise LakectlConfigError(f"{path}:{number}: unsupported YAML ({text[:1]!r}); install PyYAML to read this file")
    if text[:1] in "'\"":
        if len(text) < 2 or text[-1] != text[0]:
            raise LakectlConfigError(f"{path}:{number}: unterminated quoted string")
        return text[1:-1]
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "~"):
        return None
    return text
