"""``lakefs_sdk._process``: a forked child knows it is one without asking the kernel.

The clients stamp what belongs to a process with ``_process.forks`` and compare on every
request; these tests fork for real and report from the child through a pipe.
"""

from __future__ import annotations

import asyncio
import os
from typing import Callable

import pytest

from lakefs_sdk import Configuration, _process

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
    pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning"),
]


def in_child(work: Callable[[], bytes]) -> bytes:
    """Fork; the child writes what ``work()`` returns to a pipe and exits; return those bytes."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which reports through the pipe
        try:
            os.write(write, work())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    return answer


def test_a_child_and_a_grandchild_see_the_count_grow() -> None:
    before = _process.forks

    def child() -> bytes:
        return f"{_process.forks} {in_child(lambda: str(_process.forks).encode()).decode()}".encode()

    assert in_child(child) == f"{before + 1} {before + 2}".encode()
    assert _process.forks == before, "the parent's count does not change"


def test_an_async_transport_makes_its_own_session_in_a_child() -> None:
    from lakefs_sdk.aio import rest

    transport = rest.AsyncRESTClientObject(Configuration(host="http://127.0.0.1:9/api/v1"))

    async def session_id() -> int:
        return id(transport.session)

    loop = asyncio.new_event_loop()
    try:
        parents = loop.run_until_complete(session_id())

        def child() -> bytes:
            # The parent's loop object, run again here: only the stamp tells this is a child.
            mine = loop.run_until_complete(session_id())
            inherited = any(id(session) == parents for session, _ in rest._INHERITED)
            return b"1" if mine != parents and inherited else b"0"

        assert in_child(child) == b"1"
        assert loop.run_until_complete(session_id()) == parents, "the parent keeps its session"
        loop.run_until_complete(transport.close())
    finally:
        loop.close()
