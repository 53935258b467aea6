"""User-space instructions per call, counted by callgrind: the figure that neighbours cannot move.

CPU time on a shared VM varies by tens of percent with what else runs; the number of
instructions a process executes does not (``valgrind --tool=callgrind`` counts them, the
same from run to run for the same program and inputs). ``run.py`` uses this module for
the call-overhead and listing targets as a cross-check of its CPU figures.

Each figure runs ``worker.py count`` under callgrind twice, with ``LOW`` and ``HIGH``
calls: ``(total(HIGH) - total(LOW)) / (HIGH - LOW)`` is one call, without interpreter
start-up, imports or set-up. Hash randomisation is fixed (``PYTHONHASHSEED=0``) so that
dict and set layouts, and with them the counts, repeat exactly.

What it does not count: the kernel's work (system calls, the socket receive, page
faults), which the CPU figures include.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

# (operation, variants, LOW, HIGH): the listing is 10x the work of a small call.
FIGURES: Sequence[Tuple[str, Sequence[str], int, int]] = (
    ("get_branch", ("raw", "ours"), 20, 120),
    ("create_branch", ("raw", "ours"), 20, 120),
    ("commit", ("raw", "ours"), 20, 120),
    ("list_objects", ("floor", "raw", "ours"), 3, 18),
)
TIMEOUT_SECONDS = 600
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def available() -> bool:
    """True when valgrind is installed."""
    return shutil.which("valgrind") is not None


def total(python: str, worker_argv: List[str], cwd: Path, env: Mapping[str, str]) -> int:
    """The instructions ``python worker_argv`` executes in all, counted by callgrind."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, *worker_argv]
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env={**env, "PYTHONHASHSEED": "0"},
                          timeout=TIMEOUT_SECONDS)
    found = _COLLECTED.findall(done.stderr)
    if done.returncode != 0 or not found:
        raise SystemExit(f"callgrind run failed: {' '.join(command)}\n{done.stdout}{done.stderr[-2000:]}")
    return int(found[-1])


def measure(python: str, worker: Path, url: str, cwd: Path, env: Mapping[str, str],
            package_prefix: Optional[str] = None, workers: int = 2) -> Dict[str, float]:
    """Instructions per call, keyed ``"<operation>:<variant>"``; runs ``workers`` callgrinds at a time."""
    jobs: List[Tuple[str, int, List[str]]] = []
    for operation, variants, low, high in FIGURES:
        for variant in variants:
            argv = [str(worker), "count", "--variant", variant, "--operation", operation, "--url", url]
            if variant == "ours" and package_prefix:
                argv += ["--package-prefix", package_prefix]
            for calls in (low, high):
                jobs.append((f"{operation}:{variant}", calls, [*argv, "--calls", str(calls)]))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        totals = list(pool.map(lambda job: total(python, job[2], cwd, env), jobs))
    counted: Dict[str, Dict[int, int]] = {}
    for (key, calls, _), counted_total in zip(jobs, totals, strict=True):
        counted.setdefault(key, {})[calls] = counted_total
    per_call: Dict[str, float] = {}
    for key, by_calls in counted.items():
        (low, low_total), (high, high_total) = sorted(by_calls.items())
        per_call[key] = (high_total - low_total) / (high - low)
    return per_call
