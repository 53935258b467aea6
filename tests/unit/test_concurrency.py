"""One ApiClient shared by many threads: every call succeeds, connections are reused and bounded."""

from __future__ import annotations

import threading
from typing import Iterator, List

import pytest

from lakefs_sdk import ApiClient, BranchesApi, Configuration

from support.loopback import LoopbackServer, Reply

THREADS = 16
CALLS = 200


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    def handler(request: object) -> Reply:
        branch = server_ref.requests[-1].path.rsplit("/", 1)[1]
        return Reply(200, f'{{"id": "{branch}", "commit_id": "c"}}')

    with LoopbackServer(handler) as srv:
        server_ref = srv
        yield srv


@pytest.mark.timeout(120)
def test_many_threads_share_one_client(server: LoopbackServer) -> None:
    config = Configuration(host=server.url + "/api/v1", username="a", password="b")
    config.connection_pool_maxsize = THREADS
    errors: List[BaseException] = []
    mismatches: List[str] = []
    start = threading.Barrier(THREADS)

    with ApiClient(config) as client:
        api = BranchesApi(client)

        def work(thread: int) -> None:
            start.wait()
            for call in range(CALLS):
                branch = f"t{thread}-c{call}"
                try:
                    ref = api.get_branch("repo", branch)
                except BaseException as error:
                    errors.append(error)
                    return
                if ref.id != branch:
                    mismatches.append(f"{branch} -> {ref.id}")

        threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert not errors, errors[:3]
    assert not mismatches, "responses never cross between threads: " + ", ".join(mismatches[:3])
    assert len(server.requests) == THREADS * CALLS
    assert server.connections <= THREADS, f"{server.connections} connections for {THREADS} threads: pool not bounded"


def test_async_req_runs_in_the_client_pool(server: LoopbackServer) -> None:
    config = Configuration(host=server.url + "/api/v1", username="a", password="b")
    with ApiClient(config, pool_threads=4) as client:
        api = BranchesApi(client)
        handles = [api.get_branch("repo", f"b{i}", async_req=True) for i in range(20)]
        results = [h.get(timeout=10) for h in handles]
        assert all(h.ready() and h.successful() for h in handles)
    assert [r.id for r in results] == [f"b{i}" for i in range(20)]
