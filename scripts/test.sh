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
#
# Extra arguments go to pytest, e.g. scripts/test.sh tests/unit -k retry
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv-test}
PRISM_VERSION=5.16.0
PRISM_DIR=.cache/prism
PRISM_SEED=${PRISM_SEED:-lakefs-sdk}

step() { printf '\n==> %s\n' "$*"; }

step "test venv ($VENV, $("$PYTHON" --version 2>&1))"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/pip" install --quiet --disable-pip-version-check -e ".[test,lint]"

step "Prism $PRISM_VERSION ($PRISM_DIR)"
prism="$PRISM_DIR/node_modules/.bin/prism"
if [ ! -x "$prism" ] || [ "$("$prism" --version 2>/dev/null)" != "$PRISM_VERSION" ]; then
  mkdir -p "$PRISM_DIR"
  npm install --prefix "$PRISM_DIR" --no-audit --no-fund --loglevel=error "@stoplight/prism-cli@$PRISM_VERSION"
fi

if [ "${SKIP_GENERATE_CHECK:-0}" != 1 ]; then
  step "generated code matches api/openapi.yaml and templates/"
  scripts/generate.sh --check
fi

if [ "${SKIP_LINT:-0}" != 1 ]; then
  step "lint"
  "$VENV/bin/ruff" check .
  "$VENV/bin/mypy"
fi

free_port() { "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

pids=()
logdir=$(mktemp -d)
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$logdir"
}
trap cleanup EXIT INT TERM

# start_prism NAME ARGS...: start Prism in the background on a free port; print its URL.
start_prism() {
  local name=$1; shift
  local port; port=$(free_port)
  "$prism" mock --host 127.0.0.1 --port "$port" --errors "$@" api/openapi.yaml >"$logdir/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 120); do
    if grep -q "Prism is listening" "$logdir/$name.log"; then
      echo "http://127.0.0.1:$port"
      return 0
    fi
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then break; fi
    sleep 0.5
  done
  cat "$logdir/$name.log" >&2
  echo "Prism ($name) did not start" >&2
  return 1
}

step "starting Prism (static and dynamic) on 127.0.0.1"
PRISM_URL=$(start_prism static)
PRISM_DYNAMIC_URL=$(start_prism dynamic --dynamic --seed "$PRISM_SEED")
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
exit "$status"
