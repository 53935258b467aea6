#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: every step sets up what it needs.
#
#   1. a venv (.venv-test/) with the package and its test and lint extras
#   2. Prism, the spec-validating mock server, from npm into .cache/prism/
#   3. lakeFS 1.84.0 and 1.86.0, real servers built from lakeFS's Go module into .cache/lakefs/
#      (scripts/lakefs_server.py; a cold build takes minutes, later runs reuse the binary)
#   4. the generation drift check (scripts/generate.sh --check)
#   5. lint: ruff on everything, mypy --strict on the hand-written modules
#   6. Prism started on free ports on 127.0.0.1 against api/openapi.yaml, twice (static
#      responses, and dynamic ones with a fixed seed), and lakeFS 1.84.0 on a free port
#   7. pytest: the whole suite, Prism and the real server; a run that collects no test fails
#   8. the integration suite (tests/integration) again against lakeFS 1.86.0, then the
#      operations whose answers differ between the two versions
#   9. on a full run (no arguments), the Prism suite on every supported CPython, 3.10 to 3.14
#      (scripts/test-matrix.sh; SKIP_MATRIX=1 skips this stage)
#
# Every server is stopped whatever happens. Extra arguments go to pytest and skip stages 8
# and 9, e.g. scripts/test.sh tests/unit -k retry
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
"$VENV/bin/pip" install --quiet --disable-pip-version-check -e ".[test,lint,compat,progress,examples]"

step "Prism $PRISM_VERSION ($PRISM_DIR)"
prism_install

LAKEFS_VERSIONS=(1.84.0 1.86.0)
step "lakeFS ${LAKEFS_VERSIONS[*]} (.cache/lakefs/)"
for version in "${LAKEFS_VERSIONS[@]}"; do
  python3 scripts/lakefs_server.py build "$version"
done

if [ "${SKIP_GENERATE_CHECK:-0}" != 1 ]; then
  step "generated code matches api/openapi.yaml and templates/"
  scripts/generate.sh --check
fi

if [ "${SKIP_LINT:-0}" != 1 ]; then
  step "lint"
  "$VENV/bin/ruff" check .
  "$VENV/bin/mypy"
fi

LAKEFS_STATE=$(mktemp -d)
stop_servers() {
  prism_stop
  for version in "${LAKEFS_VERSIONS[@]}"; do
    python3 scripts/lakefs_server.py stop --dir "$LAKEFS_STATE/$version" || true
  done
  rm -rf "$LAKEFS_STATE"
}
trap stop_servers EXIT
trap 'exit 130' INT TERM

# start_lakefs VERSION: start it and export its LAKEFS_* and LAKECTL_* variables.
start_lakefs() {
  local env
  env=$(python3 scripts/lakefs_server.py start "$1" --dir "$LAKEFS_STATE/$1")
  eval "$env"
  export LAKEFS_OUTCOMES_FILE=$LAKEFS_STATE/outcomes-$1.json
}

step "starting Prism (static and dynamic) on 127.0.0.1"
prism_start PRISM_URL static
prism_start PRISM_DYNAMIC_URL dynamic --dynamic --seed "$PRISM_SEED"
export PRISM_URL PRISM_DYNAMIC_URL LAKEFS_SDK_REQUIRE_PRISM=1
echo "static: $PRISM_URL  dynamic: $PRISM_DYNAMIC_URL"

step "starting lakeFS ${LAKEFS_VERSIONS[0]} on 127.0.0.1"
start_lakefs "${LAKEFS_VERSIONS[0]}"
export LAKEFS_SDK_REQUIRE_LAKEFS=1
echo "lakeFS $LAKEFS_VERSION: $LAKEFS_ENDPOINT"

# run_pytest ARGS...: pytest in the test venv; "no tests collected" (exit 5) is a failure.
run_pytest() {
  local status=0
  "$VENV/bin/python" -m pytest "$@" || status=$?
  if [ "$status" = 5 ]; then
    echo "pytest collected no tests: failing" >&2
    return 1
  fi
  return "$status"
}

step "pytest"
run_pytest "$@"
[ $# = 0 ] || exit 0

for version in "${LAKEFS_VERSIONS[@]:1}"; do
  python3 scripts/lakefs_server.py stop --dir "$LAKEFS_STATE/$LAKEFS_VERSION"
  step "the integration suite against lakeFS $version"
  start_lakefs "$version"
  echo "lakeFS $LAKEFS_VERSION: $LAKEFS_ENDPOINT"
  run_pytest tests/integration
done
step "operations answered differently by lakeFS ${LAKEFS_VERSIONS[*]}"
outcomes=()
for version in "${LAKEFS_VERSIONS[@]}"; do outcomes+=("$LAKEFS_STATE/outcomes-$version.json"); done
python3 scripts/compare_outcomes.py "${outcomes[@]}"

if [ "${SKIP_MATRIX:-0}" != 1 ]; then
  stop_servers
  trap - EXIT
  unset LAKEFS_SDK_REQUIRE_LAKEFS LAKEFS_ENDPOINT
  step "the Prism suite on every supported CPython (scripts/test-matrix.sh)"
  # The real-server tests ran above; they do not depend on the Python version.
  scripts/test-matrix.sh -m "not lakefs"
fi
