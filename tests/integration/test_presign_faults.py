"""Faults on the presigned (S3) path: nothing half-written, nothing lost, no lakeFS credential at the store.

Runs only against a lakeFS on an S3 store (``LAKEFS_STORE=s3``, with the store's
``OBJECT_STORE_*``): ``python3 scripts/lakefs_server.py start 1.84.0 --store s3``. Each rig
is a private lakeFS (the session's binary) on that same store, whose presigned URLs point at
a :class:`~support.store_proxy.StoreProxy` (``blockstore.s3.pre_signed_endpoint``), and, in
front of lakeFS, a recording proxy that shows which calls the SDK made (the abort above all).

What must hold, sync and async:

* lakeFS killed during a multipart upload: the call raises ``ApiConnectionError``; the SDK
  tried to abort (it logs that it could not); once lakeFS is back nothing is at the path;
* a part PUT that fails once (503, dropped connection) is sent again on the client's retry
  policy and the object is whole (sha256); failing beyond the retries aborts the upload, never
  completes it with a part missing, and leaves no multipart upload in the store;
* a part URL within 15 s of its expiry is replaced through ``upload_part`` before use, and one
  that expires while its PUT is retried (the store's 403) is replaced and the part sent again;
  a single PUT's URL that so expires is replaced by a new location (``get_physical_address``),
  the one linked;
* Ctrl-C (sync) or cancellation (async) mid-upload aborts it, and nothing appears;
* no ``Authorization``/``Cookie`` header and no lakeFS key or secret reaches the store on any
  presigned path (the proxy refuses and records such a request).
"""

from __future__ import annotations

import _thread
import asyncio
import hashlib
import logging
import os
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

import lakefs_sdk
from lakefs_sdk import transfer
from lakefs_sdk.models import RepositoryCreation

from support.lakefs import LakeFS, unique_name
from support.loopback import Reply
from support.private_lakefs import PrivateLakeFS
from support.recording_proxy import RecordingProxy
from support.routes import OperationIndex
from support.scripts import load_script
from support.store_proxy import FailParts, StoreProxy, StoreRequest, needles

MiB = 1024 * 1024
STORE_VARIABLES = ("OBJECT_STORE_ENDPOINT", "OBJECT_STORE_ACCESS_KEY_ID", "OBJECT_STORE_SECRET_ACCESS_KEY")
# Three parts of 5, 5 and 2 MiB (+3 bytes): the smallest parts the store takes.
SIZE = 12 * MiB + 3
PARTS: Dict[str, Any] = {"part_size": 5 * MiB, "multipart_threshold": 5 * MiB}
MAX_RETRIES = 2
FAST_RETRIES: Dict[str, Any] = {"max_retries": MAX_RETRIES, "retry_backoff": 0.05, "retry_backoff_max": 0.2}
COOKIE = "lakefs_session=faults-test-session-cookie"

pytestmark = pytest.mark.skipif(
    os.environ.get("LAKEFS_STORE") != "s3" or not all(os.environ.get(name) for name in STORE_VARIABLES),
    reason="needs lakeFS on an S3 store (LAKEFS_STORE=s3 and OBJECT_STORE_*): "
    "python3 scripts/lakefs_server.py start 1.84.0 --store s3",
)

server_script = load_script("lakefs_server")
store_script = load_script("object_store")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def store_credentials() -> Any:
    return store_script.S3Credentials(
        endpoint=os.environ["OBJECT_STORE_ENDPOINT"],
        access_key_id=os.environ["OBJECT_STORE_ACCESS_KEY_ID"],
        secret_access_key=os.environ["OBJECT_STORE_SECRET_ACCESS_KEY"],
        region=os.environ.get("OBJECT_STORE_REGION", "us-east-1"),
    )


@dataclass
class Rig:
    """A private lakeFS on the S3 store; presigned URLs on ``store``; ``recorder`` in front of lakeFS."""

    private: PrivateLakeFS
    store: StoreProxy
    recorder: RecordingProxy
    bucket: str
    prefix: str
    credentials: Any  # the store's own keys (object_store.S3Credentials), to read it directly

    def configuration(self, direct: bool = False) -> lakefs_sdk.Configuration:
        """The admin's configuration, through the recorder (or ``direct``ly to lakeFS), retrying fast."""
        configuration = self.private.configuration(**FAST_RETRIES)
        if not direct:
            configuration.host = self.recorder.url
        return configuration

    def client(self, direct: bool = False) -> lakefs_sdk.LakeFSClient:
        """A client that also holds a session cookie: neither it nor the Basic credentials may go to the store."""
        return lakefs_sdk.LakeFSClient(self.configuration(direct), cookie=COOKIE)

    def aio_client(self, direct: bool = False) -> Any:
        from lakefs_sdk import aio

        return aio.AsyncApiClient(self.configuration(direct), cookie=COOKIE)

    def repository(self, client: lakefs_sdk.LakeFSClient, hint: str) -> str:
        name = unique_name(hint)
        namespace = f"s3://{self.bucket}/{self.prefix}/{name}"
        client.repositories_api.create_repository(RepositoryCreation(name=name, storage_namespace=namespace))
        return name

    def pending_uploads(self, repository: str) -> List[str]:
        """The multipart uploads the store still holds under ``repository``'s namespace (read from the store)."""
        answer = store_script.s3_request(
            self.credentials,
            "GET",
            f"/{self.bucket}",
            query={"uploads": "", "prefix": f"{self.prefix}/{repository}/"},
        )
        assert answer.status == 200, (answer.status, answer.body[:300])
        text = answer.body.decode()
        return [chunk.split("</UploadId>")[0] for chunk in text.split("<UploadId>")[1:]]


@contextmanager
def start_rig(
    lakefs: LakeFS,
    index: OperationIndex,
    folder: Path,
    expiry: Optional[str] = None,
    credentials: Optional[Any] = None,
    lakefs_to_store: Optional[str] = None,
) -> Iterator[Rig]:
    """A private lakeFS on the store of ``credentials`` (default: the session's), reached at ``lakefs_to_store``."""
    if lakefs.binary is None or not lakefs.binary.is_file():
        pytest.skip("LAKEFS_BIN is not set (or not a file): a private lakeFS server needs the binary")
    credentials = credentials or store_credentials()
    prefix = f"faults-{secrets.token_hex(4)}"
    bucket = os.environ.get("OBJECT_STORE_BUCKET", store_script.BUCKET)
    forbidden = [*needles(server_script.ACCESS_KEY_ID, server_script.SECRET_ACCESS_KEY), COOKIE.split("=", 1)[1]]
    with StoreProxy(credentials.endpoint, forbidden) as store:
        s3 = server_script.S3Blockstore(
            endpoint=lakefs_to_store or credentials.endpoint,
            access_key_id=credentials.access_key_id,
            secret_access_key=credentials.secret_access_key,
            bucket=bucket,
            prefix=prefix,
            region=credentials.region,
            pre_signed_expiry=expiry,
            pre_signed_endpoint=store.url,
        )
        folder.mkdir(parents=True, exist_ok=True)
        server = server_script.LakeFSServer(lakefs.binary, folder, lakefs.version, s3=s3)
        try:
            server.start()
            with RecordingProxy(server.endpoint, index) as recorder:
                yield Rig(PrivateLakeFS(server), store, recorder, bucket, prefix, credentials)
        finally:
            server.cleanup()
        assert store.violations == [], store.violations


@pytest.fixture(scope="module")
def shared_rig(
    lakefs: LakeFS, operation_index: OperationIndex, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rig]:
    with start_rig(lakefs, operation_index, tmp_path_factory.mktemp("presign-faults")) as started:
        yield started


@pytest.fixture
def rig(shared_rig: Rig) -> Iterator[Rig]:
    """The module's rig, for the tests that leave lakeFS running; no fault is left behind."""
    yield shared_rig
    shared_rig.store.fault = None
    violations = list(shared_rig.store.violations)
    shared_rig.store.violations.clear()  # reported once, by the test that caused them
    assert violations == [], violations


@pytest.fixture
def fresh_rig(lakefs: LakeFS, operation_index: OperationIndex, tmp_path: Path) -> Iterator[Rig]:
    """A rig of the test's own, for tests that kill lakeFS."""
    with start_rig(lakefs, operation_index, tmp_path / "lakefs") as started:
        yield started


def operations(rig: Rig, mark: int) -> List[str]:
    return [e.operation_id or f"{e.method} {e.target}" for e in rig.recorder.since(mark)]


def part_puts(requests: List[StoreRequest], number: int) -> List[StoreRequest]:
    return [r for r in requests if r.method == "PUT" and r.part_number == number]


def assert_nothing_at(client: lakefs_sdk.LakeFSClient, repository: str, path: str) -> None:
    with pytest.raises(lakefs_sdk.NotFoundException):
        client.objects_api.stat_object(repository, "main", path)
    assert client.objects_api.list_objects(repository, "main", prefix=path).results == []


def run_upload(
    mode: str, rig: Rig, repository: str, path: str, content: Any, direct: bool = False, **kwargs: Any
) -> Any:
    """``upload_presigned`` sync, or async on a fresh event loop, with ``kwargs``."""
    return run_upload_with(mode, rig.configuration(direct), repository, path, content, **kwargs)


def run_upload_with(
    mode: str, configuration: lakefs_sdk.Configuration, repository: str, path: str, content: Any, **kwargs: Any
) -> Any:
    """``upload_presigned`` with a client of ``configuration`` (holding the cookie), sync or async."""
    if mode == "sync":
        with lakefs_sdk.LakeFSClient(configuration, cookie=COOKIE) as client:
            return transfer.upload_presigned(client.staging_api, repository, "main", path, content, **kwargs)
    from lakefs_sdk import aio
    from lakefs_sdk.aio import transfer as aio_transfer

    async def main() -> Any:
        async with aio.AsyncApiClient(configuration, cookie=COOKIE) as client:
            return await aio_transfer.upload_presigned(
                aio.StagingApi(client), repository, "main", path, content, **kwargs
            )

    return asyncio.run(main())


# -- lakeFS killed during a multipart upload --------------------------------------------------------------


class KillOnce:
    """A progress callback that kills lakeFS once ``at`` bytes were sent; the parts go on to the store."""

    def __init__(self, private: PrivateLakeFS, at: int) -> None:
        self.private, self.at = private, at
        self.killed_at: Optional[int] = None

    def __call__(self, done: int, total: Optional[int]) -> None:
        if self.killed_at is None and done >= self.at:
            self.killed_at = done
            self.private.server.kill()


def chunks_of(data: bytes) -> Iterator[bytes]:
    for offset in range(0, len(data), MiB):
        yield data[offset : offset + MiB]


@pytest.mark.parametrize("content", ["file", "stream"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_lakefs_killed_during_a_multipart_upload_leaves_nothing(
    mode: str, content: str, fresh_rig: Rig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file's parts all have URLs: lakeFS is gone at ``complete``; a stream's next part asks ``upload_part``."""
    data = os.urandom(SIZE)
    source: Any = tmp_path / "big.bin"
    source.write_bytes(data)
    if content == "stream":
        source = chunks_of(data)
    with fresh_rig.client() as client:
        repository = fresh_rig.repository(client, f"kill-{mode}-{content}")
    mark = fresh_rig.store.mark()
    kill = KillOnce(fresh_rig.private, 6 * MiB)  # in the middle of part 2
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="lakefs_sdk"):
        with pytest.raises(lakefs_sdk.ApiConnectionError) as raised:
            run_upload(
                mode,
                fresh_rig,
                repository,
                "big/killed.bin",
                source,
                direct=True,
                concurrency=1,
                progress=kill,
                **PARTS,
            )
    assert time.monotonic() - started < 60
    assert isinstance(raised.value, lakefs_sdk.ApiException)
    assert not isinstance(raised.value, lakefs_sdk.ApiTimeoutError)
    assert kill.killed_at is not None and not fresh_rig.private.running()
    puts = fresh_rig.store.since(mark)
    assert part_puts(puts, 1) and part_puts(puts, 2), "the upload did not reach the store before the kill"
    if content == "file":  # every part had its URL: they all went, only complete could not
        assert [r.status for r in puts if r.method == "PUT"] == [200, 200, 200]
    # lakeFS was down: the SDK tried to abort, could not, and said so (without hiding the first error).
    assert any("could not abort the multipart upload" in r.getMessage() for r in caplog.records), caplog.text

    fresh_rig.private.server.start()
    with fresh_rig.client() as client:
        assert_nothing_at(client, repository, "big/killed.bin")


# -- a part PUT that fails ------------------------------------------------------------------------------------


FAULTS: Dict[str, Callable[[], Reply]] = {
    "503": lambda: Reply(503, "<Error><Code>SlowDown</Code></Error>", {"Content-Type": "application/xml"}),
    "dropped": lambda: Reply(fault="reset"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_part_put_failing_once_is_sent_again(mode: str, fault: str, rig: Rig) -> None:
    data = os.urandom(SIZE)
    with rig.client() as client:
        repository = rig.repository(client, f"retry-{mode}-{fault}")
        mark, calls = rig.store.mark(), rig.recorder.mark()
        rig.store.fault = FailParts(2, FAULTS[fault], times=1)
        stats = run_upload(mode, rig, repository, "big/retried.bin", data, concurrency=2, **PARTS)
        rig.store.fault = None
        assert stats.size_bytes == len(data)
        assert sha256(client.objects_api.get_object(repository, "main", "big/retried.bin")) == sha256(data)
    second = part_puts(rig.store.since(mark), 2)
    assert [(r.injected, r.status) for r in second] == [(True, 503 if fault == "503" else 0), (False, 200)]
    sent = operations(rig, calls)
    assert "completePresignMultipartUpload" in sent and "abortPresignMultipartUpload" not in sent
    assert "uploadPart" not in sent, sent  # the URLs of create live 15 minutes: none is asked for again


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_part_failing_beyond_the_retries_aborts_the_upload(mode: str, rig: Rig) -> None:
    data = os.urandom(SIZE)
    with rig.client() as client:
        repository = rig.repository(client, f"abort-{mode}")
        mark, calls = rig.store.mark(), rig.recorder.mark()
        rig.store.fault = FailParts(2, FAULTS["503"], times=None)
        with pytest.raises(lakefs_sdk.ApiException) as raised:
            run_upload(mode, rig, repository, "big/failed.bin", data, concurrency=1, **PARTS)
        rig.store.fault = None
        assert raised.value.status == 503
        assert len(part_puts(rig.store.since(mark), 2)) == MAX_RETRIES + 1
        sent = operations(rig, calls)
        assert "completePresignMultipartUpload" not in sent, sent
        aborts = [e for e in rig.recorder.since(calls) if e.operation_id == "abortPresignMultipartUpload"]
        assert [e.status for e in aborts] == [204], sent
        assert_nothing_at(client, repository, "big/failed.bin")
        assert rig.pending_uploads(repository) == []


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_upload_many_aborts_every_attempt_of_a_file_whose_part_keeps_failing(mode: str, rig: Rig) -> None:
    """``upload_many`` retries a file after a 5xx: each attempt is a multipart upload of its own, each aborted."""
    files = {"bulk/big.bin": os.urandom(SIZE), "bulk/small.bin": os.urandom(1000)}
    items = [(data, path) for path, data in files.items()]
    with rig.client() as client:
        repository = rig.repository(client, f"bulk-abort-{mode}")
        calls = rig.recorder.mark()
        rig.store.fault = FailParts(2, FAULTS["503"], times=None)
        try:
            if mode == "sync":
                report = transfer.upload_many(client.objects_api, repository, "main", items, presign=True)
            else:
                from lakefs_sdk import aio
                from lakefs_sdk.aio import transfer as aio_transfer

                async def main() -> Any:
                    async with rig.aio_client() as aio_client:
                        objects = aio.ObjectsApi(aio_client)
                        return await aio_transfer.upload_many(objects, repository, "main", items, presign=True)

                report = asyncio.run(main())
        finally:
            rig.store.fault = None
        outcome = {r.path: r.error for r in report.results}
        assert outcome["bulk/small.bin"] is None, report.summary()
        assert isinstance(outcome["bulk/big.bin"], lakefs_sdk.ApiException) and outcome["bulk/big.bin"].status == 503
        sent = operations(rig, calls)
        created = sent.count("createPresignMultipartUpload")
        assert created >= 2 and sent.count("abortPresignMultipartUpload") == created, sent
        assert "completePresignMultipartUpload" not in sent, sent
        assert sha256(client.objects_api.get_object(repository, "main", "bulk/small.bin")) == sha256(
            files["bulk/small.bin"]
        )
        assert_nothing_at(client, repository, "bulk/big.bin")
        assert rig.pending_uploads(repository) == []


# -- the store restarts during a part -------------------------------------------------------------------

# Enough retries to wait out a store restart (about 5 s, more on a busy machine): 12 tries, at most 2 s apart.
PATIENT: Dict[str, Any] = {"max_retries": 12, "retry_backoff": 0.5, "retry_backoff_max": 2.0}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_store_restart_during_a_part_is_ridden_out(
    mode: str, lakefs: LakeFS, operation_index: OperationIndex, tmp_path: Path
) -> None:
    """A private store stops in the middle of part 2 and comes back (on other ports: the proxies follow it)."""
    weed = store_script.binary_path()
    if not weed.is_file():
        pytest.skip(f"the object store binary is not built ({weed}): scripts/object_store.py build")
    private_store = store_script.ObjectStore(weed, tmp_path / "store")
    restart_errors: List[BaseException] = []
    data = os.urandom(SIZE)
    try:
        private_store.start()
        with StoreProxy(private_store.endpoint, [], refuse_credentials=False) as lakefs_side:
            with start_rig(
                lakefs,
                operation_index,
                tmp_path / "lakefs",
                credentials=private_store.credentials,
                lakefs_to_store=lakefs_side.url,
            ) as rig:

                def bring_back() -> None:
                    try:
                        private_store.start()
                    except BaseException as error:  # reported by the test
                        restart_errors.append(error)
                        return
                    for proxy in (rig.store, lakefs_side):
                        proxy.retarget(private_store.endpoint)
                    rig.credentials = private_store.credentials

                back = threading.Thread(target=bring_back, name="store-restart")

                def restart(done: int, total: Optional[int]) -> None:
                    if back.ident is None and done >= 6 * MiB:  # once, in the middle of part 2
                        private_store.stop()
                        back.start()

                with rig.client() as client:
                    repository = rig.repository(client, f"store-restart-{mode}")
                    mark = rig.store.mark()
                    configuration = rig.configuration()
                    for name, value in PATIENT.items():
                        setattr(configuration, name, value)
                    stats = run_upload_with(
                        mode,
                        configuration,
                        repository,
                        "big/survived.bin",
                        data,
                        concurrency=1,
                        progress=restart,
                        **PARTS,
                    )
                    back.join(60)
                    assert restart_errors == [], restart_errors
                    assert back.ident is not None, "the store was never stopped"
                    assert stats.size_bytes == len(data)
                    assert sha256(client.objects_api.get_object(repository, "main", "big/survived.bin")) == sha256(data)
                second = part_puts(rig.store.since(mark), 2)
                # Sent while the store was down (closed unanswered), then again until it was back.
                statuses = [r.status for r in second]
                assert statuses[0] == 0 and statuses[-1] == 200 and len(statuses) >= 2, statuses
                assert rig.pending_uploads(repository) == []
    finally:
        private_store.cleanup()


# -- an expiring part URL ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_part_url_about_to_expire_is_asked_for_again(
    mode: str, lakefs: LakeFS, operation_index: OperationIndex, tmp_path: Path
) -> None:
    """URLs live 18 s; part 1 holds the upload 4 s, so parts 2 and 3 find theirs within the 15 s margin."""
    data = os.urandom(SIZE)
    held: List[float] = []

    def hold(done: int, total: Optional[int]) -> None:
        if not held and done > 0:
            held.append(time.monotonic())
            time.sleep(4.0)  # blocks the part's sender (and the event loop: nothing else is due)

    with start_rig(lakefs, operation_index, tmp_path / "lakefs", expiry="18s") as rig:
        with rig.client() as client:
            repository = rig.repository(client, f"expiry-{mode}")
            mark, calls = rig.store.mark(), rig.recorder.mark()
            run_upload(mode, rig, repository, "big/refreshed.bin", data, concurrency=1, progress=hold, **PARTS)
            assert sha256(client.objects_api.get_object(repository, "main", "big/refreshed.bin")) == sha256(data)
        refreshed = [
            e.request.path.rsplit("/", 1)[-1] for e in rig.recorder.since(calls) if e.operation_id == "uploadPart"
        ]
        # Part 1's URL had 18 s left when sent (unless this machine took over 3 s to get there).
        assert refreshed in (["2", "3"], ["1", "2", "3"]), operations(rig, calls)
        puts = {r.part_number or 0: r for r in rig.store.since(mark) if r.method == "PUT"}
        assert sorted(puts) == [1, 2, 3] and all(r.status == 200 for r in puts.values())
        signed = {number: request.query["X-Amz-Date"] for number, request in puts.items()}
        assert signed[2] > signed[1] and signed[3] > signed[1], signed  # new URLs, signed after the hold


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_part_url_that_expires_during_its_retries_is_asked_for_again(
    mode: str, lakefs: LakeFS, operation_index: OperationIndex, tmp_path: Path
) -> None:
    """URLs live 18 s; part 2's first PUT gets 503 with ``Retry-After: 20``, so the retry's URL has expired.

    The store refuses it (403, "Request has expired"); the SDK asks ``upload_part`` for a fresh
    URL and sends the part again, instead of failing and aborting the upload.
    """
    data = os.urandom(SIZE)
    slow_down = Reply(
        503, "<Error><Code>SlowDown</Code></Error>", {"Content-Type": "application/xml", "Retry-After": "20"}
    )
    with start_rig(lakefs, operation_index, tmp_path / "lakefs", expiry="18s") as rig:
        with rig.client() as client:
            repository = rig.repository(client, f"expired-retry-{mode}")
            mark, calls = rig.store.mark(), rig.recorder.mark()
            rig.store.fault = FailParts(2, lambda: slow_down, times=1)
            stats = run_upload(mode, rig, repository, "big/renewed.bin", data, concurrency=1, **PARTS)
            rig.store.fault = None
            assert stats.size_bytes == len(data)
            assert sha256(client.objects_api.get_object(repository, "main", "big/renewed.bin")) == sha256(data)
        second = part_puts(rig.store.since(mark), 2)
        assert [(r.injected, r.status) for r in second] == [(True, 503), (False, 403), (False, 200)], second
        assert second[0].target == second[1].target != second[2].target, "retried as it was, then a fresh URL"
        assert second[1].query["X-Amz-Date"] < second[2].query["X-Amz-Date"]
        sent = operations(rig, calls)
        refreshed = [
            e.request.path.rsplit("/", 1)[-1] for e in rig.recorder.since(calls) if e.operation_id == "uploadPart"
        ]
        assert "2" in refreshed and "completePresignMultipartUpload" in sent, sent
        assert "abortPresignMultipartUpload" not in sent, sent
        assert rig.pending_uploads(repository) == []



@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_single_put_url_that_expires_during_its_retries_gets_a_new_location(
    mode: str, lakefs: LakeFS, operation_index: OperationIndex, tmp_path: Path
) -> None:
    """The single-PUT twin (content below ``multipart_threshold``): the first PUT gets 503 with ``Retry-After: 20``.

    URLs live 18 s, so the retry's URL has expired and the store refuses it (403, "Request has
    expired"); the SDK asks ``get_physical_address`` again and PUTs the content to the new
    location, which is the one linked; the first location holds nothing.
    """
    data = os.urandom(MiB + 3)
    slow_down = Reply(
        503, "<Error><Code>SlowDown</Code></Error>", {"Content-Type": "application/xml", "Retry-After": "20"}
    )
    faulted: List[str] = []

    def slow_first_put(request: Any) -> Optional[Reply]:
        if request.method != "PUT" or "partNumber=" in request.query or faulted:
            return None
        faulted.append(request.path)
        return slow_down

    with start_rig(lakefs, operation_index, tmp_path / "lakefs", expiry="18s") as rig:
        with rig.client() as client:
            repository = rig.repository(client, f"expired-single-{mode}")
            mark, calls = rig.store.mark(), rig.recorder.mark()
            rig.store.fault = slow_first_put
            stats = run_upload(mode, rig, repository, "small/renewed.bin", data)
            rig.store.fault = None
            assert stats.size_bytes == len(data)
            assert sha256(client.objects_api.get_object(repository, "main", "small/renewed.bin")) == sha256(data)
        puts = [r for r in rig.store.since(mark) if r.method == "PUT"]
        assert [(r.injected, r.status, r.part_number) for r in puts] == [
            (True, 503, None),
            (False, 403, None),
            (False, 200, None),
        ], puts
        assert puts[0].target == puts[1].target, "retried as it was"
        assert puts[1].key != puts[2].key, "then sent to a new location"
        assert stats.physical_address == f"s3://{rig.bucket}/{puts[2].key}", "the location that took the bytes"
        first = store_script.s3_request(rig.credentials, "HEAD", f"/{rig.bucket}/{puts[0].key}")
        assert first.status == 404, "the location left behind holds nothing"
        sent = operations(rig, calls)
        assert sent.count("getPhysicalAddress") == 2 and sent.count("linkPhysicalAddress") == 1, sent


# -- Ctrl-C and cancellation -----------------------------------------------------------------------------------


class Interrupt:
    """A progress callback that interrupts the upload once ``at`` bytes were sent, once."""

    def __init__(self, at: int, how: Callable[[], object]) -> None:
        self.at, self.how = at, how
        self.fired = False

    def __call__(self, done: int, total: Optional[int]) -> None:
        if not self.fired and done >= self.at:
            self.fired = True
            self.how()


def raise_keyboard_interrupt() -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize("where", ["in-the-callback", "in-the-main-thread"])
def test_ctrl_c_mid_upload_aborts_it(where: str, rig: Rig, ctrl_c_raises: None) -> None:
    """Ctrl-C raised where the callback runs (a part's thread), or in the main thread as a real one lands."""
    data = os.urandom(SIZE)
    how = raise_keyboard_interrupt if where == "in-the-callback" else _thread.interrupt_main
    with rig.client() as client:
        repository = rig.repository(client, f"ctrl-c-{where}")
        calls = rig.recorder.mark()
        interrupt = Interrupt(6 * MiB, how)
        with pytest.raises(KeyboardInterrupt):
            transfer.upload_presigned(
                client.staging_api,
                repository,
                "main",
                "big/interrupted.bin",
                data,
                progress=interrupt,
                concurrency=1,
                **PARTS,
            )
        assert interrupt.fired
        sent = operations(rig, calls)
        assert "completePresignMultipartUpload" not in sent, sent
        assert [e.status for e in rig.recorder.since(calls) if e.operation_id == "abortPresignMultipartUpload"] == [204]
        assert_nothing_at(client, repository, "big/interrupted.bin")
        assert rig.pending_uploads(repository) == []


def test_cancelling_an_async_upload_aborts_it(rig: Rig) -> None:
    from lakefs_sdk import aio
    from lakefs_sdk.aio import transfer as aio_transfer

    data = os.urandom(SIZE)
    with rig.client() as client:
        repository = rig.repository(client, "cancelled")
    calls = rig.recorder.mark()

    async def main() -> bool:
        async with rig.aio_client() as client:
            task: Optional[asyncio.Task[Any]] = None
            interrupt = Interrupt(6 * MiB, lambda: task.cancel() if task is not None else None)
            task = asyncio.ensure_future(
                aio_transfer.upload_presigned(
                    aio.StagingApi(client),
                    repository,
                    "main",
                    "big/cancelled.bin",
                    data,
                    progress=interrupt,
                    concurrency=1,
                    **PARTS,
                )
            )
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 60)
            return interrupt.fired

    assert asyncio.run(main())
    sent = operations(rig, calls)
    assert "completePresignMultipartUpload" not in sent, sent
    assert [e.status for e in rig.recorder.since(calls) if e.operation_id == "abortPresignMultipartUpload"] == [204]
    with rig.client() as client:
        assert_nothing_at(client, repository, "big/cancelled.bin")
    assert rig.pending_uploads(repository) == []


# -- no lakeFS credential reaches the store ------------------------------------------------------------------------


def test_the_store_proxy_refuses_a_credential(rig: Rig) -> None:
    """The check the next test relies on can fail: a request carrying a credential is refused and recorded."""
    import urllib3

    mark = rig.store.mark()
    secret, key = server_script.SECRET_ACCESS_KEY, server_script.ACCESS_KEY_ID
    cases = [
        ("/x", {"Authorization": "AWS4-HMAC-SHA256 Credential=x"}),
        ("/x", {"Cookie": "a=b"}),
        ("/x", {"X-Note": secret}),
        (f"/x?note={key}", {}),
        ("/x?note=" + secret.replace("/", "%2F"), {}),
    ]
    try:
        for target, headers in cases:
            before = len(rig.store.violations)
            url = f"{rig.store.url}/{rig.bucket}{target}"
            answer = urllib3.request("GET", url, headers=headers, retries=False, timeout=10)
            assert answer.status == 403 and len(rig.store.violations) > before, (target, headers)
        sent = rig.store.since(mark)
        assert len(sent) == len(cases) and all(r.injected and r.status == 403 for r in sent)
    finally:
        rig.store.violations.clear()


def presigned_paths_sync(
    rig: Rig, repository: str, tmp_path: Path, files: Dict[str, bytes]
) -> Dict[str, Callable[[], object]]:
    client = rig.client()
    objects, staging = client.objects_api, client.staging_api

    def get_object() -> None:
        assert objects.get_object(repository, "main", "single.bin", presign=True) == files["single.bin"]

    def download() -> None:
        target = tmp_path / "downloaded.bin"
        assert transfer.download(objects, repository, "main", "multipart.bin", target, presign=True) == SIZE
        assert sha256(target.read_bytes()) == sha256(files["multipart.bin"])

    def download_many() -> None:
        report = transfer.download_many(objects, repository, "main", [("many/", tmp_path / "many")], presign=True)
        assert report.ok, report.summary()
        for path in ("many/a.bin", "many/b.bin"):
            assert (tmp_path / path).read_bytes() == files[path]

    return {
        "upload_presigned single PUT": lambda: transfer.upload_presigned(
            staging, repository, "main", "single.bin", files["single.bin"]
        ),
        "upload_presigned multipart": lambda: transfer.upload_presigned(
            staging, repository, "main", "multipart.bin", files["multipart.bin"], **PARTS
        ),
        "upload_presigned stream": lambda: transfer.upload_presigned(
            staging, repository, "main", "stream.bin", chunks_of(files["stream.bin"]), **PARTS
        ),
        "upload_many(presign=True)": lambda: _report_ok(
            transfer.upload_many(
                objects, repository, "main", [(files[p], p) for p in ("many/a.bin", "many/b.bin")], presign=True
            )
        ),
        "get_object(presign=True)": get_object,
        "download(presign=True)": download,
        "download_many(presign=True)": download_many,
        "close": client.close,
    }


def _report_ok(report: Any) -> None:
    assert report.ok, report.summary()


async def presigned_paths_async(rig: Rig, repository: str, tmp_path: Path, files: Dict[str, bytes]) -> Dict[str, str]:
    """Every presigned path with the asyncio client; what each one sent to the store (methods)."""
    from lakefs_sdk import aio
    from lakefs_sdk.aio import transfer as aio_transfer

    seen: Dict[str, str] = {}
    async with rig.aio_client() as client:
        objects, staging = aio.ObjectsApi(client), aio.StagingApi(client)

        async def stream() -> Any:
            for chunk in chunks_of(files["stream.bin"]):
                yield chunk

        async def get_object() -> None:
            assert await objects.get_object(repository, "main", "single.bin", presign=True) == files["single.bin"]

        async def download() -> None:
            target = tmp_path / "downloaded.bin"
            assert (
                await aio_transfer.download(objects, repository, "main", "multipart.bin", target, presign=True) == SIZE
            )
            assert sha256(target.read_bytes()) == sha256(files["multipart.bin"])

        async def download_many() -> None:
            report = await aio_transfer.download_many(
                objects, repository, "main", [("many/", tmp_path / "many")], presign=True
            )
            _report_ok(report)
            for path in ("many/a.bin", "many/b.bin"):
                assert (tmp_path / path).read_bytes() == files[path]

        async def upload_many() -> None:
            items = [(files[p], p) for p in ("many/a.bin", "many/b.bin")]
            _report_ok(await aio_transfer.upload_many(objects, repository, "main", items, presign=True))

        steps: Dict[str, Callable[[], Any]] = {
            "upload_presigned single PUT": lambda: aio_transfer.upload_presigned(
                staging, repository, "main", "single.bin", files["single.bin"]
            ),
            "upload_presigned multipart": lambda: aio_transfer.upload_presigned(
                staging, repository, "main", "multipart.bin", files["multipart.bin"], **PARTS
            ),
            "upload_presigned stream": lambda: aio_transfer.upload_presigned(
                staging, repository, "main", "stream.bin", stream(), **PARTS
            ),
            "upload_many(presign=True)": upload_many,
            "get_object(presign=True)": get_object,
            "download(presign=True)": download,
            "download_many(presign=True)": download_many,
        }
        for name, step in steps.items():
            mark = rig.store.mark()
            await step()
            seen[name] = " ".join(sorted({r.method for r in rig.store.since(mark)}))
    return seen


EXPECTED_METHODS = {
    "upload_presigned single PUT": "PUT",
    "upload_presigned multipart": "PUT",
    "upload_presigned stream": "PUT",
    "upload_many(presign=True)": "PUT",
    "get_object(presign=True)": "GET",
    "download(presign=True)": "GET",
    "download_many(presign=True)": "GET",
}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_no_lakefs_credential_reaches_the_store(mode: str, rig: Rig, tmp_path: Path) -> None:
    files = {
        "single.bin": os.urandom(256 * 1024),
        "multipart.bin": os.urandom(SIZE),
        "stream.bin": os.urandom(6 * MiB + 5),
        "many/a.bin": os.urandom(1000),
        "many/b.bin": os.urandom(70_000),
    }
    with rig.client() as client:
        repository = rig.repository(client, f"no-credential-{mode}")
    calls = rig.recorder.mark()
    if mode == "sync":
        steps = presigned_paths_sync(rig, repository, tmp_path, files)
        close = steps.pop("close")
        seen = {}
        try:
            for name, step in steps.items():
                mark = rig.store.mark()
                step()
                seen[name] = " ".join(sorted({r.method for r in rig.store.since(mark)}))
        finally:
            close()
    else:
        seen = asyncio.run(presigned_paths_async(rig, repository, tmp_path, files))
    # Every path went to the store (through the proxy), and the proxy found no credential.
    assert seen == EXPECTED_METHODS
    assert rig.store.violations == []
    # The lakeFS calls did carry the credentials: the check above is not vacuous.
    to_lakefs = rig.recorder.since(calls)
    assert to_lakefs and all(e.request.header("Authorization") for e in to_lakefs)
    assert all(e.request.header("Cookie") == COOKIE for e in to_lakefs)
    redirects = [e for e in to_lakefs if e.operation_id == "getObject" and e.status == 302]
    assert redirects and all((e.response_header("Location") or "").startswith(rig.store.url + "/") for e in redirects)
    with rig.client() as client:
        for path, data in files.items():
            assert sha256(client.objects_api.get_object(repository, "main", path)) == sha256(data), path
