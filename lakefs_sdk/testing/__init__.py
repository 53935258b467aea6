"""``lakefs_sdk.testing``: test your code that uses lakeFS, without a server or with a real one.

* :class:`MockTransport` / :class:`AsyncMockTransport`: give one to
  ``ApiClient(configuration, transport=...)`` / ``AsyncApiClient(...)`` and a function of
  yours answers every request (:class:`Request` in, :class:`Response` out); nothing goes
  over the network, and errors, pagination, streaming and retries behave as with a server.
* The pytest plugin (:mod:`lakefs_sdk.testing.plugin`, loaded automatically once
  ``lakefs-sdk`` is installed): fixtures ``lakefs_server`` (a real lakeFS on 127.0.0.1,
  from ``LAKEFS_BIN``, ``--lakefs-bin`` or ``lakefs`` on ``PATH``), ``lakefs_client`` and
  ``lakefs_repository``.
* :class:`LakeFSServer` and :func:`find_binary`: start a lakeFS server yourself. Importing
  them (``from lakefs_sdk.testing import LakeFSServer``) loads only the standard library,
  so a script run by a bare ``python3`` with the source tree on ``sys.path`` can use them.

See docs/testing.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakefs_sdk._lazy import lazy_module

# Loaded on first use: the pytest plugin imports this package in every pytest run of an
# environment holding lakefs-sdk, and needs only the launcher (standard library) to start.
_EXPORTS = {
    "MockTransport": "._mock",
    "AsyncMockTransport": "._mock",
    "Handler": "._mock",
    "AsyncHandler": "._mock",
    "Request": "._messages",
    "Response": "._messages",
    "QueryParams": "._messages",
    "LakeFSServer": "._launcher",
    "find_binary": "._launcher",
    "BinaryNotFoundError": "._launcher",
    "NO_BINARY_MESSAGE": "._launcher",
    "ACCESS_KEY_ID": "._launcher",
    "SECRET_ACCESS_KEY": "._launcher",
    "ADMIN_USER": "._launcher",
    "free_port": "._launcher",
    "merge_config": "._launcher",
}

__all__ = [
    "MockTransport",
    "AsyncMockTransport",
    "Handler",
    "AsyncHandler",
    "Request",
    "Response",
    "QueryParams",
    "LakeFSServer",
    "find_binary",
    "BinaryNotFoundError",
    "NO_BINARY_MESSAGE",
    "ACCESS_KEY_ID",
    "SECRET_ACCESS_KEY",
    "ADMIN_USER",
    "free_port",
    "merge_config",
]

__getattr__, __dir__ = lazy_module(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from lakefs_sdk.testing._launcher import (
        ACCESS_KEY_ID,
        ADMIN_USER,
        NO_BINARY_MESSAGE,
        SECRET_ACCESS_KEY,
        BinaryNotFoundError,
        LakeFSServer,
        find_binary,
        free_port,
        merge_config,
    )
    from lakefs_sdk.testing._messages import QueryParams, Request, Response
    from lakefs_sdk.testing._mock import AsyncHandler, AsyncMockTransport, Handler, MockTransport
