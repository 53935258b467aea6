#!/usr/bin/env bash
# A real lakeFS server on 127.0.0.1, built from lakeFS's Go module on first use and cached.
#
#   eval "$(scripts/lakefs-server.sh start)"   start lakeFS 1.84.0 and export its endpoint and
#                                              credentials (LAKECTL_*: Configuration.from_env()
#                                              and the examples find it)
#   scripts/lakefs-server.sh start 1.86.0      another version (one of tests/lakefs_server/)
#   scripts/lakefs-server.sh env [VERSION]     print the running server's environment again
#   scripts/lakefs-server.sh stop [VERSION]    stop it and delete its data
#   scripts/lakefs-server.sh build [VERSION]   only build; print the binary's path
#
# Needs Go and the Go module proxy. Everything is in scripts/lakefs_server.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/lakefs_server.py "$@"
