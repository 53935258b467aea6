"""Write the document openapi-generator reads: ``api/openapi.yaml``, with generator bugs worked around.

    python scripts/generator_input.py [--home-tag-only] api/openapi.yaml OUT.json

``api/openapi.yaml`` stays the one source of truth: Prism, ``scripts/spec_diff.py`` and
readers use it as written. This step rewrites only constructs that openapi-generator
misreads, into equivalent ones (the same JSON Schema meaning), so that the generated
models say what the spec says. ``scripts/generate.sh`` runs it before every generation.

Rewrites:

- An ``allOf`` part that holds nothing but a ``required`` list (``PullRequest`` makes the
  optional fields of ``PullRequestBasic`` required that way) is dropped by the generator,
  which then makes those fields optional (openapi-generator issue 14163). Its names are
  moved into the ``required`` list of the ``allOf``'s inline object part.

Additions (``x-lakefs-*`` keys the templates read; the wire meaning is unchanged):

- ``x-lakefs-literal``: the Python type of every string property and parameter with an
  ``enum`` (``Literal['object', 'common_prefix', 'reset']``), so models and method
  signatures are typed with the values the spec allows; ``x-lakefs-enum-args``: the
  keyword arguments of a model property's enum validator, which reads the values from the
  ``Literal`` (so they are written once).
- From our hints: an ``x-lakefs-enum`` hint on a string property (values lakeFS checks
  although the spec lists none) types it as those values; an ``unlisted`` deviation hint
  adds the values the server sends besides the enum's; ``x-lakefs-zero-when-absent`` and
  ``x-lakefs-deviation-lines`` carry the deviations to the model templates.

Checks: every ``x-lakefs-server-deviations`` hint (see :func:`check_server_deviations`)
names a property of its schema (or sits on an operation), a kind of deviation the SDK
handles, and operations that exist; every ``x-lakefs-enum`` hint sits on a string property
without an enum. A wrong hint stops the generation with a message saying what is wrong.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, Dict, Iterator, List, Tuple

import yaml

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_BOOL = "tag:yaml.org,2002:bool"


class _SpecLoader(yaml.SafeLoader):
    """YAML safe loading, except that dates and yes/no/on/off stay strings.

    Only ``true``/``false`` become booleans (as in YAML 1.2 and JSON), so that no enum
    value or example changes type on its way to JSON.
    """


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_TIMESTAMP, _BOOL)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SpecLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def fold_required_only_parts(schema: Dict[str, Any]) -> int:
    """Move required-only ``allOf`` parts of ``schema`` into its inline object part; return how many."""
    parts: List[Any] = schema.get("allOf", [])
    required_only = [part for part in parts if isinstance(part, dict) and set(part) == {"required"}]
    if not required_only:
        return 0
    inline = [part for part in parts if isinstance(part, dict) and "properties" in part]
    if inline:
        target = inline[0]
    else:
        target = {"type": "object"}
        parts.append(target)
    names: List[str] = list(target.get("required", []))
    for part in required_only:
        names += [name for name in part["required"] if name not in names]
        parts.remove(part)
    target["required"] = names
    return len(required_only)


LITERAL = "x-lakefs-literal"
ENUM_ARGS = "x-lakefs-enum-args"
SERVER_ENUM = "x-lakefs-enum"
DEVIATIONS = "x-lakefs-server-deviations"
ZERO_FIELDS = "x-lakefs-zero-when-absent"
DEVIATION_LINES = "x-lakefs-deviation-lines"

# What a server answer may do to a property, against the spec. "missing" and "null": the
# models decode either as the property's zero value ("" / [] / {} / 0 / False), see
# LakeFSModel.zero_when_absent. "unlisted": the property has an enum and the server also
# sends the hint's ``values``, which decoding keeps (LakeFSModel.enum_validator).
DEVIATION_KINDS = ("missing", "null", "unlisted")
ZERO_KINDS = ("missing", "null")
DEVIATION_KEYS = frozenset({"property", "sends", "operations", "why"})
UNLISTED_KEYS = DEVIATION_KEYS | {"values"}
# An operation's hint: lakeFS answers a success with ``status``, which the spec does not
# list, ``instead-of`` the one it lists; both carry no body, so the SDK returns None either way.
STATUS_KEYS = frozenset({"status", "instead-of", "why"})
# A string property's hint: the values lakeFS accepts although the spec lists none;
# ``also-accepted`` (optional) are values it takes as "unset", accepted but left out of the type.
SERVER_ENUM_KEYS = frozenset({"values", "why"})
SERVER_ENUM_OPTIONAL_KEYS = frozenset({"also-accepted"})


def literal_type(values: List[Any]) -> str:
    """The ``Literal[...]`` annotation for a string enum's ``values``."""
    if not values or not all(isinstance(value, str) for value in values):
        raise ValueError(f"only non-empty string enums become Literal types, got {values!r}")
    return "Literal[" + ", ".join(repr(value) for value in values) + "]"


def python_tuple(values: List[str]) -> str:
    """``values`` as a Python tuple literal: ``('a', 'b')``, ``('a',)``."""
    if len(values) == 1:
        return f"({values[0]!r},)"
    return "(" + ", ".join(repr(value) for value in values) + ")"


def _strings(value: Any, where: str, *, allow_empty_list: bool = False) -> List[str]:
    """``value`` if it is a list of distinct strings (non-empty unless allowed), else a ValueError."""
    if not isinstance(value, list) or (not value and not allow_empty_list):
        raise ValueError(f"{where} must be a non-empty list of strings, got {value!r}")
    if not all(isinstance(item, str) for item in value) or len(set(value)) != len(value):
        raise ValueError(f"{where} must hold distinct strings, got {value!r}")
    return value


def check_server_enum(prop: Dict[str, Any], where: str) -> Tuple[List[str], List[str]]:
    """Check the ``x-lakefs-enum`` hint of ``prop``; return its (values, also-accepted).

    The hint names the values lakeFS accepts for a string property whose spec lists none,
    with ``why`` saying where the server checks them.
    """
    hint = prop[SERVER_ENUM]
    where = f"{where}.{SERVER_ENUM}"
    if not isinstance(hint, dict) or not SERVER_ENUM_KEYS <= set(hint) <= SERVER_ENUM_KEYS | SERVER_ENUM_OPTIONAL_KEYS:
        raise ValueError(f"{where}: needs the keys {sorted(SERVER_ENUM_KEYS)} (and may have "
                         f"{sorted(SERVER_ENUM_OPTIONAL_KEYS)}), got {hint!r}")
    if prop.get("type") != "string" or "enum" in prop:
        raise ValueError(f"{where}: only a string property without an enum takes this hint")
    values = _strings(hint["values"], f"{where}.values")
    also = _strings(hint.get("also-accepted", []), f"{where}.also-accepted", allow_empty_list=True)
    if set(values) & set(also):
        raise ValueError(f"{where}: {sorted(set(values) & set(also))!r} are both values and also-accepted")
    if not isinstance(hint["why"], str) or not hint["why"].strip():
        raise ValueError(f"{where}.why must say where lakeFS checks the values")
    return values, also


def _enum_args(also: List[str], from_server: List[str], any_in_answers: bool) -> str:
    """The keyword arguments after the field name of the model's ``LakeFSModel.enum_validator`` call.

    Empty, or starting with ``", "``. The allowed values are not among them: the validator
    reads them from the field's ``Literal`` type.
    """
    args = ""
    if also:
        args += f", also={python_tuple(also)}"
    if from_server:
        args += f", from_server={python_tuple(from_server)}"
    if any_in_answers:
        args += ", any_in_answers=True"
    return args


def _annotate_enum(schema: Dict[str, Any], holder: Dict[str, Any], from_server: List[str], *, model: bool) -> int:
    """Put the Literal type of ``schema``'s enum on ``holder`` (the property or parameter); return 1 if any.

    ``from_server`` are values a real server sends besides the enum's: they are in the
    Literal type (a value read from an answer may be one of them) and the validator
    accepts them in answers only. A ``model`` property also gets its validator's arguments.
    """
    if schema.get("type") != "string" or "enum" not in schema:
        return 0
    holder[LITERAL] = literal_type(schema["enum"] + from_server)
    if model:
        holder[ENUM_ARGS] = _enum_args([], from_server, any_in_answers=False)
    return 1


def _annotate_server_enum(prop: Dict[str, Any], where: str) -> int:
    """Type a property with an ``x-lakefs-enum`` hint as its values; return 1 if it has one.

    The type and the validator of models built in Python hold the hint's ``values`` (and
    accept its ``also-accepted``); answers may hold any string, as the spec says.
    """
    if SERVER_ENUM not in prop:
        return 0
    values, also = check_server_enum(prop, where)
    prop[LITERAL] = literal_type(values)
    prop[ENUM_ARGS] = _enum_args(also, [], any_in_answers=True)
    return 1


def _schema_parts(schema: Dict[str, Any]) -> Iterator[Dict[str, Any]]:
    """``schema`` and its inline ``allOf`` parts (the ones that can hold properties)."""
    yield schema
    for part in schema.get("allOf", []):
        if isinstance(part, dict) and "$ref" not in part:
            yield part


def _unlisted_values(schema: Dict[str, Any]) -> Dict[str, List[str]]:
    """Property -> the values of its ``unlisted`` deviation hint, for ``schema``'s hints."""
    hints = schema.get(DEVIATIONS) or []
    return {hint["property"]: list(hint["values"]) for hint in hints
            if isinstance(hint, dict) and hint.get("sends") == "unlisted"}


def add_literal_types(document: Dict[str, Any]) -> int:
    """Annotate every string-enum property and parameter with ``x-lakefs-literal``; return how many.

    Properties also get ``x-lakefs-enum-args``, the arguments of their enum validator; an
    ``x-lakefs-enum`` hint counts as an enum, and an ``unlisted`` deviation hint adds its values.
    """
    count = 0
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        from_server = _unlisted_values(schema)
        for part in _schema_parts(schema):
            for prop_name, prop in (part.get("properties") or {}).items():
                if isinstance(prop, dict):
                    count += _annotate_enum(prop, prop, from_server.get(prop_name, []), model=True)
                    count += _annotate_server_enum(prop, f"{name}.{prop_name}")
    parameters: List[Dict[str, Any]] = list(document.get("components", {}).get("parameters", {}).values())
    for path_item in document.get("paths", {}).values():
        parameters += path_item.get("parameters", [])
        for operation in path_item.values():
            if isinstance(operation, dict):
                parameters += operation.get("parameters", [])
    for parameter in parameters:
        if isinstance(parameter.get("schema"), dict):
            count += _annotate_enum(parameter["schema"], parameter, [], model=False)
    return count


_PROPERTY_POINTER = re.compile(r"/components/schemas/[^/]+(/allOf/\d+)?/properties/[^/]+")


def _misplaced_server_enums(node: Any, pointer: str = "") -> Iterator[str]:
    """JSON pointers of ``x-lakefs-enum`` hints that are not on a component schema's property."""
    if isinstance(node, dict):
        if SERVER_ENUM in node and not _PROPERTY_POINTER.fullmatch(pointer):
            yield pointer or "/"
        for key, value in node.items():
            if key != SERVER_ENUM:
                yield from _misplaced_server_enums(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _misplaced_server_enums(item, f"{pointer}/{index}")


def _properties_of(document: Dict[str, Any], name: str) -> Dict[str, Any]:
    """Every property of component schema ``name``, through its ``allOf`` references."""
    schema = document["components"]["schemas"][name]
    found: Dict[str, Any] = {}
    for part in schema.get("allOf", []):
        ref = part.get("$ref", "") if isinstance(part, dict) else ""
        if ref.startswith("#/components/schemas/"):
            found.update(_properties_of(document, ref.rsplit("/", 1)[1]))
    for part in _schema_parts(schema):
        found.update(part.get("properties") or {})
    return found


def _own_properties(schema: Dict[str, Any]) -> Dict[str, Any]:
    """The properties ``schema`` declares itself (not through an ``allOf`` reference)."""
    found: Dict[str, Any] = {}
    for part in _schema_parts(schema):
        found.update(part.get("properties") or {})
    return found


def _operations(document: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """operationId -> operation."""
    return {
        operation["operationId"]: operation
        for path_item in document.get("paths", {}).values()
        for operation in path_item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }


def _check_unlisted(hint: Dict[str, Any], schema: Dict[str, Any], where: str) -> None:
    prop = _own_properties(schema).get(hint["property"])
    if not isinstance(prop, dict) or prop.get("type") != "string" or "enum" not in prop:
        raise ValueError(f"{where}: sends unlisted needs a string property with an enum, declared by the schema itself")
    values = _strings(hint["values"], f"{where}.values")
    listed = [value for value in values if value in prop["enum"]]
    if listed:
        raise ValueError(f"{where}: {listed!r} are in the enum already")


def _check_schema_hint(hint: Any, name: str, schema: Dict[str, Any], properties: Dict[str, Any],
                       known_operations: Dict[str, Any], seen: List[str]) -> None:
    where = f"{name}.{DEVIATIONS}"
    keys = UNLISTED_KEYS if isinstance(hint, dict) and hint.get("sends") == "unlisted" else DEVIATION_KEYS
    if not isinstance(hint, dict) or set(hint) != keys:
        raise ValueError(f"{where}: each entry needs exactly the keys {sorted(keys)}, got {hint!r}")
    prop = hint["property"]
    if prop not in properties:
        raise ValueError(f"{where}: {name} has no property {prop!r}")
    if prop in seen:
        raise ValueError(f"{where}: {prop!r} is listed twice")
    seen.append(prop)
    if hint["sends"] not in DEVIATION_KINDS:
        raise ValueError(f"{where}.{prop}: sends must be one of {DEVIATION_KINDS}, got {hint['sends']!r}")
    if hint["sends"] == "unlisted":
        _check_unlisted(hint, schema, f"{where}.{prop}")
    operations = hint["operations"]
    if not isinstance(operations, list) or not operations:
        raise ValueError(f"{where}.{prop}: operations must be a non-empty list of operationIds")
    unknown = [op for op in operations if op not in known_operations]
    if unknown:
        raise ValueError(f"{where}.{prop}: no such operation {unknown!r}")
    if not isinstance(hint["why"], str) or not hint["why"].strip():
        raise ValueError(f"{where}.{prop}: why must say what the server does")


def _response(document: Dict[str, Any], response: Any) -> Dict[str, Any]:
    """``response``, or the component response its ``$ref`` names."""
    ref = response.get("$ref", "") if isinstance(response, dict) else ""
    if ref.startswith("#/components/responses/"):
        response = document["components"]["responses"][ref.rsplit("/", 1)[1]]
    return response if isinstance(response, dict) else {}


def _check_status_hint(hint: Any, operation_id: str, operation: Dict[str, Any], document: Dict[str, Any]) -> None:
    where = f"{operation_id}.{DEVIATIONS}"
    if not isinstance(hint, dict) or set(hint) != STATUS_KEYS:
        raise ValueError(f"{where}: each entry needs exactly the keys {sorted(STATUS_KEYS)}, got {hint!r}")
    responses = {str(code): value for code, value in (operation.get("responses") or {}).items()}
    status, listed = hint["status"], hint["instead-of"]
    if not isinstance(status, int) or not 200 <= status <= 299 or str(status) in responses:
        raise ValueError(f"{where}: status must be a 2xx code the spec does not list, got {status!r}")
    if not isinstance(listed, int) or not 200 <= listed <= 299 or str(listed) not in responses:
        raise ValueError(f"{where}: instead-of must be a 2xx code the spec lists, got {listed!r}")
    if _response(document, responses[str(listed)]).get("content"):
        raise ValueError(f"{where}: the {listed} answer has a body; an answer without one needs more than a hint")
    if not isinstance(hint["why"], str) or not hint["why"].strip():
        raise ValueError(f"{where}: why must say what the server does")


def check_server_deviations(document: Dict[str, Any]) -> int:
    """Check every ``x-lakefs-server-deviations`` and ``x-lakefs-enum`` hint; return how many deviations there are.

    A schema's hint is a list of ``{property, sends, operations, why}``, one for each
    property that a real lakeFS server sends against the spec in the answers of
    ``operations``: ``sends`` is ``missing``, ``null``, or ``unlisted`` (with ``values``:
    the strings it sends besides the property's enum). An operation's hint is a list of
    ``{status, instead-of, why}``: lakeFS answers ``status`` where the spec lists
    ``instead-of``. Raises ``ValueError`` on a hint that is malformed or names something
    the spec does not have.
    """
    misplaced = list(_misplaced_server_enums(document))
    if misplaced:
        raise ValueError(f"{SERVER_ENUM} belongs on a component schema's string property, not at {misplaced!r}")
    known_operations = _operations(document)
    count = 0
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        for prop_name, prop in _own_properties(schema).items():
            if isinstance(prop, dict) and SERVER_ENUM in prop:
                check_server_enum(prop, f"{name}.{prop_name}")
        hints = schema.get(DEVIATIONS)
        if hints is None:
            continue
        if not isinstance(hints, list) or not hints:
            raise ValueError(f"{name}: {DEVIATIONS} must be a non-empty list")
        properties = _properties_of(document, name)
        seen: List[str] = []
        for hint in hints:
            _check_schema_hint(hint, name, schema, properties, known_operations, seen)
            count += 1
    for operation_id, operation in known_operations.items():
        hints = operation.get(DEVIATIONS)
        if hints is None:
            continue
        if not isinstance(hints, list) or not hints:
            raise ValueError(f"{operation_id}: {DEVIATIONS} must be a non-empty list")
        for hint in hints:
            _check_status_hint(hint, operation_id, operation, document)
            count += 1
    return count


def _said(hint: Dict[str, Any]) -> str:
    """How a model's docstring says what the server sends for ``hint``."""
    if hint["sends"] == "unlisted":
        return "also " + ", ".join(repr(value) for value in hint["values"])
    return str(hint["sends"])


def add_deviation_notes(document: Dict[str, Any]) -> None:
    """Put what the model templates need from the (checked) deviation hints on each schema.

    ``x-lakefs-zero-when-absent``: the properties decoded as their zero value when missing
    or null; ``x-lakefs-deviation-lines``: one ``{property, said, operations, why}`` per
    hint for the docstrings. The hints themselves stay as written.
    """
    for schema in document.get("components", {}).get("schemas", {}).values():
        hints = schema.get(DEVIATIONS)
        if not hints:
            continue
        zero = [hint["property"] for hint in hints if hint["sends"] in ZERO_KINDS]
        if zero:
            schema[ZERO_FIELDS] = zero
        schema[DEVIATION_LINES] = [
            {"property": hint["property"], "said": _said(hint), "operations": hint["operations"], "why": hint["why"]}
            for hint in hints
        ]


HOME = "x-lakefs-home"
AUTH = "x-lakefs-auth"
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def home_module(tag: str) -> str:
    """The ``lakefs_sdk._operations`` module of the operations whose first tag is ``tag``.

    The name openapi-generator gives the module of an API tag (``healthCheck`` ->
    ``health_check_api``, as in ``lakefs_sdk.api``; the suffix keeps ``import`` a valid name).
    """
    return _CAMEL_BOUNDARY.sub("_", tag).replace("-", "_").replace(" ", "_").lower() + "_api"


def _scheme_names(requirements: Any, where: str) -> List[str]:
    """The scheme names of a ``security`` list (alternatives, each ``{scheme: scopes}``), in order."""
    if not isinstance(requirements, list) or not all(isinstance(item, dict) for item in requirements):
        raise ValueError(f"{where}: security must be a list of objects, got {requirements!r}")
    names: List[str] = []
    for requirement in requirements:
        names += [name for name in requirement if name not in names]
    return names


def add_operation_notes(document: Dict[str, Any]) -> int:
    """Put ``x-lakefs-home`` on every operation and ``x-lakefs-auth`` where its security differs.

    Returns how many operations got ``x-lakefs-auth``. An operation without tags is in the
    generator's ``default`` tag.
    """
    global_schemes = _scheme_names(document.get("security", []), "security")
    differing = 0
    for operation_id, operation in _operations(document).items():
        tags = operation.get("tags") or ["default"]
        if not isinstance(tags, list) or not isinstance(tags[0], str):
            raise ValueError(f"{operation_id}: tags must be a list of strings, got {tags!r}")
        operation[HOME] = home_module(tags[0])
        if "security" not in operation:
            continue
        schemes = _scheme_names(operation["security"], f"{operation_id}.security")
        if set(schemes) != set(global_schemes):
            operation[AUTH] = "(" + "".join(f"{name!r}, " for name in schemes).rstrip(" ") + ")"
            differing += 1
    return differing


def keep_home_tags(document: Dict[str, Any]) -> int:
    """Leave each operation only its first tag; return how many lost some."""
    changed = 0
    for operation in _operations(document).values():
        if len(operation.get("tags", [])) > 1:
            operation["tags"] = operation["tags"][:1]
            changed += 1
    return changed


def rewrite(document: Dict[str, Any]) -> int:
    """Apply every rewrite to the component schemas of ``document``; return how many were made.

    Also checks the hints, then adds the ``x-lakefs-literal`` types, the enum validators'
    arguments and the deviation notes the templates read.
    """
    schemas: Dict[str, Any] = document.get("components", {}).get("schemas", {})
    folded = sum(fold_required_only_parts(schema) for schema in schemas.values() if isinstance(schema, dict))
    check_server_deviations(document)
    add_literal_types(document)
    add_deviation_notes(document)
    add_operation_notes(document)
    return folded


def main(argv: List[str]) -> int:
    """Read the spec at ``argv[0]``, rewrite it, write JSON to ``argv[1]``.

    ``--home-tag-only`` first: also keep only each operation's first tag (:func:`keep_home_tags`).
    """
    home_only = bool(argv) and argv[0] == "--home-tag-only"
    if home_only:
        argv = argv[1:]
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as source:
        document = yaml.load(source, Loader=_SpecLoader)
    rewrite(document)
    if home_only:
        keep_home_tags(document)
    with open(argv[1], "w", encoding="utf-8") as target:
        json.dump(document, target, ensure_ascii=False, indent=1)
        target.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
