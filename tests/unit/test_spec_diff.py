"""scripts/spec_diff.py: structural differences are found and reported readably; prose is ignored."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from support.scripts import load_script

spec_diff = load_script("spec_diff")

BASE: Dict[str, Any] = {
    "openapi": "3.0.0",
    "info": {"title": "t", "version": "1", "description": "An API."},
    "servers": [{"url": "/api/v1", "description": "server"}],
    "security": [{"basic_auth": []}],
    "components": {
        "securitySchemes": {"basic_auth": {"type": "http", "scheme": "basic"}},
        "parameters": {
            "Amount": {"in": "query", "name": "amount", "schema": {"type": "integer", "minimum": -1, "maximum": 1000}}
        },
        "responses": {"NotFound": {"description": "nope", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        "schemas": {
            "Error": {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}},
            "Ref": {
                "type": "object",
                "required": ["id", "commit_id"],
                "description": "A ref.",
                "properties": {"id": {"type": "string"}, "commit_id": {"type": "string"}, "kind": {"type": "string", "enum": ["a", "b"]}},
            },
        },
    },
    "paths": {
        "/repositories/{repository}/branches/{branch}": {
            "parameters": [
                {"in": "path", "name": "repository", "required": True, "schema": {"type": "string"}},
                {"in": "path", "name": "branch", "required": True, "schema": {"type": "string"}},
            ],
            "get": {
                "tags": ["branches"],
                "operationId": "getBranch",
                "summary": "get branch",
                "parameters": [{"$ref": "#/components/parameters/Amount"}],
                "responses": {
                    200: {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ref"}}}},
                    404: {"$ref": "#/components/responses/NotFound"},
                },
            },
        }
    },
}


def diff(candidate: Dict[str, Any]) -> Any:
    return spec_diff.diff_specs(BASE, candidate)


def changed(mutate: Any) -> Dict[str, Any]:
    doc = copy.deepcopy(BASE)
    mutate(doc)
    return doc


def op(doc: Dict[str, Any]) -> Dict[str, Any]:
    return doc["paths"]["/repositories/{repository}/branches/{branch}"]["get"]


def test_identical_documents() -> None:
    report = diff(copy.deepcopy(BASE))
    assert report.identical
    assert spec_diff.summary_lines(report)[:2] == [
        "operations: 1/1 equal, 0 differing, 0 missing, 0 extra",
        "schemas:    2/2 equal, 0 differing, 0 missing, 0 extra",
    ]


def test_prose_and_own_extensions_are_ignored() -> None:
    def mutate(doc: Dict[str, Any]) -> None:
        op(doc)["summary"] = "Fetch one branch"
        op(doc)["description"] = "Returns the branch."
        op(doc)["x-lakefs-paginated-item"] = "Ref"
        doc["components"]["schemas"]["Ref"]["description"] = "Something else entirely."
        doc["components"]["schemas"]["Ref"]["properties"]["id"]["example"] = "main"
        doc["components"]["schemas"]["Ref"]["properties"]["id"]["x-lakefs-python-type"] = "str"
        doc["info"]["description"] = "Our words."

    assert diff(changed(mutate)).identical


def test_upstream_extensions_are_facts() -> None:
    report = diff(changed(lambda d: op(d).__setitem__("x-validation-exclude-body", True)))
    assert not report.identical
    assert report.items[0].changes == ["x-validation-exclude-body: <absent> -> true"]


def test_int_and_string_response_codes_are_the_same() -> None:
    def mutate(doc: Dict[str, Any]) -> None:
        responses = op(doc)["responses"]
        op(doc)["responses"] = {str(k): v for k, v in responses.items()}

    assert diff(changed(mutate)).identical


def test_ref_to_component_parameter_equals_inline() -> None:
    def mutate(doc: Dict[str, Any]) -> None:
        op(doc)["parameters"] = [copy.deepcopy(BASE["components"]["parameters"]["Amount"])]

    assert diff(changed(mutate)).identical


def test_path_level_parameter_moved_to_operation_is_equal() -> None:
    def mutate(doc: Dict[str, Any]) -> None:
        item = doc["paths"]["/repositories/{repository}/branches/{branch}"]
        shared = item.pop("parameters")
        op(doc)["parameters"] = shared + op(doc)["parameters"]

    assert diff(changed(mutate)).identical


def test_required_order_does_not_matter_but_membership_does() -> None:
    assert diff(changed(lambda d: d["components"]["schemas"]["Ref"].__setitem__("required", ["commit_id", "id"]))).identical
    report = diff(changed(lambda d: d["components"]["schemas"]["Ref"].__setitem__("required", ["id"])))
    assert [(i.kind, i.name, i.status) for i in report.items] == [("schema", "Ref", "differs")]
    assert report.items[0].changes == ['required: ["commit_id", "id"] -> ["id"]']


def test_parameter_schema_change_is_reported_by_name() -> None:
    report = diff(changed(lambda d: d["components"]["parameters"]["Amount"]["schema"].__setitem__("maximum", 500)))
    item = report.items[0]
    assert (item.kind, item.name, item.status, item.label) == ("operation", "getBranch", "differs", "GET /repositories/{repository}/branches/{branch}")
    assert item.changes == ["parameters[amount@query].schema.maximum: 1000 -> 500"]


def test_parameter_order_is_a_fact() -> None:
    def mutate(doc: Dict[str, Any]) -> None:
        item = doc["paths"]["/repositories/{repository}/branches/{branch}"]
        item["parameters"].reverse()

    report = diff(changed(mutate))
    assert report.items[0].changes[0].startswith("parameter order differs: ['repository@path', 'branch@path', 'amount@query']")


def test_enum_and_type_changes() -> None:
    report = diff(changed(lambda d: d["components"]["schemas"]["Ref"]["properties"]["kind"].__setitem__("enum", ["a", "c"])))
    assert report.items[0].changes == ['properties.kind.enum[1]: "b" -> "c"']
    report = diff(changed(lambda d: d["components"]["schemas"]["Ref"]["properties"]["id"].__setitem__("type", "integer")))
    assert report.items[0].changes == ['properties.id.type: "string" -> "integer"']


def test_missing_and_extra_operations_and_schemas() -> None:
    def mutate(doc: Dict[str, Any]) -> None:
        item = doc["paths"].pop("/repositories/{repository}/branches/{branch}")
        item["get"]["operationId"] = "fetchBranch"
        doc["paths"]["/branches/{branch}"] = {"get": item["get"]}
        doc["components"]["schemas"]["Extra"] = {"type": "object"}
        del doc["components"]["schemas"]["Error"]

    report = diff(changed(mutate))
    found = {(i.kind, i.name, i.status) for i in report.items}
    assert found == {
        ("operation", "getBranch", "missing"),
        ("operation", "fetchBranch", "extra"),
        ("schema", "Error", "missing"),
        ("schema", "Extra", "extra"),
    }
    text = spec_diff.format_report(report)
    assert "- operation getBranch  GET /repositories/{repository}/branches/{branch}  (only in REFERENCE)" in text
    assert "+ schema Extra  (only in CANDIDATE)" in text
    assert "operations: 0/1 equal, 0 differing, 1 missing, 1 extra" in text


def test_response_schema_reference_change() -> None:
    report = diff(changed(lambda d: op(d)["responses"][200]["content"]["application/json"].__setitem__("schema", {"$ref": "#/components/schemas/Error"})))
    assert report.items[0].changes == ['responses.200.content.application/json.schema.$ref: "Ref" -> "Error"']


def test_document_level_facts() -> None:
    report = diff(changed(lambda d: d["components"]["securitySchemes"]["basic_auth"].__setitem__("scheme", "bearer")))
    assert report.document == ['securitySchemes.basic_auth.scheme: "basic" -> "bearer"']
    assert "document:   1 differences" in spec_diff.format_report(report)


def test_cli_exit_codes_and_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref, same, other = tmp_path / "ref.yaml", tmp_path / "same.json", tmp_path / "other.yaml"
    ref.write_text(yaml.safe_dump(BASE))
    same.write_text(json.dumps(changed(lambda d: op(d).__setitem__("summary", "x")), default=str))
    other.write_text(yaml.safe_dump(changed(lambda d: op(d).__setitem__("deprecated", True))))

    assert spec_diff.main([str(ref), str(same)]) == 0
    assert spec_diff.main([str(ref), str(other)]) == 1
    assert "deprecated: false -> true" in capsys.readouterr().out
    assert spec_diff.main([str(ref), str(other), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["operations"] == {"total": 1, "equal": 0} and not data["identical"]
    assert spec_diff.main([str(ref), str(other), "-q"]) == 1
    assert capsys.readouterr().out.count("\n") == 3
    assert spec_diff.main([str(ref), str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml" in capsys.readouterr().err
    (tmp_path / "bad.yaml").write_text("paths: [unclosed")
    assert spec_diff.main([str(ref), str(tmp_path / "bad.yaml")]) == 2
    assert spec_diff.main([str(ref)]) == 2
