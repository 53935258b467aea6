#!/usr/bin/env python3
"""Ingest a folder into lakeFS concurrently with the asyncio client: upload, check, commit, merge.

    python examples/async_ingest.py example-repo ./landing --prefix raw/2025-01-02/ --concurrency 16

The asyncio twin of ingest.py (needs the ``aio`` extra: ``pip install '.[aio]'`` in a checkout; see the README):

1. Create a branch from ``--into`` (default ``main``), named ``ingest-<time>-<random>``
   unless ``--branch`` names it.
2. Upload every file under FOLDER to PREFIX + its path relative to FOLDER, at most
   ``--concurrency`` at a time on one event loop (``lakefs_sdk.aio.transfer.upload_many``),
   each streamed from disk. Every file gets a result: the ones that failed are listed
   with the reason, and nothing is committed then.
3. Check, concurrently: stat each uploaded object and compare its checksum with the one
   its upload returned.
4. Commit with metadata saying what was ingested; when nothing changed, delete the branch.
5. Merge the branch into ``--into``.

Exit status: 0 when merged, or when there was nothing new to ingest; 1 when lakeFS
refused a call or a check failed; 2 for bad arguments or missing connection settings.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from _common import EXIT_FAILED, EXIT_USAGE, add_connection_options, ensure_repository, report, run_id

import lakefs_sdk
from lakefs_sdk import BranchCreation, CommitCreation, Merge, aio
from lakefs_sdk.aio.transfer import upload_many
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.lakectl import LakectlConfigError


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", help="repository name")
    parser.add_argument("folder", type=Path, help="local folder whose files to ingest")
    parser.add_argument("--prefix", help="path prefix in the repository (default: FOLDER's name and a /)")
    parser.add_argument("--branch", help="name of the branch to create (default: ingest-<time>-<random>)")
    parser.add_argument("--into", default="main", help="branch to start from and merge into (default: main)")
    parser.add_argument("--message", help="commit message")
    parser.add_argument("--concurrency", type=int, default=8, help="uploads in flight at once (default: 8)")
    add_connection_options(parser)
    return parser.parse_args(argv)


def files_to_ingest(folder: Path, prefix: str) -> List[Tuple[Path, str]]:
    """(local file, repository path) for every file under ``folder``, sorted."""
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    return [(path, prefix + path.relative_to(folder).as_posix()) for path in files]


async def ingest(client: aio.AsyncApiClient, args: argparse.Namespace) -> int:
    """Steps 1-5 of the module docstring on ``client``."""
    branches, objects, commits, refs = (
        aio.BranchesApi(client), aio.ObjectsApi(client), aio.CommitsApi(client), aio.RefsApi(client),
    )
    prefix = args.prefix if args.prefix is not None else args.folder.name + "/"
    items = files_to_ingest(args.folder, prefix)
    branch = args.branch or f"ingest-{run_id()}"
    await branches.create_branch(args.repo, BranchCreation(name=branch, source=args.into))
    print(f"created branch {branch} from {args.into}; uploading {len(items)} files, {args.concurrency} at a time")

    uploads = await upload_many(objects, args.repo, branch, items, concurrency=args.concurrency)
    for failure in uploads.failed:
        print(f"error: upload of {failure.path} failed: {failure.error}", file=sys.stderr)
    if uploads.failed:
        return EXIT_FAILED
    uploaded: Dict[str, str] = {r.path: r.value.checksum for r in uploads.succeeded}

    stats = await asyncio.gather(*(objects.stat_object(args.repo, branch, path) for path in uploaded))
    changed = [s.path for s in stats if s.checksum != uploaded[s.path]]
    if changed:
        print(f"error: {len(changed)} objects changed after upload, e.g. {changed[0]}", file=sys.stderr)
        return EXIT_FAILED

    diff = await branches.diff_branch(args.repo, branch, amount=1)  # uncommitted changes
    if not diff.results:
        await branches.delete_branch(args.repo, branch)
        print(f"nothing new under {prefix}: deleted {branch}, nothing merged")
        return 0
    message = args.message or f"Ingest {len(uploaded)} files from {args.folder.name} into {prefix}"
    metadata = {"ingest.source": str(args.folder), "ingest.prefix": prefix, "ingest.files": str(len(uploaded))}
    commit = await commits.commit(args.repo, branch, CommitCreation(message=message, metadata=metadata))
    merged = await refs.merge_into_branch(args.repo, branch, args.into, merge=Merge(message=f"Merge {branch}"))
    print(f"committed {commit.id[:12]} on {branch}; merged into {args.into} as {merged.reference[:12]}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the example; return its exit status."""
    args = parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: {args.folder} is not a folder", file=sys.stderr)
        return EXIT_USAGE
    settings = (("host", args.endpoint), ("username", args.access_key), ("password", args.secret_key))
    given = {name: value for name, value in settings if value}
    try:
        configuration = lakefs_sdk.Configuration.from_env(**given)
    except LakectlConfigError as error:
        print(f"error: no lakeFS connection settings: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.create_repo:
        with LakeFSClient(configuration) as setup:
            if not ensure_repository(setup, args.repo, args.storage_namespace):
                return EXIT_FAILED

    async def run() -> int:
        async with aio.AsyncApiClient(configuration) as client:
            return await ingest(client, args)

    try:
        return asyncio.run(run())
    except lakefs_sdk.ApiException as error:
        return report(error)


if __name__ == "__main__":
    sys.exit(main())
