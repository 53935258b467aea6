"""Helpers of the compat suite (tests/compat): warning checks, a finite-listing front for Prism,
and the upstream surface data recorded by scripts/record_upstream_surface.py.

Nothing here talks to any address but 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from pydantic.warnings import PydanticDeprecationWarning

import lakefs_sdk

from support.loopback import LoopbackServer, Reply, Request
from support.recording_proxy import BASE_PATH, Exchange, PrismProxy
from support.scripts import load_script

SDK_DIR = Path(lakefs_sdk.__file__).resolve().parent
SURFACE_FILE = Path(__file__).resolve().parents[1] / "compat" / "data" / "upstream_surface.json"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length", "host"}

ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def load_surface() -> Dict[str, Any]:
    """Upstream lakefs-sdk's recorded surface (tests/compat/data/upstream_surface.json)."""
    with open(SURFACE_FILE, encoding="utf-8") as f:
        surface: Dict[str, Any] = json.load(f)
    return surface


def load_recorder() -> ModuleType:
    """scripts/record_upstream_surface.py as a module, to describe our classes the same way."""
    return load_script("record_upstream_surface")


# -- warnings ----------------------------------------------------------------------------------


def is_sdk_warning(warning: warnings.WarningMessage) -> bool:
    """True for a warning lakefs_sdk is responsible for.

    That is one raised in a file under lakefs_sdk/, and also one attributed to the caller
    (``stacklevel``) but caused by us: a pydantic deprecation (a v1-style call on one of our
    models) or a warning naming lakefs_sdk or a deprecated operation.
    """
    try:
        if Path(warning.filename).resolve().is_relative_to(SDK_DIR):
            return True
    except (OSError, ValueError):
        pass
    if issubclass(warning.category, PydanticDeprecationWarning):
        return True
    text = str(warning.message)
    return "lakefs_sdk" in text or "marks deprecated" in text


def describe_warning(warning: warnings.WarningMessage) -> str:
    return f"{warning.filename}:{warning.lineno}: {warning.category.__name__}: {warning.message}"


# -- a front for Prism that ends listings ---------------------------------------------------------


class FinitePrism:
    """A loopback server in front of a ``PrismProxy`` that makes paginated listings end.

    Static Prism answers every listing with its example page, whose ``has_more`` is true and
    whose ``next_offset`` never changes, so a client that follows pages until ``has_more``
    is false (lakefs-spec's ``ls``, lakefs's ``repositories()``) would loop forever. This
    front forwards each request unchanged to the proxy (which records it and has Prism
    validate it against the spec) and sets ``pagination.has_more`` to false in the answer;
    no other value of Prism's answer is changed.
    """

    def __init__(self, proxy: PrismProxy) -> None:
        self.proxy = proxy
        parts = urlsplit(proxy.url)
        self._target: Tuple[str, int] = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._server = LoopbackServer(self._forward)

    @property
    def url(self) -> str:
        """Base URL for clients, ``/api/v1`` included."""
        return self._server.url + BASE_PATH

    def __enter__(self) -> FinitePrism:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    def _forward(self, request: Request) -> Reply:
        try:
            return self._relay(request)
        except Exception as error:  # show the test what broke instead of a dropped connection
            return Reply(502, json.dumps({"message": f"FinitePrism: {error!r}"}))

    def _relay(self, request: Request) -> Reply:
        headers = {k: v for k, v in request.headers if k.lower() not in HOP_BY_HOP}
        headers["Content-Length"] = str(len(request.body))
        conn = http.client.HTTPConnection(*self._target, timeout=60)
        try:
            conn.request(request.method, request.target, body=request.body, headers=headers)
            response = conn.getresponse()
            body = response.read()
            reply_headers = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
            status, reason = response.status, response.reason
        finally:
            conn.close()
        content_type = next((v for k, v in reply_headers.items() if k.lower() == "content-type"), "")
        if "json" in content_type and body:
            body = _end_pagination(body)
        return Reply(status, body, reply_headers, reason=reason)


def _end_pagination(body: bytes) -> bytes:
    document = json.loads(body)
    if isinstance(document, dict) and isinstance(document.get("pagination"), dict):
        document["pagination"]["has_more"] = False
        return json.dumps(document).encode("utf-8")
    return body


# -- what went over the wire -------------------------------------------------------------------------


def operation_ids(exchanges: List[Exchange]) -> List[Optional[str]]:
    """The operationIds of ``exchanges``, in order."""
    return [e.operation_id for e in exchanges]


def response_json(exchange: Exchange) -> Any:
    """The JSON body Prism answered ``exchange`` with."""
    return json.loads(exchange.response_body)


def request_json(exchange: Exchange) -> Any:
    """The JSON body of the request of ``exchange`` (after checking it was sent as JSON)."""
    content_type = exchange.request.header("Content-Type") or ""
    assert content_type.startswith("application/json"), exchange.request.headers
    return json.loads(exchange.request.body)


def single(exchanges: List[Exchange], operation_id: str) -> Exchange:
    """The one exchange of ``exchanges`` that addressed ``operation_id``."""
    found = [e for e in exchanges if e.operation_id == operation_id]
    assert len(found) == 1, f"expected one {operation_id} request, got {operation_ids(exchanges)}"
    exchange = found[0]
    assert 200 <= exchange.status < 300, f"{operation_id}: {exchange.status} {exchange.response_body[:200]!r}"
    return exchange
