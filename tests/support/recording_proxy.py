"""A recording proxy in front of Prism or a real lakeFS server.

The proxy accepts only requests under ``/api/v1`` (so a client that forgets the base path
fails), forwards them, and records every exchange: the operationId it addressed (for the
coverage gates), Prism's ``sl-violations`` header (any spec violation in the request or
response), and the response that came back. Bodies are buffered: tests that stream
gigabytes talk to the server directly.

Prism ignores the spec's server base path by design, so ``PrismProxy`` strips ``/api/v1``
before forwarding; a real lakeFS server gets the request target unchanged.
"""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass, field
from typing import List, Optional, Tuple
from urllib.parse import urlsplit

from support.loopback import LoopbackServer, Reply, Request
from support.routes import OperationIndex

BASE_PATH = "/api/v1"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length", "host"}


@dataclass
class Exchange:
    operation_id: Optional[str]
    method: str
    target: str
    status: int
    violations: Optional[str]
    request: Request
    response_body: bytes = b""
    response_headers: List[Tuple[str, str]] = field(default_factory=list)

    def response_header(self, name: str) -> Optional[str]:
        for key, value in self.response_headers:
            if key.lower() == name.lower():
                return value
        return None


class RecordingProxy:
    """Loopback proxy to one server; ``url`` (base path included) is what clients use as host."""

    strip_base_path = False

    def __init__(self, upstream_url: str, index: OperationIndex) -> None:
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.index = index
        self.exchanges: List[Exchange] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        self._server = LoopbackServer(self._forward)

    @property
    def url(self) -> str:
        return self._server.url + BASE_PATH

    def __enter__(self) -> RecordingProxy:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    def mark(self) -> int:
        """Position in the exchange log, to look only at exchanges after it."""
        with self._lock:
            return len(self.exchanges)

    def since(self, mark: int) -> List[Exchange]:
        with self._lock:
            return self.exchanges[mark:]

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(*self._upstream, timeout=120)
            self._local.conn = conn
        return conn

    def _forward(self, request: Request) -> Reply:
        if not request.target.startswith(BASE_PATH + "/"):
            body = {"message": f"proxy: request target {request.target!r} is not under {BASE_PATH}"}
            return Reply(404, json.dumps(body))
        target = request.target[len(BASE_PATH) :] if self.strip_base_path else request.target
        headers = {k: v for k, v in request.headers if k.lower() not in HOP_BY_HOP}
        if request.body or request.method in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(request.body))
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(request.method, target, body=request.body or None, headers=headers)
                response = conn.getresponse()
                body = response.read()
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        reply_headers = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
        if request.method == "HEAD" and response.getheader("Content-Length") is not None:
            reply_headers["Content-Length"] = response.getheader("Content-Length", "")  # the object's, not b""'s
        operation_id = self.index.match(request.method, request.path[len(BASE_PATH) :])
        with self._lock:
            self.exchanges.append(
                Exchange(
                    operation_id,
                    request.method,
                    request.target,
                    response.status,
                    response.getheader("sl-violations"),
                    request,
                    body,
                    response.getheaders(),
                )
            )
        return Reply(response.status, body, reply_headers, reason=response.reason)


class PrismProxy(RecordingProxy):
    """Loopback proxy to one Prism instance, which wants no base path."""

    strip_base_path = True
