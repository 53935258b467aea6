"""A loopback HTTP/1.1 server for tests: records every request byte for byte and answers
with scripted replies, including transport faults.

It speaks just enough HTTP/1.1 for urllib3 (keep-alive, Content-Length and chunked request
bodies) on raw sockets, so a test can assert the exact request line, headers and body,
and a reply can misbehave on purpose (reset, stall, truncate, garbage).
"""

from __future__ import annotations

import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple, Union
from urllib.parse import unquote


@dataclass
class Request:
    """One request as it arrived."""

    method: str
    target: str  # raw request target, still percent-encoded: "/api/v1/x?y=1"
    version: str
    headers: List[Tuple[str, str]]
    body: bytes
    raw_head: bytes  # request line and header block, exactly as sent
    connection_id: int

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    @property
    def decoded_path(self) -> str:
        return unquote(self.path)

    def header(self, name: str) -> Optional[str]:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Reply:
    """What the server does with a request.

    ``fault`` makes it misbehave: ``"reset"`` (close before answering, with RST),
    ``"close"`` (close before answering), ``"reset_mid_body"`` (send headers and half the
    body, then RST), ``"stall"`` (wait ``stall`` seconds before answering), ``"truncate"``
    (announce the full length, send half, close).
    """

    status: int = 200
    body: Union[bytes, str] = b"{}"
    headers: Dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    reason: Optional[str] = None
    fault: Optional[str] = None
    stall: float = 0.0

    def encoded_body(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


Handler = Callable[[Request], Reply]

REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    206: "Partial Content",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    416: "Range Not Satisfiable",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class LoopbackServer:
    """Threaded loopback server; use as a context manager. ``url`` is its base URL."""

    def __init__(
        self, handler: Optional[Handler] = None, host: str = "127.0.0.1", tls: Optional[ssl.SSLContext] = None
    ) -> None:
        self.tls = tls
        self.connections = 0  # TCP connections accepted (TLS handshakes attempted, when tls is set)
        self.requests: List[Request] = []
        self.replies: List[Reply] = []  # consumed in order; then ``handler``; then 200 {}
        self.handler = handler
        self._lock = threading.Lock()
        self._connections = 0
        outer = self

        class _Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer._serve_connection(self.request)

        class _Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = _Server((host, 0), _Handler)
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reply(self, *replies: Reply) -> None:
        """Queue replies for the next requests, in order."""
        with self._lock:
            self.replies.extend(replies)

    # -- connection handling ------------------------------------------------------------------

    def _serve_connection(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections += 1
            self.connections = self._connections
            connection_id = self._connections
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                return
        reader = sock.makefile("rb")
        try:
            while True:
                request = _read_request(reader, connection_id)
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                    reply = self.replies.pop(0) if self.replies else None
                if reply is None:
                    reply = self.handler(request) if self.handler else Reply()
                if not _send_reply(sock, request, reply):
                    return
        except (ConnectionError, OSError):
            return
        finally:
            reader.close()
            try:
                sock.close()
            except OSError:
                pass


def _read_request(reader: socket.SocketIO, connection_id: int) -> Optional[Request]:  # type: ignore[name-defined]
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = reader.readline(65536)
        if not line:
            return None
        if head == b"" and line in (b"\r\n", b"\n"):
            continue
        head += line
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name, value.strip()))
    lowered = {k.lower(): v for k, v in headers}
    if lowered.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(reader.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while reader.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            body += reader.read(size)
            reader.readline()
    else:
        length = int(lowered.get("content-length", "0") or 0)
        body = reader.read(length) if length else b""
    return Request(method, target, version, headers, body, head, connection_id)


def _reset(sock: socket.socket) -> None:
    # SO_LINGER with zero timeout makes close() send RST instead of FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


def _send_reply(sock: socket.socket, request: Request, reply: Reply) -> bool:
    """Send ``reply``; return False when the connection must end."""
    if reply.fault == "reset":
        _reset(sock)
        return False
    if reply.fault == "close":
        sock.close()
        return False
    if reply.stall:
        time.sleep(reply.stall)
    body = reply.encoded_body()
    headers = dict(reply.headers)
    if request.method == "HEAD" or reply.status in (204, 304):
        payload = b""
    else:
        payload = body
    if headers.get("Transfer-Encoding") == "chunked":  # no Content-Length: the size is not announced
        payload = b"".join(b"%x\r\n%s\r\n" % (len(payload[i : i + 65536]), payload[i : i + 65536]) for i in range(0, len(payload), 65536))
        payload += b"0\r\n\r\n"
    else:
        headers.setdefault("Content-Length", str(len(body)))
    if reply.status in (204, 304):
        headers.pop("Content-Length", None)
    reason = reply.reason or REASONS.get(reply.status, "Unknown")
    head = f"HTTP/1.1 {reply.status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    if reply.fault in ("reset_mid_body", "truncate"):
        sock.sendall(head.encode("latin-1") + payload[: max(1, len(payload) // 2)])
        time.sleep(0.05)
        if reply.fault == "reset_mid_body":
            _reset(sock)
        else:
            sock.close()
        return False
    sock.sendall(head.encode("latin-1") + payload)
    return True
