"""Hypothesis strategies producing JSON documents valid against an OpenAPI schema of our spec.

Covers what api/openapi.yaml uses: $ref, allOf, enum, nullable, pattern, minLength,
minimum/maximum, minItems, date-time, additionalProperties. Objects may also carry
unknown extra fields, as a newer server would send.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict

from hypothesis import strategies as st

INT64 = (-(2**63), 2**63 - 1)
EXTRA_FIELD = st.text(alphabet="xyz_", min_size=8, max_size=12).map(lambda s: "unknown_" + s)


def documents(schema: Dict[str, Any], schemas: Dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Valid documents for ``schema``; ``schemas`` are the spec's components (for $ref)."""
    if "$ref" in schema:
        target = schemas[schema["$ref"].rsplit("/", 1)[1]]
        return st.deferred(lambda: documents(target, schemas, depth + 1))
    if "allOf" in schema:
        return _object(_merge_all_of(schema, schemas), schemas, depth)
    base = _base(schema, schemas, depth)
    return st.none() | base if schema.get("nullable") else base


def _base(schema: Dict[str, Any], schemas: Dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type", "object")
    if kind == "string":
        if schema.get("format") == "date-time":
            moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc))
            return moments.map(lambda d: d.isoformat().replace("+00:00", "Z"))
        if "pattern" in schema:
            return st.from_regex(schema["pattern"]).filter(lambda s: len(s) >= schema.get("minLength", 0))
        return st.text(min_size=schema.get("minLength", 0), max_size=20)
    if kind == "integer":
        return st.integers(schema.get("minimum", INT64[0]), schema.get("maximum", INT64[1]))
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = documents(schema.get("items", {"type": "string"}), schemas, depth + 1)
        minimum = schema.get("minItems", 0)
        return st.lists(items, min_size=minimum, max_size=minimum + (2 if depth < 3 else 0))
    return _object(schema, schemas, depth)


def _object(schema: Dict[str, Any], schemas: Dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    if not properties and isinstance(extra, dict):
        return st.dictionaries(st.text(max_size=8), documents(extra, schemas, depth + 1), max_size=3)
    required = set(schema.get("required", []))
    fields = {k: documents(v, schemas, depth + 1) for k, v in properties.items() if k in required}
    optional = {k: documents(v, schemas, depth + 1) for k, v in properties.items() if k not in required and depth < 4}
    unknown = st.dictionaries(EXTRA_FIELD, st.integers() | st.text(max_size=5), max_size=2)
    return st.tuples(st.fixed_dictionaries(fields, optional=optional), unknown).map(lambda pair: {**pair[1], **pair[0]})


def _merge_all_of(schema: Dict[str, Any], schemas: Dict[str, Any]) -> Dict[str, Any]:
    merged: Dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for part in schema["allOf"]:
        if "$ref" in part:
            part = schemas[part["$ref"].rsplit("/", 1)[1]]
        if "allOf" in part:
            part = _merge_all_of(part, schemas)
        merged["properties"].update(part.get("properties", {}))
        merged["required"] += part.get("required", [])
    return merged
