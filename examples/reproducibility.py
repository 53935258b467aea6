#!/usr/bin/env python3
"""Read exactly the data a run used, and roll a branch back in the ways lakeFS offers.

    python examples/reproducibility.py example-repo data/train.csv --tag train-2025-01

1. Pin: resolve ``--branch`` (default ``main``) to its head commit, or take ``--commit``,
   check that PATH exists there, and tag that commit (``--tag``). A commit ID or a tag
   always reads the same bytes, whatever happens to the branch later.
2. Read PATH by commit ID and by tag, streaming, and check both give the same SHA-256.
3. On a scratch branch created from the pinned commit, discard uncommitted changes with
   ``reset_branch`` three ways: one object, everything under a prefix, everything.
4. Commit a change and undo it with ``revert_branch``: a new commit that inverts it.
   ``parent_number`` is always required: for a merge commit it is the 1-based parent to
   diff against (lakeFS refuses 0 there, with 409); for an ordinary commit 0 and 1 both
   mean its only parent.
5. Commit another change and drop it with ``hard_reset_branch``: the branch moves back to
   the pinned commit and the commits made after it are no longer on the branch. It moves
   only the head: lakeFS does not refuse a branch with uncommitted changes, and keeps them
   staged on top of the new head, so discard those first (step 3) if they must go too.
6. Check that the scratch branch is back at the pinned commit, then delete it (unless
   ``--keep-scratch``).

Exit status: 0 when every check passed; 1 when one failed or lakeFS refused a call; 2 for
bad arguments or missing connection settings.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from typing import List, Optional, Sequence

from _common import EXIT_FAILED, add_connection_options, run_id, run_with_client

from lakefs_sdk import BranchCreation, CommitCreation, NotFoundException, ResetCreation, RevertCreation, TagCreation
from lakefs_sdk.client import LakeFSClient

SCRATCH_PREFIX = "scratch/"


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", help="repository name")
    parser.add_argument("path", help="object to read at the pinned commit, e.g. data/train.csv (it must exist there)")
    parser.add_argument("--branch", default="main", help="branch whose head to pin (default: main)")
    parser.add_argument("--commit", help="pin this commit ID instead of the branch head")
    parser.add_argument("--tag", help="tag to create for the pinned commit (default: pinned-<time>-<random>)")
    parser.add_argument("--scratch", help="scratch branch for the rollbacks (default: scratch-<time>-<random>)")
    parser.add_argument("--keep-scratch", action="store_true", help="do not delete the scratch branch")
    add_connection_options(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the walkthrough; return the exit status."""
    args = parse_args(argv)
    return run_with_client(args, lambda client: run(client, args))


def sha256_at(client: LakeFSClient, repo: str, ref: str, path: str) -> str:
    """SHA-256 of ``path`` at ``ref``, streamed: the object is never held in memory whole."""
    digest = hashlib.sha256()
    with client.objects_api.get_object_without_preload_content(repo, ref, path) as response:
        for chunk in response.iter_bytes():
            digest.update(chunk)
    return digest.hexdigest()


def run(client: LakeFSClient, args: argparse.Namespace) -> int:
    """Pin, read, reset, revert and hard-reset; return the exit status."""
    repo, path = args.repo, args.path
    failures: List[str] = []

    # 1. Pin a commit and tag it.
    commit_id = args.commit or client.branches_api.get_branch(repo, args.branch).commit_id
    try:
        client.objects_api.stat_object(repo, commit_id, path)
    except NotFoundException as error:
        print(f"error: {path} at commit {commit_id}: {error.message}; write and commit it first "
              "(examples/ingest.py does)", file=sys.stderr)
        return EXIT_FAILED
    tag = args.tag or f"pinned-{run_id()}"
    client.tags_api.create_tag(repo, TagCreation(id=tag, ref=commit_id))
    print(f"pinned commit {commit_id} as tag {tag}")

    # 2. The same bytes by commit ID and by tag.
    by_commit = sha256_at(client, repo, commit_id, path)
    by_tag = sha256_at(client, repo, tag, path)
    print(f"{path} at {commit_id}: sha256 {by_commit}")
    print(f"{path} at {tag}: sha256 {by_tag}")
    if by_commit != by_tag:
        failures.append(f"{path} differs between commit {commit_id} and tag {tag}")

    # 3. Discard uncommitted changes: one object, a prefix, everything.
    scratch = args.scratch or f"scratch-{run_id()}"
    branches, objects = client.branches_api, client.objects_api
    branches.create_branch(repo, BranchCreation(name=scratch, source=commit_id))
    print(f"created {scratch} at {commit_id}")
    objects.upload_object(repo, scratch, SCRATCH_PREFIX + "notes.txt", content=b"draft\n")
    branches.reset_branch(repo, scratch, ResetCreation(type="object", path=SCRATCH_PREFIX + "notes.txt"))
    print(f"reset one object: {SCRATCH_PREFIX}notes.txt")
    for name in ("a.csv", "b.csv"):
        objects.upload_object(repo, scratch, SCRATCH_PREFIX + "run-1/" + name, content=b"x\n1\n")
    branches.reset_branch(repo, scratch, ResetCreation(type="common_prefix", path=SCRATCH_PREFIX + "run-1/"))
    print(f"reset a prefix: {SCRATCH_PREFIX}run-1/")
    objects.upload_object(repo, scratch, SCRATCH_PREFIX + "c.csv", content=b"x\n2\n")
    branches.reset_branch(repo, scratch, ResetCreation(type="reset"))
    print("reset everything uncommitted")

    # 4. Undo a commit with a new, inverse commit.
    objects.upload_object(repo, scratch, SCRATCH_PREFIX + "mistake.csv", content=b"x\n3\n")
    mistake = client.commits_api.commit(repo, scratch, CommitCreation(message="Add a file by mistake"))
    # parent_number is required: 0 (or 1) for an ordinary commit; the 1-based parent for a merge commit.
    branches.revert_branch(repo, scratch, RevertCreation(ref=mistake.id, parent_number=0))
    print(f"reverted commit {mistake.id}")

    # 5. Move the branch back to the pinned commit, dropping the commits made since.
    objects.upload_object(repo, scratch, SCRATCH_PREFIX + "trial.csv", content=b"x\n4\n")
    trial = client.commits_api.commit(repo, scratch, CommitCreation(message="Try something"))
    client.experimental_api.hard_reset_branch(repo, scratch, commit_id)
    print(f"hard-reset {scratch} to {commit_id}: {mistake.id}, its revert and {trial.id} are off the branch")

    # 6. Check and clean up.
    head = branches.get_branch(repo, scratch).commit_id
    if head != commit_id:
        failures.append(f"{scratch} points at {head} after the hard reset, not at {commit_id}")
    if not args.keep_scratch:
        branches.delete_branch(repo, scratch)
        print(f"deleted {scratch}")

    for failure in failures:
        print(f"check failed: {failure}", file=sys.stderr)
    return EXIT_FAILED if failures else 0


if __name__ == "__main__":
    sys.exit(main())
