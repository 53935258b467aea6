#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: every step sets up what it needs.
#
#   1. a venv (.venv-test/) with the package and its test, lint and spark extras (pyspark from a
#      wheel built once into .cache/wheels/ by scripts/pyspark_wheel.sh)
#   2. Prism, the spec-validating mock server, from npm into .cache/prism/
#   3. lakeFS 1.84.0 and 1.86.0, real servers built from lakeFS's Go module into .cache/lakefs/
#      (scripts/lakefs_server.py), and the S3 store (SeaweedFS) from its Go module into
#      .cache/object-store/ (scripts/object_store.py); a cold build takes minutes (the store's
#      6-13), later runs reuse the binaries
#   4. the generation drift check (scripts/generate.sh --check)
#   5. lint: ruff on everything, mypy --strict on the hand-written modules
#   6. Prism started on free ports on 127.0.0.1 against api/openapi.yaml, twice (static
#      responses, and dynamic ones with a fixed seed), and lakeFS 1.84.0 on a free port, its
#      blockstore local
#   7. pytest: the whole suite, Prism and the real server; a run that collects no test fails
#   8. lakeFS 1.84.0 again, its blockstore on the S3 store (both on 127.0.0.1), and the modules
#      whose behaviour depends on the store (tests/support/store_modules.py: objects, staging,
#      experimental, import, bulk, faults, the S3 ones and compat's *_on_lakefs.py) against it,
#      with LAKEFS_STORE=s3; then which operations it answered differently from the local run
#   9. the integration suite (tests/integration) again against lakeFS 1.86.0 (local store),
#      then the operations whose answers differ between the two versions
#  10. on a full run (no arguments), the Prism suite on every supported CPython, 3.10 to 3.14
#      (scripts/test-matrix.sh; SKIP_MATRIX=1 skips this stage)
#
# Every server (and the S3 store) is stopped whatever happens. Extra arguments go to pytest
# and skip stages 8 to 10, e.g. scripts/test.sh tests/unit -k retry; such a targeted run uses
# the local store unless LAKEFS_STORE=s3 asks for lakeFS on the S3 store instead, e.g.
#   LAKEFS_STORE=s3 scripts/test.sh tests/integration/test_objects.py -q
set -euo pipefail
cd "$(dirname "$0")/.."

# Read before any server's environment (which names its own store) is evaluated.
TARGETED_STORE=${LAKEFS_STORE:-local}
case "$TARGETED_STORE" in
  local|s3) ;;
  *) echo "LAKEFS_STORE must be local or s3, not '$TARGETED_STORE'" >&2; exit 2 ;;
esac
[ $# -gt 0 ] || TARGETED_STORE=local  # a full run does both stores, local first

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv-test}
PRISM_PYTHON=$VENV/bin/python
PYSPARK_VERSION=4.3.0  # tests/integration/test_spark_s3.py and the guide's Spark snippet (Java 17+)
# shellcheck source-path=SCRIPTDIR source=lib/prism.sh
. scripts/lib/prism.sh   # PRISM_VERSION, PRISM_DIR, PRISM_SEED, prism_install/start/stop

step() { printf '\n==> %s\n' "$*"; }

step "test venv ($VENV, $("$PYTHON" --version 2>&1))"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
# pyspark first, from the wheel cached in .cache/wheels/ (PyPI has only a ~456 MB sdist: downloading
# and building it took 28-54 s here, installing the wheel 5 s), so the spark extra below finds it.
# SKIP_SPARK=1 leaves it out: tests/integration/test_spark_s3.py then skips (fails with CI=true).
extras=test,lint,compat,progress,examples
if [ "${SKIP_SPARK:-0}" != 1 ]; then
  scripts/pyspark_wheel.sh "$VENV/bin/python" "$PYSPARK_VERSION"
  extras+=,spark
  export LAKEFS_SDK_REQUIRE_SPARK=1  # the Spark tests fail, not skip, without pyspark or Java
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -e ".[$extras]"

step "Prism $PRISM_VERSION ($PRISM_DIR)"
prism_install

LAKEFS_VERSIONS=(1.84.0 1.86.0)
step "lakeFS ${LAKEFS_VERSIONS[*]} (.cache/lakefs/)"
for version in "${LAKEFS_VERSIONS[@]}"; do
  python3 scripts/lakefs_server.py build "$version"
done
step "the S3 store, SeaweedFS (.cache/object-store/)"
python3 scripts/object_store.py build

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
S3_RUN=${LAKEFS_VERSIONS[0]}-s3  # the state folder (and outcomes name) of lakeFS on the S3 store
stop_servers() {
  prism_stop
  for run in "${LAKEFS_VERSIONS[@]}" "$S3_RUN"; do
    # On the S3 store, stop ends lakeFS and then the store.
    python3 scripts/lakefs_server.py stop --dir "$LAKEFS_STATE/$run" || true
  done
  rm -rf "$LAKEFS_STATE"
}
trap stop_servers EXIT
trap 'exit 130' INT TERM

# start_lakefs VERSION [STORE]: start it (its blockstore local, or on a fresh S3 store) and
# export its LAKEFS_* and LAKECTL_* variables (and the store's OBJECT_STORE_* ones).
start_lakefs() {
  local env run=$1 store=${2:-local}
  [ "$store" = local ] || run=$1-$store
  env=$(python3 scripts/lakefs_server.py start "$1" --store "$store" --dir "$LAKEFS_STATE/$run")
  eval "$env"
  export LAKEFS_OUTCOMES_FILE=$LAKEFS_STATE/outcomes-$run.json
}

# stop_lakefs VERSION [STORE]: stop what start_lakefs started and forget its store's variables.
stop_lakefs() {
  local run=$1 store=${2:-local}
  [ "$store" = local ] || run=$1-$store
  python3 scripts/lakefs_server.py stop --dir "$LAKEFS_STATE/$run"
  unset OBJECT_STORE_ENDPOINT OBJECT_STORE_REGION OBJECT_STORE_ACCESS_KEY_ID OBJECT_STORE_SECRET_ACCESS_KEY \
    OBJECT_STORE_BUCKET
}

step "starting Prism (static and dynamic) on 127.0.0.1"
prism_start PRISM_URL static
prism_start PRISM_DYNAMIC_URL dynamic --dynamic --seed "$PRISM_SEED"
export PRISM_URL PRISM_DYNAMIC_URL LAKEFS_SDK_REQUIRE_PRISM=1
echo "static: $PRISM_URL  dynamic: $PRISM_DYNAMIC_URL"

step "starting lakeFS ${LAKEFS_VERSIONS[0]} on 127.0.0.1 ($TARGETED_STORE store)"
start_lakefs "${LAKEFS_VERSIONS[0]}" "$TARGETED_STORE"
export LAKEFS_SDK_REQUIRE_LAKEFS=1
echo "lakeFS $LAKEFS_VERSION: $LAKEFS_ENDPOINT ($LAKEFS_STORE store, namespaces under $LAKEFS_NAMESPACE_BASE)"

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
stop_lakefs "${LAKEFS_VERSIONS[0]}"

step "the store-dependent modules against lakeFS ${LAKEFS_VERSIONS[0]} on the S3 store"
s3_started=$SECONDS
start_lakefs "${LAKEFS_VERSIONS[0]}" s3
echo "lakeFS $LAKEFS_VERSION: $LAKEFS_ENDPOINT on the S3 store $OBJECT_STORE_ENDPOINT ($LAKEFS_NAMESPACE_BASE)"
mapfile -t store_modules < <("$VENV/bin/python" tests/support/store_modules.py)
run_pytest "${store_modules[@]}"
stop_lakefs "${LAKEFS_VERSIONS[0]}" s3
echo "the S3 stage took $((SECONDS - s3_started)) s (${#store_modules[@]} modules)"
python3 scripts/compare_outcomes.py --common \
  "$LAKEFS_STATE/outcomes-${LAKEFS_VERSIONS[0]}.json" "$LAKEFS_STATE/outcomes-$S3_RUN.json"

for version in "${LAKEFS_VERSIONS[@]:1}"; do
  step "the integration suite against lakeFS $version"
  start_lakefs "$version"
  echo "lakeFS $LAKEFS_VERSION: $LAKEFS_ENDPOINT"
  run_pytest tests/integration
  stop_lakefs "$version"
done
step "operations answered differently by lakeFS ${LAKEFS_VERSIONS[*]}"
outcomes=()
for version in "${LAKEFS_VERSIONS[@]}"; do outcomes+=("$LAKEFS_STATE/outcomes-$version.json"); done
python3 scripts/compare_outcomes.py "${outcomes[@]}"

if [ "${SKIP_MATRIX:-0}" != 1 ]; then
  stop_servers
  trap - EXIT
  unset LAKEFS_SDK_REQUIRE_LAKEFS LAKEFS_SDK_REQUIRE_SPARK LAKEFS_ENDPOINT
  step "the Prism suite on every supported CPython (scripts/test-matrix.sh)"
  # The real-server tests ran above; they do not depend on the Python version.
  scripts/test-matrix.sh -m "not lakefs"
fi
