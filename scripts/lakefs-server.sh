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
# The blockstore is `local` (files in the server's temp folder), which cannot presign. For a
# real S3 store, the way production runs:
#
#   eval "$(scripts/lakefs-server.sh start --store s3)"
#       also starts SeaweedFS (an S3-compatible store, built from its Go module on first use:
#       10 to 15 minutes cold, then cached in .cache/object-store/) on 127.0.0.1 and gives lakeFS
#       its blockstore there; `stop` stops both. Besides the usual variables it exports
#       LAKEFS_STORE=s3, LAKEFS_NAMESPACE_BASE=s3://<bucket>/<prefix>/ (append a repository name
#       to get its storage namespace) and OBJECT_STORE_* (the store's endpoint and keys).
#       Then: .venv-test/bin/python -m pytest tests/integration/test_s3_store.py
#   ... start --store s3 --pre-signed-expiry 30s --pre-signed-endpoint http://127.0.0.1:PORT
#       presigned URLs that expire sooner, or that point at another address (a proxy).
#
# Needs Go and the Go module proxy. Everything is in scripts/lakefs_server.py (and
# scripts/object_store.py for the S3 store, which can also run alone).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/lakefs_server.py "$@"
