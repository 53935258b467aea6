"""A small, fast HTTP/1.1 loopback server with canned lakeFS responses, for the benchmarks.

It runs in its own process so that the client's CPU time can be measured on its own. One
thread per connection, keep-alive, no framework: a request costs the server a few tens of
microseconds, far less than any client under test.

Routes (everything under ``/api/v1``)::

    GET  /repositories/{r}/branches/{b}           200 a small Ref
    POST /repositories/{r}/branches               201 text/html: a commit ID (createBranch; body dropped)
    POST /repositories/{r}/branches/{b}/commits   201 a Commit (the request body is read and dropped)
    GET  /repositories/{r}/refs/{ref}/objects/ls  200 an ObjectStatsList of --listing-entries entries
    POST /repositories/{r}/branches/{b}/objects   201 an ObjectStats; the body (any size, Content-Length
                                                  or chunked) is streamed into a scratch buffer and dropped.
                                                  A multipart/form-data body must be one part framed with
                                                  the announced boundary (400 otherwise); ``size_bytes``
                                                  in the answer is the part's content size, else the
                                                  body size, so the client can check every byte arrived
    GET  /repositories/{r}/refs/{ref}/objects     200 --object-size bytes (byte i is i % 256), 206 for
                                                  ``Range: bytes=a-b``
    GET  /repositories/{r}/refs/{ref}/objects/stat?path=P
                                                  200 an ObjectStats of path P (as decoded from the query)
                                                  with ``size_bytes`` = ``stat_size(P)``, so that a client
                                                  can check each answer is the one to its own request

    GET  /_bench/stats    {"connections": ..., "requests": ..., "bytes_received": ...}
    POST /_bench/reset    zero the counters

``connections`` counts connections that carried at least one non-``/_bench`` request, so the
harness's own control requests never show up in it.

The server listens on 127.0.0.1 only, prints ``READY <port>`` once it accepts connections,
and exits by itself after ``--max-seconds`` (or on SIGTERM / SIGINT).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse
from typing import Any

CRLF = b"\r\n"
HEADER_END = b"\r\n\r\n"
RECV_SIZE = 1024 * 1024
SEND_CHUNK = 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
# How much of each body's start and end is kept to check multipart framing.
BODY_HEAD_BYTES = 4096
BODY_TAIL_BYTES = 256
COMMIT_ID = "c1f3a5e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a6"


def stat_size(path: str) -> int:
    """The ``size_bytes`` the server answers to a ``stat_object`` of ``path`` (worker.py checks it)."""
    return 4096 + len(path) * 7 + sum(path.encode())


class Stats:
    """Counters shared by all connection threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connections = 0
        self.requests = 0
        self.bytes_received = 0

    def reset(self) -> None:
        """Zero every counter."""
        with self.lock:
            self.connections = self.requests = self.bytes_received = 0

    def snapshot(self) -> dict[str, int]:
        """The counters as a dict."""
        with self.lock:
            return {
                "connections": self.connections,
                "requests": self.requests,
                "bytes_received": self.bytes_received,
            }


class Payloads:
    """The canned response bodies, built once at start-up."""

    def __init__(self, listing_entries: int, object_size: int) -> None:
        self.object_size = object_size
        self.ref = json.dumps({"id": "main", "commit_id": COMMIT_ID}).encode()
        self.commit = json.dumps(
            {
                "id": COMMIT_ID,
                "parents": ["a" * 64],
                "committer": "benchmark",
                "message": "benchmark commit",
                "creation_date": 1_700_000_000,
                "meta_range_id": "b" * 64,
                "metadata": {"source": "benchmark"},
                "generation": 7,
                "version": 1,
            }
        ).encode()
        self.listing = json.dumps(
            {
                "pagination": {
                    "has_more": True,
                    "next_offset": f"data/part-{listing_entries - 1:05d}.parquet",
                    "results": listing_entries,
                    "max_per_page": 1000,
                },
                "results": [_object_stats(i) for i in range(listing_entries)],
            }
        ).encode()
        pattern = bytes(range(256))
        self.chunk = memoryview(pattern * (SEND_CHUNK // len(pattern)))

    def object_stats(self, size: int) -> bytes:
        """The ObjectStats answered to an upload of ``size`` body bytes."""
        stats = _object_stats(0)
        stats["size_bytes"] = size
        return json.dumps(stats).encode()


def _object_stats(i: int) -> dict[str, Any]:
    return {
        "path": f"data/part-{i:05d}.parquet",
        "path_type": "object",
        "physical_address": f"s3://benchmark-bucket/data/_lakefs/{i:08x}{'0' * 24}",
        "checksum": f"{i:032x}",
        "size_bytes": 1_048_576 + i,
        "mtime": 1_700_000_000 + i,
        "metadata": {"owner": "benchmark", "index": str(i)},
        "content_type": "application/octet-stream",
    }


class BodySample:
    """The first and last few bytes of a request body, kept while the rest is dropped."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail = b""

    def feed(self, data: memoryview | bytes | bytearray) -> None:
        """Take note of the next piece of the body."""
        size = len(data)
        if len(self.head) < BODY_HEAD_BYTES:
            self.head += data[: BODY_HEAD_BYTES - len(self.head)]
        if size >= BODY_TAIL_BYTES:
            self.tail = bytes(data[size - BODY_TAIL_BYTES :])
        else:
            self.tail = (self.tail + bytes(data))[-BODY_TAIL_BYTES:]


def multipart_content_size(content_type: str, sample: BodySample, received: int) -> int | None:
    """The size of the single part of a ``multipart/form-data`` body, or None if it is not framed right."""
    _, _, boundary = content_type.partition("boundary=")
    boundary = boundary.split(";", 1)[0].strip().strip('"')
    if not boundary:
        return None
    opening = b"--" + boundary.encode("latin-1") + CRLF
    closing = CRLF + b"--" + boundary.encode("latin-1") + b"--" + CRLF
    head = bytes(sample.head)
    part_start = head.find(HEADER_END)
    if not head.startswith(opening) or part_start < 0 or not sample.tail.endswith(closing):
        return None
    size = received - (part_start + len(HEADER_END)) - len(closing)
    return size if size >= 0 else None


class BadRequest(Exception):
    """The client sent something this server does not understand; the connection is closed."""


class Connection:
    """One client connection: read requests, answer them, until the client closes."""

    def __init__(self, sock: socket.socket, stats: Stats, payloads: Payloads) -> None:
        self.sock = sock
        self.stats = stats
        self.payloads = payloads
        self.buffer = bytearray()
        self.scratch = bytearray(RECV_SIZE)
        self.counted = False
        self.sample = BodySample()

    # -- reading -----------------------------------------------------------------------------

    def _fill(self) -> bool:
        data = self.sock.recv(RECV_SIZE)
        if not data:
            return False
        self.buffer += data
        return True

    def _read_head(self) -> bytes | None:
        while True:
            end = self.buffer.find(HEADER_END)
            if end >= 0:
                head = bytes(self.buffer[:end])
                del self.buffer[: end + 4]
                return head
            if len(self.buffer) > MAX_HEADER_BYTES:
                raise BadRequest("header too large")
            if not self._fill():
                if self.buffer:
                    raise BadRequest("connection closed inside a header")
                return None

    def _read_line(self) -> bytes:
        while True:
            end = self.buffer.find(CRLF)
            if end >= 0:
                line = bytes(self.buffer[:end])
                del self.buffer[: end + 2]
                return line
            if not self._fill():
                raise BadRequest("connection closed inside a chunked body")

    def _discard(self, count: int) -> int:
        """Read and drop exactly ``count`` body bytes."""
        left = count
        buffered = min(left, len(self.buffer))
        if buffered:
            self.sample.feed(self.buffer[:buffered])
            del self.buffer[:buffered]
            left -= buffered
        view = memoryview(self.scratch)
        while left:
            got = self.sock.recv_into(view, min(left, RECV_SIZE))
            if not got:
                raise BadRequest("connection closed inside a body")
            self.sample.feed(view[:got])
            left -= got
        return count

    def _discard_chunked(self) -> int:
        total = 0
        while True:
            size_line = self._read_line().split(b";", 1)[0].strip()
            size = int(size_line, 16)
            if size == 0:
                while self._read_line():  # trailers, then the empty line
                    pass
                return total
            total += self._discard(size)
            if self._read_line():
                raise BadRequest("chunk not followed by CRLF")

    # -- serving -----------------------------------------------------------------------------

    def serve(self) -> None:
        """Answer requests until the client closes the connection."""
        try:
            while True:
                head = self._read_head()
                if head is None:
                    return
                if not self._handle(head):
                    return
        except (BadRequest, ValueError, OSError):
            return
        finally:
            self.sock.close()

    def _handle(self, head: bytes) -> bool:
        lines = head.split(CRLF)
        method, target, version = lines[0].decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        self.sample = BodySample()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            received = self._discard_chunked()
        else:
            received = self._discard(int(headers.get("content-length") or 0))
        path, _, query = target.partition("?")
        keep_alive = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
        if path.startswith("/_bench/"):
            self._control(method, path, keep_alive)
            return keep_alive
        with self.stats.lock:
            self.stats.requests += 1
            self.stats.bytes_received += received
            if not self.counted:
                self.counted = True
                self.stats.connections += 1
        self._route(method, path, query, headers, received, keep_alive)
        return keep_alive

    def _route(
        self, method: str, path: str, query: str, headers: dict[str, str], received: int, keep_alive: bool
    ) -> None:
        parts = path.split("/")
        # ['', 'api', 'v1', 'repositories', r, kind, name, ...]
        tail = parts[5:] if len(parts) > 5 and parts[1:4] == ["api", "v1", "repositories"] else []
        p = self.payloads
        if method == "GET" and len(tail) == 2 and tail[0] == "branches":
            self._send(200, "OK", p.ref, keep_alive)
        elif method == "POST" and tail == ["branches"]:
            self._send(201, "Created", COMMIT_ID.encode(), keep_alive, "text/html")
        elif method == "POST" and len(tail) == 3 and tail[0] == "branches" and tail[2] == "commits":
            self._send(201, "Created", p.commit, keep_alive)
        elif method == "GET" and tail[:1] == ["refs"] and tail[2:] == ["objects", "ls"]:
            self._send(200, "OK", p.listing, keep_alive)
        elif method == "POST" and len(tail) == 3 and tail[0] == "branches" and tail[2] == "objects":
            self._upload_answer(headers.get("content-type", ""), received, keep_alive)
        elif method == "GET" and len(tail) == 3 and tail[0] == "refs" and tail[2] == "objects":
            self._send_object(headers.get("range"), keep_alive)
        elif method == "GET" and tail[:1] == ["refs"] and tail[2:] == ["objects", "stat"]:
            self._send_stat(query, keep_alive)
        else:
            body = json.dumps({"message": f"no route for {method} {path}"}).encode()
            self._send(404, "Not Found", body, keep_alive)

    def _upload_answer(self, content_type: str, received: int, keep_alive: bool) -> None:
        size: int | None = received
        if content_type.lower().startswith("multipart/form-data"):
            size = multipart_content_size(content_type, self.sample, received)
        if size is None:
            body = json.dumps({"message": "malformed multipart/form-data body"}).encode()
            self._send(400, "Bad Request", body, keep_alive)
            return
        self._send(201, "Created", self.payloads.object_stats(size), keep_alive)

    def _send_stat(self, query: str, keep_alive: bool) -> None:
        paths = urllib.parse.parse_qs(query).get("path")
        if not paths:
            self._send(400, "Bad Request", b'{"message": "path is required"}', keep_alive)
            return
        stats = _object_stats(0)
        stats["path"] = paths[0]
        stats["size_bytes"] = stat_size(paths[0])
        self._send(200, "OK", json.dumps(stats).encode(), keep_alive)

    def _control(self, method: str, path: str, keep_alive: bool) -> None:
        if method == "POST" and path == "/_bench/reset":
            self.stats.reset()
        body = json.dumps(self.stats.snapshot()).encode()
        self._send(200, "OK", body, keep_alive)

    def _send(
        self,
        status: int,
        reason: str,
        body: bytes,
        keep_alive: bool,
        content_type: str = "application/json",
    ) -> None:
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"{_connection_header(keep_alive)}"
            "\r\n"
        ).encode("latin-1")
        self.sock.sendall(head + body)

    def _send_object(self, range_header: str | None, keep_alive: bool) -> None:
        size = self.payloads.object_size
        start, end = 0, size - 1
        status, reason, extra = 200, "OK", ""
        if range_header:
            parsed = _parse_range(range_header, size)
            if parsed is None:
                refusal = f"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{size}\r\n"
                body = b'{"message": "range not satisfiable"}'
                refusal += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                self.sock.sendall(refusal.encode("latin-1") + body)
                return
            start, end = parsed
            status, reason, extra = 206, "Partial Content", f"Content-Range: bytes {start}-{end}/{size}\r\n"
        length = end - start + 1
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            "Content-Type: application/octet-stream\r\n"
            f"Content-Length: {length}\r\n"
            f"{extra}"
            f"{_connection_header(keep_alive)}"
            "\r\n"
        ).encode("latin-1")
        self.sock.sendall(head)
        # Byte ``i`` of the object is ``i % 256``; the chunk holds whole periods of the pattern.
        chunk = self.payloads.chunk
        offset = start % 256
        left = length
        while left:
            n = min(left, len(chunk) - offset)
            self.sock.sendall(chunk[offset : offset + n])
            left -= n
            offset = 0


def _connection_header(keep_alive: bool) -> str:
    return "" if keep_alive else "Connection: close\r\n"


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` as an inclusive (start, end) pair, or None."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    elif last:
        start, end = max(0, size - int(last)), size - 1
    else:
        return None
    if start > end or start >= size:
        return None
    return start, end


def serve(port: int, listing_entries: int, object_size: int, max_seconds: float) -> None:
    """Listen on 127.0.0.1:``port`` (0 picks a free one) and serve until stopped."""
    stats = Stats()
    payloads = Payloads(listing_entries, object_size)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(256)
    deadline = time.monotonic() + max_seconds

    def stop(*_: Any) -> None:
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Timer(max_seconds, stop).start()
    print(f"READY {listener.getsockname()[1]}", flush=True)
    while time.monotonic() < deadline:
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        thread = threading.Thread(target=Connection(sock, stats, payloads).serve, daemon=True)
        thread.start()


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--listing-entries", type=int, default=1000, help="entries in the list_objects answer")
    parser.add_argument("--object-size", type=int, default=1 << 30, help="bytes served by get_object")
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="exit by itself after this long")
    args = parser.parse_args(argv)
    serve(args.port, args.listing_entries, args.object_size, args.max_seconds)


if __name__ == "__main__":
    main(sys.argv[1:])
