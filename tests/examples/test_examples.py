"""Every example in examples/ run against Prism: through its ``main(argv)`` and as a script.

The examples are written for a real lakeFS, and test_examples_on_lakefs.py runs them on
one and reads back their effects. Here Prism, a stateless mock that answers each
operation from the spec (static: fixed values; dynamic: generated ones), proves that they
send what the API describes. So the tests check what went over the wire -- which operations, in which order, with which arguments
and bodies -- and that the exit status and output follow from what Prism answered. The
``prism``/``prism_any`` fixtures fail a test on any request or response that violates the
spec. Paths Prism cannot reach on its own (a failed check, a blocked merge, an import that
finishes) are driven with ``ScriptedProxy``, which asks Prism for another declared
response or replays a sequence of server states.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.util
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import pytest
import yaml

import lakefs_sdk
from lakefs_sdk import Commit, Diff, DiffList, ImportStatus, Pagination, Ref
from lakefs_sdk.client import LakeFSClient

from support.contract import json_body, query_dict, segments
from support.loopback import Request
from support.recording_proxy import Exchange, PrismProxy
from support.scripted_proxy import ScriptedProxy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NAMES = ["ingest", "concurrent_ingest", "experiments", "ci_cd_hooks", "reproducibility", "bulk_import"]
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REPO = "example-repo"


# -- running an example ----------------------------------------------------------------------


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

    def sent(self, operation_id: str) -> List[Exchange]:
        return [e for e in self.exchanges if e.operation_id == operation_id]


def load(name: str) -> ModuleType:
    """Import examples/<name>.py (its directory on sys.path, as when run as a script)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    return importlib.import_module(name)


def connection(url: str) -> List[str]:
    return ["--endpoint", url, "--access-key", ACCESS_KEY_ID, "--secret-key", SECRET_ACCESS_KEY]


def run_example(
    name: str,
    args: Sequence[str],
    wire: PrismProxy,
    capsys: pytest.CaptureFixture[str],
    url: Optional[str] = None,
    connect: bool = True,
) -> Run:
    """Run ``main`` of example ``name`` against ``url`` (default: the proxy's); record its wire."""
    mark = wire.mark()
    argv = [*args, *(connection(url or wire.url) if connect else [])]
    status = load(name).main(argv)
    captured = capsys.readouterr()
    return Run(status, captured.out, captured.err, wire.since(mark))


def answer(exchange: Exchange) -> Any:
    """Prism's response body, parsed as JSON."""
    return json.loads(exchange.response_body)


def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def mode_of(request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.params["prism_any"])


def model_json(model: Any) -> bytes:
    """A model as the JSON body the server would send (the SDK's wire format)."""
    text: str = model.to_json()
    return text.encode()


# -- ingest ------------------------------------------------------------------------------------

LANDING = {
    "events/2025-01-01.csv": b"id,kind\n1,click\n",
    "events/2025-01-02.csv": b"id,kind\n2,view\n3,click\n",
    "README.md": b"# landing zone\n",
}


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    for relative, data in LANDING.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def test_ingest(
    prism_any: PrismProxy, landing: Path, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    args = [REPO, str(landing), "--prefix", "raw/", "--branch", "ingest-test", "--meta", "team=data"]
    run = run_example("ingest", args, prism_any, capsys)

    uploads = sorted(LANDING)
    assert run.ops[:7] == ["createBranch"] + ["uploadObject"] * 3 + ["statObject"] * 3
    assert json_body(run.exchanges[0])["name"] == "ingest-test"
    assert json_body(run.exchanges[0])["source"] == "main"
    for exchange, relative in zip(run.sent("uploadObject"), uploads, strict=True):
        assert segments(exchange)[:4] == ["repositories", REPO, "branches", "ingest-test"]
        assert query_dict(exchange) == {"path": "raw/" + relative}
        assert exchange.request.header("Content-Type") == "application/octet-stream"
        assert exchange.request.body == LANDING[relative], "the file is sent as it is, raw"
    assert [query_dict(e)["path"] for e in run.sent("statObject")] == ["raw/" + r for r in uploads]
    listings = run.sent("listObjects")
    assert listings and all(query_dict(e)["prefix"] == "raw/" for e in listings)
    listed = [entry for e in listings for entry in answer(e)["results"]]
    assert f"holds {len(listed)} objects under 'raw/'" in run.out

    # The example compares what each upload returned with what stat says now.
    consistent = all(
        answer(up)["checksum"] == answer(st)["checksum"]
        for up, st in zip(run.sent("uploadObject"), run.sent("statObject"), strict=True)
    )
    if mode_of(request) == "static":
        assert consistent, "static Prism answers the same checksum to upload and stat"
    if not consistent:
        assert run.status == 1 and "check failed" in run.err
        assert "commit" not in run.ops
        return
    assert run.status == 0, run.err
    (diff,) = run.sent("diffBranch")
    assert segments(diff) == ["repositories", REPO, "branches", "ingest-test", "diff"]
    assert query_dict(diff) == {"amount": "1"}
    if not answer(diff)["results"]:
        assert run.ops[-1] == "deleteBranch" and "nothing new" in run.out
        return
    assert run.ops[-3:] == ["diffBranch", "commit", "mergeIntoBranch"]
    commit, merge = run.exchanges[-2:]
    body = json_body(commit)
    assert body["message"] == "Ingest 3 files from landing"
    assert body["metadata"] == {
        "source": "landing",
        "files": "3",
        "bytes": str(sum(map(len, LANDING.values()))),
        "ingested_by": "examples/ingest.py",
        "team": "data",
    }
    assert segments(merge) == ["repositories", REPO, "refs", "ingest-test", "merge", "main"]
    assert json_body(merge)["metadata"] == {"ingest_branch": "ingest-test"}
    assert f"merged ingest-test into main: commit {answer(merge)['reference']}" in run.out


def test_ingest_stops_before_commit_when_a_check_fails(
    prism: PrismProxy, landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def tampered(request: Request, body: bytes) -> bytes:
        stats = lakefs_sdk.ObjectStats.from_json(body)
        stats.checksum = "someone-else-wrote-this"
        return model_json(stats)

    with ScriptedProxy(prism, rewrite={"statObject": tampered}) as scripted:
        run = run_example("ingest", [REPO, str(landing), "--branch", "b"], prism, capsys, url=scripted.url)
    assert run.status == 1
    assert "commit" not in run.ops and "mergeIntoBranch" not in run.ops
    assert run.err.count("check failed") == 3
    assert "not committing; branch b is left as it is" in run.err


def test_ingest_reads_lakectl_environment(
    prism: PrismProxy, landing: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without /api/v1, as lakectl users write it: the SDK adds the base path.
    monkeypatch.setenv("LAKECTL_SERVER_ENDPOINT_URL", prism.url.removesuffix("/api/v1"))
    monkeypatch.setenv("LAKECTL_CREDENTIALS_ACCESS_KEY_ID", "AKIAENVIRONMENTKEY01")
    monkeypatch.setenv("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", "environment-secret")
    run = run_example("ingest", [REPO, str(landing)], prism, capsys, connect=False)
    assert run.status == 0, run.err
    assert run.ops[0] == "createBranch" and run.ops[-1] == "mergeIntoBranch"
    assert re.fullmatch(r"ingest-\d{8}-\d{6}-[0-9a-f]{4}", json_body(run.exchanges[0])["name"])
    # Without --prefix, the files go under the folder's name.
    assert sorted(query_dict(e)["path"] for e in run.sent("uploadObject")) == ["landing/" + r for r in sorted(LANDING)]
    expected = basic_auth("AKIAENVIRONMENTKEY01", "environment-secret")
    assert {e.request.header("Authorization") for e in run.exchanges} == {expected}


def test_command_line_overrides_the_lakectl_file(
    prism: PrismProxy,
    landing: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "lakectl.yaml"
    config.write_text(
        "credentials:\n  access_key_id: AKIAFILEKEY000000001\n  secret_access_key: file-secret\n"
        f"server:\n  endpoint_url: {prism.url}\n"
    )
    for variable in ("LAKECTL_SERVER_ENDPOINT_URL", "LAKECTL_CREDENTIALS_ACCESS_KEY_ID",
                     "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LAKECTL_CONFIG_FILE", str(config))
    mark = prism.mark()
    status = load("experiments").main([REPO, "--learning-rates", "0.01", "--secret-key", "command-line-secret"])
    assert status == 0, capsys.readouterr().err
    sent = prism.since(mark)
    assert len(sent) == 6  # createBranch, three uploads, commit, merge
    assert {e.request.header("Authorization") for e in sent} == {basic_auth("AKIAFILEKEY000000001", "command-line-secret")}


def test_missing_connection_settings_exit_2(
    landing: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("LAKECTL_SERVER_ENDPOINT_URL", "LAKECTL_CREDENTIALS_ACCESS_KEY_ID",
                     "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(variable, raising=False)
    missing = tmp_path / "no-such-lakectl.yaml"
    monkeypatch.setenv("LAKECTL_CONFIG_FILE", str(missing))
    assert load("ingest").main([REPO, str(landing)]) == 2
    err = capsys.readouterr().err
    assert "no lakeFS connection settings" in err and str(missing) in err


def test_ingest_of_an_empty_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert load("ingest").main([REPO, str(tmp_path), *connection("http://127.0.0.1:9/api/v1")]) == 2
    assert "holds no files" in capsys.readouterr().err


def test_api_errors_are_reported_with_operation_and_status(
    prism: PrismProxy, landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedProxy(prism, prefer={"createBranch": "code=409"}) as scripted:
        run = run_example("ingest", [REPO, str(landing), "--branch", "taken"], prism, capsys, url=scripted.url)
    assert run.status == 1
    assert run.ops == ["createBranch"]
    assert "error: createBranch failed with status 409" in run.err


# -- experiments -------------------------------------------------------------------------------


def test_experiments(
    prism_any: PrismProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [REPO, "--learning-rates", "0.001", "0.005", "0.02", "--epochs", "20", "--run", "r1"]
    run = run_example("experiments", args, prism_any, capsys)
    assert run.status == 0, run.err
    per_experiment = ["createBranch", "uploadObject", "uploadObject", "uploadObject", "commit"]
    assert run.ops == per_experiment * 3 + ["mergeIntoBranch", "deleteBranch", "deleteBranch"]

    losses: Dict[str, float] = {}
    commits: Dict[str, str] = {}
    for n, rate in enumerate([0.001, 0.005, 0.02], start=1):
        create, *uploads, commit = run.exchanges[5 * (n - 1) : 5 * n]
        branch = f"exp-r1-{n}"
        assert json_body(create)["name"] == branch and json_body(create)["source"] == "main"
        documents = {query_dict(e)["path"]: json.loads(e.request.body) for e in uploads}
        assert set(documents) == {"model/params.json", "model/weights.json", "model/metrics.json"}
        assert documents["model/params.json"] == {"experiment": branch, "learning_rate": rate, "epochs": 20}
        assert segments(commit)[3] == branch
        metadata = json_body(commit)["metadata"]
        assert float(metadata["loss"]) == documents["model/metrics.json"]["loss"]
        assert float(metadata["learning_rate"]) == rate
        losses[branch] = documents["model/metrics.json"]["loss"]
        commits[branch] = answer(commit)["id"]

    winner = min(losses, key=losses.__getitem__)
    assert winner == "exp-r1-3", losses  # the largest stable learning rate fits best in 20 epochs
    merge, *deletes = run.exchanges[15:]
    assert segments(merge) == ["repositories", REPO, "refs", winner, "merge", "main"]
    assert json_body(merge)["metadata"]["commit"] == commits[winner]
    assert sorted(segments(e)[-1] for e in deletes) == ["exp-r1-1", "exp-r1-2"]
    assert f"winner: {winner}" in run.out


def test_experiments_name_their_branches_anew_each_run(prism: PrismProxy, capsys: pytest.CaptureFixture[str]) -> None:
    names = []
    for _ in range(2):
        run = run_example("experiments", [REPO, "--learning-rates", "0.01", "--prefix", "try"], prism, capsys)
        assert run.status == 0, run.err
        (create,) = run.sent("createBranch")
        names.append(json_body(create)["name"])
    assert all(re.fullmatch(r"try-\d{8}-\d{6}-[0-9a-f]{4}-1", name) for name in names), names
    assert names[0] != names[1]


def test_experiments_delete_their_branches_after_a_failure(
    prism: PrismProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedProxy(prism, prefer={"mergeIntoBranch": "code=412"}) as scripted:
        run = run_example("experiments", [REPO, "--learning-rates", "0.01", "0.02", "--run", "r2"], prism, capsys,
                          url=scripted.url)
    assert run.status == 1
    assert run.ops[-3:] == ["mergeIntoBranch", "deleteBranch", "deleteBranch"]
    assert sorted(segments(e)[-1] for e in run.sent("deleteBranch")) == ["exp-r2-1", "exp-r2-2"]
    assert "error: mergeIntoBranch failed with status 412" in run.err


# -- CI/CD hooks -------------------------------------------------------------------------------


def test_ci_cd_hooks(prism_any: PrismProxy, capsys: pytest.CaptureFixture[str]) -> None:
    args = [REPO, "--branch", "feature-x", "--bad", "--runs", "2"]
    run = run_example("ci_cd_hooks", args, prism_any, capsys)
    assert run.status == 0, run.err
    setup = ["getObject", "uploadObject", "commit", "createBranch", "uploadObject", "uploadObject", "uploadObject",
             "commit", "mergeIntoBranch"]
    assert run.ops[: len(setup)] == setup
    assert query_dict(run.exchanges[0]) == {"path": "_lakefs_actions/check_merges.yaml"}

    action_upload, action_commit = run.exchanges[1:3]
    assert segments(action_upload)[3] == "main"
    assert query_dict(action_upload) == {"path": "_lakefs_actions/check_merges.yaml"}
    action = yaml.safe_load(action_upload.request.body)
    # PyYAML reads YAML 1.1, where a bare `on` key is the boolean true; lakeFS reads the key "on".
    assert action[True] == {"pre-merge": {"branches": ["main"]}}
    (hook,) = action["hooks"]
    assert hook["type"] == "webhook"
    url = hook["properties"]["url"]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/webhooks/pre-merge")
    assert f"webhook receiver listening on {url}" in run.out
    assert segments(action_commit)[3] == "main"

    paths = [query_dict(e)["path"] for e in run.exchanges[4:7]]
    assert paths == ["tables/events/part-0001.csv", "tables/events/schema.json", "tables/events/notes.txt"]
    assert segments(run.exchanges[8]) == ["repositories", REPO, "refs", "feature-x", "merge", "main"]
    assert "merged feature-x into main" in run.out
    assert "the receiver got no event" in run.out  # a mock server never calls webhooks

    # Last, the hook is removed from main again.
    remove, commit = run.exchanges[-2:]
    assert (remove.operation_id, commit.operation_id) == ("deleteObject", "commit")
    assert segments(remove)[3] == "main" and query_dict(remove) == {"path": "_lakefs_actions/check_merges.yaml"}
    assert segments(commit)[3] == "main" and json_body(commit)["message"] == "Remove the pre-merge webhook"

    # The runs shown are the first two the listing returned, each with all its hooks' outputs.
    rest = run.exchanges[len(setup) : -2]
    assert rest[0].operation_id == "listRepositoryRuns" and query_dict(rest[0]) == {"branch": "main"}
    listed_runs = [r["run_id"] for e in rest if e.operation_id == "listRepositoryRuns" for r in answer(e)["results"]]
    shown = [segments(e)[4] for e in rest if e.operation_id == "listRunHooks" and "after" not in query_dict(e)]
    assert shown == listed_runs[:2]
    hooks = [(segments(e)[4], h["hook_run_id"]) for e in rest if e.operation_id == "listRunHooks"
             for h in answer(e)["results"]]
    outputs = [e for e in rest if e.operation_id == "getRunHookOutput"]
    assert [(segments(e)[4], segments(e)[6]) for e in outputs] == hooks
    for exchange in outputs:
        for line in exchange.response_body.decode().splitlines():
            assert f"    | {line}" in run.out


def test_ci_cd_hooks_reports_a_blocked_merge(prism: PrismProxy, capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedProxy(prism, prefer={"mergeIntoBranch": "code=412"}) as scripted:
        run = run_example("ci_cd_hooks", [REPO, "--branch", "feature-y", "--runs", "1"], prism, capsys,
                          url=scripted.url)
    assert run.status == 1
    merge = run.sent("mergeIntoBranch")
    assert [e.status for e in merge] == [412]
    assert "merge blocked by the pre-merge hook" in run.out
    assert run.ops[run.ops.index("mergeIntoBranch") + 1] == "listRepositoryRuns", "runs are shown after a block"
    assert run.ops[-2:] == ["deleteObject", "commit"], "the hook is removed after a block too"


def test_ci_cd_hooks_removes_the_hook_when_a_call_fails(prism: PrismProxy, capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedProxy(prism, prefer={"createBranch": "code=409"}) as scripted:
        run = run_example("ci_cd_hooks", [REPO, "--branch", "taken"], prism, capsys, url=scripted.url)
    assert run.status == 1
    assert run.ops == ["getObject", "uploadObject", "commit", "createBranch", "deleteObject", "commit"]
    assert "error: createBranch failed with status 409" in run.err


def test_ci_cd_hooks_keep_hook_and_an_installed_hook(prism: PrismProxy, capsys: pytest.CaptureFixture[str]) -> None:
    url = "http://127.0.0.1:8765/webhooks/pre-merge"
    action = load("ci_cd_hooks").ACTION_TEMPLATE.format(target="main", allowed=".csv .json .parquet", url=url)

    def installed(request: Request, body: bytes) -> bytes:
        return action.encode()

    with ScriptedProxy(prism, rewrite={"getObject": installed}) as scripted:
        run = run_example("ci_cd_hooks", [REPO, "--branch", "f", "--webhook-url", url, "--keep-hook", "--runs", "0"],
                          prism, capsys, url=scripted.url)
    assert run.status == 0, run.err
    assert run.ops == ["getObject", "createBranch", "uploadObject", "uploadObject", "commit", "mergeIntoBranch"]
    assert "_lakefs_actions/check_merges.yaml is on main already" in run.out


def post(url: str, body: bytes) -> Tuple[int, Dict[str, Any]]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


PRE_MERGE_EVENT = {
    "event_type": "pre-merge",
    "event_time": "2025-01-02T03:04:05Z",
    "action_name": "check merges into main",
    "hook_id": "check_files",
    "repository_id": REPO,
    "branch_id": "main",
    "source_ref": "c0ffee42",
    "commit_message": "Merge feature-x",
    "committer": "jane.doe",
}


@pytest.fixture
def receiver_for() -> Iterator[Any]:
    """Start the example's webhook receiver on a client for a given URL; stop it afterwards."""
    started: List[Any] = []

    def start(url: str) -> Any:
        client = LakeFSClient(lakefs_sdk.Configuration(host=url, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY))
        receiver = load("ci_cd_hooks").WebhookReceiver(client.refs_api, (".csv", ".json"))
        started.append((client, receiver.__enter__()))
        return receiver

    yield start
    for client, receiver in started:
        receiver.__exit__(None, None, None)
        client.close()


def test_webhook_receiver_checks_the_diff_with_the_sdk(prism_any: PrismProxy, receiver_for: Any) -> None:
    receiver = receiver_for(prism_any.url)
    assert receiver.url.startswith("http://127.0.0.1:")
    mark = prism_any.mark()
    status, reply = post(receiver.url, json.dumps(PRE_MERGE_EVENT).encode())
    diffs = prism_any.since(mark)
    assert diffs and {e.operation_id for e in diffs} == {"diffRefs"}
    assert segments(diffs[0]) == ["repositories", REPO, "refs", "main", "diff", "c0ffee42"]
    expected = []
    for entry in (entry for e in diffs for entry in answer(e)["results"]):
        if entry["path_type"] != "object":
            continue
        if entry["type"] == "removed":
            expected.append(f"{entry['path']}: removing data is not allowed")
        elif entry["type"] in ("added", "changed") and not entry["path"].endswith((".csv", ".json")):
            expected.append(f"{entry['path']}: only .csv .json files are allowed")
    assert reply == {"ok": not expected, "problems": expected}
    assert status == (400 if expected else 200)
    assert [event for event, _ in receiver.events] == [PRE_MERGE_EVENT]


def test_webhook_receiver_rejects_removed_and_foreign_files(prism: PrismProxy, receiver_for: Any) -> None:
    def diff(request: Request, body: bytes) -> bytes:
        page = DiffList(
            pagination=Pagination(has_more=False, next_offset="", results=4, max_per_page=100),
            results=[
                Diff(type="added", path="tables/a.csv", path_type="object"),
                Diff(type="changed", path="tables/notes.txt", path_type="object"),
                Diff(type="removed", path="tables/old.json", path_type="object"),
                Diff(type="added", path="tables/new/", path_type="common_prefix"),
            ],
        )
        return model_json(page)

    with ScriptedProxy(prism, rewrite={"diffRefs": diff}) as scripted:
        receiver = receiver_for(scripted.url)
        status, reply = post(receiver.url, json.dumps(PRE_MERGE_EVENT).encode())
    assert status == 400
    assert reply == {
        "ok": False,
        "problems": [
            "tables/notes.txt: only .csv .json files are allowed",
            "tables/old.json: removing data is not allowed",
        ],
    }


def test_webhook_receiver_fails_closed(prism: PrismProxy, receiver_for: Any) -> None:
    with ScriptedProxy(prism, prefer={"diffRefs": "code=404"}) as scripted:
        receiver = receiver_for(scripted.url)
        status, reply = post(receiver.url, json.dumps(PRE_MERGE_EVENT).encode())
    assert status == 500
    assert reply["ok"] is False and "could not read the diff: 404" in reply["problems"][0]
    assert receiver.events == []


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", json.dumps({**PRE_MERGE_EVENT, "event_type": "post-commit"}).encode(),
     json.dumps({"event_type": "pre-merge"}).encode()],
    ids=["not-json", "not-an-object", "other-event", "missing-fields"],
)
def test_webhook_receiver_refuses_what_is_not_a_pre_merge_event(
    prism: PrismProxy, receiver_for: Any, body: bytes
) -> None:
    receiver = receiver_for(prism.url)
    mark = prism.mark()
    status, reply = post(receiver.url, body)
    assert status == 400 and reply["ok"] is False and reply["problems"]
    assert prism.since(mark) == [], "nothing is asked of lakeFS for a malformed event"


# -- reproducibility ---------------------------------------------------------------------------

REPRODUCIBILITY_OPS = [
    "getBranch", "statObject", "createTag", "getObject", "getObject", "createBranch",
    "uploadObject", "resetBranch", "uploadObject", "uploadObject", "resetBranch", "uploadObject", "resetBranch",
    "uploadObject", "commit", "revertBranch",
    "uploadObject", "commit", "hardResetBranch",
    "getBranch", "deleteBranch",
]  # fmt: skip


def test_reproducibility(prism_any: PrismProxy, capsys: pytest.CaptureFixture[str]) -> None:
    args = [REPO, "data/train.csv", "--tag", "train-v1", "--scratch", "scratch-x"]
    run = run_example("reproducibility", args, prism_any, capsys)
    assert run.ops == REPRODUCIBILITY_OPS
    by_op: Dict[str, List[Exchange]] = {}
    for exchange in run.exchanges:
        by_op.setdefault(exchange.operation_id or "", []).append(exchange)

    head, scratch_head = by_op["getBranch"]
    assert segments(head)[-1] == "main" and segments(scratch_head)[-1] == "scratch-x"
    pinned = answer(head)["commit_id"]
    tag = json_body(by_op["createTag"][0])
    assert (tag["id"], tag["ref"]) == ("train-v1", pinned)
    read_by_commit, read_by_tag = by_op["getObject"]
    assert segments(read_by_commit)[3] == pinned and segments(read_by_tag)[3] == "train-v1"
    assert query_dict(read_by_commit) == query_dict(read_by_tag) == {"path": "data/train.csv"}
    scratch = json_body(by_op["createBranch"][0])
    assert (scratch["name"], scratch["source"]) == ("scratch-x", pinned)
    resets = [json_body(e) for e in by_op["resetBranch"]]
    assert [(r["type"], r.get("path")) for r in resets] == [
        ("object", "scratch/notes.txt"),
        ("common_prefix", "scratch/run-1/"),
        ("reset", None),
    ]
    mistake = answer(by_op["commit"][0])["id"]
    assert json_body(by_op["revertBranch"][0]) == {"ref": mistake, "parent_number": 0, "force": False,
                                                   "allow_empty": False}
    assert query_dict(by_op["hardResetBranch"][0]) == {"ref": pinned}
    assert segments(by_op["deleteBranch"][0])[-1] == "scratch-x"

    same_bytes = read_by_commit.response_body == read_by_tag.response_body
    back_at_pin = answer(scratch_head)["commit_id"] == pinned
    assert run.status == (0 if same_bytes and back_at_pin else 1), run.err
    assert ("differs between commit" in run.err) is not same_bytes
    assert ("after the hard reset" in run.err) is not back_at_pin
    assert f"sha256 {hashlib.sha256(read_by_commit.response_body).hexdigest()}" in run.out


def test_reproducibility_flags_a_branch_that_did_not_move_back(
    prism: PrismProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    def elsewhere(request: Request, body: bytes) -> bytes:
        ref = Ref.from_json(body)
        if request.decoded_path.endswith("/scratch-y"):
            ref.commit_id = "not-the-pinned-commit"
        return model_json(ref)

    with ScriptedProxy(prism, rewrite={"getBranch": elsewhere}) as scripted:
        run = run_example("reproducibility", [REPO, "data/train.csv", "--scratch", "scratch-y"], prism, capsys,
                          url=scripted.url)
    assert run.status == 1
    assert "scratch-y points at not-the-pinned-commit after the hard reset" in run.err
    assert run.ops == REPRODUCIBILITY_OPS, "the check fails without stopping the walkthrough"


def test_reproducibility_pins_a_given_commit(prism: PrismProxy, capsys: pytest.CaptureFixture[str]) -> None:
    args = [REPO, "data/train.csv", "--commit", "c0ffee42", "--keep-scratch"]
    run = run_example("reproducibility", args, prism, capsys)
    assert run.ops == REPRODUCIBILITY_OPS[1:-1], "no lookup of the branch head, no deletion of the scratch branch"
    assert segments(run.exchanges[0])[3] == "c0ffee42" and query_dict(run.exchanges[0]) == {"path": "data/train.csv"}
    (tag,) = run.sent("createTag")
    assert json_body(tag)["ref"] == "c0ffee42"
    assert re.fullmatch(r"pinned-\d{8}-\d{6}-[0-9a-f]{4}", json_body(tag)["id"])
    assert segments(run.sent("getObject")[0])[3] == "c0ffee42"


def test_reproducibility_stops_when_the_path_is_missing(
    prism: PrismProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedProxy(prism, prefer={"statObject": "code=404"}) as scripted:
        run = run_example("reproducibility", [REPO, "data/train.csv"], prism, capsys, url=scripted.url)
    assert run.status == 1
    assert run.ops == ["getBranch", "statObject"], "nothing is tagged or branched"
    assert "error: data/train.csv at commit" in run.err and "write and commit it first" in run.err


# -- --create-repo -----------------------------------------------------------------------------


def test_create_repo_asks_the_server_for_a_namespace(prism: PrismProxy, capsys: pytest.CaptureFixture[str]) -> None:
    def local(request: Request, body: bytes) -> bytes:
        config = lakefs_sdk.Config.from_json(body)
        assert config.storage_config is not None
        config.storage_config.default_namespace_prefix = "local://"
        return model_json(config)

    with ScriptedProxy(prism, rewrite={"getConfig": local}) as scripted:
        run = run_example("experiments", [REPO, "--learning-rates", "0.01", "--create-repo"], prism, capsys,
                          url=scripted.url)
    assert run.status == 0, run.err
    assert run.ops[:3] == ["getConfig", "createRepository", "createBranch"]
    storage = answer(run.exchanges[0])["storage_config"]
    expected = "local://" + REPO
    assert storage["default_namespace_prefix"] == "string", "what static Prism answered (the proxy rewrote it)"
    assert json_body(run.exchanges[1]) == {"name": REPO, "storage_namespace": expected,
                                           "sample_data": False, "read_only": False}
    assert f"created repository {REPO} in {expected}" in run.out


def test_create_repo_refuses_a_namespace_that_is_no_storage_uri(
    prism: PrismProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    # Static Prism suggests the prefix "string".
    run = run_example("experiments", [REPO, "--create-repo"], prism, capsys)
    assert run.status == 1
    assert run.ops == ["getConfig"]
    assert f"error: cannot create repository {REPO} in 'stringexample-repo'" in run.err


@pytest.mark.parametrize("name", NAMES)
def test_create_repo_uses_an_existing_repository(
    name: str, prism: PrismProxy, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "a.csv").write_bytes(b"x\n")
    args = {"ingest": [str(tmp_path)], "concurrent_ingest": [str(tmp_path), "--no-progress"], "reproducibility": ["data/train.csv"], "bulk_import": [SOURCE, "--max-polls", "0"]}
    with ScriptedProxy(prism, prefer={"createRepository": "code=409"}) as scripted:
        run = run_example(name, [REPO, *args.get(name, []), "--create-repo", "--storage-namespace", "local://r"],
                          prism, capsys, url=scripted.url)
    assert run.ops[0] == "createRepository", "a given namespace needs no getConfig"
    assert json_body(run.exchanges[0])["storage_namespace"] == "local://r"
    assert f"repository {REPO} exists: using it" in run.out
    assert len(run.ops) > 1, "the example goes on"


def test_suggested_namespace_without_a_prefix() -> None:
    storage = lakefs_sdk.StorageConfig(
        blockstore_type="s3", blockstore_namespace_example="s3://example-bucket/", blockstore_namespace_validity_regex="^s3://",
        default_namespace_prefix="", pre_sign_support=True, pre_sign_support_ui=True, import_support=True,
        import_validity_regex="^s3://",
    )
    assert load("_common").suggested_namespace(storage, "repo") == "s3://example-bucket/repo"
    storage.default_namespace_prefix = "s3://data/lakefs/"
    assert load("_common").suggested_namespace(storage, "repo") == "s3://data/lakefs/repo"


# -- bulk import -------------------------------------------------------------------------------

SOURCE = "s3://example-bucket/landing/2025/"


def statuses(*states: Mapping[str, Any]) -> Any:
    """A rewrite that answers the successive importStatus polls with ``states``."""
    polls = count()

    def rewrite(request: Request, body: bytes) -> bytes:
        status = ImportStatus.from_json(body)
        status.error = None
        status.commit = None
        for name, value in states[min(next(polls), len(states) - 1)].items():
            setattr(status, name, value)
        return model_json(status)

    return rewrite


def test_bulk_import_reports_a_failed_import(prism: PrismProxy, capsys: pytest.CaptureFixture[str]) -> None:
    args = [REPO, SOURCE, "--destination", "raw/2025/", "--branch", "import-x", "--interval", "0"]
    run = run_example("bulk_import", args, prism, capsys)
    assert run.ops == ["createBranch", "importStart", "importStatus"]
    creation = json_body(run.exchanges[1])
    assert creation["paths"] == [{"type": "common_prefix", "path": SOURCE, "destination": "raw/2025/"}]
    assert creation["commit"]["message"] == f"Import {SOURCE}"
    assert creation["commit"]["metadata"] == {"import_source": SOURCE, "imported_by": "examples/bulk_import.py"}
    import_id = answer(run.exchanges[1])["id"]
    assert query_dict(run.exchanges[2]) == {"id": import_id}
    # Static Prism's ImportStatus carries an error: the import failed.
    assert run.status == 1
    assert f"import failed: {answer(run.exchanges[2])['error']['message']}" in run.err


def test_bulk_import_polls_until_done(prism: PrismProxy, capsys: pytest.CaptureFixture[str]) -> None:
    done = Commit(id="c0ffee42", parents=["p"], committer="jane", message="Import", creation_date=1,
                  meta_range_id="m")
    script = statuses({"completed": False, "ingested_objects": 1000}, {"completed": False, "ingested_objects": 2500},
                      {"completed": True, "ingested_objects": 4000, "commit": done})
    with ScriptedProxy(prism, rewrite={"importStatus": script}) as scripted:
        run = run_example("bulk_import", [REPO, SOURCE, "--interval", "0"], prism, capsys, url=scripted.url)
    assert run.status == 0, run.err
    assert run.ops == ["createBranch", "importStart", "importStatus", "importStatus", "importStatus"]
    assert "poll 1: 1000 objects so far" in run.out and "poll 2: 2500 objects so far" in run.out
    assert "import done: 4000 objects, commit c0ffee42" in run.out


def test_bulk_import_cancels_an_import_that_does_not_finish(
    prism: PrismProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    script = statuses({"completed": False, "ingested_objects": 10})
    with ScriptedProxy(prism, rewrite={"importStatus": script}) as scripted:
        run = run_example("bulk_import", [REPO, SOURCE, "--interval", "0", "--max-polls", "2"], prism, capsys,
                          url=scripted.url)
    assert run.status == 3
    assert run.ops == ["createBranch", "importStart", "importStatus", "importStatus", "importCancel"]
    import_id = answer(run.exchanges[1])["id"]
    assert query_dict(run.exchanges[-1]) == {"id": import_id}
    assert "not finished after 2 polls: cancelled" in run.out


def test_bulk_import_max_polls_0_cancels_at_once(prism: PrismProxy, capsys: pytest.CaptureFixture[str]) -> None:
    run = run_example("bulk_import", [REPO, SOURCE, "--max-polls", "0"], prism, capsys)
    assert run.status == 3
    assert run.ops == ["createBranch", "importStart", "importCancel"]


def test_bulk_import_of_one_object_into_an_existing_branch(
    prism: PrismProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    source = "s3://example-bucket/landing/manifest.json"
    with ScriptedProxy(prism, prefer={"createBranch": "code=409"}) as scripted:
        run = run_example("bulk_import", [REPO, source, "--branch", "main", "--destination", "raw/manifest.json",
                                          "--max-polls", "0"], prism, capsys, url=scripted.url)
    assert run.status == 3
    assert run.ops == ["createBranch", "importStart", "importCancel"]
    assert "branch main exists: importing into it" in run.out
    assert json_body(run.exchanges[1])["paths"] == [
        {"type": "object", "path": source, "destination": "raw/manifest.json"}
    ]


def test_bulk_import_follows_what_the_server_says(
    prism_any: PrismProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_example("bulk_import", [REPO, SOURCE, "--interval", "0", "--max-polls", "3"], prism_any, capsys)
    polls = run.sent("importStatus")
    expected_status, expected_ops = 3, ["createBranch", "importStart"]
    for poll in polls:
        expected_ops.append("importStatus")
        state = answer(poll)
        if state.get("error") is not None:
            expected_status = 1
            break
        if state["completed"]:
            expected_status = 0
            break
    if expected_status == 3:
        expected_ops.append("importCancel")
    assert run.ops == expected_ops
    assert run.status == expected_status


def test_bulk_import_refuses_negative_polls(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        load("bulk_import").main([REPO, SOURCE, "--max-polls", "-1"])
    assert exit_info.value.code == 2
    assert "must not be negative" in capsys.readouterr().err


# -- concurrent_ingest ---------------------------------------------------------------------------


def test_concurrent_ingest(prism: PrismProxy, landing: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [REPO, str(landing), "--prefix", "raw/", "--concurrency", "2", "--no-progress"]
    run = run_example("concurrent_ingest", args, prism, capsys)

    assert run.status == 0, run.err
    assert run.ops == ["createBranch"] + ["uploadObject"] * 3 + ["diffBranch", "commit", "mergeIntoBranch"]
    branch = json_body(run.exchanges[0])["name"]
    assert branch.startswith("ingest-") and json_body(run.exchanges[0])["source"] == "main"
    sent = {query_dict(e)["path"]: e.request.body for e in run.sent("uploadObject")}
    assert sent == {"raw/" + relative: data for relative, data in LANDING.items()}, "each file once, raw"
    assert all(segments(e)[:4] == ["repositories", REPO, "branches", branch] for e in run.sent("uploadObject"))
    assert json_body(run.sent("commit")[0])["metadata"] == {
        "ingest.source": str(landing), "ingest.prefix": "raw/", "ingest.files": "3",
    }
    assert "3 items: 3 succeeded" in run.out


def test_concurrent_ingest_prints_each_failure_and_commits_nothing(
    prism: PrismProxy, landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedProxy(prism, prefer={"uploadObject": "code=404"}) as failing:
        run = run_example("concurrent_ingest", [REPO, str(landing), "--no-progress"], prism, capsys, url=failing.url)

    assert run.status == 1
    assert run.ops.count("uploadObject") == 3 and "commit" not in run.ops and "deleteBranch" not in run.ops
    for relative in LANDING:
        assert f"upload of {landing / relative} to landing/{relative} failed: " in run.err
    assert "nothing committed: 3 uploads failed; kept branch ingest-" in run.err


def test_concurrent_ingest_reports_an_interruption(
    landing: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, prism: PrismProxy
) -> None:
    from lakefs_sdk.transfer import TransferInterrupted, TransferReport, TransferResult

    module = load("concurrent_ingest")
    done = TransferResult(0, "landing/README.md", status="succeeded")
    skipped = TransferResult(1, "landing/events/2025-01-01.csv", status="skipped")

    def interrupted(*args: Any, **kwargs: Any) -> TransferReport:
        raise TransferInterrupted(TransferReport([done, skipped], interrupted=True))

    monkeypatch.setattr(module, "upload_many", interrupted)
    run = run_example("concurrent_ingest", [REPO, str(landing), "--branch", "resume-me"], prism, capsys)
    assert run.status == 130
    assert run.ops == [], "with --branch the example creates no branch"
    assert "interrupted: 2 items: 1 succeeded, 1 skipped (interrupted); kept branch resume-me" in run.err
    assert "--branch resume-me" in run.err


def test_concurrent_ingest_text_progress_prints_every_tenth(capsys: pytest.CaptureFixture[str]) -> None:
    update = load("concurrent_ingest").text_progress()
    for done in (0, 50, 99, 100, 550, 1000):
        update(done, 1000)
    update(7, None)  # a total not known yet: nothing to print
    assert capsys.readouterr().out.splitlines() == [
        "uploaded 0 of 1000 bytes (0%)",
        "uploaded 100 of 1000 bytes (10%)",
        "uploaded 550 of 1000 bytes (50%)",
        "uploaded 1000 of 1000 bytes (100%)",
    ]


def test_concurrent_ingest_refuses_a_concurrency_below_1(landing: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert load("concurrent_ingest").main([REPO, str(landing), "--concurrency", "0"]) == 2
    assert "--concurrency must be at least 1" in capsys.readouterr().err


# -- as scripts, and the index -----------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_example_help(name: str) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")
    for option in ("--endpoint", "--access-key", "--secret-key"):
        assert option in result.stdout


def test_example_runs_as_a_script(prism: PrismProxy) -> None:
    mark = prism.mark()
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "bulk_import.py"), REPO, SOURCE, "--max-polls", "0", *connection(prism.url)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode == 3, result.stderr
    assert [e.operation_id for e in prism.since(mark)] == ["createBranch", "importStart", "importCancel"]
    assert "cancelled" in result.stdout


def test_readme_lists_every_example() -> None:
    readme = (EXAMPLES / "README.md").read_text()
    scripts = sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
    assert set(NAMES) <= set(scripts), f"missing examples: {sorted(set(NAMES) - set(scripts))}"
    for name in scripts:
        assert f"[`{name}.py`]({name}.py)" in readme, f"examples/README.md does not link {name}.py"
    for name in NAMES:
        module = load(name)
        assert module.__doc__ and callable(module.main)


def test_examples_type_check_strictly() -> None:
    """The examples are what users copy: mypy --strict accepts them against the package's types.

    Errors inside lakefs_sdk (an optional dependency missing here) are the package's own lint's business.
    """
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (the lint extra)")
    scripts = sorted(str(p) for p in EXAMPLES.glob("*.py"))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent", "--python-version",
         "3.10", *scripts],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
