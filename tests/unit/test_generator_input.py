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


ADDED_KEYS = {
    generator_input.LITERAL,
    generator_input.ENUM_ARGS,
    generator_input.ZERO_FIELDS,
    generator_input.DEVIATION_LINES,
    generator_input.HOME,
    generator_input.AUTH,
}


def _without_additions(node: Any) -> Any:
    """``node`` without the ``x-lakefs-*`` keys the additions put in for the templates."""
    if isinstance(node, dict):
        return {k: _without_additions(v) for k, v in node.items() if k not in ADDED_KEYS}
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
    unlisted = {id(schema["properties"][hint["property"]]): hint["values"]
                for schema in document["components"]["schemas"].values()
                for hint in schema.get(generator_input.DEVIATIONS, []) if hint["sends"] == "unlisted"}
    assert unlisted, "the spec has an unlisted-values hint (HookRun.status)"
    for schema, holder in holders:
        expected = schema["enum"] + unlisted.get(id(holder), [])
        assert holder[generator_input.LITERAL] == generator_input.literal_type(expected), holder


def test_python_tuple_is_a_python_literal() -> None:
    assert generator_input.python_tuple(["a", "b"]) == "('a', 'b')"
    assert generator_input.python_tuple(["a"]) == "('a',)"
    assert generator_input.python_tuple([""]) == "('',)"


def test_enum_properties_get_their_validator_arguments_parameters_do_not() -> None:
    document: Dict[str, Any] = {
        "components": {
            "schemas": {
                "Run": {
                    "properties": {"state": {"type": "string", "enum": ["ok", "bad"]}},
                    "x-lakefs-server-deviations": [{"property": "state", "sends": "unlisted", "values": ["gone"],
                                                    "operations": ["getRun"], "why": "It does."}],
                },
                "Plain": {"properties": {"kind": {"type": "string", "enum": ["a"]}}},
                "Open": {"properties": {"mode": {"type": "string", "x-lakefs-enum": {
                    "values": ["x", "y"], "also-accepted": [""], "why": "The server checks it."}}}},
            },
        },
        "paths": {"/r": {"get": {"operationId": "getRun", "parameters": [
            {"name": "t", "in": "query", "schema": {"type": "string", "enum": ["t1"]}}]}}},
    }
    assert generator_input.rewrite(document) == 0
    schemas = document["components"]["schemas"]
    state = schemas["Run"]["properties"]["state"]
    assert state[generator_input.LITERAL] == "Literal['ok', 'bad', 'gone']"
    assert state[generator_input.ENUM_ARGS] == ", from_server=('gone',)", "the values are read from the Literal"
    assert state["enum"] == ["ok", "bad"], "the enum itself is unchanged"
    assert schemas["Plain"]["properties"]["kind"][generator_input.ENUM_ARGS] == ""
    mode = schemas["Open"]["properties"]["mode"]
    assert mode[generator_input.LITERAL] == "Literal['x', 'y']" and "enum" not in mode
    assert mode[generator_input.ENUM_ARGS] == ", also=('',), any_in_answers=True"
    parameter = document["paths"]["/r"]["get"]["parameters"][0]
    assert parameter[generator_input.LITERAL] == "Literal['t1']" and generator_input.ENUM_ARGS not in parameter


def _server_enum_document(prop: Dict[str, Any], where: str = "property") -> Dict[str, Any]:
    document: Dict[str, Any] = {
        "components": {"schemas": {"Body": {"properties": {"mode": prop}}}},
        "paths": {"/b": {"post": {"operationId": "postBody", "parameters": []}}},
    }
    if where == "parameter":
        document["components"]["schemas"]["Body"]["properties"]["mode"] = {"type": "string"}
        document["paths"]["/b"]["post"]["parameters"].append({"name": "m", "in": "query", "schema": prop})
    return document


def _server_enum(**overrides: Any) -> Dict[str, Any]:
    return {"type": "string", "x-lakefs-enum": {"values": ["x", "y"], "why": "The server checks it.", **overrides}}


@pytest.mark.parametrize(
    ("prop", "where", "message"),
    [
        ({"type": "string", "x-lakefs-enum": ["x"]}, "property", "needs the keys"),
        ({"type": "string", "x-lakefs-enum": {"values": ["x"]}}, "property", "needs the keys"),
        ({"type": "string", "x-lakefs-enum": {"values": ["x"], "why": "w", "extra": 1}}, "property", "needs the keys"),
        ({**_server_enum(), "type": "integer"}, "property", "only a string property without an enum"),
        ({**_server_enum(), "enum": ["x"]}, "property", "only a string property without an enum"),
        (_server_enum(values=[]), "property", "non-empty list of strings"),
        (_server_enum(values=["x", "x"]), "property", "distinct strings"),
        (_server_enum(values=["x", 1]), "property", "distinct strings"),
        (_server_enum(**{"also-accepted": ["x"]}), "property", "both values and also-accepted"),
        (_server_enum(why=""), "property", "why must say"),
        (_server_enum(), "parameter", "belongs on a component schema's string property"),
    ],
)
def test_wrong_server_enum_hints_stop_the_generation(prop: Dict[str, Any], where: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generator_input.rewrite(_server_enum_document(prop, where))


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


def _unlisted_document(hint: Dict[str, Any]) -> Dict[str, Any]:
    document = _deviation_document([hint])
    schemas = document["components"]["schemas"]
    schemas["Basic"]["properties"]["kind"] = {"type": "string", "enum": ["a"]}
    schemas["Full"]["allOf"][1]["properties"]["state"] = {"type": "string", "enum": ["ok", "bad"]}
    return document


def _unlisted(**overrides: Any) -> Dict[str, Any]:
    return _hint(**{"property": "state", "sends": "unlisted", "values": ["gone"], **overrides})


def test_an_unlisted_values_hint_names_an_own_enum_property() -> None:
    assert generator_input.check_server_deviations(_unlisted_document(_unlisted())) == 1


@pytest.mark.parametrize(
    ("hint", "message"),
    [
        ({k: v for k, v in _unlisted().items() if k != "values"}, "exactly the keys"),
        ({**_hint(), "values": ["x"]}, "exactly the keys"),
        (_unlisted(values=[]), "non-empty list of strings"),
        (_unlisted(values=["gone", "gone"]), "distinct strings"),
        (_unlisted(values=["ok"]), "in the enum already"),
        (_unlisted(property="note"), "needs a string property with an enum"),
        (_unlisted(property="kind"), "declared by the schema itself"),
    ],
)
def test_wrong_unlisted_values_hints_stop_the_generation(hint: Dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generator_input.check_server_deviations(_unlisted_document(hint))


def _status_document(hints: Any, listed: Any = None) -> Dict[str, Any]:
    responses = listed if listed is not None else {"200": {"description": "Saved."}, "404": {"$ref": "#/components/responses/NotFound"}}
    return {
        "components": {"schemas": {}, "responses": {
            "NotFound": {"description": "No.", "content": {"application/json": {"schema": {}}}},
            "Empty": {"description": "Nothing."},
        }},
        "paths": {"/u": {"patch": {"operationId": "update", "responses": responses, "x-lakefs-server-deviations": hints}}},
    }


def _status(**overrides: Any) -> Dict[str, Any]:
    return {"status": 204, "instead-of": 200, "why": "It answers 204.", **overrides}


def test_a_status_hint_names_an_unlisted_success_instead_of_a_listed_one_without_body() -> None:
    assert generator_input.check_server_deviations(_status_document([_status()])) == 1
    assert generator_input.check_server_deviations(_status_document(
        [_status(**{"instead-of": 201})], {"201": {"$ref": "#/components/responses/Empty"}})) == 1


@pytest.mark.parametrize(
    ("hints", "listed", "message"),
    [
        ([], None, "non-empty list"),
        ([{"status": 204, "why": "w"}], None, "exactly the keys"),
        ([_status(status="204")], None, "2xx code the spec does not list"),
        ([_status(status=404)], None, "2xx code the spec does not list"),
        ([_status(status=200)], None, "2xx code the spec does not list"),
        ([_status(**{"instead-of": 201})], None, "2xx code the spec lists"),
        ([_status(**{"instead-of": 404})], None, "2xx code the spec lists"),
        ([_status()], {"200": {"$ref": "#/components/responses/NotFound"}}, "has a body"),
        ([_status()], {"200": {"description": "d", "content": {"application/json": {}}}}, "has a body"),
        ([_status(why=" ")], None, "why must say"),
    ],
)
def test_wrong_status_hints_stop_the_generation(hints: Any, listed: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generator_input.check_server_deviations(_status_document(hints, listed))


def test_deviation_notes_feed_the_templates_and_leave_the_hints_alone() -> None:
    document = _unlisted_document(_unlisted())
    full = document["components"]["schemas"]["Full"]
    full["x-lakefs-server-deviations"] = [_hint(), _unlisted(values=["gone", "lost"])]
    before = copy.deepcopy(full["x-lakefs-server-deviations"])
    generator_input.rewrite(document)
    assert full["x-lakefs-server-deviations"] == before
    assert full[generator_input.ZERO_FIELDS] == ["note"], "only missing and null fields get zero values"
    assert [(line["property"], line["said"]) for line in full[generator_input.DEVIATION_LINES]] == [
        ("note", "missing"),
        ("state", "also 'gone', 'lost'"),
    ]
    assert "x-lakefs-zero-when-absent" not in document["components"]["schemas"]["Basic"]


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
    on_operations = {operation_id: operation[generator_input.DEVIATIONS]
                     for operation_id, operation in generator_input._operations(document).items()
                     if generator_input.DEVIATIONS in operation}
    assert generator_input.check_server_deviations(document) == sum(
        len(hints) for hints in [*hinted.values(), *on_operations.values()]
    )
    assert {"PullRequest", "GarbageCollectionRules", "HookRun"} <= set(hinted)
    assert {"updatePullRequest", "updateObjectUserMetadata"} <= set(on_operations)


def test_the_server_enums_of_our_spec() -> None:
    document = _load_spec()
    generator_input.rewrite(document)
    schemas = document["components"]["schemas"]
    strategy = schemas["Merge"]["properties"]["strategy"]
    assert strategy[generator_input.LITERAL] == "Literal['dest-wins', 'source-wins']"
    assert strategy[generator_input.ENUM_ARGS] == ", also=('',), any_in_answers=True"
    permission = schemas["ACL"]["properties"]["permission"]
    assert permission[generator_input.LITERAL] == "Literal['Read', 'Write', 'Super', 'Admin']"


# -- operations: home module, auth ---------------------------------------------------------------


def test_home_module_is_the_generated_module_name_of_a_tag() -> None:
    assert generator_input.home_module("branches") == "branches_api"
    assert generator_input.home_module("healthCheck") == "health_check_api"
    assert generator_input.home_module("import") == "import_api", "a keyword needs the suffix"


def _operations_document() -> Dict[str, Any]:
    return {
        "security": [{"jwt_token": []}, {"basic_auth": []}],
        "paths": {
            "/a": {"get": {"operationId": "getA", "tags": ["pulls", "experimental"]},
                   "post": {"operationId": "postA", "tags": ["healthCheck"], "security": []}},
            "/b": {"get": {"operationId": "getB", "security": [{"basic_auth": []}, {"jwt_token": []}]},
                   "put": {"operationId": "putB", "tags": ["b"], "security": [{"basic_auth": []}]}},
        },
    }


def test_operations_get_their_home_module_and_auth_where_it_differs() -> None:
    document = _operations_document()
    assert generator_input.add_operation_notes(document) == 2
    ops = generator_input._operations(document)
    assert {op_id: op[generator_input.HOME] for op_id, op in ops.items()} == {
        "getA": "pulls_api", "postA": "health_check_api", "getB": "default_api", "putB": "b_api",
    }
    assert {op_id: op.get(generator_input.AUTH) for op_id, op in ops.items()} == {
        "getA": None, "postA": "()", "getB": None, "putB": "('basic_auth',)",
    }, "the global schemes (in any order) are Operation's default"
    assert ops["getA"]["tags"] == ["pulls", "experimental"], "tags stay unless asked"


def test_keep_home_tags_leaves_each_operation_its_first_tag() -> None:
    document = _operations_document()
    assert generator_input.keep_home_tags(document) == 1
    assert [op.get("tags") for op in generator_input._operations(document).values()] == [
        ["pulls"], ["healthCheck"], None, ["b"],
    ]


def test_a_malformed_security_stops_the_generation() -> None:
    document = _operations_document()
    document["paths"]["/b"]["put"]["security"] = "basic_auth"
    with pytest.raises(ValueError, match=r"putB\.security: security must be a list"):
        generator_input.add_operation_notes(document)


def test_operation_default_auth_is_our_specs_global_security() -> None:
    from lakefs_sdk._operation import API_SECURITY

    document = _load_spec()
    assert set(API_SECURITY) == set(generator_input._scheme_names(document["security"], "security"))
    assert len(API_SECURITY) == len(set(API_SECURITY))
    generator_input.rewrite(document)
    differing = {op_id: op[generator_input.AUTH] for op_id, op in generator_input._operations(document).items()
                 if generator_input.AUTH in op}
    assert differing and set(differing.values()) == {"()"}, "only the operations without credentials differ"
    assert {"login", "healthCheck", "setup"} <= set(differing)


def test_home_tag_only_output_keeps_one_tag_per_operation(tmp_path: Path) -> None:
    out = tmp_path / "home.json"
    assert generator_input.main(["--home-tag-only", str(SPEC), str(out)]) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    operations = generator_input._operations(document)
    assert all(len(op["tags"]) == 1 for op in operations.values())
    assert operations["getPullRequest"]["tags"] == ["pulls"]
    assert operations["getPullRequest"][generator_input.HOME] == "pulls_api"


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
