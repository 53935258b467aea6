"""The README's quickstart runs as written against static Prism."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.recording_proxy import PrismProxy

README = Path(__file__).resolve().parents[2] / "README.md"
QUICKSTART_OPERATIONS = [
    "createRepository",
    "createBranch",
    "uploadObject",
    "commit",
    "mergeIntoBranch",
    "resetBranch",
]


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_quickstart_sends_what_it_says(prism: PrismProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) == 1, "one quickstart block; add a test for any new one"
    code = blocks[0]
    assert "http://localhost:8000/api/v1" in code
    monkeypatch.chdir(tmp_path)
    (tmp_path / "events.parquet").write_bytes(b"PAR1" + bytes(range(256)) * 64 + b"PAR1")
    mark = prism.mark()

    exec(compile(code.replace("http://localhost:8000/api/v1", prism.url), str(README), "exec"), {"__name__": "readme"})

    sent = prism.since(mark)
    assert [e.operation_id for e in sent] == QUICKSTART_OPERATIONS
    upload = sent[2].request
    assert upload.header("Content-Type").startswith("multipart/form-data")  # type: ignore[union-attr]
    assert (tmp_path / "events.parquet").read_bytes() in upload.body, "the file's bytes went out"
