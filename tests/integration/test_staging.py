"""staging on the real server: reserve a physical address, write the bytes there ourselves, link them.

The blockstore is local and on this machine. ``getPhysicalAddress`` answers
``local:///<absolute path>,<signature>``: the whole string, signature included, names the
file to write (lakeFS signs the address so that only addresses it issued can be linked
inside the storage namespace). ``linkPhysicalAddress`` then records the object with the
checksum and size we give; lakeFS does not check them against the data, so the tests give
the local blockstore's own checksum (the MD5 of the content) and read everything back.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import List

import pytest

import lakefs_sdk
from lakefs_sdk import transfer
from lakefs_sdk.models import ObjectStats, StagingLocation, StagingMetadata

from support.lakefs import Wire, statuses

NOT_SUPPORTED = "presigned URL: operation not supported"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def local_path(physical_address: str) -> Path:
    """The file a ``local:///...`` address of the local blockstore names."""
    assert physical_address.startswith("local:///"), physical_address
    return Path(physical_address[len("local://") :])


def write_at(location: StagingLocation, data: bytes) -> Path:
    """Write ``data`` where ``location`` says, as a client of an object store would."""
    assert location.physical_address is not None
    path = local_path(location.physical_address)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def namespace_relative(repo: str, physical_address: str) -> str:
    """The same address spelled inside the repository's namespace: ``local://<repo>/data/...,<sig>``."""
    marker = f"/{repo}/data/"
    index = physical_address.index(marker)
    return f"local://{repo}/" + physical_address[index + len(marker) - len("data/") :]


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
    assert location.physical_address is not None and location.physical_address.startswith("local:///")
    address, _, signature = location.physical_address.rpartition(",")
    assert f"/{repo}/data/" in address and signature

    data = b"id,amount\n1,9.99\n2,19.50\n" * 40
    written = write_at(location, data)
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
    assert written.read_bytes() == data  # lakeFS reads our file in place: no copy


def test_link_an_address_spelled_inside_the_namespace(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    staging = lakefs_client.staging_api
    location = staging.get_physical_address(repo, "main", "staged/relative.bin")
    assert location.physical_address is not None
    data = b"\x00\x01binary\xff" * 100
    write_at(location, data)
    relative = namespace_relative(repo, location.physical_address)
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
    relative = namespace_relative(repo, location.physical_address)
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


def test_upload_presigned_on_a_store_that_cannot_presign(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    with pytest.raises(lakefs_sdk.ApiValueError):
        transfer.upload_presigned(lakefs_client.staging_api, repo, "main", "staged/presigned", b"payload")
    # Refused before anything is reserved or written.
    assert "getPhysicalAddress" not in wire.operations() and "linkPhysicalAddress" not in wire.operations()
    assert listed(lakefs_client, repo, "staged/") == []
