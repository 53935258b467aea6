"""Every example in examples/ run against a real lakeFS, with what it did read back.

Each test runs an example's ``main(argv)`` in a repository of its own (the ``repo``
fixture, or one the example creates with ``--create-repo``), through the recording proxy
in front of the server, and then checks the effects through other calls of the SDK:
objects, commits and their metadata, merges, tags, branches, action runs and hook output,
imports. Second runs in the same repository must succeed too: the examples make unique
names and leave nothing behind that would trip a later run.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable, List, Sequence

import pytest

import lakefs_sdk
from lakefs_sdk import CommitCreation
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.transfer import upload

from support.lakefs import LakeFS, delete_repository, unique_name
from support.recording_proxy import Exchange, RecordingProxy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
ACTIONS_FILE = "_lakefs_actions/check_merges.yaml"
LANDING = {
    "events/2025-01-01.csv": b"id,kind\n1,click\n",
    "events/2025-01-02.csv": b"id,kind\n2,view\n3,click\n",
    "README.md": b"# landing zone\n",
}


@dataclass
class Run:
    """One run of an example: its exit status, output, and the exchanges it caused."""

    status: int
    out: str
    err: str
    exchanges: List[Exchange]

    @property
    def ops(self) -> List[str]:
        return [e.operation_id or f"<unknown {e.method} {e.target}>" for e in self.exchanges]


RunExample = Callable[[str, Sequence[str]], Run]


def load(name: str) -> ModuleType:
    """Import examples/<name>.py (its directory on sys.path, as when run as a script)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    return importlib.import_module(name)


@pytest.fixture
def run_on_lakefs(lakefs: LakeFS, lakefs_proxy: RecordingProxy, capsys: pytest.CaptureFixture[str]) -> RunExample:
    """Run an example's ``main`` against the real server (through the proxy); return its Run."""

    def run(name: str, args: Sequence[str]) -> Run:
        mark = lakefs_proxy.mark()
        argv = [*args, "--endpoint", lakefs_proxy.url, "--access-key", lakefs.access_key_id,
                "--secret-key", lakefs.secret_access_key]
        status = load(name).main(argv)
        captured = capsys.readouterr()
        return Run(status, captured.out, captured.err, lakefs_proxy.since(mark))

    return run


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    for relative, data in LANDING.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def paths(client: LakeFSClient, repo: str, ref: str, prefix: str = "") -> List[str]:
    return [entry.path for entry in client.objects_api.list_objects_iter(repo, ref, prefix=prefix)]


def branches(client: LakeFSClient, repo: str) -> List[str]:
    return sorted(ref.id for ref in client.branches_api.list_branches_iter(repo))


def branch_exists(client: LakeFSClient, repo: str, branch: str) -> bool:
    try:
        client.branches_api.get_branch(repo, branch)
    except lakefs_sdk.NotFoundException:
        return False
    return True


def printed(pattern: str, text: str) -> str:
    """The first group of ``pattern`` in ``text`` (the test fails if it is not there)."""
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in the output:\n{text}"
    return found.group(1)


# -- ingest ------------------------------------------------------------------------------------


def test_ingest_uploads_commits_and_merges(
    run_on_lakefs: RunExample, repo: str, lakefs_client: LakeFSClient, landing: Path
) -> None:
    run = run_on_lakefs("ingest", [repo, str(landing), "--prefix", "raw/", "--branch", "ingest-1", "--meta", "team=data"])
    assert run.status == 0, run.err

    assert paths(lakefs_client, repo, "main", "raw/") == sorted("raw/" + r for r in LANDING)
    for relative, data in LANDING.items():
        assert lakefs_client.objects_api.get_object(repo, "main", "raw/" + relative) == data
    merge = lakefs_client.refs_api.log_commits(repo, "main", amount=1).results[0]
    # lakeFS adds the merge strategy to the metadata the example gave.
    assert merge.metadata == {"ingest_branch": "ingest-1", ".lakefs.merge.strategy": "default"}
    commit = lakefs_client.commits_api.get_commit(repo, merge.parents[1])
    assert f"merged ingest-1 into main: commit {merge.id}" in run.out
    assert commit.message == "Ingest 3 files from landing"
    assert commit.metadata == {
        "source": "landing",
        "files": "3",
        "bytes": str(sum(map(len, LANDING.values()))),
        "ingested_by": "examples/ingest.py",
        "team": "data",
    }
    assert "ingest-1 holds 3 objects under 'raw/', 3 of them from this ingest" in run.out


def test_ingest_twice_has_nothing_new_the_second_time(
    run_on_lakefs: RunExample, repo: str, lakefs_client: LakeFSClient, landing: Path
) -> None:
    first = run_on_lakefs("ingest", [repo, str(landing)])
    assert first.status == 0, first.err
    merged = printed(r"created branch (\S+) from main", first.out)
    head = lakefs_client.branches_api.get_branch(repo, "main").commit_id

    second = run_on_lakefs("ingest", [repo, str(landing)])
    assert second.status == 0, second.err
    branch = printed(r"created branch (\S+) from main", second.out)
    assert "nothing new" in second.out
    assert not branch_exists(lakefs_client, repo, branch)
    assert lakefs_client.branches_api.get_branch(repo, "main").commit_id == head, "nothing was merged"
    assert branches(lakefs_client, repo) == sorted(["main", merged]), "a merged ingest branch is kept"

    (landing / "events" / "2025-01-03.csv").write_bytes(b"id,kind\n4,view\n")
    third = run_on_lakefs("ingest", [repo, str(landing)])
    assert third.status == 0, third.err
    assert "landing/events/2025-01-03.csv" in paths(lakefs_client, repo, "main")


def test_async_ingest_uploads_commits_and_merges(
    run_on_lakefs: RunExample, repo: str, lakefs_client: LakeFSClient, landing: Path
) -> None:
    if importlib.util.find_spec("aiohttp") is None:
        pytest.skip("examples/async_ingest.py needs the aio extra (aiohttp), not installed in this venv")
    run = run_on_lakefs("async_ingest", [repo, str(landing), "--prefix", "raw/", "--concurrency", "2"])
    assert run.status == 0, run.err
    assert paths(lakefs_client, repo, "main", "raw/") == sorted("raw/" + r for r in LANDING)
    for relative, data in LANDING.items():
        assert lakefs_client.objects_api.get_object(repo, "main", "raw/" + relative) == data
    merge = lakefs_client.refs_api.log_commits(repo, "main", amount=1).results[0]
    commit = lakefs_client.commits_api.get_commit(repo, merge.parents[1])
    assert commit.metadata == {"ingest.source": str(landing), "ingest.prefix": "raw/", "ingest.files": "3"}

    again = run_on_lakefs("async_ingest", [repo, str(landing), "--prefix", "raw/"])
    assert again.status == 0, again.err
    assert "nothing new under raw/" in again.out
    assert lakefs_client.refs_api.log_commits(repo, "main", amount=1).results[0].id == merge.id


def test_concurrent_ingest_uploads_commits_and_merges(
    run_on_lakefs: RunExample, repo: str, lakefs_client: LakeFSClient, landing: Path
) -> None:
    run = run_on_lakefs("concurrent_ingest", [repo, str(landing), "--prefix", "raw/", "--concurrency", "4",
                                              "--no-progress"])
    assert run.status == 0, run.err
    assert run.ops.count("uploadObject") == len(LANDING)
    assert "3 items: 3 succeeded" in run.out
    for relative, data in LANDING.items():
        assert lakefs_client.objects_api.get_object(repo, "main", "raw/" + relative) == data
    merge = lakefs_client.refs_api.log_commits(repo, "main", amount=1).results[0]
    commit = lakefs_client.commits_api.get_commit(repo, merge.parents[1])
    assert commit.metadata == {"ingest.source": str(landing), "ingest.prefix": "raw/", "ingest.files": "3"}

    again = run_on_lakefs("concurrent_ingest", [repo, str(landing), "--prefix", "raw/", "--no-progress"])
    assert again.status == 0, again.err
    assert "nothing new under raw/" in again.out
    assert lakefs_client.refs_api.log_commits(repo, "main", amount=1).results[0].id == merge.id


def test_concurrent_ingest_into_a_missing_branch_lists_every_failure(
    run_on_lakefs: RunExample, repo: str, lakefs_client: LakeFSClient, landing: Path
) -> None:
    head = lakefs_client.branches_api.get_branch(repo, "main").commit_id
    run = run_on_lakefs("concurrent_ingest", [repo, str(landing), "--branch", "no-such-branch", "--no-progress"])
    assert run.status == 1
    for relative in LANDING:
        assert re.search(rf"upload of .*{re.escape(relative)} to landing/{re.escape(relative)} failed: .*404", run.err)
    assert "nothing committed: 3 uploads failed; kept branch no-such-branch" in run.err
    assert "commit" not in run.ops and lakefs_client.branches_api.get_branch(repo, "main").commit_id == head


def test_create_repo_uses_the_namespace_the_server_suggests(
    run_on_lakefs: RunExample, lakefs_client: LakeFSClient, landing: Path
) -> None:
    name = unique_name("create-repo")
    storage = lakefs_client.config_api.get_config().storage_config
    assert storage is not None and storage.default_namespace_prefix == "local://"
    try:
        run = run_on_lakefs("ingest", [name, str(landing), "--create-repo"])
        assert run.status == 0, run.err
        assert f"created repository {name} in local://{name}" in run.out
        repository = lakefs_client.repositories_api.get_repository(name)
        assert repository.storage_namespace == f"local://{name}" and repository.default_branch == "main"
        assert paths(lakefs_client, name, "main") == sorted("landing/" + r for r in LANDING)

        again = run_on_lakefs("experiments", [name, "--create-repo", "--learning-rates", "0.02"])
        assert again.status == 0, again.err
        assert f"repository {name} exists: using it" in again.out
        assert "model/params.json" in paths(lakefs_client, name, "main")
    finally:
        delete_repository(lakefs_client, name)


def test_create_repo_with_a_given_namespace(
    run_on_lakefs: RunExample, lakefs_client: LakeFSClient
) -> None:
    name = unique_name("given-ns")
    try:
        run = run_on_lakefs("experiments", [name, "--create-repo", "--storage-namespace", f"local://elsewhere/{name}",
                                            "--learning-rates", "0.02"])
        assert run.status == 0, run.err
        assert lakefs_client.repositories_api.get_repository(name).storage_namespace == f"local://elsewhere/{name}"
        assert "getConfig" not in run.ops, "a given namespace needs no suggestion"
    finally:
        delete_repository(lakefs_client, name)


# -- experiments -------------------------------------------------------------------------------


def test_experiments_twice_in_one_repository(
    run_on_lakefs: RunExample, repo: str, lakefs_client: LakeFSClient
) -> None:
    winners = []
    for _ in range(2):
        run = run_on_lakefs("experiments", [repo, "--learning-rates", "0.001", "0.005", "0.02"])
        assert run.status == 0, run.err
        winner = printed(r"winner: (\S+)", run.out)
        assert winner.startswith("exp-") and winner.endswith("-3"), winner
        winners.append(winner)

        params = json.loads(lakefs_client.objects_api.get_object(repo, "main", "model/params.json"))
        assert params == {"experiment": winner, "learning_rate": 0.02, "epochs": 20}
        metrics = json.loads(lakefs_client.objects_api.get_object(repo, "main", "model/metrics.json"))
        merge = lakefs_client.refs_api.log_commits(repo, "main", amount=1).results[0]
        assert merge.message == f"Adopt the model of {winner}"
        assert merge.metadata is not None and merge.metadata["experiment"] == winner
        assert float(merge.metadata["loss"]) == metrics["loss"]
        trained = lakefs_client.commits_api.get_commit(repo, merge.metadata["commit"])
        assert trained.id == merge.parents[1]
        assert trained.metadata == {"learning_rate": "0.02", "epochs": "20", "loss": repr(metrics["loss"])}
    assert winners[0] != winners[1]
    # The losers are deleted; each run's winner stays as its record.
    assert branches(lakefs_client, repo) == sorted(["main", *winners])


def test_experiments_delete_their_branches_when_the_merge_fails(
    run_on_lakefs: RunExample, repo: str, lakefs_client: LakeFSClient
) -> None:
    # A pre-merge hook whose webhook nobody serves: lakeFS blocks every merge into main.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    action = (
        "name: nobody listens\non:\n  pre-merge:\n    branches:\n      - main\nhooks:\n  - id: gone\n"
        f"    type: webhook\n    properties:\n      url: http://127.0.0.1:{closed_port}/hook\n"
    )
    upload(lakefs_client.objects_api, repo, "main", ACTIONS_FILE, action.encode())
    lakefs_client.commits_api.commit(repo, "main", CommitCreation(message="A hook that cannot be reached"))

    run = run_on_lakefs("experiments", [repo, "--learning-rates", "0.01", "0.02"])
    assert run.status == 1
    assert "error: mergeIntoBranch failed with status 412" in run.err
    assert run.err.count("(cleaning up after the failure)") == 2
    assert branches(lakefs_client, repo) == ["main"]
    assert "model/params.json" not in paths(lakefs_client, repo, "main")


# -- CI/CD hooks -------------------------------------------------------------------------------


def hook_outputs(client: LakeFSClient, repo: str, run_id: str) -> List[str]:
    actions = client.actions_api
    return [
        actions.get_run_hook_output(repo, run_id, hook.hook_run_id).decode()
        for hook in actions.list_run_hooks_iter(repo, run_id)
    ]


def test_ci_cd_hooks_accepts_a_good_merge(
    run_on_lakefs: RunExample, repo: str, lakefs_client: LakeFSClient
) -> None:
    run = run_on_lakefs("ci_cd_hooks", [repo, "--branch", "feature-good"])
    assert run.status == 0, run.err
    assert "webhook: " in run.out and "-> main: accepted" in run.out

    on_main = paths(lakefs_client, repo, "main")
    assert on_main == ["tables/events/part-0001.csv", "tables/events/schema.json"], "the hook is removed again"
    merge_commit = printed(r"merged feature-good into main: commit (\w+)", run.out)
    (hook_run,) = [r for r in lakefs_client.actions_api.list_repository_runs_iter(repo, branch="main")
                   if r.event_type == "pre-merge"]
    assert hook_run.status == "completed" and hook_run.commit_id == merge_commit
    (output,) = hook_outputs(lakefs_client, repo, hook_run.run_id)
    assert '{"ok": true, "problems": []}' in output
    assert f"run {hook_run.run_id}: pre-merge completed" in run.out
    assert lakefs_client.refs_api.log_commits(repo, "main", amount=1).results[0].message == "Remove the pre-merge webhook"

    # Once more, the same files with a new batch: something to commit, and the hook accepts the change.
    again = run_on_lakefs("ci_cd_hooks", [repo, "--branch", "feature-again"])
    assert again.status == 0, again.err
    part = lakefs_client.objects_api.get_object(repo, "main", "tables/events/part-0001.csv")
    assert part == b"id,kind,batch\n1,click,feature-again\n"


def test_ci_cd_hooks_blocks_a_bad_merge_and_leaves_main_usable(
    run_on_lakefs: RunExample, repo: str, lakefs_client: LakeFSClient
) -> None:
    run = run_on_lakefs("ci_cd_hooks", [repo, "--bad"])
    assert run.status == 1
    branch = printed(r"committed 3 files on (\S+)", run.out)
    assert "merge blocked by the pre-merge hook" in run.out
    assert "rejected, tables/events/notes.txt: only .csv .json .parquet files are allowed" in run.out

    assert paths(lakefs_client, repo, "main") == [], "nothing was merged, and the hook is gone"
    assert "tables/events/notes.txt" in paths(lakefs_client, repo, branch)
    (hook_run,) = list(lakefs_client.actions_api.list_repository_runs_iter(repo, branch="main"))
    assert hook_run.status == "failed"
    (output,) = hook_outputs(lakefs_client, repo, hook_run.run_id)
    assert "tables/events/notes.txt: only .csv .json .parquet files are allowed" in output

    # A second run in the same repository, and any later merge into main, go through.
    again = run_on_lakefs("ci_cd_hooks", [repo])
    assert again.status == 0, again.err
    later = run_on_lakefs("experiments", [repo, "--learning-rates", "0.02"])
    assert later.status == 0, later.err


def test_ci_cd_hooks_keep_hook_leaves_the_actions_file(
    run_on_lakefs: RunExample, repo: str, lakefs_client: LakeFSClient
) -> None:
    run = run_on_lakefs("ci_cd_hooks", [repo, "--keep-hook"])
    assert run.status == 0, run.err
    assert ACTIONS_FILE in paths(lakefs_client, repo, "main")
    assert "removed" not in run.out


# -- reproducibility ---------------------------------------------------------------------------

TRAIN = b"x,y\n1,3\n2,6\n3,9\n"


@pytest.fixture
def trained(repo: str, lakefs_client: LakeFSClient) -> str:
    """``repo`` with data/train.csv committed on main; the commit ID."""
    upload(lakefs_client.objects_api, repo, "main", "data/train.csv", TRAIN)
    return lakefs_client.commits_api.commit(repo, "main", CommitCreation(message="Training data")).id


def test_reproducibility_pins_resets_reverts_and_hard_resets(
    run_on_lakefs: RunExample, repo: str, trained: str, lakefs_client: LakeFSClient
) -> None:
    run = run_on_lakefs("reproducibility", [repo, "data/train.csv", "--tag", "train-v1", "--scratch", "scratch-x",
                                            "--keep-scratch"])
    assert run.status == 0, run.err
    digest = hashlib.sha256(TRAIN).hexdigest()
    assert f"data/train.csv at {trained}: sha256 {digest}" in run.out
    assert f"data/train.csv at train-v1: sha256 {digest}" in run.out

    assert lakefs_client.tags_api.get_tag(repo, "train-v1").commit_id == trained
    assert lakefs_client.branches_api.get_branch(repo, "scratch-x").commit_id == trained
    assert lakefs_client.branches_api.diff_branch(repo, "scratch-x").results == [], "every reset left it clean"
    assert paths(lakefs_client, repo, "scratch-x") == ["data/train.csv"]
    # The commits made and dropped on the scratch branch are still commits, just off the branch.
    dropped = printed(r"hard-reset scratch-x to \w+: (\w+), its revert", run.out)
    assert lakefs_client.commits_api.get_commit(repo, dropped).message == "Add a file by mistake"
    assert lakefs_client.refs_api.log_commits(repo, "scratch-x", amount=1).results[0].id == trained


def test_reproducibility_twice_with_default_names(
    run_on_lakefs: RunExample, repo: str, trained: str, lakefs_client: LakeFSClient
) -> None:
    tags = []
    for _ in range(2):
        run = run_on_lakefs("reproducibility", [repo, "data/train.csv"])
        assert run.status == 0, run.err
        tags.append(printed(r"pinned commit \w+ as tag (\S+)", run.out))
    assert tags[0] != tags[1]
    assert sorted(t.id for t in lakefs_client.tags_api.list_tags_iter(repo)) == sorted(tags)
    assert branches(lakefs_client, repo) == ["main"], "the scratch branches are deleted"


def test_reproducibility_needs_the_path(
    run_on_lakefs: RunExample, repo: str, lakefs_client: LakeFSClient
) -> None:
    run = run_on_lakefs("reproducibility", [repo, "data/train.csv"])
    assert run.status == 1
    assert "error: data/train.csv at commit" in run.err and "write and commit it first" in run.err
    assert list(lakefs_client.tags_api.list_tags_iter(repo)) == [], "nothing is tagged"


# -- bulk import -------------------------------------------------------------------------------


@pytest.fixture
def import_source(lakefs: LakeFS, repo: str) -> Path:
    """A folder the server may import from, with three files in it."""
    folder = lakefs.import_dir / repo / "landing"
    for name, data in {"a.csv": b"id\n1\n", "b.csv": b"id\n2\n", "sub/c.json": b"{}\n"}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def test_bulk_import_from_a_local_folder(
    run_on_lakefs: RunExample, repo: str, import_source: Path, lakefs_client: LakeFSClient
) -> None:
    source = f"local://{import_source}/"
    run = run_on_lakefs("bulk_import", [repo, source, "--destination", "raw/", "--branch", "import-1",
                                        "--interval", "0.1", "--max-polls", "1200"])
    assert run.status == 0, run.err
    assert "import done: 3 objects" in run.out
    assert paths(lakefs_client, repo, "import-1") == ["raw/a.csv", "raw/b.csv", "raw/sub/c.json"]
    assert lakefs_client.objects_api.get_object(repo, "import-1", "raw/sub/c.json") == b"{}\n"
    commit = lakefs_client.refs_api.log_commits(repo, "import-1", amount=1).results[0]
    assert commit.id == printed(r"import done: 3 objects, commit (\w+)", run.out)
    assert commit.message == f"Import {source}"
    assert commit.metadata is not None
    assert commit.metadata["import_source"] == source and commit.metadata["imported_by"] == "examples/bulk_import.py"
    assert paths(lakefs_client, repo, "main") == [], "the import branch is left for review"


def test_bulk_import_cancelled_at_once(
    run_on_lakefs: RunExample, repo: str, import_source: Path, lakefs_client: LakeFSClient
) -> None:
    run = run_on_lakefs("bulk_import", [repo, f"local://{import_source}/", "--branch", "import-2", "--max-polls", "0"])
    assert run.status == 3, run.err
    import_id = printed(r"import (\w+) started", run.out)
    assert run.ops[-1] == "importCancel"
    status = lakefs_client.import_api.import_status(repo, "import-2", import_id)
    assert not status.completed
    assert paths(lakefs_client, repo, "import-2") == []


# -- as a script, configured the lakectl way ---------------------------------------------------


def test_example_script_finds_the_server_through_lakectl_variables(
    lakefs: LakeFS, lakefs_client: LakeFSClient, landing: Path
) -> None:
    """What the guide's first section does: LAKECTL_* exported, --create-repo, no other option."""
    name = unique_name("script")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(landing.parent),
        "LAKECTL_SERVER_ENDPOINT_URL": lakefs.endpoint + "/api/v1",
        "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": lakefs.access_key_id,
        "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": lakefs.secret_access_key,
    }
    try:
        result = subprocess.run(
            [sys.executable, str(EXAMPLES / "ingest.py"), name, str(landing), "--create-repo"],
            capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
        )
        assert result.returncode == 0, result.stderr
        assert paths(lakefs_client, name, "main") == sorted("landing/" + r for r in LANDING)
    finally:
        delete_repository(lakefs_client, name)
