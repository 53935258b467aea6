"""Contract tests for the ``internal`` tag: every operation of InternalApi on the wire, with typed results.

Deprecated operations are called too: the SDK must still send them correctly, and warns.
"""

from __future__ import annotations

import pytest

import lakefs_sdk
from lakefs_sdk import ApiClient
from lakefs_sdk.models import (
    AccessKeyCredentials,
    AuthCapabilities,
    BranchProtectionRule,
    CommitRecordCreation,
    CommPrefsInput,
    CredentialsWithSecret,
    GarbageCollectionConfig,
    GarbageCollectionPrepareResponse,
    GarbageCollectionRule,
    GarbageCollectionRules,
    InstallationUsageReport,
    InternalDeleteBranchProtectionRuleRequest,
    ObjectStageCreation,
    ObjectStats,
    PrepareGarbageCollectionCommitsStatus,
    PrepareGCUncommittedRequest,
    PrepareGCUncommittedResponse,
    RefsDump,
    RefsRestore,
    RepositoryMetadataKeys,
    RepositoryMetadataSet,
    SetupState,
    StatsEvent,
    StatsEventsList,
    StorageConfig,
    StorageURI,
    TaskCreation,
    UsageReport,
    VersionConfig,
)

from support.contract import Wire, assert_decoded, assert_result, assert_typed, json_body, query_dict, segments

REPO = "example-repo"


def api(client: ApiClient) -> lakefs_sdk.InternalApi:
    return lakefs_sdk.InternalApi(client)


def deprecated(operation_id: str) -> pytest.WarningsChecker:
    return pytest.warns(DeprecationWarning, match=f"calls {operation_id}, which the API marks deprecated")


# -- setup and installation -----------------------------------------------------------------


def test_setup_comm_prefs(any_client: ApiClient, wire: Wire) -> None:
    prefs = CommPrefsInput(
        email="admin@example.com", company_name="Example Corp", feature_updates=True, security_updates=True
    )
    assert api(any_client).setup_comm_prefs(prefs) is None
    sent = wire.only("setupCommPrefs", 200)
    assert sent.request.header("Authorization") is None, "setupCommPrefs has `security: []`"
    assert json_body(sent) == {
        "email": "admin@example.com",
        "companyName": "Example Corp",
        "featureUpdates": True,
        "securityUpdates": True,
    }


def test_get_setup_state(any_client: ApiClient, wire: Wire) -> None:
    state = api(any_client).get_setup_state()
    sent = wire.only("getSetupState")
    assert_result(state, SetupState, sent)
    assert state.state in (None, "initialized", "not_initialized")


def test_setup(any_client: ApiClient, wire: Wire) -> None:
    setup = lakefs_sdk.models.Setup(
        username="admin",
        key=AccessKeyCredentials(access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key="wJalrXUtnFEMI/K7MDENG"),
    )
    credentials = api(any_client).setup(setup)
    sent = wire.only("setup")
    assert json_body(sent) == {
        "username": "admin",
        "key": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "wJalrXUtnFEMI/K7MDENG"},
    }
    assert_result(credentials, CredentialsWithSecret, sent)


def test_get_auth_capabilities(any_client: ApiClient, wire: Wire) -> None:
    capabilities = api(any_client).get_auth_capabilities()
    sent = wire.only("getAuthCapabilities")
    assert_result(capabilities, AuthCapabilities, sent)


def test_get_lake_fs_version(any_client: ApiClient, wire: Wire) -> None:
    with deprecated("getLakeFSVersion"):
        version = api(any_client).get_lake_fs_version()
    sent = wire.only("getLakeFSVersion")
    assert_result(version, VersionConfig, sent)


def test_get_storage_config(any_client: ApiClient, wire: Wire) -> None:
    with deprecated("getStorageConfig"):
        config = api(any_client).get_storage_config()
    sent = wire.only("getStorageConfig")
    assert_result(config, StorageConfig, sent)
    assert isinstance(config.blockstore_namespace_validity_regex, str)


def test_get_garbage_collection_config(any_client: ApiClient, wire: Wire) -> None:
    config = api(any_client).get_garbage_collection_config()
    sent = wire.only("getGarbageCollectionConfig")
    assert_result(config, GarbageCollectionConfig, sent)


def test_post_stats_events(any_client: ApiClient, wire: Wire) -> None:
    events = StatsEventsList(events=[StatsEvent(var_class="ui", name="repository_created", count=1)])
    assert api(any_client).post_stats_events(events) is None
    sent = wire.only("postStatsEvents", 204)
    assert json_body(sent) == {"events": [{"class": "ui", "name": "repository_created", "count": 1}]}


def test_get_usage_report_summary(any_client: ApiClient, wire: Wire) -> None:
    report = api(any_client).get_usage_report_summary()
    sent = wire.only("getUsageReportSummary")
    assert_result(report, InstallationUsageReport, sent)
    assert all(isinstance(r, UsageReport) for r in report.reports)


# -- repository metadata and refs ------------------------------------------------------------


def test_set_repository_metadata(any_client: ApiClient, wire: Wire) -> None:
    metadata = RepositoryMetadataSet(metadata={"team": "analytics", "cost-center": "cc-1042"})
    assert api(any_client).set_repository_metadata(REPO, metadata) is None
    sent = wire.only("setRepositoryMetadata", 204)
    assert sent.method == "POST" and json_body(sent) == {"metadata": {"team": "analytics", "cost-center": "cc-1042"}}


def test_delete_repository_metadata(any_client: ApiClient, wire: Wire) -> None:
    assert (
        api(any_client).delete_repository_metadata(REPO, RepositoryMetadataKeys(keys=["team", "cost-center"])) is None
    )
    sent = wire.only("deleteRepositoryMetadata", 204)
    assert sent.method == "DELETE" and json_body(sent) == {"keys": ["team", "cost-center"]}


def test_dump_refs(any_client: ApiClient, wire: Wire) -> None:
    dump = api(any_client).dump_refs(REPO)
    sent = wire.only("dumpRefs", 201)
    assert sent.method == "PUT" and segments(sent) == ["repositories", REPO, "refs", "dump"]
    assert_result(dump, RefsDump, sent)


def test_restore_refs(any_client: ApiClient, wire: Wire) -> None:
    restore = RefsRestore(
        commits_meta_range_id="c3a4f1d2", tags_meta_range_id="9b8e7d6c", branches_meta_range_id="5f4e3d2c"
    )
    assert api(any_client).restore_refs(REPO, restore) is None
    sent = wire.only("restoreRefs", 200)
    assert segments(sent) == ["repositories", REPO, "refs", "restore"]
    assert json_body(sent)["commits_meta_range_id"] == "c3a4f1d2"


def test_create_commit_record(any_client: ApiClient, wire: Wire) -> None:
    record = CommitRecordCreation(
        commit_id="b6f1e4a2",
        version=1,
        committer="jane",
        message="Imported from backup",
        metarange_id="mr-77e1",
        creation_date=1735787045,
        parents=["a1b2c3d4"],
        metadata={"origin": "backup"},
        generation=42,
    )
    assert api(any_client).create_commit_record(REPO, record) is None
    sent = wire.only("CreateCommitRecord", 204)
    assert json_body(sent) == {
        "commit_id": "b6f1e4a2",
        "version": 1,
        "committer": "jane",
        "message": "Imported from backup",
        "metarange_id": "mr-77e1",
        "creation_date": 1735787045,
        "parents": ["a1b2c3d4"],
        "metadata": {"origin": "backup"},
        "generation": 42,
        "force": False,
    }


# -- objects ------------------------------------------------------------------------------


def test_upload_object_preflight(any_client: ApiClient, wire: Wire) -> None:
    assert api(any_client).upload_object_preflight(REPO, "main", "data/new.csv") is None
    sent = wire.only("uploadObjectPreflight", 204)
    assert segments(sent)[-2:] == ["objects", "stage_allowed"] and query_dict(sent) == {"path": "data/new.csv"}


def test_stage_object(any_client: ApiClient, wire: Wire) -> None:
    creation = ObjectStageCreation(
        physical_address="s3://example-bucket/external/sales.csv",
        checksum="9a0364b9e99bb480dd25e1f0284c8555",
        size_bytes=2048,
        metadata={"owner": "data-eng"},
    )
    with deprecated("stageObject"):
        stats = api(any_client).stage_object(REPO, "main", "data/sales.csv", creation)
    sent = wire.only("stageObject", 201)
    assert sent.method == "PUT" and query_dict(sent) == {"path": "data/sales.csv"}
    assert json_body(sent)["metadata"] == {"owner": "data-eng"}
    assert_result(stats, ObjectStats, sent)


def test_create_symlink_file(any_client: ApiClient, wire: Wire) -> None:
    uri = api(any_client).create_symlink_file(REPO, "main", location="s3://example-bucket/symlinks/")
    sent = wire.only("createSymlinkFile", 201)
    assert segments(sent) == ["repositories", REPO, "refs", "main", "symlink"]
    assert query_dict(sent) == {"location": "s3://example-bucket/symlinks/"}
    assert_result(uri, StorageURI, sent)


@pytest.mark.parametrize("kind", ["range", "meta_range"])
def test_get_metadata_object(any_client: ApiClient, wire: Wire, kind: str) -> None:
    data = api(any_client).get_metadata_object(REPO, "f1e2d3c4b5a6", kind, presign=False)
    sent = wire.only("getMetadataObject", 200)
    assert segments(sent) == ["repositories", REPO, "metadata", "object", kind, "f1e2d3c4b5a6"]
    assert query_dict(sent) == {"presign": "false"}
    assert isinstance(data, bytes) and data == sent.response_body


# -- garbage collection -----------------------------------------------------------------------


def test_set_garbage_collection_rules_preflight(any_client: ApiClient, wire: Wire) -> None:
    assert api(any_client).set_garbage_collection_rules_preflight(REPO) is None
    assert wire.only("setGarbageCollectionRulesPreflight", 204).method == "GET"


def test_internal_get_garbage_collection_rules(any_client: ApiClient, wire: Wire) -> None:
    with deprecated("internalGetGarbageCollectionRules"):
        rules = api(any_client).internal_get_garbage_collection_rules(REPO)
    sent = wire.only("internalGetGarbageCollectionRules")
    assert_result(rules, GarbageCollectionRules, sent)


def test_internal_set_garbage_collection_rules(any_client: ApiClient, wire: Wire) -> None:
    rules = GarbageCollectionRules(
        default_retention_days=14, branches=[GarbageCollectionRule(branch_id="main", retention_days=30)]
    )
    with deprecated("internalSetGarbageCollectionRules"):
        assert api(any_client).internal_set_garbage_collection_rules(REPO, rules) is None
    sent = wire.only("internalSetGarbageCollectionRules", 204)
    assert json_body(sent) == {"default_retention_days": 14, "branches": [{"branch_id": "main", "retention_days": 30}]}


def test_internal_delete_garbage_collection_rules(any_client: ApiClient, wire: Wire) -> None:
    with deprecated("internalDeleteGarbageCollectionRules"):
        assert api(any_client).internal_delete_garbage_collection_rules(REPO) is None
    assert wire.only("internalDeleteGarbageCollectionRules", 204).method == "DELETE"


def test_prepare_garbage_collection_commits(any_client: ApiClient, wire: Wire) -> None:
    response = api(any_client).prepare_garbage_collection_commits(REPO)
    sent = wire.only("prepareGarbageCollectionCommits", 201)
    assert sent.method == "POST" and sent.request.body == b""
    assert_result(response, GarbageCollectionPrepareResponse, sent)


def test_prepare_garbage_collection_commits_async(any_client: ApiClient, wire: Wire) -> None:
    task = api(any_client).prepare_garbage_collection_commits_async(REPO)
    sent = wire.only("prepareGarbageCollectionCommitsAsync", 202)
    assert segments(sent)[-2:] == ["prepare_commits", "async"]
    assert_result(task, TaskCreation, sent)


def test_prepare_garbage_collection_commits_status(any_client: ApiClient, wire: Wire) -> None:
    status = api(any_client).prepare_garbage_collection_commits_status(REPO, "gc-task-81c2")
    sent = wire.only("prepareGarbageCollectionCommitsStatus")
    assert query_dict(sent) == {"id": "gc-task-81c2"}
    assert_result(status, PrepareGarbageCollectionCommitsStatus, sent)
    assert status.result is None or isinstance(status.result, GarbageCollectionPrepareResponse)


def test_prepare_garbage_collection_uncommitted(any_client: ApiClient, wire: Wire) -> None:
    request = PrepareGCUncommittedRequest(continuation_token="eyJvZmZzZXQiOjEwMDB9")
    response = api(any_client).prepare_garbage_collection_uncommitted(REPO, request)
    sent = wire.only("prepareGarbageCollectionUncommitted", 201)
    assert segments(sent)[-1] == "prepare_uncommited", "the spec's path spelling is kept"
    assert json_body(sent) == {"continuation_token": "eyJvZmZzZXQiOjEwMDB9"}
    assert_result(response, PrepareGCUncommittedResponse, sent)


# -- branch protection ----------------------------------------------------------------------


def test_create_branch_protection_rule_preflight(any_client: ApiClient, wire: Wire) -> None:
    assert api(any_client).create_branch_protection_rule_preflight(REPO) is None
    assert wire.only("createBranchProtectionRulePreflight", 204).method == "GET"


def test_internal_get_branch_protection_rules(any_client: ApiClient, wire: Wire) -> None:
    with deprecated("internalGetBranchProtectionRules"):
        rules = api(any_client).internal_get_branch_protection_rules(REPO)
    sent = wire.only("internalGetBranchProtectionRules")
    assert isinstance(rules, list)
    for rule in rules:
        assert_typed(rule, BranchProtectionRule)
    assert_decoded(rules, sent)


def test_internal_create_branch_protection_rule(any_client: ApiClient, wire: Wire) -> None:
    with deprecated("internalCreateBranchProtectionRule"):
        assert (
            api(any_client).internal_create_branch_protection_rule(REPO, BranchProtectionRule(pattern="release-*"))
            is None
        )
    sent = wire.only("internalCreateBranchProtectionRule", 204)
    assert json_body(sent) == {"pattern": "release-*"}


def test_internal_delete_branch_protection_rule(any_client: ApiClient, wire: Wire) -> None:
    with deprecated("internalDeleteBranchProtectionRule"):
        result = api(any_client).internal_delete_branch_protection_rule(
            REPO, InternalDeleteBranchProtectionRuleRequest(pattern="release-*")
        )
    assert result is None
    sent = wire.only("internalDeleteBranchProtectionRule", 204)
    assert sent.method == "DELETE" and json_body(sent) == {"pattern": "release-*"}
