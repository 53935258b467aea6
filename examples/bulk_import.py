#!/usr/bin/env python3
"""Import objects that already sit in object storage, without copying them.

    python examples/bulk_import.py example-repo s3://example-bucket/landing/2025/ --destination raw/2025/

``import_start`` asks lakeFS to register everything under SOURCE (a prefix when it ends
with ``/``, else one object) at ``--destination`` on a branch, and to commit it. lakeFS
works in the background: the script polls ``import_status`` every ``--interval`` seconds
and prints how many objects are in so far. If the import has not finished after
``--max-polls`` polls, or on Ctrl-C, it cancels the import with ``import_cancel``
(``--max-polls 0`` starts the import and cancels it at once).

The branch (``--branch``, default ``import-<time>-<random>``) is created from ``--from``
(default ``main``), or used as it is if it exists. Merge it once you have checked the import.

SOURCE must be a location the server may import from: on the local lakeFS that
``scripts/lakefs-server.sh`` starts, a folder under ``$LAKEFS_IMPORT_DIR``, written
``local://$LAKEFS_IMPORT_DIR/landing/``.

Exit status: 0 when the import committed; 1 when it failed or lakeFS refused a call; 2 for
bad arguments or missing connection settings; 3 when it was cancelled.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Literal, Optional, Sequence

from _common import EXIT_FAILED, add_connection_options, run_id, run_with_client

import lakefs_sdk
from lakefs_sdk import BranchCreation, CommitCreation, ImportCreation, ImportLocation
from lakefs_sdk.client import LakeFSClient

EXIT_CANCELLED = 3


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", help="repository name")
    parser.add_argument("source", help="storage URI to import, e.g. s3://bucket/prefix/ (trailing / for a prefix)")
    parser.add_argument("--destination", default="", help="path on the branch to import to (default: the root)")
    parser.add_argument("--branch", help="branch to import into (default: import-<time>-<random>)")
    parser.add_argument("--from", dest="source_branch", default="main", help="ref a new branch starts from")
    parser.add_argument("--message", help="commit message")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between polls (default: 2)")
    parser.add_argument("--max-polls", type=int, default=900, help="polls before giving up and cancelling")
    add_connection_options(parser)
    args = parser.parse_args(argv)
    if args.interval < 0 or args.max_polls < 0:
        parser.error("--interval and --max-polls must not be negative")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the import; return the exit status."""
    args = parse_args(argv)
    return run_with_client(args, lambda client: run(client, args))


def run(client: LakeFSClient, args: argparse.Namespace) -> int:
    """Start the import, wait for it, cancel it if it takes too long."""
    repo = args.repo
    branch = args.branch or f"import-{run_id()}"
    try:
        client.branches_api.create_branch(repo, BranchCreation(name=branch, source=args.source_branch))
        print(f"created branch {branch} from {args.source_branch}")
    except lakefs_sdk.ConflictException:
        print(f"branch {branch} exists: importing into it")

    kind: Literal["common_prefix", "object"] = "common_prefix" if args.source.endswith("/") else "object"
    creation = ImportCreation(
        paths=[ImportLocation(type=kind, path=args.source, destination=args.destination)],
        commit=CommitCreation(
            message=args.message or f"Import {args.source}",
            metadata={"import_source": args.source, "imported_by": "examples/bulk_import.py"},
        ),
    )
    import_id = client.import_api.import_start(repo, branch, creation).id
    print(f"import {import_id} started: {args.source} -> {branch}/{args.destination}")

    try:
        for poll in range(1, args.max_polls + 1):
            status = client.import_api.import_status(repo, branch, import_id)
            if status.error is not None:
                print(f"import failed: {status.error.message}", file=sys.stderr)
                return EXIT_FAILED
            if status.completed:
                commit_id = status.commit.id if status.commit else "(unknown)"
                print(f"import done: {status.ingested_objects} objects, commit {commit_id}")
                return 0
            print(f"poll {poll}: {status.ingested_objects or 0} objects so far")
            if poll < args.max_polls:
                time.sleep(args.interval)
        reason = f"not finished after {args.max_polls} polls"
    except KeyboardInterrupt:
        reason = "interrupted"

    client.import_api.import_cancel(repo, branch, import_id)
    print(f"import {import_id} {reason}: cancelled")
    return EXIT_CANCELLED


if __name__ == "__main__":
    sys.exit(main())
