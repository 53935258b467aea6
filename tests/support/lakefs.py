"""The real lakeFS server the integration suite runs against, and helpers for tests on it.

``scripts/test.sh`` builds and starts lakeFS (``scripts/lakefs_server.py``) and exports
``LAKEFS_ENDPOINT`` and friends; :func:`from_environment` reads them. Tests reach the
server through a recording proxy, so the integration coverage gate counts what went over
the wire (``INTEGRATION_GATE``). Nothing here talks to any address but 127.0.0.1.

The server's blockstore is ``local`` (files on this machine) or ``s3`` (a SeaweedFS store on
127.0.0.1): ``LAKEFS_STORE`` says which, ``LAKEFS_NAMESPACE_BASE`` is what a repository's
name is appended to for its storage namespace. :data:`ON_S3`, :data:`local_store_only` and
:data:`s3_store_only` let a test say which store it needs; :func:`create_repository` puts
repositories on the server's store.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import pytest

import lakefs_sdk

from support.gate import Gate
from support.recording_proxy import Exchange, RecordingProxy
from support.store_modules import integration_modules

REQUIRE_VARIABLE = "LAKEFS_SDK_REQUIRE_LAKEFS"
_counter = itertools.count(1)


def store_kind() -> str:
    """The blockstore of the session's server: ``local`` (the default) or ``s3``."""
    return os.environ.get("LAKEFS_STORE", "local") or "local"


def namespace_base() -> str:
    """What a repository's name is appended to for its storage namespace on the session's server."""
    return os.environ.get("LAKEFS_NAMESPACE_BASE", "local://") or "local://"


ON_S3 = store_kind() == "s3"
local_store_only = pytest.mark.skipif(
    ON_S3, reason="looks at the local blockstore (its files, or what it refuses): runs with LAKEFS_STORE=local"
)
s3_store_only = pytest.mark.skipif(
    not ON_S3, reason="needs lakeFS on an S3 store (LAKEFS_STORE=s3): scripts/lakefs_server.py start --store s3"
)

# On S3 the suite is the store-dependent modules (tests/support/store_modules.py), run after the
# whole suite ran on the local store; its coverage line counts that run's operations only.
INTEGRATION_GATE = Gate(
    Path(__file__).resolve().parents[1] / "integration",
    f"real-server coverage ({store_kind()} store)",
    modules=integration_modules() if ON_S3 else None,
)


@dataclass(frozen=True)
class LakeFS:
    """Where the server is and what it is."""

    endpoint: str  # http://127.0.0.1:PORT, without /api/v1
    version: str  # "1.84.0"
    access_key_id: str
    secret_access_key: str
    import_dir: Path  # a folder the server may import from
    binary: Optional[Path]  # for tests that start a private server of their own
    store: str = "local"  # the blockstore: "local" or "s3"
    namespace_base: str = "local://"  # a repository's storage namespace is this + its name

    @property
    def version_info(self) -> Tuple[int, ...]:
        return tuple(int(n) for n in self.version.split("."))

    def at_least(self, version: str) -> bool:
        """True when the server is ``version`` or newer."""
        return self.version_info >= tuple(int(n) for n in version.split("."))

    def configuration(self, host: Optional[str] = None, **kwargs: object) -> lakefs_sdk.Configuration:
        """Basic auth as the admin, fast retries; ``host`` defaults to the server itself."""
        configuration = lakefs_sdk.Configuration(
            host=host or self.endpoint + "/api/v1",
            username=self.access_key_id,
            password=self.secret_access_key,
            **kwargs,  # type: ignore[arg-type]
        )
        configuration.retry_backoff = 0.05
        return configuration


def from_environment() -> LakeFS:
    """The server ``scripts/test.sh`` started, or a skip (a failure when it is required)."""
    endpoint = os.environ.get("LAKEFS_ENDPOINT")
    if not endpoint:
        message = "LAKEFS_ENDPOINT is not set: run scripts/test.sh, which starts lakeFS"
        if os.environ.get(REQUIRE_VARIABLE) == "1":
            pytest.fail(message)
        pytest.skip(message)
    binary = os.environ.get("LAKEFS_BIN")
    return LakeFS(
        endpoint=endpoint.rstrip("/"),
        version=os.environ.get("LAKEFS_VERSION", "0.0.0"),
        access_key_id=os.environ["LAKEFS_ACCESS_KEY_ID"],
        secret_access_key=os.environ["LAKEFS_SECRET_ACCESS_KEY"],
        import_dir=Path(os.environ["LAKEFS_IMPORT_DIR"]),
        binary=Path(binary) if binary else None,
        store=store_kind(),
        namespace_base=namespace_base(),
    )


def unique_name(hint: str = "repo") -> str:
    """A repository-safe name (``^[a-z0-9][a-z0-9-]{2,62}$``) no other test uses."""
    slug = re.sub(r"[^a-z0-9]+", "-", hint.lower()).strip("-")[:36] or "t"
    return f"{slug}-{next(_counter)}-{secrets.token_hex(3)}"


def create_repository(
    client: lakefs_sdk.LakeFSClient, hint: str = "repo", *, base: Optional[str] = None, **kwargs: object
) -> str:
    """Create a fresh repository (default branch ``main``) on the server's store; return its name.

    Its storage namespace is ``base`` (default: ``LAKEFS_NAMESPACE_BASE``, else ``local://``)
    followed by its name.
    """
    name = unique_name(hint)
    storage_namespace = (base or namespace_base()) + name
    client.repositories_api.create_repository(
        lakefs_sdk.RepositoryCreation(name=name, storage_namespace=storage_namespace, **kwargs)  # type: ignore[arg-type]
    )
    return name


def delete_repository(client: lakefs_sdk.LakeFSClient, name: str) -> None:
    """Delete a repository a test created; one that is already gone is fine."""
    try:
        client.repositories_api.delete_repository(name, force=True)
    except lakefs_sdk.NotFoundException:
        pass


class Wire:
    """The exchanges one test caused on the recording proxy."""

    def __init__(self, proxy: RecordingProxy) -> None:
        self.proxy = proxy
        self.start = proxy.mark()

    def exchanges(self) -> List[Exchange]:
        return self.proxy.since(self.start)

    def operations(self) -> List[str]:
        """The operationIds this test sent, in order."""
        return [e.operation_id or f"{e.method} {e.target}" for e in self.exchanges()]

    def last(self, operation_id: str) -> Exchange:
        """The last exchange of ``operation_id`` in this test."""
        found = [e for e in self.exchanges() if e.operation_id == operation_id]
        assert found, f"no {operation_id} request went over the wire; sent: {self.operations()}"
        return found[-1]


def succeeded(exchange: Exchange) -> bool:
    """True for an exchange the server answered with a 2xx or 3xx."""
    return 200 <= exchange.status < 400


def statuses(exchanges: Iterator[Exchange] | list[Exchange], operation_id: str) -> list[int]:
    """The statuses the server answered ``operation_id`` with, in order."""
    return [e.status for e in exchanges if e.operation_id == operation_id]
