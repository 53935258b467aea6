"""Coverage gates: a test module that runs after every other test of its suite and checks
what went over the wire during the session.

A suite (``tests/contract``, ``tests/integration``) makes one ``Gate`` for its folder and
calls it from its conftest hooks. The gate module is moved to the end of the run; a
partial run (``-k``, ``-m``, ``--deselect``, node ids, a subset of the modules) is
recorded so that the gate skips, visibly, instead of failing; and the gate's result line
is printed in the terminal summary under the gate's title.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

import pytest

_DESELECTED = pytest.StashKey[List[Path]]()


def count_deselected(items: List[pytest.Item]) -> None:
    """Call from ``pytest_deselected``: gates need to know that their suite runs only in part."""
    if items:
        config = items[0].config
        config.stash[_DESELECTED] = config.stash.get(_DESELECTED, []) + [item.path for item in items]


class Gate:
    """The coverage gate of the test suite in ``folder``, implemented in ``folder/module``.

    The suite is every ``test_*.py`` of ``folder``, or ``modules`` when given (a run of a
    chosen part of it, such as the store-dependent modules on S3, is then whole).
    """

    def __init__(
        self, folder: Path, title: str, module: str = "test_coverage.py", modules: Optional[Sequence[Path]] = None
    ) -> None:
        self.folder = folder
        self.module = folder / module
        self.title = title
        self.modules = list(modules) if modules is not None else None
        self.partial_key = pytest.StashKey[Optional[str]]()
        self.line_key = pytest.StashKey[str]()

    def reorder(self, config: pytest.Config, items: List[pytest.Item]) -> None:
        """Call from ``pytest_collection_modifyitems`` (trylast): run the gate last."""
        gate = [item for item in items if item.path == self.module]
        if not gate:
            return
        rest = [item for item in items if item.path != self.module]
        items[:] = rest + gate
        config.stash[self.partial_key] = self._partial_reason(config, items)

    def _partial_reason(self, config: pytest.Config, items: List[pytest.Item]) -> Optional[str]:
        deselected = [path for path in config.stash.get(_DESELECTED, []) if self.folder in path.parents]
        if deselected:
            return f"{len(deselected)} tests deselected"
        if any("::" in arg for arg in config.args):
            return "tests selected by node id"
        collected = {item.path for item in items}
        suite = self.modules if self.modules is not None else list(self.folder.glob("test_*.py"))
        missing = sorted(p.name for p in suite if p not in collected)
        if missing:
            return "modules not collected: " + ", ".join(missing)
        return None

    def partial(self, config: pytest.Config) -> Optional[str]:
        """Why this run is partial, or None when the whole suite runs."""
        return config.stash.get(self.partial_key, None)

    def record(self, config: pytest.Config, line: str) -> None:
        """Keep the gate's result line for the terminal summary."""
        config.stash[self.line_key] = line

    def summary(self, terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
        """Call from ``pytest_terminal_summary``."""
        line = config.stash.get(self.line_key, None)
        if line is not None:
            terminalreporter.write_sep("=", self.title)
            terminalreporter.write_line(line)
