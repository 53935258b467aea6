#!/usr/bin/env python3
"""Which operations a lakeFS version answers differently from another, as the integration suite saw it.

    scripts/compare_outcomes.py OUTCOMES-1.84.0.json OUTCOMES-1.86.0.json

Each file is what tests/integration/test_coverage.py wrote for one run (``LAKEFS_OUTCOMES_FILE``):
the set of statuses each operation was answered with. The same tests ran against each
version, so an operation whose statuses differ behaves differently on the newer server.
Prints one line per such operation (nothing else differs when it prints none); exit 0,
since a difference is a finding for the tests to assert, not a failure in itself.
"""

from __future__ import annotations

import itertools
import json
import sys
from typing import Dict, List


def load(path: str) -> Dict[str, object]:
    with open(path, encoding="utf-8") as file:
        data: Dict[str, object] = json.load(file)
    return data


def differences(old: Dict[str, object], new: Dict[str, object]) -> List[str]:
    """One line per operation whose statuses differ between the two runs."""
    old_statuses: Dict[str, List[int]] = old["statuses"]  # type: ignore[assignment]
    new_statuses: Dict[str, List[int]] = new["statuses"]  # type: ignore[assignment]
    lines = []
    for operation in sorted(set(old_statuses) | set(new_statuses)):
        before, after = old_statuses.get(operation), new_statuses.get(operation)
        if before != after:
            was, now = before or "not called", after or "not called"
            lines.append(f"  {operation}: {was} on {old['version']} -> {now} on {new['version']}")
    return lines


def main(argv: List[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    runs = [load(path) for path in argv]
    for old, new in itertools.pairwise(runs):
        lines = differences(old, new)
        print(f"lakeFS {old['version']} -> {new['version']}: {len(lines)} operations answered differently")
        for line in lines:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
