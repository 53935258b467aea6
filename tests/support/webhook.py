"""A webhook receiver on 127.0.0.1 for lakeFS action hooks.

lakeFS POSTs each hook event as JSON to the hook's ``url``; this server records every
call (path, query, headers, decoded JSON body) and answers with the status and body the
test chose, per path, so one receiver can allow one hook and reject another::

    with WebhookReceiver() as hooks:
        hooks.answer("/reject", 400, {"error": "not today"})
        url = hooks.url("/reject")
        ...
        assert hooks.calls_to("/reject")[0].body["event_type"] == "pre-commit"

Nothing here listens on any address but 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class HookCall:
    """One request lakeFS sent to the receiver."""

    method: str
    path: str
    query: Dict[str, List[str]]
    headers: Dict[str, str]  # names lower-cased
    raw_body: bytes
    body: Any  # the JSON body decoded, or None when it was not JSON


@dataclass(frozen=True)
class Answer:
    """What the receiver replies to a call."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


class WebhookReceiver:
    """Threaded HTTP server recording hook calls; use as a context manager.

    Unconfigured paths answer 200 with an empty body. ``answer(path, ...)`` sets the
    reply for one path (without its query string) until it is set again.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._lock = threading.Lock()
        self._calls: List[HookCall] = []
        self._answers: Dict[str, Answer] = {}
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                answer = receiver._record(self.command, self.path, dict(self.headers.items()), raw)
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_POST = do_PUT = do_GET = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = ThreadingHTTPServer((host, 0), _Handler)
        self._server.daemon_threads = True
        address = self._server.server_address
        self.host: str = str(address[0])
        self.port: int = int(address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str = "/") -> str:
        """The URL of ``path`` on this receiver, for a hook's ``url`` property."""
        return f"http://{self.host}:{self.port}{path}"

    def answer(self, path: str, status: int, body: Any = b"", content_type: Optional[str] = None) -> None:
        """Reply to calls of ``path`` with ``status`` and ``body`` (bytes, str, or JSON-encoded otherwise)."""
        if isinstance(body, bytes):
            encoded, kind = body, "application/octet-stream"
        elif isinstance(body, str):
            encoded, kind = body.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            encoded, kind = json.dumps(body).encode("utf-8"), "application/json"
        with self._lock:
            self._answers[path] = Answer(status, encoded, content_type or kind)

    @property
    def calls(self) -> List[HookCall]:
        """Every call so far, in arrival order."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, path: str) -> List[HookCall]:
        """The calls of ``path`` (without query string), in arrival order."""
        return [call for call in self.calls if call.path == path]

    def _record(self, method: str, target: str, headers: Dict[str, str], raw: bytes) -> Answer:
        parts = urlsplit(target)
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        call = HookCall(
            method=method,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in headers.items()},
            raw_body=raw,
            body=body,
        )
        with self._lock:
            self._calls.append(call)
            return self._answers.get(parts.path, Answer())
