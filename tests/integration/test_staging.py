"""staging on the real server: reserve a physical address, write the bytes there ourselves, link them.

Runs on both stores. On the local one ``getPhysicalAddress`` answers
``local:///<absolute path>,<signature>``: the whole string, signature included, names the
file to write (lakeFS signs the address so that only addresses it issued can be linked
inside the storage namespace). On S3 it answers ``s3://<bucket>/<namespace>/data/...,<signature>``,
already inside the namespace, and the key to write is the same string after the bucket,
signature included; the tests write it with a signed PUT to the store, or (presign) to the
URL lakeFS gives. ``linkPhysicalAddress`` then records the object with the checksum and size
we give; lakeFS does not check them against the data, so the tests give the stores' own
checksum (the MD5 of the content) and read everything back.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import List

import pytest
import urllib3

import lakefs_sdk
from lakefs_sdk import transfer
from lakefs_sdk.models import ObjectStats, StagingLocation, StagingMetadata

from support.lakefs import ON_S3, Wire, local_store_only, s3_store_only, statuses
from support.s3_store import S3Store
from support.s3_store import from_environment as s3_from_environment

NOT_SUPPORTED = "presigned URL: operation not supported"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def local_path(physical_address: str) -> Path:
    """The file a ``local:///...`` address of the local blockstore names."""
    assert physical_address.startswith("local:///"), physical_address
    return Path(physical_address[len("local://") :])


def write_at(location: StagingLocation, data: bytes) -> None:
    """Write ``data`` where ``location`` says, as a client of an object store would."""
    assert location.physical_address is not None
    if ON_S3:
        s3_from_environment().put(location.physical_address, data)
        return
    path = local_path(location.physical_address)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def read_at(physical_address: str) -> bytes:
    """The bytes at an address lakeFS gave, read from the store itself (not through lakeFS)."""
    if ON_S3:
        return s3_from_environment().get(physical_address)
    return local_path(physical_address).read_bytes()


def namespace_relative(client: lakefs_sdk.LakeFSClient, repo: str, physical_address: str) -> str:
    """The same address spelled inside the repository's namespace: ``<namespace>/data/...,<sig>``.

    On the local store that differs from what lakeFS gave (``local:///<folder>/<repo>/data/...``);
    on S3 it is the same string.
    """
    namespace = client.repositories_api.get_repository(repo).storage_namespace.rstrip("/")
    marker = f"/{repo}/data/"
    index = physical_address.index(marker)
    return namespace + physical_address[index + len(marker) - len("/data/") :]


def listed(client: lakefs_sdk.LakeFSClient, repo: str, prefix: str) -> List[ObjectStats]:
    return client.objects_api.list_objects(repo, "main", prefix=prefix).results


def test_link_bytes_written_to_the_physical_address(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    staging = lakefs_client.staging_api
    objects = lakefs_client.objects_api
    location = staging.get_physical_address(repo, "main", "staged/data.csv")
    assert wire.last("getPhysicalAddress").status == 200
    assert location.presigned_url is None and location.presigned_url_expiry is None
    assert location.physical_address is not None
    assert location.physical_address.startswith("s3://" if ON_S3 else "local:///")
    address, _, signature = location.physical_address.rpartition(",")
    assert f"/{repo}/data/" in address and signature

    data = b"id,amount\n1,9.99\n2,19.50\n" * 40
    write_at(location, data)
    metadata = StagingMetadata(
        staging=location,
        checksum=md5(data),
        size_bytes=len(data),
        user_metadata={"owner": "data-eng"},
        content_type="text/csv",
    )
    linked = staging.link_physical_address(repo, "main", "staged/data.csv", metadata)
    assert wire.last("linkPhysicalAddress").status == 200
    assert linked.path == "staged/data.csv" and linked.size_bytes == len(data) and linked.checksum == md5(data)
    assert linked.metadata == {"owner": "data-eng"} and linked.content_type == "text/csv"

    stats = objects.stat_object(repo, "main", "staged/data.csv", user_metadata=True)
    assert (stats.size_bytes, stats.checksum, stats.content_type) == (len(data), md5(data), "text/csv")
    assert stats.metadata == {"owner": "data-eng"}
    assert objects.get_object(repo, "main", "staged/data.csv") == data
    assert objects.get_object(repo, "main", "staged/data.csv", range="bytes=0-8") == data[:9]
    assert [(e.path, e.size_bytes) for e in listed(lakefs_client, repo, "staged/")] == [("staged/data.csv", len(data))]
    assert read_at(location.physical_address) == data  # lakeFS reads our object in place: no copy


def test_link_an_address_spelled_inside_the_namespace(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    staging = lakefs_client.staging_api
    location = staging.get_physical_address(repo, "main", "staged/relative.bin")
    assert location.physical_address is not None
    data = b"\x00\x01binary\xff" * 100
    write_at(location, data)
    relative = namespace_relative(lakefs_client, repo, location.physical_address)
    assert (relative == location.physical_address) is ON_S3
    metadata = StagingMetadata(
        staging=StagingLocation(physical_address=relative), checksum=md5(data), size_bytes=len(data)
    )
    linked = staging.link_physical_address(repo, "main", "staged/relative.bin", metadata)
    assert linked.physical_address == relative
    stats = lakefs_client.objects_api.stat_object(repo, "main", "staged/relative.bin")
    assert stats.physical_address == location.physical_address  # lakeFS shows it resolved again
    assert lakefs_client.objects_api.get_object(repo, "main", "staged/relative.bin") == data


def test_only_addresses_lakefs_signed_for_that_path_can_be_linked_in_the_namespace(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    staging = lakefs_client.staging_api
    location = staging.get_physical_address(repo, "main", "staged/mine")
    assert location.physical_address is not None
    write_at(location, b"x")
    relative = namespace_relative(lakefs_client, repo, location.physical_address)
    unsigned = relative.rpartition(",")[0]
    tampered = relative[:-4] + ("AAAA" if not relative.endswith("AAAA") else "BBBB")
    cases = [
        ("staged/other-path", relative, "invalid address signature"),
        ("staged/mine", tampered, "invalid address signature"),
        ("staged/mine", unsigned, "address is not signed"),
    ]
    for path, address, message in cases:
        metadata = StagingMetadata(staging=StagingLocation(physical_address=address), checksum=md5(b"x"), size_bytes=1)
        with pytest.raises(lakefs_sdk.BadRequestException) as raised:
            staging.link_physical_address(repo, "main", path, metadata)
        assert raised.value.status == 400 and raised.value.request_id
        assert raised.value.message is not None and message in raised.value.message
    assert statuses(wire.exchanges(), "linkPhysicalAddress") == [400, 400, 400]
    assert listed(lakefs_client, repo, "staged/") == []


def test_link_conditions_and_a_missing_checksum(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    staging = lakefs_client.staging_api
    objects = lakefs_client.objects_api
    objects.upload_object(repo, "main", "staged/taken", content=b"already here")

    location = staging.get_physical_address(repo, "main", "staged/taken")
    write_at(location, b"new bytes")
    metadata = StagingMetadata(staging=location, checksum=md5(b"new bytes"), size_bytes=9)
    with pytest.raises(lakefs_sdk.PreconditionFailedException) as exists:
        staging.link_physical_address(repo, "main", "staged/taken", metadata, if_none_match="*")
    assert exists.value.status == 412 and exists.value.request_id
    assert wire.last("linkPhysicalAddress").request.header("If-None-Match") == "*"
    with pytest.raises(lakefs_sdk.NotImplementedException) as if_match:
        staging.link_physical_address(repo, "main", "staged/taken", metadata, if_match=md5(b"already here"))
    assert if_match.value.status == 501 and if_match.value.request_id
    assert objects.get_object(repo, "main", "staged/taken") == b"already here"

    # An empty If-None-Match is "not given": the link goes through.
    staging.link_physical_address(repo, "main", "staged/taken", metadata, if_none_match="", if_match="")
    assert wire.last("linkPhysicalAddress").request.header("If-None-Match") is None
    assert objects.get_object(repo, "main", "staged/taken") == b"new bytes"

    fresh = staging.get_physical_address(repo, "main", "staged/no-checksum")
    write_at(fresh, b"y")
    with pytest.raises(lakefs_sdk.BadRequestException) as no_checksum:
        staging.link_physical_address(
            repo, "main", "staged/no-checksum", StagingMetadata(staging=fresh, checksum="", size_bytes=1)
        )
    assert no_checksum.value.message is not None and "checksum is required" in no_checksum.value.message
    with pytest.raises(lakefs_sdk.NotFoundException):
        objects.stat_object(repo, "main", "staged/no-checksum")


def test_physical_address_of_a_missing_repository(lakefs_client: lakefs_sdk.LakeFSClient) -> None:
    with pytest.raises(lakefs_sdk.NotFoundException) as raised:
        lakefs_client.staging_api.get_physical_address("no-such-repository-h1", "main", "x")
    assert raised.value.status == 404 and raised.value.request_id
    assert raised.value.message is not None and "not found" in raised.value.message


@local_store_only
def test_presign_on_the_local_blockstore(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    # lakeFS answers 500 here (objects' presign answers 400): the SDK retries it as a GET and
    # raises the typed 5xx with lakeFS's message.
    with pytest.raises(lakefs_sdk.ServiceException) as raised:
        lakefs_client.staging_api.get_physical_address(repo, "main", "staged/presigned", presign=True)
    assert raised.value.status == 500 and raised.value.request_id
    assert raised.value.message is not None and NOT_SUPPORTED in raised.value.message
    attempts = [e for e in wire.exchanges() if e.operation_id == "getPhysicalAddress"]
    assert [e.status for e in attempts] == [500] * (1 + lakefs_client.api_client.configuration.max_retries)
    assert all("presign=true" in e.request.query for e in attempts)


@local_store_only
def test_upload_presigned_on_a_store_that_cannot_presign(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    with pytest.raises(lakefs_sdk.ApiValueError):
        transfer.upload_presigned(lakefs_client.staging_api, repo, "main", "staged/presigned", b"payload")
    # Refused before anything is reserved or written.
    assert "getPhysicalAddress" not in wire.operations() and "linkPhysicalAddress" not in wire.operations()
    assert listed(lakefs_client, repo, "staged/") == []


@s3_store_only
def test_presigned_physical_address_on_the_s3_store(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire, s3_store: S3Store
) -> None:
    staging = lakefs_client.staging_api
    location = staging.get_physical_address(repo, "main", "staged/presigned.bin", presign=True)
    assert statuses(wire.exchanges(), "getPhysicalAddress") == [200]
    assert "presign=true" in wire.last("getPhysicalAddress").request.query
    assert location.physical_address is not None and location.physical_address.startswith("s3://")
    url = location.presigned_url
    assert url is not None and url.startswith(s3_store.endpoint + "/"), url
    assert location.presigned_url_expiry is not None and location.presigned_url_expiry > 0
    # Anyone holding the URL can write there, once, without credentials; then link as usual.
    data = bytes(range(256)) * 64
    answer = urllib3.request("PUT", url, body=data, retries=False, timeout=10)
    assert answer.status == 200, (answer.status, answer.data[:300])
    assert s3_store.get(location.physical_address) == data
    metadata = StagingMetadata(staging=location, checksum=md5(data), size_bytes=len(data))
    linked = staging.link_physical_address(repo, "main", "staged/presigned.bin", metadata)
    assert linked.size_bytes == len(data) and linked.checksum == md5(data)
    assert lakefs_client.objects_api.get_object(repo, "main", "staged/presigned.bin") == data
