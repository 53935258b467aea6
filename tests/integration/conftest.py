"""Fixtures and hooks of the integration suite: every test here runs against a real lakeFS.

The server, its recording proxy, ``lakefs_client`` and ``repo`` come from tests/conftest.py.
Here: ``wire`` (what the current test sent through the proxy) and the coverage gate
(test_coverage.py), which runs last and prints
``real-server coverage (local store): N/134 operations called, M answered with success``.
"""

from __future__ import annotations

from typing import List

import pytest

from support.lakefs import INTEGRATION_GATE, Wire
from support.recording_proxy import RecordingProxy


@pytest.fixture
def wire(lakefs_proxy: RecordingProxy) -> Wire:
    return Wire(lakefs_proxy)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: List[pytest.Item]) -> None:
    INTEGRATION_GATE.reorder(config, items)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    INTEGRATION_GATE.summary(terminalreporter, config)
