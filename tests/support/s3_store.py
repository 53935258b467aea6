"""The S3 store under lakeFS (``LAKEFS_STORE=s3``), reached directly with its own keys.

``scripts/lakefs_server.py start --store s3`` prints the store's endpoint, keys and bucket
(``OBJECT_STORE_*``). Tests use them to check what lakeFS wrote is really in the store, to
remove an object's data behind lakeFS's back, and to put objects there for an import. Every
request is signed (AWS Signature V4) by ``scripts/object_store.py``'s ``s3_request``; the
store is on 127.0.0.1.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest

from support.scripts import load_script

VARIABLES = ("OBJECT_STORE_ENDPOINT", "OBJECT_STORE_ACCESS_KEY_ID", "OBJECT_STORE_SECRET_ACCESS_KEY")
_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def split_address(address: str) -> Tuple[str, str]:
    """``s3://bucket/some/key`` -> ``("bucket", "some/key")``."""
    parts = urlsplit(address)
    assert parts.scheme == "s3" and parts.netloc, f"not an s3:// address: {address!r}"
    return parts.netloc, parts.path.lstrip("/")


@dataclass(frozen=True)
class S3Store:
    """The store's credentials (``scripts/object_store.py``'s ``S3Credentials``) and bucket."""

    credentials: Any
    bucket: str

    @property
    def endpoint(self) -> str:
        return str(self.credentials.endpoint)

    def request(
        self, method: str, bucket: str, key: str = "", body: bytes = b"", query: Optional[Mapping[str, str]] = None
    ) -> Any:
        """One signed request to ``/bucket/key``; the answer (``status``, ``headers``, ``body``) whatever its status."""
        module = load_script("object_store")
        path = f"/{bucket}/{key}" if key else f"/{bucket}"
        return module.s3_request(self.credentials, method, path, body, dict(query or {}))

    def put(self, address: str, data: bytes) -> None:
        """Write ``data`` at ``s3://bucket/key``."""
        bucket, key = split_address(address)
        answer = self.request("PUT", bucket, key, data)
        assert answer.status == 200, (address, answer.status, answer.body[:300])

    def get(self, address: str) -> bytes:
        """The bytes at ``s3://bucket/key``."""
        bucket, key = split_address(address)
        answer = self.request("GET", bucket, key)
        assert answer.status == 200, (address, answer.status, answer.body[:300])
        data: bytes = answer.body
        return data

    def status(self, address: str) -> int:
        """The status a HEAD of ``s3://bucket/key`` gets (200 when it is there, 404 when not)."""
        bucket, key = split_address(address)
        return int(self.request("HEAD", bucket, key).status)

    def delete(self, address: str) -> None:
        """Remove ``s3://bucket/key`` (a missing key is fine: S3 answers 204 either way)."""
        bucket, key = split_address(address)
        answer = self.request("DELETE", bucket, key)
        assert answer.status in (200, 204), (address, answer.status, answer.body[:300])

    def keys(self, prefix_address: str) -> List[str]:
        """The keys under ``s3://bucket/prefix`` (one listing page: up to 1000), as full addresses."""
        bucket, prefix = split_address(prefix_address)
        answer = self.request("GET", bucket, query={"list-type": "2", "prefix": prefix})
        assert answer.status == 200, (prefix_address, answer.status, answer.body[:300])
        root = ElementTree.fromstring(answer.body)
        return [f"s3://{bucket}/{node.text}" for node in root.iter(f"{_S3_NS}Key")]

    def scratch_prefix(self, hint: str) -> str:
        """A fresh ``s3://bucket/<hint>-<random>/`` no lakeFS repository lives under."""
        return f"s3://{self.bucket}/{hint}-{secrets.token_hex(4)}/"


def from_environment() -> S3Store:
    """The store ``scripts/lakefs_server.py start --store s3`` printed; a clear failure when it did not."""
    missing = [name for name in VARIABLES if not os.environ.get(name)]
    if missing:
        pytest.fail(f"LAKEFS_STORE=s3 but {', '.join(missing)} not set: start the pair with scripts/lakefs_server.py")
    module = load_script("object_store")
    credentials = module.S3Credentials(
        endpoint=os.environ["OBJECT_STORE_ENDPOINT"],
        access_key_id=os.environ["OBJECT_STORE_ACCESS_KEY_ID"],
        secret_access_key=os.environ["OBJECT_STORE_SECRET_ACCESS_KEY"],
        region=os.environ.get("OBJECT_STORE_REGION") or module.REGION,
    )
    return S3Store(credentials, os.environ.get("OBJECT_STORE_BUCKET") or module.BUCKET)


def blockstore_for(store: S3Store, prefix: str, **options: Optional[str]) -> Any:
    """A ``scripts/lakefs_server.py`` ``S3Blockstore`` on ``store`` whose repositories go under ``prefix``.

    For a private server (fault tests) that shares the session's store: its namespaces are
    ``s3://<bucket>/<prefix>/<repository>``, apart from the session server's.
    """
    module = load_script("lakefs_server")
    credentials = store.credentials
    settings: Dict[str, Any] = {k: v for k, v in options.items() if v is not None}
    return module.S3Blockstore(
        endpoint=credentials.endpoint,
        access_key_id=credentials.access_key_id,
        secret_access_key=credentials.secret_access_key,
        bucket=store.bucket,
        prefix=prefix,
        region=credentials.region,
        **settings,
    )
