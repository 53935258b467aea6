"""Fixtures and hooks of the contract suite.

* ``wire`` / ``static_wire``: what the current test sent through Prism (dynamic or static).
* ``unchecked_client`` / ``unchecked_wire``: static Prism without the violation check, for
  tests that send an invalid request on purpose and assert that Prism caught it.
* The coverage gate (test_coverage.py) runs after every other test of the session, and
  its result line (``contract coverage: N/134 operations``) is printed in the terminal
  summary. A partial run (``-k``, ``-m``, ``--deselect``, a single module or node id)
  is recorded here so that the gate skips instead of failing.
"""

from __future__ import annotations

from typing import Iterator, List

import pytest

import lakefs_sdk

from support.contract import CONTRACT_GATE, DYNAMIC, STATIC, Wire, basic_auth_configuration
from support.recording_proxy import PrismProxy


@pytest.fixture
def wire(request: pytest.FixtureRequest, prism_any: PrismProxy) -> Wire:
    """The exchanges of this test on the Prism the ``any_client`` of this test talks to."""
    mode = request.node.callspec.params["prism_any"]
    assert mode in (STATIC, DYNAMIC)
    return Wire(prism_any, mode, prism_any.mark())


@pytest.fixture
def static_wire(prism: PrismProxy) -> Wire:
    """The exchanges of this test on static Prism (the one ``client`` talks to)."""
    return Wire(prism, STATIC, prism.mark())


@pytest.fixture
def unchecked_wire(_static_proxy: PrismProxy) -> Wire:
    """Static Prism *without* the violation check of ``prism``: for tests that provoke one on purpose."""
    return Wire(_static_proxy, STATIC, _static_proxy.mark())


@pytest.fixture
def unchecked_client(unchecked_wire: Wire) -> Iterator[lakefs_sdk.ApiClient]:
    """An ApiClient on static Prism whose violations do not fail the test (see ``unchecked_wire``)."""
    with lakefs_sdk.ApiClient(basic_auth_configuration(unchecked_wire.proxy.url)) as client:
        yield client


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: List[pytest.Item]) -> None:
    CONTRACT_GATE.reorder(config, items)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    CONTRACT_GATE.summary(terminalreporter, config)
