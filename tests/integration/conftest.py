"""Fixtures and hooks of the integration suite: every test here runs against a real lakeFS.

The server, its recording proxy, ``lakefs_client`` and ``repo`` come from tests/conftest.py.
Here: ``wire`` (what the current test sent through the proxy), ``s3_store`` (the S3 store
under a server started with ``--store s3``, reached with its own keys) and the coverage gate
(test_coverage.py), which runs last and prints
``real-server coverage (local store): N/134 operations called, M answered with success``.
"""

from __future__ import annotations

from typing import List

import pytest

from support.lakefs import INTEGRATION_GATE, LakeFS, Wire
from support.recording_proxy import RecordingProxy
from support.s3_store import S3Store
from support.s3_store import from_environment as s3_from_environment


@pytest.fixture
def wire(lakefs_proxy: RecordingProxy) -> Wire:
    return Wire(lakefs_proxy)


@pytest.fixture(scope="session")
def s3_store(lakefs: LakeFS) -> S3Store:
    """The S3 store under the session's server; skips on the local store."""
    if lakefs.store != "s3":
        pytest.skip("needs lakeFS on an S3 store (LAKEFS_STORE=s3)")
    return s3_from_environment()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: List[pytest.Item]) -> None:
    INTEGRATION_GATE.reorder(config, items)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    INTEGRATION_GATE.summary(terminalreporter, config)
