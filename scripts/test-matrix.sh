#!/usr/bin/env bash
# Run the test suite (the pytest run of scripts/test.sh, against Prism) once per supported
# CPython, 3.10 to 3.14, each in its own venv (.venv-matrix/<3.X>), then print one summary
# line per version with its duration, and the total time.
#
#   scripts/test-matrix.sh                          every version, whole suite
#   scripts/test-matrix.sh tests/unit -k retry      extra arguments go to every pytest run
#   PYTHONS="3.12 3.14" scripts/test-matrix.sh      only these versions
#   ALLOW_MISSING_PYTHONS=1 scripts/test-matrix.sh  a version without interpreter is reported
#                                                   as skipped but does not fail the run
#
# Interpreters, for 3.X: the newest $PYENV_ROOT/versions/3.X.N/bin/python3.X (final releases
# only; PYENV_ROOT defaults to ~/.pyenv), else python3.X on PATH (pyenv shims ignored), else
# the version is skipped with the reason. CPython 3.14 is not packaged for Debian bookworm:
# when the host has none, it runs inside a minimal Debian testing ("forky") root in
# .cache/forky-root/, built once with debootstrap (needs root and deb.debian.org) with
# python3.14 and python3.14-venv, the host's CA certificates, pip.conf and resolv.conf; the
# repository is bind-mounted at /repo, with /proc, /dev, /dev/pts, /dev/shm (and, read-only,
# ../shared/reference when present, for tests/spec). Every mount is undone on exit, error or
# signal (and leftovers of a killed run at the next run); a second run reuses the root
# (stamp file .cache/forky-root/.lakefs-sdk-forky-ready). FORKY_REBUILD=1 rebuilds it; do
# not rm -rf it by hand while `findmnt | grep forky-root` shows the repository mounted in it.
#
# Prism is installed and started once, on the host, for all versions (scripts/lib/prism.sh);
# the chroot shares the host's network namespace, so 127.0.0.1 reaches it. The generation
# check and lint are NOT run here: they do not depend on the Python version (ruff targets
# py310, mypy python_version = 3.10) and scripts/test.sh runs them; each version runs like
# SKIP_GENERATE_CHECK=1 SKIP_LINT=1 scripts/test.sh, with the [test,compat,progress] extras (no linters).
# Warnings: pyproject.toml's filterwarnings "error:::lakefs_sdk" (a regex on the module, so
# submodules too) turns every warning raised from lakefs_sdk, deprecations included, into a
# test failure on every version; no -W option is needed.
#
# Exit status: 0 when every version passed; 1 when one failed, or was skipped (unless
# ALLOW_MISSING_PYTHONS=1). Each version's output is kept in .cache/test-matrix/<3.X>.log.
#
# scripts/smoke-3.14.sh sources this file for its forky_* and run_child functions: only
# running it executes main.
set -euo pipefail
cd "$(dirname "$0")/.."

MATRIX_VERSIONS=(3.10 3.11 3.12 3.13 3.14)
MATRIX_LOGDIR=.cache/test-matrix
FORKY_ROOT=$PWD/.cache/forky-root
FORKY_MIRROR=http://deb.debian.org/debian
FORKY_PACKAGES=(python3.14 python3.14-venv)
FORKY_STAMP_NAME=.lakefs-sdk-forky-ready
FORKY_STAMP_CONTENT="forky minbase + ${FORKY_PACKAGES[*]}"
FORKY_LOCKED=0
CHILD_PGID=""
# shellcheck source-path=SCRIPTDIR source=lib/prism.sh
. scripts/lib/prism.sh

step() { printf '\n==> %s\n' "$*"; }

# duration SECONDS: 42s, 3m07s
duration() {
  if [ "$1" -lt 60 ]; then printf '%ds' "$1"; else printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); fi
}

# --- running a child in its own process group, so a signal stops all of it -------------

# run_child LOG CMD...: run CMD in a new session, its output shown and copied to LOG;
# return its exit status. The caller's signal trap must call stop_child.
run_child() {
  local log=$1; shift
  local status=0
  # setsid does not fork here (a background job of a script is no group leader), so $! is
  # the new process group's id.
  # shellcheck disable=SC2016  # $0 and $@ are the inner bash's
  setsid -w bash -c '"$@" 2>&1 | tee "$0"; exit "${PIPESTATUS[0]}"' "$log" "$@" </dev/null &
  CHILD_PGID=$!
  wait "$CHILD_PGID" || status=$?
  CHILD_PGID=""
  return "$status"
}

stop_child() {
  if [ -n "$CHILD_PGID" ]; then
    kill -TERM -- "-$CHILD_PGID" 2>/dev/null || true
    for _ in $(seq 1 20); do
      kill -0 -- "-$CHILD_PGID" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL -- "-$CHILD_PGID" 2>/dev/null || true
    wait "$CHILD_PGID" 2>/dev/null || true
    CHILD_PGID=""
  fi
}

# --- interpreters ------------------------------------------------------------------------

# find_python 3.X: set PY to the interpreter for 3.X, or PY="" and WHY to the reason.
find_python() {
  local minor=$1 pyenv_root=${PYENV_ROOT:-$HOME/.pyenv} d name newest="" dir
  local -a found=() tried=()
  PY="" WHY=""
  for d in "$pyenv_root/versions/$minor".*; do
    name=${d##*/}
    if [[ $name =~ ^3\.[0-9]+\.[0-9]+$ ]] && [ -x "$d/bin/python$minor" ]; then found+=("$name"); fi
  done
  if [ "${#found[@]}" -gt 0 ]; then
    newest=$(printf '%s\n' "${found[@]}" | sort -V | tail -n 1)
    found=("$pyenv_root/versions/$newest/bin/python$minor")
  else
    tried+=("no $pyenv_root/versions/$minor.<N>/bin/python$minor")
  fi
  local IFS=:
  for dir in $PATH; do
    if [ "$dir" != "$pyenv_root/shims" ] && [ -x "$dir/python$minor" ]; then found+=("$dir/python$minor"); fi
  done
  unset IFS
  [ "${#found[@]}" -gt 0 ] || tried+=("no python$minor on PATH (pyenv shims ignored)")
  for d in "${found[@]}"; do
    local err
    if err=$("$d" -c 'import ensurepip, ssl, sys, venv' 2>&1); then
      PY=$d
      return 0
    fi
    tried+=("$d is unusable ($(printf '%s' "$err" | tail -n 1); on Debian: apt-get install python$minor-venv)")
  done
  WHY=$(printf '%s; ' "${tried[@]}")
  WHY=${WHY%; }
}

# --- the Debian testing (forky) root for CPython 3.14 -------------------------------------

# forky_mounts_left: print the mount points at or under the root (deepest first).
forky_mounts_left() {
  findmnt -ln -o TARGET | awk -v root="$FORKY_ROOT" '$0 == root || index($0, root "/") == 1' | sort -r
}

# forky_umount: undo every mount under the root; fail loudly if one stays.
forky_umount() {
  local target left
  while IFS= read -r target; do
    [ -n "$target" ] || continue
    umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || true
  done < <(forky_mounts_left)
  left=$(forky_mounts_left)
  if [ -n "$left" ]; then
    printf 'ERROR: could not unmount:\n%s\n' "$left" >&2
    return 1
  fi
}

# forky_lock: one user of the root at a time (bootstrap, mounts); released on exit.
forky_lock() {
  [ "$FORKY_LOCKED" = 1 ] && return 0
  mkdir -p "$(dirname "$FORKY_ROOT")"
  exec {FORKY_LOCK_FD}>"$FORKY_ROOT.lock"
  if ! flock -n "$FORKY_LOCK_FD"; then
    echo "waiting for another user of $FORKY_ROOT (lock $FORKY_ROOT.lock)" >&2
    flock "$FORKY_LOCK_FD"
  fi
  FORKY_LOCKED=1
}

# forky_mount: bind the repository at /repo, and /proc, /dev, /dev/pts, /dev/shm.
forky_mount() {
  local i target
  local -a sources=(proc /dev /dev/pts /dev/shm "$PWD") targets=(/proc /dev /dev/pts /dev/shm /repo)
  forky_umount   # leftovers of a run that was killed with SIGKILL
  for i in "${!targets[@]}"; do
    target=${targets[i]}
    mkdir -p "$FORKY_ROOT$target" || return 1
    if [ "$target" = /proc ]; then
      mount -t proc proc "$FORKY_ROOT$target" || return 1
    else
      mount --bind "${sources[i]}" "$FORKY_ROOT$target" || return 1
    fi
    # No propagation to or from the host's mounts (on hosts where / is a shared mount).
    mount --make-private "$FORKY_ROOT$target" || return 1
  done
  # tests/spec/test_prose_is_ours.py reads <repo>/../shared/reference when it is there: the
  # same file, read-only, at /shared/reference in the root (the repository is /repo).
  if [ -d ../shared/reference ]; then
    mkdir -p "$FORKY_ROOT/shared/reference" || return 1
    mount --bind "$(cd ../shared/reference && pwd)" "$FORKY_ROOT/shared/reference" || return 1
    mount --make-private "$FORKY_ROOT/shared/reference" || return 1
    mount -o remount,bind,ro "$FORKY_ROOT/shared/reference" || return 1
  fi
}

# forky_refresh_host_files: CA certificates, pip config and DNS from the host, every run.
forky_refresh_host_files() {
  local d
  for d in /etc/ssl/certs /usr/share/ca-certificates /usr/local/share/ca-certificates; do
    [ -d "$d" ] || continue
    rm -rf "${FORKY_ROOT:?}$d"
    mkdir -p "$FORKY_ROOT$d"
    cp -a "$d/." "$FORKY_ROOT$d/"
  done
  for d in /etc/ca-certificates.conf /etc/pip.conf; do
    if [ -f "$d" ]; then cp -L "$d" "$FORKY_ROOT$d"; fi
  done
  rm -f "$FORKY_ROOT/etc/resolv.conf"
  cp -L /etc/resolv.conf "$FORKY_ROOT/etc/resolv.conf"
}

# forky_possible: set WHY and fail when a root cannot be built or entered here.
forky_possible() {
  WHY=""
  if [ "$(uname -s)" != Linux ]; then WHY="the forky root needs Linux (chroot, bind mounts)"
  elif [ "$(id -u)" != 0 ]; then WHY="building and entering the forky root needs root (debootstrap, mount, chroot); running as uid $(id -u)"
  elif ! chroot / /bin/true 2>/dev/null; then WHY="chroot is not permitted here (no CAP_SYS_CHROOT?)"
  elif [ -f "$FORKY_ROOT/$FORKY_STAMP_NAME" ]; then return 0
  elif ! command -v debootstrap >/dev/null 2>&1 \
       && ! { command -v apt-get >/dev/null 2>&1 && apt-get install -y -q debootstrap >"$MATRIX_LOGDIR/apt-debootstrap.log" 2>&1; }; then
    WHY="debootstrap is not installed and apt-get install debootstrap failed (see $MATRIX_LOGDIR/apt-debootstrap.log)"
  elif ! getent hosts deb.debian.org >/dev/null 2>&1; then
    WHY="cannot resolve deb.debian.org (no network to the Debian mirror)"
  fi
  [ -z "$WHY" ]
}

# forky_setup: build the root unless its stamp is there; set WHY and fail if impossible.
forky_setup() {
  local stamp=$FORKY_ROOT/$FORKY_STAMP_NAME script start=$SECONDS
  forky_possible || return 1
  forky_lock
  if [ "${FORKY_REBUILD:-0}" = 1 ]; then
    echo "FORKY_REBUILD=1: rebuilding $FORKY_ROOT"
    rm -f "$stamp" "$FORKY_ROOT/.debootstrap-done"
    FORKY_REBUILD=0
  fi
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$FORKY_STAMP_CONTENT" ] && [ -x "$FORKY_ROOT/usr/bin/python3.14" ]; then
    forky_refresh_host_files || { WHY="copying the host's CA certificates and resolv.conf failed"; return 1; }
    echo "reusing $FORKY_ROOT ($(cat "$stamp"))"
    return 0
  fi
  forky_umount || { WHY="could not unmount under $FORKY_ROOT"; return 1; }
  if [ ! -f "$FORKY_ROOT/.debootstrap-done" ]; then
    if [ -e "$FORKY_ROOT" ]; then
      [ -z "$(forky_mounts_left)" ] || { WHY="mounts remain under $FORKY_ROOT"; return 1; }
      echo "removing the incomplete $FORKY_ROOT"
      rm -rf --one-file-system "$FORKY_ROOT"
    fi
    # bookworm's debootstrap has no script for forky yet; testing uses sid's.
    script=/usr/share/debootstrap/scripts/forky
    [ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid
    echo "debootstrap --variant=minbase forky $FORKY_ROOT $FORKY_MIRROR (log: $MATRIX_LOGDIR/debootstrap.log)"
    if ! debootstrap --variant=minbase forky "$FORKY_ROOT" "$FORKY_MIRROR" "$script" >"$MATRIX_LOGDIR/debootstrap.log" 2>&1; then
      WHY="debootstrap failed: $(grep -E '^(E|W):' "$MATRIX_LOGDIR/debootstrap.log" | tail -n 1)"
      WHY="$WHY (log: $MATRIX_LOGDIR/debootstrap.log)"
      return 1
    fi
    touch "$FORKY_ROOT/.debootstrap-done"
  fi
  if ! forky_mount; then WHY="mounting /proc, /dev or the repository in $FORKY_ROOT failed"; forky_umount; return 1; fi
  echo "apt-get install ${FORKY_PACKAGES[*]} in the root (log: $MATRIX_LOGDIR/apt.log)"
  # A mirror that serves a snapshot whose Release is past its Valid-Until makes apt-get update
  # fail; the retry only skips that freshness check (signatures are still verified).
  if ! chroot "$FORKY_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
       sh -c '{ apt-get update -q || apt-get update -q -o Acquire::Check-Valid-Until=false; } &&
              apt-get install -y -q --no-install-recommends "$@" && apt-get clean' \
       apt "${FORKY_PACKAGES[@]}" >"$MATRIX_LOGDIR/apt.log" 2>&1; then
    WHY="apt-get install ${FORKY_PACKAGES[*]} failed in the forky root: $(grep -E '^E:' "$MATRIX_LOGDIR/apt.log" | tail -n 1) (log: $MATRIX_LOGDIR/apt.log)"
    forky_umount
    return 1
  fi
  forky_umount || { WHY="could not unmount under $FORKY_ROOT"; return 1; }
  forky_refresh_host_files || { WHY="copying the host's CA certificates and resolv.conf failed"; return 1; }
  printf '%s\n' "$FORKY_STAMP_CONTENT" >"$stamp"
  echo "forky root ready in $(duration $((SECONDS - start)))"
}

# forky_env: the environment given to commands in the root (nothing else leaks in).
forky_env() {
  local name
  FORKY_ENV=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)
  for name in $(compgen -e); do
    case $name in
      PIP_*|SSL_CERT_*|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|PYTEST_*|HYPOTHESIS_*|LAKEFS_SDK_*|PRISM_*|\
      http_proxy|https_proxy|no_proxy|HTTP_PROXY|HTTPS_PROXY|NO_PROXY|ALL_PROXY|all_proxy|TERM)
        FORKY_ENV+=("$name=${!name}") ;;
    esac
  done
  # A local --find-links directory of the host (e.g. PIP_FIND_LINKS=/opt/wheels) is not in
  # the root: pip would warn about it on every call.
  if [[ ${PIP_FIND_LINKS:-} == /* ]] && [ ! -e "$FORKY_ROOT$PIP_FIND_LINKS" ]; then
    local i
    for i in "${!FORKY_ENV[@]}"; do
      [[ ${FORKY_ENV[i]} != PIP_FIND_LINKS=* ]] || unset 'FORKY_ENV[i]'
    done
    FORKY_ENV=("${FORKY_ENV[@]}")
  fi
}

# forky_python_version: the full version of the root's python3.14.
forky_python_version() {
  chroot "$FORKY_ROOT" /usr/bin/python3.14 -c 'import platform; print(platform.python_version())'
}

# --- one version -------------------------------------------------------------------------

# inner: what runs for one version, on the host or in the root: venv, install, pytest.
inner() {
  local py=$MATRIX_PYTHON venv=$MATRIX_VENV status=0
  step "venv $venv ($("$py" --version 2>&1), $py)"
  if [ -x "$venv/bin/python" ] \
     && [ "$("$venv/bin/python" -c 'import sys; print(sys.version)' 2>/dev/null)" != "$("$py" -c 'import sys; print(sys.version)')" ]; then
    echo "$venv was made by another interpreter: recreating it"
    rm -rf "$venv"
  fi
  [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
  "$venv/bin/pip" install --quiet --disable-pip-version-check -e ".[test,compat,progress]"
  step "pytest ($("$venv/bin/python" --version))"
  "$venv/bin/python" -m pytest "$@" || status=$?
  return "$status"
}

# summarize LABEL STATUS LOG SECONDS: the summary line of one version.
summarize() {
  local label=$1 status=$2 log=$3 secs=$4 last counts="" took=""
  last=$(sed -E 's/\x1b\[[0-9;]*m//g' "$log" \
         | grep -E '(passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?|no tests ran).* in [0-9.]+s' \
         | tail -n 1 || true)
  if [ -n "$last" ]; then
    last=$(printf '%s' "$last" | sed -E 's/^[= ]+//; s/[= ]+$//')
    counts=${last% in *}
    took=${last##* in }
    took=${took%% *}
  fi
  local times
  times="pytest ${took:-?}, total $(duration "$secs")"
  if [ "$status" = 0 ]; then
    printf '%s: %s (%s)\n' "$label" "${counts:-passed}" "$times"
  elif [ "$status" = 5 ]; then
    printf '%s: FAILED (no tests collected) (%s)\n' "$label" "$times"
  elif [ -n "$counts" ]; then
    printf '%s: FAILED (%s) (%s)\n' "$label" "$counts" "$times"
  elif ! grep -q '^==> pytest' "$log"; then
    printf '%s: FAILED (venv setup, exit %s: see %s) (total %s)\n' "$label" "$status" "$log" "$(duration "$secs")"
  else
    printf '%s: FAILED (pytest exit %s: see %s) (total %s)\n' "$label" "$status" "$log" "$(duration "$secs")"
  fi
}

# run_version 3.X PYTEST_ARGS...: run one version; append its line to SUMMARY.
run_version() {
  local minor=$1; shift
  local start=$SECONDS log=$MATRIX_LOGDIR/$minor.log label status=0
  local -a cmd
  : >"$log"
  step "CPython $minor"
  find_python "$minor"
  if [ -n "$PY" ]; then
    label=$("$PY" -c 'import platform; print(platform.python_version())')
    cmd=(env MATRIX_INNER=1 MATRIX_PYTHON="$PY" MATRIX_VENV=".venv-matrix/$minor" bash scripts/test-matrix.sh "$@")
  elif [ "$minor" = 3.14 ]; then
    echo "no host CPython 3.14 ($WHY): using a Debian testing (forky) root"
    local host_why=$WHY
    if ! forky_setup; then
      SUMMARY+=("$minor: skipped (no interpreter: $host_why; forky root: $WHY)")
      SKIPPED=$((SKIPPED + 1))
      return 0
    fi
    if ! forky_mount; then
      forky_umount || true
      SUMMARY+=("$minor: skipped (no interpreter: $host_why; forky root: mounting /proc, /dev or the repository in it failed)")
      SKIPPED=$((SKIPPED + 1))
      return 0
    fi
    label=$(forky_python_version)
    forky_env
    cmd=(chroot "$FORKY_ROOT" /usr/bin/env -i "${FORKY_ENV[@]}" MATRIX_INNER=1 MATRIX_PYTHON=/usr/bin/python3.14
         MATRIX_VENV=".venv-matrix/$minor" /bin/bash -c 'cd /repo && exec bash scripts/test-matrix.sh "$@"' inner "$@")
  else
    SUMMARY+=("$minor: skipped (no interpreter: $WHY)")
    SKIPPED=$((SKIPPED + 1))
    return 0
  fi
  run_child "$log" "${cmd[@]}" || status=$?
  if [ "$FORKY_LOCKED" = 1 ]; then forky_umount; fi
  SUMMARY+=("$(summarize "$label" "$status" "$log" $((SECONDS - start)))")
  [ "$status" = 0 ] || FAILED=$((FAILED + 1))
}

# --- main --------------------------------------------------------------------------------

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_child
  # Only the holder of the root's lock may unmount in it (another run may be using it).
  if [ "$FORKY_LOCKED" = 1 ]; then
    forky_umount || status=1
  fi
  prism_stop
  return "$status"
}

main() {
  if [ "${MATRIX_INNER:-0}" = 1 ]; then
    inner "$@"
    return
  fi
  local versions minor start=$SECONDS
  read -r -a versions <<<"${PYTHONS:-${MATRIX_VERSIONS[*]}}"
  SUMMARY=() FAILED=0 SKIPPED=0
  mkdir -p "$MATRIX_LOGDIR"

  trap cleanup EXIT
  trap 'echo "interrupted: cleaning up" >&2; cleanup; exit 130' INT
  trap 'echo "terminated: cleaning up" >&2; cleanup; exit 143' TERM

  PRISM_PYTHON=python3
  find_python 3.12
  [ -z "$PY" ] || PRISM_PYTHON=$PY
  step "Prism $PRISM_VERSION ($PRISM_DIR)"
  prism_install
  step "starting Prism (static and dynamic) on 127.0.0.1, once for every version"
  prism_start PRISM_URL static
  prism_start PRISM_DYNAMIC_URL dynamic --dynamic --seed "$PRISM_SEED"
  export PRISM_URL PRISM_DYNAMIC_URL LAKEFS_SDK_REQUIRE_PRISM=1
  echo "static: $PRISM_URL  dynamic: $PRISM_DYNAMIC_URL"
  echo "not run here: scripts/generate.sh --check and lint (scripts/test.sh runs them)"

  for minor in "${versions[@]}"; do
    run_version "$minor" "$@"
  done

  cleanup
  trap - EXIT INT TERM
  step "summary (logs in $MATRIX_LOGDIR/)"
  printf '%s\n' "${SUMMARY[@]}"
  echo "total: $(duration $((SECONDS - start)))"
  if [ "$FAILED" -gt 0 ]; then
    echo "FAILED: $FAILED version(s) failed" >&2
    return 1
  fi
  if [ "$SKIPPED" -gt 0 ]; then
    if [ "${ALLOW_MISSING_PYTHONS:-0}" = 1 ]; then
      echo "note: $SKIPPED version(s) skipped (ALLOW_MISSING_PYTHONS=1)"
    else
      echo "FAILED: $SKIPPED version(s) skipped; set ALLOW_MISSING_PYTHONS=1 to accept that" >&2
      return 1
    fi
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
