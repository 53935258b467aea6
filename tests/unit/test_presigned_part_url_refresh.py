"""upload_presigned (sync and asyncio): a part whose URL expires while its PUT is retried gets a fresh URL.

The client's transport retries a part PUT with the same URL (a store answering 503 with
``Retry-After``); when that URL expires meanwhile, the store refuses it with 403. lakeFS and
the store are played by one handler of a :mod:`lakefs_sdk.testing` mock transport, on a clock
that moves only by the waits the transport's retry policy asks for (recorded, not slept); the
upload reads the same clock (``time.time`` is patched).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any, Dict, List, Optional, Tuple

import pytest

import lakefs_sdk
from lakefs_sdk import ApiClient, Configuration, StagingApi
from lakefs_sdk._multipart import MAX_URL_REFRESHES
from lakefs_sdk.testing import AsyncMockTransport, MockTransport, Request, Response
from lakefs_sdk.transfer import upload_presigned

from support.expiring_store import DENIED, LIFETIME, SLOW_DOWN, ExpiringStore, storage_config

MiB = 1024 * 1024
PART = 5 * MiB
DATA = bytes(range(251)) * (12 * MiB // 251) + b"tail"  # parts of 5, 5 and 2+ MiB
UPLOAD = "/repositories/repo/branches/main/staging/pmpu"
UPLOAD_ID = "u-1"
STATS = {
    "path": "data/big.bin",
    "path_type": "object",
    "physical_address": "s3://bucket/obj",
    "checksum": "mpu-etag",
    "mtime": 1,
    "size_bytes": len(DATA),
}


class Rig(ExpiringStore):
    """lakeFS's presigned multipart endpoints and an S3-like store, on a clock the retry waits move.

    The store refuses a URL past its end with S3's 403 (``say_why=False``: with an empty
    body); ``script[n]`` lists the answers part ``n`` gets before the store's own, in order.
    ``store_ahead`` puts the store's clock that many seconds ahead of everyone else's.
    """

    def __init__(self, say_why: bool = True, store_ahead: float = 0.0) -> None:
        super().__init__(say_why, store_ahead)
        self.script: Dict[int, List[Response]] = {}
        self.refreshed: List[int] = []
        self.completed: List[Any] = []
        self.aborted: List[Any] = []
        self.puts: List[Tuple[int, str, int]] = []  # (part, url, status) of every part PUT
        self.received: Dict[int, str] = {}  # part -> sha256 of the bytes the store took

    def url(self, number: int, generation: int) -> str:
        signed = self.signed_now()
        return (
            f"http://store.test/bucket/obj?partNumber={number}&uploadId={UPLOAD_ID}&X-Amz-Date={signed}"
            f"&X-Amz-Expires={LIFETIME}&X-Amz-Signature=f00d&generation={generation}"
        )

    def __call__(self, request: Request) -> Response:
        if request.url.startswith("http://store.test/"):
            return self.store(request)
        route = (request.method, request.path)
        if route == ("GET", "/config"):
            return Response(200, json={"storage_config": storage_config()})
        if route == ("POST", UPLOAD):
            count = int(request.params["parts"])
            urls = [self.url(n, 0) for n in range(1, count + 1)]
            return Response(
                201, json={"upload_id": UPLOAD_ID, "physical_address": "s3://bucket/obj", "presigned_urls": urls}
            )
        if request.method == "PUT" and request.path.startswith(f"{UPLOAD}/{UPLOAD_ID}/parts/"):
            number = int(request.path.rsplit("/", 1)[1])
            assert request.json() == {"physical_address": "s3://bucket/obj"}
            self.refreshed.append(number)
            return Response(200, json={"presigned_url": self.url(number, self.refreshed.count(number))})
        if route == ("PUT", f"{UPLOAD}/{UPLOAD_ID}"):
            self.completed.append(request.json())
            return Response(200, json=STATS)
        if route == ("DELETE", f"{UPLOAD}/{UPLOAD_ID}"):
            self.aborted.append(request.json())
            return Response(204)
        return Response(404, json={"message": f"unexpected {request.method} {request.path}"})

    def store(self, request: Request) -> Response:
        number = int(request.params["partNumber"])
        answer = self.refusal(request, self.script.get(number))
        if answer is None:
            digest = hashlib.sha256(request.content).hexdigest()
            self.received[number] = digest
            answer = Response(200, headers={"ETag": f'"etag-{number}-{digest[:8]}"'})
        self.puts.append((number, request.params["generation"], answer.status_code))
        return answer

    def part_puts(self, number: int) -> List[Tuple[str, int]]:
        return [(generation, status) for n, generation, status in self.puts if n == number]


def expected_parts() -> Dict[int, str]:
    return {
        offset // PART + 1: hashlib.sha256(DATA[offset : offset + PART]).hexdigest()
        for offset in range(0, len(DATA), PART)
    }


def configuration() -> Configuration:
    config = Configuration(host="http://lakefs.test/api/v1", username="AKIAEXAMPLE", password="secret")
    config.max_retries = 3
    return config


@pytest.fixture(autouse=True)
def rig(monkeypatch: pytest.MonkeyPatch) -> Rig:
    played = Rig()
    monkeypatch.setattr(time, "time", played.now)  # the upload's clock: the one the waits move
    return played


def upload(mode: str, rig: Rig, progress: Any = None) -> Any:
    """``upload_presigned`` of DATA, one part at a time, with a mock transport playing ``rig``."""
    config = configuration()
    options: Dict[str, Any] = {"part_size": PART, "concurrency": 1, "progress": progress}
    if mode == "sync":
        rig.transport = MockTransport(rig, configuration=config)
        with ApiClient(config, transport=rig.transport) as client:
            return upload_presigned(StagingApi(client), "repo", "main", "data/big.bin", DATA, **options)
    aio = pytest.importorskip("lakefs_sdk.aio")
    from lakefs_sdk.aio import transfer as aio_transfer

    async def main() -> Any:
        rig.transport = AsyncMockTransport(rig, configuration=config)
        async with aio.AsyncApiClient(config, transport=rig.transport) as client:
            return await aio_transfer.upload_presigned(
                aio.StagingApi(client), "repo", "main", "data/big.bin", DATA, **options
            )

    return asyncio.run(main())


MODES = ["sync", "async"]


@pytest.mark.parametrize("say_why", [True, False], ids=["store-says-expired", "url-past-its-end"])
@pytest.mark.parametrize("mode", MODES)
def test_a_part_url_that_expires_during_its_retries_is_asked_for_again(mode: str, say_why: bool, rig: Rig) -> None:
    rig.say_why = say_why
    rig.script[2] = [SLOW_DOWN]  # the transport waits the 40 s it asks for: the URL (30 s) is gone by then
    calls: List[Tuple[int, Optional[int]]] = []
    stats = upload(mode, rig, progress=lambda done, total: calls.append((done, total)))

    assert stats.checksum == "mpu-etag"
    # Sent with the first URL, retried with it (refused: expired), then sent with a fresh one.
    assert rig.part_puts(2) == [("0", 503), ("0", 403), ("1", 200)]
    assert rig.transport.waits == [40.0]
    # Part 3's URL from create ran out during part 2's wait too: renewed before use, as ever.
    assert rig.refreshed == [2, 3] and rig.part_puts(3) == [("1", 200)]
    assert rig.received == expected_parts(), "the part sent again is the same bytes"
    parts = [{"part_number": n, "etag": f"etag-{n}-{digest[:8]}"} for n, digest in sorted(expected_parts().items())]
    assert rig.completed == [{"physical_address": "s3://bucket/obj", "parts": parts}]
    assert rig.aborted == []
    # Every attempt at part 2 counted from zero again: never more than the whole.
    assert calls[-1] == (len(DATA), len(DATA))
    assert max(done for done, _ in calls) == len(DATA)


@pytest.mark.parametrize("mode", MODES)
def test_any_other_403_fails_at_once_and_aborts(mode: str, rig: Rig) -> None:
    rig.script[2] = [Response(403, content=DENIED, headers={"Content-Type": "application/xml"})]
    with pytest.raises(lakefs_sdk.ForbiddenException) as raised:
        upload(mode, rig)
    assert "SignatureDoesNotMatch" in str(raised.value)
    assert rig.part_puts(2) == [("0", 403)], "not retried, no fresh URL: the URL had its whole life ahead"
    assert rig.refreshed == [] and 3 not in rig.received
    assert rig.completed == [] and rig.aborted == [{"physical_address": "s3://bucket/obj"}]


@pytest.mark.parametrize("mode", MODES)
def test_fresh_urls_are_asked_for_at_most_twice_per_part(mode: str, rig: Rig) -> None:
    rig.store_ahead = LIFETIME  # a store whose clock finds every URL expired on arrival
    with pytest.raises(lakefs_sdk.ForbiddenException) as raised:
        upload(mode, rig)
    assert "Request has expired" in str(raised.value)
    assert MAX_URL_REFRESHES == 2
    assert rig.part_puts(1) == [("0", 403), ("1", 403), ("2", 403)]
    assert rig.refreshed == [1, 1] and rig.received == {}
    assert rig.completed == [] and rig.aborted == [{"physical_address": "s3://bucket/obj"}]
