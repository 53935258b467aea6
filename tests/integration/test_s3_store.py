"""lakeFS on a real S3 store (SeaweedFS on 127.0.0.1): repositories on S3, presigned URLs and uploads.

Runs only against a server started with ``--store s3`` (``LAKEFS_STORE=s3``); the default
server of ``scripts/test.sh`` has the local blockstore, which cannot presign, and every test
here but the signer's check is skipped with that reason. To run them::

    eval "$(scripts/lakefs-server.sh start --store s3)"
    .venv-test/bin/python -m pytest tests/integration/test_s3_store.py
    scripts/lakefs-server.sh stop

Repositories live under ``LAKEFS_NAMESPACE_BASE`` (``s3://<bucket>/<prefix>/``). What lakeFS
wrote is also read straight from the store, with the store's own keys (``OBJECT_STORE_*``)
and a signed request, so that a pass means the bytes are in SeaweedFS, not somewhere else.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import secrets
from typing import Any, Dict, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3

import lakefs_sdk
from lakefs_sdk import transfer
from lakefs_sdk.models import RepositoryCreation

from support.lakefs import Wire, delete_repository, unique_name
from support.scripts import load_script

needs_s3 = pytest.mark.skipif(
    os.environ.get("LAKEFS_STORE") != "s3",
    reason="needs lakeFS on an S3 store (LAKEFS_STORE=s3): scripts/lakefs-server.sh start --store s3",
)

object_store = load_script("object_store")
STORE_VARIABLES = ("OBJECT_STORE_ENDPOINT", "OBJECT_STORE_ACCESS_KEY_ID", "OBJECT_STORE_SECRET_ACCESS_KEY")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def namespace_base() -> str:
    base = os.environ.get("LAKEFS_NAMESPACE_BASE", "")
    assert base.startswith("s3://") and base.endswith("/"), f"LAKEFS_NAMESPACE_BASE={base!r}"
    return base


@pytest.fixture(scope="module")
def store() -> Any:
    """The S3 store's endpoint and keys, as ``scripts/lakefs_server.py`` printed them."""
    missing = [name for name in STORE_VARIABLES if not os.environ.get(name)]
    assert not missing, f"LAKEFS_STORE=s3 but {missing} not set: start the pair with scripts/lakefs-server.sh"
    return object_store.S3Credentials(
        endpoint=os.environ["OBJECT_STORE_ENDPOINT"],
        access_key_id=os.environ["OBJECT_STORE_ACCESS_KEY_ID"],
        secret_access_key=os.environ["OBJECT_STORE_SECRET_ACCESS_KEY"],
        region=os.environ.get("OBJECT_STORE_REGION", "us-east-1"),
    )


@pytest.fixture
def s3_repo(
    request: pytest.FixtureRequest, lakefs_client: lakefs_sdk.LakeFSClient, namespace_base: str
) -> Iterator[str]:
    """A fresh repository whose storage namespace is on the S3 store; deleted afterwards."""
    name = unique_name(request.node.name)
    lakefs_client.repositories_api.create_repository(
        RepositoryCreation(name=name, storage_namespace=namespace_base + name)
    )
    yield name
    delete_repository(lakefs_client, name)


def read_from_store(store: Any, physical_address: str) -> bytes:
    """The bytes at ``s3://bucket/key``, read from the store itself with a signed GET."""
    parts = urlsplit(physical_address)
    assert parts.scheme == "s3", physical_address
    answer = object_store.s3_request(store, "GET", f"/{parts.netloc}{parts.path}")
    assert answer.status == 200, (answer.status, answer.body[:300])
    data: bytes = answer.body
    return data


@needs_s3
def test_the_server_reports_an_s3_store_that_presigns(
    lakefs_client: lakefs_sdk.LakeFSClient, namespace_base: str
) -> None:
    storage = lakefs_client.config_api.get_config().storage_config
    assert storage is not None
    assert storage.blockstore_type == "s3"
    assert storage.pre_sign_support is True
    assert transfer.supports_presign(lakefs_client.objects_api.api_client) is True
    assert storage.default_namespace_prefix in (None, "") or namespace_base.startswith(storage.default_namespace_prefix)


@needs_s3
def test_a_repository_on_s3_keeps_uploaded_objects_in_the_store(
    lakefs_client: lakefs_sdk.LakeFSClient, s3_repo: str, namespace_base: str, store: Any
) -> None:
    objects = lakefs_client.objects_api
    assert lakefs_client.repositories_api.get_repository(s3_repo).storage_namespace == namespace_base + s3_repo
    data = secrets.token_bytes(256 * 1024 + 7)
    stats = transfer.upload(objects, s3_repo, "main", "dir/data.bin", data)
    assert stats.size_bytes == len(data)
    assert sha256(objects.get_object(s3_repo, "main", "dir/data.bin")) == sha256(data)
    address = objects.stat_object(s3_repo, "main", "dir/data.bin").physical_address
    assert address.startswith(namespace_base + s3_repo + "/"), address
    assert sha256(read_from_store(store, address)) == sha256(data)


@needs_s3
def test_stat_object_presign_gives_a_url_on_the_store(
    lakefs_client: lakefs_sdk.LakeFSClient, s3_repo: str, store: Any
) -> None:
    objects = lakefs_client.objects_api
    data = secrets.token_bytes(64 * 1024)
    transfer.upload(objects, s3_repo, "main", "p/obj", data)
    stats = objects.stat_object(s3_repo, "main", "p/obj", presign=True)
    url = stats.physical_address
    assert url.startswith(store.endpoint + "/"), url
    query = parse_qs(urlsplit(url).query)
    assert query.get("X-Amz-Algorithm") == ["AWS4-HMAC-SHA256"] and "X-Amz-Signature" in query, url
    assert stats.physical_address_expiry is not None and stats.physical_address_expiry > 0
    # Anyone holding the URL can read the object: no credentials are sent.
    answer = urllib3.request("GET", url, retries=False, timeout=10)
    assert answer.status == 200
    assert sha256(answer.data) == sha256(data)
    # A tampered signature is refused: the store does check it.
    forged = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert urllib3.request("GET", forged, retries=False, timeout=10).status == 403


@needs_s3
def test_get_object_presign_redirects_to_the_store_and_returns_the_bytes(
    lakefs_client: lakefs_sdk.LakeFSClient, s3_repo: str, store: Any, wire: Wire
) -> None:
    objects = lakefs_client.objects_api
    data = secrets.token_bytes(512 * 1024 + 1)
    transfer.upload(objects, s3_repo, "main", "redirected.bin", data)
    assert sha256(objects.get_object(s3_repo, "main", "redirected.bin", presign=True)) == sha256(data)
    exchange = wire.last("getObject")
    assert "presign=true" in exchange.request.query
    # lakeFS answered with a redirect to the store; the bytes came from there.
    assert exchange.status == 302, exchange.status
    location = exchange.response_header("Location") or ""
    assert location.startswith(store.endpoint + "/"), location
    assert len(exchange.response_body) < 4096


@needs_s3
def test_upload_presigned_sends_the_bytes_to_the_store(
    lakefs_client: lakefs_sdk.LakeFSClient, s3_repo: str, namespace_base: str, store: Any, wire: Wire
) -> None:
    data = secrets.token_bytes(5 * 1024 * 1024 + 3)
    done = []
    stats = transfer.upload_presigned(
        lakefs_client.staging_api,
        s3_repo,
        "main",
        "big/presigned.bin",
        data,
        metadata={"origin": "presigned"},
        progress=lambda sent, total: done.append((sent, total)),
    )
    assert stats.size_bytes == len(data)
    assert stats.metadata == {"origin": "presigned"}
    assert done and done[-1] == (len(data), len(data))
    # Only small calls went to lakeFS (getConfig: whether the store presigns); the bytes did not.
    assert [op for op in wire.operations() if op != "getConfig"] == ["getPhysicalAddress", "linkPhysicalAddress"]
    assert all(len(e.request.body) < 64 * 1024 for e in wire.exchanges())
    objects = lakefs_client.objects_api
    assert sha256(objects.get_object(s3_repo, "main", "big/presigned.bin")) == sha256(data)
    address = objects.stat_object(s3_repo, "main", "big/presigned.bin").physical_address
    assert address.startswith(namespace_base + s3_repo + "/"), address
    assert sha256(read_from_store(store, address)) == sha256(data)


# The signer the tests above read the store with, against AWS's published Signature V4
# examples for S3 (GET Bucket lifecycle, and GET Bucket with a query); needs no server.
@pytest.mark.parametrize(
    ("query", "signature"),
    [
        ({"lifecycle": ""}, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        ({"max-keys": "2", "prefix": "J"}, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
    ],
)
def test_requests_to_the_store_are_signed_like_aws_examples(query: Dict[str, str], signature: str) -> None:
    credentials = object_store.S3Credentials(
        "http://examplebucket.s3.amazonaws.com", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    moment = datetime.datetime(2013, 5, 24, tzinfo=datetime.timezone.utc)
    headers = object_store.sign_v4(credentials, "GET", "/", b"", query, now=moment)
    assert headers["x-amz-date"] == "20130524T000000Z"
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        f"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}"
    )
