"""A loopback proxy in front of the recording Prism proxy, for steering Prism per operation.

Prism answers each operation with one fixed (static) or generated (dynamic) response. To
drive a client down another path, ``ScriptedProxy`` sits between the client and a
``PrismProxy`` and, for the operations it is told about:

* adds a ``Prefer`` header (``{"mergeIntoBranch": "code=412"}``), so that Prism itself
  answers with another of the responses the spec declares;
* or rewrites Prism's response body with a function of the request and the body
  (``{"importStatus": scripted}``), to play a sequence of server states. A rewrite must
  keep the body valid for the spec; tests build it with the SDK's models.

Every request still reaches Prism through the ``PrismProxy``, which validates it and records
the exchange (with Prism's own response) as usual.
"""

from __future__ import annotations

import http.client
from typing import Callable, Dict, Mapping, Optional
from urllib.parse import urlsplit

from support.loopback import LoopbackServer, Reply, Request
from support.recording_proxy import BASE_PATH, HOP_BY_HOP, PrismProxy

Rewrite = Callable[[Request, bytes], bytes]


class ScriptedProxy:
    """Loopback proxy to ``upstream``; ``url`` is what clients use as host. A context manager."""

    def __init__(
        self,
        upstream: PrismProxy,
        prefer: Optional[Mapping[str, str]] = None,
        rewrite: Optional[Mapping[str, Rewrite]] = None,
    ) -> None:
        parts = urlsplit(upstream.url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._index = upstream.index
        self.prefer: Dict[str, str] = dict(prefer or {})
        self.rewrite: Dict[str, Rewrite] = dict(rewrite or {})
        self._server = LoopbackServer(self._forward)

    @property
    def url(self) -> str:
        return self._server.url + BASE_PATH

    def __enter__(self) -> ScriptedProxy:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    def _forward(self, request: Request) -> Reply:
        path = request.path[len(BASE_PATH) :] if request.path.startswith(BASE_PATH) else request.path
        operation_id = self._index.match(request.method, path)
        headers = {k: v for k, v in request.headers if k.lower() not in HOP_BY_HOP}
        if request.body or request.method in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(request.body))
        if operation_id in self.prefer:
            headers["Prefer"] = self.prefer[operation_id]
        connection = http.client.HTTPConnection(*self._upstream, timeout=60)
        try:
            connection.request(request.method, request.target, body=request.body or None, headers=headers)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        rewrite = self.rewrite.get(operation_id or "")
        if rewrite is not None and 200 <= response.status <= 299:
            body = rewrite(request, body)
        reply_headers = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
        return Reply(response.status, body, reply_headers, reason=response.reason)
