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
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, Dict, List

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


def rewrite(document: Dict[str, Any]) -> int:
    """Apply every rewrite to the component schemas of ``document``; return how many were made."""
    schemas: Dict[str, Any] = document.get("components", {}).get("schemas", {})
    return sum(fold_required_only_parts(schema) for schema in schemas.values() if isinstance(schema, dict))


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
