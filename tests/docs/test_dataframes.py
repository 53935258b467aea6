"""Every ```python snippet of docs/dataframes.md, run in order against a real lakeFS, and its effects read back.

The snippets share one namespace and run in an empty temporary folder, with the
``LAKECTL_*`` variables naming the real server (as the guide's five-minute section exports
them), ``http://localhost:8000`` replaced by its address and ``example-repo`` by a fresh
repository. They need pandas and pyarrow (and lakefs-spec, from the ``compat`` extra); the
tests skip, saying so, where those are not installed.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import re
import types
from pathlib import Path
from typing import Iterator, List

import pytest

import lakefs_sdk
from lakefs_sdk.client import LakeFSClient

from support.lakefs import LakeFS, create_repository, delete_repository

PAGE = Path(__file__).resolve().parents[2] / "docs" / "dataframes.md"
NEEDED = ("pandas", "pyarrow", "lakefs_spec")
MISSING = [name for name in NEEDED if importlib.util.find_spec(name) is None]
SKIP_REASON = (
    f"docs/dataframes.md needs {', '.join(MISSING)}, not installed in this venv: "
    "pandas and pyarrow belong in the test extras of pyproject.toml"
)


def snippets(text: str) -> List[tuple[int, str]]:
    """(first code line, code) of every ```python block."""
    found = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
        found.append((text.count("\n", 0, match.start()) + 2, match.group(1)))
    return found


SNIPPETS = snippets(PAGE.read_text(encoding="utf-8"))


def test_every_block_is_python_or_shell() -> None:
    languages = re.findall(r"^```(\S*)$", PAGE.read_text(encoding="utf-8"), flags=re.M)
    openings = languages[::2]
    assert set(openings) <= {"python", "bash"}, openings
    assert len(SNIPPETS) >= 6


def test_the_install_line_keeps_this_package() -> None:
    """What the page says of lakefs's requirement, and that this package meets it."""
    if importlib.util.find_spec("lakefs") is None:
        pytest.skip("lakefs is not installed (the compat extra)")
    requirement = next(r for r in importlib.metadata.requires("lakefs") or [] if r.startswith("lakefs-sdk"))
    assert requirement.replace(" ", "") in ("lakefs-sdk<2,>=1.50", "lakefs-sdk>=1.50,<2"), requirement
    major, minor = (int(n) for n in importlib.metadata.version("lakefs-sdk").split(".")[:2])
    assert (1, 50) <= (major, minor) < (2, 0)
    page = PAGE.read_text(encoding="utf-8")
    assert "lakefs==0.16.0 lakefs-spec==0.15.1" in page
    assert importlib.metadata.version("lakefs") == "0.16.0" and importlib.metadata.version("lakefs-spec") == "0.15.1"


class PageRun:
    """The shared namespace of the page's snippets, and how far they have run."""

    def __init__(self, workdir: Path, repo: str, endpoint: str) -> None:
        self.workdir, self.repo, self.endpoint = workdir, repo, endpoint
        self.namespace = types.ModuleType("dataframes_snippets").__dict__
        self.done = 0

    def run_until(self, index: int) -> None:
        for line, code in SNIPPETS[self.done : index + 1]:
            code = code.replace("http://localhost:8000", self.endpoint).replace("example-repo", self.repo)
            self.done += 1
            exec(compile("\n" * (line - 1) + code, str(PAGE), "exec"), self.namespace)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, lakefs: LakeFS) -> Iterator[PageRun]:
    if MISSING:
        pytest.skip(SKIP_REASON)
    import fsspec

    with LakeFSClient(lakefs.configuration()) as admin:
        repo = create_repository(admin, "dataframes")
        run = PageRun(tmp_path_factory.mktemp("dataframes"), repo, lakefs.endpoint)
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(run.workdir)
            patch.setenv("HOME", str(run.workdir))
            patch.delenv("LAKECTL_CONFIG_FILE", raising=False)
            patch.setenv("LAKECTL_SERVER_ENDPOINT_URL", lakefs.endpoint + "/api/v1")
            patch.setenv("LAKECTL_CREDENTIALS_ACCESS_KEY_ID", lakefs.access_key_id)
            patch.setenv("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", lakefs.secret_access_key)
            # fsspec keeps filesystems by their arguments; one made for another server must not be reused.
            fsspec.get_filesystem_class("lakefs").clear_instance_cache()
            try:
                yield run
            finally:
                fsspec.get_filesystem_class("lakefs").clear_instance_cache()
                delete_repository(admin, repo)


@pytest.mark.parametrize("index", range(len(SNIPPETS)), ids=[f"line-{line}" for line, _ in SNIPPETS])
def test_snippet_on_lakefs(index: int, page: PageRun) -> None:
    page.run_until(index)


def test_what_the_snippets_left_on_lakefs(page: PageRun, lakefs_client: LakeFSClient) -> None:
    page.run_until(len(SNIPPETS) - 1)
    import pandas as pd

    repo, objects = page.repo, lakefs_client.objects_api
    events = page.namespace["events"]
    assert isinstance(events, pd.DataFrame) and list(events.columns) == ["id", "kind"]
    assert objects.get_object(repo, "main", "tables/events.csv") == events.to_csv(index=False).encode()
    assert objects.get_object(repo, "main", "tables/events-copy.csv") == events.to_csv(index=False).encode()
    parquet = objects.get_object(repo, "main", "tables/events.parquet")
    assert parquet[:4] == b"PAR1" and pd.read_parquet(io.BytesIO(parquet)).equals(events)

    # The write to a missing branch created it from main; the commit holds the rows written.
    commit = lakefs_client.commits_api.get_commit(repo, page.namespace["commit"].id)
    assert (commit.message, commit.metadata) == ("Daily events", {"rows": "3"})
    assert lakefs_client.branches_api.get_branch(repo, "daily").commit_id == commit.id
    assert page.namespace["pinned"].equals(page.namespace["daily"])
    for name in ("from_csv", "from_file", "from_memory"):
        assert page.namespace[name].equals(events), name
    daily_bytes = (page.workdir / "daily.parquet").read_bytes()
    assert objects.get_object(repo, "main", "tables/daily.parquet") == daily_bytes
    # The local blockstore cannot presign: the snippet took the plain upload.
    assert lakefs_client.config_api.get_config().storage_config.pre_sign_support is False  # type: ignore[union-attr]
    assert objects.get_object(repo, "main", "tables/big.parquet") == daily_bytes
    assert page.namespace["report"].ok and objects.get_object(repo, "main", "tables/many/daily.parquet") == daily_bytes
    # Uncommitted, as the page says of writes.
    changed = {d.path for d in lakefs_client.branches_api.diff_branch_iter(repo, "main")}
    assert {"tables/events.csv", "tables/events.parquet", "tables/daily.parquet"} <= changed


def test_parquet_cannot_be_read_from_a_response(lakefs: LakeFS, page: PageRun) -> None:
    """The page's reason to download Parquet first: pandas must seek, and a response cannot."""
    page.run_until(0)
    import pandas as pd

    # A client of its own: the response is left unread.
    with LakeFSClient(lakefs.configuration()) as client:
        objects = client.objects_api
        with objects.get_object_without_preload_content(page.repo, "main", "tables/events.parquet") as response:
            with pytest.raises(io.UnsupportedOperation, match="seek"):
                pd.read_parquet(response)


def test_upload_presigned_refuses_the_local_store_before_writing(repo: str, lakefs_client: LakeFSClient) -> None:
    """What the page says of upload_presigned where the store cannot presign."""
    from lakefs_sdk.transfer import supports_presign, upload_presigned

    assert supports_presign(lakefs_client.api_client) is False
    with pytest.raises(lakefs_sdk.ApiValueError, match="presign"):
        upload_presigned(lakefs_client.staging_api, repo, "main", "tables/refused.bin", b"data")
    with pytest.raises(lakefs_sdk.NotFoundException):
        lakefs_client.objects_api.stat_object(repo, "main", "tables/refused.bin")
