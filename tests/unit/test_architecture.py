"""The package's structure: one neutral core, a sync shell and an asyncio shell that never imports it.

Read from the source with ``ast``, so a rule broken by any new import fails here, whatever
the tests exercise.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "lakefs_sdk"

# The sync shell: what no module of the asyncio shell, and no neutral module, may import.
SYNC_SHELL = ("lakefs_sdk.api_client", "lakefs_sdk.rest", "lakefs_sdk.transfer", "lakefs_sdk.pagination", "lakefs_sdk.api")


def _modules(folder: Path) -> List[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> Iterator[Tuple[int, str]]:
    """Every module ``path`` imports (TYPE_CHECKING blocks and function bodies included)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _is_sync_shell(name: str) -> bool:
    return any(name == shell or name.startswith(shell + ".") for shell in SYNC_SHELL)


def test_the_asyncio_shell_imports_nothing_of_the_sync_shell() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
        for path in _modules(PACKAGE / "aio")
        for line, name in _imports(path)
        if _is_sync_shell(name)
    ]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("path", sorted(p for p in PACKAGE.glob("_*.py") if p.name != "__init__.py"), ids=lambda p: p.name)
def test_neutral_modules_import_neither_shell(path: Path) -> None:
    found = [
        f"line {line} imports {name}"
        for line, name in _imports(path)
        if _is_sync_shell(name) or name == "lakefs_sdk.aio" or name.startswith("lakefs_sdk.aio.")
    ]
    assert found == [], f"{path.name} is neutral (no I/O) but " + "; ".join(found)
    top_level = {n.names[0].name.split(".")[0] for n in ast.parse(path.read_text()).body if isinstance(n, ast.Import)}
    top_level |= {
        n.module.split(".")[0] for n in ast.parse(path.read_text()).body if isinstance(n, ast.ImportFrom) and n.module
    }
    assert not top_level & {"aiohttp", "asyncio"}, f"{path.name} imports an asyncio library at import time"


def test_no_type_ignore_anywhere_in_the_package() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{number}"
        for path in _modules(PACKAGE)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "type: ignore" in line
    ]
    assert found == [], f"{len(found)} 'type: ignore' comments, first: {found[:5]}"


def test_every_module_of_the_s3_run_exists() -> None:
    """A module named in the S3 run's list but missing would fail that run only: check it here."""
    from support.store_modules import INTEGRATION, ROOT

    assert len(INTEGRATION) >= 10
    missing = [name for name in INTEGRATION if not (ROOT / name).is_file()]
    assert missing == [], missing
