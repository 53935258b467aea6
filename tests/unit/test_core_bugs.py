"""Bugs of the runtime core, each checked on both clients.

* a malformed ``_request_timeout`` such as ``(5,)`` passed the option check and then
  raised ``IndexError`` inside the transport; it must raise ``ApiValueError`` before
  anything is sent, from the one normaliser both transports share;
* an ``AsyncApiClient`` used under two ``asyncio.run`` calls failed with "Event loop is
  closed" (its session belonged to the first loop); ``get_default()`` made it easy to hit.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from typing import Any, Iterator

import pytest
import urllib3

from lakefs_sdk import ApiClient, ApiValueError, BranchesApi, Configuration
from lakefs_sdk.aio import AsyncApiClient
from lakefs_sdk.aio import BranchesApi as AsyncBranchesApi
from lakefs_sdk.rest import RESTClientObject

from support.loopback import LoopbackServer, Reply

REF = Reply(200, '{"id": "main", "commit_id": "c1"}')
MALFORMED = [(5,), (1, 2, 3), (), (True, 1), (1, -1), (0, 1), -1, 0, True, float("nan"), "5", [1, 2]]


def config(url: str) -> Configuration:
    c = Configuration(host=url + "/api/v1", username="AKIA", password="secret")
    c.retry_backoff = 0.01
    return c


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda request: REF) as srv:
        yield srv


# -- timeouts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", MALFORMED, ids=repr)
def test_malformed_timeout_fails_before_sending_sync(server: LoopbackServer, timeout: Any) -> None:
    with ApiClient(config(server.url)) as client:
        with pytest.raises(ApiValueError, match="_request_timeout of get_branch"):
            BranchesApi(client).get_branch("repo", "main", _request_timeout=timeout)
    assert server.requests == []


@pytest.mark.parametrize("timeout", MALFORMED, ids=repr)
def test_malformed_timeout_fails_before_sending_async(server: LoopbackServer, timeout: Any) -> None:
    async def main() -> None:
        async with AsyncApiClient(config(server.url)) as client:
            await AsyncBranchesApi(client).get_branch("repo", "main", _request_timeout=timeout)

    with pytest.raises(ApiValueError, match="_request_timeout of get_branch"):
        asyncio.run(main())
    assert server.requests == []


def test_malformed_timeout_of_the_upstream_request_method_fails_before_sending(server: LoopbackServer) -> None:
    rest = RESTClientObject(config(server.url))
    with pytest.raises(ApiValueError, match="_request_timeout"):
        rest.request("GET", server.url + "/api/v1/x", _request_timeout=(5,))
    assert server.requests == []


@pytest.mark.parametrize(
    "timeout", [5, 2.5, (1, 2), (None, 2), (1, None), urllib3.Timeout(connect=1, read=2)], ids=repr
)
def test_well_formed_timeouts_are_accepted_by_both_clients(server: LoopbackServer, timeout: Any) -> None:
    with ApiClient(config(server.url)) as client:
        assert BranchesApi(client).get_branch("repo", "main", _request_timeout=timeout).id == "main"

    async def main() -> str:
        async with AsyncApiClient(config(server.url)) as client:
            ref = await AsyncBranchesApi(client).get_branch("repo", "main", _request_timeout=timeout)
            return ref.id

    assert asyncio.run(main()) == "main"
    assert len(server.requests) == 2


# -- successive event loops ----------------------------------------------------------------------


async def _get(client: AsyncApiClient) -> str:
    return (await AsyncBranchesApi(client).get_branch("repo", "main")).id


def _quiet_run(caplog: pytest.LogCaptureFixture, *coroutines: Any) -> list[Any]:
    """Run each coroutine in its own ``asyncio.run``; fail on any unclosed-session error log."""
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        results = [asyncio.run(c) for c in coroutines]
        gc.collect()
    assert not [r for r in caplog.records if "Unclosed" in r.getMessage()], "a session was left unclosed"
    return results


def test_one_client_serves_two_asyncio_runs(server: LoopbackServer, caplog: pytest.LogCaptureFixture) -> None:
    client = AsyncApiClient(config(server.url))

    async def last() -> str:
        try:
            return await _get(client)
        finally:
            await client.close()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # the first loop's sockets, freed on collection
        assert _quiet_run(caplog, _get(client), _get(client), last()) == ["main", "main", "main"]
    assert len(server.requests) == 3


def test_the_default_client_serves_two_asyncio_runs(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    configuration = config(server.url)
    previous = Configuration.get_default()
    Configuration.set_default(configuration)
    AsyncApiClient.set_default(None)
    try:

        async def main() -> str:
            return (await AsyncBranchesApi().get_branch("repo", "main")).id

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            assert _quiet_run(caplog, main(), main()) == ["main", "main"]
        client = AsyncApiClient.get_default()
        assert isinstance(client, AsyncApiClient) and client is AsyncApiClient.get_default()
        asyncio.run(client.close())
    finally:
        AsyncApiClient.set_default(None)
        Configuration.set_default(previous)


def test_get_default_is_per_client_class() -> None:
    ApiClient.set_default(None)
    AsyncApiClient.set_default(None)
    try:
        sync, aio = ApiClient.get_default(), AsyncApiClient.get_default()
        assert type(sync) is ApiClient and type(aio) is AsyncApiClient
        assert ApiClient.get_default() is sync and AsyncApiClient.get_default() is aio
        mine = ApiClient()
        ApiClient.set_default(mine)
        assert ApiClient.get_default() is mine and AsyncApiClient.get_default() is aio
        sync.close()
        mine.close()
    finally:
        ApiClient.set_default(None)
        AsyncApiClient.set_default(None)
