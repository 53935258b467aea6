"""An ``ApiClient`` used on both sides of ``os.fork()`` with no step of the user's.

The parent holds pooled connections when it forks. The child's calls must go out on
connections of its own (the loopback server tells connections apart), the parent's keep
using the parent's, and neither side's calls fail or get the other's answers. The
``async_req`` thread pool, whose threads do not survive a fork, must work in the child too.
"""

from __future__ import annotations

import os
import signal
import threading
import urllib.parse
from collections import defaultdict
from typing import Any, Dict, Iterator, List, Set

import pytest

from lakefs_sdk import ApiClient, BranchesApi, Configuration

from support.loopback import LoopbackServer, Reply

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
    # The loopback server runs in threads of this process; the child uses none of them.
    pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning"),
]

CALLS = 20


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    def reply(request: Any) -> Reply:
        branch = urllib.parse.unquote(request.path.rsplit("/", 1)[1])
        return Reply(200, f'{{"id": "{branch}", "commit_id": "c"}}')

    with LoopbackServer(reply) as srv:
        yield srv


def connections_by_side(server: LoopbackServer) -> Dict[str, Set[int]]:
    """Which connections carried the requests of each side (branch names start with the side)."""
    sides: Dict[str, Set[int]] = defaultdict(set)
    for request in server.requests:
        branch = request.path.rsplit("/", 1)[1]
        sides[branch.split("-", 1)[0]].add(request.connection_id)
    return sides


def run_in_child(work: Any) -> int:
    """Fork; the child runs ``work()`` and exits 0 if it returned True; the parent gets the pid."""
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        # A child stuck on something inherited (a lock, a dead thread) is killed instead of
        # hanging the test; the alarm asserts no duration.
        signal.alarm(120)
        try:
            code = 0 if work() else 3
        except BaseException:  # reported as the exit status
            code = 2
        finally:
            os._exit(code)
    return pid


def exit_status(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_both_sides_of_a_fork_call_on_their_own_connections(server: LoopbackServer) -> None:
    config = Configuration(host=server.url + "/api/v1", username="a", password="b")
    with ApiClient(config) as client:
        api = BranchesApi(client)
        assert api.get_branch("repo", "parent-0").id == "parent-0"
        assert client.rest_client.pool_manager.pools, "the parent holds a pooled connection when it forks"
        parent_pool = client.rest_client

        def child() -> bool:
            answers = [api.get_branch("repo", f"child-{i}").id for i in range(CALLS)]
            return answers == [f"child-{i}" for i in range(CALLS)] and client.rest_client is not parent_pool

        pid = run_in_child(child)
        # The parent calls while the child does: on a shared socket their answers would cross.
        answers = [api.get_branch("repo", f"parent-{i}").id for i in range(1, CALLS + 1)]
        assert exit_status(pid) == 0, "the child's calls failed or got answers that were not theirs"
        assert answers == [f"parent-{i}" for i in range(1, CALLS + 1)]
        assert client.rest_client is parent_pool, "the parent keeps its pool"
        assert api.get_branch("repo", "parent-last").id == "parent-last"

    sides = connections_by_side(server)
    assert len(sides["child"]) == 1, "the child reuses one connection of its own pool"
    assert sides["parent"] == {1}, "the parent kept its connection, which the child's exit did not close"
    assert not sides["child"] & sides["parent"], "the child never sent on the parent's socket"
    assert sum(1 for r in server.requests if "child-" in r.path) == CALLS


def test_async_req_works_in_a_forked_child(server: LoopbackServer) -> None:
    config = Configuration(host=server.url + "/api/v1", username="a", password="b")
    with ApiClient(config, pool_threads=2) as client:
        api = BranchesApi(client)
        assert api.get_branch("repo", "parent-threads", async_req=True).get(timeout=30).id == "parent-threads"

        def child() -> bool:
            handles = [api.get_branch("repo", f"child-{i}", async_req=True) for i in range(4)]
            # The timeout only keeps a broken child from hanging the test; it asserts no duration.
            return [h.get(timeout=60).id for h in handles] == [f"child-{i}" for i in range(4)]

        assert exit_status(run_in_child(child)) == 0
        assert api.get_branch("repo", "parent-after", async_req=True).get(timeout=30).id == "parent-after"
    sides = connections_by_side(server)
    assert sides["child"] and not sides["child"] & sides["parent"]


def test_a_lock_held_at_fork_time_does_not_block_the_child(server: LoopbackServer) -> None:
    config = Configuration(host=server.url + "/api/v1", username="a", password="b")
    with ApiClient(config) as client:
        api = BranchesApi(client)
        api.get_branch("repo", "parent-0")
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with client._lock:  # as a token refresh or async_req start in another thread would
                held.set()
                release.wait()

        holder = threading.Thread(target=hold)
        holder.start()
        held.wait()
        try:
            pid = run_in_child(lambda: api.get_branch("repo", "child-0", async_req=True).get(timeout=60).id == "child-0")
            assert exit_status(pid) == 0
        finally:
            release.set()
            holder.join()


def test_close_in_a_child_leaves_the_parents_connections_open(server: LoopbackServer) -> None:
    config = Configuration(host=server.url + "/api/v1", username="a", password="b")
    with ApiClient(config) as client:
        api = BranchesApi(client)
        api.get_branch("repo", "parent-0")

        def child() -> bool:
            client.close()
            return True

        assert exit_status(run_in_child(child)) == 0
        api.get_branch("repo", "parent-1")
    seen: List[int] = [r.connection_id for r in server.requests]
    assert seen == [1, 1], "the parent's pooled connection survived the child's close()"
