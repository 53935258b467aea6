"""The urllib3 ``PoolManager`` of the sync transport, without urllib3's per-request lookups.

urllib3 spends, on every request, 80k instructions parsing the absolute URL and 65k
deriving a pool key from the host and every pool setting: together more than this package
spends preparing a call. Here the pool of a host is found in a dict, and a ``GET`` without
a body goes to its host's pool with its URL as is. Redirects are followed as urllib3
follows them.
"""

from __future__ import annotations

from typing import Any, Dict, Hashable, Optional
from urllib.parse import urljoin

import urllib3
from urllib3.exceptions import MaxRetryError

# Request headers that describe a body: dropped when a 303 turns the request into a GET.
_BODY_HEADERS = ("content-", "digest", "last-modified", "transfer-encoding")


class PoolManager(urllib3.PoolManager):
    """urllib3's ``PoolManager``, finding the pool of a host in a dict before anything else.

    The pool of a ``(scheme, host, port)``, and of a URL's ``scheme://host:port`` as
    written, is the same each time as long as urllib3 keeps it: the dict is emptied when
    urllib3 may have let a pool go (``clear()``, or a new pool that took the place of
    another host's), and a pool closed meanwhile is looked up again.
    """

    def __init__(self, num_pools: int = 10, **kwargs: Any) -> None:
        super().__init__(num_pools, **kwargs)
        self._found: Dict[Hashable, urllib3.HTTPConnectionPool] = {}

    def connection_from_host(
        self,
        host: Optional[str],
        port: Optional[int] = None,
        scheme: Optional[str] = "http",
        pool_kwargs: Optional[Dict[str, Any]] = None,
    ) -> urllib3.HTTPConnectionPool:
        if pool_kwargs:
            return super().connection_from_host(host, port, scheme, pool_kwargs)
        key = (scheme, host, port)
        pool = self._found.get(key)
        if pool is None or pool.pool is None:  # not found yet, or closed since
            kept = len(self.pools)
            pool = super().connection_from_host(host, port, scheme)
            if len(self.pools) <= kept:  # no pool added: maybe one in place of another
                self._found.clear()
            self._found[key] = pool
        return pool

    def clear(self) -> None:
        self._found.clear()
        super().clear()

    def open_url(self, method: str, url: str, **kw: Any) -> urllib3.BaseHTTPResponse:
        """As ``urlopen(method, url, redirect=True, **kw)``, without parsing the URL of a ``GET`` without a body.

        Such a ``GET`` goes to the pool of its ``scheme://host:port`` with its path and query
        as written (the pool encodes what needs encoding, as it does for ``urlopen``).
        """
        cut = _path_start(url) if method == "GET" and kw.get("body") is None else 0
        if not cut:
            return self.urlopen(method, url, True, **kw)
        origin = url[:cut]
        pool = self._found.get(origin)
        if pool is None or pool.pool is None:
            pool = self.connection_from_url(origin)
            self._found[origin] = pool
        kw["assert_same_host"] = False
        response = pool.urlopen(method, url[cut:], redirect=False, **kw)
        location = response.get_redirect_location()
        if not location:
            return response
        return self._redirect(response, url, urljoin(url, location), pool, kw)

    def _redirect(
        self,
        response: urllib3.BaseHTTPResponse,
        url: str,
        location: str,
        pool: urllib3.HTTPConnectionPool,
        kw: Dict[str, Any],
    ) -> urllib3.BaseHTTPResponse:
        """Take the first redirect of a ``GET`` as urllib3 does, and let urllib3 follow the rest."""
        headers: Dict[str, str] = dict(kw.get("headers") or self.headers)
        if response.status == 303:  # the request becomes a GET without a body: it is one already
            headers = {k: v for k, v in headers.items() if not k.lower().startswith(_BODY_HEADERS)}
        retries = kw.get("retries", response.retries)
        if not isinstance(retries, urllib3.Retry):
            retries = urllib3.Retry.from_int(retries, redirect=True)
        private = retries.remove_headers_on_redirect
        if private and not pool.is_same_host(location):  # credentials never go to another host
            headers = {k: v for k, v in headers.items() if k.lower() not in private}
        try:
            retries = retries.increment("GET", url, response=response, _pool=pool)
        except MaxRetryError:
            if retries.raise_on_redirect:
                response.drain_conn()
                raise
            return response
        response.drain_conn()
        kw.update(headers=headers, retries=retries)
        return self.urlopen("GET", location, True, **kw)


def _path_start(url: str) -> int:
    """Where the path of ``scheme://host[:port]/path...`` starts; 0 for any other form (no shortcut)."""
    authority = url.find("://")
    if authority <= 0:
        return 0
    end = url.find("/", authority + 3)
    if end <= 0 or any(c in url[:end] for c in "?#@"):
        return 0
    return end
