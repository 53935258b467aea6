#!/usr/bin/env python3
"""Compare two OpenAPI 3 documents structurally: the wire contract, never the prose.

    scripts/spec_diff.py REFERENCE CANDIDATE [--json | --quiet]

Prints how many operations and component schemas of REFERENCE are equal in CANDIDATE,
then each missing (``-``), extra (``+``) or differing (``~``) one, with every differing
fact as ``dotted.path: REFERENCE_VALUE -> CANDIDATE_VALUE``. Exit status: 0 when the two
are structurally identical, 1 when anything differs, 2 on a usage or load error.

What counts as a fact: methods, paths, operationIds, tags, deprecation, parameters (the
effective, ordered list after merging path-level parameters; each one's name, location,
required, schema, style), request bodies, responses (codes, media types, schemas, headers),
security, servers, security schemes, and every schema's types, formats, enums, required
lists, defaults, bounds, nullability and additionalProperties. What does not: descriptions,
summaries, examples, titles and external docs, and our own ``x-lakefs-*`` code-generation
hints. Other ``x-*`` extensions are compared (they come from upstream).

References to ``components/parameters|responses|requestBodies|headers`` are inlined;
references to component schemas stay references by name, since each schema is compared
on its own (one changed schema is reported once, not in every operation using it).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import yaml

PROSE_KEYS = frozenset({"description", "summary", "example", "examples", "externalDocs", "title"})
OWN_EXTENSION_PREFIX = "x-lakefs-"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
INLINED_COMPONENTS = ("parameters", "responses", "requestBodies", "headers")
ABSENT = "<absent>"
MAX_VALUE_CHARS = 80


class SpecError(Exception):
    """A document that cannot be loaded or is not an OpenAPI document."""


@dataclass
class ItemDiff:
    """One operation or schema that is missing, extra or different."""

    kind: str  # "operation" or "schema"
    name: str
    status: str  # "missing" (only in REFERENCE), "extra" (only in CANDIDATE), "differs"
    label: str = ""  # "POST /path" for operations
    changes: List[str] = field(default_factory=list)


@dataclass
class DiffReport:
    """The comparison of a candidate document against a reference."""

    operations_total: int
    operations_equal: int
    schemas_total: int
    schemas_equal: int
    items: List[ItemDiff]
    document: List[str]

    @property
    def identical(self) -> bool:
        return not self.items and not self.document

    def count(self, kind: str, status: str) -> int:
        return sum(1 for item in self.items if item.kind == kind and item.status == status)


# -- loading and normalizing -------------------------------------------------------------------


def load_spec(path: str) -> Dict[str, Any]:
    """Read a YAML or JSON OpenAPI document."""
    try:
        with open(path, encoding="utf-8") as file:
            document = yaml.safe_load(file)
    except OSError as error:
        raise SpecError(f"{path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise SpecError(f"{path}: not valid YAML/JSON: {error}") from None
    if not isinstance(document, dict) or "paths" not in document:
        raise SpecError(f"{path}: not an OpenAPI document (no 'paths')")
    return document


class Normalizer:
    """Turns one document's parts into comparable, prose-free structures."""

    def __init__(self, document: Dict[str, Any]) -> None:
        self.document = document
        self.components = document.get("components") or {}

    def resolve(self, node: Any, seen: Tuple[str, ...] = ()) -> Any:
        """Inline non-schema component references; keep schema references by name."""
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                parts = ref.lstrip("#/").split("/")
                if len(parts) == 3 and parts[0] == "components" and parts[1] in INLINED_COMPONENTS:
                    if ref in seen:
                        return {"$ref": ref}
                    target = (self.components.get(parts[1]) or {}).get(parts[2])
                    if target is None:
                        return {"$ref": f"<unresolved {ref}>"}
                    return self.resolve(target, (*seen, ref))
                if len(parts) == 3 and parts[1] == "schemas":
                    return {"$ref": parts[2]}
                return {"$ref": ref}
            return {
                str(key): self.resolve(value, seen)
                for key, value in node.items()
                if key not in PROSE_KEYS and not str(key).startswith(OWN_EXTENSION_PREFIX)
            }
        if isinstance(node, list):
            return [self.resolve(value, seen) for value in node]
        return node

    def schema(self, node: Any) -> Any:
        """A schema with order-free lists sorted and equivalent spellings unified."""
        node = self.resolve(node)
        return _canonical_schema(node)

    def operations(self) -> Dict[str, Tuple[str, Dict[str, Any]]]:
        """operationId (or METHOD path) -> (label, normalized operation)."""
        found: Dict[str, Tuple[str, Dict[str, Any]]] = {}
        for path, item in (self.document.get("paths") or {}).items():
            item = self.resolve(item)
            shared = item.get("parameters", [])
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                op = item[method]
                label = f"{method.upper()} {path}"
                key = op.get("operationId") or label
                found[key] = (label, self._operation(method, path, op, shared))
        return found

    def _operation(self, method: str, path: str, op: Dict[str, Any], shared: List[Any]) -> Dict[str, Any]:
        own = op.get("parameters", [])
        own_keys = {_param_key(p) for p in own}
        parameters = [p for p in shared if _param_key(p) not in own_keys] + list(own)
        normalized: Dict[str, Any] = {
            "method": method.upper(),
            "path": path,
            "tags": op.get("tags", []),
            "deprecated": bool(op.get("deprecated", False)),
            "parameter order": [_param_key(p) for p in parameters],
            "parameters": {_param_key(p): _canonical_param(p) for p in parameters},
            "requestBody": _canonical_schema(op.get("requestBody", ABSENT)),
            "responses": {str(code): _canonical_schema(r) for code, r in (op.get("responses") or {}).items()},
            "security": op.get("security", ABSENT),
        }
        for key, value in op.items():
            if key.startswith("x-"):
                normalized[key] = value
        return normalized


def _param_key(param: Dict[str, Any]) -> str:
    return f"{param.get('name')}@{param.get('in')}"


def _canonical_param(param: Dict[str, Any]) -> Dict[str, Any]:
    canonical = {k: v for k, v in param.items() if k not in ("name", "in")}
    canonical["required"] = bool(param.get("required", False))
    return _canonical_schema(canonical)  # type: ignore[no-any-return]


def _canonical_schema(node: Any) -> Any:
    if isinstance(node, dict):
        result: Dict[str, Any] = {}
        for key, value in node.items():
            if key == "required" and isinstance(value, list):
                result[key] = sorted(value)
            elif key == "additionalProperties" and value == {}:
                result[key] = True
            else:
                result[str(key)] = _canonical_schema(value)
        return result
    if isinstance(node, list):
        return [_canonical_schema(v) for v in node]
    return node


# -- comparing -----------------------------------------------------------------------------------


def leaf_differences(reference: Any, candidate: Any, path: str = "") -> Iterator[str]:
    """Yield ``path: ref -> cand`` for every leaf where the two structures differ."""
    if isinstance(reference, dict) and isinstance(candidate, dict):
        for key in list(reference) + [k for k in candidate if k not in reference]:
            child = f"{path}.{key}" if path else str(key)
            yield from leaf_differences(reference.get(key, ABSENT), candidate.get(key, ABSENT), child)
    elif isinstance(reference, list) and isinstance(candidate, list) and len(reference) == len(candidate):
        for index, (ref_item, cand_item) in enumerate(zip(reference, candidate, strict=True)):
            yield from leaf_differences(ref_item, cand_item, f"{path}[{index}]")
    elif reference != candidate:
        yield f"{path}: {_short(reference)} -> {_short(candidate)}"


def _operation_changes(reference: Dict[str, Any], candidate: Dict[str, Any]) -> List[str]:
    changes = []
    ref_order, cand_order = reference["parameter order"], candidate["parameter order"]
    if ref_order != cand_order and sorted(ref_order) == sorted(cand_order):
        changes.append(f"parameter order differs: {ref_order} -> {cand_order}")
    for key in reference.keys() | candidate.keys():
        if key == "parameter order":
            continue
        ref_value, cand_value = reference.get(key, ABSENT), candidate.get(key, ABSENT)
        if key == "parameters":
            changes.extend(_parameter_changes(ref_value, cand_value))
        else:
            changes.extend(leaf_differences(ref_value, cand_value, key))
    return sorted(changes, key=lambda c: (not c.startswith("parameter order"), c))


def _parameter_changes(reference: Dict[str, Any], candidate: Dict[str, Any]) -> List[str]:
    changes = []
    for name in list(reference) + [n for n in candidate if n not in reference]:
        if name not in candidate:
            changes.append(f"parameters[{name}]: missing")
        elif name not in reference:
            changes.append(f"parameters[{name}]: extra")
        else:
            changes.extend(leaf_differences(reference[name], candidate[name], f"parameters[{name}]"))
    return changes


def diff_specs(reference: Dict[str, Any], candidate: Dict[str, Any]) -> DiffReport:
    """Compare ``candidate`` against ``reference``."""
    ref_norm, cand_norm = Normalizer(reference), Normalizer(candidate)
    items: List[ItemDiff] = []

    ref_ops, cand_ops = ref_norm.operations(), cand_norm.operations()
    ops_equal = 0
    for op_id, (label, ref_op) in ref_ops.items():
        if op_id not in cand_ops:
            items.append(ItemDiff("operation", op_id, "missing", label))
            continue
        changes = _operation_changes(ref_op, cand_ops[op_id][1])
        if changes:
            items.append(ItemDiff("operation", op_id, "differs", label, changes))
        else:
            ops_equal += 1
    for op_id, (label, _) in cand_ops.items():
        if op_id not in ref_ops:
            items.append(ItemDiff("operation", op_id, "extra", label))

    ref_schemas = (reference.get("components") or {}).get("schemas") or {}
    cand_schemas = (candidate.get("components") or {}).get("schemas") or {}
    schemas_equal = 0
    for name, schema in ref_schemas.items():
        if name not in cand_schemas:
            items.append(ItemDiff("schema", name, "missing"))
            continue
        changes = list(leaf_differences(ref_norm.schema(schema), cand_norm.schema(cand_schemas[name])))
        if changes:
            items.append(ItemDiff("schema", name, "differs", changes=changes))
        else:
            schemas_equal += 1
    for name in cand_schemas:
        if name not in ref_schemas:
            items.append(ItemDiff("schema", name, "extra"))

    document = _document_changes(ref_norm, cand_norm)
    return DiffReport(len(ref_ops), ops_equal, len(ref_schemas), schemas_equal, items, document)


def _document_changes(reference: Normalizer, candidate: Normalizer) -> List[str]:
    def facts(n: Normalizer) -> Dict[str, Any]:
        return {
            "servers": [s.get("url") for s in n.document.get("servers") or []],
            "security": n.document.get("security", ABSENT),
            "securitySchemes": n.resolve(n.components.get("securitySchemes") or {}),
        }

    return list(leaf_differences(facts(reference), facts(candidate)))


# -- reporting -----------------------------------------------------------------------------------


def summary_lines(report: DiffReport) -> List[str]:
    """The two count lines, and the document line."""
    lines = []
    for kind, label, total, equal in (
        ("operation", "operations:", report.operations_total, report.operations_equal),
        ("schema", "schemas:   ", report.schemas_total, report.schemas_equal),
    ):
        lines.append(
            f"{label} {equal}/{total} equal, {report.count(kind, 'differs')} differing, "
            f"{report.count(kind, 'missing')} missing, {report.count(kind, 'extra')} extra"
        )
    lines.append("document:   " + ("equal" if not report.document else f"{len(report.document)} differences"))
    return lines


def format_report(report: DiffReport) -> str:
    """The full human-readable report."""
    lines = summary_lines(report)
    if report.document:
        lines += ["", "~ document"] + [f"    {change}" for change in report.document]
    symbols = {"missing": "-", "extra": "+", "differs": "~"}
    where = {"missing": "  (only in REFERENCE)", "extra": "  (only in CANDIDATE)", "differs": ""}
    for item in sorted(report.items, key=lambda i: (i.kind, i.name)):
        label = f"  {item.label}" if item.label else ""
        lines += ["", f"{symbols[item.status]} {item.kind} {item.name}{label}{where[item.status]}"]
        lines += [f"    {change}" for change in item.changes]
    return "\n".join(lines)


def report_json(report: DiffReport) -> str:
    """The report as JSON, for tools."""
    return json.dumps(
        {
            "identical": report.identical,
            "operations": {"total": report.operations_total, "equal": report.operations_equal},
            "schemas": {"total": report.schemas_total, "equal": report.schemas_equal},
            "document": report.document,
            "items": [item.__dict__ for item in report.items],
        },
        indent=2,
    )


def _short(value: Any) -> str:
    text = value if value == ABSENT else json.dumps(value, sort_keys=True)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("reference", help="the document to compare against, e.g. lakeFS's published spec")
    parser.add_argument("candidate", help="the document to check, e.g. api/openapi.yaml")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print a machine-readable report")
    output.add_argument("-q", "--quiet", action="store_true", help="print only the summary lines")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return 2 if exit_.code else 0
    try:
        report = diff_specs(load_spec(args.reference), load_spec(args.candidate))
    except SpecError as error:
        print(f"spec_diff: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(report_json(report))
    elif args.quiet:
        print("\n".join(summary_lines(report)))
    else:
        print(format_report(report))
    return 0 if report.identical else 1


if __name__ == "__main__":
    sys.exit(main())
