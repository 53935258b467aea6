"""The high-level SDK ``lakefs`` 0.16.0, unmodified, on this package against a real lakeFS.

Each flow is driven through ``lakefs`` (the ``wrapper`` client, through the recording
proxy) and its effect read back through this package's own client (``lakefs_client``):
repositories, branches, object writes and reads (raw and through the writer), listings,
commits with metadata, merges, tags, resets, reverts, transactions, imports, deletes, and
lakeFS's errors turned into ``lakefs.exceptions``. The server fixture is named ``lakefs``,
so the package is imported by its parts.

Runs on both stores: repositories go on ``LAKEFS_NAMESPACE_BASE``, the import reads a local
folder or an S3 prefix, and on S3 (``LAKEFS_STORE=s3``) ``lakefs`` writes and reads presigned,
straight to and from the store (its default there: the server says it presigns).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from lakefs import Client, Repository
from lakefs.exceptions import ConflictException, NotFoundException
from lakefs.object import ObjectInfo

from lakefs_sdk.client import LakeFSClient

from support.lakefs import LakeFS, delete_repository, local_store_only, s3_store_only, unique_name
from support.recording_proxy import RecordingProxy
from support.s3_store import S3Store

EVENTS = b"id,kind\n1,click\n2,view\n"


def repository(wrapper: Client, name: str) -> Repository:
    return Repository(name, client=wrapper)


def test_repository_create_list_and_delete(wrapper: Client, lakefs_client: LakeFSClient, lakefs: LakeFS) -> None:
    name = unique_name("wrapper-repo")
    namespace = lakefs.namespace_base + name
    try:
        created = repository(wrapper, name).create(storage_namespace=namespace)
        assert created.properties.id == name and created.properties.default_branch == "main"
        stored = lakefs_client.repositories_api.get_repository(name)
        assert stored.storage_namespace == namespace
        from lakefs import repositories

        assert name in [r.id for r in repositories(client=wrapper, prefix=name)]
        again = repository(wrapper, name).create(storage_namespace=namespace, exist_ok=True)
        assert again.properties.creation_date == stored.creation_date
        repository(wrapper, name).delete()
        assert name not in [r.id for r in lakefs_client.repositories_api.list_repositories_iter(prefix=name)]
    finally:
        delete_repository(lakefs_client, name)


def test_write_read_stat_and_list(wrapper: Client, repo: str, lakefs_client: LakeFSClient) -> None:
    branch = repository(wrapper, repo).branch("main")
    branch.object("raw/events.csv").upload(EVENTS, metadata={"source": "etl"})
    with branch.object("raw/notes.txt").writer(mode="w") as writer:
        writer.write("first line\n")
        writer.write("second line\n")

    # Read back through this package's own client.
    assert lakefs_client.objects_api.get_object(repo, "main", "raw/events.csv") == EVENTS
    assert lakefs_client.objects_api.get_object(repo, "main", "raw/notes.txt") == b"first line\nsecond line\n"
    stats = lakefs_client.objects_api.stat_object(repo, "main", "raw/events.csv")
    assert stats.metadata == {"source": "etl"} and stats.size_bytes == len(EVENTS)

    # And through lakefs: reads, ranged reads, stat, listing.
    with branch.object("raw/events.csv").reader(mode="rb") as reader:
        assert reader.read() == EVENTS
    with branch.object("raw/events.csv").reader(mode="rb") as reader:
        reader.seek(8)
        assert reader.read(7) == EVENTS[8:15]
    info = branch.object("raw/events.csv").stat()
    assert (info.size_bytes, info.checksum, info.metadata) == (len(EVENTS), stats.checksum, {"source": "etl"})
    listed = list(branch.objects(prefix="raw/"))
    assert [o.path for o in listed] == ["raw/events.csv", "raw/notes.txt"]
    assert all(isinstance(o, ObjectInfo) for o in listed)
    assert branch.object("raw/events.csv").exists() and not branch.object("raw/missing.csv").exists()


def test_commit_merge_tag_and_log(wrapper: Client, repo: str, lakefs_client: LakeFSClient) -> None:
    repo_ = repository(wrapper, repo)
    feature = repo_.branch("feature").create("main")
    feature.object("raw/events.csv").upload(EVENTS)
    assert [c.path for c in feature.uncommitted()] == ["raw/events.csv"]
    ref = feature.commit("Add events", metadata={"source": "etl"})

    commit = lakefs_client.commits_api.get_commit(repo, ref.id)
    assert (commit.message, commit.metadata) == ("Add events", {"source": "etl"})
    assert list(feature.uncommitted()) == []
    assert [c.id for c in feature.log(max_amount=1)] == [ref.id]

    diff = list(repo_.branch("main").diff(feature))
    assert [(d.path, d.type) for d in diff] == [("raw/events.csv", "added")]
    merged = feature.merge_into("main", message="Merge feature")
    main_head = lakefs_client.branches_api.get_branch(repo, "main").commit_id
    assert merged == main_head
    merge = lakefs_client.commits_api.get_commit(repo, main_head)
    assert merge.message == "Merge feature" and merge.parents[1] == ref.id
    assert lakefs_client.objects_api.get_object(repo, "main", "raw/events.csv") == EVENTS

    tag = repo_.tag("v1").create("main")
    assert lakefs_client.tags_api.get_tag(repo, "v1").commit_id == main_head
    with repo_.tag("v1").object("raw/events.csv").reader() as reader:
        assert reader.read() == EVENTS
    assert tag.get_commit().id == main_head


def test_reset_and_revert(wrapper: Client, repo: str, lakefs_client: LakeFSClient) -> None:
    branch = repository(wrapper, repo).branch("main")
    branch.object("raw/keep.csv").upload(b"keep\n")
    kept = branch.commit("Keep this")
    branch.object("raw/draft.csv").upload(b"draft\n")
    branch.reset_changes(path_type="object", path="raw/draft.csv")
    assert lakefs_client.branches_api.diff_branch(repo, "main").results == []

    branch.object("raw/mistake.csv").upload(b"oops\n")
    mistake = branch.commit("A mistake")
    reverted = branch.revert(mistake.id, parent_number=1)
    paths = [o.path for o in lakefs_client.objects_api.list_objects_iter(repo, "main")]
    assert paths == ["raw/keep.csv"]
    assert reverted.parents == [mistake.id] and kept.id != reverted.id
    assert lakefs_client.refs_api.log_commits(repo, "main", amount=1).results[0].id == reverted.id


def test_transaction_commits_and_merges(wrapper: Client, repo: str, lakefs_client: LakeFSClient) -> None:
    main = repository(wrapper, repo).branch("main")
    with main.transact(commit_message="In one go", commit_metadata={"by": "transact"}) as tx:
        tx.object("tables/a.csv").upload(b"a\n")
        tx.object("tables/b.csv").upload(b"b\n")
        ephemeral = tx.id
    assert sorted(o.path for o in lakefs_client.objects_api.list_objects_iter(repo, "main")) == [
        "tables/a.csv", "tables/b.csv"]
    merge = lakefs_client.refs_api.log_commits(repo, "main", amount=1).results[0]
    work = lakefs_client.commits_api.get_commit(repo, merge.parents[1])
    assert (work.message, work.metadata) == ("In one go", {"by": "transact"})
    assert ephemeral not in [b.id for b in lakefs_client.branches_api.list_branches_iter(repo)]


@local_store_only
def test_import_from_a_local_folder(wrapper: Client, repo: str, lakefs: LakeFS, lakefs_client: LakeFSClient) -> None:
    folder = lakefs.import_dir / repo
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_bytes(b"a\n")
    (folder / "sub" / "b.csv").write_bytes(b"b\n")
    branch = repository(wrapper, repo).branch("imports").create("main")
    manager = branch.import_data("Import the folder", metadata={"by": "wrapper"})
    status = manager.prefix(f"local://{folder}/", "imported/").run(poll_interval=timedelta(milliseconds=100))
    assert status.completed and status.error is None
    assert sorted(o.path for o in lakefs_client.objects_api.list_objects_iter(repo, "imports")) == [
        "imported/a.csv", "imported/sub/b.csv"]
    assert lakefs_client.objects_api.get_object(repo, "imports", "imported/sub/b.csv") == b"b\n"
    head = lakefs_client.refs_api.log_commits(repo, "imports", amount=1).results[0]
    # lakeFS commits an import as a merge, and says so in the metadata.
    assert head.message == "Import the folder"
    assert head.metadata == {"by": "wrapper", ".lakefs.merge.strategy": "source-wins"}


@s3_store_only
def test_import_from_an_s3_prefix(wrapper: Client, repo: str, s3_store: S3Store, lakefs_client: LakeFSClient) -> None:
    base = s3_store.scratch_prefix("wrapper-import")
    s3_store.put(base + "a.csv", b"a\n")
    s3_store.put(base + "sub/b.csv", b"b\n")
    branch = repository(wrapper, repo).branch("imports").create("main")
    manager = branch.import_data("Import the prefix", metadata={"by": "wrapper"})
    status = manager.prefix(base, "imported/").run(poll_interval=timedelta(milliseconds=100))
    assert status.completed and status.error is None and status.ingested_objects == 2
    assert sorted(o.path for o in lakefs_client.objects_api.list_objects_iter(repo, "imports")) == [
        "imported/a.csv", "imported/sub/b.csv"]
    assert lakefs_client.objects_api.get_object(repo, "imports", "imported/sub/b.csv") == b"b\n"
    assert lakefs_client.objects_api.stat_object(repo, "imports", "imported/a.csv").physical_address == base + "a.csv"
    head = lakefs_client.refs_api.log_commits(repo, "imports", amount=1).results[0]
    assert head.message == "Import the prefix"
    assert head.metadata == {"by": "wrapper", ".lakefs.merge.strategy": "source-wins"}


@s3_store_only
def test_presigned_write_and_read(
    wrapper: Client, repo: str, s3_store: S3Store, lakefs_client: LakeFSClient, lakefs_proxy: RecordingProxy
) -> None:
    """``lakefs`` sends the bytes to the store (a presigned PUT) and reads them from it (a redirect)."""
    data = bytes(range(256)) * 4096  # 1 MiB
    obj = repository(wrapper, repo).branch("main").object("presigned/data.bin")
    mark = lakefs_proxy.mark()
    with obj.writer(mode="wb", pre_sign=True, metadata={"via": "presign"}) as writer:
        writer.write(data)
    sent = lakefs_proxy.since(mark)
    # The reservation and the link went to lakeFS (with lakefs asking the repository and the
    # server's storage config on the way), not the bytes.
    operations = [e.operation_id for e in sent]
    staged = [e for e in sent if e.operation_id in ("getPhysicalAddress", "linkPhysicalAddress")]
    assert [e.operation_id for e in staged] == ["getPhysicalAddress", "linkPhysicalAddress"], operations
    assert "uploadObject" not in operations and "presign=true" in staged[0].target
    assert all(len(e.request.body) < 4096 for e in sent)
    stats = lakefs_client.objects_api.stat_object(repo, "main", "presigned/data.bin")
    assert stats.size_bytes == len(data) and stats.metadata == {"via": "presign"}
    assert s3_store.get(stats.physical_address) == data

    mark = lakefs_proxy.mark()
    with obj.reader(mode="rb", pre_sign=True) as reader:
        reader.seek(1000)
        assert reader.read(5000) == data[1000:6000]
    with obj.reader(mode="rb") as reader:  # pre_sign left to lakefs: the server says it presigns
        assert reader.read() == data
    gets = [e for e in lakefs_proxy.since(mark) if e.operation_id == "getObject"]
    assert gets and all("presign=true" in e.target and e.status == 302 for e in gets)
    assert all(len(e.response_body) < 4096 for e in gets)  # the bytes came from the store
    assert obj.stat(pre_sign=True).physical_address.startswith(s3_store.endpoint + "/")


def test_deletes(wrapper: Client, repo: str, lakefs_client: LakeFSClient) -> None:
    branch = repository(wrapper, repo).branch("main")
    for name in ("a", "b", "c"):
        branch.object(f"d/{name}.csv").upload(b"x\n")
    branch.object("d/a.csv").delete()
    branch.delete_objects(["d/b.csv"])
    assert [o.path for o in lakefs_client.objects_api.list_objects_iter(repo, "main")] == ["d/c.csv"]
    scratch = repository(wrapper, repo).branch("scratch").create("main")
    scratch.delete()
    assert [b.id for b in lakefs_client.branches_api.list_branches_iter(repo)] == ["main"]


def test_server_errors_become_lakefs_exceptions(wrapper: Client, repo: str, lakefs_proxy: RecordingProxy) -> None:
    repo_ = repository(wrapper, repo)
    with pytest.raises(NotFoundException) as missing:
        repo_.branch("no-such-branch").get_commit()
    assert missing.value.status_code == 404
    mark = lakefs_proxy.mark()
    with pytest.raises(ConflictException) as taken:
        repo_.branch("main").create("main")
    assert taken.value.status_code == 409
    (exchange,) = lakefs_proxy.since(mark)
    assert exchange.operation_id == "createBranch" and exchange.status == 409
    assert taken.value.body == {"message": "branch already exists: not unique"}
    assert repo_.branch("main").create("main", exist_ok=True).id == "main"
