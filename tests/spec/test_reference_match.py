"""api/openapi.yaml matches lakeFS's published 1.84.0 spec fact for fact (scripts/spec_diff.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "reference" / "lakefs-1.84.0-openapi.yml"
CANDIDATE = ROOT / "api" / "openapi.yaml"


def _spec_diff():  # type: ignore[no-untyped-def]
    return load_script("spec_diff")


def test_structurally_identical_to_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    if not REFERENCE.exists():
        pytest.skip(f"reference spec not found at {REFERENCE}: structural comparison skipped")
    spec_diff = _spec_diff()
    report = spec_diff.diff_specs(spec_diff.load_spec(str(REFERENCE)), spec_diff.load_spec(str(CANDIDATE)))
    with capsys.disabled():
        print("\n" + "\n".join(spec_diff.summary_lines(report)))
    assert (report.operations_total, report.schemas_total) == (134, 119)
    assert report.identical, spec_diff.format_report(report)
