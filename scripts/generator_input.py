"""Write the document openapi-generator reads: ``api/openapi.yaml``, with generator bugs worked around.

    python scripts/generator_input.py api/openapi.yaml OUT.json

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
  signatures are typed with the values the spec allows.

Checks: every ``x-lakefs-server-deviations`` hint (see :func:`check_server_deviations`)
names a property of its schema, a kind of deviation the models handle, and operations
that exist; a wrong hint stops the generation with a message saying what is wrong.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, Dict, Iterator, List

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
DEVIATIONS = "x-lakefs-server-deviations"
# What a server answer may do to a property, against the spec; the models decode either as
# the property's zero value ("" / [] / {} / 0 / False): see LakeFSModel.zero_when_absent.
DEVIATION_KINDS = ("missing", "null")
DEVIATION_KEYS = frozenset({"property", "sends", "operations", "why"})


def literal_type(values: List[Any]) -> str:
    """The ``Literal[...]`` annotation for a string enum's ``values``."""
    if not values or not all(isinstance(value, str) for value in values):
        raise ValueError(f"only non-empty string enums become Literal types, got {values!r}")
    return "Literal[" + ", ".join(repr(value) for value in values) + "]"


def _annotate_enum(schema: Dict[str, Any], holder: Dict[str, Any]) -> int:
    """Put the Literal type of ``schema``'s enum on ``holder`` (the property or parameter); return 1 if any."""
    if schema.get("type") != "string" or "enum" not in schema:
        return 0
    holder[LITERAL] = literal_type(schema["enum"])
    return 1


def _schema_parts(schema: Dict[str, Any]) -> Iterator[Dict[str, Any]]:
    """``schema`` and its inline ``allOf`` parts (the ones that can hold properties)."""
    yield schema
    for part in schema.get("allOf", []):
        if isinstance(part, dict) and "$ref" not in part:
            yield part


def add_literal_types(document: Dict[str, Any]) -> int:
    """Annotate every string-enum property and parameter with ``x-lakefs-literal``; return how many."""
    count = 0
    for schema in document.get("components", {}).get("schemas", {}).values():
        for part in _schema_parts(schema):
            for prop in (part.get("properties") or {}).values():
                if isinstance(prop, dict):
                    count += _annotate_enum(prop, prop)
    parameters: List[Dict[str, Any]] = list(document.get("components", {}).get("parameters", {}).values())
    for path_item in document.get("paths", {}).values():
        parameters += path_item.get("parameters", [])
        for operation in path_item.values():
            if isinstance(operation, dict):
                parameters += operation.get("parameters", [])
    for parameter in parameters:
        if isinstance(parameter.get("schema"), dict):
            count += _annotate_enum(parameter["schema"], parameter)
    return count


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


def _operation_ids(document: Dict[str, Any]) -> List[str]:
    return [
        operation["operationId"]
        for path_item in document.get("paths", {}).values()
        for operation in path_item.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]


def check_server_deviations(document: Dict[str, Any]) -> int:
    """Check every ``x-lakefs-server-deviations`` hint; return how many deviations there are.

    The hint sits on a component schema: a list of ``{property, sends, operations, why}``,
    one for each property that a real lakeFS server sends against the spec (``sends``:
    ``missing`` or ``null``) in the answers of ``operations``. Raises ``ValueError`` on a
    hint that is malformed or names something the spec does not have.
    """
    known_operations = set(_operation_ids(document))
    count = 0
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        hints = schema.get(DEVIATIONS)
        if hints is None:
            continue
        if not isinstance(hints, list) or not hints:
            raise ValueError(f"{name}: {DEVIATIONS} must be a non-empty list")
        properties = _properties_of(document, name)
        seen: List[str] = []
        for hint in hints:
            where = f"{name}.{DEVIATIONS}"
            if not isinstance(hint, dict) or set(hint) != DEVIATION_KEYS:
                raise ValueError(f"{where}: each entry needs exactly the keys {sorted(DEVIATION_KEYS)}, got {hint!r}")
            prop = hint["property"]
            if prop not in properties:
                raise ValueError(f"{where}: {name} has no property {prop!r}")
            if prop in seen:
                raise ValueError(f"{where}: {prop!r} is listed twice")
            seen.append(prop)
            if hint["sends"] not in DEVIATION_KINDS:
                raise ValueError(f"{where}.{prop}: sends must be one of {DEVIATION_KINDS}, got {hint['sends']!r}")
            operations = hint["operations"]
            if not isinstance(operations, list) or not operations:
                raise ValueError(f"{where}.{prop}: operations must be a non-empty list of operationIds")
            unknown = [op for op in operations if op not in known_operations]
            if unknown:
                raise ValueError(f"{where}.{prop}: no such operation {unknown!r}")
            if not isinstance(hint["why"], str) or not hint["why"].strip():
                raise ValueError(f"{where}.{prop}: why must say what the server does")
            count += 1
    return count


def rewrite(document: Dict[str, Any]) -> int:
    """Apply every rewrite to the component schemas of ``document``; return how many were made.

    Also adds the ``x-lakefs-literal`` types and checks the server-deviation hints.
    """
    schemas: Dict[str, Any] = document.get("components", {}).get("schemas", {})
    folded = sum(fold_required_only_parts(schema) for schema in schemas.values() if isinstance(schema, dict))
    add_literal_types(document)
    check_server_deviations(document)
    return folded


def main(argv: List[str]) -> int:
    """Read the spec at ``argv[0]``, rewrite it, write JSON to ``argv[1]``."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as source:
        document = yaml.load(source, Loader=_SpecLoader)
    rewrite(document)
    with open(argv[1], "w", encoding="utf-8") as target:
        json.dump(document, target, ensure_ascii=False, indent=1)
        target.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
