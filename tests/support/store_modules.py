"""The test modules whose behaviour depends on lakeFS's blockstore: the ones run again on S3.

``scripts/test.sh`` runs the whole suite against lakeFS on the local blockstore, then these
modules against lakeFS on an S3 store (``LAKEFS_STORE=s3``); it reads the list from here
(``python tests/support/store_modules.py`` prints one path a line), and the real-server
coverage gate counts a run of exactly these on S3 as whole. Standard library only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parents[2]

# Relative to the repository; every one must exist (tests/unit/test_architecture.py checks).
INTEGRATION = (
    "tests/integration/test_objects.py",
    "tests/integration/test_staging.py",
    "tests/integration/test_experimental.py",
    "tests/integration/test_import.py",
    "tests/integration/test_import_s3.py",
    "tests/integration/test_bulk.py",
    "tests/integration/test_faults.py",
    "tests/integration/test_s3_store.py",
    "tests/integration/test_presign_s3.py",
    "tests/integration/test_presign_faults.py",
    "tests/integration/test_spark_s3.py",
    "tests/integration/test_coverage.py",  # the gate: prints the S3 run's coverage line
)
COMPAT_PATTERN = "tests/compat/*_on_lakefs.py"


def integration_modules(root: Path = ROOT) -> List[Path]:
    """The store-dependent integration modules, as absolute paths."""
    return [root / name for name in INTEGRATION]


def store_modules(root: Path = ROOT) -> List[str]:
    """Every module of the S3 run, relative to ``root``: the integration ones, then compat's."""
    compat = sorted(str(path.relative_to(root)) for path in root.glob(COMPAT_PATTERN))
    return [str(path.relative_to(root)) for path in integration_modules(root)] + compat


if __name__ == "__main__":
    print("\n".join(store_modules()))
    sys.exit(0)
