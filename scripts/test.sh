#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: every step sets up what it needs.
#
#   1. a venv (.venv-test/) with the package and its test and lint extras
#   2. Prism, the spec-validating mock server, from npm into .cache/prism/
#   3. the generation drift check (scripts/generate.sh --check)
#   4. lint: ruff on everything, mypy --strict on the hand-written modules
#   5. Prism started on free ports on 127.0.0.1 against api/openapi.yaml, twice:
#      static responses, and dynamic (schema-generated, fixed seed) responses
#   6. pytest; Prism is stopped whatever happens, and a run that collects no test fails
#   7. on a full run (no arguments), the same suite on every supported CPython, 3.10 to 3.14
#      (scripts/test-matrix.sh; SKIP_MATRIX=1 skips this stage)
#
# Extra arguments go to pytest and skip stage 7, e.g. scripts/test.sh tests/unit -k retry
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv-test}
PRISM_PYTHON=$VENV/bin/python
# shellcheck source-path=SCRIPTDIR source=lib/prism.sh
. scripts/lib/prism.sh   # PRISM_VERSION, PRISM_DIR, PRISM_SEED, prism_install/start/stop

step() { printf '\n==> %s\n' "$*"; }

step "test venv ($VENV, $("$PYTHON" --version 2>&1))"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/pip" install --quiet --disable-pip-version-check -e ".[test,lint,compat,progress]"

step "Prism $PRISM_VERSION ($PRISM_DIR)"
prism_install

if [ "${SKIP_GENERATE_CHECK:-0}" != 1 ]; then
  step "generated code matches api/openapi.yaml and templates/"
  scripts/generate.sh --check
fi

if [ "${SKIP_LINT:-0}" != 1 ]; then
  step "lint"
  "$VENV/bin/ruff" check .
  "$VENV/bin/mypy"
fi

trap prism_stop EXIT INT TERM

step "starting Prism (static and dynamic) on 127.0.0.1"
prism_start PRISM_URL static
prism_start PRISM_DYNAMIC_URL dynamic --dynamic --seed "$PRISM_SEED"
export PRISM_URL PRISM_DYNAMIC_URL LAKEFS_SDK_REQUIRE_PRISM=1
echo "static: $PRISM_URL  dynamic: $PRISM_DYNAMIC_URL"

step "pytest"
set +e
"$VENV/bin/python" -m pytest "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
[ "$status" = 0 ] || exit "$status"

if [ $# = 0 ] && [ "${SKIP_MATRIX:-0}" != 1 ]; then
  prism_stop
  step "the suite on every supported CPython (scripts/test-matrix.sh)"
  scripts/test-matrix.sh
fi
