"""metadata on the real server: where a commit's meta-range and its ranges are stored.

Both operations answer 200 with a ``StorageURI`` whose ``location`` is relative to the
repository's storage namespace (``_lakefs/<id>``), and the same value in a ``Location``
header; no redirect. The local blockstore keeps the namespace in a folder on this machine,
so the tests open the files those locations name: each is there, and is a table file
(an SSTable, as graveler writes meta-ranges and ranges). Those tests skip on S3
(``LAKEFS_STORE=s3``), where this module does not run in ``scripts/test.sh``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict

import pytest

import lakefs_sdk
from lakefs_sdk.models import CommitCreation

from support.lakefs import Wire, local_store_only

ID = re.compile(rb"[0-9a-f]{64}")
# The footer of every table file (meta-ranges and ranges are RocksDB-format SSTables).
SSTABLE_MAGIC = bytes.fromhex("f7cff485b741e288")


def namespace_folder(repo: str, physical_address: str) -> Path:
    """The folder of ``local://<repo>`` on this machine, from an object's ``local:///...`` address."""
    assert physical_address.startswith("local:///"), physical_address
    path = physical_address[len("local://") :]
    return Path(path[: path.index(f"/{repo}/data/") + len(repo) + 1])


@pytest.fixture
def committed(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> Dict[str, str]:
    """Objects uploaded and committed on main: path -> physical address."""
    addresses = {}
    for path in ("tables/events/part-0001.parquet", "tables/events/part-0002.parquet", "README.md"):
        stats = lakefs_client.objects_api.upload_object(repo, "main", path, content=path.encode() * 10)
        addresses[path] = stats.physical_address
    return addresses


@local_store_only
def test_meta_range_and_range_of_a_commit(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, committed: Dict[str, str], wire: Wire
) -> None:
    commit = lakefs_client.commits_api.commit(repo, "main", CommitCreation(message="three objects"))
    assert commit.meta_range_id and ID.fullmatch(commit.meta_range_id.encode())
    assert lakefs_client.commits_api.get_commit(repo, commit.id).meta_range_id == commit.meta_range_id
    metadata = lakefs_client.metadata_api
    folder = namespace_folder(repo, next(iter(committed.values())))

    meta_range = metadata.get_meta_range_with_http_info(repo, commit.meta_range_id)
    assert meta_range.status_code == 200
    assert meta_range.data.location == f"_lakefs/{commit.meta_range_id}"
    assert meta_range.headers["Location"] == meta_range.data.location
    assert wire.last("getMetaRange").status == 200
    meta_range_file = folder / meta_range.data.location
    assert meta_range_file.is_file() and meta_range_file.read_bytes().endswith(SSTABLE_MAGIC)

    # The ranges are the other content-addressed files of the (fresh) namespace's _lakefs folder.
    range_ids = sorted(
        p.name
        for p in (folder / "_lakefs").iterdir()
        if ID.fullmatch(p.name.encode()) and p.name != commit.meta_range_id
    )
    assert range_ids, "a commit of three objects wrote no range"
    for range_id in range_ids:
        uri = metadata.get_range_with_http_info(repo, range_id)
        assert uri.status_code == 200 and uri.data.location == f"_lakefs/{range_id}"
        assert uri.headers["Location"] == uri.data.location
        assert (folder / uri.data.location).read_bytes().endswith(SSTABLE_MAGIC)
    assert wire.last("getRange").status == 200


@local_store_only
def test_a_new_commit_has_a_new_meta_range(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, committed: Dict[str, str]
) -> None:
    commits = lakefs_client.commits_api
    first = commits.commit(repo, "main", CommitCreation(message="first"))
    lakefs_client.objects_api.upload_object(repo, "main", "more.txt", content=b"more")
    second = commits.commit(repo, "main", CommitCreation(message="second"))
    assert first.meta_range_id != second.meta_range_id
    folder = namespace_folder(repo, next(iter(committed.values())))
    for commit in (first, second):
        location = lakefs_client.metadata_api.get_meta_range(repo, commit.meta_range_id).location
        assert location == f"_lakefs/{commit.meta_range_id}" and (folder / location).is_file()


def test_ids_the_server_does_not_know(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    # lakeFS does not look the ID up: it answers where such a file would be.
    unknown = "0" * 64
    assert lakefs_client.metadata_api.get_meta_range(repo, unknown).location == f"_lakefs/{unknown}"
    assert lakefs_client.metadata_api.get_range(repo, unknown).location == f"_lakefs/{unknown}"
    assert wire.last("getMetaRange").status == 200 and wire.last("getRange").status == 200


def test_a_missing_repository(lakefs_client: lakefs_sdk.LakeFSClient) -> None:
    for call in (lakefs_client.metadata_api.get_meta_range, lakefs_client.metadata_api.get_range):
        with pytest.raises(lakefs_sdk.NotFoundException) as raised:
            call("no-such-repository-h1", "0" * 64)
        assert raised.value.status == 404 and raised.value.request_id
        assert raised.value.message is not None and "not found" in raised.value.message


def test_an_empty_id_is_refused_before_sending(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    # The first commit of a repository has no meta-range: its meta_range_id is "".
    first = lakefs_client.refs_api.log_commits(repo, "main").results[-1]
    assert first.meta_range_id == ""
    for call in (lakefs_client.metadata_api.get_meta_range, lakefs_client.metadata_api.get_range):
        with pytest.raises(lakefs_sdk.ApiValueError):
            call(repo, first.meta_range_id)
    assert [op for op in wire.operations() if op in ("getMetaRange", "getRange")] == []
