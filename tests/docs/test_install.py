"""The README's install commands, run as written: a wheel built from this checkout, installed in a fresh venv.

The commands are read from the README's Installation section, so that the page and this
test cannot drift apart. ``python`` and ``pip`` in them become this interpreter and the
new venv's pip; the build runs in a copy of the checkout (its ``build/`` and ``dist/``
land there, not in the worktree). pip fetches setuptools, for the build, and the
package's dependencies from the package index, as it would for a user: the test takes
about a minute, most of it for the venv and the dependencies.

The install is the same on every Python, so the per-version matrix of
``scripts/test-matrix.sh`` (``MATRIX_INNER=1``) skips it; ``-m "not install"`` skips it
too.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "guide.md"
DATAFRAMES = ROOT / "docs" / "dataframes.md"
PYPROJECT = ROOT / "pyproject.toml"


def section(text: str, heading: str) -> str:
    """The text under ``heading`` (a ``##`` or ``###`` line), up to the next heading of any level."""
    match = re.search(rf"^#{{2,3}} {re.escape(heading)}\n(.*?)(?=^#{{1,3}} |\Z)", text, flags=re.S | re.M)
    assert match is not None, f"no '{heading}' section"
    return match.group(1)


def fenced(text: str, language: str) -> List[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def commands(block: str) -> List[str]:
    """The command lines of a shell block, without comments."""
    lines = (line.split(" #", 1)[0].strip() for line in block.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def readme_install_commands() -> List[str]:
    (block, *_) = fenced(section(README.read_text(encoding="utf-8"), "Installation"), "sh")
    return commands(block)


def project_version() -> str:
    match = re.search(r'^version = "([^"]+)"$', PYPROJECT.read_text(encoding="utf-8"), flags=re.M)
    assert match is not None, "no version in pyproject.toml"
    return match.group(1)


def wheel_name() -> str:
    return f"lakefs_sdk-{project_version()}-py3-none-any.whl"


# -- what the pages say ------------------------------------------------------------------------


def test_the_readme_installs_a_wheel_of_this_version() -> None:
    build, install = readme_install_commands()
    assert shlex.split(build) == ["python", "-m", "pip", "wheel", "--no-deps", "-w", "dist", "."]
    (target,) = shlex.split(install)[2:]
    assert shlex.split(install)[:2] == ["pip", "install"]
    assert target == f"dist/{wheel_name()}[aio,progress]", "the wheel's name follows pyproject.toml's version"


def test_the_readme_warns_that_an_index_brings_upstream() -> None:
    install = " ".join(section(README.read_text(encoding="utf-8"), "Installation").split())
    assert "`pip install lakefs-sdk` from a package index installs the upstream package" in install
    # The pins are direct references: a bare version would let pip take upstream's.
    (pins,) = fenced(section(README.read_text(encoding="utf-8"), "Installation"), "text")
    for line in pins.splitlines():
        assert re.fullmatch(r"lakefs-sdk\[aio\] @ (file|git\+https)://\S+", line), line
    assert f"file:///opt/wheels/{wheel_name()}" in pins


def test_the_other_pages_install_the_same_way() -> None:
    build, install = readme_install_commands()
    guide_install = section(GUIDE.read_text(encoding="utf-8"), "Installation")
    guide_commands = [c for block in fenced(guide_install, "bash") for c in commands(block)]
    assert guide_commands[:2] == [build, install], "the guide's Installation repeats the README's commands"
    assert "`pip install lakefs-sdk`" in " ".join(guide_install.split())
    dataframes = DATAFRAMES.read_text(encoding="utf-8")
    for page, text in (("docs/guide.md", GUIDE.read_text(encoding="utf-8")), ("docs/dataframes.md", dataframes)):
        # A bare "pip install lakefs-sdk" line installs upstream: none may tell the reader to run one.
        bare = re.findall(r"^\s*pip install [\"']?lakefs-sdk\b.*$", text, flags=re.M)
        assert not bare, f"{page} tells the reader to install lakefs-sdk from an index: {bare}"


# -- the install itself ------------------------------------------------------------------------


def run(argv: List[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{shlex.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.install
@pytest.mark.timeout(900)
@pytest.mark.skipif(os.environ.get("MATRIX_INNER") == "1", reason="the same on every Python: the main run does it")
def test_the_readme_install_in_a_fresh_venv(tmp_path: Path) -> None:
    build, install = (shlex.split(command) for command in readme_install_commands())
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    # A copy of what a checkout builds from, so that the build leaves nothing in the worktree.
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, checkout / name)
    shutil.copytree(ROOT / "lakefs_sdk", checkout / "lakefs_sdk", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))

    assert build[0] == "python"
    run([sys.executable, *build[1:]], checkout, env)
    built = sorted(p.name for p in (checkout / "dist").iterdir())
    assert built == [wheel_name()], f"the build made {built}, the README installs {wheel_name()}"

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    python = venv / "bin" / "python"
    assert install[:2] == ["pip", "install"]
    run([str(python), "-m", "pip", *install[1:]], checkout, env)

    # From an empty folder, so that nothing but the venv can provide lakefs_sdk.
    probe = tmp_path / "elsewhere"
    probe.mkdir()
    report = run([str(python), "-c", (
        "import importlib.metadata as m, json, lakefs_sdk, lakefs_sdk.aio, tqdm\n"
        "from lakefs_sdk.aio import AsyncApiClient\n"
        "from lakefs_sdk.transfer import tqdm_progress\n"
        "print(json.dumps({'file': lakefs_sdk.__file__, 'aio': lakefs_sdk.aio.__file__,\n"
        "                  'version': m.version('lakefs-sdk'), 'aiohttp': m.version('aiohttp')}))"
    )], probe, env)
    found = json.loads(report.strip().splitlines()[-1])
    assert Path(found["file"]).resolve().is_relative_to(venv.resolve()), found
    assert Path(found["aio"]).resolve().is_relative_to(venv.resolve()), found
    assert found["version"] == project_version()
    assert found["aiohttp"].startswith("3."), "the aio extra brought aiohttp 3"

    # A user's own test, outside the repository, with the installed package's pytest plugin
    # and a real lakeFS binary (LAKEFS_BIN, as scripts/test.sh exports it).
    binary = os.environ.get("LAKEFS_BIN")
    if not binary:
        if os.environ.get("LAKEFS_SDK_REQUIRE_LAKEFS") == "1":
            pytest.fail("LAKEFS_BIN is not set, but scripts/test.sh runs this with a lakeFS binary")
        pytest.skip("LAKEFS_BIN is not set: run scripts/test.sh, which builds lakeFS")
    run([str(python), "-m", "pip", "install", "--quiet", "pytest"], probe, env)
    (probe / "test_my_branches.py").write_text(USER_TEST, encoding="utf-8")
    outcome = run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], probe, {**env, "LAKEFS_BIN": binary})
    assert "2 passed" in outcome, outcome


USER_TEST = """\
import lakefs_sdk
from lakefs_sdk import BranchCreation, BranchesApi, ObjectsApi


def test_a_branch_of_my_own(lakefs_client, lakefs_repository):
    branches = BranchesApi(lakefs_client)
    branches.create_branch(lakefs_repository.id, BranchCreation(name="experiment", source="main"))
    assert "experiment" in [b.id for b in branches.list_branches(lakefs_repository.id).results]


def test_what_i_upload_comes_back(lakefs_client, lakefs_repository):
    objects = ObjectsApi(lakefs_client)
    objects.upload_object(lakefs_repository.id, "main", "data/a.csv", content=b"id,value")
    assert objects.get_object(lakefs_repository.id, "main", "data/a.csv") == b"id,value"
    assert "site-packages" in lakefs_sdk.__file__, "the package installed from the wheel"
"""
