#!/usr/bin/env python3
"""Which operations a lakeFS version answers differently from another, as the integration suite saw it.

    scripts/compare_outcomes.py OUTCOMES-1.84.0.json OUTCOMES-1.86.0.json
    scripts/compare_outcomes.py --common OUTCOMES-1.84.0.json OUTCOMES-1.84.0-s3.json

Each file is what tests/integration/test_coverage.py wrote for one run (``LAKEFS_OUTCOMES_FILE``):
the set of statuses each operation was answered with, and the server's version and store.
The same tests ran against each version, so an operation whose statuses differ behaves
differently on the newer server. ``--common`` compares only the operations both runs called:
for a run of part of the suite, such as the store-dependent modules on S3, against the whole.
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


def label(run: Dict[str, object]) -> str:
    """``1.84.0``, or ``1.84.0 (s3 store)`` for a run that names a store other than local."""
    store = run.get("store", "local")
    return f"{run['version']}" + ("" if store == "local" else f" ({store} store)")


def differences(old: Dict[str, object], new: Dict[str, object], common: bool = False) -> List[str]:
    """One line per operation whose statuses differ between the two runs (called by both, if ``common``)."""
    old_statuses: Dict[str, List[int]] = old["statuses"]  # type: ignore[assignment]
    new_statuses: Dict[str, List[int]] = new["statuses"]  # type: ignore[assignment]
    operations = set(old_statuses) & set(new_statuses) if common else set(old_statuses) | set(new_statuses)
    lines = []
    for operation in sorted(operations):
        before, after = old_statuses.get(operation), new_statuses.get(operation)
        if before != after:
            was, now = before or "not called", after or "not called"
            lines.append(f"  {operation}: {was} on {label(old)} -> {now} on {label(new)}")
    return lines


def main(argv: List[str]) -> int:
    common = "--common" in argv
    paths = [arg for arg in argv if arg != "--common"]
    if len(paths) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    runs = [load(path) for path in paths]
    for old, new in itertools.pairwise(runs):
        lines = differences(old, new, common)
        scope = " (of the operations both runs called)" if common else ""
        print(f"lakeFS {label(old)} -> {label(new)}: {len(lines)} operations answered differently{scope}")
        for line in lines:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
