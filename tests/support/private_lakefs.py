"""A private lakeFS server for one test: its own folder and port, stopped, killed and restarted at will.

Fault tests cannot share the session's server: they stop and kill it. ``private_lakefs``
starts a ``LakeFSServer`` (scripts/lakefs_server.py) from the session server's binary, in a
folder of the test's own, and always stops it and removes the folder afterwards. A restart
keeps the port and the data, so a client configured once keeps working across it.

On the S3 store (``LAKEFS_STORE=s3``) the private server's blockstore is the session's store
too, its repositories under a prefix of their own (``namespace_base``).
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

import lakefs_sdk

from support.lakefs import REQUIRE_VARIABLE, LakeFS
from support.s3_store import blockstore_for
from support.s3_store import from_environment as s3_from_environment
from support.scripts import load_script


class PrivateLakeFS:
    """A started private server: ``server`` (a ``LakeFSServer``) and clients of it."""

    def __init__(self, server: Any) -> None:
        self.server = server

    @property
    def endpoint(self) -> str:
        return str(self.server.endpoint)

    @property
    def port(self) -> int:
        return int(self.server.port)

    @property
    def namespace_base(self) -> str:
        """What a repository's name is appended to for its storage namespace on this server."""
        s3 = self.server.s3
        return "local://" if s3 is None else str(s3.namespace_base)

    def configuration(self, **kwargs: Any) -> lakefs_sdk.Configuration:
        """Basic auth as the admin, straight to this server; ``kwargs`` go to ``Configuration``."""
        module = load_script("lakefs_server")
        return lakefs_sdk.Configuration(
            host=self.endpoint + "/api/v1",
            username=module.ACCESS_KEY_ID,
            password=module.SECRET_ACCESS_KEY,
            **kwargs,
        )

    def client(self, **kwargs: Any) -> lakefs_sdk.LakeFSClient:
        """A client of this server (close it, or use it as a context manager)."""
        return lakefs_sdk.LakeFSClient(self.configuration(**kwargs))

    def running(self) -> bool:
        process = self.server.process
        return process is not None and process.poll() is None


@contextmanager
def private_lakefs(lakefs: LakeFS, folder: Path) -> Iterator[PrivateLakeFS]:
    """Start a private lakeFS of the session's version with its data in ``folder``; stop and remove it after."""
    if lakefs.binary is None or not lakefs.binary.is_file():
        message = "LAKEFS_BIN is not set (or not a file): a private lakeFS server needs the binary"
        if os.environ.get(REQUIRE_VARIABLE) == "1":
            pytest.fail(message)
        pytest.skip(message)
    module = load_script("lakefs_server")
    folder.mkdir(parents=True, exist_ok=True)
    s3 = None
    if lakefs.store == "s3":
        s3 = blockstore_for(s3_from_environment(), f"private-{secrets.token_hex(4)}")
    server = module.LakeFSServer(lakefs.binary, folder, lakefs.version, s3=s3)
    try:
        server.start()
        yield PrivateLakeFS(server)
    finally:
        server.cleanup()
