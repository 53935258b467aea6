"""The ``repositories`` tag on the real server: create, list, get, delete, settings, dump and restore.

Every effect is read back through another call: a created repository through get/list and
its branches, GC and branch-protection settings through their getters (and through the
writes a protected branch refuses), a dump through a restore into a fresh bare repository.
"""

from __future__ import annotations

import json
import time
from typing import Callable, Dict, Iterator, List, TypeVar

import pytest

import lakefs_sdk
from lakefs_sdk.models import (
    BranchCreation,
    BranchProtectionRule,
    CommitCreation,
    GarbageCollectionRule,
    GarbageCollectionRules,
    RefsRestore,
    Repository,
    RepositoryCreation,
    RepositoryDumpStatus,
    RepositoryRestoreStatus,
    TagCreation,
    TaskInfo,
)

from support.lakefs import Wire, delete_repository, unique_name

T = TypeVar("T")
DEADLINE_SECONDS = 30.0


def wait_for(fetch: Callable[[], T], done: Callable[[T], bool], what: str) -> T:
    """Call ``fetch`` until ``done`` holds for its result; fail after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    delay = 0.02
    while True:
        result = fetch()
        if done(result):
            return result
        assert time.monotonic() < deadline, f"{what}: not done within {DEADLINE_SECONDS:.0f} s; last: {result!r}"
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def by_branch(rules: GarbageCollectionRules) -> Dict[str, int]:
    return {rule.branch_id: rule.retention_days for rule in rules.branches}


def patterns(rules: List[BranchProtectionRule]) -> List[str]:
    """The patterns of some rules, sorted: the server keeps them in a map and lists them in no order."""
    return sorted(rule.pattern for rule in rules)


def assert_server_error(error: lakefs_sdk.ApiException, status: int, message: str) -> None:
    assert error.status == status
    assert error.message is not None and message in error.message
    assert error.request_id


@pytest.fixture
def repositories(lakefs_client: lakefs_sdk.LakeFSClient) -> Iterator[List[str]]:
    """Names the test creates repositories under; each is deleted afterwards."""
    names: List[str] = []
    yield names
    for name in names:
        delete_repository(lakefs_client, name)


def new_creation(names: List[str], hint: str, **kwargs: object) -> RepositoryCreation:
    name = unique_name(hint)
    names.append(name)
    return RepositoryCreation(name=name, storage_namespace=f"local://{name}", **kwargs)  # type: ignore[arg-type]


def commit_file(client: lakefs_sdk.LakeFSClient, repo: str, branch: str, path: str, content: bytes) -> str:
    client.objects_api.upload_object(repo, branch, path, content=content)
    return client.commits_api.commit(repo, branch, CommitCreation(message=f"add {path}")).id


# -- create, get, delete ------------------------------------------------------------------


def test_create_repository_with_defaults(
    lakefs_client: lakefs_sdk.LakeFSClient, repositories: List[str], wire: Wire
) -> None:
    creation = new_creation(repositories, "defaults")
    created = lakefs_client.repositories_api.create_repository(creation)
    assert isinstance(created, Repository)
    assert created.id == creation.name
    assert created.default_branch == "main"
    assert created.storage_namespace == creation.storage_namespace
    assert created.read_only is False
    assert isinstance(created.creation_date, int) and created.creation_date > 0
    sent = wire.last("createRepository")
    assert sent.status == 201 and sent.request.query == ""

    assert lakefs_client.repositories_api.get_repository(creation.name) == created
    # The default branch exists, with the repository's first commit.
    branch = lakefs_client.branches_api.get_branch(creation.name, "main")
    log = lakefs_client.refs_api.log_commits(creation.name, "main")
    assert [c.id for c in log.results] == [branch.commit_id]
    assert lakefs_client.repositories_api.get_repository_metadata(creation.name) == {}


def test_create_repository_with_a_default_branch_and_sample_data(
    lakefs_client: lakefs_sdk.LakeFSClient, repositories: List[str]
) -> None:
    creation = new_creation(repositories, "sample", default_branch="trunk", sample_data=True)
    created = lakefs_client.repositories_api.create_repository(creation)
    assert created.default_branch == "trunk"
    branches = [b.id for b in lakefs_client.branches_api.list_branches(creation.name).results]
    assert branches == ["trunk"]
    listing = lakefs_client.objects_api.list_objects(creation.name, "trunk", amount=1000)
    paths = {o.path for o in listing.results}
    assert "README.md" in paths and len(paths) > 1
    readme = lakefs_client.objects_api.get_object(creation.name, "trunk", "README.md")
    assert len(readme) == next(o.size_bytes for o in listing.results if o.path == "README.md")


def test_create_bare_repository_has_no_branches(
    lakefs_client: lakefs_sdk.LakeFSClient, repositories: List[str], wire: Wire
) -> None:
    creation = new_creation(repositories, "bare")
    created = lakefs_client.repositories_api.create_repository(creation, bare=True)
    assert wire.last("createRepository").request.query == "bare=true"
    assert created.id == creation.name and created.default_branch == "main"
    # The server leaves read_only out of a bare repository's answer; it is optional in the spec.
    assert "read_only" not in json.loads(wire.last("createRepository").response_body)
    assert created.read_only is None
    assert lakefs_client.branches_api.list_branches(creation.name).results == []
    with pytest.raises(lakefs_sdk.NotFoundException):
        lakefs_client.branches_api.get_branch(creation.name, "main")


def test_read_only_repository_refuses_writes_unless_forced(
    lakefs_client: lakefs_sdk.LakeFSClient, repositories: List[str]
) -> None:
    creation = new_creation(repositories, "read-only", read_only=True)
    assert lakefs_client.repositories_api.create_repository(creation).read_only is True
    assert lakefs_client.repositories_api.get_repository(creation.name).read_only is True
    with pytest.raises(lakefs_sdk.ForbiddenException) as caught:
        lakefs_client.objects_api.upload_object(creation.name, "main", "a.txt", content=b"refused")
    assert_server_error(caught.value, 403, "read-only")
    with pytest.raises(lakefs_sdk.NotFoundException):
        lakefs_client.objects_api.stat_object(creation.name, "main", "a.txt")
    stats = lakefs_client.objects_api.upload_object(creation.name, "main", "a.txt", force=True, content=b"forced")
    assert lakefs_client.objects_api.stat_object(creation.name, "main", "a.txt").checksum == stats.checksum


def test_create_existing_repository_is_a_conflict(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    again = RepositoryCreation(name=repo, storage_namespace=f"local://{repo}-other")
    with pytest.raises(lakefs_sdk.ConflictException) as caught:
        lakefs_client.repositories_api.create_repository(again)
    assert_server_error(caught.value, 409, "not unique")
    assert lakefs_client.repositories_api.get_repository(repo).storage_namespace == f"local://{repo}"


def test_create_repository_on_a_used_namespace_is_refused(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    name = unique_name("same-namespace")
    with pytest.raises(lakefs_sdk.BadRequestException) as caught:
        lakefs_client.repositories_api.create_repository(
            RepositoryCreation(name=name, storage_namespace=f"local://{repo}")
        )
    assert_server_error(caught.value, 400, "storage namespace already in use")
    assert name not in [r.id for r in lakefs_client.repositories_api.list_repositories(prefix=name).results]


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "Upper_Case", "storage_namespace": "local://upper-case"},
        {"name": "ab", "storage_namespace": "local://ab"},
        {"name": "-leading-dash", "storage_namespace": "local://leading-dash"},
        {"name": "good-name", "storage_namespace": "ftp://not-a-blockstore"},
    ],
)
def test_invalid_repository_creation_is_refused_before_sending(
    lakefs_client: lakefs_sdk.LakeFSClient, wire: Wire, fields: dict
) -> None:
    with pytest.raises(ValueError, match="must match"):
        RepositoryCreation(**fields)
    # Passed as a plain dict, the SDK checks it against the model and refuses it the same way.
    with pytest.raises(lakefs_sdk.ApiValueError, match="must match"):
        lakefs_client.repositories_api.create_repository(fields)  # type: ignore[arg-type]
    assert wire.exchanges() == []


def test_delete_repository(lakefs_client: lakefs_sdk.LakeFSClient, repositories: List[str], wire: Wire) -> None:
    creation = new_creation(repositories, "deleted")
    lakefs_client.repositories_api.create_repository(creation)
    assert lakefs_client.repositories_api.delete_repository(creation.name) is None
    assert wire.last("deleteRepository").status == 204
    # Nothing read the repository before it was deleted, so no server cache still holds it.
    with pytest.raises(lakefs_sdk.NotFoundException) as caught:
        lakefs_client.repositories_api.get_repository(creation.name)
    assert_server_error(caught.value, 404, "not found")
    with pytest.raises(lakefs_sdk.NotFoundException) as caught:
        lakefs_client.repositories_api.delete_repository(creation.name)
    assert_server_error(caught.value, 404, "repository not found")
    assert lakefs_client.repositories_api.list_repositories(prefix=creation.name).results == []


def test_get_missing_repository_is_not_found(lakefs_client: lakefs_sdk.LakeFSClient) -> None:
    missing = unique_name("missing")
    for call in (
        lambda: lakefs_client.repositories_api.get_repository(missing),
        lambda: lakefs_client.repositories_api.get_repository_metadata(missing),
    ):
        with pytest.raises(lakefs_sdk.NotFoundException) as caught:
            call()
        assert_server_error(caught.value, 404, "not found")


# -- listing --------------------------------------------------------------------------------


def test_list_repositories_pages_filters_and_iterates(
    lakefs_client: lakefs_sdk.LakeFSClient, repositories: List[str], wire: Wire
) -> None:
    prefix = unique_name("listing")
    names = [f"{prefix}-{suffix}" for suffix in ("a", "b", "c")]
    for name in names:
        repositories.append(name)
        lakefs_client.repositories_api.create_repository(
            RepositoryCreation(name=name, storage_namespace=f"local://{name}")
        )
    api = lakefs_client.repositories_api

    everything = api.list_repositories(prefix=prefix)
    assert [r.id for r in everything.results] == names
    assert everything.pagination.has_more is False and everything.pagination.results == 3

    first = api.list_repositories(prefix=prefix, amount=2)
    assert [r.id for r in first.results] == names[:2]
    assert first.pagination.has_more is True and first.pagination.next_offset == names[1]
    rest = api.list_repositories(prefix=prefix, after=first.pagination.next_offset, amount=2)
    assert [r.id for r in rest.results] == names[2:]
    assert rest.pagination.has_more is False

    found = api.list_repositories(search=prefix[len("listing-") :] + "-b")
    assert [r.id for r in found.results] == [names[1]]
    assert api.list_repositories(prefix=prefix, search="no-such-repository-anywhere").results == []

    mark = len(wire.exchanges())
    assert [r.id for r in api.list_repositories_iter(prefix=prefix, amount=1)] == names
    pages = [e for e in wire.exchanges()[mark:] if e.operation_id == "listRepositories"]
    assert len(pages) == 3, "one request per page, none after the page without more"
    assert all("amount=1" in e.request.query for e in pages)


# -- repository metadata ----------------------------------------------------------------------


def test_get_repository_metadata_reads_what_was_set(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    assert lakefs_client.repositories_api.get_repository_metadata(repo) == {}
    lakefs_client.internal_api.set_repository_metadata(
        repo, lakefs_sdk.RepositoryMetadataSet(metadata={"team": "analytics", "tier": "gold"})
    )
    assert lakefs_client.repositories_api.get_repository_metadata(repo) == {"team": "analytics", "tier": "gold"}


# -- garbage collection rules -------------------------------------------------------------------


def test_gc_rules_set_get_delete(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    api = lakefs_client.repositories_api
    with pytest.raises(lakefs_sdk.NotFoundException) as caught:
        api.get_gc_rules(repo)
    assert_server_error(caught.value, 404, "not found")

    rules = GarbageCollectionRules(
        default_retention_days=21,
        branches=[
            GarbageCollectionRule(branch_id="main", retention_days=28),
            GarbageCollectionRule(branch_id="dev", retention_days=7),
        ],
    )
    assert api.set_gc_rules(repo, rules) is None
    assert wire.last("setGCRules").status == 204
    read = api.get_gc_rules(repo)
    assert read.default_retention_days == 21
    # The server keeps branch rules in a map: they come back in no particular order.
    assert by_branch(read) == {"main": 28, "dev": 7}

    assert api.delete_gc_rules(repo) is None
    assert wire.last("deleteGCRules").status == 204
    with pytest.raises(lakefs_sdk.NotFoundException):
        api.get_gc_rules(repo)
    # Deleting rules that are not there is not an error.
    assert api.delete_gc_rules(repo) is None


def test_gc_rules_without_branch_rules_read_back(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    """Known deviation: the server answers ``"branches": null`` for an empty list; the SDK accepts it."""
    api = lakefs_client.repositories_api
    api.set_gc_rules(repo, GarbageCollectionRules(default_retention_days=3, branches=[]))
    assert json.loads(wire.last("setGCRules").request.body) == {"default_retention_days": 3, "branches": []}
    rules = api.get_gc_rules(repo)
    sent = json.loads(wire.last("getGCRules").response_body)
    assert sent["branches"] in (None, [])
    assert rules.default_retention_days == 3
    assert not rules.branches


def test_gc_rules_of_a_missing_repository(lakefs_client: lakefs_sdk.LakeFSClient) -> None:
    missing = unique_name("missing")
    rules = GarbageCollectionRules(default_retention_days=1, branches=[])
    with pytest.raises(lakefs_sdk.NotFoundException):
        lakefs_client.repositories_api.set_gc_rules(missing, rules)
    with pytest.raises(lakefs_sdk.NotFoundException):
        lakefs_client.repositories_api.delete_gc_rules(missing)


# -- branch protection ----------------------------------------------------------------------------


def test_branch_protection_rules_with_etags(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    api = lakefs_client.repositories_api
    empty = api.get_branch_protection_rules_with_http_info(repo)
    assert empty.status_code == 200 and empty.data == []
    etag = empty.headers["ETag"]
    assert etag == "", "a repository without rules answers an empty ETag"

    # Passing that empty ETag back works: an empty header argument is treated as not given.
    api.set_branch_protection_rules(repo, [BranchProtectionRule(pattern="main")], if_match=etag)
    assert wire.last("setBranchProtectionRules").request.header("If-Match") is None
    first = api.get_branch_protection_rules_with_http_info(repo)
    assert first.data == [BranchProtectionRule(pattern="main")]
    first_etag = first.headers["ETag"]
    assert first_etag

    both = [BranchProtectionRule(pattern="main"), BranchProtectionRule(pattern="release-*")]
    assert api.set_branch_protection_rules_with_http_info(repo, both, if_match=first_etag).status_code == 204
    assert wire.last("setBranchProtectionRules").request.header("If-Match") == first_etag
    second = api.get_branch_protection_rules_with_http_info(repo)
    assert patterns(second.data) == ["main", "release-*"]
    assert second.headers["ETag"] not in ("", first_etag)
    # The ETag is a checksum of the stored rules: reading again gives the same one.
    assert api.get_branch_protection_rules_with_http_info(repo).headers["ETag"] == second.headers["ETag"]

    with pytest.raises(lakefs_sdk.PreconditionFailedException) as caught:
        api.set_branch_protection_rules(repo, [BranchProtectionRule(pattern="stale")], if_match=first_etag)
    assert_server_error(caught.value, 412, "Precondition failed")
    assert patterns(api.get_branch_protection_rules(repo)) == ["main", "release-*"]


def test_protected_branch_refuses_direct_writes(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="dev", source="main"))
    lakefs_client.repositories_api.set_branch_protection_rules(repo, [BranchProtectionRule(pattern="ma*")])
    with pytest.raises(lakefs_sdk.ForbiddenException) as caught:
        lakefs_client.objects_api.upload_object(repo, "main", "direct.txt", content=b"no")
    assert_server_error(caught.value, 403, "cannot write to protected branch")
    with pytest.raises(lakefs_sdk.ForbiddenException) as caught:
        lakefs_client.commits_api.commit(repo, "main", CommitCreation(message="direct", allow_empty=True))
    assert_server_error(caught.value, 403, "cannot commit to protected branch")
    with pytest.raises(lakefs_sdk.NotFoundException):
        lakefs_client.objects_api.stat_object(repo, "main", "direct.txt")
    # A branch the pattern does not match takes writes.
    stats = lakefs_client.objects_api.upload_object(repo, "dev", "direct.txt", content=b"yes")
    assert lakefs_client.objects_api.stat_object(repo, "dev", "direct.txt").checksum == stats.checksum


# -- dump and restore ---------------------------------------------------------------------------


def test_dump_and_restore_into_a_bare_repository(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, repositories: List[str], wire: Wire
) -> None:
    api = lakefs_client.repositories_api
    commit_file(lakefs_client, repo, "main", "one.txt", b"1")
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="dev", source="main"))
    commit_file(lakefs_client, repo, "dev", "two.txt", b"2")
    lakefs_client.tags_api.create_tag(repo, TagCreation(id="v1", ref="main"))

    task = api.dump_submit(repo)
    assert isinstance(task, TaskInfo) and task.id
    assert wire.last("dumpSubmit").status == 202
    dumped = wait_for(lambda: api.dump_status(repo, task.id), lambda s: s.done, "dump")
    assert isinstance(dumped, RepositoryDumpStatus)
    assert dumped.id == task.id and dumped.error is None and dumped.refs is not None
    assert dumped.update_time.tzinfo is not None

    # A bare repository on the same storage namespace can read the dumped metaranges.
    target = unique_name("restored")
    repositories.append(target)
    api.create_repository(RepositoryCreation(name=target, storage_namespace=f"local://{repo}"), bare=True)
    restore = RefsRestore(
        commits_meta_range_id=dumped.refs.commits_meta_range_id,
        tags_meta_range_id=dumped.refs.tags_meta_range_id,
        branches_meta_range_id=dumped.refs.branches_meta_range_id,
    )
    restore_task = api.restore_submit(target, restore)
    assert isinstance(restore_task, TaskInfo) and restore_task.id
    assert wire.last("restoreSubmit").status == 202
    restored = wait_for(lambda: api.restore_status(target, restore_task.id), lambda s: s.done, "restore")
    assert isinstance(restored, RepositoryRestoreStatus)
    assert restored.id == restore_task.id and restored.error is None

    def refs_of(name: str) -> tuple:
        branches = {b.id: b.commit_id for b in lakefs_client.branches_api.list_branches(name).results}
        tags = {t.id: t.commit_id for t in lakefs_client.tags_api.list_tags(name).results}
        log = [c.id for c in lakefs_client.refs_api.log_commits(name, "dev").results]
        return branches, tags, log

    assert refs_of(target) == refs_of(repo)
    assert set(refs_of(target)[0]) == {"main", "dev"}
    assert lakefs_client.objects_api.get_object(target, "dev", "two.txt") == b"2"


def test_dump_and_restore_status_of_unknown_tasks(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    api = lakefs_client.repositories_api
    with pytest.raises(lakefs_sdk.NotFoundException):
        api.dump_status(repo, task_id="no-such-task")
    with pytest.raises(lakefs_sdk.NotFoundException):
        api.restore_status(repo, task_id="no-such-task")


def test_restore_into_a_repository_with_branches_is_refused(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    api = lakefs_client.repositories_api
    task = api.dump_submit(repo)
    dumped = wait_for(lambda: api.dump_status(repo, task.id), lambda s: s.done, "dump")
    assert dumped.refs is not None
    restore = RefsRestore(
        commits_meta_range_id=dumped.refs.commits_meta_range_id,
        tags_meta_range_id=dumped.refs.tags_meta_range_id,
        branches_meta_range_id=dumped.refs.branches_meta_range_id,
    )
    with pytest.raises(lakefs_sdk.BadRequestException) as caught:
        api.restore_submit(repo, restore)
    assert_server_error(caught.value, 400, "can only restore into a bare repository")
