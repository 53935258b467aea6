#!/usr/bin/env python3
"""Ingest a folder into lakeFS: upload it to a new branch, check it, commit, merge.

    python examples/ingest.py example-repo ./landing --prefix raw/2025-01-02/

1. Create a branch from ``--into`` (default ``main``), named ``ingest-<time>-<random>``
   unless ``--branch`` names it.
2. Upload every file under FOLDER to PREFIX + its path relative to FOLDER (PREFIX is
   FOLDER's name and a slash unless ``--prefix`` says otherwise). Uploads stream from
   disk: a file is never read into memory whole.
3. Check: stat each uploaded object and compare its checksum with the one its upload
   returned (a difference means something else wrote the same path meanwhile), then
   list what the branch holds under PREFIX.
4. Commit, with metadata saying what was ingested (add your own with ``--meta k=v``).
   When the branch holds no change (every file is already in ``--into`` with the same
   content, as on a second run over the same folder), lakeFS would refuse an empty
   commit: the branch is deleted instead, and nothing is merged.
5. Merge the branch into ``--into``.

Exit status: 0 when merged, or when there was nothing new to ingest; 1 when lakeFS
refused a call or a check failed (nothing is committed then); 2 for bad arguments or
missing connection settings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from _common import EXIT_FAILED, EXIT_USAGE, add_connection_options, run_id, run_with_client

from lakefs_sdk import BranchCreation, CommitCreation, Merge, ObjectStats
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.transfer import tqdm_progress, upload


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", help="repository name")
    parser.add_argument("folder", type=Path, help="local folder whose files to ingest")
    parser.add_argument("--prefix", help="path prefix in the repository (default: FOLDER's name and a /)")
    parser.add_argument("--branch", help="name of the branch to create (default: ingest-<time>-<random>)")
    parser.add_argument("--into", default="main", help="branch to start from and merge into (default: main)")
    parser.add_argument("--message", help="commit message")
    parser.add_argument("--meta", action="append", default=[], type=key_value, metavar="KEY=VALUE",
                        help="extra commit metadata; repeatable")
    parser.add_argument("--progress", action="store_true", help="draw a progress bar per file (needs tqdm)")
    add_connection_options(parser)
    return parser.parse_args(argv)


def key_value(text: str) -> Tuple[str, str]:
    """Parse ``KEY=VALUE``."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ingest; return the exit status."""
    args = parse_args(argv)
    files = sorted(p for p in args.folder.rglob("*") if p.is_file())
    if not files:
        print(f"error: {args.folder} holds no files", file=sys.stderr)
        return EXIT_USAGE
    return run_with_client(args, lambda client: ingest(client, args, files))


def ingest(client: LakeFSClient, args: argparse.Namespace, files: List[Path]) -> int:
    """Upload, check, commit and merge; return the exit status."""
    repo = args.repo
    prefix = args.prefix if args.prefix is not None else args.folder.resolve().name + "/"
    branch = args.branch or f"ingest-{run_id()}"
    client.branches_api.create_branch(repo, BranchCreation(name=branch, source=args.into))
    print(f"created branch {branch} from {args.into}")

    uploaded: Dict[str, ObjectStats] = {}
    for file in files:
        path = prefix + file.relative_to(args.folder).as_posix()
        progress = tqdm_progress(path) if args.progress else None
        uploaded[path] = upload(client.objects_api, repo, branch, path, file, progress=progress)
        print(f"uploaded {path} ({file.stat().st_size} bytes)")

    # A missing object raises NotFoundException here, which stops the ingest before the commit.
    problems = []
    for path, sent in uploaded.items():
        stored = client.objects_api.stat_object(repo, branch, path)
        if stored.checksum != sent.checksum:
            problems.append(f"{path}: the branch has checksum {stored.checksum}, the upload returned {sent.checksum}")
    listed = [entry.path for entry in client.objects_api.list_objects_iter(repo, branch, prefix=prefix)]
    ours = sum(1 for path in listed if path in uploaded)
    print(f"{branch} holds {len(listed)} objects under {prefix!r}, {ours} of them from this ingest")
    if problems:
        for problem in problems:
            print(f"check failed: {problem}", file=sys.stderr)
        print(f"not committing; branch {branch} is left as it is for inspection", file=sys.stderr)
        return EXIT_FAILED

    if not client.branches_api.diff_branch(repo, branch, amount=1).results:
        client.branches_api.delete_branch(repo, branch)
        print(f"nothing new: every file is already on {args.into} as it is; deleted branch {branch}")
        return 0

    metadata = {
        "source": args.folder.resolve().name,
        "files": str(len(files)),
        "bytes": str(sum(file.stat().st_size for file in files)),
        "ingested_by": "examples/ingest.py",
        **dict(args.meta),
    }
    message = args.message or f"Ingest {len(files)} files from {metadata['source']}"
    commit = client.commits_api.commit(repo, branch, CommitCreation(message=message, metadata=metadata))
    print(f"committed {commit.id} on {branch}")

    merge = Merge(message=f"Merge {branch} into {args.into}", metadata={"ingest_branch": branch})
    result = client.refs_api.merge_into_branch(repo, branch, args.into, merge=merge)
    print(f"merged {branch} into {args.into}: commit {result.reference}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
