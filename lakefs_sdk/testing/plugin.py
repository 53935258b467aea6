"""pytest fixtures for a real lakeFS server: ``lakefs_server``, ``lakefs_client``, ``lakefs_repository``.

Registered under the ``pytest11`` entry point ``lakefs``, so pytest loads it wherever
``lakefs-sdk`` is installed (``-p no:lakefs`` turns it off). It adds the fixtures and the
``--lakefs-bin`` option, nothing else: no hook changes how tests are collected, run or
reported. A fixture of the same name in a ``conftest.py`` overrides the plugin's, as
pytest does for any plugin; ``lakefs_repository`` and ``lakefs_client`` use only
``lakefs_server``, so overriding one of them leaves the other as it was.

* ``lakefs_server`` (session): a lakeFS started from ``--lakefs-bin``, else ``$LAKEFS_BIN``,
  else ``lakefs`` on ``PATH``, on 127.0.0.1, in a temporary folder, on the local
  blockstore; ready (``/healthcheck``) before the first test using it, stopped and deleted
  after the session whatever happens. A :class:`~lakefs_sdk.testing.LakeFSServer`: it has
  ``configuration`` (a new ``Configuration`` as the admin), ``endpoint`` and ``version``.
  Without a binary, tests using it are skipped, saying how to get one.
* ``lakefs_client``: an ``ApiClient`` for that server, closed after the test.
* ``lakefs_repository``: a fresh repository (a ``Repository``: ``.id``, default branch
  ``main``) with a unique name and storage namespace, deleted after the test.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from typing import TYPE_CHECKING, Iterator

import pytest

# Only the launcher (standard library) at import: pytest loads this module in every run.
from lakefs_sdk.testing._launcher import NO_BINARY_MESSAGE, BinaryNotFoundError, LakeFSServer, find_binary

if TYPE_CHECKING:
    from lakefs_sdk.api_client import ApiClient
    from lakefs_sdk.models.repository import Repository

__all__ = ["lakefs_client", "lakefs_repository", "lakefs_server", "pytest_addoption", "repository_name"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lakefs", "lakeFS server for the lakefs_server fixture (lakefs_sdk.testing)")
    group.addoption(
        "--lakefs-bin",
        default=None,
        metavar="PATH",
        help="the lakeFS binary the lakefs_server fixture runs (default: $LAKEFS_BIN, else `lakefs` on PATH)",
    )


@pytest.fixture(scope="session")
def lakefs_server(request: pytest.FixtureRequest) -> Iterator[LakeFSServer]:
    """A real lakeFS server on 127.0.0.1 for the session (skips when there is no binary)."""
    try:
        binary = find_binary(request.config.getoption("lakefs_bin"))
    except BinaryNotFoundError as error:
        pytest.fail(str(error), pytrace=False)
    if binary is None:
        pytest.skip(NO_BINARY_MESSAGE)
    server = LakeFSServer(binary, tempfile.mkdtemp(prefix="lakefs-testing-"))
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def lakefs_client(lakefs_server: LakeFSServer) -> Iterator[ApiClient]:
    """An ``ApiClient`` for ``lakefs_server``, as its admin; closed after the test."""
    from lakefs_sdk.api_client import ApiClient

    with ApiClient(lakefs_server.configuration) as client:
        yield client


@pytest.fixture
def lakefs_repository(request: pytest.FixtureRequest, lakefs_server: LakeFSServer) -> Iterator[Repository]:
    """A fresh repository on ``lakefs_server`` (default branch ``main``), deleted after the test."""
    from lakefs_sdk.api.repositories_api import RepositoriesApi
    from lakefs_sdk.api_client import ApiClient
    from lakefs_sdk.exceptions import NotFoundException
    from lakefs_sdk.models.repository_creation import RepositoryCreation

    name = repository_name(request.node.name)
    with ApiClient(lakefs_server.configuration) as client:
        repositories = RepositoriesApi(client)
        repository = repositories.create_repository(
            RepositoryCreation(name=name, storage_namespace=lakefs_server.storage_namespace(name))
        )
        try:
            yield repository
        finally:
            try:
                repositories.delete_repository(name, force=True)
            except NotFoundException:
                pass  # the test deleted it


def repository_name(hint: str) -> str:
    """A repository name (``^[a-z0-9][a-z0-9-]{2,62}$``) made from ``hint`` (a test's name), unique."""
    slug = re.sub(r"[^a-z0-9]+", "-", hint.lower()).strip("-")[:40] or "test"
    return f"{slug}-{secrets.token_hex(4)}"
