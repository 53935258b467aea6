"""Keeping credentials out of logs, ``repr()`` and exception messages.

Everything the SDK prints or logs about a request or response passes through these
functions: credential headers, secret JSON fields (login, credential creation) and the
signature parts of presigned storage URLs are replaced with ``[REDACTED]``.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, Iterable, Mapping, Tuple, Union

REDACTED = "[REDACTED]"

# Header names are compared lower-cased.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-amz-security-token"}
)

# Model fields (Python and JSON names) whose values are credentials.
SECRET_FIELDS = frozenset(
    {
        "password",
        "secret_access_key",
        "token",
        "access_token",
        "refresh_token",
        "code",
        "identity_request",
        "identityRequest",
    }
)

_SIGNED_QUERY = re.compile(
    # Presigned S3/GCS/Azure URL parts that grant access. `\u0026` is how Go's JSON
    # encoder writes `&`, so bodies from lakeFS are covered too.
    r"(?i)((?:[?&]|\\u0026)(?:x-amz-signature|x-amz-credential|x-amz-security-token"
    r"|x-goog-signature|x-goog-credential|sig|signature)=)[^&#\"'\s\\]*"
)
_SECRET_JSON_FIELD = re.compile(
    r'("(?:' + "|".join(sorted(SECRET_FIELDS)) + r')"\s*:\s*)"(?:[^"\\]|\\.)*"'
)
_URL_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@")

HeaderItems = Union[Mapping[str, Any], Iterable[Tuple[str, Any]]]


def redact_text(text: str) -> str:
    """Mask secret JSON fields, presigned-URL signatures and URL passwords in free text."""
    text = _SECRET_JSON_FIELD.sub(lambda m: m.group(1) + '"' + REDACTED + '"', text)
    text = _SIGNED_QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    return _URL_USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)


def redact_url(url: str) -> str:
    """Mask presigned-URL signatures and ``user:password@`` in a URL."""
    return redact_text(url)


def redact_headers(headers: HeaderItems) -> Dict[str, Any]:
    """Return a copy of ``headers`` with credential headers masked."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {
        name: (REDACTED if name.lower() in SECRET_HEADERS else value) for name, value in items
    }


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in a record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


# urllib3 logs request targets and redirect locations (presigned URLs carry signatures).
_URLLIB3_LOGGERS = ("urllib3.connectionpool", "urllib3.poolmanager", "urllib3.util.retry", "urllib3.connection")
_FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Attach the redacting filter to urllib3's loggers (idempotent)."""
    for name in _URLLIB3_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def redact_value(name: str, value: Any) -> Any:
    """Mask ``value`` when ``name`` is a secret field; mask signatures inside strings."""
    if value is None:
        return None
    if name in SECRET_FIELDS:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    return value
