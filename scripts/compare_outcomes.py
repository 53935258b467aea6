#!/usr/bin/env python3
"""Which operations a lakeFS version answers differently from another, as the integration suite saw it.

    scripts/compare_outcomes.py OUTCOMES-1.84.0.json OUTCOMES-1.86.0.json
    scripts/compare_outcomes.py --common OUTCOMES-1.84.0.json OUTCOMES-1.84.0-s3.json

Each file is what tests/integration/test_coverage.py wrote for one run (``LAKEFS_OUTCOMES_FILE``):
the set of statuses each operation was answered with, and the server's version and store.
The same tests ran against each version, so an operation whose statuses differ behaves
differently on the newer server. ``--common`` is for a run of part of the suite (the
store-dependent modules on S3) against the whole: it shows only the statuses the second run
got that the first never did, of the operations both called (the part runs fewer error cases,
so the statuses it lacks say nothing).
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


def label(run: Dict[str, object], with_store: bool = False) -> str:
    """``1.84.0``; ``1.84.0 (s3 store)`` for a run on a store other than local, or any when ``with_store``."""
    store = run.get("store", "local")
    return f"{run['version']}" + (f" ({store} store)" if with_store or store != "local" else "")


def differences(old: Dict[str, object], new: Dict[str, object], common: bool = False) -> List[str]:
    """One line per operation whose statuses differ between the two runs.

    With ``common``: per operation both runs called, the statuses only the second run got.
    """
    old_statuses: Dict[str, List[int]] = old["statuses"]  # type: ignore[assignment]
    new_statuses: Dict[str, List[int]] = new["statuses"]  # type: ignore[assignment]
    lines = []
    if common:
        for operation in sorted(set(old_statuses) & set(new_statuses)):
            only_new = sorted(set(new_statuses[operation]) - set(old_statuses[operation]))
            if only_new:
                lines.append(
                    f"  {operation}: {only_new} on {label(new, True)}, never on {label(old, True)}"
                    f" ({old_statuses[operation]})"
                )
        return lines
    for operation in sorted(set(old_statuses) | set(new_statuses)):
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
        if common:
            print(
                f"lakeFS {label(new, True)}: {len(lines)} operations answered with a status "
                f"{label(old, True)} never gave"
            )
        else:
            print(f"lakeFS {label(old)} -> {label(new)}: {len(lines)} operations answered differently")
        for line in lines:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
