"""A real lakeFS that cannot answer: stopped (connections refused) or frozen (SIGSTOP: the
kernel still accepts connections, nothing answers). Both clients.

What must hold: the error names the call and its identifying arguments, as an error status
does, and a timeout is reported as given; a total ``_request_timeout=T`` bounds the whole
call, however patient the retry settings; a ``(connect, read)`` pair limits each attempt.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Tuple

import pytest

import lakefs_sdk
from lakefs_sdk.aio import AsyncApiClient
from lakefs_sdk.aio import BranchesApi as AsyncBranchesApi

from support.lakefs import LakeFS, create_repository
from support.private_lakefs import PrivateLakeFS, private_lakefs

# Retries that would outlast any of these tests: waits of 0.05 s doubling to 0.25 s.
PATIENT = {"max_retries": 40, "retry_backoff": 0.05, "retry_backoff_max": 0.25}


@pytest.fixture
def private(lakefs: LakeFS, tmp_path: Path) -> Iterator[PrivateLakeFS]:
    with private_lakefs(lakefs, tmp_path / "lakefs") as server:
        yield server


@pytest.fixture
def repo(private: PrivateLakeFS) -> str:
    with private.client() as client:
        return create_repository(client, "unanswered")


@contextmanager
def frozen(private: PrivateLakeFS) -> Iterator[None]:
    """The server stopped in its tracks (SIGSTOP), resumed afterwards whatever happens."""
    process = private.server.process
    assert process is not None and process.poll() is None
    os.kill(process.pid, signal.SIGSTOP)
    try:
        wait_stopped(process.pid)
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def wait_stopped(pid: int, timeout: float = 10.0) -> None:
    """Wait until every thread of ``pid`` is stopped: a signal takes effect on each thread
    when it next runs, and on a busy machine a thread may answer a request before that."""
    deadline = time.monotonic() + timeout
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.is_dir():
        pytest.skip("no /proc here: cannot tell when the server has stopped")
    while time.monotonic() < deadline:
        states = []
        for task in tasks.iterdir():
            try:
                states.append((task / "stat").read_text().rsplit(")", 1)[1].split()[0])
            except (OSError, IndexError):
                continue  # a thread that just ended
        if states and all(state in ("T", "t") for state in states):
            return
        time.sleep(0.01)
    pytest.fail(f"lakeFS (pid {pid}) did not stop within {timeout:.0f} s of SIGSTOP")


def sync_get(configuration: lakefs_sdk.Configuration, repo: str, **options: Any) -> Tuple[Any, float]:
    start = time.monotonic()
    try:
        with lakefs_sdk.ApiClient(configuration) as client:
            result: Any = lakefs_sdk.BranchesApi(client).get_branch(repo, "main", **options)
    except lakefs_sdk.ApiException as error:
        result = error
    return result, time.monotonic() - start


def async_get(configuration: lakefs_sdk.Configuration, repo: str, **options: Any) -> Tuple[Any, float]:
    async def main() -> Any:
        async with AsyncApiClient(configuration) as client:
            return await AsyncBranchesApi(client).get_branch(repo, "main", **options)

    start = time.monotonic()
    try:
        result: Any = asyncio.run(main())
    except lakefs_sdk.ApiException as error:
        result = error
    return result, time.monotonic() - start


Get = Callable[..., Tuple[Any, float]]


@pytest.fixture(params=["sync", "async"])
def get(request: pytest.FixtureRequest) -> Get:
    return sync_get if request.param == "sync" else async_get


def test_a_stopped_server_names_the_call_and_the_total_bounds_the_retries(
    get: Get, private: PrivateLakeFS, repo: str
) -> None:
    private.server.stop()
    error, elapsed = get(private.configuration(**PATIENT), repo, _request_timeout=1.0)
    assert type(error) is lakefs_sdk.ApiConnectionError
    assert error.operation == "getBranch" and error.arguments == {"repository": repo, "branch": "main"}
    text = str(error)
    assert text.startswith(f"get_branch(repository={repo!r}, branch='main') failed: no response: GET ")
    assert f"127.0.0.1:{private.port}/api/v1/repositories/{repo}/branches/main: connection failed" in text
    assert "Connection refused" in text and "ssl:default" not in text
    assert 0.5 <= elapsed < 1.6, f"retried for {elapsed:.2f} s within a 1 s total"


def test_a_frozen_server_times_out_once_within_the_total(get: Get, private: PrivateLakeFS, repo: str) -> None:
    with frozen(private):
        error, elapsed = get(private.configuration(**PATIENT), repo, _request_timeout=0.8)
    assert type(error) is lakefs_sdk.ApiTimeoutError
    assert error.api_method == "get_branch" and error.arguments == {"repository": repo, "branch": "main"}
    assert "timed out (the call's total timeout of 0.8 s ran out, retries included)" in str(error)
    assert 0.7 <= elapsed < 1.4, elapsed


def test_a_frozen_server_with_a_pair_times_out_on_each_attempt(get: Get, private: PrivateLakeFS, repo: str) -> None:
    configuration = private.configuration(max_retries=1, retry_backoff=0.05)
    with frozen(private):
        error, elapsed = get(configuration, repo, _request_timeout=(5, 0.4))
    assert type(error) is lakefs_sdk.ApiTimeoutError
    assert "no data within the read timeout of 0.4 s" in str(error)
    assert 0.8 <= elapsed < 2.0, "two attempts, each with the whole read timeout"


def test_the_server_answers_again_once_resumed(private: PrivateLakeFS, repo: str) -> None:
    with frozen(private):
        error, _ = sync_get(private.configuration(max_retries=0), repo, _request_timeout=0.3)
    assert isinstance(error, lakefs_sdk.ApiTimeoutError)
    ref, _ = sync_get(private.configuration(), repo, _request_timeout=5)
    assert isinstance(ref, lakefs_sdk.Ref) and ref.id == "main"
