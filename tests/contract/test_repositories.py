"""Contract tests for the ``repositories`` tag: every operation of RepositoriesApi on the wire.

Each test calls the SDK method against Prism (static and dynamic data where the operation
answers with a body), checks what went over the wire, and checks the typed result against
the JSON Prism sent.
"""

from __future__ import annotations

import lakefs_sdk
from lakefs_sdk import ApiClient
from lakefs_sdk.models import (
    BranchProtectionRule,
    GarbageCollectionRule,
    GarbageCollectionRules,
    RefsRestore,
    Repository,
    RepositoryCreation,
    RepositoryDumpStatus,
    RepositoryList,
    RepositoryRestoreStatus,
    TaskInfo,
)

from support.contract import Wire, assert_decoded, assert_result, assert_typed, json_body, query_dict, segments

REPO = "example-repo"


def api(client: ApiClient) -> lakefs_sdk.RepositoriesApi:
    return lakefs_sdk.RepositoriesApi(client)


def test_list_repositories(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).list_repositories(prefix="example-", after="example-a", amount=50, search="repo")
    sent = wire.only("listRepositories")
    assert query_dict(sent) == {"prefix": "example-", "after": "example-a", "amount": "50", "search": "repo"}
    assert_result(page, RepositoryList, sent)
    assert all(isinstance(r, Repository) for r in page.results)
    assert isinstance(page.pagination.has_more, bool)


def test_create_repository(any_client: ApiClient, wire: Wire) -> None:
    creation = RepositoryCreation(
        name="example-repo", storage_namespace="s3://example-bucket/repos/example-repo", default_branch="main"
    )
    repository = api(any_client).create_repository(creation, bare=False)
    sent = wire.only("createRepository", 201)
    assert query_dict(sent) == {"bare": "false"}
    assert json_body(sent) == {
        "name": "example-repo",
        "storage_namespace": "s3://example-bucket/repos/example-repo",
        "default_branch": "main",
        "sample_data": False,
        "read_only": False,
    }
    assert_result(repository, Repository, sent)
    assert isinstance(repository.creation_date, int)


def test_get_repository(any_client: ApiClient, wire: Wire) -> None:
    repository = api(any_client).get_repository(REPO)
    sent = wire.only("getRepository")
    assert segments(sent) == ["repositories", REPO]
    assert_result(repository, Repository, sent)
    assert isinstance(repository.storage_namespace, str) and isinstance(repository.default_branch, str)


def test_delete_repository(any_client: ApiClient, wire: Wire) -> None:
    assert api(any_client).delete_repository(REPO, force=True) is None
    sent = wire.only("deleteRepository", 204)
    assert sent.method == "DELETE" and query_dict(sent) == {"force": "true"}


def test_get_repository_metadata(any_client: ApiClient, wire: Wire) -> None:
    metadata = api(any_client).get_repository_metadata(REPO)
    sent = wire.only("getRepositoryMetadata")
    assert isinstance(metadata, dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    assert_decoded(metadata, sent)


def test_get_gc_rules(any_client: ApiClient, wire: Wire) -> None:
    rules = api(any_client).get_gc_rules(REPO)
    sent = wire.only("getGCRules")
    assert segments(sent) == ["repositories", REPO, "settings", "gc_rules"]
    assert_result(rules, GarbageCollectionRules, sent)
    assert all(isinstance(rule, GarbageCollectionRule) for rule in rules.branches)


def test_set_gc_rules(any_client: ApiClient, wire: Wire) -> None:
    rules = GarbageCollectionRules(
        default_retention_days=21,
        branches=[
            GarbageCollectionRule(branch_id="main", retention_days=28),
            GarbageCollectionRule(branch_id="dev", retention_days=7),
        ],
    )
    assert api(any_client).set_gc_rules(REPO, rules) is None
    sent = wire.only("setGCRules", 204)
    assert sent.method == "PUT"
    assert json_body(sent) == {
        "default_retention_days": 21,
        "branches": [{"branch_id": "main", "retention_days": 28}, {"branch_id": "dev", "retention_days": 7}],
    }


def test_delete_gc_rules(any_client: ApiClient, wire: Wire) -> None:
    assert api(any_client).delete_gc_rules(REPO) is None
    assert wire.only("deleteGCRules", 204).method == "DELETE"


def test_get_branch_protection_rules(any_client: ApiClient, wire: Wire) -> None:
    rules = api(any_client).get_branch_protection_rules(REPO)
    sent = wire.only("getBranchProtectionRules")
    assert isinstance(rules, list)
    for rule in rules:
        assert_typed(rule, BranchProtectionRule)
        assert isinstance(rule.pattern, str)
    assert_decoded(rules, sent)


def test_set_branch_protection_rules(any_client: ApiClient, wire: Wire) -> None:
    rules = [BranchProtectionRule(pattern="main"), BranchProtectionRule(pattern="release-*")]
    assert api(any_client).set_branch_protection_rules(REPO, rules, if_match='"a1b2c3"') is None
    sent = wire.only("setBranchProtectionRules", 204)
    assert json_body(sent) == [{"pattern": "main"}, {"pattern": "release-*"}]
    assert sent.request.header("If-Match") == '"a1b2c3"'


def test_dump_submit(any_client: ApiClient, wire: Wire) -> None:
    task = api(any_client).dump_submit(REPO)
    sent = wire.only("dumpSubmit", 202)
    assert sent.method == "POST" and sent.request.body == b""
    assert_result(task, TaskInfo, sent)


def test_dump_status(any_client: ApiClient, wire: Wire) -> None:
    status = api(any_client).dump_status(REPO, task_id="dump-7f3a")
    sent = wire.only("dumpStatus")
    assert query_dict(sent) == {"task_id": "dump-7f3a"}
    assert_result(status, RepositoryDumpStatus, sent)
    assert isinstance(status.done, bool)


def test_restore_submit(any_client: ApiClient, wire: Wire) -> None:
    restore = RefsRestore(
        commits_meta_range_id="c3a4f1d2", tags_meta_range_id="9b8e7d6c", branches_meta_range_id="5f4e3d2c", force=True
    )
    task = api(any_client).restore_submit(REPO, restore)
    sent = wire.only("restoreSubmit", 202)
    assert json_body(sent) == {
        "commits_meta_range_id": "c3a4f1d2",
        "tags_meta_range_id": "9b8e7d6c",
        "branches_meta_range_id": "5f4e3d2c",
        "force": True,
    }
    assert_result(task, TaskInfo, sent)


def test_restore_status(any_client: ApiClient, wire: Wire) -> None:
    status = api(any_client).restore_status(REPO, task_id="restore-1c2d")
    sent = wire.only("restoreStatus")
    assert query_dict(sent) == {"task_id": "restore-1c2d"}
    assert_result(status, RepositoryRestoreStatus, sent)
