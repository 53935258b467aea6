"""scripts/generator_input.py: the generator's input means what api/openapi.yaml means."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
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


def _without_additions(node: Any) -> Any:
    """``node`` without the ``x-lakefs-literal`` keys the additions put in."""
    if isinstance(node, dict):
        return {k: _without_additions(v) for k, v in node.items() if k != generator_input.LITERAL}
    if isinstance(node, list):
        return [_without_additions(item) for item in node]
    return node


def test_only_pull_request_changes_in_our_spec_besides_the_additions() -> None:
    original = _load_spec()
    rewritten = copy.deepcopy(original)
    assert generator_input.rewrite(rewritten) == 1
    rewritten = _without_additions(rewritten)
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


# -- Literal types -------------------------------------------------------------------------------


def test_literal_type_quotes_each_value() -> None:
    assert generator_input.literal_type(["object", "common_prefix"]) == "Literal['object', 'common_prefix']"
    assert generator_input.literal_type(["it's"]) == 'Literal["it\'s"]'


@pytest.mark.parametrize("values", [[], [1, 2], ["a", None]])
def test_literal_type_refuses_other_enums(values: List[Any]) -> None:
    with pytest.raises(ValueError, match="string enums"):
        generator_input.literal_type(values)


def test_literal_types_go_on_properties_and_parameters() -> None:
    document: Dict[str, Any] = {
        "components": {
            "schemas": {
                "Plain": {"properties": {"kind": {"type": "string", "enum": ["a", "b"]}, "n": {"type": "integer"}}},
                "Composed": {"allOf": [{"$ref": "#/components/schemas/Plain"},
                                       {"properties": {"mode": {"type": "string", "enum": ["x"]}}}]},
            },
            "parameters": {"Shared": {"name": "s", "in": "query", "schema": {"type": "string", "enum": ["s1"]}}},
        },
        "paths": {
            "/p": {
                "parameters": [{"name": "lvl", "in": "query", "schema": {"type": "string", "enum": ["l"]}}],
                "get": {"parameters": [{"name": "t", "in": "query", "schema": {"type": "string", "enum": ["t1", "t2"]}},
                                       {"name": "u", "in": "query", "schema": {"type": "string"}}]},
            }
        },
    }
    assert generator_input.add_literal_types(document) == 5
    schemas = document["components"]["schemas"]
    assert schemas["Plain"]["properties"]["kind"]["x-lakefs-literal"] == "Literal['a', 'b']"
    assert "x-lakefs-literal" not in schemas["Plain"]["properties"]["n"]
    assert schemas["Composed"]["allOf"][1]["properties"]["mode"]["x-lakefs-literal"] == "Literal['x']"
    assert document["components"]["parameters"]["Shared"]["x-lakefs-literal"] == "Literal['s1']"
    assert document["paths"]["/p"]["parameters"][0]["x-lakefs-literal"] == "Literal['l']"
    get = document["paths"]["/p"]["get"]["parameters"]
    assert get[0]["x-lakefs-literal"] == "Literal['t1', 't2']" and "x-lakefs-literal" not in get[1]


def _enum_holders(node: Any, holder: Any = None) -> Iterator[Tuple[Any, Any]]:
    """(schema with an enum, the property or parameter holding it) for every enum in ``node``."""
    if isinstance(node, dict):
        if "enum" in node:
            yield node, holder
        for key, value in node.items():
            if key == "schema":  # a parameter's schema: the parameter holds the type
                yield from _enum_holders(value, node)
            else:
                yield from _enum_holders(value, value)
    elif isinstance(node, list):
        for item in node:
            yield from _enum_holders(item, item)


def test_every_enum_of_our_spec_gets_a_literal_type() -> None:
    document = _load_spec()
    generator_input.rewrite(document)
    holders = list(_enum_holders(document))
    assert len(holders) >= 15
    for schema, holder in holders:
        assert holder[generator_input.LITERAL] == generator_input.literal_type(schema["enum"]), holder


# -- server deviations ---------------------------------------------------------------------------


def _deviation_document(hint: Any) -> Dict[str, Any]:
    return {
        "components": {
            "schemas": {
                "Basic": {"properties": {"note": {"type": "string"}}},
                "Full": {
                    "allOf": [{"$ref": "#/components/schemas/Basic"}, {"properties": {"items": {"type": "array"}}}],
                    "x-lakefs-server-deviations": hint,
                },
            }
        },
        "paths": {"/full": {"get": {"operationId": "getFull"}}},
    }


def _hint(**overrides: Any) -> Dict[str, Any]:
    return {"property": "note", "sends": "missing", "operations": ["getFull"], "why": "It does.", **overrides}


def test_deviation_hints_may_name_properties_of_referenced_parts() -> None:
    document = _deviation_document([_hint(), _hint(property="items", sends="null")])
    assert generator_input.check_server_deviations(document) == 2


@pytest.mark.parametrize(
    ("hint", "message"),
    [
        ({"note": "missing"}, "non-empty list"),
        ([], "non-empty list"),
        ([{"property": "note", "sends": "missing"}], "exactly the keys"),
        ([_hint(property="nothing")], "has no property 'nothing'"),
        ([_hint(), _hint()], "listed twice"),
        ([_hint(sends="empty")], "sends must be one of"),
        ([_hint(operations=[])], "non-empty list of operationIds"),
        ([_hint(operations=["getFull", "getNothing"])], "no such operation \\['getNothing'\\]"),
        ([_hint(why=" ")], "why must say"),
    ],
)
def test_wrong_deviation_hints_stop_the_generation(hint: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generator_input.check_server_deviations(_deviation_document(hint))


def test_the_hints_of_our_spec_are_well_formed() -> None:
    document = _load_spec()
    hinted = {name: schema[generator_input.DEVIATIONS] for name, schema in document["components"]["schemas"].items()
              if generator_input.DEVIATIONS in schema}
    assert generator_input.check_server_deviations(document) == sum(len(hints) for hints in hinted.values())
    assert {"PullRequest", "GarbageCollectionRules"} <= set(hinted)


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
