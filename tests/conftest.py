"""Fixtures shared by all test suites.

Prism is started by scripts/test.sh (static responses at $PRISM_URL, dynamic ones at
$PRISM_DYNAMIC_URL). Tests reach it through a recording proxy (tests/support/recording_proxy.py)
that enforces the /api/v1 base path and records which operation each request addressed
and whether Prism saw a spec violation.

A real lakeFS server is started by scripts/test.sh too ($LAKEFS_ENDPOINT, see
tests/support/lakefs.py): ``lakefs`` describes it, ``lakefs_client`` talks to it through
a recording proxy, and ``repo`` is a fresh repository on it, deleted afterwards. When that
server's blockstore is S3 (``LAKEFS_STORE=s3``), ``s3_store`` reaches the store itself with its
own keys. Nothing here talks to any address but 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Callable, Iterator, List

import pytest

import lakefs_sdk

from support.gate import count_deselected
from support.lakefs import LakeFS, create_repository, delete_repository, from_environment
from support.recording_proxy import Exchange, PrismProxy, RecordingProxy
from support.routes import OperationIndex
from support.s3_store import S3Store
from support.s3_store import from_environment as s3_from_environment

INTEGRATION_DIR = Path(__file__).resolve().parent / "integration"
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    # Before any -m selection: a test on the real server is a `lakefs` test wherever it is.
    for item in items:
        if "lakefs" in getattr(item, "fixturenames", ()) or INTEGRATION_DIR in item.path.parents:
            item.add_marker(pytest.mark.lakefs)


def pytest_deselected(items: List[pytest.Item]) -> None:
    count_deselected(items)


@pytest.fixture(scope="session")
def operation_index() -> OperationIndex:
    return OperationIndex()


def _prism_url(variable: str) -> str:
    url = os.environ.get(variable)
    if not url:
        message = f"{variable} is not set: run scripts/test.sh, which starts Prism"
        if os.environ.get("LAKEFS_SDK_REQUIRE_PRISM") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def _static_proxy(operation_index: OperationIndex) -> Iterator[PrismProxy]:
    with PrismProxy(_prism_url("PRISM_URL"), operation_index) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def _dynamic_proxy(operation_index: OperationIndex) -> Iterator[PrismProxy]:
    with PrismProxy(_prism_url("PRISM_DYNAMIC_URL"), operation_index) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def all_exchanges(request: pytest.FixtureRequest) -> Callable[[], List[Exchange]]:
    """Every exchange any Prism proxy recorded so far in this session."""

    def collect() -> List[Exchange]:
        found: List[Exchange] = []
        for name in ("_static_proxy", "_dynamic_proxy"):
            if name in request.session._fixturemanager._arg2fixturedefs:
                try:
                    proxy = request.getfixturevalue(name)
                except pytest.skip.Exception:
                    continue
                found.extend(proxy.exchanges)
        return found

    return collect


@pytest.fixture
def prism(_static_proxy: PrismProxy) -> Iterator[PrismProxy]:
    """Prism with static responses; the test fails if Prism reports a spec violation."""
    yield from _checked(_static_proxy)


@pytest.fixture(params=["static", "dynamic"])
def prism_any(request: pytest.FixtureRequest) -> Iterator[PrismProxy]:
    """Prism in static, then in dynamic (schema-generated data, fixed seed) mode."""
    proxy: PrismProxy = request.getfixturevalue("_static_proxy" if request.param == "static" else "_dynamic_proxy")
    yield from _checked(proxy)


def _checked(proxy: PrismProxy) -> Iterator[PrismProxy]:
    mark = proxy.mark()
    yield proxy
    problems = [
        f"{e.method} {e.target} -> {e.status}: {e.violations or 'request rejected'}"
        for e in proxy.since(mark)
        if e.violations or e.status == 422
    ]
    assert not problems, "Prism reported spec violations:\n" + "\n".join(problems)


@pytest.fixture
def client(prism: PrismProxy) -> Iterator[lakefs_sdk.ApiClient]:
    """An ApiClient with basic auth pointed at static Prism."""
    with lakefs_sdk.ApiClient(make_configuration(prism.url)) as api_client:
        yield api_client


@pytest.fixture
def any_client(prism_any: PrismProxy) -> Iterator[lakefs_sdk.ApiClient]:
    """An ApiClient pointed at Prism, once per mode (static and dynamic)."""
    with lakefs_sdk.ApiClient(make_configuration(prism_any.url)) as api_client:
        yield api_client


def make_configuration(host: str, **kwargs: object) -> lakefs_sdk.Configuration:
    """Basic-auth configuration with fast retries, for tests."""
    configuration = lakefs_sdk.Configuration(host=host, username=ACCESS_KEY_ID, password=SECRET_ACCESS_KEY, **kwargs)  # type: ignore[arg-type]
    configuration.retry_backoff = 0.01
    return configuration


# -- the real lakeFS server ---------------------------------------------------------------


@pytest.fixture(scope="session")
def lakefs() -> LakeFS:
    """The real lakeFS server of this run (skips when there is none, fails when one is required)."""
    return from_environment()


@pytest.fixture(scope="session")
def lakefs_proxy(lakefs: LakeFS, operation_index: OperationIndex) -> Iterator[RecordingProxy]:
    """The recording proxy in front of the real server; every exchange through it is kept."""
    with RecordingProxy(lakefs.endpoint, operation_index) as proxy:
        yield proxy


@pytest.fixture
def lakefs_client(lakefs: LakeFS, lakefs_proxy: RecordingProxy) -> Iterator[lakefs_sdk.LakeFSClient]:
    """A client of the real server (admin, basic auth), through the recording proxy."""
    with lakefs_sdk.LakeFSClient(lakefs.configuration(lakefs_proxy.url)) as client:
        yield client


@pytest.fixture
def direct_lakefs_client(lakefs: LakeFS) -> Iterator[lakefs_sdk.LakeFSClient]:
    """A client of the real server without the proxy: for streams too big to buffer."""
    with lakefs_sdk.LakeFSClient(lakefs.configuration()) as client:
        yield client


@pytest.fixture
def repo(request: pytest.FixtureRequest, lakefs_client: lakefs_sdk.LakeFSClient) -> Iterator[str]:
    """A fresh repository on the real server (branch ``main``, on its store: LAKEFS_NAMESPACE_BASE), deleted afterwards."""
    name = create_repository(lakefs_client, request.node.name)
    yield name
    delete_repository(lakefs_client, name)


@pytest.fixture(scope="session")
def s3_store(lakefs: LakeFS) -> S3Store:
    """The S3 store under the session's server, reached with its own keys; skips on the local store."""
    if lakefs.store != "s3":
        pytest.skip("needs lakeFS on an S3 store (LAKEFS_STORE=s3)")
    return s3_from_environment()


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    """Python's own SIGINT handler for the test, so ``_thread.interrupt_main()`` raises KeyboardInterrupt.

    A process started in the background by a shell without job control (the per-Python matrix
    runs pytest so) inherits SIGINT ignored, and then ``interrupt_main()`` does nothing.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
