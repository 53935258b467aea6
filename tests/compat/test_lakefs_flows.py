"""The high-level SDK ``lakefs`` 0.16.0, unmodified, drives its main flows on this package.

Static Prism keeps no state and answers with the spec's examples, so these tests assert
what ``lakefs`` sent (operations, paths, headers, JSON bodies, the raw upload's bytes) and
that what it returned holds exactly what Prism answered; never server-side state. Static
listings always say ``has_more``, so listings are bounded with ``max_amount`` or
``itertools.islice`` (both stop after the first page).

The same flows on a real lakeFS, with their effects read back, are in test_lakefs_flows_on_lakefs.py.
"""

from __future__ import annotations

import base64
import itertools
from typing import List

import lakefs
import lakefs.exceptions
import pytest

import lakefs_sdk
from lakefs_sdk.client import LakeFSClient

from support.compat import ACCESS_KEY_ID, SECRET_ACCESS_KEY, operation_ids, request_json, response_json, single
from support.recording_proxy import Exchange, PrismProxy

pytestmark = pytest.mark.prism

REPO = "example-repo"
USER_AGENT = f"lakefs-python-sdk/{lakefs_sdk.__version__}"
BASIC = "Basic " + base64.b64encode(f"{ACCESS_KEY_ID}:{SECRET_ACCESS_KEY}".encode()).decode()


def _assert_sdk_headers(exchanges: List[Exchange]) -> None:
    """Every request carried our User-Agent, lakefs's client header and basic auth."""
    assert exchanges
    for e in exchanges:
        assert e.request.header("User-Agent") == USER_AGENT, e.request.headers
        assert e.request.header("X-Lakefs-Client") == "python-lakefs", e.request.headers
        assert e.request.header("Authorization") == BASIC, e.target


def test_client_wraps_lakefs_client(prism: PrismProxy) -> None:
    """``lakefs.Client(host=, username=, password=)`` builds our LakeFSClient and talks through it."""
    client = lakefs.Client(host=prism.url, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY)
    assert isinstance(client.sdk_client, LakeFSClient)
    assert isinstance(client.config, lakefs_sdk.Configuration)
    mark = prism.mark()
    version = client.version
    sent = prism.since(mark)
    assert operation_ids(sent) == ["getConfig"]
    assert version == response_json(sent[0])["version_config"]["version"]
    _assert_sdk_headers(sent)


def test_client_host_without_scheme_or_base_path(prism: PrismProxy) -> None:
    """A bare ``host:port`` is completed to ``http://host:port/api/v1`` (the proxy rejects any other path)."""
    bare = prism.url.removeprefix("http://").removesuffix("/api/v1")
    client = lakefs.Client(host=bare, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY)
    assert client.config.host == prism.url
    mark = prism.mark()
    storage = client.storage_config
    sent = prism.since(mark)
    assert operation_ids(sent) == ["getConfig"]
    expected = response_json(sent[0])["storage_config"]
    # lakefs builds its ServerStorageConfiguration from our StorageConfig.dict(): Python field names.
    assert storage.blockstore_type == expected["blockstore_type"]
    assert storage.blockstore_namespace_validity_regex == expected["blockstore_namespace_ValidityRegex"]
    assert storage.pre_sign_support is expected["pre_sign_support"]


def test_repository_create_and_list(prism_wrapper: lakefs.Client, prism: PrismProxy) -> None:
    mark = prism.mark()
    repo = lakefs.repository(REPO, client=prism_wrapper).create(storage_namespace="s3://example-bucket/repo")
    listed = list(itertools.islice(lakefs.repositories(client=prism_wrapper, prefix="ex"), 1))
    sent = prism.since(mark)
    assert operation_ids(sent) == ["createRepository", "listRepositories"]
    _assert_sdk_headers(sent)

    create = single(sent, "createRepository")
    assert request_json(create) == {
        "name": REPO,
        "storage_namespace": "s3://example-bucket/repo",
        "default_branch": "main",
        "sample_data": False,
        "read_only": False,
    }
    created = response_json(create)
    assert repo.properties.id == created["id"]
    assert repo.properties.storage_namespace == created["storage_namespace"]
    assert repo.properties.creation_date == created["creation_date"]

    listing = single(sent, "listRepositories")
    assert listing.request.query == "prefix=ex"
    assert [r.id for r in listed] == [r["id"] for r in response_json(listing)["results"]]
    assert all(isinstance(r, lakefs.Repository) for r in listed)


def test_branch_create_list_delete(prism_wrapper: lakefs.Client, prism: PrismProxy) -> None:
    repo = lakefs.repository(REPO, client=prism_wrapper)
    mark = prism.mark()
    branch = repo.branch("dev").create("main")
    listed = list(repo.branches(max_amount=1, prefix="de"))
    branch.delete()
    sent = prism.since(mark)
    assert operation_ids(sent) == ["createBranch", "listBranches", "deleteBranch"]
    _assert_sdk_headers(sent)

    assert request_json(single(sent, "createBranch")) == {
        "name": "dev",
        "source": "main",
        "force": False,
        "hidden": False,
    }
    listing = single(sent, "listBranches")
    assert listing.request.path == f"/api/v1/repositories/{REPO}/branches"
    assert "prefix=de" in listing.request.query.split("&")
    assert [b.id for b in listed] == [b["id"] for b in response_json(listing)["results"]]
    assert single(sent, "deleteBranch").request.path == f"/api/v1/repositories/{REPO}/branches/dev"


def test_upload_takes_the_raw_streaming_path(prism_wrapper: lakefs.Client, prism: PrismProxy) -> None:
    """``upload`` without pre-signing POSTs the bytes itself through ``rest_client.pool_manager``,
    after ``update_params_for_auth`` added the credentials."""
    data = b"col1,col2\n1,2\n" * 100
    obj = lakefs.repository(REPO, client=prism_wrapper).branch("dev").object("raw/events 1.csv")
    mark = prism.mark()
    obj.upload(data, mode="wb", pre_sign=False, metadata={"source": "etl"})
    sent = prism.since(mark)
    assert operation_ids(sent) == ["uploadObject"]
    upload = sent[0]
    assert upload.request.path == f"/api/v1/repositories/{REPO}/branches/dev/objects"
    assert upload.request.query == "path=raw%2Fevents+1.csv"
    assert upload.request.body == data
    assert upload.request.header("Content-Type") == "application/octet-stream"
    assert upload.request.header("x-lakefs-meta-source") == "etl"
    assert upload.request.header("Authorization") == BASIC


def test_read_stat_and_list_objects(prism_wrapper: lakefs.Client, prism: PrismProxy) -> None:
    branch = lakefs.repository(REPO, client=prism_wrapper).branch("dev")
    obj = branch.object("raw/events.csv")
    mark = prism.mark()
    with obj.reader(mode="rb", pre_sign=False) as reader:
        content = reader.read()
        rest = reader.read()  # the size came from the response headers: nothing more to fetch
    stat = obj.stat()
    listed = list(branch.objects(prefix="raw/", delimiter="/", max_amount=1))
    sent = prism.since(mark)
    assert operation_ids(sent) == ["getObject", "statObject", "listObjects"]
    _assert_sdk_headers(sent)

    get = single(sent, "getObject")
    assert get.request.query == "path=raw/events.csv&presign=false"
    assert content == get.response_body and rest == b""

    expected = response_json(single(sent, "statObject"))
    assert stat.path == expected["path"] and stat.checksum == expected["checksum"]
    assert stat.size_bytes == expected["size_bytes"] and stat.metadata == expected["metadata"]

    listing = single(sent, "listObjects")
    assert sorted(listing.request.query.split("&")) == ["delimiter=/", "prefix=raw/"]
    results = response_json(listing)["results"]
    assert [o.path for o in listed] == [r["path"] for r in results]
    kinds = {"object": lakefs.ObjectInfo, "common_prefix": lakefs.CommonPrefix}
    assert [type(o) for o in listed] == [kinds[r["path_type"]] for r in results]


def test_ranged_read_sends_a_range(prism_wrapper: lakefs.Client, prism: PrismProxy) -> None:
    obj = lakefs.repository(REPO, client=prism_wrapper).branch("dev").object("raw/events.csv")
    mark = prism.mark()
    with obj.reader(pre_sign=False) as reader:
        reader.seek(2)
        chunk = reader.read(3)
    sent = prism.since(mark)
    assert operation_ids(sent) == ["getObject"]
    assert sent[0].request.header("Range") == "bytes=2-4"
    assert chunk == sent[0].response_body


def test_commit_merge_tag(prism_wrapper: lakefs.Client, prism: PrismProxy) -> None:
    repo = lakefs.repository(REPO, client=prism_wrapper)
    branch = repo.branch("dev")
    mark = prism.mark()
    ref = branch.commit("Add events", metadata={"source": "etl"})
    merged = branch.merge_into("main", message="Merge dev")
    tag = repo.tag("v1").create("main")
    sent = prism.since(mark)
    assert operation_ids(sent) == ["commit", "mergeIntoBranch", "createTag"]
    _assert_sdk_headers(sent)

    commit = single(sent, "commit")
    assert request_json(commit) == {
        "message": "Add events",
        "metadata": {"source": "etl"},
        "allow_empty": False,
        "force": False,
    }
    assert isinstance(ref, lakefs.Reference) and ref.id == response_json(commit)["id"]

    merge = single(sent, "mergeIntoBranch")
    assert merge.request.path == f"/api/v1/repositories/{REPO}/refs/dev/merge/main"
    assert request_json(merge) == {"message": "Merge dev", "force": False, "allow_empty": False, "squash_merge": False}
    assert merged == response_json(merge)["reference"]

    assert request_json(single(sent, "createTag")) == {"id": "v1", "ref": "main", "force": False}
    assert isinstance(tag, lakefs.Tag) and tag.id == "v1"


def test_reset_and_revert(prism_wrapper: lakefs.Client, prism: PrismProxy) -> None:
    branch = lakefs.repository(REPO, client=prism_wrapper).branch("dev")
    mark = prism.mark()
    branch.reset_changes(path_type="object", path="raw/events.csv")
    reverted = branch.revert("c0ffee", parent_number=1)
    sent = prism.since(mark)
    assert operation_ids(sent) == ["resetBranch", "revertBranch", "getCommit"]
    _assert_sdk_headers(sent)

    assert request_json(single(sent, "resetBranch")) == {"type": "object", "path": "raw/events.csv", "force": False}
    assert request_json(single(sent, "revertBranch")) == {
        "ref": "c0ffee",
        "parent_number": 1,
        "allow_empty": False,
        "force": False,
    }
    expected = response_json(single(sent, "getCommit"))
    assert isinstance(reverted, lakefs.Commit)
    assert reverted.id == expected["id"] and reverted.parents == expected["parents"]
    assert reverted.creation_date == expected["creation_date"] and reverted.metadata == expected["metadata"]


def test_import_start_and_status(prism_wrapper: lakefs.Client, prism: PrismProxy) -> None:
    branch = lakefs.repository(REPO, client=prism_wrapper).branch("dev")
    manager = branch.import_data("Import events", metadata={"by": "compat"})
    manager.prefix("s3://import-bucket/events/", "events/").object("s3://import-bucket/a.csv", "a.csv")
    mark = prism.mark()
    import_id = manager.start()
    status = manager.status()
    sent = prism.since(mark)
    assert operation_ids(sent) == ["importStart", "importStatus"]
    _assert_sdk_headers(sent)

    start = single(sent, "importStart")
    assert request_json(start) == {
        "paths": [
            {"type": "common_prefix", "path": "s3://import-bucket/events/", "destination": "events/"},
            {"type": "object", "path": "s3://import-bucket/a.csv", "destination": "a.csv"},
        ],
        "commit": {"message": "Import events", "metadata": {"by": "compat"}, "allow_empty": False, "force": False},
        "force": False,
    }
    assert import_id == response_json(start)["id"]

    poll = single(sent, "importStatus")
    assert poll.request.query == f"id={import_id}"
    expected = response_json(poll)
    assert isinstance(status, lakefs.ImportStatus)
    assert status.completed is expected["completed"]
    assert status.ingested_objects == expected["ingested_objects"]
    assert status.commit is not None and status.commit.id == expected["commit"]["id"]


def test_api_errors_become_lakefs_exceptions(prism_wrapper: lakefs.Client, prism: PrismProxy) -> None:
    """``lakefs`` converts our ApiException using its status, reason, body and headers."""
    branch = lakefs.repository(REPO, client=prism_wrapper).branch("gone")
    mark = prism.mark()
    with pytest.raises(lakefs.exceptions.NotFoundException) as caught:
        branch.delete(_headers={"Prefer": "code=404"})  # Prism answers with the spec's 404
    exists = branch.object("raw/missing.csv").exists(_headers={"Prefer": "code=404"})
    sent = prism.since(mark)
    assert operation_ids(sent) == ["deleteBranch", "headObject"]
    assert [e.status for e in sent] == [404, 404]
    assert caught.value.status_code == 404
    assert caught.value.reason == "Not Found"
    assert caught.value.body == response_json(sent[0])
    assert caught.value.headers["Content-Length"] == str(len(sent[0].response_body))
    assert isinstance(caught.value.__cause__, lakefs_sdk.NotFoundException)
    assert exists is False
