"""Presigned transfers against a real lakeFS on an S3-compatible store (multipart included), read back.

Needs a lakeFS whose blockstore presigns: ``scripts/test.sh`` runs this module in its S3
stage (``LAKEFS_STORE=s3``, repositories under ``LAKEFS_NAMESPACE_BASE``). The default local
blockstore cannot presign: these tests skip there.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Any, Iterator

import pytest

import lakefs_sdk
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.transfer import download_many, supports_presign, upload_many, upload_presigned

from support.lakefs import delete_repository, unique_name

MiB = 1024 * 1024

pytestmark = pytest.mark.skipif(
    os.environ.get("LAKEFS_STORE") != "s3",
    reason="needs lakeFS on an S3 store (LAKEFS_STORE=s3, the S3 stage of scripts/test.sh): the local blockstore cannot presign",
)


@pytest.fixture
def s3_repo(request: pytest.FixtureRequest, lakefs_client: LakeFSClient) -> Iterator[str]:
    name = unique_name(request.node.name)
    namespace = os.environ["LAKEFS_NAMESPACE_BASE"] + name
    lakefs_client.repositories_api.create_repository(
        lakefs_sdk.RepositoryCreation(name=name, storage_namespace=namespace)
    )
    yield name
    delete_repository(lakefs_client, name)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_store_presigns(lakefs_client: LakeFSClient) -> None:
    assert supports_presign(lakefs_client.api_client) is True


def test_a_multipart_upload_is_read_back_whole(lakefs_client: LakeFSClient, s3_repo: str, tmp_path: Path) -> None:
    data = os.urandom(11 * MiB + 17)  # three parts of 5, 5 and 1+ MiB
    (tmp_path / "big.bin").write_bytes(data)
    stats = upload_presigned(lakefs_client.staging_api, s3_repo, "main", "big/file.bin", tmp_path / "big.bin",
                             part_size=5 * MiB, multipart_threshold=5 * MiB, concurrency=2,
                             content_type="application/x-test", metadata={"origin": "sdk-test"})
    assert stats.size_bytes == len(data)
    back = lakefs_client.objects_api.get_object(s3_repo, "main", "big/file.bin")
    assert sha256(back) == sha256(data)
    stat = lakefs_client.objects_api.stat_object(s3_repo, "main", "big/file.bin", user_metadata=True)
    assert stat.content_type == "application/x-test" and (stat.metadata or {}).get("origin") == "sdk-test"


def test_a_stream_goes_in_parts(lakefs_client: LakeFSClient, s3_repo: str) -> None:
    pieces = [os.urandom(MiB) for _ in range(12)]
    upload_presigned(lakefs_client.staging_api, s3_repo, "main", "big/stream.bin", iter(pieces), part_size=5 * MiB)
    assert sha256(lakefs_client.objects_api.get_object(s3_repo, "main", "big/stream.bin")) == sha256(b"".join(pieces))


def test_if_none_match_refuses_to_overwrite(lakefs_client: LakeFSClient, s3_repo: str) -> None:
    data = os.urandom(6 * MiB)
    upload_presigned(lakefs_client.staging_api, s3_repo, "main", "once.bin", data, multipart_threshold=5 * MiB,
                     part_size=5 * MiB, if_none_match="*")
    with pytest.raises(lakefs_sdk.PreconditionFailedException):
        upload_presigned(lakefs_client.staging_api, s3_repo, "main", "once.bin", data, multipart_threshold=5 * MiB,
                         part_size=5 * MiB, if_none_match="*")


def test_presigned_bulk_round_trip(lakefs_client: LakeFSClient, s3_repo: str, tmp_path: Path) -> None:
    files = {f"d/{i}.bin": os.urandom(1000 * i) for i in range(1, 6)}
    report = upload_many(lakefs_client.objects_api, s3_repo, "main", [(b, p) for p, b in files.items()], presign=True)
    assert report.ok, report.summary()
    report = download_many(lakefs_client.objects_api, s3_repo, "main", [("d/", tmp_path / "out")], presign=True)
    assert report.ok, report.summary()
    assert {p: (tmp_path / "out" / p[2:]).read_bytes() for p in files} == files


def test_async_multipart_upload(lakefs: Any, s3_repo: str) -> None:
    aio = pytest.importorskip("lakefs_sdk.aio")
    from lakefs_sdk.aio.transfer import upload_presigned as aio_upload_presigned

    data = os.urandom(10 * MiB + 1)

    async def main() -> bytes:
        async with aio.AsyncApiClient(lakefs.configuration()) as client:
            await aio_upload_presigned(aio.StagingApi(client), s3_repo, "main", "async.bin", data, part_size=5 * MiB)
            back: bytes = await aio.ObjectsApi(client).get_object(s3_repo, "main", "async.bin")
            return back

    assert sha256(asyncio.run(main())) == sha256(data)
