"""upload_presigned (sync and asyncio), single PUT: a URL that expires while the PUT is retried gets a new location.

Content below ``multipart_threshold`` goes in one PUT to the URL ``get_physical_address``
hands out. The client's transport retries that PUT with the same URL (a store answering
503 with ``Retry-After``); when the URL expires meanwhile, the store refuses it with 403, and
the upload reserves a new location and sends the bytes there. lakeFS and the store are played
by one handler of a :mod:`lakefs_sdk.testing` mock transport, on a clock that moves only by
the waits the transport's retry policy asks for (recorded, not slept); the upload reads the
same clock (``time.time`` is patched).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import lakefs_sdk
from lakefs_sdk import ApiClient, Configuration, StagingApi
from lakefs_sdk._multipart import MAX_URL_REFRESHES, URL_EXPIRY_MARGIN
from lakefs_sdk.testing import AsyncMockTransport, MockTransport, Request, Response
from lakefs_sdk.transfer import upload_presigned

from support.expiring_store import DENIED, LIFETIME, SLOW_DOWN, ExpiringStore, storage_config

DATA = bytes(range(251)) * (5 * 1024 * 1024 // (2 * 251)) + b"tail"  # 2.5 MiB: one PUT, a few 1 MiB chunks
BACKING = "/repositories/repo/branches/main/staging/backing"
ETAG = "etag-" + hashlib.sha256(DATA).hexdigest()[:8]


class Rig(ExpiringStore):
    """lakeFS's get/link physical address and an S3-like store, on a clock the retry waits move.

    Each ``get_physical_address`` reserves a new location ``s3://bucket/obj-<n>`` (n from 0)
    with a URL that lives ``lifetimes.get(n, LIFETIME)`` seconds. The store refuses a URL past
    its end with S3's 403 (``say_why=False``: with an empty body); ``script[n]`` lists the
    answers the PUTs to location ``n`` get before the store's own, in order. ``store_ahead``
    puts the store's clock that many seconds ahead of everyone else's.
    """

    def __init__(self, say_why: bool = True, store_ahead: float = 0.0) -> None:
        super().__init__(say_why, store_ahead)
        self.lifetimes: Dict[int, int] = {}
        self.script: Dict[int, List[Response]] = {}
        self.reserved = 0
        self.linked: List[Any] = []
        self.puts: List[Tuple[int, int]] = []  # (location, status) of every PUT to the store
        self.received: Dict[int, bytes] = {}  # location -> the bytes the store took

    def url(self, location: int) -> str:
        signed = self.signed_now()
        lifetime = self.lifetimes.get(location, LIFETIME)
        return (
            f"http://store.test/bucket/obj-{location}?X-Amz-Date={signed}"
            f"&X-Amz-Expires={lifetime}&X-Amz-Signature=f00d"
        )

    def __call__(self, request: Request) -> Response:
        if request.url.startswith("http://store.test/"):
            return self.store(request)
        route = (request.method, request.path)
        if route == ("GET", "/config"):
            return Response(200, json={"storage_config": storage_config()})
        if route == ("GET", BACKING):
            assert request.params == {"path": "data/small.bin", "presign": "true"}
            location = self.reserved
            self.reserved += 1
            return Response(200, json={"physical_address": f"s3://bucket/obj-{location}", "presigned_url": self.url(location)})
        if route == ("PUT", BACKING):
            self.linked.append(request.json())
            return Response(
                200,
                json={
                    "path": "data/small.bin",
                    "path_type": "object",
                    "physical_address": request.json()["staging"]["physical_address"],
                    "checksum": request.json()["checksum"],
                    "mtime": 1,
                    "size_bytes": len(DATA),
                },
            )
        return Response(404, json={"message": f"unexpected {request.method} {request.path}"})

    def store(self, request: Request) -> Response:
        assert request.method == "PUT" and request.headers["Content-Length"] == str(len(DATA))
        location = int(request.path.rsplit("-", 1)[1])
        answer = self.refusal(request, self.script.get(location))
        if answer is None:
            self.received[location] = request.content
            answer = Response(200, headers={"ETag": f'"etag-{hashlib.sha256(request.content).hexdigest()[:8]}"'})
        self.puts.append((location, answer.status_code))
        return answer


def configuration() -> Configuration:
    config = Configuration(host="http://lakefs.test/api/v1", username="AKIAEXAMPLE", password="secret")
    config.max_retries = 3
    return config


@pytest.fixture(autouse=True)
def rig(monkeypatch: pytest.MonkeyPatch) -> Rig:
    played = Rig()
    monkeypatch.setattr(time, "time", played.now)  # the upload's clock: the one the waits move
    return played


def upload(mode: str, rig: Rig, content: Any = DATA, progress: Any = None) -> Any:
    """``upload_presigned`` of ``content`` (DATA) in one PUT, with a mock transport playing ``rig``."""
    config = configuration()
    if mode == "sync":
        rig.transport = MockTransport(rig, configuration=config)
        with ApiClient(config, transport=rig.transport) as client:
            return upload_presigned(StagingApi(client), "repo", "main", "data/small.bin", content, progress=progress)
    aio = pytest.importorskip("lakefs_sdk.aio")
    from lakefs_sdk.aio import transfer as aio_transfer

    async def main() -> Any:
        rig.transport = AsyncMockTransport(rig, configuration=config)
        async with aio.AsyncApiClient(config, transport=rig.transport) as client:
            return await aio_transfer.upload_presigned(
                aio.StagingApi(client), "repo", "main", "data/small.bin", content, progress=progress
            )

    return asyncio.run(main())


MODES = ["sync", "async"]


@pytest.mark.parametrize("source", ["bytes", "path", "file"])
@pytest.mark.parametrize("say_why", [True, False], ids=["store-says-expired", "url-past-its-end"])
@pytest.mark.parametrize("mode", MODES)
def test_a_url_that_expires_during_the_retries_gets_a_new_location(
    mode: str, say_why: bool, source: str, rig: Rig, tmp_path: Path
) -> None:
    rig.say_why = say_why
    rig.script[0] = [SLOW_DOWN]  # the transport waits the 40 s it asks for: the URL (30 s) is gone by then
    calls: List[Tuple[int, Optional[int]]] = []
    local = tmp_path / "small.bin"
    local.write_bytes(DATA)
    with local.open("rb") as file:
        content = {"bytes": DATA, "path": local, "file": file}[source]
        stats = upload(mode, rig, content, progress=lambda done, total: calls.append((done, total)))

    # Sent to the first location, retried there (refused: expired), then sent to a second one.
    assert rig.puts == [(0, 503), (0, 403), (1, 200)]
    assert rig.transport.waits == [40.0]
    assert rig.reserved == 2
    assert rig.received == {1: DATA}, "the whole content, read again from its start"
    # The location linked is the one that took the bytes; the first is left, never linked.
    assert len(rig.linked) == 1
    assert rig.linked[0]["staging"]["physical_address"] == "s3://bucket/obj-1"
    assert rig.linked[0]["checksum"] == ETAG and rig.linked[0]["size_bytes"] == len(DATA)
    assert stats.physical_address == "s3://bucket/obj-1" and stats.checksum == ETAG
    # Every attempt counted from zero again: never more than the whole.
    assert calls[-1] == (len(DATA), len(DATA))
    assert max(done for done, _ in calls) == len(DATA)


@pytest.mark.parametrize("mode", MODES)
def test_any_other_403_fails_at_once(mode: str, rig: Rig) -> None:
    rig.script[0] = [Response(403, content=DENIED, headers={"Content-Type": "application/xml"})]
    with pytest.raises(lakefs_sdk.ForbiddenException) as raised:
        upload(mode, rig)
    assert "SignatureDoesNotMatch" in str(raised.value)
    assert rig.puts == [(0, 403)], "not retried, no new location: the URL had its whole life ahead"
    assert rig.reserved == 1 and rig.linked == []


@pytest.mark.parametrize("mode", MODES)
def test_new_locations_are_asked_for_at_most_twice(mode: str, rig: Rig) -> None:
    rig.store_ahead = LIFETIME  # a store whose clock finds every URL expired on arrival
    with pytest.raises(lakefs_sdk.ForbiddenException) as raised:
        upload(mode, rig)
    assert "Request has expired" in str(raised.value)
    assert MAX_URL_REFRESHES == 2
    assert rig.puts == [(0, 403), (1, 403), (2, 403)]
    assert rig.reserved == 3 and rig.received == {} and rig.linked == []


@pytest.mark.parametrize("mode", MODES)
def test_a_url_already_near_its_end_is_asked_for_again_before_use(mode: str, rig: Rig) -> None:
    rig.lifetimes[0] = int(URL_EXPIRY_MARGIN) - 5  # within the margin from the moment it is given
    stats = upload(mode, rig)
    assert rig.reserved == 2 and rig.puts == [(1, 200)], "the first URL was never used"
    assert rig.linked[0]["staging"]["physical_address"] == "s3://bucket/obj-1"
    assert stats.checksum == ETAG
