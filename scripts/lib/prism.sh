# shellcheck shell=bash
# Prism, the spec-validating mock server, for the test scripts: install, start, stop.
#
# Source it from a script that runs at the repository root (scripts/test.sh,
# scripts/test-matrix.sh, scripts/smoke-3.14.sh), then:
#
#   prism_install                   npm-install @stoplight/prism-cli $PRISM_VERSION into
#                                   $PRISM_DIR unless that version is already there
#   prism_start VAR NAME [ARGS...]  start `prism mock --errors ARGS api/openapi.yaml` in the
#                                   background on a free port of 127.0.0.1, wait until it
#                                   listens, and set the variable VAR to its URL
#   prism_stop                      stop every Prism this shell started and delete their
#                                   logs; safe to call more than once
#
# The caller must `trap prism_stop EXIT INT TERM` (or call it from its own trap) before
# starting Prism. prism_start runs in the caller's shell (it sets VAR instead of printing
# the URL) so that prism_stop knows every process id.
#
# PRISM_PYTHON is the python3 used to find a free port (default: python3 on PATH).
# PRISM_SEED seeds the dynamic (--dynamic) responses (default: lakefs-sdk).

PRISM_VERSION=5.16.0
PRISM_DIR=.cache/prism
PRISM_BIN=$PRISM_DIR/node_modules/.bin/prism
PRISM_SEED=${PRISM_SEED:-lakefs-sdk}
PRISM_PYTHON=${PRISM_PYTHON:-python3}
PRISM_PIDS=()
PRISM_LOGDIR=""

prism_install() {
  if [ ! -x "$PRISM_BIN" ] || [ "$("$PRISM_BIN" --version 2>/dev/null)" != "$PRISM_VERSION" ]; then
    mkdir -p "$PRISM_DIR"
    npm install --prefix "$PRISM_DIR" --no-audit --no-fund --loglevel=error "@stoplight/prism-cli@$PRISM_VERSION"
  fi
}

prism_free_port() {
  "$PRISM_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

prism_start() {
  local var=$1 name=$2; shift 2
  local port log pid
  [ -n "$PRISM_LOGDIR" ] || PRISM_LOGDIR=$(mktemp -d)
  port=$(prism_free_port)
  log=$PRISM_LOGDIR/$name.log
  "$PRISM_BIN" mock --host 127.0.0.1 --port "$port" --errors "$@" api/openapi.yaml >"$log" 2>&1 &
  pid=$!
  PRISM_PIDS+=("$pid")
  for _ in $(seq 1 120); do
    if grep -q "Prism is listening" "$log"; then
      printf -v "$var" '%s' "http://127.0.0.1:$port"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  cat "$log" >&2
  echo "Prism ($name) did not start" >&2
  return 1
}

prism_stop() {
  local pid
  for pid in "${PRISM_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PRISM_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PRISM_PIDS=()
  if [ -n "$PRISM_LOGDIR" ]; then rm -rf "$PRISM_LOGDIR"; fi
  PRISM_LOGDIR=""
}
