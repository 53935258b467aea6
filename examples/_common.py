"""Helpers shared by the examples: the connection options, ``--create-repo``, unique names
and error reporting.

Every example takes ``--endpoint``, ``--access-key`` and ``--secret-key``. Each one left
out is found the way ``lakectl`` finds it: the ``LAKECTL_SERVER_ENDPOINT_URL``,
``LAKECTL_CREDENTIALS_ACCESS_KEY_ID`` and ``LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY``
environment variables, then ``~/.lakectl.yaml`` (or the file ``LAKECTL_CONFIG_FILE`` names).
"""

from __future__ import annotations

import argparse
import secrets
import sys
from datetime import datetime, timezone
from typing import Callable, Dict, Optional

import lakefs_sdk
from lakefs_sdk import RepositoryCreation, StorageConfig
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.lakectl import LakectlConfigError

# Exit status of a run that a lakeFS error (or a failed check) stopped.
EXIT_FAILED = 1
# Exit status when the connection settings are missing or invalid (argparse uses it too).
EXIT_USAGE = 2
# What lakeFS answers (400) when a repository is created in a namespace another one used.
NAMESPACE_IN_USE = "storage namespace already in use"


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--create-repo``, ``--storage-namespace``, ``--endpoint``, ``--access-key`` and ``--secret-key``."""
    repository = parser.add_argument_group("repository")
    repository.add_argument(
        "--create-repo", action="store_true",
        help="create the repository first if it does not exist, in the storage namespace the server suggests",
    )
    repository.add_argument(
        "--storage-namespace", metavar="URI",
        help="with --create-repo: where lakeFS keeps the new repository's data, e.g. s3://bucket/repo "
             "(default: the server's default_namespace_prefix + the repository name)",
    )
    group = parser.add_argument_group(
        "lakeFS connection",
        "Options left out come from LAKECTL_* environment variables, then ~/.lakectl.yaml, as for lakectl.",
    )
    group.add_argument("--endpoint", help="lakeFS URL, e.g. http://localhost:8000 (/api/v1 is added if missing)")
    group.add_argument("--access-key", help="access key ID")
    group.add_argument("--secret-key", help="secret access key (prefer the environment: argv is visible to others)")


def connect(args: argparse.Namespace) -> Optional[LakeFSClient]:
    """A client for the server ``args`` name, or None (after saying why) if settings are missing."""
    given: Dict[str, str] = {
        name: value
        for name, value in (("host", args.endpoint), ("username", args.access_key), ("password", args.secret_key))
        if value
    }
    try:
        configuration = lakefs_sdk.Configuration.from_env(**given)
    except LakectlConfigError as error:
        print(f"error: no lakeFS connection settings: {error}", file=sys.stderr)
        return None
    return LakeFSClient(configuration)


def run_with_client(args: argparse.Namespace, work: Callable[[LakeFSClient], int]) -> int:
    """Connect as ``args`` say (creating the repository on ``--create-repo``), return ``work(client)``.

    A lakeFS error becomes exit status 1.
    """
    client = connect(args)
    if client is None:
        return EXIT_USAGE
    with client:
        try:
            if getattr(args, "create_repo", False) and not ensure_repository(client, args.repo, args.storage_namespace):
                return EXIT_FAILED
            return work(client)
        except lakefs_sdk.ApiException as error:
            return report(error)


def suggested_namespace(storage: StorageConfig, repo: str) -> str:
    """The storage namespace the server suggests for a new repository ``repo``.

    That is the server's ``default_namespace_prefix`` followed by the name (what the lakeFS
    web UI proposes: ``local://`` + ``repo`` on a local blockstore), or, on a server with no
    prefix configured, ``repo`` next to its ``blockstore_namespace_example``.
    """
    if storage.default_namespace_prefix:
        return storage.default_namespace_prefix + repo
    return storage.blockstore_namespace_example.rstrip("/") + "/" + repo


def ensure_repository(client: LakeFSClient, repo: str, storage_namespace: Optional[str] = None) -> bool:
    """Create repository ``repo`` (default branch ``main``) unless it exists; False (said why) if impossible.

    Without ``storage_namespace``, the one the server suggests; if a deleted repository left
    its data there, the same followed by a unique suffix.
    """
    suggested = storage_namespace is None
    if storage_namespace is None:
        config = client.config_api.get_config()
        storage = config.storage_config or next(iter(config.storage_config_list or []), None)
        if storage is None:
            print("error: the server reports no storage configuration: pass --storage-namespace", file=sys.stderr)
            return False
        storage_namespace = suggested_namespace(storage, repo)
    try:
        creation = RepositoryCreation(name=repo, storage_namespace=storage_namespace)
    except ValueError as error:  # the model's checks: the namespace is no storage URI
        print(f"error: cannot create repository {repo} in {storage_namespace!r}: {error}", file=sys.stderr)
        return False
    try:
        client.repositories_api.create_repository(creation)
    except lakefs_sdk.ConflictException:
        print(f"repository {repo} exists: using it")
        return True
    except lakefs_sdk.BadRequestException as error:
        # A deleted repository leaves its data, and lakeFS's marker, in its namespace: a new
        # repository cannot use it. Our own suggestion can take a fresh suffix; a given one cannot.
        if not suggested or NAMESPACE_IN_USE not in (error.message or ""):
            raise
        storage_namespace = f"{storage_namespace}-{run_id()}"
        print(f"storage namespace {creation.storage_namespace} is in use (a deleted repository's?): "
              f"using {storage_namespace}")
        client.repositories_api.create_repository(RepositoryCreation(name=repo, storage_namespace=storage_namespace))
    print(f"created repository {repo} in {storage_namespace}")
    return True


def report(error: lakefs_sdk.ApiException) -> int:
    """Print a one-line account of a failed call to stderr; return the exit status for it."""
    what = error.operation or "request"
    detail = error.message or error.reason or "no details"
    request_id = f" (request id {error.request_id})" if error.request_id else ""
    print(f"error: {what} failed with status {error.status}: {detail}{request_id}", file=sys.stderr)
    return EXIT_FAILED


def run_id() -> str:
    """A name part no other run uses: the UTC time and a random suffix, e.g. ``20250102-030405-9f3a``."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
