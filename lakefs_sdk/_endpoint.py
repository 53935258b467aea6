"""The server address: completing a lakeFS endpoint, and checking it before the first request.

Building a client never parses its host: ``lakefs-spec`` builds filesystems for hosts it
never calls, to compare them. A host that cannot be a URL fails the first request instead,
with an ``ApiValueError`` that names it, before any connection is tried.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit, urlunsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from lakefs_sdk._redact import redact_url
from lakefs_sdk.exceptions import ApiValueError

API_BASE_PATH = "/api/v1"


def normalize_endpoint(host: str) -> str:
    """Complete a lakeFS endpoint: add ``http://`` when no scheme is given and ``/api/v1``
    when no path is, so ``"localhost:8000"`` becomes ``"http://localhost:8000/api/v1"``.

    Never raises: a host that is no URL comes back as given (with the scheme added), and
    the first request made with it says what is wrong.
    """
    host = host.strip()
    if "://" not in host:
        host = "http://" + host
    try:
        parts = urlsplit(host)
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address
        return host
    if parts.path in ("", "/"):
        host = urlunsplit(parts._replace(path=API_BASE_PATH))
    return host.rstrip("/")


@functools.lru_cache(maxsize=32)
def check_host(host: str) -> str:
    """Return ``host`` if requests can be sent to it; raise ``ApiValueError`` naming it if not."""
    shown = redact_url(host)
    try:
        url = parse_url(host)
    except LocationParseError as error:
        raise ApiValueError(f"Configuration.host {shown!r} is not a valid URL: {_reason(host, error)}") from None
    if url.scheme not in ("http", "https"):
        raise ApiValueError(
            f"Configuration.host {shown!r} must start with http:// or https://, "
            'e.g. "http://localhost:8000/api/v1"'
        )
    if not url.host:
        raise ApiValueError(f"Configuration.host {shown!r} names no server")
    return host


def _reason(host: str, error: LocationParseError) -> str:
    try:
        urlsplit(host).port  # noqa: B018 - only for the error it raises
    except ValueError as port_error:  # "Port out of range 0-65535", "Port could not be cast ..."
        return str(port_error).lower()
    reason = str(error).removeprefix("Failed to parse: ")
    return "cannot be parsed" if reason == host else redact_url(reason)
