"""Map a request (method and raw path) to the operationId it addresses in api/openapi.yaml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional, Pattern, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "api" / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def load_spec(path: Path = SPEC) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


class OperationIndex:
    """All operations of a spec, and a matcher from request to operationId."""

    def __init__(self, spec: Optional[dict] = None) -> None:
        spec = spec if spec is not None else load_spec()
        self.operations: Dict[str, Tuple[str, str]] = {}  # operationId -> (METHOD, path template)
        routes: List[Tuple[int, str, Pattern[str], str]] = []
        for template, item in spec["paths"].items():
            pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
            literal_segments = sum(1 for s in template.split("/") if s and not s.startswith("{"))
            for method, op in item.items():
                if method in HTTP_METHODS:
                    self.operations[op["operationId"]] = (method.upper(), template)
                    routes.append((literal_segments, method.upper(), pattern, op["operationId"]))
        # More literal segments first: /refs/dump wins over /refs/{ref}.
        self._routes = sorted(routes, key=lambda r: -r[0])

    def match(self, method: str, raw_path: str) -> Optional[str]:
        for _, route_method, pattern, operation_id in self._routes:
            if route_method == method.upper() and pattern.match(raw_path):
                return operation_id
        return None
