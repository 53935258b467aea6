"""Every description and summary in api/openapi.yaml is written in our own words.

For each prose field that also exists at the same place in lakeFS's published spec,
our text must not have the same words, must not share a run of five consecutive words,
and must not be a near copy (difflib similarity >= 0.75). Skipped, visibly, when the
reference spec is not beside the repository.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OURS = ROOT / "api" / "openapi.yaml"
REFERENCE = ROOT.parent / "shared" / "reference" / "lakefs-1.84.0-openapi.yml"
PROSE_KEYS = ("description", "summary")
RUN_LENGTH = 5
MAX_SIMILARITY = 0.75


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9_]+", text.lower())


def shared_run(a: str, b: str, n: int = RUN_LENGTH) -> Optional[str]:
    """The first run of ``n`` consecutive words that ``a`` and ``b`` share, if any."""
    wa, wb = words(a), words(b)
    grams = {tuple(wb[i : i + n]) for i in range(len(wb) - n + 1)}
    for i in range(len(wa) - n + 1):
        if tuple(wa[i : i + n]) in grams:
            return " ".join(wa[i : i + n])
    return None


def copy_problem(ours: str, reference: str) -> Optional[str]:
    """Why ``ours`` counts as copied from ``reference``, or None."""
    if words(ours) == words(reference):
        return "same words"
    run = shared_run(ours, reference)
    if run:
        return f'shares the run "{run}"'
    if len(words(reference)) >= 4 and SequenceMatcher(None, reference.lower(), ours.lower()).ratio() >= MAX_SIMILARITY:
        return "near copy"
    return None


def prose_fields(node: Any, pointer: str = "") -> Iterator[Tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
            if key in PROSE_KEYS and isinstance(value, str):
                yield child, value
            else:
                yield from prose_fields(value, child)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from prose_fields(value, f"{pointer}/{i}")


def load(path: Path) -> Dict[str, str]:
    with open(path, encoding="utf-8") as f:
        return dict(prose_fields(yaml.safe_load(f)))


def test_checker_catches_copies() -> None:
    assert copy_problem("Return items after this value", "return items after this value") == "same words"
    assert copy_problem("We list the repositories you can see.", "list the repositories you can see quickly")
    assert copy_problem("Name of the branch.", "branch name") is None


def test_spec_has_docs_everywhere() -> None:
    with open(OURS, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    undocumented = [
        op["operationId"]
        for item in spec["paths"].values()
        for method, op in item.items()
        if method != "parameters" and not op.get("summary")
    ]
    assert not undocumented, f"operations without a summary: {undocumented}"
    schemas_without = [name for name, schema in spec["components"]["schemas"].items() if not schema.get("description")]
    assert not schemas_without, f"schemas without a description: {schemas_without}"


def test_no_prose_copied_from_reference() -> None:
    if not REFERENCE.exists():
        pytest.skip(f"reference spec not found at {REFERENCE}: prose originality not checked")
    ours, reference = load(OURS), load(REFERENCE)
    compared = 0
    copied = []
    for pointer, text in ours.items():
        original = reference.get(pointer)
        if original is None:
            continue
        compared += 1
        problem = copy_problem(text, original)
        if problem:
            copied.append(f"{pointer}: {problem}: {text!r}")
    assert compared > 600, f"only {compared} prose fields line up with the reference; is the structure the same?"
    assert not copied, f"{len(copied)} descriptions copy the reference:\n" + "\n".join(copied[:50])
