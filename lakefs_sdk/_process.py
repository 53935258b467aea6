"""Which process this is, known without a system call.

``os.getpid()`` is a system call on Linux (glibc no longer caches it), and so is
``asyncio.get_running_loop()`` on Python 3.11. The clients ask on every request whether
they were forked; they compare their stamp with ``_process.forks`` instead (read it as a
module attribute: a name imported from here would not change).
"""

from __future__ import annotations

import os

forks = 0
"""Forks between the interpreter's start and this process: a ``fork()`` child's value is its parent's plus one.

An object stamped with the value of the process that made it can tell, by comparing, that
it now runs in a child.
"""


def _forked() -> None:
    global forks
    forks += 1


if hasattr(os, "register_at_fork"):  # pragma: no branch - absent only where fork() is too (Windows)
    os.register_at_fork(after_in_child=_forked)
