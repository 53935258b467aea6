"""Every ```python snippet of docs/guide.md, executed against a real lakeFS and against static Prism.

How the snippets run, once per server:

* in the order of the guide, in one shared namespace (a module registered as
  ``__main__.guide_snippets`` for Prism and ``__main__.guide_snippets_lakefs`` for the
  real server, so that functions a snippet defines can be pickled for a forked process
  pool, and Dask sends them by value as it does functions of a user's ``__main__``), in an empty temporary
  working directory with ``HOME`` pointing there too;
* ``http://localhost:8000`` in a snippet is replaced by the server's address (through a
  recording proxy), and the ``LAKECTL_*`` variables name it and the credentials, so that
  both ``Configuration(host=...)`` and ``Configuration.from_env()`` reach it; on the real
  server, ``example-repo`` is replaced by a fresh repository's name, which the guide's first
  snippet creates (and the test deletes afterwards);
* HTML comments right above a snippet say what it must do:

  - ``<!-- wire: op op ... -->`` (required) lists the operationIds it must send, in order
    (``none`` for no request; ``op+`` for one or more ``op`` in a row);
  - ``<!-- lakefs-wire: op op ... -->`` replaces ``wire`` for the real server, whose
    answers take a snippet down another path than Prism's (a listing of one page, a call
    that succeeds where Prism was told to fail);
  - ``<!-- lakefs-raises: ExceptionName -->``: on the real server the snippet must raise
    ``lakefs_sdk.ExceptionName`` (for what the open-source lakeFS does not serve);
  - ``<!-- prism: operationId prefer -->`` makes Prism answer that operation as the
    ``Prefer`` header asks (e.g. ``code=404``), to take the snippet down its error path;
  - ``<!-- only: prism REASON -->`` or ``<!-- only: lakefs REASON -->`` runs the snippet
    on that server alone, and says why;
  - ``<!-- requires: module -->`` skips the snippet when the module is missing;
  - ``<!-- runs-in: path REASON -->``: the test module at ``path`` runs the snippet, reading
    it from the guide, and checks its ``wire`` (in any order: the Spark snippet's tasks run
    side by side); here it is skipped with the reason. The Spark snippet needs Spark and a
    store that presigns, so it runs in tests/integration/test_spark_s3.py on lakeFS on S3.

* above a ```bash block, ``<!-- shell: run -->`` makes ``test_five_minutes_on_lakefs`` run
  it with bash against the real server (after the python snippets of its section), and
  read back what its commands did.

One test per snippet and server; running a single one first runs the snippets before it.
Prism fails a test on any request that violates the API description.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
import types
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

import lakefs_sdk
from lakefs_sdk.client import LakeFSClient

from support.lakefs import LakeFS, delete_repository, unique_name
from support.recording_proxy import Exchange, PrismProxy, RecordingProxy
from support.routes import OperationIndex
from support.scripted_proxy import ScriptedProxy

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guide.md"
PLACEHOLDER_HOST = "http://localhost:8000"
PLACEHOLDER_REPO = "example-repo"
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
FIVE_MINUTES = "a-real-server-in-five-minutes"

FENCE = re.compile(r"^(`{3,}|~{3,})\s*([^\s`]*)")
HEADING = re.compile(r"^#{2,3}\s+(.*)")
DIRECTIVE = re.compile(r"^<!--\s*([\w-]+):\s*(.*?)\s*-->$")
SERVERS = ("prism", "lakefs")
# Languages that look like Python but would not be run: the guide must not use them.
OTHER_PYTHON_NAMES = {"py", "python3", "py3", "pycon", "ipython", "pyi"}


@dataclass
class Snippet:
    """One ```python block of the guide, with the directives above it."""

    line: int  # line number of the block's first code line
    code: str
    section: str  # slug of the heading it is under, e.g. "streaming-uploads-and-downloads"
    number: int  # its position among the snippets of that section, from 1
    wire: Optional[List[str]] = None
    lakefs_wire: Optional[List[str]] = None
    lakefs_raises: Optional[str] = None
    only: Optional[str] = None  # "prism" or "lakefs"
    only_reason: str = ""
    prefer: Dict[str, str] = field(default_factory=dict)
    requires: List[str] = field(default_factory=list)
    runs_in: Optional[str] = None  # the test module that runs it instead, from the repository's root
    runs_in_reason: str = ""

    @property
    def id(self) -> str:
        return f"{self.section}-{self.number}"

    def expected_wire(self, server: str) -> List[str]:
        if server == "lakefs" and self.lakefs_wire is not None:
            return self.lakefs_wire
        return self.wire or []


@dataclass
class Block:
    """Any fenced block: its language, where it starts, its text, and whether to run it as shell."""

    language: str
    line: int
    section: str = ""
    code: str = ""
    shell_run: bool = False


def parse(text: str) -> tuple[List[Snippet], List[Block]]:
    """The python snippets of a Markdown text, and every fenced block."""
    lines = text.splitlines()
    snippets: List[Snippet] = []
    blocks: List[Block] = []
    section, number = "top", 0
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            heading = HEADING.match(lines[index])
            if heading:
                section, number = re.sub(r"[^a-z0-9]+", "-", heading.group(1).lower()).strip("-"), 0
            index += 1
            continue
        fence, language = opening.group(1), opening.group(2).lower()
        end = index + 1
        while end < len(lines) and not lines[end].startswith(fence):
            end += 1
        if end == len(lines):
            raise ValueError(f"{GUIDE.name}:{index + 1}: fenced block never closed")
        code = "\n".join(lines[index + 1 : end]) + "\n"
        directives = _directives_above(lines, index)
        block = Block(language, index + 1, section, code)
        blocks.append(block)
        if language == "python":
            number += 1
            snippet = Snippet(index + 2, code, section, number)
            _apply(directives, snippet)
            snippets.append(snippet)
        else:
            for line, name, value in directives:
                if (name, value) != ("shell", "run") or language != "bash":
                    raise ValueError(f"{GUIDE.name}:{line}: {name}: {value} does not apply to a ```{language} block")
                block.shell_run = True
        index = end + 1
    return snippets, blocks


def _directives_above(lines: List[str], fence_index: int) -> List[tuple[int, str, str]]:
    found = []
    above = fence_index - 1
    while above >= 0 and (not lines[above].strip() or DIRECTIVE.match(lines[above].strip())):
        directive = DIRECTIVE.match(lines[above].strip())
        if directive is not None:
            found.append((above + 1, directive.group(1), directive.group(2)))
        above -= 1
    return found


def _apply(directives: List[tuple[int, str, str]], snippet: Snippet) -> None:
    for line, name, value in directives:
        if name == "wire":
            snippet.wire = [] if value == "none" else value.split()
        elif name == "lakefs-wire":
            snippet.lakefs_wire = [] if value == "none" else value.split()
        elif name == "lakefs-raises":
            snippet.lakefs_raises = value
        elif name == "only":
            server, _, reason = value.partition(" ")
            if server not in SERVERS or not reason.strip():
                raise ValueError(f"{GUIDE.name}:{line}: write <!-- only: prism|lakefs REASON -->")
            snippet.only, snippet.only_reason = server, reason.strip()
        elif name == "prism":
            operation_id, _, prefer = value.partition(" ")
            snippet.prefer[operation_id] = prefer.strip()
        elif name == "requires":
            snippet.requires.extend(value.split())
        elif name == "runs-in":
            path, _, reason = value.partition(" ")
            if not path.endswith(".py") or not reason.strip():
                raise ValueError(f"{GUIDE.name}:{line}: write <!-- runs-in: tests/.../test_x.py REASON -->")
            snippet.runs_in, snippet.runs_in_reason = path, reason.strip()
        else:
            raise ValueError(f"{GUIDE.name}:{line}: unknown directive {name!r}")


def wire_matches(sent: List[str], expected: List[str]) -> bool:
    """True when ``sent`` is ``expected``, where ``op+`` stands for one or more ``op`` in a row."""
    pattern = "".join(f"(?:{re.escape(op[:-1])},)+" if op.endswith("+") else f"{re.escape(op)}," for op in expected)
    return re.fullmatch(pattern, "".join(f"{op}," for op in sent)) is not None


SNIPPETS, BLOCKS = parse(GUIDE.read_text(encoding="utf-8"))


# -- the guide's structure ---------------------------------------------------------------------


def test_the_guide_has_python_snippets() -> None:
    assert SNIPPETS, f"{GUIDE} has no ```python block: nothing would be tested"


def test_no_python_hides_behind_another_language_name() -> None:
    hidden = [f"line {b.line}: ```{b.language}" for b in BLOCKS if b.language in OTHER_PYTHON_NAMES]
    assert not hidden, f"write ```python (tested) or ```bash/```console (not run): {hidden}"
    unlabelled = [f"line {b.line}" for b in BLOCKS if not b.language]
    assert not unlabelled, f"give every fenced block a language: {unlabelled}"


def test_every_snippet_states_its_wire(operation_index: OperationIndex) -> None:
    missing = [s.id for s in SNIPPETS if s.wire is None]
    assert not missing, f"add <!-- wire: ... --> above the snippets at {missing}"
    known = set(operation_index.operations)
    named = {op.removesuffix("+") for s in SNIPPETS for op in (s.wire or []) + (s.lakefs_wire or [])}
    named |= {op for s in SNIPPETS for op in s.prefer}
    unknown = sorted(named - known)
    assert not unknown, f"not operationIds of api/openapi.yaml: {unknown}"
    raises = [s.lakefs_raises for s in SNIPPETS if s.lakefs_raises is not None]
    not_exceptions = [n for n in raises if not isinstance(getattr(lakefs_sdk, n, None), type)]
    assert not not_exceptions, f"not exception classes of lakefs_sdk: {not_exceptions}"


def test_the_guide_starts_with_a_real_server() -> None:
    sections = [b.section for b in BLOCKS]
    assert sections and sections[0] == FIVE_MINUTES, "the first code of the guide is 'A real server in five minutes'"
    assert [b for b in BLOCKS if b.shell_run], "the five-minute section runs the examples (<!-- shell: run -->)"


def test_snippets_run_elsewhere_are_read_there() -> None:
    """A runs-in snippet names a test module that exists and reads the guide's runs-in directives."""
    elsewhere = [s for s in SNIPPETS if s.runs_in is not None]
    for snippet in elsewhere:
        module = ROOT / str(snippet.runs_in)
        assert module.is_file(), f"docs/guide.md:{snippet.line}: runs-in names {snippet.runs_in}, which does not exist"
        text = module.read_text(encoding="utf-8")
        assert "docs" in text and "guide.md" in text and "runs-in" in text, f"{snippet.runs_in} does not read the guide"
    assert [s.section for s in elsewhere] == ["spark"], "the Spark snippet runs in tests/integration/test_spark_s3.py"


def test_wire_patterns() -> None:
    assert wire_matches(["a", "a", "b"], ["a+", "b"]) and wire_matches(["a", "b"], ["a+", "b"])
    assert not wire_matches(["b"], ["a+", "b"]) and not wire_matches(["a", "b", "b"], ["a", "b"])
    assert wire_matches([], [])


# -- running the snippets ----------------------------------------------------------------------


@dataclass
class Target:
    """A server the snippets run against, as the snippets see it."""

    server: str  # "prism" or "lakefs"
    proxy: RecordingProxy
    repo: str = PLACEHOLDER_REPO
    access_key_id: str = ACCESS_KEY_ID
    secret_access_key: str = SECRET_ACCESS_KEY

    def adapt(self, code: str, url: str) -> str:
        """The snippet's code with the placeholders replaced by this target's values."""
        code = code.replace(PLACEHOLDER_HOST, url.removesuffix("/api/v1")).replace(PLACEHOLDER_REPO, self.repo)
        return code.replace(ACCESS_KEY_ID, self.access_key_id).replace(SECRET_ACCESS_KEY, self.secret_access_key)


# The folder the local lakeFS may import from, as scripts/test.sh exports it (None elsewhere).
_SERVER_IMPORT_DIR = os.environ.get("LAKEFS_IMPORT_DIR")


class GuideRun:
    """The shared namespace of the guide's snippets on one server, and how far they have run."""

    def __init__(self, workdir: Path, target: Target, module_name: str) -> None:
        self.workdir = workdir
        self.target = target
        self.module = types.ModuleType(module_name)
        self.module.__file__ = str(GUIDE)
        self.done = 0  # snippets run so far

    def runs(self, snippet: Snippet) -> bool:
        """Whether ``snippet`` is run on this run's server (its requirements installed)."""
        return (
            snippet.only in (None, self.target.server)
            and snippet.runs_in is None
            and missing_requirement(snippet) is None
        )

    def run(self, snippet: Snippet, monkeypatch: pytest.MonkeyPatch) -> List[Exchange]:
        """Execute ``snippet``; return the exchanges it caused."""
        target = self.target
        with ExitStack() as stack:
            url = target.proxy.url
            if snippet.prefer and target.server == "prism":
                assert isinstance(target.proxy, PrismProxy)
                url = stack.enter_context(ScriptedProxy(target.proxy, prefer=snippet.prefer)).url
            monkeypatch.setenv("LAKECTL_SERVER_ENDPOINT_URL", url)
            monkeypatch.setenv("LAKECTL_CREDENTIALS_ACCESS_KEY_ID", target.access_key_id)
            monkeypatch.setenv("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", target.secret_access_key)
            # The import snippets read the folder the local server may import from (scripts/test.sh
            # exports it); against Prism, which reads no file, a folder of the run's own does.
            server_folder = _SERVER_IMPORT_DIR if target.server == "lakefs" else None
            monkeypatch.setenv("LAKEFS_IMPORT_DIR", server_folder or str(self.workdir / "import"))
            # Leading newlines make tracebacks point at the guide's own line numbers.
            compiled = compile("\n" * (snippet.line - 1) + target.adapt(snippet.code, url), str(GUIDE), "exec")
            mark = target.proxy.mark()
            if target.server == "lakefs" and snippet.lakefs_raises:
                with pytest.raises(getattr(lakefs_sdk, snippet.lakefs_raises)):
                    exec(compiled, self.module.__dict__)
            else:
                exec(compiled, self.module.__dict__)
            return target.proxy.since(mark)

    def catch_up(self, index: int, monkeypatch: pytest.MonkeyPatch) -> None:
        """Run the snippets before ``index`` not run yet: they set up names later ones use."""
        for earlier in SNIPPETS[self.done : index]:
            if self.runs(earlier):
                self.run(earlier, monkeypatch)
        self.done = max(self.done, index)

    def close(self) -> None:
        for value in list(self.module.__dict__.values()):
            close = getattr(value, "close", None)
            if callable(close) and type(value).__name__ in ("ApiClient", "LakeFSClient"):
                close()


def missing_requirement(snippet: Snippet) -> Optional[str]:
    return next((name for name in snippet.requires if importlib.util.find_spec(name) is None), None)


def _guide_run(tmp_path_factory: pytest.TempPathFactory, target: Target, module_name: str) -> Iterator[GuideRun]:
    run = GuideRun(tmp_path_factory.mktemp(module_name), target, module_name)
    sys.modules[module_name] = run.module
    # Dask's workers cannot import this module: its functions must travel by value, as those
    # of a script or notebook do. Dask sends a task by value when its pickle names __main__
    # (hence the module's name), and cloudpickle when the module is registered.
    cloudpickle = sys.modules.get("cloudpickle") or (
        importlib.import_module("cloudpickle") if importlib.util.find_spec("cloudpickle") else None
    )
    if cloudpickle is not None:
        cloudpickle.register_pickle_by_value(run.module)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(run.workdir)
        patch.setenv("HOME", str(run.workdir))
        patch.delenv("LAKECTL_CONFIG_FILE", raising=False)
        try:
            yield run
        finally:
            run.close()
            if cloudpickle is not None:
                cloudpickle.unregister_pickle_by_value(run.module)
            sys.modules.pop(module_name, None)


@pytest.fixture(scope="module")
def guide(tmp_path_factory: pytest.TempPathFactory, _static_proxy: PrismProxy) -> Iterator[GuideRun]:
    yield from _guide_run(tmp_path_factory, Target("prism", _static_proxy), "__main__.guide_snippets")


@pytest.fixture(scope="module")
def lakefs_guide(
    tmp_path_factory: pytest.TempPathFactory, lakefs: LakeFS, lakefs_proxy: RecordingProxy
) -> Iterator[GuideRun]:
    """The guide on the real server, in a repository of its own that its first snippet creates."""
    target = Target("lakefs", lakefs_proxy, unique_name("guide"), lakefs.access_key_id, lakefs.secret_access_key)
    try:
        yield from _guide_run(tmp_path_factory, target, "__main__.guide_snippets_lakefs")
    finally:
        with LakeFSClient(lakefs.configuration()) as admin:
            delete_repository(admin, target.repo)


def _run_snippet(index: int, run: GuideRun, monkeypatch: pytest.MonkeyPatch) -> List[Exchange]:
    snippet = SNIPPETS[index]
    run.catch_up(index, monkeypatch)
    if snippet.only not in (None, run.target.server):
        run.done = index + 1
        pytest.skip(f"{snippet.only} only: {snippet.only_reason}")
    if snippet.runs_in is not None:
        run.done = index + 1
        pytest.skip(f"runs in {snippet.runs_in}: {snippet.runs_in_reason}")
    missing = missing_requirement(snippet)
    if missing is not None:
        run.done = index + 1
        pytest.skip(f"needs {missing}")
    try:
        exchanges = run.run(snippet, monkeypatch)
    finally:
        run.done = index + 1
    sent = [e.operation_id or f"<unknown {e.method} {e.target}>" for e in exchanges]
    expected = snippet.expected_wire(run.target.server)
    where = f"docs/guide.md:{snippet.line}: on {run.target.server}"
    assert wire_matches(sent, expected), f"{where}, the snippet sent {sent}, the guide says {expected}"
    return exchanges


@pytest.mark.parametrize("index", range(len(SNIPPETS)), ids=[s.id for s in SNIPPETS])
def test_snippet(index: int, guide: GuideRun, prism: PrismProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    exchanges = _run_snippet(index, guide, monkeypatch)
    # A snippet that Prism answered with an error and that still ran to its end has handled it.
    for operation_id, prefer in SNIPPETS[index].prefer.items():
        code = re.fullmatch(r"code=(\d+)", prefer)
        if code:
            statuses = {e.status for e in exchanges if e.operation_id == operation_id}
            assert statuses == {int(code.group(1))}, f"{operation_id} was answered with {statuses}, not {prefer}"


@pytest.mark.parametrize("index", range(len(SNIPPETS)), ids=[s.id for s in SNIPPETS])
def test_snippet_on_lakefs(index: int, lakefs_guide: GuideRun, monkeypatch: pytest.MonkeyPatch) -> None:
    _run_snippet(index, lakefs_guide, monkeypatch)


def test_the_guide_left_what_it_says_on_lakefs(
    lakefs_guide: GuideRun, lakefs_client: LakeFSClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After every snippet: the repository the first one created holds what the others wrote."""
    lakefs_guide.catch_up(len(SNIPPETS), monkeypatch)
    client = lakefs_client
    repo = lakefs_guide.target.repo
    repository = client.repositories_api.get_repository(repo)
    assert re.fullmatch(rf"local://{repo}-[0-9a-f]{{8}}", repository.storage_namespace), "the server's prefix, a suffix"
    objects = client.objects_api
    assert objects.get_object(repo, "main", "raw/events.csv") == (lakefs_guide.workdir / "events.csv").read_bytes()
    assert objects.get_object(repo, "main", "raw/totals.csv") == b"2025-01-01,100\n2025-01-02,200\n2025-01-03,300\n"
    assert (lakefs_guide.workdir / "events-copy.csv").read_bytes() == (lakefs_guide.workdir / "events.csv").read_bytes()
    assert (lakefs_guide.workdir / "events-again.csv").read_bytes() == (lakefs_guide.workdir / "events.csv").read_bytes()

    # Rolling back: the last snippet hard-reset "prices" to its first commit, and dropped what was staged.
    v1 = lakefs_guide.module.__dict__["v1"]
    assert client.branches_api.get_branch(repo, "prices").commit_id == v1.id
    assert objects.get_object(repo, "prices", "tables/prices.csv") == b"v1\n"
    assert client.branches_api.diff_branch(repo, "prices").results == []
    merged = client.refs_api.log_commits(repo, "prices-update", amount=2).results
    assert [c.message for c in merged] == ["Prices v5", "Prices v4"], "the reverted merge's commits stay on their branch"


# -- the five-minute section's shell commands ----------------------------------------------------


def _five_minute_shell() -> Block:
    (block,) = [b for b in BLOCKS if b.shell_run and b.section == FIVE_MINUTES]
    return block


def test_five_minutes_on_lakefs(
    lakefs: LakeFS, lakefs_client: LakeFSClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The section's snippet creates the repository, then its commands run every example in it."""
    repo = unique_name("five-minutes")
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(tmp_path),
        "LAKECTL_SERVER_ENDPOINT_URL": lakefs.endpoint + "/api/v1",
        "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": lakefs.access_key_id,
        "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": lakefs.secret_access_key,
        "LAKEFS_IMPORT_DIR": str(lakefs.import_dir / repo),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(ROOT / "examples")  # the commands run from a checkout's root

    def create_the_repository() -> None:
        for snippet in (s for s in SNIPPETS if s.section == FIVE_MINUTES):
            code = snippet.code.replace(PLACEHOLDER_REPO, repo)
            exec(compile("\n" * (snippet.line - 1) + code, str(GUIDE), "exec"), {"__name__": "five_minutes"})

    try:
        create_the_repository()
        block = _five_minute_shell()
        script = ["bash", "-euo", "pipefail", "-c", block.code.replace(PLACEHOLDER_REPO, repo)]
        result = subprocess.run(script, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
        assert result.returncode == 0, f"docs/guide.md:{block.line}:\n{result.stdout}\n{result.stderr}"
        check_five_minutes(lakefs_client, repo, result.stdout, tmp_path)

        # "can be run again": the same commands, in the same repository.
        again = subprocess.run(script, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
        assert again.returncode == 0, f"docs/guide.md:{block.line}, second run:\n{again.stdout}\n{again.stderr}"
        assert "nothing new" in again.stdout, "ingest.py found the same files on main"
        assert len(list(lakefs_client.tags_api.list_tags_iter(repo))) == 2

        # Deleted, the repository leaves its namespace in use; the snippet creates it again elsewhere.
        first = lakefs_client.repositories_api.get_repository(repo).storage_namespace
        delete_repository(lakefs_client, repo)
        wait_until_gone(lakefs_client, repo)
        create_the_repository()
        second = lakefs_client.repositories_api.get_repository(repo).storage_namespace
        assert second != first and re.fullmatch(rf"local://{repo}-[0-9a-f]{{8}}", second), (first, second)
        # And so does --create-repo, the other way the section gives, after its suggestion was used.
        for _ in range(2):
            delete_repository(lakefs_client, repo)
            wait_until_gone(lakefs_client, repo)
            ingest = ["python", "examples/ingest.py", repo, "landing", "--prefix", "raw/", "--create-repo"]
            created = subprocess.run(ingest, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
            assert created.returncode == 0, f"{created.stdout}\n{created.stderr}"
            assert f"created repository {repo} in local://{repo}" in created.stdout, created.stdout
            assert objects_on(lakefs_client, repo) == ["raw/events.csv"]
        assert "is in use" in created.stdout, "the second time, local://REPO had been used: a suffix was added"
    finally:
        delete_repository(lakefs_client, repo)


def wait_until_gone(client: LakeFSClient, repo: str) -> None:
    """Wait, as the guide says, until a deleted repository is no longer served from lakeFS's cache (5 s + jitter)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            client.repositories_api.get_repository(repo)
        except lakefs_sdk.NotFoundException:
            return
        time.sleep(0.5)
    pytest.fail(f"repository {repo} still answers 20 s after its deletion")


def objects_on(client: LakeFSClient, repo: str) -> List[str]:
    return [o.path for o in client.objects_api.list_objects_iter(repo, "main")]


def check_five_minutes(client: LakeFSClient, repo: str, out: str, workdir: Path) -> None:
    """What the section's commands must have left in ``repo``."""
    events = (workdir / "landing" / "events.csv").read_bytes()
    objects = client.objects_api
    namespace = client.repositories_api.get_repository(repo).storage_namespace
    assert re.fullmatch(rf"local://{repo}-[0-9a-f]{{8}}", namespace), namespace
    on_main = [o.path for o in objects.list_objects_iter(repo, "main")]
    # ingest, experiments' winner and ci_cd_hooks' merged files; the hook itself is gone again.
    assert "raw/events.csv" in on_main and "model/params.json" in on_main, on_main
    assert "tables/events/part-0001.csv" in on_main and "_lakefs_actions/check_merges.yaml" not in on_main
    assert objects.get_object(repo, "main", "raw/events.csv") == events
    tags = [t.id for t in client.tags_api.list_tags_iter(repo)]
    assert len(tags) == 1 and tags[0].startswith("pinned-"), tags
    (imported,) = [b.id for b in client.branches_api.list_branches_iter(repo) if b.id.startswith("import-")]
    assert objects.get_object(repo, imported, "imported/events.csv") == events
    for line in ("merged ingest-", "winner: exp-", "webhook: ", "pinned commit", "import done: 1 objects"):
        assert line in out, f"{line!r} not in the commands' output:\n{out}"
