"""LakeFSClient and AsyncLakeFSClient: a host without scheme or base path is completed in the
configuration (as upstream) until the client is closed, and the async client mirrors the sync one."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set

import pytest

import lakefs_sdk
from lakefs_sdk import Configuration, aio
from lakefs_sdk._client_config import HostCompletion
from lakefs_sdk.aio.client import AsyncLakeFSClient

from support.loopback import LoopbackServer, Reply
from support.recording_proxy import PrismProxy

BRANCH = Reply(200, '{"id": "main", "commit_id": "c1"}')
PACKAGE = Path(lakefs_sdk.__file__).parent


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda request: BRANCH) as srv:
        yield srv


def bare(url: str) -> str:
    """``http://127.0.0.1:1234`` -> ``127.0.0.1:1234``: a host the client has to complete."""
    return url.removeprefix("http://").removesuffix("/api/v1")


# -- the configuration a client is given --------------------------------------------------------


def test_a_complete_host_is_left_alone_and_none_is_fine() -> None:
    config = Configuration(host="http://lakefs:8000/api/v1")
    completion = HostCompletion(config)
    assert config.host == "http://lakefs:8000/api/v1" and completion.completed is None
    completion.undo()
    assert config.host == "http://lakefs:8000/api/v1"
    HostCompletion(None).undo()


def test_an_incomplete_host_is_completed_in_place_and_undone() -> None:
    config = Configuration(host="lakefs:8000", username="AKIA", password="hunter2")
    completion = HostCompletion(config)
    assert config.host == "http://lakefs:8000/api/v1", "as upstream: the lakefs package reads it back"
    completion.undo()
    assert config.host == "lakefs:8000", "undo puts back the host the caller gave"
    completion.undo()
    assert config.host == "lakefs:8000", "undoing twice changes nothing"


def test_undo_keeps_a_host_set_since() -> None:
    config = Configuration(host="lakefs:8000")
    completion = HostCompletion(config)
    config.host = "http://other:9000/api/v1"
    completion.undo()
    assert config.host == "http://other:9000/api/v1"


def test_lakefs_client_completes_the_host_until_closed(server: LoopbackServer) -> None:
    config = Configuration(host=bare(server.url), max_retries=0)
    with lakefs_sdk.LakeFSClient(config) as client:
        assert config.host == server.url + "/api/v1"
        assert client.branches_api.get_branch("repo", "main").id == "main"
    assert config.host == bare(server.url), "leaving the block restores the host given"
    assert [r.path for r in server.requests] == ["/api/v1/repositories/repo/branches/main"]


# -- AsyncLakeFSClient ---------------------------------------------------------------------------


def instance_attributes(client: Any) -> Dict[str, str]:
    return {name: type(value).__name__ for name, value in vars(client).items() if name.endswith("_api") and not name.startswith("_")}


def test_async_client_has_the_api_attributes_of_the_sync_one() -> None:
    config = Configuration(host="http://127.0.0.1:9/api/v1")
    with lakefs_sdk.LakeFSClient(config) as sync_client:
        expected = instance_attributes(sync_client)
    client = AsyncLakeFSClient(config)
    assert instance_attributes(client) == expected and len(expected) == len(lakefs_sdk.api.__all__)
    for name in expected:
        api = getattr(client, name)
        assert type(api) is getattr(aio, type(api).__name__), "the lakefs_sdk.aio class"
        assert api.api_client is client.api_client
    assert isinstance(client.api_client, aio.AsyncApiClient)
    asyncio.run(client.close())


def test_async_client_completes_the_host_until_closed(server: LoopbackServer) -> None:
    config = Configuration(host=bare(server.url), username="AKIA", password="secret", max_retries=0)

    async def main() -> str:
        async with AsyncLakeFSClient(config, header_name="X-Team", header_value="data") as client:
            assert client.api_client.configuration.host == server.url + "/api/v1"
            return (await client.branches_api.get_branch("repo", "main")).id

    assert asyncio.run(main()) == "main"
    (sent,) = server.requests
    assert sent.path == "/api/v1/repositories/repo/branches/main"
    assert sent.header("X-Team") == "data" and sent.header("Authorization") == "Basic QUtJQTpzZWNyZXQ="
    assert config.host == bare(server.url), "leaving the block restores the host given"


def test_async_client_sees_later_changes_to_the_configuration(server: LoopbackServer) -> None:
    # The high-level lakefs package refreshes config.access_token on the object it passed.
    config = Configuration(host=bare(server.url), access_token="first", max_retries=0)

    async def main() -> None:
        async with AsyncLakeFSClient(config) as client:
            await client.branches_api.get_branch("repo", "main")
            config.access_token = "second"
            await client.branches_api.get_branch("repo", "main")

    asyncio.run(main())
    assert [r.header("Authorization") for r in server.requests] == ["Bearer first", "Bearer second"]


def test_async_with_closes_the_session(server: LoopbackServer) -> None:
    async def main() -> AsyncLakeFSClient:
        async with AsyncLakeFSClient(Configuration(host=server.url + "/api/v1", max_retries=0)) as client:
            await client.branches_api.get_branch("repo", "main")
            session = client.api_client.rest_client.session
            assert not session.closed
        assert session.closed, "leaving the block closes the connections"
        return client

    client = asyncio.run(main())
    assert client.api_client.rest_client._session is None


def test_async_client_on_prism(prism: PrismProxy) -> None:
    config = Configuration(host=bare(prism.url), username="AKIA", password="secret")

    async def main() -> List[str]:
        async with AsyncLakeFSClient(config) as client:
            branch = await client.branches_api.get_branch("repo", "main")
            tags = await client.tags_api.list_tags("repo", amount=1)
            return [branch.id, type(tags).__name__]

    assert asyncio.run(main())[1] == "RefList"
    assert config.host == bare(prism.url)


# -- imports ------------------------------------------------------------------------------------

SYNC_ONLY = ("lakefs_sdk.api_client", "lakefs_sdk.rest", "lakefs_sdk.transfer", "lakefs_sdk.pagination", "lakefs_sdk.api")


def imported_modules(path: Path) -> Set[str]:
    found: Set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize(
    "module", ["aio/client.py", "aio/hooks.py", "_client_config.py", "_hooks.py", "_log_state.py"]
)
def test_async_and_neutral_modules_import_no_sync_module(module: str) -> None:
    found = imported_modules(PACKAGE / module)
    bad = sorted(m for m in found if any(m == s or m.startswith(s + ".") for s in SYNC_ONLY))
    assert not bad, f"{module} imports {bad}"
