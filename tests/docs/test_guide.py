"""Every ```python snippet of docs/guide.md, executed against static Prism.

How the snippets run:

* in the order of the guide, in one shared namespace (a module registered as
  ``guide_snippets``, so that functions a snippet defines can be pickled for a process
  pool), in an empty temporary working directory with ``HOME`` pointing there too;
* ``http://localhost:8000`` in a snippet is replaced by the mock server's address, and the
  ``LAKECTL_*`` variables name the mock server and the example credentials, so that both
  ``Configuration(host=...)`` and ``Configuration.from_env()`` reach Prism;
* HTML comments right above a snippet say what it must do:
  ``<!-- wire: op op ... -->`` (required) lists the operationIds it must send, in order
  (``none`` for no request); ``<!-- prism: operationId prefer -->`` makes Prism answer that
  operation as the ``Prefer`` header asks (e.g. ``code=404``), to take the snippet down its
  error path; ``<!-- requires: module -->`` skips the snippet when the module is missing.

One test per snippet; running a single one first runs the snippets before it. Prism
fails a test on any request that violates the API description.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

from support.recording_proxy import Exchange, PrismProxy
from support.routes import OperationIndex
from support.scripted_proxy import ScriptedProxy

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guide.md"
MODULE_NAME = "guide_snippets"
PLACEHOLDER_HOST = "http://localhost:8000"
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

FENCE = re.compile(r"^(`{3,}|~{3,})\s*([^\s`]*)")
HEADING = re.compile(r"^#{2,3}\s+(.*)")
DIRECTIVE = re.compile(r"^<!--\s*(\w+):\s*(.*?)\s*-->$")
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
    prefer: Dict[str, str] = field(default_factory=dict)
    requires: List[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.section}-{self.number}"


@dataclass
class Block:
    """Any fenced block: its language and where it starts."""

    language: str
    line: int


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
        blocks.append(Block(language, index + 1))
        if language == "python":
            number += 1
            snippet = Snippet(index + 2, "\n".join(lines[index + 1 : end]) + "\n", section, number)
            _read_directives(lines, index, snippet)
            snippets.append(snippet)
        index = end + 1
    return snippets, blocks


def _read_directives(lines: List[str], fence_index: int, snippet: Snippet) -> None:
    above = fence_index - 1
    while above >= 0 and (not lines[above].strip() or DIRECTIVE.match(lines[above].strip())):
        directive = DIRECTIVE.match(lines[above].strip())
        above -= 1
        if directive is None:
            continue
        name, value = directive.groups()
        if name == "wire":
            snippet.wire = [] if value == "none" else value.split()
        elif name == "prism":
            operation_id, _, prefer = value.partition(" ")
            snippet.prefer[operation_id] = prefer.strip()
        elif name == "requires":
            snippet.requires.extend(value.split())
        else:
            raise ValueError(f"{GUIDE.name}:{above + 2}: unknown directive {name!r}")


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
    named = {op for s in SNIPPETS for op in (s.wire or [])} | {op for s in SNIPPETS for op in s.prefer}
    unknown = sorted(named - known)
    assert not unknown, f"not operationIds of api/openapi.yaml: {unknown}"


# -- running the snippets ----------------------------------------------------------------------


class GuideRun:
    """The shared namespace of the guide's snippets, and how far they have run."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.module = types.ModuleType(MODULE_NAME)
        self.module.__file__ = str(GUIDE)
        self.done = 0  # snippets run so far

    def run(self, snippet: Snippet, prism: PrismProxy, monkeypatch: pytest.MonkeyPatch) -> List[Exchange]:
        """Execute ``snippet``; return the exchanges it caused."""
        with ExitStack() as stack:
            url = prism.url
            if snippet.prefer:
                url = stack.enter_context(ScriptedProxy(prism, prefer=snippet.prefer)).url
            monkeypatch.setenv("LAKECTL_SERVER_ENDPOINT_URL", url)
            monkeypatch.setenv("LAKECTL_CREDENTIALS_ACCESS_KEY_ID", ACCESS_KEY_ID)
            monkeypatch.setenv("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
            code = snippet.code.replace(PLACEHOLDER_HOST, url.removesuffix("/api/v1"))
            # Leading newlines make tracebacks point at the guide's own line numbers.
            compiled = compile("\n" * (snippet.line - 1) + code, str(GUIDE), "exec")
            mark = prism.mark()
            exec(compiled, self.module.__dict__)
            return prism.since(mark)

    def close(self) -> None:
        for value in list(self.module.__dict__.values()):
            close = getattr(value, "close", None)
            if callable(close) and type(value).__name__ in ("ApiClient", "LakeFSClient"):
                close()


def missing_requirement(snippet: Snippet) -> Optional[str]:
    return next((name for name in snippet.requires if importlib.util.find_spec(name) is None), None)


@pytest.fixture(scope="module")
def guide(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuideRun]:
    run = GuideRun(tmp_path_factory.mktemp("guide"))
    sys.modules[MODULE_NAME] = run.module
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(run.workdir)
        patch.setenv("HOME", str(run.workdir))
        patch.delenv("LAKECTL_CONFIG_FILE", raising=False)
        try:
            yield run
        finally:
            run.close()
            sys.modules.pop(MODULE_NAME, None)


@pytest.mark.parametrize("index", range(len(SNIPPETS)), ids=[s.id for s in SNIPPETS])
def test_snippet(index: int, guide: GuideRun, prism: PrismProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    snippet = SNIPPETS[index]
    # Catch up when this test runs alone: the snippets before it set up names it uses.
    for earlier in SNIPPETS[guide.done : index]:
        if missing_requirement(earlier) is None:
            guide.run(earlier, prism, monkeypatch)
    guide.done = max(guide.done, index)
    missing = missing_requirement(snippet)
    if missing is not None:
        guide.done = index + 1
        pytest.skip(f"needs {missing}")
    try:
        exchanges = guide.run(snippet, prism, monkeypatch)
    finally:
        guide.done = index + 1
    sent = [e.operation_id or f"<unknown {e.method} {e.target}>" for e in exchanges]
    assert sent == snippet.wire, f"docs/guide.md:{snippet.line}: the snippet sent {sent}, the guide says {snippet.wire}"
    # A snippet that Prism answered with an error and that still ran to its end has handled it.
    for operation_id, prefer in snippet.prefer.items():
        code = re.fullmatch(r"code=(\d+)", prefer)
        if code:
            statuses = {e.status for e in exchanges if e.operation_id == operation_id}
            assert statuses == {int(code.group(1))}, f"{operation_id} was answered with {statuses}, not {prefer}"
