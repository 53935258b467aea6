"""Static types: a spec enum is a ``Literal`` that mypy checks, in models and in API method parameters.

API methods return their operation's type (sync and asyncio; ``_iter`` yields the page's items).

So are the values lakeFS checks where its spec lists none (the merge strategy, an ACL's
permission; ``""``, which lakeFS takes as no strategy, is accepted at run time but not
typed: ``None`` says it), and the values a real server sends besides the spec's enum
(``HookRun.status`` may be ``"skipped"``, so comparing with it is no error).

mypy runs in a subprocess on a small user script in ``tmp_path``, with this checkout on
``MYPYPATH`` so that ``lakefs_sdk`` is analysed from source (errors inside the package are
silenced: only the user script is judged). Each line of the script that mypy must refuse
ends with ``# refused`` (a wrong enum string) or ``# wrong type`` (a result used as what it is
not); every other line must pass.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

ROOT = Path(__file__).resolve().parents[2]

USER_SCRIPT = '''\
from lakefs_sdk import ACL, Diff, HookRun, InternalApi, LoginConfig, Merge, ObjectStats, PullRequest, PullsApi, RefsApi, ResetCreation
from lakefs_sdk import BranchesApi, Ref, aio
from lakefs_sdk.api_response import ApiResponse

ResetCreation(type="everything")  # refused
ResetCreation(type="common_prefix", path="data/")
ResetCreation(type="reset")
LoginConfig(RBAC="root", login_url="u", login_cookie_names=[], logout_url="o")  # refused
LoginConfig(RBAC="simplified", login_url="u", login_cookie_names=[], logout_url="o")
kind: str = "object"
ResetCreation(type=kind)  # refused


def read(diff: Diff, stats: ObjectStats, pull: PullRequest) -> str:
    if diff.type == "prefix_changed" and stats.path_type == "common_prefix":
        return pull.description
    if diff.path_type == "folder":  # refused
        return ""
    return pull.status


Merge(strategy="dest-wins")
Merge(strategy="source-wins", squash_merge=True)
Merge(strategy=None)
Merge(strategy="theirs")  # refused
Merge(strategy="")  # refused
ACL(permission="Write")
ACL(permission="Owner")  # refused


def skipped(hook: HookRun) -> bool:
    return hook.status == "skipped" or hook.status == "failed"


def unknown(hook: HookRun) -> bool:
    return hook.status == "pending"  # refused


def calls(refs: RefsApi, pulls: PullsApi, internal: InternalApi, aio_refs: aio.RefsApi) -> None:
    refs.diff_refs("repo", "main", "dev", type="three_dot")
    refs.diff_refs("repo", "main", "dev", type="3dot")  # refused
    refs.diff_refs_iter("repo", "main", "dev", type="two_dot")
    pulls.list_pull_requests("repo", status="closed")
    pulls.list_pull_requests("repo", status="merged")  # refused
    internal.get_metadata_object("repo", "id", "range")
    internal.get_metadata_object("repo", "id", "sstable")  # refused


async def async_calls(aio_refs: aio.RefsApi) -> None:
    await aio_refs.diff_refs("repo", "main", "dev", type="two_dot")
    await aio_refs.diff_refs("repo", "main", "dev", type="two-dot")  # refused


def results(branches: BranchesApi) -> None:
    ref: Ref = branches.get_branch("repo", "main")
    count: int = branches.get_branch("repo", "main")  # wrong type
    info: ApiResponse[Ref] = branches.get_branch_with_http_info("repo", "main")
    other: ApiResponse[int] = branches.get_branch_with_http_info("repo", "main")  # wrong type
    for item in branches.list_branches_iter("repo"):
        ref = item
        number: int = item.id  # wrong type


async def async_results(aio_branches: aio.BranchesApi) -> None:
    ref: Ref = await aio_branches.get_branch("repo", "main")
    count: int = await aio_branches.get_branch("repo", "main")  # wrong type
    async for item in aio_branches.list_branches_iter("repo"):
        ref = item
        number: int = item.commit_id  # wrong type
'''


def _run_mypy(script: Path) -> Dict[int, List[str]]:
    """mypy's errors in ``script``, by line number."""
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-error-summary", "--show-error-codes",
         "--cache-dir", str(script.parent / ".mypy_cache"), "--python-executable", sys.executable, script.name],
        cwd=script.parent, env=env, capture_output=True, text=True, check=False, timeout=600,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    errors: Dict[int, List[str]] = {}
    for line in result.stdout.splitlines():
        match = re.match(rf"{re.escape(script.name)}:(\d+): error: (.*)", line)
        if match:
            errors.setdefault(int(match.group(1)), []).append(match.group(2))
    return errors


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> Dict[int, List[str]]:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (the lint extra)")
    script = tmp_path_factory.mktemp("typing") / "user_script.py"
    script.write_text(USER_SCRIPT, encoding="utf-8")
    return _run_mypy(script)


def _lines(refused: bool, marker: str = "# refused") -> List[int]:
    """Numbers of the lines marked ``marker`` (or, with ``refused=False``, of the unmarked lines)."""
    return [number for number, line in enumerate(USER_SCRIPT.splitlines(), 1)
            if line.strip() and (line.endswith(marker) if refused else not line.endswith(("# refused", "# wrong type")))]


def test_mypy_refuses_each_wrong_enum_string(mypy_errors: Dict[int, List[str]]) -> None:
    source = USER_SCRIPT.splitlines()
    missing = [f"{number}: {source[number - 1].strip()}" for number in _lines(refused=True) if number not in mypy_errors]
    assert not missing, "mypy accepted:\n" + "\n".join(missing)
    for number in _lines(refused=True):
        assert any("Literal[" in message for message in mypy_errors[number]), mypy_errors[number]


def test_mypy_accepts_the_allowed_strings(mypy_errors: Dict[int, List[str]]) -> None:
    unexpected = {number: mypy_errors[number] for number in _lines(refused=False) if number in mypy_errors}
    assert not unexpected, unexpected


def test_mypy_knows_what_each_api_method_returns(mypy_errors: Dict[int, List[str]]) -> None:
    lines = _lines(refused=True, marker="# wrong type")
    assert len(lines) == 5
    for number in lines:
        assert any("Incompatible types in assignment" in message for message in mypy_errors.get(number, [])), (
            number, mypy_errors.get(number))
