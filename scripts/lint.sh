#!/usr/bin/env bash
# Lint: ruff on everything, mypy --strict on the hand-written modules (see pyproject.toml).
# scripts/test.sh runs the same checks; this is the quick way while editing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-test}
[ -x "$VENV/bin/ruff" ] || { echo "run scripts/test.sh once to create $VENV" >&2; exit 2; }
"$VENV/bin/ruff" check .
"$VENV/bin/mypy"
