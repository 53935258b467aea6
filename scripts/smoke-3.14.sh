#!/usr/bin/env bash
# CPython 3.14 smoke test, cheap enough for CI next to scripts/test.sh: on 3.14, with every
# warning an error (python -W error), import lakefs_sdk and make one call of each of its 17
# API classes against Prism (static responses), checking each returns its model type.
#
#   scripts/smoke-3.14.sh
#
# The interpreter is found like scripts/test-matrix.sh does: pyenv's or a python3.14 on
# PATH, else the Debian testing (forky) root in .cache/forky-root/ (built once, needs root
# and deb.debian.org; the repository is bind-mounted at /repo and every mount is undone on
# exit). The venv is .venv-smoke-3.14 with the package and its runtime dependencies only.
# Prism is started on the host (scripts/lib/prism.sh); the Configuration host is Prism's
# root URL without /api/v1, because Prism serves the spec's paths without the base path.
# Exit status: 0 when every call passed, 1 otherwise, 2 when no 3.14 could be had.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source-path=SCRIPTDIR source=test-matrix.sh
. scripts/test-matrix.sh   # find_python, forky_*, run_child, cleanup, duration; prism_* too

SMOKE_VENV=.venv-smoke-3.14

# One call per API class: the same calls as tests/contract/test_smoke.py.
# shellcheck disable=SC2016  # Python source, not shell
SMOKE_PY='
import os, sys
import lakefs_sdk
from lakefs_sdk import models

CALLS = {
    "ActionsApi": (lambda c: lakefs_sdk.ActionsApi(c).list_repository_runs("example-repo", amount=5), models.ActionRunList),
    "AuthApi": (lambda c: lakefs_sdk.AuthApi(c).get_current_user(), models.CurrentUser),
    "BranchesApi": (lambda c: lakefs_sdk.BranchesApi(c).get_branch("example-repo", "main"), models.Ref),
    "CommitsApi": (lambda c: lakefs_sdk.CommitsApi(c).get_commit("example-repo", "c0ffee"), models.Commit),
    "ConfigApi": (lambda c: lakefs_sdk.ConfigApi(c).get_config(), models.Config),
    "ExperimentalApi": (lambda c: lakefs_sdk.ExperimentalApi(c).list_pull_requests("example-repo"), models.PullRequestsList),
    "ExternalApi": (lambda c: lakefs_sdk.ExternalApi(c).list_user_external_principals("jane"), models.ExternalPrincipalList),
    "HealthCheckApi": (lambda c: lakefs_sdk.HealthCheckApi(c).health_check(), type(None)),
    "ImportApi": (lambda c: lakefs_sdk.ImportApi(c).import_status("example-repo", "main", "import-1"), models.ImportStatus),
    "InternalApi": (lambda c: lakefs_sdk.InternalApi(c).get_setup_state(), models.SetupState),
    "MetadataApi": (lambda c: lakefs_sdk.MetadataApi(c).get_meta_range("example-repo", "mr-1"), models.StorageURI),
    "ObjectsApi": (lambda c: lakefs_sdk.ObjectsApi(c).stat_object("example-repo", "main", "data/file.csv"), models.ObjectStats),
    "PullsApi": (lambda c: lakefs_sdk.PullsApi(c).get_pull_request("example-repo", "pr-1"), models.PullRequest),
    "RefsApi": (lambda c: lakefs_sdk.RefsApi(c).log_commits("example-repo", "main", amount=3), models.CommitList),
    "RepositoriesApi": (lambda c: lakefs_sdk.RepositoriesApi(c).get_repository("example-repo"), models.Repository),
    "StagingApi": (lambda c: lakefs_sdk.StagingApi(c).get_physical_address("example-repo", "main", "data/file.csv"), models.StagingLocation),
    "TagsApi": (lambda c: lakefs_sdk.TagsApi(c).get_tag("example-repo", "v1"), models.Ref),
}
missing = set(lakefs_sdk.api.__all__) ^ set(CALLS)
assert not missing, f"API classes and smoke calls differ: {sorted(missing)}"

configuration = lakefs_sdk.Configuration(
    host=os.environ["PRISM_URL"],  # Prism root: it serves the paths without /api/v1
    username="AKIAIOSFODNN7EXAMPLE",
    password="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
)
failures = []
with lakefs_sdk.ApiClient(configuration) as client:
    for name, (call, expected) in sorted(CALLS.items()):
        try:
            result = call(client)
        except Exception as error:
            failures.append(f"{name}: {type(error).__name__}: {error}")
            continue
        if not isinstance(result, expected):
            failures.append(f"{name}: returned {type(result).__name__}, expected {expected.__name__}")
        else:
            print(f"  ok  {name} -> {expected.__name__}")
for failure in failures:
    print(f"  FAIL {failure}", file=sys.stderr)
version = sys.version.split()[0]
if failures:
    sys.exit(f"smoke: {len(failures)} of {len(CALLS)} API classes failed on Python {version}")
print(f"smoke: {len(CALLS)} API classes OK on Python {version} with -W error")
'

# smoke_inner: on the host or in the root: the venv, then the smoke program.
smoke_inner() {
  local py=$SMOKE_PYTHON
  step "venv $SMOKE_VENV ($("$py" --version 2>&1), $py)"
  if [ -x "$SMOKE_VENV/bin/python" ] \
     && [ "$("$SMOKE_VENV/bin/python" -c 'import sys; print(sys.version)' 2>/dev/null)" != "$("$py" -c 'import sys; print(sys.version)')" ]; then
    rm -rf "$SMOKE_VENV"
  fi
  [ -x "$SMOKE_VENV/bin/python" ] || "$py" -m venv "$SMOKE_VENV"
  "$SMOKE_VENV/bin/pip" install --quiet --disable-pip-version-check -e .
  step "python -W error: import lakefs_sdk and one call per API class"
  "$SMOKE_VENV/bin/python" -W error -c "$SMOKE_PY"
}

smoke_main() {
  local start=$SECONDS status=0 label
  local -a cmd
  mkdir -p "$MATRIX_LOGDIR"
  trap cleanup EXIT
  trap 'cleanup; exit 130' INT
  trap 'cleanup; exit 143' TERM

  find_python 3.12
  PRISM_PYTHON=${PY:-python3}
  find_python 3.14
  if [ -n "$PY" ]; then
    PRISM_PYTHON=$PY
    label=$("$PY" -c 'import platform; print(platform.python_version())')
    cmd=(env SMOKE_INNER=1 SMOKE_PYTHON="$PY" bash scripts/smoke-3.14.sh)
  else
    echo "no host CPython 3.14 ($WHY): using a Debian testing (forky) root"
    if ! forky_setup; then
      echo "smoke-3.14: skipped: no CPython 3.14: $WHY" >&2
      return 2
    fi
  fi

  step "Prism $PRISM_VERSION ($PRISM_DIR)"
  prism_install
  step "starting Prism (static) on 127.0.0.1"
  prism_start PRISM_URL static
  export PRISM_URL
  echo "static: $PRISM_URL"

  if [ -z "$PY" ]; then
    if ! forky_mount; then
      echo "smoke-3.14: skipped: mounting /proc, /dev or the repository in $FORKY_ROOT failed" >&2
      return 2
    fi
    label=$(forky_python_version)
    forky_env
    cmd=(chroot "$FORKY_ROOT" /usr/bin/env -i "${FORKY_ENV[@]}" SMOKE_INNER=1 SMOKE_PYTHON=/usr/bin/python3.14
         /bin/bash -c 'cd /repo && exec bash scripts/smoke-3.14.sh')
  fi
  run_child "$MATRIX_LOGDIR/smoke-3.14.log" "${cmd[@]}" || status=$?
  cleanup
  trap - EXIT INT TERM
  if [ "$status" = 0 ]; then
    echo "smoke-3.14: $label passed ($(duration $((SECONDS - start))))"
  else
    echo "smoke-3.14: $label FAILED (exit $status, $(duration $((SECONDS - start))); log: $MATRIX_LOGDIR/smoke-3.14.log)" >&2
    return 1
  fi
}

if [ "${SMOKE_INNER:-0}" = 1 ]; then
  smoke_inner
else
  smoke_main
fi
