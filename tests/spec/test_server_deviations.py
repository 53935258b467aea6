"""The guide's list of server deviations is the list of hints in api/openapi.yaml.

docs/guide.md, section "Where lakeFS departs from its spec", has one table row per
``x-lakefs-server-deviations`` hint: where (a model field, or the status code of an
operation), what lakeFS sends, the Python methods whose answers carry it (from the
generated operations), and what the SDK gives for it (the zero value from the model, the
unlisted value as sent, or the method's ``None``). A hint added without a row, or a row
left after its hint, fails here; so does a status hint the generated operation would not
answer with ``None``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import yaml
from urllib3 import HTTPHeaderDict

import lakefs_sdk
import lakefs_sdk.api
import lakefs_sdk.models
from lakefs_sdk._model import zero_values
from lakefs_sdk._operation import Operation
from lakefs_sdk._options import DEFAULT_OPTIONS
from lakefs_sdk.api_client import ApiClient

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guide.md"
SPEC = ROOT / "api" / "openapi.yaml"
SECTION = "## Where lakeFS departs from its spec"
SENDS = {"missing": "nothing (left out)", "null": "`null`"}
HEADER = "| Where | lakeFS sends | in answers of | decoded as |"

Row = Tuple[str, str, str, str]


def _spec() -> Dict[str, Any]:
    with open(SPEC, encoding="utf-8") as source:
        document: Dict[str, Any] = yaml.safe_load(source)
    return document


def _operations() -> Dict[str, Operation]:
    """operationId -> Operation, from the generated API modules."""
    found = {}
    for module_info in pkgutil.iter_modules(lakefs_sdk.api.__path__):
        module = importlib.import_module(f"lakefs_sdk.api.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, Operation):
                found[value.operation_id] = value
    return found


def _status_hints() -> List[Tuple[str, Dict[str, Any]]]:
    """(operationId, hint) for every hint on an operation."""
    return [
        (operation["operationId"], hint)
        for path_item in _spec()["paths"].values()
        for operation in path_item.values()
        if isinstance(operation, dict)
        for hint in operation.get("x-lakefs-server-deviations", [])
    ]


def _quoted(values: List[str]) -> str:
    return ", ".join(f"`{json.dumps(value)}`" for value in values)


def _rows_from_hints() -> List[Row]:
    schemas: Dict[str, Any] = _spec()["components"]["schemas"]
    methods = {op_id: op.method_name for op_id, op in _operations().items()}
    rows = []
    for name, schema in schemas.items():
        for hint in schema.get("x-lakefs-server-deviations", []):
            model = getattr(lakefs_sdk.models, name)
            answers = ", ".join(f"`{methods[op]}`" for op in hint["operations"])
            if hint["sends"] == "unlisted":
                (python_name,) = [n for n, f in model.model_fields.items() if (f.alias or n) == hint["property"]]
                sends = f"{_quoted(hint['values'])} (not in the enum)"
                rows.append((f"`{name}.{python_name}`", sends, answers, f"{_quoted(hint['values'])}, as sent"))
                continue
            ((_, python_name, zero),) = zero_values(model, (hint["property"],))
            rows.append((f"`{name}.{python_name}`", SENDS[hint["sends"]], answers, f"`{json.dumps(zero())}`"))
    for operation_id, hint in _status_hints():
        rows.append((
            "status code",
            f"`{hint['status']}` (the spec lists `{hint['instead-of']}`)",
            f"`{methods[operation_id]}`",
            "`None`",
        ))
    return sorted(rows)


def _rows_in_guide() -> List[Row]:
    text = GUIDE.read_text(encoding="utf-8")
    assert SECTION in text, f"{GUIDE.name} has no section {SECTION!r}"
    section = re.split(r"^## ", text.split(SECTION, 1)[1], flags=re.M)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    assert table[0] == HEADER, table[0]
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
    operations = _operations()
    assert len(operations) == 134
    assert operations["getGCRules"].method_name == "get_gc_rules"


class _Answer:
    """A transport response as ApiClient._result reads it."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.reason = "No Content"
        self.data = b""
        self.headers = HTTPHeaderDict()
        self.retries = 0


@pytest.mark.parametrize(("operation_id", "hint"), _status_hints(), ids=[op for op, _ in _status_hints()])
def test_a_hinted_status_returns_none_like_the_listed_one(operation_id: str, hint: Dict[str, Any]) -> None:
    operation = _operations()[operation_id]
    assert str(hint["status"]) not in operation.responses
    assert operation.responses[str(hint["instead-of"])] is None, "the listed success has no body to decode"
    client = ApiClient(lakefs_sdk.Configuration(host="http://127.0.0.1:9/api/v1"))
    for status in (hint["status"], hint["instead-of"]):
        assert client._result(operation, (), _Answer(status), DEFAULT_OPTIONS, "data") is None
        response = client._result(operation, (), _Answer(status), DEFAULT_OPTIONS, "http_info")
        assert response.status_code == status and response.data is None
