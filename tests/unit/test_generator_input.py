"""scripts/generator_input.py: the generator's input means what api/openapi.yaml means."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any, Dict

import yaml

from support.scripts import load_script

generator_input = load_script("generator_input")

SPEC = Path(__file__).resolve().parents[2] / "api" / "openapi.yaml"


def _load_spec() -> Dict[str, Any]:
    with open(SPEC, encoding="utf-8") as source:
        document: Dict[str, Any] = yaml.load(source, Loader=generator_input._SpecLoader)
    return document


def test_required_only_part_is_folded_into_the_inline_part() -> None:
    schema = {
        "allOf": [
            {"$ref": "#/components/schemas/Basic"},
            {"required": ["title", "status"]},
            {"type": "object", "required": ["id", "status"], "properties": {"id": {"type": "string"}}},
        ]
    }
    assert generator_input.fold_required_only_parts(schema) == 1
    assert schema["allOf"] == [
        {"$ref": "#/components/schemas/Basic"},
        {"type": "object", "required": ["id", "status", "title"], "properties": {"id": {"type": "string"}}},
    ]


def test_required_only_part_without_an_inline_part_becomes_an_object_part() -> None:
    schema = {"allOf": [{"$ref": "#/components/schemas/Basic"}, {"required": ["title"]}]}
    assert generator_input.fold_required_only_parts(schema) == 1
    assert schema["allOf"] == [{"$ref": "#/components/schemas/Basic"}, {"type": "object", "required": ["title"]}]


def test_schemas_without_required_only_parts_are_left_alone() -> None:
    schema = {"allOf": [{"$ref": "#/x"}, {"required": ["a"], "properties": {"a": {}}}]}
    before = copy.deepcopy(schema)
    assert generator_input.fold_required_only_parts(schema) == 0
    assert schema == before


def test_only_pull_request_changes_in_our_spec() -> None:
    original = _load_spec()
    rewritten = copy.deepcopy(original)
    assert generator_input.rewrite(rewritten) == 1
    changed = [name for name, schema in original["components"]["schemas"].items()
               if rewritten["components"]["schemas"][name] != schema]
    assert changed == ["PullRequest"]
    parts = rewritten["components"]["schemas"]["PullRequest"]["allOf"]
    assert parts[0] == {"$ref": "#/components/schemas/PullRequestBasic"}
    assert parts[1]["required"] == [
        "id", "creation_date", "author", "source_branch", "destination_branch", "status", "title", "description"
    ]
    rewritten["components"]["schemas"].pop("PullRequest")
    original["components"]["schemas"].pop("PullRequest")
    assert rewritten == original


def test_dates_and_yes_no_stay_strings_true_false_stay_booleans() -> None:
    text = "a: 2024-01-02\nb: yes\nc: off\nd: true\ne: false\nf: 1.5\ng: 7\n"
    loaded = yaml.load(io.StringIO(text), Loader=generator_input._SpecLoader)
    assert loaded == {"a": "2024-01-02", "b": "yes", "c": "off", "d": True, "e": False, "f": 1.5, "g": 7}


def test_main_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "spec.json"
    assert generator_input.main([str(SPEC), str(out)]) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["paths"].keys() == _load_spec()["paths"].keys()
    assert "status" in written["components"]["schemas"]["PullRequest"]["allOf"][1]["required"]
