"""A loopback proxy in front of the S3 store, for presigned URLs: it records, injects faults, and
refuses any lakeFS credential.

A lakeFS started with ``blockstore.s3.pre_signed_endpoint`` set to :attr:`StoreProxy.url`
hands out presigned URLs on this proxy, so every request a client sends to "the store"
passes here. The ``Host`` header is forwarded unchanged: a SigV4 presigned URL signs it.

Each request is checked before it is forwarded. An ``Authorization``, ``Proxy-Authorization``
or ``Cookie`` header, or one of the ``secrets`` (the lakeFS access key, its secret ...)
anywhere in the request (target, decoded or not, header names and values, body) is a
*violation*: it is recorded in :attr:`StoreProxy.violations` and answered 403 without
reaching the store. (SeaweedFS ignores a stray ``Authorization`` header on a presigned
request, so only a proxy can tell.)

``fault`` (a function of the request) may answer a request instead of the store: a
:class:`~support.loopback.Reply` with a status (503 ...) or a transport fault
(``"reset"`` drops the connection once the request has arrived). While the store is down,
a request gets its connection closed, as a dead store's would be. :meth:`retarget` points
the proxy at the store once it is back on other ports.

With ``refuse_credentials=False`` it only forwards: that is how lakeFS itself reaches a
store that restarts (lakeFS signs its requests, with the store's keys).
"""

from __future__ import annotations

import base64
import http.client
import threading
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple
from urllib.parse import parse_qs, quote, unquote, urlsplit

from support.loopback import LoopbackServer, Reply, Request

# Not forwarded either way: they describe one hop. Host is forwarded (it is signed).
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}
CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie")

Fault = Callable[[Request], Optional[Reply]]


@dataclass
class StoreRequest:
    """One request that reached the proxy, and what became of it."""

    method: str
    target: str
    headers: List[Tuple[str, str]]
    body_size: int
    status: int  # the store's answer or the injected one; 0: a transport fault, or the store was down
    injected: bool  # answered by ``fault``, not by the store

    @property
    def query(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(urlsplit(self.target).query).items()}

    @property
    def part_number(self) -> Optional[int]:
        """The part a multipart-upload PUT carries (``partNumber``), None for other requests."""
        number = self.query.get("partNumber")
        return int(number) if number is not None and number.isdigit() else None

    @property
    def key(self) -> str:
        """The object key of a path-style request (``/bucket/key``), decoded."""
        return unquote(urlsplit(self.target).path).split("/", 2)[-1]


def needles(access_key_id: str, secret_access_key: str) -> List[str]:
    """Every form a lakeFS credential pair could take in a request: raw, percent-encoded, Basic."""
    forms = {access_key_id, secret_access_key, quote(secret_access_key, safe=""), quote(secret_access_key)}
    basic = base64.b64encode(f"{access_key_id}:{secret_access_key}".encode()).decode()
    forms.add(basic)
    return sorted(form for form in forms if form)


class StoreProxy:
    """Loopback proxy to the S3 store at ``upstream_url``; a context manager."""

    def __init__(
        self,
        upstream_url: str,
        secrets: Sequence[str],
        fault: Optional[Fault] = None,
        refuse_credentials: bool = True,
    ) -> None:
        self._upstream = self._address(upstream_url)
        self._secrets = [s for s in secrets if s]
        self.refuse_credentials = refuse_credentials
        self.fault = fault
        self.requests: List[StoreRequest] = []
        self.violations: List[str] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        self._server = LoopbackServer(self._forward)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: what presigned URLs point at."""
        return self._server.url

    def __enter__(self) -> StoreProxy:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    @staticmethod
    def _address(url: str) -> Tuple[str, int]:
        parts = urlsplit(url)
        return parts.hostname or "127.0.0.1", parts.port or 80

    def retarget(self, upstream_url: str) -> None:
        """Forward to ``upstream_url`` from now on (the store came back on another port)."""
        self._upstream = self._address(upstream_url)

    def mark(self) -> int:
        """Position in the request log, to look only at requests after it."""
        with self._lock:
            return len(self.requests)

    def since(self, mark: int) -> List[StoreRequest]:
        with self._lock:
            return self.requests[mark:]

    def check(self, request: Request) -> List[str]:
        """What in ``request`` must not reach the store (empty when nothing)."""
        found = []
        for name, _value in request.headers:
            if name.lower() in CREDENTIAL_HEADERS:
                found.append(f"{request.method} {request.path}: a {name} header was sent to the store")
        places = {
            "the request target": request.target,
            "the decoded request target": unquote(request.target),
            "a header": "\n".join(f"{name}: {value}" for name, value in request.headers),
        }
        for secret in self._secrets:
            for where, text in places.items():
                if secret in text:
                    found.append(f"{request.method} {request.path}: a lakeFS credential is in {where}")
            if secret.encode() in request.body:
                found.append(f"{request.method} {request.path}: a lakeFS credential is in the body")
        return found

    def _record(self, request: Request, status: int, injected: bool) -> None:
        entry = StoreRequest(request.method, request.target, request.headers, len(request.body), status, injected)
        with self._lock:
            self.requests.append(entry)

    def _connection(self) -> http.client.HTTPConnection:
        conn: Optional[http.client.HTTPConnection] = getattr(self._local, "conn", None)
        if conn is not None and (conn.host, conn.port) != self._upstream:
            conn.close()
            conn = None
        if conn is None:
            conn = http.client.HTTPConnection(*self._upstream, timeout=120)
            self._local.conn = conn
        return conn

    def _forward(self, request: Request) -> Reply:
        violations = self.check(request) if self.refuse_credentials else []
        if violations:
            with self._lock:
                self.violations.extend(violations)
            self._record(request, 403, True)
            return Reply(403, "store proxy: a lakeFS credential was sent to the object store", {})
        fault = self.fault
        injected = fault(request) if fault is not None else None
        if injected is not None:
            self._record(request, 0 if injected.fault else injected.status, True)
            return injected
        headers = {k: v for k, v in request.headers if k.lower() not in HOP_BY_HOP}
        if request.body or request.method in ("POST", "PUT"):
            headers["Content-Length"] = str(len(request.body))
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(request.method, request.target, body=request.body or None, headers=headers)
                response = conn.getresponse()
                body = response.read()
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:  # the store is down: the client's connection is closed, unanswered
                    self._record(request, 0, False)
                    raise
        reply_headers = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
        if request.method == "HEAD" and response.getheader("Content-Length") is not None:
            reply_headers["Content-Length"] = response.getheader("Content-Length", "")
        self._record(request, response.status, False)
        return Reply(response.status, body, reply_headers, reason=response.reason)


class FailParts:
    """A ``fault``: the PUTs of part ``number`` get ``reply`` the first ``times`` times (every time: None)."""

    def __init__(self, number: int, reply: Callable[[], Reply], times: Optional[int] = 1) -> None:
        self.number, self.reply, self.times = number, reply, times
        self.failed = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Optional[Reply]:
        if request.method != "PUT" or parse_qs(request.query).get("partNumber") != [str(self.number)]:
            return None
        with self._lock:
            if self.times is not None and self.failed >= self.times:
                return None
            self.failed += 1
        return self.reply()
