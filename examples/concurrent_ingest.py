#!/usr/bin/env python3
"""Ingest a folder of many files into lakeFS, many uploads at once, with a progress bar.

    python examples/concurrent_ingest.py example-repo ./landing --prefix raw/2025-01-02/ --concurrency 16

What ingest.py does one file at a time, done with ``lakefs_sdk.transfer.upload_many``,
which runs the uploads on a bounded pool of threads sharing one client:

1. Create a branch from ``--into`` (default ``main``), named ``ingest-<time>-<random>``
   unless ``--branch`` names it.
2. Upload every file under FOLDER to PREFIX + its path relative to FOLDER, at most
   ``--concurrency`` at a time, each streamed from disk and retried on the client's retry
   policy. One bar shows the bytes of all files (tqdm, from the ``progress`` extra; a line
   every 10% without it, or with ``--no-progress`` nothing); each failed file is printed
   as it fails. Ctrl-C starts no new upload, waits for those in flight, says how many
   completed and keeps the branch for a later ``--branch`` run.
3. When any file failed, print each with its reason, commit nothing and keep the branch.
4. Commit with metadata saying what was ingested; when nothing changed, delete the branch.
5. Merge the branch into ``--into``.

Exit status: 0 when merged, or when there was nothing new to ingest; 1 when lakeFS
refused a call or an upload failed; 2 for bad arguments or missing connection settings;
130 when interrupted.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Optional, Sequence

from _common import EXIT_FAILED, EXIT_USAGE, add_connection_options, run_id, run_with_client

from lakefs_sdk import BranchCreation, CommitCreation, Merge
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.transfer import (
    ProgressCallback,
    TransferInterrupted,
    TransferResult,
    tqdm_progress,
    upload_many,
)

EXIT_INTERRUPTED = 130


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", help="repository name")
    parser.add_argument("folder", type=Path, help="local folder whose files to ingest")
    parser.add_argument("--prefix", help="path prefix in the repository (default: FOLDER's name and a /)")
    parser.add_argument("--branch", help="name of the branch to upload to (default: a new ingest-<time>-<random>)")
    parser.add_argument("--into", default="main", help="branch to start from and merge into (default: main)")
    parser.add_argument("--message", help="commit message")
    parser.add_argument("--concurrency", type=int, default=16, help="uploads in flight at once (default: 16)")
    parser.add_argument("--no-progress", action="store_true", help="draw no progress bar")
    parser.add_argument("--presign", action="store_true",
                        help="send the bytes straight to the store where lakeFS presigns (default: through lakeFS)")
    add_connection_options(parser)
    return parser.parse_args(argv)


def text_progress() -> ProgressCallback:
    """A progress callback that prints a line at every 10% of the bytes (when tqdm is missing)."""
    shown = [-1]

    def update(done: int, total: Optional[int]) -> None:
        if not total:
            return
        tenth = done * 10 // total
        if tenth > shown[0]:
            shown[0] = tenth
            print(f"uploaded {done} of {total} bytes ({tenth * 10}%)", flush=True)

    return update


def progress_for(args: argparse.Namespace) -> Optional[ProgressCallback]:
    """The progress callback the options ask for."""
    if args.no_progress:
        return None
    if importlib.util.find_spec("tqdm") is not None:
        return tqdm_progress("upload")
    return text_progress()


def print_failure(result: TransferResult) -> None:
    """``on_item`` callback: say at once when a file fails."""
    if result.error is not None:
        print(f"error: upload of {result.local} to {result.path} failed: {result.error}", file=sys.stderr)


def ingest(client: LakeFSClient, args: argparse.Namespace) -> int:
    """Steps 1-5 of the module docstring."""
    prefix = args.prefix if args.prefix is not None else args.folder.name + "/"
    branch = args.branch or f"ingest-{run_id()}"
    if args.branch is None:
        client.branches_api.create_branch(args.repo, BranchCreation(name=branch, source=args.into))
        print(f"created branch {branch} from {args.into}")
    print(f"uploading {args.folder} to {prefix} on {branch}, {args.concurrency} at a time")

    try:
        uploads = upload_many(
            client.objects_api, args.repo, branch, [(args.folder, prefix)],
            concurrency=args.concurrency, progress=progress_for(args), on_item=print_failure,
            presign=None if args.presign else False,
        )
    except TransferInterrupted as interrupted:
        print(f"interrupted: {interrupted.report.summary()}; kept branch {branch} "
              f"(rerun with --branch {branch} to finish)", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(uploads.summary())
    if not uploads.ok:
        print(f"nothing committed: {len(uploads.failed)} uploads failed; kept branch {branch}", file=sys.stderr)
        return EXIT_FAILED

    diff = client.branches_api.diff_branch(args.repo, branch, amount=1)  # uncommitted changes
    if not diff.results:
        client.branches_api.delete_branch(args.repo, branch)
        print(f"nothing new under {prefix}: deleted {branch}, nothing merged")
        return 0
    message = args.message or f"Ingest {len(uploads)} files from {args.folder.name} into {prefix}"
    metadata = {"ingest.source": str(args.folder), "ingest.prefix": prefix, "ingest.files": str(len(uploads))}
    commit = client.commits_api.commit(args.repo, branch, CommitCreation(message=message, metadata=metadata))
    merged = client.refs_api.merge_into_branch(args.repo, branch, args.into, merge=Merge(message=f"Merge {branch}"))
    print(f"committed {commit.id[:12]} on {branch}; merged into {args.into} as {merged.reference[:12]}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the example; return its exit status."""
    args = parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: {args.folder} is not a folder", file=sys.stderr)
        return EXIT_USAGE
    if args.concurrency < 1:
        print("error: --concurrency must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    return run_with_client(args, lambda client: ingest(client, args))


if __name__ == "__main__":
    sys.exit(main())
