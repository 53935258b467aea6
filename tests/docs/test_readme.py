"""The README's quickstart runs as written: on a real lakeFS, with its effects read back, and on static Prism."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import List

import pytest

import lakefs_sdk
from lakefs_sdk.client import LakeFSClient

from support.lakefs import LakeFS, delete_repository, unique_name
from support.loopback import Request
from support.recording_proxy import Exchange, PrismProxy, RecordingProxy
from support.scripted_proxy import ScriptedProxy

README = Path(__file__).resolve().parents[2] / "README.md"
HOST = "http://localhost:8000/api/v1"
REPO = "example-repo"
QUICKSTART_OPERATIONS = [
    "getConfig",
    "createRepository",
    "createBranch",
    "uploadObject",
    "commit",
    "mergeIntoBranch",
    "resetBranch",
]
PARQUET = b"PAR1" + bytes(range(256)) * 64 + b"PAR1"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def quickstart() -> str:
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) == 1, "one quickstart block; add a test for any new one"
    assert HOST in blocks[0] and REPO in blocks[0]
    return blocks[0]


def run_quickstart(url: str, repo: str, proxy: RecordingProxy, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> List[Exchange]:
    """Run the quickstart against ``url`` in ``workdir`` (which gets its events.parquet); return its exchanges."""
    monkeypatch.chdir(workdir)
    (workdir / "events.parquet").write_bytes(PARQUET)
    code = quickstart().replace(HOST, url).replace(REPO, repo)
    mark = proxy.mark()
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    return proxy.since(mark)


def test_quickstart_on_lakefs(
    lakefs: LakeFS, lakefs_proxy: RecordingProxy, lakefs_client: LakeFSClient, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The quickstart's credentials are the ones scripts/lakefs-server.sh gives its admin.
    assert (lakefs.access_key_id, lakefs.secret_access_key) == (
        "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    repo = unique_name("readme")
    try:
        sent = run_quickstart(lakefs_proxy.url, repo, lakefs_proxy, tmp_path, monkeypatch)
        assert [e.operation_id for e in sent] == QUICKSTART_OPERATIONS
        assert all(200 <= e.status < 300 for e in sent), [(e.operation_id, e.status) for e in sent]

        assert lakefs_client.repositories_api.get_repository(repo).storage_namespace == f"local://{repo}"
        assert lakefs_client.objects_api.get_object(repo, "main", "raw/events.parquet") == PARQUET
        merge = lakefs_client.refs_api.log_commits(repo, "main", amount=1).results[0]
        assert merge.message == "Merge ingest" and len(merge.parents) == 2
        added = lakefs_client.commits_api.get_commit(repo, merge.parents[1])
        assert (added.message, added.metadata) == ("Add events", {"source": "etl"})
        assert lakefs_client.branches_api.get_branch(repo, "ingest").commit_id == added.id
        assert lakefs_client.branches_api.diff_branch(repo, "ingest").results == []
    finally:
        delete_repository(lakefs_client, repo)


def test_quickstart_sends_what_it_says(prism: PrismProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def local(request: Request, body: bytes) -> bytes:
        # Static Prism's placeholder prefix ("string") is no storage URI; a local lakeFS's is.
        config = lakefs_sdk.Config.from_json(body)
        assert config.storage_config is not None
        config.storage_config.default_namespace_prefix = "local://"
        return config.to_json().encode()

    with ScriptedProxy(prism, rewrite={"getConfig": local}) as scripted:
        sent = run_quickstart(scripted.url, REPO, prism, tmp_path, monkeypatch)

    assert [e.operation_id for e in sent] == QUICKSTART_OPERATIONS
    assert json.loads(sent[1].request.body)["storage_namespace"] == "local://example-repo"
    upload = sent[3].request
    assert upload.header("Content-Type").startswith("multipart/form-data")  # type: ignore[union-attr]
    assert PARQUET in upload.body, "the file's bytes went out"


def test_users_read_install_and_quickstart_first() -> None:
    """Installation and Quickstart open the README; the project's own set-up comes under its own heading, later."""
    text = README.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    assert headings[:2] == ["Installation", "Quickstart"], headings
    assert "Working on lakefs_sdk" in headings, headings
    working = text.index("\n## Working on lakefs_sdk\n")
    after = text[working:].split("\n## ", 2)[1]  # the section's own text
    setup = re.findall(r"^```sh\n(.*?)^```", after, flags=re.S | re.M)
    assert setup and [line.split()[0] for line in setup[0].splitlines()] == ["scripts/generate.sh", "scripts/test.sh"]
    for command in ("scripts/generate.sh", "scripts/test.sh"):
        assert command not in text[:working], f"{command} is for working on the project: not before its heading"
