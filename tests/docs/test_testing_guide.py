"""docs/testing.md ("Testing your code") runs as written: its files are a user's project.

Every ```python block of the page is a file, named by an HTML comment right above it
(``<!-- file: ingest.py -->``). The test writes them into an empty folder and runs pytest
there in a subprocess, the lakeFS plugin loaded by its entry point, as a user would.
With ``LAKEFS_BIN`` (exported by ``scripts/test.sh``) every test must pass; without it,
the tests needing a real server must be skipped and all others pass.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict

import pytest

pytest_plugins = ["pytester"]

PAGE = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
BLOCK = re.compile(r"(?:<!-- file: (?P<name>[\w.]+) -->\n)?```python\n(?P<code>.*?)\n```", re.DOTALL)
# Tests of the page that need a real lakeFS (they skip without a binary).
ON_LAKEFS = {"test_ingest_lakefs.py", "test_own_server.py"}


def page_files() -> Dict[str, str]:
    files: Dict[str, str] = {}
    for match in BLOCK.finditer(PAGE.read_text(encoding="utf-8")):
        name = match.group("name")
        assert name, f"a python block of {PAGE.name} names no file:\n{match.group('code')[:200]}"
        assert name not in files, f"{name} appears twice in {PAGE.name}"
        files[name] = match.group("code") + "\n"
    return files


def count_tests(code: str) -> int:
    return len(re.findall(r"^def test_", code, re.MULTILINE))


def test_every_python_block_is_a_named_file() -> None:
    files = page_files()
    assert "ingest.py" in files and ON_LAKEFS <= set(files)
    assert sum(count_tests(code) for code in files.values()) >= 6


def test_the_page_runs_as_a_users_test_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    files = page_files()
    for name, code in files.items():
        (pytester.path / name).write_text(code, encoding="utf-8")
    real = sum(count_tests(code) for name, code in files.items() if name in ON_LAKEFS)
    mocked = sum(count_tests(code) for name, code in files.items() if name not in ON_LAKEFS)
    if os.environ.get("LAKEFS_BIN"):
        expected = {"passed": mocked + real}
    else:
        monkeypatch.setenv("PATH", str(pytester.mkdir("empty-path")))  # no `lakefs` found there either
        expected = {"passed": mocked, "skipped": real}
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(**expected)
