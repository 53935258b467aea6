"""Import from the S3 store: objects written straight to the bucket, then imported by lakeFS.

Runs only against a server on S3 (``LAKEFS_STORE=s3``; skipped with that reason on the local
store). The objects are put under a fresh prefix of the store's bucket (``s3://bucket/x/``,
outside every repository's namespace) with the store's own keys and a signed request
(``support.s3_store``); ``import_start`` then imports that prefix, the status is polled until
it completes (bounded), and the import commit and every object are checked: listed, stat'ed
(still at its source address: an import copies nothing) and read back by sha256.

An import onto a branch with uncommitted changes is refused, but not by ``import_start``: it
answers 202 and the refusal comes later, as text in ``import_status().error``. The test pins
that down, so a change of it is seen, and checks that ``lakefs_sdk.imports.import_and_wait``
turns it into a typed error that says what to do (``DirtyBranchError``). The happy path
imports through ``import_and_wait`` too.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Dict, Iterator, List

import pytest

import lakefs_sdk
from lakefs_sdk.imports import DirtyBranchError, ImportFailedError, import_and_wait
from lakefs_sdk.models import CommitCreation, ImportCreation, ImportLocation, ImportStatus

from support.lakefs import Wire, s3_store_only, statuses
from support.s3_store import S3Store

pytestmark = s3_store_only

DEADLINE_SECONDS = 60.0
MiB = 1 << 20


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def poll_until_over(client: lakefs_sdk.LakeFSClient, repo: str, branch: str, import_id: str) -> ImportStatus:
    """Poll ``import_status`` until the import completed or failed; fail after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    delay = 0.02
    while True:
        status = client.import_api.import_status(repo, branch, import_id)
        if status.completed or status.error is not None:
            return status
        assert time.monotonic() < deadline, f"import {import_id} not done in {DEADLINE_SECONDS:.0f} s: {status!r}"
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


@pytest.fixture
def objects_in_store(s3_store: S3Store) -> Iterator[Dict[str, bytes]]:
    """Objects of several sizes under a fresh prefix of the bucket, keyed by full ``s3://`` address."""
    base = s3_store.scratch_prefix("import-s3")
    contents = {f"{base}part-{n:02d}.bin": secrets.token_bytes(n * 997) for n in range(12)}
    contents[f"{base}nested/deeper/big.bin"] = secrets.token_bytes(6 * MiB + 5)  # more than one part for lakeFS
    contents[f"{base}nested/notes.txt"] = "ünïcode bytes\n".encode()
    contents[f"{base}with space/and+plus.csv"] = b"a,b\n1,2\n"
    for address, data in contents.items():
        s3_store.put(address, data)
    assert sorted(s3_store.keys(base)) == sorted(contents)
    yield contents
    for address in contents:
        s3_store.delete(address)


def base_of(contents: Dict[str, bytes]) -> str:
    first = next(iter(contents))
    return first[: first.index("part-")]


def test_import_a_prefix_of_the_store(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, objects_in_store: Dict[str, bytes], wire: Wire
) -> None:
    base = base_of(objects_in_store)
    creation = ImportCreation(
        paths=[ImportLocation(type="common_prefix", path=base, destination="imported/")],
        commit=CommitCreation(message="import from S3", metadata={"source": base}),
    )
    polled: List[ImportStatus] = []
    status = import_and_wait(
        lakefs_client.import_api, repo, "main", creation, poll_interval=0.05, timeout=DEADLINE_SECONDS,
        on_status=polled.append,
    )
    assert statuses(wire.exchanges(), "importStart") == [202]
    assert statuses(wire.exchanges(), "importStatus") == [200] * len(polled) and polled[-1] == status
    assert statuses(wire.exchanges(), "importCancel") == [], "a completed import is not canceled"
    assert status.error is None and status.completed is True
    assert status.ingested_objects == len(objects_in_store)

    commit = status.commit
    assert commit is not None and commit.message == "import from S3"
    assert commit.metadata == {"source": base, ".lakefs.merge.strategy": "source-wins"}
    assert status.metarange_id == commit.meta_range_id
    assert lakefs_client.branches_api.get_branch(repo, "main").commit_id == commit.id
    assert lakefs_client.branches_api.diff_branch(repo, "main").results == []  # all committed

    objects = lakefs_client.objects_api
    expected = {"imported/" + address[len(base) :]: (address, data) for address, data in objects_in_store.items()}
    listed = [entry.path for entry in objects.list_objects(repo, "main", prefix="imported/", amount=1000).results]
    assert sorted(listed) == sorted(expected)
    for path, (address, data) in expected.items():
        stats = objects.stat_object(repo, "main", path)
        assert stats.size_bytes == len(data)
        assert stats.physical_address == address  # imported in place: lakeFS points at the source
        assert sha256(objects.get_object(repo, "main", path)) == sha256(data), path
    # The import is a commit like any other: the objects are there at its ID too.
    big = "imported/nested/deeper/big.bin"
    assert sha256(objects.get_object(repo, commit.id, big)) == sha256(expected[big][1])


def test_an_import_onto_a_dirty_branch_fails_only_in_its_status(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, objects_in_store: Dict[str, bytes], wire: Wire
) -> None:
    lakefs_client.objects_api.upload_object(repo, "main", "uncommitted.txt", content=b"not committed")
    head = lakefs_client.branches_api.get_branch(repo, "main").commit_id
    creation = ImportCreation(
        paths=[ImportLocation(type="common_prefix", path=base_of(objects_in_store), destination="imported/")],
        commit=CommitCreation(message="onto a dirty branch"),
    )
    # Accepted: the branch's state is not checked when the import starts.
    started = lakefs_client.import_api.import_start(repo, "main", creation)
    assert statuses(wire.exchanges(), "importStart") == [202]
    status = poll_until_over(lakefs_client, repo, "main", started.id)
    # What the SDK gives today: a 200 status whose ``error`` is lakeFS's text, no typed error.
    assert statuses(wire.exchanges(), "importStatus")[-1] == 200
    assert status.completed is False and status.commit is None and status.metarange_id is None
    assert status.error is not None
    assert status.error.message == "import error: merge import: uncommitted changes (dirty branch)"
    # Nothing changed on the branch: same head, the one uncommitted change, no imported object.
    assert lakefs_client.branches_api.get_branch(repo, "main").commit_id == head
    assert [d.path for d in lakefs_client.branches_api.diff_branch(repo, "main").results] == ["uncommitted.txt"]
    assert lakefs_client.objects_api.list_objects(repo, "main", prefix="imported/").results == []

    # import_and_wait turns that status into a typed error that says what to do.
    with pytest.raises(DirtyBranchError) as caught:
        import_and_wait(lakefs_client.import_api, repo, "main", creation, poll_interval=0.05, timeout=DEADLINE_SECONDS)
    error = caught.value
    assert isinstance(error, ImportFailedError) and error.import_id and error.import_id != started.id
    assert (error.repository, error.branch) == (repo, "main")
    assert error.reason == "import error: merge import: uncommitted changes (dirty branch)"
    assert error.status is not None and error.status.completed is False and error.status.error is not None
    text = str(error)
    assert text.startswith(f"import '{error.import_id}' into branch 'main' of repository '{repo}' failed: ")
    assert "uncommitted changes (dirty branch)" in text and "\n" not in text
    assert "commit or reset the branch's uncommitted changes (or import into a new branch), then import again" in text
    assert statuses(wire.exchanges(), "importCancel") == [], "a failed import is over: nothing to cancel"
    assert lakefs_client.branches_api.get_branch(repo, "main").commit_id == head

    # Once the change is committed, the same import lands.
    lakefs_client.commits_api.commit(repo, "main", CommitCreation(message="the change"))
    done = import_and_wait(lakefs_client.import_api, repo, "main", creation, poll_interval=0.05, timeout=DEADLINE_SECONDS)
    assert done.completed is True and done.ingested_objects == len(objects_in_store) and done.commit is not None
    assert lakefs_client.branches_api.get_branch(repo, "main").commit_id == done.commit.id
