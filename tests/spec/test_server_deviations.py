"""The guide's list of server deviations is the list of hints in api/openapi.yaml.

docs/guide.md, section "Where lakeFS departs from its spec", has one table row per
``x-lakefs-server-deviations`` hint: the field, what lakeFS sends, the Python methods
whose answers carry it (from the generated operations), and the zero value it decodes as
(from the model). A hint added without a row, or a row left after its hint, fails here.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

import lakefs_sdk.api
import lakefs_sdk.models
from lakefs_sdk._model import zero_values
from lakefs_sdk._operation import Operation

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guide.md"
SPEC = ROOT / "api" / "openapi.yaml"
SECTION = "## Where lakeFS departs from its spec"
SENDS = {"missing": "nothing (left out)", "null": "`null`"}

Row = Tuple[str, str, str, str]


def _method_names() -> Dict[str, str]:
    """operationId -> Python method name, from the generated API modules."""
    names = {}
    for module_info in pkgutil.iter_modules(lakefs_sdk.api.__path__):
        module = importlib.import_module(f"lakefs_sdk.api.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, Operation):
                names[value.operation_id] = value.method_name
    return names


def _rows_from_hints() -> List[Row]:
    with open(SPEC, encoding="utf-8") as source:
        schemas: Dict[str, Any] = yaml.safe_load(source)["components"]["schemas"]
    methods = _method_names()
    rows = []
    for name, schema in schemas.items():
        for hint in schema.get("x-lakefs-server-deviations", []):
            model = getattr(lakefs_sdk.models, name)
            ((_, python_name, zero),) = zero_values(model, (hint["property"],))
            rows.append((
                f"`{name}.{python_name}`",
                SENDS[hint["sends"]],
                ", ".join(f"`{methods[op]}`" for op in hint["operations"]),
                f"`{json.dumps(zero())}`",
            ))
    return sorted(rows)


def _rows_in_guide() -> List[Row]:
    text = GUIDE.read_text(encoding="utf-8")
    assert SECTION in text, f"{GUIDE.name} has no section {SECTION!r}"
    section = re.split(r"^## ", text.split(SECTION, 1)[1], flags=re.M)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    assert table[0] == "| Field | lakeFS sends | in answers of | decoded as |", table[0]
    rows = []
    for line in table[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert len(cells) == 4, line
        rows.append((cells[0], cells[1], cells[2], cells[3]))
    return sorted(rows)


def test_the_guide_lists_exactly_the_hinted_deviations() -> None:
    hinted = _rows_from_hints()
    assert hinted, "api/openapi.yaml has no x-lakefs-server-deviations hint"
    assert _rows_in_guide() == hinted


def test_every_hinted_operation_has_a_method() -> None:
    methods = _method_names()
    assert len(methods) == 134
    assert methods["getGCRules"] == "get_gc_rules"
