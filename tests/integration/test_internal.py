"""The ``internal`` tag on the real server: setup, settings, refs plumbing, staging and GC preparation.

Every operation is called through the recording proxy, and each effect is read back:
metadata through getRepositoryMetadata, dumped refs through a restore into a bare
repository, a commit record and staged objects through the commit and object reads, the
files createSymlinkFile and the GC preparations write through the server's own folder
(the local blockstore writes plain files; ``local://`` + absolute path). Deprecated
operations are called inside ``pytest.warns``: the SDK warns about them. The tests that
read those files or spell ``local://`` namespaces skip on S3 (``LAKEFS_STORE=s3``), where
this module does not run in ``scripts/test.sh``.

Setup on a server that nobody initialized yet needs one of its own: a private lakeFS
started without an installation section, so its first setup call is still open.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, TypeVar

import pytest

import lakefs_sdk
from lakefs_sdk.models import (
    AuthCapabilities,
    BranchCreation,
    BranchProtectionRule,
    CommitCreation,
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
    PrepareGarbageCollectionCommitsStatus,
    PrepareGCUncommittedRequest,
    PrepareGCUncommittedResponse,
    RefsDump,
    RefsRestore,
    RepositoryCreation,
    RepositoryMetadataKeys,
    RepositoryMetadataSet,
    Setup,
    SetupState,
    StatsEvent,
    StatsEventsList,
    StorageConfig,
    StorageURI,
    TaskCreation,
    VersionConfig,
)

from support.lakefs import LakeFS, Wire, delete_repository, local_store_only, unique_name
from support.scripts import load_script

T = TypeVar("T")
DEADLINE_SECONDS = 30.0
# An address lakeFS's e-mail check takes for a business one (a known TLD, not a free-mail domain).
BUSINESS_EMAIL = "data-team@acme-analytics.io"


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


def deprecated(operation_id: str) -> Any:
    return pytest.warns(DeprecationWarning, match=f"calls {operation_id}, which the API marks deprecated")


def assert_server_error(error: lakefs_sdk.ApiException, status: int, message: str) -> None:
    assert error.status == status
    assert error.message is not None and message in error.message
    assert error.request_id


def on_disk(url: str) -> Path:
    """The file behind an absolute local blockstore URL (``local:///tmp/...``)."""
    assert url.startswith("local:///"), url
    return Path(url[len("local://") :])


def namespace_folder(lakefs: LakeFS, repo: str) -> Path:
    """Where the local blockstore keeps the storage namespace ``local://<repo>`` (its ``block`` folder)."""
    return lakefs.import_dir.parent / "block" / repo


@pytest.fixture
def repositories(lakefs_client: lakefs_sdk.LakeFSClient) -> Iterator[List[str]]:
    """Names of repositories the test creates; each is deleted afterwards."""
    names: List[str] = []
    yield names
    for name in names:
        delete_repository(lakefs_client, name)


def bare_twin(client: lakefs_sdk.LakeFSClient, repo: str, names: List[str]) -> str:
    """A bare repository on ``repo``'s storage namespace, so that it can read ``repo``'s metadata files."""
    name = unique_name("twin")
    names.append(name)
    client.repositories_api.create_repository(
        RepositoryCreation(name=name, storage_namespace=f"local://{repo}"), bare=True
    )
    return name


def commit_files(client: lakefs_sdk.LakeFSClient, repo: str, files: Dict[str, bytes], message: str = "add") -> str:
    for path, content in files.items():
        client.objects_api.upload_object(repo, "main", path, content=content)
    return client.commits_api.commit(repo, "main", CommitCreation(message=message)).id


# -- setup and installation ------------------------------------------------------------------


def test_get_setup_state_of_an_initialized_server(lakefs_client: lakefs_sdk.LakeFSClient, wire: Wire) -> None:
    state = lakefs_client.internal_api.get_setup_state()
    assert isinstance(state, SetupState)
    assert state.state == "initialized"
    # Comm prefs are not asked for: the server runs with e-mail subscription off.
    assert state.comm_prefs_missing is False
    assert state.login_config is not None and state.login_config.rbac == "none"
    assert wire.last("getSetupState").request.header("Authorization") is None


def test_setup_of_an_initialized_server_is_a_conflict(lakefs_client: lakefs_sdk.LakeFSClient, wire: Wire) -> None:
    with pytest.raises(lakefs_sdk.ConflictException) as caught:
        lakefs_client.internal_api.setup(Setup(username="second-admin"))
    assert_server_error(caught.value, 409, "lakeFS already initialized")
    assert lakefs_client.internal_api.get_setup_state().state == "initialized"
    assert lakefs_client.auth_api.get_current_user().user.id == "admin", "the admin is still who we are"


def test_setup_comm_prefs_on_an_initialized_server(
    lakefs: LakeFS, lakefs_client: lakefs_sdk.LakeFSClient, wire: Wire
) -> None:
    api = lakefs_client.internal_api
    prefs = CommPrefsInput(email=BUSINESS_EMAIL, feature_updates=False, security_updates=False)
    if lakefs.at_least("1.86.0"):
        # 1.86 takes comm prefs once, after setup; this server has nothing to ask (subscription off).
        with pytest.raises(lakefs_sdk.ConflictException) as caught:
            api.setup_comm_prefs(prefs)
        assert_server_error(caught.value, 409, "communication preferences already set")
    else:
        # 1.84 takes them at any time, again and again, once the e-mail address passes its check.
        assert api.setup_comm_prefs(prefs) is None
        assert wire.last("setupCommPrefs").status == 200
        assert api.setup_comm_prefs(prefs) is None
    sent = wire.last("setupCommPrefs")
    assert sent.request.header("Authorization") is None, "setupCommPrefs is sent without credentials"
    assert json.loads(sent.request.body) == {
        "email": BUSINESS_EMAIL,
        "featureUpdates": False,
        "securityUpdates": False,
    }
    assert api.get_setup_state().comm_prefs_missing is False


def test_setup_comm_prefs_checks_the_email_before_anything_else_on_1_84(
    lakefs: LakeFS, lakefs_client: lakefs_sdk.LakeFSClient
) -> None:
    api = lakefs_client.internal_api
    missing = CommPrefsInput(feature_updates=True, security_updates=True)
    free = CommPrefsInput(email="someone@gmail.com", feature_updates=True, security_updates=True)
    if lakefs.at_least("1.86.0"):
        # 1.86 refuses before it looks at the body.
        for prefs in (missing, free):
            with pytest.raises(lakefs_sdk.ConflictException):
                api.setup_comm_prefs(prefs)
        return
    with pytest.raises(lakefs_sdk.BadRequestException) as caught:
        api.setup_comm_prefs(missing)
    assert_server_error(caught.value, 400, "email is required")
    with pytest.raises(lakefs_sdk.BadRequestException) as caught:
        api.setup_comm_prefs(free)
    assert_server_error(caught.value, 400, "business email")


def _uninitialized_server(lakefs: LakeFS, workdir: Path) -> Any:
    """A private ``LakeFSServer`` without an installation section: nobody has set it up yet."""
    if lakefs.binary is None or not lakefs.binary.is_file():
        pytest.skip("LAKEFS_BIN is not set: a private lakeFS server needs the binary")
    base = load_script("lakefs_server").LakeFSServer

    class UninitializedServer(base):  # type: ignore[misc, valid-type]
        def config(self) -> Dict[str, Any]:
            config: Dict[str, Any] = super().config()
            del config["installation"]
            return config

    return UninitializedServer(lakefs.binary, workdir, lakefs.version)


def test_setup_of_a_fresh_server(lakefs: LakeFS, tmp_path: Path) -> None:
    server = _uninitialized_server(lakefs, tmp_path / "lakefs")
    server.start()
    try:
        anonymous = lakefs_sdk.Configuration(host=server.endpoint + "/api/v1", max_retries=0)
        with lakefs_sdk.LakeFSClient(anonymous) as client:
            api = client.internal_api
            assert api.get_setup_state().state == "not_initialized"
            prefs = CommPrefsInput(email=BUSINESS_EMAIL, feature_updates=False, security_updates=True)
            if lakefs.at_least("1.86.0"):
                with pytest.raises(lakefs_sdk.PreconditionFailedException) as early:
                    api.setup_comm_prefs(prefs)
                assert_server_error(early.value, 412, "lakeFS is not initialized")
            else:
                assert api.setup_comm_prefs(prefs) is None  # 1.84 takes them even before setup
            assert api.get_setup_state().state == "not_initialized"

            credentials = api.setup(Setup(username="first-admin"))
            assert isinstance(credentials, CredentialsWithSecret)
            assert credentials.access_key_id.startswith("AKIA") and credentials.secret_access_key
            assert credentials.creation_date > 0
            assert credentials.secret_access_key not in repr(credentials)
            assert api.get_setup_state().state == "initialized"
            with pytest.raises(lakefs_sdk.ConflictException) as again:
                api.setup(Setup(username="first-admin"))
            assert_server_error(again.value, 409, "lakeFS already initialized")
            if lakefs.at_least("1.86.0"):
                with pytest.raises(lakefs_sdk.ConflictException):
                    api.setup_comm_prefs(prefs)
            else:
                assert api.setup_comm_prefs(prefs) is None

        # The credentials setup answered with are the new admin's.
        admin = lakefs_sdk.Configuration(
            host=server.endpoint + "/api/v1",
            username=credentials.access_key_id,
            password=credentials.secret_access_key,
            max_retries=0,
        )
        with lakefs_sdk.LakeFSClient(admin) as client:
            assert client.auth_api.get_current_user().user.id == "first-admin"
    finally:
        server.cleanup()


def test_get_auth_capabilities(lakefs_client: lakefs_sdk.LakeFSClient, wire: Wire) -> None:
    capabilities = lakefs_client.internal_api.get_auth_capabilities()
    assert isinstance(capabilities, AuthCapabilities)
    # The open-source edition with RBAC off invites nobody and resets no passwords.
    assert capabilities.invite_user is False
    assert not capabilities.forgot_password
    assert capabilities.to_dict() == json.loads(wire.last("getAuthCapabilities").response_body)


def test_version_and_storage_config(lakefs: LakeFS, lakefs_client: lakefs_sdk.LakeFSClient) -> None:
    api = lakefs_client.internal_api
    with deprecated("getLakeFSVersion"):
        version = api.get_lake_fs_version()
    assert isinstance(version, VersionConfig) and version.version == lakefs.version
    with deprecated("getStorageConfig"):
        storage = api.get_storage_config()
    assert isinstance(storage, StorageConfig)
    # The deprecated operations answer what getConfig holds.
    config = lakefs_client.config_api.get_config()
    assert storage == config.storage_config
    assert version == config.version_config


def test_get_garbage_collection_config(lakefs_client: lakefs_sdk.LakeFSClient) -> None:
    config = lakefs_client.internal_api.get_garbage_collection_config()
    assert isinstance(config, GarbageCollectionConfig)
    assert config.grace_period == 24 * 60 * 60, "lakeFS's default grace period: one day, in seconds"


def test_post_stats_events(lakefs_client: lakefs_sdk.LakeFSClient, wire: Wire) -> None:
    events = StatsEventsList(
        events=[StatsEvent(var_class="sdk-tests", name="called", count=2), StatsEvent(var_class="x", name="y", count=1)]
    )
    assert lakefs_client.internal_api.post_stats_events(events) is None
    sent = wire.last("postStatsEvents")
    assert sent.status == 204
    assert json.loads(sent.request.body) == {
        "events": [{"class": "sdk-tests", "name": "called", "count": 2}, {"class": "x", "name": "y", "count": 1}]
    }


def test_get_usage_report_summary(lakefs_client: lakefs_sdk.LakeFSClient) -> None:
    report = lakefs_client.internal_api.get_usage_report_summary()
    assert isinstance(report, InstallationUsageReport)
    assert report.installation_id
    now = datetime.datetime.now(datetime.timezone.utc)
    this_month = [r for r in report.reports if (r.year, r.month) == (now.year, now.month)]
    # This very session has been sending requests all along.
    assert this_month and this_month[0].count > 0
    assert lakefs_client.internal_api.get_usage_report_summary().installation_id == report.installation_id


# -- repository metadata -------------------------------------------------------------------------


def test_set_and_delete_repository_metadata(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    internal, repositories = lakefs_client.internal_api, lakefs_client.repositories_api
    assert internal.set_repository_metadata(repo, RepositoryMetadataSet(metadata={"team": "data", "tier": "1"})) is None
    assert wire.last("setRepositoryMetadata").status == 204
    assert repositories.get_repository_metadata(repo) == {"team": "data", "tier": "1"}
    # Setting merges: new keys are added, existing ones overwritten.
    internal.set_repository_metadata(repo, RepositoryMetadataSet(metadata={"tier": "2", "owner": "ana"}))
    assert repositories.get_repository_metadata(repo) == {"team": "data", "tier": "2", "owner": "ana"}

    assert internal.delete_repository_metadata(repo, RepositoryMetadataKeys(keys=["tier", "no-such-key"])) is None
    sent = wire.last("deleteRepositoryMetadata")
    assert sent.status == 204 and json.loads(sent.request.body) == {"keys": ["tier", "no-such-key"]}
    assert repositories.get_repository_metadata(repo) == {"team": "data", "owner": "ana"}

    missing = unique_name("missing")
    with pytest.raises(lakefs_sdk.NotFoundException):
        internal.set_repository_metadata(missing, RepositoryMetadataSet(metadata={"a": "b"}))


# -- refs plumbing ------------------------------------------------------------------------------


@local_store_only
def test_dump_refs_and_restore_refs_into_a_bare_repository(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, repositories: List[str], wire: Wire
) -> None:
    commit_files(lakefs_client, repo, {"a.txt": b"a"})
    lakefs_client.branches_api.create_branch(repo, BranchCreation(name="side", source="main"))
    dump = lakefs_client.internal_api.dump_refs(repo)
    assert isinstance(dump, RefsDump)
    assert wire.last("dumpRefs").status == 201

    twin = bare_twin(lakefs_client, repo, repositories)
    restore = RefsRestore(
        commits_meta_range_id=dump.commits_meta_range_id,
        tags_meta_range_id=dump.tags_meta_range_id,
        branches_meta_range_id=dump.branches_meta_range_id,
    )
    assert lakefs_client.internal_api.restore_refs(twin, restore) is None
    assert wire.last("restoreRefs").status == 200

    def branches(name: str) -> Dict[str, str]:
        return {b.id: b.commit_id for b in lakefs_client.branches_api.list_branches(name).results}

    assert branches(twin) == branches(repo) and set(branches(twin)) == {"main", "side"}
    assert lakefs_client.objects_api.get_object(twin, "side", "a.txt") == b"a"
    # Now that it has branches, the twin is no longer bare: a second restore is refused.
    with pytest.raises(lakefs_sdk.BadRequestException) as caught:
        lakefs_client.internal_api.restore_refs(twin, restore)
    assert_server_error(caught.value, 400, "can only restore into a bare repository")


@local_store_only
def test_create_commit_record_copies_a_commit(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, repositories: List[str], wire: Wire
) -> None:
    head = lakefs_client.commits_api.get_commit(repo, commit_files(lakefs_client, repo, {"a.txt": b"a"}, "first"))
    twin = bare_twin(lakefs_client, repo, repositories)
    record = CommitRecordCreation(
        commit_id=head.id,
        version=head.version,
        committer=head.committer,
        message=head.message,
        metarange_id=head.meta_range_id,
        creation_date=head.creation_date,
        parents=head.parents,
        metadata=head.metadata,
        generation=head.generation,
    )
    assert lakefs_client.internal_api.create_commit_record(twin, record) is None
    assert wire.last("CreateCommitRecord").status == 204
    assert lakefs_client.commits_api.get_commit(twin, head.id) == head

    with pytest.raises(lakefs_sdk.ConflictException) as caught:
        lakefs_client.internal_api.create_commit_record(twin, record)
    assert_server_error(caught.value, 409, "commit already exists")
    # The ID must be the commit's content address: a changed message no longer matches it.
    tampered = record.model_copy(update={"message": "something else"})
    with pytest.raises(lakefs_sdk.BadRequestException) as caught:
        lakefs_client.internal_api.create_commit_record(twin, tampered)
    assert_server_error(caught.value, 400, "commit id: invalid value")


# -- objects ------------------------------------------------------------------------------------


def test_upload_object_preflight(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    assert lakefs_client.internal_api.upload_object_preflight(repo, "main", "new/file.csv") is None
    sent = wire.last("uploadObjectPreflight")
    assert sent.status == 204 and sent.request.query == "path=new/file.csv"
    # The preflight asks only whether the caller may write there: it looks nothing up, so a
    # repository that does not exist is "allowed" too (the spec's 404 never comes).
    assert lakefs_client.internal_api.upload_object_preflight(unique_name("missing"), "no-branch", "x") is None
    assert wire.last("uploadObjectPreflight").status == 204


@local_store_only
def test_stage_object_links_a_file_from_the_import_folder(
    lakefs: LakeFS, lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    content = b"bytes written outside lakeFS"
    source = lakefs.import_dir / f"{repo}-staged.bin"
    source.write_bytes(content)
    try:
        creation = ObjectStageCreation(
            physical_address=f"local://{source}",
            checksum=hashlib.md5(content).hexdigest(),
            size_bytes=len(content),
            metadata={"origin": "stage_object"},
            content_type="application/x-test",
        )
        with deprecated("stageObject"):
            stats = lakefs_client.internal_api.stage_object(repo, "main", "linked/file.bin", creation)
        assert wire.last("stageObject").status == 201
        assert stats.path == "linked/file.bin" and stats.size_bytes == len(content)
        assert stats.checksum == creation.checksum

        assert lakefs_client.objects_api.get_object(repo, "main", "linked/file.bin") == content
        read = lakefs_client.objects_api.stat_object(repo, "main", "linked/file.bin", user_metadata=True)
        assert read.metadata == {"origin": "stage_object"} and read.content_type == "application/x-test"
        diff = lakefs_client.branches_api.diff_branch(repo, "main")
        assert [(d.path, d.type) for d in diff.results] == [("linked/file.bin", "added")]

        outside = creation.model_copy(update={"physical_address": "local:///etc/hostname"})
        with pytest.raises(lakefs_sdk.ForbiddenException) as caught, deprecated("stageObject"):
            lakefs_client.internal_api.stage_object(repo, "main", "linked/outside.bin", outside)
        assert_server_error(caught.value, 403, "forbidden")
    finally:
        source.unlink()


@local_store_only
def test_create_symlink_file_writes_the_physical_addresses(
    lakefs: LakeFS, lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    for name in ("x.csv", "y.csv"):
        lakefs_client.objects_api.upload_object(repo, "main", f"table/{name}", content=name.encode())
    lakefs_client.objects_api.upload_object(repo, "main", "elsewhere.txt", content=b"not in table/")
    uri = lakefs_client.internal_api.create_symlink_file(repo, "main", location="table/")
    assert isinstance(uri, StorageURI)
    assert wire.last("createSymlinkFile").status == 201
    assert uri.location == f"local://{repo}/symlinks"

    # One symlink.txt per folder, under <location>/<repository>/<branch>/: one address a line.
    written = namespace_folder(lakefs, repo) / "symlinks" / repo / "main" / "table" / "symlink.txt"
    addresses = written.read_text().splitlines()
    expected = [
        lakefs_client.objects_api.stat_object(repo, "main", f"table/{n}").physical_address for n in ("x.csv", "y.csv")
    ]
    assert addresses == expected
    assert [on_disk(a).read_bytes() for a in addresses] == [b"x.csv", b"y.csv"]


def test_create_symlink_file_on_an_empty_branch_drops_the_connection(
    direct_lakefs_client: lakefs_sdk.LakeFSClient, repo: str
) -> None:
    """lakeFS bug (1.84 and 1.86): with nothing to link, the handler panics and the server hangs up.

    Called without the proxy, so that the SDK sees exactly what lakeFS does: no answer at all.
    """
    with pytest.raises(lakefs_sdk.ApiConnectionError) as caught:
        direct_lakefs_client.internal_api.create_symlink_file(repo, "main")
    assert caught.value.status == 0
    assert "RemoteDisconnected" in repr(caught.value.__cause__)
    assert direct_lakefs_client.repositories_api.get_repository(repo).id == repo, "the server is still up"


@local_store_only
@pytest.mark.parametrize("kind", ["meta_range", "range"])
def test_get_metadata_object_reads_the_stored_file(
    lakefs: LakeFS, lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire, kind: str
) -> None:
    commit = lakefs_client.commits_api.get_commit(repo, commit_files(lakefs_client, repo, {"a": b"1", "b": b"2"}))
    # A fresh repository with one commit holds two metadata files: its metarange and one range.
    stored = {p.name: p for p in (namespace_folder(lakefs, repo) / "_lakefs").iterdir() if len(p.name) == 64}
    assert commit.meta_range_id in stored and len(stored) == 2
    object_id = commit.meta_range_id if kind == "meta_range" else next(n for n in stored if n != commit.meta_range_id)
    data = lakefs_client.internal_api.get_metadata_object(repo, object_id=object_id, type=kind)
    assert isinstance(data, bytes) and data == stored[object_id].read_bytes()
    sent = wire.last("getMetadataObject")
    assert sent.status == 200 and sent.response_header("Content-Type") == "application/octet-stream"


@local_store_only
def test_get_metadata_object_errors(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    api = lakefs_client.internal_api
    commit = lakefs_client.commits_api.get_commit(repo, commit_files(lakefs_client, repo, {"a": b"1"}))
    # The local blockstore cannot presign: 400, where the spec promises a 302 redirect.
    with pytest.raises(lakefs_sdk.BadRequestException) as caught:
        api.get_metadata_object(repo, commit.meta_range_id, "meta_range", presign=True)
    assert_server_error(caught.value, 400, "operation not supported")
    # An unknown ID is 410 Gone, a status the spec does not list for this operation.
    with pytest.raises(lakefs_sdk.GoneException) as gone:
        api.get_metadata_object(repo, "0" * 64, "range")
    assert_server_error(gone.value, 410, "No data")
    mark = len(wire.exchanges())
    with pytest.raises(lakefs_sdk.ApiValueError):
        api.get_metadata_object(repo, commit.meta_range_id, "tree")
    assert wire.exchanges()[mark:] == [], "an unknown type is refused before sending"


# -- garbage collection ---------------------------------------------------------------------------


def _csv_rows(path: Path) -> List[Dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def _gc_ready(client: lakefs_sdk.LakeFSClient, repo: str) -> List[str]:
    """Commit twice and set GC rules; return the repository's commit IDs."""
    commit_files(client, repo, {"a": b"1"}, "one")
    commit_files(client, repo, {"b": b"2"}, "two")
    client.repositories_api.set_gc_rules(
        repo,
        GarbageCollectionRules(
            default_retention_days=7, branches=[GarbageCollectionRule(branch_id="main", retention_days=14)]
        ),
    )
    return [c.id for c in client.refs_api.log_commits(repo, "main").results]


def test_internal_gc_rules(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    api = lakefs_client.internal_api
    assert api.set_garbage_collection_rules_preflight(repo) is None
    assert wire.last("setGarbageCollectionRulesPreflight").status == 204
    with pytest.raises(lakefs_sdk.NotFoundException), deprecated("internalGetGarbageCollectionRules"):
        api.internal_get_garbage_collection_rules(repo)

    rules = GarbageCollectionRules(
        default_retention_days=10,
        branches=[
            GarbageCollectionRule(branch_id="main", retention_days=20),
            GarbageCollectionRule(branch_id="dev", retention_days=5),
        ],
    )
    with deprecated("internalSetGarbageCollectionRules"):
        assert api.internal_set_garbage_collection_rules(repo, rules) is None
    assert wire.last("internalSetGarbageCollectionRules").status == 204
    with deprecated("internalGetGarbageCollectionRules"):
        read = api.internal_get_garbage_collection_rules(repo)
    assert read.default_retention_days == 10
    assert {r.branch_id: r.retention_days for r in read.branches} == {"main": 20, "dev": 5}
    # The same setting the repositories tag reads.
    got = lakefs_client.repositories_api.get_gc_rules(repo)
    assert {r.branch_id: r.retention_days for r in got.branches} == {"main": 20, "dev": 5}

    with deprecated("internalDeleteGarbageCollectionRules"):
        assert api.internal_delete_garbage_collection_rules(repo) is None
    assert wire.last("internalDeleteGarbageCollectionRules").status == 204
    with pytest.raises(lakefs_sdk.NotFoundException):
        lakefs_client.repositories_api.get_gc_rules(repo)


def test_internal_gc_rules_without_branch_rules(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    """Known deviation: an empty branch list comes back as ``"branches": null``; the SDK accepts it."""
    api = lakefs_client.internal_api
    with deprecated("internalSetGarbageCollectionRules"):
        api.internal_set_garbage_collection_rules(repo, GarbageCollectionRules(default_retention_days=2, branches=[]))
    with deprecated("internalGetGarbageCollectionRules"):
        rules = api.internal_get_garbage_collection_rules(repo)
    assert json.loads(wire.last("internalGetGarbageCollectionRules").response_body)["branches"] in (None, [])
    assert rules.default_retention_days == 2 and not rules.branches


def test_prepare_gc_commits_without_rules_is_not_found(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    with pytest.raises(lakefs_sdk.NotFoundException) as caught:
        lakefs_client.internal_api.prepare_garbage_collection_commits(repo)
    assert_server_error(caught.value, 404, "get gc rules: not found")


def _second_document(body: str) -> Dict[str, Any]:
    decoder = json.JSONDecoder()
    _, end = decoder.raw_decode(body)
    second, _ = decoder.raw_decode(body, end + 1)
    assert isinstance(second, dict)
    return second


@local_store_only
def test_prepare_gc_commits_on_the_local_blockstore(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    """lakeFS (1.84 and 1.86) cannot presign the CSV on a local blockstore: it answers 400 with the
    error *and then* the whole 201 body, two JSON documents in one response. The work is done."""
    commits = _gc_ready(lakefs_client, repo)
    with pytest.raises(lakefs_sdk.BadRequestException) as caught:
        lakefs_client.internal_api.prepare_garbage_collection_commits(repo)
    assert caught.value.status == 400 and caught.value.request_id
    assert caught.value.body is not None
    result = GarbageCollectionPrepareResponse.from_dict(_second_document(caught.value.body))
    assert result.run_id and result.gc_commits_presigned_url == ""
    rows = _csv_rows(on_disk(result.gc_commits_location))
    assert sorted(r["commit_id"] for r in rows) == sorted(commits)
    assert all(r["expired"] == "false" for r in rows), "nothing is older than its retention"


@local_store_only
def test_prepare_gc_commits_error_message_is_read(lakefs_client: lakefs_sdk.LakeFSClient, repo: str) -> None:
    _gc_ready(lakefs_client, repo)
    with pytest.raises(lakefs_sdk.BadRequestException) as caught:
        lakefs_client.internal_api.prepare_garbage_collection_commits(repo)
    assert caught.value.message == "local adapter presigned URL: operation not supported"


@local_store_only
def test_prepare_gc_commits_async_with_status(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    commits = _gc_ready(lakefs_client, repo)
    api = lakefs_client.internal_api
    task = api.prepare_garbage_collection_commits_async(repo)
    assert isinstance(task, TaskCreation) and task.id
    assert wire.last("prepareGarbageCollectionCommitsAsync").status == 202
    status = wait_for(lambda: api.prepare_garbage_collection_commits_status(repo, task.id), lambda s: s.completed, "GC")
    assert isinstance(status, PrepareGarbageCollectionCommitsStatus)
    assert status.task_id == task.id and status.error is None
    assert status.update_time.tzinfo is not None
    assert wire.last("prepareGarbageCollectionCommitsStatus").request.query == f"id={task.id}"
    result = status.result
    assert isinstance(result, GarbageCollectionPrepareResponse) and result.run_id
    rows = _csv_rows(on_disk(result.gc_commits_location))
    assert sorted(r["commit_id"] for r in rows) == sorted(commits)
    # Both locations are under the namespace's _lakefs/retention/gc/ folder.
    assert result.gc_addresses_location == f"local://{on_disk(result.gc_commits_location).parents[2]}/addresses"

    with pytest.raises(lakefs_sdk.NotFoundException):
        api.prepare_garbage_collection_commits_status(repo, "no-such-task")


def test_prepare_gc_commits_async_without_rules_fails_in_the_task(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str
) -> None:
    api = lakefs_client.internal_api
    task = api.prepare_garbage_collection_commits_async(repo)
    status = wait_for(lambda: api.prepare_garbage_collection_commits_status(repo, task.id), lambda s: s.completed, "GC")
    assert status.result is None
    assert status.error is not None and "get gc rules: not found" in status.error.message


@local_store_only
def test_prepare_gc_uncommitted(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    staged = lakefs_client.objects_api.upload_object(repo, "main", "uncommitted.bin", content=b"not committed")
    api = lakefs_client.internal_api
    response = api.prepare_garbage_collection_uncommitted(repo, PrepareGCUncommittedRequest())
    assert isinstance(response, PrepareGCUncommittedResponse) and response.run_id
    sent = wire.last("prepareGarbageCollectionUncommitted")
    assert sent.status == 201 and json.loads(sent.request.body) == {}
    assert response.continuation_token is None, "everything fit in one run"
    # A folder of Parquet files naming the uncommitted objects' addresses.
    files = list(on_disk(response.gc_uncommitted_location).iterdir())
    assert files
    data = b"".join(f.read_bytes() for f in files)
    assert all(f.read_bytes()[:4] == b"PAR1" for f in files)
    assert staged.physical_address.rsplit("/", 2)[-1].encode() in data

    with pytest.raises(lakefs_sdk.BadRequestException) as caught:
        api.prepare_garbage_collection_uncommitted(repo, PrepareGCUncommittedRequest(continuation_token="bogus"))
    assert_server_error(caught.value, 400, "invalid continuation token")


# -- branch protection -------------------------------------------------------------------------------


def test_internal_branch_protection_rules(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire) -> None:
    api = lakefs_client.internal_api
    assert api.create_branch_protection_rule_preflight(repo) is None
    assert wire.last("createBranchProtectionRulePreflight").status == 204
    with deprecated("internalGetBranchProtectionRules"):
        assert api.internal_get_branch_protection_rules(repo) == []

    with deprecated("internalCreateBranchProtectionRule"):
        assert api.internal_create_branch_protection_rule(repo, BranchProtectionRule(pattern="release-*")) is None
    with deprecated("internalCreateBranchProtectionRule"):
        api.internal_create_branch_protection_rule(repo, BranchProtectionRule(pattern="main"))
    with deprecated("internalGetBranchProtectionRules"):
        rules = api.internal_get_branch_protection_rules(repo)
    assert sorted(r.pattern for r in rules) == ["main", "release-*"]
    assert sorted(r.pattern for r in lakefs_client.repositories_api.get_branch_protection_rules(repo)) == [
        "main",
        "release-*",
    ]
    with pytest.raises(lakefs_sdk.ForbiddenException):
        lakefs_client.objects_api.upload_object(repo, "main", "x", content=b"protected")

    with deprecated("internalDeleteBranchProtectionRule"):
        deleted = api.internal_delete_branch_protection_rule(
            repo, InternalDeleteBranchProtectionRuleRequest(pattern="main")
        )
    assert deleted is None
    sent = wire.last("internalDeleteBranchProtectionRule")
    assert sent.status == 204 and sent.method == "DELETE" and json.loads(sent.request.body) == {"pattern": "main"}
    assert [r.pattern for r in lakefs_client.repositories_api.get_branch_protection_rules(repo)] == ["release-*"]


def test_internal_delete_of_a_missing_branch_protection_rule(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, wire: Wire
) -> None:
    """lakeFS answers this 404 with an empty body (no Error JSON, no Content-Type); the SDK copes."""
    with pytest.raises(lakefs_sdk.NotFoundException) as caught, deprecated("internalDeleteBranchProtectionRule"):
        lakefs_client.internal_api.internal_delete_branch_protection_rule(
            repo, InternalDeleteBranchProtectionRuleRequest(pattern="never-set")
        )
    assert caught.value.status == 404 and caught.value.request_id
    assert caught.value.body == "" and caught.value.message is None
    assert wire.last("internalDeleteBranchProtectionRule").response_body == b""
