"""``lakefs_sdk.testing``: the mock transports, their messages, and the launcher's pure parts.

The mock transports replace only the network: these tests drive real clients (sync and
asyncio) through them and check that errors, pagination, streaming, retries and uploads
behave as they do with a server, that every request is recorded, and that nothing is
sent over the network.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, List, Optional

import pytest

from lakefs_sdk import (
    ApiClient,
    BranchCreation,
    BranchesApi,
    Configuration,
    NotFoundException,
    ObjectsApi,
    RefsApi,
    ServiceException,
)
from lakefs_sdk._retry import RetryPolicy
from lakefs_sdk._transport import AsyncTransport, Transport
from lakefs_sdk.aio import AsyncApiClient
from lakefs_sdk.aio import BranchesApi as AsyncBranchesApi
from lakefs_sdk.aio import ObjectsApi as AsyncObjectsApi
from lakefs_sdk.aio.rest import AsyncRESTResponse
from lakefs_sdk.exceptions import ApiConnectionError, ApiTimeoutError, ApiTypeError, ApiValueError
from lakefs_sdk.models import Ref
from lakefs_sdk.rest import RESTResponse
from lakefs_sdk.testing import (
    NO_BINARY_MESSAGE,
    AsyncMockTransport,
    BinaryNotFoundError,
    LakeFSServer,
    MockTransport,
    Request,
    Response,
    find_binary,
)
from lakefs_sdk.testing._launcher import merge_config

ROOT = Path(__file__).resolve().parents[2]
# .invalid never resolves (RFC 2606): a request that reached the network would fail.
HOST = "http://lakefs.invalid/api/v1"
MAIN = {"id": "main", "commit_id": "c1"}
STATS = {"path": "p", "path_type": "object", "physical_address": "local://x", "checksum": "c", "mtime": 1}


def configuration(**kwargs: Any) -> Configuration:
    return Configuration(host=HOST, username="AKIAEXAMPLE", password="secret", **kwargs)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any name lookup or connection fails the test: the mocks must not touch the network."""

    def refuse(*args: object, **kwargs: object) -> Any:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def branch_handler(request: Request) -> Response:
    if request.path == "/repositories/repo/branches/main":
        return Response(200, json=MAIN)
    return Response(404, json={"message": "branch not found"})


# -- the messages ----------------------------------------------------------------------------


def test_request_splits_the_url_and_decodes_the_query() -> None:
    request = Request(
        "GET", HOST + "/repositories/r/branches/feature%2Fx?prefixes=a%2F&prefixes=b&amount=2&x=", {"Accept": "x"}
    )
    assert request.path == "/repositories/r/branches/feature/x"
    assert request.raw_path == "/repositories/r/branches/feature%2Fx"
    assert request.params["prefixes"] == "a/" and request.params.get_list("prefixes") == ["a/", "b"]
    assert dict(request.params) == {"prefixes": "a/", "amount": "2", "x": ""}
    assert len(request.params) == 3 and request.params.get_list("missing") == []
    assert request.headers["accept"] == "x"  # case-insensitive
    assert Request("GET", "http://h:1/other/path", {}).path == "/other/path"  # no /api/v1: the whole path


def test_response_encodes_json_and_models_and_announces_the_length() -> None:
    answer = Response(201, json=Ref(id="main", commit_id="c1"))
    assert answer.json() == MAIN and answer.headers["content-type"] == "application/json"
    assert answer.headers["Content-Length"] == str(len(answer.content)) and answer.reason == "Created"
    raw = Response(200, content=b"abc", headers={"Content-Type": "text/csv"})
    assert raw.content == b"abc" and raw.headers["Content-Type"] == "text/csv" and raw.headers["Content-Length"] == "3"
    assert Response(204).content == b""


@pytest.mark.parametrize("status", [99, 600, True, "200"])
def test_response_refuses_a_status_that_is_not_one(status: Any) -> None:
    with pytest.raises(ApiValueError, match="status_code"):
        Response(status)


def test_response_refuses_text_content_and_json_with_content() -> None:
    with pytest.raises(ApiTypeError, match="bytes"):
        Response(200, content="text")  # type: ignore[arg-type]
    with pytest.raises(ApiValueError, match="not both"):
        Response(200, json={}, content=b"x")


def test_the_mocks_satisfy_the_transport_protocols() -> None:
    sync: Transport = MockTransport(branch_handler)
    aio: AsyncTransport = AsyncMockTransport(branch_handler, max_connections=2)
    assert sync.max_connections == 4 and aio.max_connections == 2
    with pytest.raises(ApiValueError, match="max_connections"):
        MockTransport(branch_handler, max_connections=0)


# -- the sync client -------------------------------------------------------------------------


def test_sync_client_decodes_the_answer_and_records_the_request() -> None:
    transport = MockTransport(branch_handler)
    client = ApiClient(configuration(), transport=transport)
    assert BranchesApi(client).get_branch("repo", "main") == Ref(id="main", commit_id="c1")
    [request] = transport.requests
    assert request.method == "GET" and request.url == HOST + "/repositories/repo/branches/main"
    assert request.headers["Authorization"].startswith("Basic ") and request.content == b""
    client.close()
    assert transport.closed == 1


def test_an_error_status_raises_the_typed_exception() -> None:
    api = BranchesApi(ApiClient(configuration(), transport=MockTransport(branch_handler)))
    with pytest.raises(NotFoundException) as caught:
        api.get_branch("repo", "feature/x")
    assert caught.value.status == 404 and "branch not found" in str(caught.value)


def test_request_json_is_the_body_the_client_sent() -> None:
    transport = MockTransport(lambda request: Response(201, content=b"feature"))
    BranchesApi(ApiClient(configuration(), transport=transport)).create_branch(
        "repo", BranchCreation(name="feature", source="main")
    )
    [request] = transport.requests
    assert request.method == "POST" and request.path == "/repositories/repo/branches"
    assert request.json() == {"name": "feature", "source": "main", "force": False, "hidden": False}


def test_repeated_query_keys_reach_the_handler() -> None:
    page = {"pagination": {"has_more": False, "next_offset": "", "results": 0, "max_per_page": 100}, "results": []}
    transport = MockTransport(lambda request: Response(200, json=page))
    RefsApi(ApiClient(configuration(), transport=transport)).log_commits("repo", "main", prefixes=["a/", "b/"])
    assert transport.requests[0].params.get_list("prefixes") == ["a/", "b/"]


def paged_branches(request: Request) -> Response:
    """Five branches served two per page, from the ``after`` cursor on."""
    names = ["b1", "b2", "b3", "b4", "b5"]
    after = request.params.get("after", "")
    rest = [n for n in names if n > after]
    page, more = rest[:2], len(rest) > 2
    return Response(
        200,
        json={
            "pagination": {"has_more": more, "next_offset": page[-1] if more else "", "results": len(page), "max_per_page": 2},
            "results": [{"id": n, "commit_id": "c"} for n in page],
        },
    )


def test_iter_walks_every_page_the_handler_serves() -> None:
    transport = MockTransport(paged_branches)
    branches = BranchesApi(ApiClient(configuration(), transport=transport)).list_branches_iter("repo", amount=2)
    assert [ref.id for ref in branches] == ["b1", "b2", "b3", "b4", "b5"]
    assert [r.params.get("after") for r in transport.requests] == [None, "b2", "b4"]


def object_handler(request: Request) -> Response:
    return Response(200, content=b"0123456789", headers={"Content-Type": "application/octet-stream"})


def test_an_unread_body_streams_like_the_default_transports(tmp_path: Path) -> None:
    api = ObjectsApi(ApiClient(configuration(), transport=MockTransport(object_handler)))
    response = api.get_object("repo", "main", "a.bin", _preload_content=False)
    assert isinstance(response, RESTResponse) and response.status == 200
    assert list(response.iter_bytes(4)) == [b"0123", b"4567", b"89"]
    partial = api.get_object_without_preload_content("repo", "main", "a.bin")
    assert partial.read(3) == b"012" and partial.read() == b"3456789"
    seen: List[Any] = []
    written = api.get_object_without_preload_content("repo", "main", "a.bin").write_to(
        tmp_path / "a.bin", progress=lambda done, total: seen.append((done, total)), chunk_size=6
    )
    assert written == 10 and (tmp_path / "a.bin").read_bytes() == b"0123456789"
    assert seen == [(6, 10), (10, 10)]
    assert api.get_object("repo", "main", "a.bin") == b"0123456789"


def test_an_upload_reaches_the_handler_read_whole(tmp_path: Path) -> None:
    transport = MockTransport(lambda request: Response(201, json=STATS))
    source = tmp_path / "data.csv"
    source.write_bytes(b"a,b\n1,2\n")
    ObjectsApi(ApiClient(configuration(), transport=transport)).upload_object("repo", "main", "p", content=source)
    [request] = transport.requests
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b"\r\n\r\na,b\n1,2\n\r\n--" in request.content
    assert request.headers["Content-Length"] == str(len(request.content))
    assert request.upload_content() == b"a,b\n1,2\n"


def test_upload_content_is_the_bytes_sent_multipart_or_raw() -> None:
    transport = MockTransport(lambda request: Response(201, json=STATS))
    api = ObjectsApi(ApiClient(configuration(), transport=transport))
    data = bytes(range(256)) + b"\r\n--not-a-boundary\r\n\r\n"
    api.upload_object("repo", "main", "p", content=data)
    api.upload_object("repo", "main", "p", content=data, _content_type="application/octet-stream")
    multipart, raw = transport.requests
    assert multipart.upload_content() == data and multipart.content != data
    assert raw.upload_content() == data == raw.content


# -- retries ---------------------------------------------------------------------------------


def flaky(*statuses: int, **headers: str) -> MockTransport:
    """A transport answering ``statuses`` in turn, then 200 with the main branch."""
    answers = iter(statuses)

    def handler(request: Request) -> Response:
        status = next(answers, 200)
        return Response(status, json=MAIN if status == 200 else {"message": "busy"}, headers=headers)

    return MockTransport(handler, configuration=configuration())


def test_a_503_then_200_is_retried_as_with_a_server() -> None:
    transport = flaky(503)
    response = BranchesApi(ApiClient(configuration(), transport=transport)).get_branch_with_http_info("repo", "main")
    assert response.data == Ref(id="main", commit_id="c1") and response.retries == 1
    assert len(transport.requests) == 2 and len(transport.waits) == 1
    assert 0 < transport.waits[0] <= configuration().retry_backoff  # the policy's first wait, not slept


def test_a_retry_after_header_sets_the_wait() -> None:
    transport = flaky(429, **{"Retry-After": "3"})
    BranchesApi(ApiClient(configuration(), transport=transport)).get_branch("repo", "main")
    assert transport.waits == [3.0]


def test_retries_stop_where_the_configuration_says() -> None:
    config = configuration(max_retries=2)
    answers = MockTransport(lambda request: Response(503, json={"message": "busy"}), configuration=config)
    with pytest.raises(ServiceException) as caught:
        BranchesApi(ApiClient(config, transport=answers)).get_branch("repo", "main")
    assert caught.value.status == 503 and len(answers.requests) == 3


def test_a_post_is_not_retried_after_a_503() -> None:
    transport = MockTransport(lambda request: Response(503, json={"message": "busy"}))
    with pytest.raises(ServiceException):
        BranchesApi(ApiClient(configuration(), transport=transport)).create_branch(
            "repo", BranchCreation(name="b", source="main")
        )
    assert len(transport.requests) == 1 and transport.waits == []


def test_a_given_retry_policy_replaces_the_configuration() -> None:
    transport = MockTransport(lambda request: Response(503, json={"message": "busy"}), retry_policy=RetryPolicy(0, 0, 0, 0))
    with pytest.raises(ServiceException):
        BranchesApi(ApiClient(configuration(), transport=transport)).get_branch("repo", "main")
    assert len(transport.requests) == 1


def test_a_handler_raising_oserror_plays_a_connection_failure() -> None:
    failures: Iterator[Optional[OSError]] = iter([ConnectionRefusedError("refused"), ConnectionResetError("reset")])

    def handler(request: Request) -> Response:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return Response(200, json=MAIN)

    transport = MockTransport(handler)
    assert BranchesApi(ApiClient(configuration(), transport=transport)).get_branch("repo", "main").id == "main"
    assert len(transport.requests) == 3 and len(transport.waits) == 2

    def timing_out(request: Request) -> Response:
        raise TimeoutError("read timed out")

    stuck = MockTransport(timing_out)
    with pytest.raises(ApiTimeoutError, match="timed out"):  # a POST that may have arrived: never sent again
        BranchesApi(ApiClient(configuration(), transport=stuck)).create_branch("repo", BranchCreation(name="b", source="main"))
    assert len(stuck.requests) == 1
    with pytest.raises(ApiConnectionError, match="connection failed"):
        BranchesApi(
            ApiClient(configuration(), transport=MockTransport(lambda r: (_ for _ in ()).throw(OSError("down"))))
        ).get_branch("repo", "main")


def test_sleep_true_waits_between_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: List[float] = []
    monkeypatch.setattr(RetryPolicy, "sleep", lambda self, seconds: slept.append(seconds))
    transport = flaky(503)
    transport_sleeping = MockTransport(transport.handler, sleep=True)
    BranchesApi(ApiClient(configuration(), transport=transport_sleeping)).get_branch("repo", "main")
    assert slept == transport_sleeping.waits and len(slept) == 1


def test_a_coroutine_handler_is_refused_by_the_sync_transport() -> None:
    async def handler(request: Request) -> Response:
        return Response(200, json=MAIN)

    transport = MockTransport(handler)  # type: ignore[arg-type]
    with pytest.raises(ApiTypeError, match="AsyncMockTransport"):
        BranchesApi(ApiClient(configuration(), transport=transport)).get_branch("repo", "main")


def test_a_handler_must_answer_a_response() -> None:
    transport = MockTransport(lambda request: MAIN)  # type: ignore[arg-type, return-value]
    with pytest.raises(ApiTypeError, match=r"must return lakefs_sdk\.testing\.Response, got dict"):
        BranchesApi(ApiClient(configuration(), transport=transport)).get_branch("repo", "main")


# -- the asyncio client ----------------------------------------------------------------------


def test_async_client_with_a_coroutine_handler() -> None:
    async def handler(request: Request) -> Response:
        await asyncio.sleep(0)
        return branch_handler(request)

    transport = AsyncMockTransport(handler)

    async def main() -> str:
        async with AsyncApiClient(configuration(), transport=transport) as client:
            api = AsyncBranchesApi(client)
            with pytest.raises(NotFoundException):
                await api.get_branch("repo", "gone")
            return (await api.get_branch("repo", "main")).commit_id

    assert asyncio.run(main()) == "c1"
    assert [r.path.rsplit("/", 1)[1] for r in transport.requests] == ["gone", "main"]
    assert transport.closed == 1


def test_async_client_retries_and_paginates_with_a_plain_handler() -> None:
    answers = iter([503])

    def handler(request: Request) -> Response:
        status = next(answers, 200)
        return paged_branches(request) if status == 200 else Response(status, json={"message": "busy"})

    transport = AsyncMockTransport(handler)

    async def main() -> List[str]:
        async with AsyncApiClient(configuration(), transport=transport) as client:
            return [ref.id async for ref in AsyncBranchesApi(client).list_branches_iter("repo", amount=2)]

    assert asyncio.run(main()) == ["b1", "b2", "b3", "b4", "b5"]
    assert len(transport.requests) == 4 and len(transport.waits) == 1


def test_async_unread_body_streams_and_errors_carry_their_body(tmp_path: Path) -> None:
    async def handler(request: Request) -> Response:
        if request.params["path"] == "missing":
            return Response(404, json={"message": "object not found"})
        return object_handler(request)

    async def main() -> None:
        async with AsyncApiClient(configuration(), transport=AsyncMockTransport(handler)) as client:
            api = AsyncObjectsApi(client)
            response = await api.get_object_without_preload_content("repo", "main", "a.bin")
            assert isinstance(response, AsyncRESTResponse)
            with pytest.raises(ApiValueError, match=r"await response\.read\(\)"):
                response.data  # noqa: B018 - as with aiohttp: an unread body must be awaited first
            assert [chunk async for chunk in response.iter_bytes(4)] == [b"0123", b"4567", b"89"]
            partial = await api.get_object_without_preload_content("repo", "main", "a.bin")
            assert await partial.read(4) == b"0123" and await partial.read() == b"456789"
            whole = await api.get_object_without_preload_content("repo", "main", "a.bin")
            assert await whole.write_to(tmp_path / "a.bin") == 10
            assert await api.get_object("repo", "main", "a.bin") == b"0123456789"
            with pytest.raises(NotFoundException, match="object not found"):
                await api.get_object_without_preload_content("repo", "main", "missing")

    asyncio.run(main())
    assert (tmp_path / "a.bin").read_bytes() == b"0123456789"


def test_async_upload_of_a_file_and_of_an_async_iterable_reaches_the_handler(tmp_path: Path) -> None:
    transport = AsyncMockTransport(lambda request: Response(201, json=STATS))
    source = tmp_path / "data.csv"
    source.write_bytes(b"from a file")

    async def chunks() -> Any:
        yield b"from an "
        yield b"async iterable"

    async def main() -> None:
        async with AsyncApiClient(configuration(), transport=transport) as client:
            api = AsyncObjectsApi(client)
            await api.upload_object("repo", "main", "a", content=source)
            await api.upload_object("repo", "main", "b", content=chunks())

    asyncio.run(main())
    assert b"\r\n\r\nfrom a file\r\n--" in transport.requests[0].content
    assert [r.upload_content() for r in transport.requests] == [b"from a file", b"from an async iterable"]


# -- the launcher (what needs no server) -----------------------------------------------------


def test_merge_config_merges_sections_and_none_removes() -> None:
    base = {"blockstore": {"type": "local", "local": {"path": "/x"}}, "installation": {"user_name": "admin"}}
    merged = merge_config(base, {"blockstore": {"type": "s3", "local": None, "s3": {"region": "r"}}, "installation": None})
    assert merged == {"blockstore": {"type": "s3", "s3": {"region": "r"}}}
    assert base["blockstore"] == {"type": "local", "local": {"path": "/x"}}  # untouched


def test_server_config_is_local_on_127_0_0_1_with_extras(tmp_path: Path) -> None:
    server = LakeFSServer("/bin/lakefs", tmp_path, port=8123, config={"auth": {"cache": {"enabled": False}}})
    config = server.config()
    assert config["listen_address"] == "127.0.0.1:8123" and config["database"]["type"] == "local"
    assert config["blockstore"]["local"]["allowed_external_prefixes"] == [str(tmp_path / "import")]
    assert config["auth"] == {"encrypt": {"secret_key": "lakefs-sdk-tests-only-not-a-secret"}, "cache": {"enabled": False}}
    assert config["stats"] == {"enabled": False}
    assert server.endpoint == "http://127.0.0.1:8123" and server.configuration.host == server.api_url
    assert server.storage_namespace("r") == "local://r"
    assert LakeFSServer("x", tmp_path, storage_namespace_root="s3://bucket/t").storage_namespace("r") == "s3://bucket/t/r"
    assert not server.running


def fake_binary(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    binary = folder / "lakefs"
    binary.write_text("#!/bin/sh\nexit 1\n")
    binary.chmod(0o755)
    return binary


def test_find_binary_prefers_the_argument_then_the_variable_then_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_path, named = fake_binary(tmp_path / "bin"), fake_binary(tmp_path / "named")
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.delenv("LAKEFS_BIN", raising=False)
    assert find_binary() == on_path
    monkeypatch.setenv("LAKEFS_BIN", str(named))
    assert find_binary() == named
    assert find_binary(on_path) == on_path
    monkeypatch.setenv("LAKEFS_BIN", str(tmp_path / "missing"))
    with pytest.raises(BinaryNotFoundError, match="named by LAKEFS_BIN is not an executable file"):
        find_binary()
    monkeypatch.delenv("LAKEFS_BIN")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_binary() is None
    assert "LAKEFS_BIN" in NO_BINARY_MESSAGE and "--lakefs-bin" in NO_BINARY_MESSAGE


def test_the_launcher_needs_the_standard_library_alone() -> None:
    """scripts/lakefs_server.py, run by a bare python3 with the source tree on sys.path, can import it."""
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from lakefs_sdk.testing import LakeFSServer, free_port\n"
        "server = LakeFSServer('/bin/lakefs', '/tmp/x', '1.0.0', 1234, stop_at_exit=False)\n"
        "print(server.config()['listen_address'], free_port() > 0)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core', 'urllib3', 'aiohttp', 'yaml', 'typing_extensions')))\n"
    )
    # -I -S: no PYTHONPATH, no site-packages: only the standard library and the source tree.
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, env={"PATH": os.defpath})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["127.0.0.1:1234 True", "[]"]


def test_importing_the_plugin_loads_no_client_module() -> None:
    code = "import sys, lakefs_sdk.testing.plugin; print(sorted(m for m in sys.modules if m.startswith('lakefs_sdk.')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.replace("'", '"')) == [
        "lakefs_sdk._lazy",
        "lakefs_sdk.testing",
        "lakefs_sdk.testing._launcher",
        "lakefs_sdk.testing.plugin",
    ]
