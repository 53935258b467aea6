"""The asyncio client beyond faults: packaging, streaming both ways, pagination, TLS, proxy,
secret masking, configuration, and the bounded-concurrency transfer helpers."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Iterator, List, Optional, Tuple, TypeVar

import pytest

import lakefs_sdk
from lakefs_sdk import Configuration, aio
from lakefs_sdk.aio import AsyncApiClient
from lakefs_sdk.aio.transfer import download_many, upload_many

from support.loopback import LoopbackServer, Reply
from support.pki import have_openssl, make_pki, server_context

T = TypeVar("T")
STATS = Reply(201, '{"path": "p", "path_type": "object", "physical_address": "s3://x", "checksum": "c", "mtime": 1}')
PAYLOAD = os.urandom(3 * 1024 * 1024 + 17)


def config(url: str, **settings: Any) -> Configuration:
    c = Configuration(host=url + "/api/v1", username="AKIA", password="secret")
    c.retry_backoff = 0.01
    for key, value in settings.items():
        setattr(c, key, value)
    return c


def run(make: Callable[[AsyncApiClient], Awaitable[T]], configuration: Configuration) -> T:
    async def main() -> T:
        async with AsyncApiClient(configuration) as client:
            return await make(client)

    return asyncio.run(main())


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda request: STATS) as srv:
        yield srv


# -- packaging ---------------------------------------------------------------------------------------


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_import_lakefs_sdk_never_imports_aiohttp() -> None:
    done = python("import sys, lakefs_sdk; lakefs_sdk.ApiClient; lakefs_sdk.BranchesApi; print('aiohttp' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_import_without_the_extra_names_it() -> None:
    done = python("import sys; sys.modules['aiohttp'] = None; import lakefs_sdk.aio")
    assert done.returncode != 0
    assert "ImportError" in done.stderr and "pip install 'lakefs-sdk[aio]'" in done.stderr


def test_the_17_api_classes_mirror_the_sync_ones() -> None:
    import inspect

    for name in lakefs_sdk.api.__all__:
        sync_cls, async_cls = getattr(lakefs_sdk, name), getattr(aio, name)
        sync_methods = {m for m in vars(sync_cls) if not m.startswith("_")}
        assert sync_methods == {m for m in vars(async_cls) if not m.startswith("_")}, name
        for method in sync_methods:
            sync_sig, async_sig = inspect.signature(getattr(sync_cls, method)), inspect.signature(getattr(async_cls, method))
            assert [(p.name, p.kind, p.default) for p in sync_sig.parameters.values()] == [
                (p.name, p.kind, p.default) for p in async_sig.parameters.values()
            ], f"{name}.{method}"
            function = getattr(async_cls, method)
            if method.endswith("_iter"):  # returns an async generator: used with `async for`, not awaited
                assert not inspect.iscoroutinefunction(function) and "AsyncIterator" in str(async_sig.return_annotation)
            else:
                assert inspect.iscoroutinefunction(function), f"{name}.{method}"
    assert len(lakefs_sdk.api.__all__) == 17


def test_async_req_is_refused_before_sending(server: LoopbackServer) -> None:
    with pytest.raises(lakefs_sdk.ApiValueError, match="async_req does not apply"):
        run(lambda c: aio.BranchesApi(c).get_branch("repo", "main", async_req=True), config(server.url))
    assert server.requests == []


def test_bad_arguments_fail_before_sending(server: LoopbackServer) -> None:
    with pytest.raises(lakefs_sdk.ApiValueError, match="must not be"):
        run(lambda c: aio.BranchesApi(c).get_branch("repo", ".."), config(server.url))
    with pytest.raises(lakefs_sdk.ApiTypeError, match="unexpected keyword"):
        run(lambda c: aio.BranchesApi(c).get_branch("repo", "main", _timeout=3), config(server.url))  # type: ignore[call-arg]
    assert server.requests == []


def test_deprecated_operation_warns_at_the_callers_line(server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(200, '{"version": "1.84.0"}')

    async def call(client: AsyncApiClient) -> Any:
        return await aio.InternalApi(client).get_lake_fs_version()  # the warning's line

    with pytest.warns(DeprecationWarning, match="calls getLakeFSVersion, which the API marks deprecated") as caught:
        version = run(call, config(server.url))
    assert version.version == "1.84.0"
    assert [w.filename for w in caught] == [__file__], "the warning points at the caller's code"


def test_configuration_from_env(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAKECTL_SERVER_ENDPOINT_URL", server.url)
    monkeypatch.setenv("LAKECTL_CREDENTIALS_ACCESS_KEY_ID", "AKIAENV")
    monkeypatch.setenv("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("LAKECTL_CONFIG_FILE", str(tmp_path / "none.yaml"))
    server.handler = lambda request: Reply(200, '{"id": "main", "commit_id": "c"}')
    ref = run(lambda c: aio.BranchesApi(c).get_branch("repo", "main"), Configuration.from_env())
    assert ref.id == "main"
    import base64

    assert server.requests[0].header("Authorization") == "Basic " + base64.b64encode(b"AKIAENV:env-secret").decode()
    assert server.requests[0].path == "/api/v1/repositories/repo/branches/main"


# -- streaming uploads ---------------------------------------------------------------------------------


async def chunks_of(data: bytes, size: int = 100_000) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        await asyncio.sleep(0)
        yield data[i : i + size]


def source(tmp_path: Path, index: int) -> Tuple[str, Any, bool]:
    """Upload content number ``index``: (name, content, whether its size is known in advance)."""
    path = tmp_path / "payload.bin"
    path.write_bytes(PAYLOAD)
    makers: List[Tuple[str, Callable[[], Any], bool]] = [
        ("bytes", lambda: PAYLOAD, True),
        ("str path", lambda: str(path), True),
        ("PathLike", lambda: path, True),
        ("binary file", lambda: open(path, "rb"), True),  # closed by the test
        ("BytesIO", lambda: io.BytesIO(PAYLOAD), True),
        ("iterator", lambda: iter([PAYLOAD[:1000], PAYLOAD[1000:]]), False),
        ("async iterator", lambda: chunks_of(PAYLOAD), False),
        ("named async iterator", lambda: ("name.bin", chunks_of(PAYLOAD)), False),
    ]
    name, make, known_size = makers[index]
    return name, make(), known_size


@pytest.mark.parametrize("index", range(8))
@pytest.mark.parametrize("multipart", [False, True])
def test_upload_round_trips(server: LoopbackServer, tmp_path: Path, index: int, multipart: bool) -> None:
    name, content, known_size = source(tmp_path, index)
    progress: List[Tuple[int, Optional[int]]] = []
    options: Dict[str, Any] = {} if multipart else {"_content_type": "application/octet-stream"}
    run(
        lambda c: aio.ObjectsApi(c).upload_object(
            "repo", "main", "p", content=content, _progress=lambda d, t: progress.append((d, t)), **options
        ),
        config(server.url),
    )
    if isinstance(content, io.BufferedReader):
        content.close()
    request = server.requests[0]
    if multipart:
        boundary = (request.header("Content-Type") or "").split("boundary=", 1)[1].encode()
        head, _, rest = request.body.partition(b"\r\n\r\n")
        assert head.startswith(b"--" + boundary) and rest == PAYLOAD + b"\r\n--" + boundary + b"--\r\n", name
    else:
        assert request.body == PAYLOAD, name
        assert request.header("Content-Type") == "application/octet-stream"
    if known_size:
        assert request.header("Content-Length") == str(len(request.body)) and request.header("Transfer-Encoding") is None
    else:
        assert request.header("Transfer-Encoding") == "chunked", name
    assert progress and progress[-1][0] == len(PAYLOAD), name
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)


def test_progress_of_a_file_upload_is_reported_on_the_loop_thread(server: LoopbackServer, tmp_path: Path) -> None:
    import threading

    path = tmp_path / "p.bin"
    path.write_bytes(PAYLOAD)
    threads = set()
    run(
        lambda c: aio.ObjectsApi(c).upload_object(
            "repo", "main", "p", content=path, _progress=lambda d, t: threads.add(threading.get_ident())
        ),
        config(server.url),
    )
    assert threads == {threading.get_ident()}, "file reads run in a worker thread, progress on the loop"


# -- streaming downloads ---------------------------------------------------------------------------------


def test_download_iter_bytes_and_write_to(server: LoopbackServer, tmp_path: Path) -> None:
    server.handler = lambda request: Reply(200, PAYLOAD, {"Content-Type": "application/octet-stream"})

    async def scenario(client: AsyncApiClient) -> Tuple[bytes, int, List[Tuple[int, Optional[int]]]]:
        objects = aio.ObjectsApi(client)
        response = await objects.get_object_without_preload_content("repo", "main", "p")
        assert response.status == 200 and response.headers["Content-Length"] == str(len(PAYLOAD))
        with pytest.raises(lakefs_sdk.ApiValueError, match=r"await response\.read\(\)"):
            response.data  # noqa: B018 - unread on purpose
        parts = [chunk async for chunk in response.iter_bytes(256 * 1024)]
        assert all(len(p) <= 256 * 1024 for p in parts)
        seen: List[Tuple[int, Optional[int]]] = []
        written = await aio.transfer.download(objects, "repo", "main", "p", tmp_path / "out.bin", progress=lambda d, t: seen.append((d, t)))
        return b"".join(parts), written, seen

    streamed, written, seen = run(scenario, config(server.url))
    assert streamed == PAYLOAD
    assert written == len(PAYLOAD) and (tmp_path / "out.bin").read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"], "no temporary file left behind"


def test_truncated_download_to_a_path_leaves_the_target_untouched(server: LoopbackServer, tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"previous")
    server.handler = lambda request: Reply(200, PAYLOAD, {"Content-Type": "application/octet-stream"}, fault="truncate")

    async def scenario(client: AsyncApiClient) -> None:
        response = await aio.ObjectsApi(client).get_object_without_preload_content("repo", "main", "p")
        await response.write_to(target)

    with pytest.raises(lakefs_sdk.ApiException):
        run(scenario, config(server.url, max_retries=0))
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_error_status_of_an_unread_response_raises_with_its_body(server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(404, '{"message": "no such object"}', {"Content-Type": "application/json"})
    with pytest.raises(lakefs_sdk.NotFoundException) as raised:
        run(lambda c: aio.ObjectsApi(c).get_object_without_preload_content("repo", "main", "p"), config(server.url))
    assert raised.value.message == "no such object" and raised.value.operation == "getObject"


# -- pagination ---------------------------------------------------------------------------------------------


def test_every_paginated_operation_has_an_async_iterator() -> None:

    sync_iters = {(n, m) for n in lakefs_sdk.api.__all__ for m in vars(getattr(lakefs_sdk, n)) if m.endswith("_iter")}
    async_iters = {(n, m) for n in lakefs_sdk.api.__all__ for m in vars(getattr(aio, n)) if m.endswith("_iter")}
    assert sync_iters == async_iters and len(async_iters) >= 19


def test_async_iteration_follows_the_cursor(server: LoopbackServer) -> None:
    def page(request: Any) -> Reply:
        after = dict(p.split("=") for p in request.query.split("&") if p).get("after", "")
        start = int(after or 0)
        results = [{"id": f"b{i}", "commit_id": "c"} for i in range(start, min(start + 2, 5))]
        more = start + 2 < 5
        pagination = {"has_more": more, "next_offset": str(start + 2) if more else "", "results": len(results), "max_per_page": 2}
        return Reply(200, json.dumps({"pagination": pagination, "results": results}))

    server.handler = page

    async def scenario(client: AsyncApiClient) -> List[str]:
        return [ref.id async for ref in aio.BranchesApi(client).list_branches_iter("repo", amount=2)]

    assert run(scenario, config(server.url)) == ["b0", "b1", "b2", "b3", "b4"]
    assert [r.query for r in server.requests] == ["amount=2", "after=2&amount=2", "after=4&amount=2"]


# -- TLS and proxy ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    if not have_openssl():
        pytest.skip("openssl is not installed: TLS tests need it to make certificates")
    return make_pki(tmp_path_factory.mktemp("pki"))


REF = Reply(200, '{"id": "main", "commit_id": "c1"}')


def get_branch(c: Configuration) -> Any:
    return run(lambda client: aio.BranchesApi(client).get_branch("repo", "main"), c)


def test_unknown_ca_fails_once_without_retry(pki: Dict[str, Path]) -> None:
    with LoopbackServer(lambda request: REF, tls=server_context(pki)) as srv:
        with pytest.raises(lakefs_sdk.ApiConnectionError) as raised:
            get_branch(config(srv.url))
        assert "TLS failure" in str(raised.value.reason)
        assert srv.connections == 1 and srv.requests == [], "a verification failure is never retried"


@pytest.mark.parametrize("how", ["ca bundle path", "ca data"])
def test_ca_bundle(pki: Dict[str, Path], how: str) -> None:
    setting = {"ssl_ca_cert": str(pki["ca_pem"])} if how == "ca bundle path" else {"ca_cert_data": pki["ca_pem"].read_text()}
    with LoopbackServer(lambda request: REF, tls=server_context(pki)) as srv:
        assert get_branch(config(srv.url, **setting)).id == "main"


def test_server_name_and_client_certificate(pki: Dict[str, Path]) -> None:
    base = {"ssl_ca_cert": str(pki["ca_pem"])}
    with LoopbackServer(lambda request: REF, tls=server_context(pki, cert="named")) as srv:
        with pytest.raises(lakefs_sdk.ApiConnectionError):
            get_branch(config(srv.url, **base))
        assert get_branch(config(srv.url, tls_server_name="lakefs.test", **base)).id == "main"
    with LoopbackServer(lambda request: REF, tls=server_context(pki, require_client_cert=True)) as srv:
        with pytest.raises(lakefs_sdk.ApiConnectionError):
            get_branch(config(srv.url, **base))
        certificate = {"cert_file": str(pki["client_pem"]), "key_file": str(pki["client_key"])}
        assert get_branch(config(srv.url, **certificate, **base)).id == "main"


def test_verification_off_connects_and_warns_once(pki: Dict[str, Path]) -> None:
    with LoopbackServer(lambda request: REF, tls=server_context(pki)) as srv, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        async def calls(client: AsyncApiClient) -> List[Any]:
            return [await aio.BranchesApi(client).get_branch("repo", "main") for _ in range(3)]

        refs = run(calls, config(srv.url, verify_ssl=False))
    assert [r.id for r in refs] == ["main"] * 3
    messages = [str(w.message) for w in caught if not issubclass(w.category, ResourceWarning)]  # GC of other tests
    assert len(messages) == 1 and "verification is disabled" in messages[0], messages


def test_proxy_is_used(server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(200, '{"id": "main", "commit_id": "c"}')
    with LoopbackServer(lambda request: Reply(200, '{"id": "via-proxy", "commit_id": "c"}')) as proxy:
        c = config("http://lakefs.invalid:8000", proxy=proxy.url, proxy_headers={"X-Proxy-Token": "p"})
        ref = run(lambda client: aio.BranchesApi(client).get_branch("repo", "main"), c)
    assert ref.id == "via-proxy"
    assert server.requests == []
    sent = proxy.requests[0]
    assert sent.target == "http://lakefs.invalid:8000/api/v1/repositories/repo/branches/main"
    assert sent.header("X-Proxy-Token") == "p"


# -- secrets --------------------------------------------------------------------------------------------------------

SECRET = "s3cr3t-do-not-leak-aio"
BEARER = "eyJ.bearer-do-not-leak-aio.sig"


def test_no_secret_in_logs_reprs_or_exceptions(server: LoopbackServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    presigned = "https://bucket.s3.amazonaws.com/k?X-Amz-Signature=sig-do-not-leak-aio"

    def reply(request: Any) -> Reply:
        if request.path.endswith("/auth/login"):
            return Reply(200, json.dumps({"token": BEARER}), {"Content-Type": "application/json", "Set-Cookie": f"s={SECRET}"})
        if request.path.endswith("/stat"):
            stats = {"path": "o", "path_type": "object", "physical_address": presigned, "checksum": "c", "mtime": 1}
            return Reply(200, json.dumps(stats))
        return Reply(401, '{"message": "bad token"}')

    server.handler = reply
    seen: List[Any] = []

    async def flows(client: AsyncApiClient) -> None:
        seen.append(client)
        info = await aio.AuthApi(client).login_with_http_info(
            lakefs_sdk.LoginInformation(access_key_id="AKIA", secret_access_key=SECRET)
        )
        seen.extend([info, info.data])
        seen.append(await aio.ObjectsApi(client).stat_object("repo", "main", "o", presign=True))
        try:
            await aio.BranchesApi(client).get_branch("repo", "main")
        except lakefs_sdk.ApiException as error:
            seen.extend([error, error.headers])

    for c in (
        config(server.url, password=SECRET, debug=True, max_retries=0),
        Configuration(host=server.url + "/api/v1", access_token_provider=lambda refresh: BEARER),
    ):
        seen.append(c)
        run(flows, c)

    text = "\n".join([r.getMessage() for r in caplog.records] + [repr(x) for x in seen] + [str(x) for x in seen])
    assert len(caplog.records) > 5 and "GET" in text
    for secret in (SECRET, BEARER, "sig-do-not-leak-aio"):
        assert secret not in text, f"{secret} leaked"
    assert json.loads(server.requests[0].body)["secret_access_key"] == SECRET, "masking is for display only"


# -- bounded concurrency -----------------------------------------------------------------------------------------------


def test_upload_many_reports_every_item(server: LoopbackServer, tmp_path: Path) -> None:
    def reply(request: Any) -> Reply:
        if "fail" in request.query:
            return Reply(412, '{"message": "object exists"}')
        return STATS

    server.handler = reply
    path = tmp_path / "f.bin"
    path.write_bytes(b"z" * 1000)
    items = [(b"x" * 100, f"ok/{i}") for i in range(10)] + [(b"y" * 10, "fail/1"), (path, "ok/file"), (chunks_of(b"q" * 50, 10), "fail/2")]
    progress: List[Tuple[int, Optional[int]]] = []
    in_flight = {"now": 0, "max": 0}
    original = aio.ObjectsApi.upload_object

    async def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        in_flight["now"] += 1
        in_flight["max"] = max(in_flight["max"], in_flight["now"])
        try:
            await asyncio.sleep(0.005)
            return await original(self, *args, **kwargs)
        finally:
            in_flight["now"] -= 1

    async def scenario(client: AsyncApiClient) -> Any:
        objects = aio.ObjectsApi(client)
        objects.upload_object = counting.__get__(objects)  # type: ignore[method-assign]
        return await upload_many(objects, "repo", "main", items, concurrency=3, progress=lambda d, t: progress.append((d, t)))

    report = run(scenario, config(server.url))
    assert [r.path for r in report.results] == [p for _, p in items], "one result per item, in order"
    assert [r.path for r in report.failed] == ["fail/1", "fail/2"]
    assert all(isinstance(r.error, lakefs_sdk.PreconditionFailedException) for r in report.failed)
    assert len(report.succeeded) == 11 and all(r.value.path == "p" for r in report.succeeded)
    assert in_flight["max"] == 3, "at most `concurrency` uploads at a time, and that many"
    assert progress[-1][0] == 10 * 100 + 10 + 1000 + 50
    with pytest.raises(lakefs_sdk.PreconditionFailedException):
        report.raise_first()


def test_download_many_writes_each_target(server: LoopbackServer, tmp_path: Path) -> None:
    def reply(request: Any) -> Reply:
        name = request.query.split("path=", 1)[1]
        if name == "missing":
            return Reply(404, '{"message": "not found"}')
        return Reply(200, name.encode() * 1000, {"Content-Type": "application/octet-stream"})

    server.handler = reply
    names = ["a", "b", "missing", "c"]

    async def scenario(client: AsyncApiClient) -> Any:
        items = [(name, tmp_path / f"{name}.bin") for name in names]
        return await download_many(aio.ObjectsApi(client), "repo", "main", items, concurrency=2)

    report = run(scenario, config(server.url))
    assert [r.ok for r in report.results] == [True, True, False, True]
    assert isinstance(report.results[2].error, lakefs_sdk.NotFoundException)
    for name in ("a", "b", "c"):
        assert (tmp_path / f"{name}.bin").read_bytes() == name.encode() * 1000
    assert not (tmp_path / "missing.bin").exists()
    assert [r.value for r in report.succeeded] == [1000, 1000, 1000]


# -- the same requests as the sync client ---------------------------------------------------------


def _sent_headers(server: LoopbackServer) -> List[Dict[str, str]]:
    return [{name.lower(): value for name, value in request.headers} for request in server.requests]


def test_both_clients_send_the_same_headers_aiohttp_adds_none_of_its_own(server: LoopbackServer) -> None:
    """No ``Accept: */*`` on an operation that names no media type, no guessed ``Content-Type``
    on a POST without a body or on a raw PUT, ``Accept-Encoding: identity`` as http.client sends."""
    from lakefs_sdk._request import Request
    from lakefs_sdk.models.commit_creation import CommitCreation

    server.handler = lambda request: Reply(200, "{}") if request.method != "HEAD" else Reply(200, "")
    commit = CommitCreation(message="m")

    sync_client = lakefs_sdk.ApiClient(config(server.url))
    lakefs_sdk.ObjectsApi(sync_client).head_object("repo", "main", "p")
    lakefs_sdk.AuthApi(sync_client).create_credentials("user")
    lakefs_sdk.CommitsApi(sync_client).commit_without_preload_content("repo", "main", commit)
    sync_client.rest_client.send(Request("PUT", server.url + "/store/part", {"Content-Length": "3"}, b"abc"))
    sent_sync = _sent_headers(server)
    server.requests.clear()

    async def calls(client: AsyncApiClient) -> None:
        await aio.ObjectsApi(client).head_object("repo", "main", "p")
        await aio.AuthApi(client).create_credentials("user")
        response = await aio.CommitsApi(client).commit_without_preload_content("repo", "main", commit)
        response.release_conn()
        await client.rest_client.send(Request("PUT", server.url + "/store/part", {"Content-Length": "3"}, b"abc"))

    run(calls, config(server.url))
    sent_async = _sent_headers(server)
    assert len(sent_sync) == len(sent_async) == 4
    assert sent_async[:3] == sent_sync[:3]
    # A transport's own request carries no User-Agent of ours: each library names itself.
    sent_sync[3].pop("user-agent"), sent_async[3].pop("user-agent")
    assert sent_async[3] == sent_sync[3]
    assert "accept" not in sent_async[0] and "accept" not in sent_async[3]
    assert "content-type" not in sent_async[1] and "content-type" not in sent_async[3]
    assert all(headers["accept-encoding"] == "identity" for headers in sent_async)
