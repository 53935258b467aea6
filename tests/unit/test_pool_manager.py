"""The sync transport finds the connection pool of a host in a dict, and never one urllib3 let go.

urllib3 lets a pool go on ``clear()`` (``RESTClientObject.close()``) and when it makes room
for another host's (``num_pools``); a pool found earlier must then be looked up again.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from lakefs_sdk import ApiClient, BranchesApi, Configuration
from lakefs_sdk.exceptions import ApiConnectionError
from lakefs_sdk.rest import RESTClientObject

from support.loopback import LoopbackServer, Reply


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    def reply(request: Any) -> Reply:
        return Reply(200, '{"id": "main", "commit_id": "c"}')

    with LoopbackServer(reply) as srv:
        yield srv


def config(url: str) -> Configuration:
    return Configuration(host=url + "/api/v1", username="a", password="b")


def test_the_pool_of_a_host_is_the_same_on_every_lookup() -> None:
    pools = RESTClientObject(Configuration(host="http://127.0.0.1:1/api/v1")).pool_manager
    first = pools.connection_from_host("127.0.0.1", 1, "http")
    assert pools.connection_from_host("127.0.0.1", 1, "http") is first
    assert pools.connection_from_url("http://127.0.0.1:1/x?y=z") is first
    assert pools.connection_from_host("127.0.0.1", 2, "http") is not first


def test_a_pool_closed_by_clear_is_not_handed_out_again() -> None:
    pools = RESTClientObject(Configuration(host="http://127.0.0.1:1/api/v1")).pool_manager
    first = pools.connection_from_host("127.0.0.1", 1, "http")
    pools.clear()
    again = pools.connection_from_host("127.0.0.1", 1, "http")
    assert again is not first and again.pool is not None


def test_a_pool_evicted_for_another_host_is_not_handed_out_again() -> None:
    pools = RESTClientObject(Configuration(host="http://127.0.0.1:1/api/v1"), pools_size=1).pool_manager
    first = pools.connection_from_host("127.0.0.1", 1, "http")
    pools.connection_from_host("127.0.0.1", 2, "http")  # urllib3 keeps one pool: the first is let go
    again = pools.connection_from_host("127.0.0.1", 1, "http")
    assert again is not first and again.pool is not None
    assert pools.connection_from_host("127.0.0.1", 1, "http") is again


def test_calls_go_on_after_the_client_closed_its_pools(server: LoopbackServer) -> None:
    with ApiClient(config(server.url)) as client:
        api = BranchesApi(client)
        assert api.get_branch("repo", "main").id == "main"
        client.rest_client.close()
        assert api.get_branch("repo", "main").id == "main"
    assert len({r.connection_id for r in server.requests}) == 2, "the second call came on a new connection"


def test_per_call_pool_settings_get_a_pool_of_their_own() -> None:
    pools = RESTClientObject(Configuration(host="http://127.0.0.1:1/api/v1")).pool_manager
    plain = pools.connection_from_host("127.0.0.1", 1, "http")
    other = pools.connection_from_host("127.0.0.1", 1, "http", pool_kwargs={"maxsize": 2})
    assert other is not plain and other.pool is not None


# -- a GET goes to its host's pool as is; its redirects are followed as urllib3 follows them ----------


def test_a_303_to_another_host_drops_the_credentials_and_the_body_headers(server: LoopbackServer) -> None:
    with LoopbackServer(lambda request: Reply(200, '{"id": "x", "commit_id": "c"}'), host="127.0.0.2") as other:
        server.handler = lambda request: Reply(303, b"", {"Location": other.url + "/elsewhere"})
        c = config(server.url)
        c.api_key["cookie_auth"] = "session"
        with ApiClient(c) as client:
            ref = BranchesApi(client).get_branch("repo", "main", _headers={"Content-Type": "text/plain", "X-Kept": "1"})
    assert ref.id == "x"
    first, followed = server.requests[0], other.requests[0]
    assert first.header("Authorization") and first.header("Cookie") and first.header("Content-Type")
    assert followed.method == "GET" and followed.path == "/elsewhere"
    assert followed.header("Authorization") is None and followed.header("Cookie") is None
    assert followed.header("Content-Type") is None and followed.header("X-Kept") == "1"


def test_endless_redirects_end_in_the_same_error_either_way(server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(302, b"", {"Location": server.url + "/again"})
    rest = RESTClientObject(config(server.url))
    outcomes = []
    for method in ("GET", "DELETE"):  # GET takes the shortcut, DELETE urllib3's own way
        server.requests.clear()
        with pytest.raises(ApiConnectionError) as raised:
            rest.request(method, server.url + "/api/v1/start")
        outcomes.append((len(server.requests), str(raised.value).replace(method, "M")))
    assert outcomes[0] == outcomes[1]
    assert "redirect" in outcomes[0][1].lower() and outcomes[0][0] > 2
