"""Clients travel to other processes by pickle: the settings go, the pool stays behind.

What must hold: ``ApiClient``, ``LakeFSClient``, every API class instance (sync and async)
and ``AsyncApiClient`` pickle; the unpickled copy carries the configuration (host,
credentials, TLS settings, retries, timeouts, default headers and cookie) and nothing of
the pool, locks or threads; it works on a pool of its own; a configuration holding what no
pickler can take fails with a message that names it.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import io
import logging
import pickle
import urllib.parse
from pathlib import Path
from typing import Any, Iterator, List

import pytest

import lakefs_sdk
from lakefs_sdk import ApiClient, BranchesApi, Configuration
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.rest import RESTClientObject

from support.loopback import LoopbackServer, Reply

SECRET = "wJalrXUtnFEMI-pickle-secret"


def branch_reply(request: Any) -> Reply:
    branch = urllib.parse.unquote(request.path.rsplit("/", 1)[1])
    return Reply(200, f'{{"id": "{branch}", "commit_id": "c1"}}')


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(branch_reply) as srv:
        yield srv


def configuration(url: str) -> Configuration:
    config = Configuration(host=url + "/api/v1", username="AKIA-pickle", password=SECRET, max_retries=5)
    config.connect_timeout = 3.5
    config.read_timeout = 7.0
    config.retry_backoff = 0.01
    config.connection_pool_maxsize = 3
    config.assert_hostname = "lakefs.internal"
    config.tls_server_name = "lakefs.internal"
    config.proxy_headers = {"X-Proxy": "p"}
    return config


def token_provider(refresh: bool) -> str:
    """A module-level provider: what plain pickle can take."""
    return "token-refreshed" if refresh else "token-first"


def test_unpickled_client_keeps_the_settings_and_has_a_pool_of_its_own(server: LoopbackServer) -> None:
    with ApiClient(configuration(server.url), header_name="X-Team", header_value="data", cookie="c=1") as client:
        client.user_agent = "ingest/2"
        assert BranchesApi(client).get_branch("repo", "before").id == "before"
        assert client.rest_client.pool_manager.pools, "the original holds a pooled connection"
        assert BranchesApi(client).get_branch("repo", "threads", async_req=True).get(timeout=10).id == "threads"
        copy = pickle.loads(pickle.dumps(client))

        config = copy.configuration
        assert config is not client.configuration
        assert (config.host, config.username, config.password) == (server.url + "/api/v1", "AKIA-pickle", SECRET)
        assert (config.max_retries, config.connect_timeout, config.read_timeout) == (5, 3.5, 7.0)
        assert (config.assert_hostname, config.tls_server_name, config.connection_pool_maxsize) == (
            "lakefs.internal", "lakefs.internal", 3,
        )
        assert config.proxy_headers == {"X-Proxy": "p"}
        assert copy.default_headers == {"User-Agent": "ingest/2", "X-Team": "data"}
        assert copy.cookie == "c=1"
        assert copy.rest_client is not client.rest_client
        assert copy.rest_client.configuration is config
        assert not copy.rest_client.pool_manager.pools, "no connection of the original came along"

        before = server.connections
        assert BranchesApi(copy).get_branch("repo", "after").id == "after"
        assert server.connections == before + 1, "the copy opened its own connection"
        assert BranchesApi(copy).get_branch("repo", "async", async_req=True).get(timeout=10).id == "async"
    sent = server.requests[-2]
    assert sent.header("User-Agent") == "ingest/2" and sent.header("X-Team") == "data"
    assert sent.header("Cookie") == "c=1"
    expected = base64.b64encode(f"AKIA-pickle:{SECRET}".encode()).decode()
    assert sent.header("Authorization") == "Basic " + expected


def test_what_travels_is_settings_not_pool_locks_or_threads(server: LoopbackServer) -> None:
    with ApiClient(configuration(server.url), pool_threads=2) as client:
        BranchesApi(client).get_branch("repo", "a", async_req=True).get(timeout=10)
        state = client.__getstate__()
        assert set(state) == {
            "configuration", "default_headers", "cookie", "client_side_validation", "pool_threads", "_given_transport"
        }
        assert state["_given_transport"] is None, "no transport was given: the unpickled client builds its own"
        data = pickle.dumps(client)
    travelled = globals_in(data)
    assert travelled <= {
        "lakefs_sdk.api_client.ApiClient", "lakefs_sdk.configuration.Configuration",
        "logging.getLogger", "logging.Formatter", "logging.PercentStyle",
    }, "only the client, its configuration and the names of its loggers"


def globals_in(data: bytes) -> set:
    """The classes and functions a pickle refers to."""
    found = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            found.add(f"{module}.{name}")
            return super().find_class(module, name)

    Recorder(io.BytesIO(data)).load()
    return found


def test_lakefs_client_and_its_apis_come_back_sharing_one_client(server: LoopbackServer) -> None:
    with LakeFSClient(configuration(server.url)) as client:
        copy = pickle.loads(pickle.dumps(client))
    apis = [name for name in vars(copy) if name.endswith("_api") and name != "_api"]
    assert len(apis) == 17
    assert all(getattr(copy, name).api_client is copy.api_client for name in apis)
    assert copy.branches_api.get_branch("repo", "lakefs-client").id == "lakefs-client"
    copy.close()


def api_classes(module: Any) -> List[type]:
    return [cls for name, cls in inspect.getmembers(module, inspect.isclass) if name.endswith("Api")]


def test_every_api_class_instance_pickles(server: LoopbackServer) -> None:
    classes = api_classes(lakefs_sdk)
    assert len(classes) == 17
    with ApiClient(configuration(server.url)) as client:
        for cls in classes:
            copy = pickle.loads(pickle.dumps(cls(client)))
            assert type(copy) is cls and isinstance(copy.api_client, ApiClient)
            assert copy.api_client.configuration.password == SECRET


def test_a_pickle_carries_the_credentials_but_repr_and_str_do_not(server: LoopbackServer) -> None:
    config = configuration(server.url)
    config.access_token = "jwt-pickle-token"
    with ApiClient(config) as client:
        data = pickle.dumps(client)
        shown = " ".join([repr(client), str(client), repr(client.configuration), str(client.configuration)])
    assert SECRET.encode() in data and b"jwt-pickle-token" in data, "documented: a pickle holds the secrets"
    assert SECRET not in shown and "jwt-pickle-token" not in shown
    copy = pickle.loads(data)
    assert SECRET not in repr(copy.configuration) and "jwt-pickle-token" not in repr(copy.configuration)


def test_a_module_level_token_provider_travels(server: LoopbackServer) -> None:
    config = configuration(server.url)
    config.username = config.password = None
    config.access_token_provider = token_provider
    with ApiClient(config) as client:
        copy = pickle.loads(pickle.dumps(client))
    with copy:
        BranchesApi(copy).get_branch("repo", "jwt")
    assert server.requests[-1].header("Authorization") == "Bearer token-first"


def test_a_lambda_token_provider_cannot_travel_by_plain_pickle(server: LoopbackServer) -> None:
    config = configuration(server.url)
    config.access_token_provider = lambda refresh: "t"
    with ApiClient(config) as client, pytest.raises((pickle.PicklingError, AttributeError, TypeError)) as raised:
        pickle.dumps(client)
    assert "lambda" in str(raised.value), "the error names the function that cannot be pickled"


def test_a_logging_handler_is_refused_by_name(server: LoopbackServer, tmp_path: Path) -> None:
    config = configuration(server.url)
    config.logger_file = str(tmp_path / "sdk.log")
    try:
        with ApiClient(config) as client, pytest.raises(pickle.PicklingError) as raised:
            pickle.dumps(client)
        assert "Configuration.logger_file_handler" in str(raised.value)
        assert SECRET not in str(raised.value)
    finally:
        handler = config.logger_file_handler
        assert handler is not None
        logging.getLogger("lakefs_sdk").removeHandler(handler)
        handler.close()


def test_a_rest_client_object_pickles_as_its_settings(server: LoopbackServer) -> None:
    rest = RESTClientObject(configuration(server.url), pools_size=2, maxsize=5)
    rest.pool_manager.connection_from_url(server.url)
    copy = pickle.loads(pickle.dumps(rest))
    assert copy.configuration.password == SECRET
    assert copy.pool_manager.connection_pool_kw["maxsize"] == 5
    assert not copy.pool_manager.pools
    response = copy.request("GET", server.url + "/api/v1/repositories/repo/branches/rest")
    assert response.status == 200 and b'"rest"' in response.data


def test_async_client_and_apis_pickle(server: LoopbackServer) -> None:
    aio = pytest.importorskip("lakefs_sdk.aio")
    classes = api_classes(aio)
    assert len(classes) == 17

    async def use(client: Any) -> str:
        async with client:
            return str((await aio.BranchesApi(client).get_branch("repo", "aio")).id)

    async def first() -> bytes:
        client = aio.AsyncApiClient(configuration(server.url), header_name="X-Team", header_value="aio")
        await aio.BranchesApi(client).get_branch("repo", "warm")  # a live session to leave behind
        data = pickle.dumps([client] + [cls(client) for cls in classes])
        await client.close()
        return data

    copies = pickle.loads(asyncio.run(first()))
    client = copies[0]
    assert all(api.api_client is client for api in copies[1:])
    assert client.rest_client._session is None, "the session is made on first use, in the new loop"
    assert client.configuration.password == SECRET and client.default_headers["X-Team"] == "aio"
    assert asyncio.run(use(client)) == "aio"
    assert server.requests[-1].header("X-Team") == "aio"
