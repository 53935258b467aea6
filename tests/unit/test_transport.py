"""The transport is a parameter: ``ApiClient(configuration, transport=...)`` and
``AsyncApiClient(configuration, transport=...)`` send through any object shaped like
``lakefs_sdk._transport.Transport`` / ``AsyncTransport``.

A fake transport receives the prepared ``Request`` (URL, headers with credentials, body)
and its responses are decoded, or raised as typed exceptions, exactly as the default
transports' are. A given transport travels with a pickled client, and is kept after
``fork()``.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import sys
import threading
from typing import Dict, List, Mapping, Optional

import pytest

from lakefs_sdk import ApiClient, BranchesApi, Configuration, NotFoundException, ObjectsApi
from lakefs_sdk._request import Request
from lakefs_sdk._transport import AsyncTransport, Response, Timeouts, Transport
from lakefs_sdk._upload import UploadBody
from lakefs_sdk.aio import AsyncApiClient
from lakefs_sdk.aio import BranchesApi as AsyncBranchesApi
from lakefs_sdk.aio._body import AsyncUpload
from lakefs_sdk.exceptions import ApiValueError, UnexpectedResponseError


class FakeResponse:
    """A response as a test writes it: status, headers, body."""

    def __init__(self, status: int, body: bytes = b"", headers: Optional[Mapping[str, str]] = None) -> None:
        self.status = status
        self.reason: Optional[str] = None
        self.headers: Dict[str, str] = {"Content-Type": "application/json", **(headers or {})}
        self.data = body
        self.retries = 0
        self.released = False

    def release_conn(self) -> None:
        self.released = True

    async def read(self) -> bytes:
        return self.data


class Script:
    """Scripted answers and a record of what a fake transport was given."""

    def __init__(self, *answers: FakeResponse) -> None:
        self.answers = list(answers)
        self.sent: List[Request] = []
        self.timeouts: List[Optional[Timeouts]] = []
        self.closed = 0

    def answer(self, request: Request, timeout: Optional[Timeouts]) -> FakeResponse:
        self.sent.append(request)
        self.timeouts.append(timeout)
        return self.answers.pop(0)

    @property
    def max_connections(self) -> int:
        return 3


class FakeTransport(Script):
    """A sync transport answering each request with the next scripted response."""

    def send(self, request: Request, *, timeout: Optional[Timeouts] = None, preload_content: bool = True) -> Response:
        return self.answer(request, timeout)

    def close(self) -> None:
        self.closed += 1


class AsyncFakeTransport(Script):
    """The same, for the asyncio client."""

    async def send(
        self, request: Request, *, timeout: Optional[Timeouts] = None, preload_content: bool = True
    ) -> FakeResponse:
        return self.answer(request, timeout)

    async def close(self) -> None:
        self.closed += 1


class LockedTransport(FakeTransport):
    """A transport holding a lock: no pickler takes it."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()


REF = json.dumps({"id": "main", "commit_id": "c1"}).encode()
NOT_FOUND = json.dumps({"message": "branch not found"}).encode()


def configuration() -> Configuration:
    return Configuration(host="http://127.0.0.1:9/api/v1", username="AKIA", password="secret")


def test_the_fakes_satisfy_the_protocols() -> None:
    sync: Transport = FakeTransport()
    aio: AsyncTransport = AsyncFakeTransport()
    assert sync.max_connections == aio.max_connections == 3
    assert isinstance(FakeResponse(200), Response)


def test_sync_client_sends_the_prepared_request_through_the_given_transport() -> None:
    fake = FakeTransport(FakeResponse(200, REF))
    client = ApiClient(configuration(), transport=fake)
    assert client.rest_client is fake
    ref = BranchesApi(client).get_branch("repo", "feature/x", _request_timeout=(1, 2))
    assert ref.id == "main" and ref.commit_id == "c1"
    [request] = fake.sent
    assert request.method == "GET"
    assert request.url == "http://127.0.0.1:9/api/v1/repositories/repo/branches/feature%2Fx"
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.headers["Accept"] == "application/json"
    assert request.body is None
    assert fake.timeouts == [Timeouts(connect=1.0, read=2.0)]
    client.close()
    assert fake.closed == 1


def test_sync_client_raises_the_typed_error_for_a_fake_answer() -> None:
    fake = FakeTransport(FakeResponse(404, NOT_FOUND))
    with pytest.raises(NotFoundException) as caught:
        BranchesApi(ApiClient(configuration(), transport=fake)).get_branch("repo", "main")
    assert caught.value.status == 404 and caught.value.arguments == {"repository": "repo", "branch": "main"}


def test_sync_client_refuses_an_undecodable_fake_answer() -> None:
    fake = FakeTransport(FakeResponse(200, b"<html>login</html>", {"Content-Type": "text/html"}))
    with pytest.raises(UnexpectedResponseError):
        BranchesApi(ApiClient(configuration(), transport=fake)).get_branch("repo", "main")


def test_sync_client_with_http_info_carries_the_fake_headers() -> None:
    fake = FakeTransport(FakeResponse(200, REF, {"X-Request-Id": "r1"}))
    answer = BranchesApi(ApiClient(configuration(), transport=fake)).get_branch_with_http_info("repo", "main")
    assert answer.status_code == 200 and answer.headers is not None and answer.headers["x-request-id"] == "r1"


def test_sync_upload_body_reaches_the_transport() -> None:
    stats = json.dumps(
        {"path": "p", "path_type": "object", "physical_address": "s3://x", "checksum": "c", "mtime": 1}
    ).encode()
    fake = FakeTransport(FakeResponse(201, stats))
    ObjectsApi(ApiClient(configuration(), transport=fake)).upload_object("repo", "main", "p", content=b"hello")
    [request] = fake.sent
    body = request.body
    assert body is not None and not isinstance(body, bytes)
    assert isinstance(body, UploadBody) and b"hello" in b"".join(body.iterate())
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")


def test_bad_arguments_never_reach_the_transport() -> None:
    fake = FakeTransport()
    with pytest.raises(ApiValueError):
        BranchesApi(ApiClient(configuration(), transport=fake)).get_branch("repo", "main", _request_timeout=(5,))
    assert fake.sent == []


def test_async_client_sends_through_the_given_transport() -> None:
    fake = AsyncFakeTransport(FakeResponse(200, REF), FakeResponse(404, NOT_FOUND))

    async def main() -> str:
        async with AsyncApiClient(configuration(), transport=fake) as client:
            assert client.rest_client is fake
            ref = await AsyncBranchesApi(client).get_branch("repo", "main")
            with pytest.raises(NotFoundException):
                await AsyncBranchesApi(client).get_branch("repo", "gone")
            return ref.id

    assert asyncio.run(main()) == "main"
    assert [r.url.rsplit("/", 1)[1] for r in fake.sent] == ["main", "gone"]
    assert fake.sent[0].headers["Authorization"].startswith("Basic ")
    assert fake.closed == 1


def test_async_client_hands_an_upload_to_the_transport_as_an_async_upload() -> None:
    stats = json.dumps(
        {"path": "p", "path_type": "object", "physical_address": "s3://x", "checksum": "c", "mtime": 1}
    ).encode()
    fake = AsyncFakeTransport(FakeResponse(201, stats))
    from lakefs_sdk.aio import ObjectsApi as AsyncObjectsApi

    async def main() -> None:
        async with AsyncApiClient(configuration(), transport=fake) as client:
            await AsyncObjectsApi(client).upload_object("repo", "main", "p", content=b"hello")

    asyncio.run(main())
    assert isinstance(fake.sent[0].body, AsyncUpload)


def test_a_token_refresh_after_401_sends_again_through_the_fake() -> None:
    tokens = iter(["old", "new"])
    config = Configuration(host="http://127.0.0.1:9/api/v1", access_token_provider=lambda refresh: next(tokens))
    fake = FakeTransport(FakeResponse(401, b'{"message": "expired"}'), FakeResponse(200, REF))
    assert BranchesApi(ApiClient(config, transport=fake)).get_branch("repo", "main").id == "main"
    assert len(fake.sent) == 2 and fake.sent[1].headers["Authorization"] == "Bearer new"


def test_a_given_transport_travels_with_a_pickled_client() -> None:
    fake = FakeTransport(FakeResponse(200, REF))
    copy = pickle.loads(pickle.dumps(ApiClient(configuration(), transport=fake)))
    assert isinstance(copy.rest_client, FakeTransport) and copy.rest_client is not fake
    assert BranchesApi(copy).get_branch("repo", "main").id == "main"


def test_a_transport_that_does_not_pickle_fails_the_pickle() -> None:
    with pytest.raises(TypeError, match="lock"):
        pickle.dumps(ApiClient(configuration(), transport=LockedTransport()))


@pytest.mark.skipif(sys.platform == "win32" or not hasattr(os, "fork"), reason="needs fork()")
def test_a_given_transport_is_kept_after_fork() -> None:
    fake = FakeTransport(FakeResponse(200, REF))
    client = ApiClient(configuration(), transport=fake)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        ok = client.rest_client is fake and BranchesApi(client).get_branch("repo", "main").id == "main"
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(pid, 0)
    assert answer == b"1"
    assert client.rest_client is fake and fake.closed == 0
