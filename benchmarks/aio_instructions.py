#!/usr/bin/env python3
"""User-space instructions per asyncio ``stat_object`` call, this package against raw aiohttp.

    python3 benchmarks/aio_instructions.py                  # concurrency 16 and 64
    python3 benchmarks/aio_instructions.py --concurrency 1

The instruction-count cross-check of the asyncio figures (7b/7c of ``run.py``), which
other work on the machine cannot move: ``worker.py aio-count`` makes N calls at a
concurrency, untimed, under ``valgrind --tool=callgrind``, once with ``--low`` and once
with ``--high`` calls; the difference of the totals over the difference of the counts is
one call (start-up, imports and set-up cancelled out, ``PYTHONHASHSEED=0``). Both
variants send the same requests to ``server.py`` (started here, in its own process, whose
instructions are not counted) through the bench venv ``run.py`` makes. The kernel's share
(system calls, the socket receive) is not in the counts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import instructions  # noqa: E402 - a module beside this script
from run import BENCH_VENV, Server, child_env, ensure_bench_venv, venv_python  # noqa: E402


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, action="append", help="calls in flight (repeatable; 16, 64)")
    parser.add_argument("--low", type=int, default=200, help="calls of the first run")
    parser.add_argument("--high", type=int, default=1200, help="calls of the second run")
    args = parser.parse_args(argv)
    if not instructions.available():
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    ensure_bench_venv()
    python, env = venv_python(BENCH_VENV), child_env()
    server = Server(object_size=4096)
    try:
        print("| concurrency | raw aiohttp instructions/call | this package instructions/call | raw / this |")
        print("|---|---|---|---|")
        for concurrency in args.concurrency or [16, 64]:
            per_call = {}
            for variant in ("raw", "ours"):
                worker = [str(BENCH_DIR / "worker.py"), "aio-count", "--variant", variant,
                          "--url", server.url, "--concurrency", str(concurrency)]
                low = instructions.total(python, [*worker, "--calls", str(args.low)], BENCH_DIR, env)
                high = instructions.total(python, [*worker, "--calls", str(args.high)], BENCH_DIR, env)
                per_call[variant] = (high - low) / (args.high - args.low)
            print(f"| {concurrency} | {per_call['raw']:,.0f} | {per_call['ours']:,.0f} | "
                  f"{per_call['raw'] / per_call['ours']:.3f} |")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
