"""Helpers shared by the examples: the connection options and error reporting.

Every example takes ``--endpoint``, ``--access-key`` and ``--secret-key``. Each one left
out is found the way ``lakectl`` finds it: the ``LAKECTL_SERVER_ENDPOINT_URL``,
``LAKECTL_CREDENTIALS_ACCESS_KEY_ID`` and ``LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY``
environment variables, then ``~/.lakectl.yaml`` (or the file ``LAKECTL_CONFIG_FILE`` names).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from typing import Callable, Dict, Optional

import lakefs_sdk
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.lakectl import LakectlConfigError

# Exit status of a run that a lakeFS error (or a failed check) stopped.
EXIT_FAILED = 1
# Exit status when the connection settings are missing or invalid (argparse uses it too).
EXIT_USAGE = 2


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--endpoint``, ``--access-key`` and ``--secret-key`` to ``parser``."""
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
    """Connect as ``args`` say, return ``work(client)``; a lakeFS error becomes exit status 1."""
    client = connect(args)
    if client is None:
        return EXIT_USAGE
    with client:
        try:
            return work(client)
        except lakefs_sdk.ApiException as error:
            return report(error)


def report(error: lakefs_sdk.ApiException) -> int:
    """Print a one-line account of a failed call to stderr; return the exit status for it."""
    what = error.operation or "request"
    detail = error.message or error.reason or "no details"
    request_id = f" (request id {error.request_id})" if error.request_id else ""
    print(f"error: {what} failed with status {error.status}: {detail}{request_id}", file=sys.stderr)
    return EXIT_FAILED


def timestamp() -> str:
    """The current UTC time as ``20250102-030405``, for unique branch names."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
