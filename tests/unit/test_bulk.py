"""Bulk transfers (``upload_many``, ``download_many``, ``delete_many``), sync and async, on a loopback lakeFS.

A small in-memory object store answers the four operations involved; it records what
was sent, can fail chosen paths, and can hold requests to see how many run at once.
The async helpers are the same design: the same scenarios run through both and must
give the same reports.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import os
import pickle
import signal
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Set, Tuple

import pytest

import lakefs_sdk
from lakefs_sdk import ApiClient, Configuration, ObjectsApi, transfer
from lakefs_sdk._bulk import BulkProgress, TransferInterrupted, TransferReport
from lakefs_sdk.transfer import delete_many, download_many, upload_many

from support.loopback import LoopbackServer, Reply, Request

MAIN_THREAD = threading.get_ident
LOCAL_STORE = {"blockstore_type": "local", "blockstore_namespace_example": "local://x",
               "blockstore_namespace_ValidityRegex": "^local://", "pre_sign_support": False,
               "pre_sign_support_ui": False, "import_support": False, "import_validity_regex": "^local://"}


@dataclass
class FakeLake:
    """The objects of one branch, served as lakeFS serves them (only what bulk transfers use)."""

    objects: Dict[str, bytes] = field(default_factory=dict)
    fail: Dict[str, List[Reply]] = field(default_factory=dict)  # replies to give a path first, in order
    delete_errors: Dict[str, Tuple[int, str]] = field(default_factory=dict)  # path -> (status, message)
    hold: Optional[threading.Barrier] = None  # requests wait here until that many are in flight
    on_request: Optional[Callable[[Request], None]] = None
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: Dict[str, int] = field(default_factory=dict)

    def __call__(self, request: Request) -> Reply:
        if request.path.endswith("/api/v1/config"):  # asked once per client, whether the store presigns
            return Reply(200, json.dumps({"storage_config": LOCAL_STORE}))
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.on_request is not None:
                self.on_request(request)
            if self.hold is not None:
                try:
                    self.hold.wait(timeout=30)  # a guard against a hang, not a measure
                except threading.BrokenBarrierError:
                    pass
            return self.answer(request)
        finally:
            with self.lock:
                self.in_flight -= 1

    def answer(self, request: Request) -> Reply:
        query = dict(urllib.parse.parse_qsl(request.query, keep_blank_values=True))
        route = request.path.split("/api/v1", 1)[1]
        if route.endswith("/objects/delete"):
            return self.delete(request)
        if route.endswith("/objects/ls"):
            return self.listing(query)
        path = query.get("path", "")
        with self.lock:
            self.attempts[path] = self.attempts.get(path, 0) + 1
            scripted = self.fail.get(path)
            reply = scripted.pop(0) if scripted else None
        if reply is not None:
            return reply
        if request.method == "POST":
            with self.lock:
                self.objects[path] = request.body
            return stats_reply(path, request.body, 201)
        if path not in self.objects:
            return Reply(404, '{"message": "object not found"}')
        return Reply(200, self.objects[path], {"Content-Type": "application/octet-stream"})

    def listing(self, query: Dict[str, str]) -> Reply:
        prefix, after, amount = query.get("prefix", ""), query.get("after", ""), int(query.get("amount", "1000"))
        keys = sorted(k for k in self.objects if k.startswith(prefix) and k > after)
        page, more = keys[:amount], len(keys) > amount
        results = [stats(k, self.objects[k]) for k in page]
        pagination = {"has_more": more, "next_offset": page[-1] if more else "", "results": len(page), "max_per_page": 1000}
        return Reply(200, json.dumps({"pagination": pagination, "results": results}))

    def delete(self, request: Request) -> Reply:
        paths = json.loads(request.body)["paths"]
        scripted = self.fail.get("<delete>")
        if scripted:
            return scripted.pop(0)
        errors = []
        with self.lock:
            for path in paths:
                if path in self.delete_errors:
                    status, message = self.delete_errors[path]
                    errors.append({"path": path, "status_code": status, "message": message})
                else:
                    self.objects.pop(path, None)
        return Reply(200, json.dumps({"errors": errors}), {"Content-Type": "application/json", "X-Request-Id": "req-7"})


def stats(path: str, body: bytes) -> Dict[str, Any]:
    return {
        "path": path, "path_type": "object", "physical_address": f"local://x/{path}",
        "checksum": hashlib.md5(body).hexdigest(), "mtime": 1, "size_bytes": len(body),
    }


def stats_reply(path: str, body: bytes, status: int = 200) -> Reply:
    return Reply(status, json.dumps(stats(path, body)))


@pytest.fixture
def lake() -> FakeLake:
    return FakeLake()


@pytest.fixture
def server(lake: FakeLake) -> Iterator[LoopbackServer]:
    with LoopbackServer(lake) as srv:
        yield srv


def configuration(url: str, **settings: Any) -> Configuration:
    config = Configuration(host=url + "/api/v1", username="AKIA", password="secret")
    config.retry_backoff = 0.001
    config.connection_pool_maxsize = 8
    for key, value in settings.items():
        setattr(config, key, value)
    return config


@pytest.fixture
def objects(server: LoopbackServer) -> Iterator[ObjectsApi]:
    with ApiClient(configuration(server.url)) as client:
        yield ObjectsApi(client)


def outcome(report: TransferReport) -> List[Tuple[str, str, Optional[str]]]:
    """What a report says, comparable between the sync and the async helpers."""
    return [(r.path, r.status, type(r.error).__name__ if r.error is not None else None) for r in report.results]


def aio_call(url: str, helper: str, *args: Any, **kwargs: Any) -> TransferReport:
    """Run ``lakefs_sdk.aio.transfer.<helper>`` with an async client on ``url``."""
    aio = pytest.importorskip("lakefs_sdk.aio")
    from lakefs_sdk.aio import transfer as aio_transfer

    async def main() -> TransferReport:
        async with aio.AsyncApiClient(configuration(url)) as client:
            result: TransferReport = await getattr(aio_transfer, helper)(aio.ObjectsApi(client), *args, **kwargs)
            return result

    return asyncio.run(main())


# -- uploads --------------------------------------------------------------------------------------


def test_upload_many_reports_every_item_in_order(objects: ObjectsApi, lake: FakeLake, tmp_path: Path) -> None:
    local = tmp_path / "local.bin"
    local.write_bytes(b"from a file" * 100)
    lake.fail["exists.bin"] = [Reply(412, '{"message": "object exists"}')]
    items = [
        (b"bytes", "a/bytes.bin"),
        (local, "a/path.bin"),
        (str(local), "a/str-path.bin"),
        (io.BytesIO(b"binary file"), "a/file.bin"),
        (iter([b"chunk-1 ", b"chunk-2"]), "a/iterable.bin"),
        (b"refused", "exists.bin"),
        (tmp_path / "missing.bin", "a/missing.bin"),
    ]
    seen: List[Tuple[str, int]] = []
    report = upload_many(objects, "repo", "main", items, on_item=lambda r: seen.append((r.path, MAIN_THREAD())))

    assert [r.path for r in report] == [path for _, path in items], "one result per item, in the order given"
    assert [r.status for r in report] == ["succeeded"] * 5 + ["failed"] * 2
    assert isinstance(report.results[5].error, lakefs_sdk.PreconditionFailedException)
    assert report.results[5].error.message == "object exists"
    assert isinstance(report.results[6].error, FileNotFoundError)
    assert all(isinstance(r.value, lakefs_sdk.ObjectStats) and r.value.path == r.path for r in report.succeeded)
    assert lake.objects["a/path.bin"] == lake.objects["a/str-path.bin"] == local.read_bytes()
    assert lake.objects["a/iterable.bin"] == b"chunk-1 chunk-2" and lake.objects["a/file.bin"] == b"binary file"
    assert "exists.bin" not in lake.objects and "a/missing.bin" not in lake.attempts, "nothing sent for a missing file"
    assert sorted(p for p, _ in seen) == sorted(p for _, p in items), "on_item once per item"
    assert {thread for _, thread in seen} == {MAIN_THREAD()}, "on_item runs in the calling thread"
    assert not report.ok and len(report.failed) == 2 and report.summary() == "7 items: 5 succeeded, 2 failed"
    with pytest.raises(lakefs_sdk.PreconditionFailedException):
        report.raise_first()


def test_a_folder_maps_to_a_prefix(objects: ObjectsApi, lake: FakeLake, tmp_path: Path) -> None:
    folder = tmp_path / "landing"
    for relative in ("b.csv", "a.csv", "deep/er/c.csv", ".hidden"):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(relative.encode())
    (folder / "empty-dir").mkdir()
    report = upload_many(objects, "repo", "main", [(folder, "raw"), (b"x", "top.txt")])
    expected = ["raw/.hidden", "raw/a.csv", "raw/b.csv", "raw/deep/er/c.csv", "top.txt"]
    assert [r.path for r in report] == expected and report.ok
    assert lake.objects["raw/deep/er/c.csv"] == b"deep/er/c.csv"
    assert report.results[1].local == str(folder / "a.csv")
    mapped = upload_many(objects, "repo", "main", {str(folder / "deep"): ""})
    assert [r.path for r in mapped] == ["er/c.csv"], "a mapping works too; '' is the top of the branch"


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([("raw/a.csv", b"data")], "bytes as its destination, where the repository path"),
        ([(b"data",)], "not a (source, destination) pair"),
        (["a.csv"], "item 0 is str"),
        ([(b"data", "")], "empty repository path"),
        ([(b"1", "same"), (b"2", "same")], "'same' is given twice (items 0 and 1)"),
        ([("text\nthat is data", "a")], "is a str, which is read as a file name"),
    ],
)
def test_bad_upload_items_fail_before_anything_is_sent(
    objects: ObjectsApi, server: LoopbackServer, items: Any, message: str
) -> None:
    with pytest.raises(lakefs_sdk.ApiValueError) as raised:
        upload_many(objects, "repo", "main", items)
    assert message in str(raised.value)
    assert server.requests == []


@pytest.mark.parametrize("concurrency", [0, -1, 2.5, True, "4"])
def test_concurrency_must_be_a_positive_int(objects: ObjectsApi, server: LoopbackServer, concurrency: Any) -> None:
    with pytest.raises(lakefs_sdk.ApiValueError, match="concurrency"):
        upload_many(objects, "repo", "main", [(b"x", "x")], concurrency=concurrency)
    assert server.requests == []


def test_uploads_run_concurrency_at_a_time(objects: ObjectsApi, lake: FakeLake) -> None:
    lake.hold = threading.Barrier(4)
    report = upload_many(objects, "repo", "main", [(b"%d" % i, f"c/{i}") for i in range(40)], concurrency=4)
    assert report.ok and len(lake.objects) == 40
    assert lake.max_in_flight == 4, "four uploads ran at once (each waited for the other three), never more"


def test_concurrency_is_bounded_by_the_pool(server: LoopbackServer, lake: FakeLake, caplog: Any) -> None:
    lake.hold = threading.Barrier(3)
    with ApiClient(configuration(server.url, connection_pool_maxsize=3)) as client, caplog.at_level(logging.WARNING):
        report = upload_many(ObjectsApi(client), "repo", "main", [(b"x", f"p/{i}") for i in range(30)], concurrency=16)
    assert report.ok
    assert lake.max_in_flight == 3 and server.connections <= 3, "no more transfers than pooled connections"
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]
    (warning,) = [r for r in caplog.records if r.name == "lakefs_sdk" and r.levelno == logging.WARNING]
    assert warning.getMessage() == (
        "running 3 transfers at a time, not the 16 asked for: the client keeps 3 connections per host; "
        "set Configuration.connection_pool_maxsize = 16 before creating the client"
    )


def test_no_warning_when_the_pool_holds_the_concurrency(objects: ObjectsApi, caplog: Any) -> None:
    with caplog.at_level(logging.WARNING):
        assert upload_many(objects, "repo", "main", [(b"x", f"w/{i}") for i in range(3)], concurrency=16).ok
    assert not [r for r in caplog.records if "transfers at a time" in r.getMessage()], "3 items need 3, not 16"


def test_progress_adds_up_every_item(objects: ObjectsApi, tmp_path: Path) -> None:
    (tmp_path / "f.bin").write_bytes(b"f" * 3000)
    calls: List[Tuple[int, Optional[int]]] = []
    items = [(b"a" * 1000, "a"), (tmp_path / "f.bin", "f"), (b"", "empty")]
    report = upload_many(objects, "repo", "main", items, concurrency=2, progress=lambda d, t: calls.append((d, t)))
    assert report.ok
    assert calls[0] == (0, 4000), "the total is known before the first byte"
    assert calls[-1] == (4000, 4000)
    assert all(t == 4000 for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls), "never goes backwards without retries"


def test_progress_total_is_unknown_while_an_item_has_no_size() -> None:
    calls: List[Tuple[int, Optional[int]]] = []
    progress = BulkProgress(lambda d, t: calls.append((d, t)), [10, None])
    progress.start()
    progress.update(0, 10, 10)
    progress.update(1, 5, None)
    progress.update(1, 7, 7)
    progress.update(1, 3, 7)  # sent again from the start, after a retry
    assert calls == [(0, None), (10, None), (15, None), (17, 17), (13, 17)]


def test_tqdm_draws_one_bar_for_all_items(objects: ObjectsApi) -> None:
    pytest.importorskip("tqdm")
    output = io.StringIO()
    bar = transfer.tqdm_progress("ingest", file=output, mininterval=0)
    report = upload_many(objects, "repo", "main", [(b"x" * 2048, f"t/{i}") for i in range(4)], progress=bar)
    assert report.ok
    assert "ingest" in output.getvalue() and "8.00k/8.00k" in output.getvalue()


def test_fail_fast_starts_nothing_after_the_first_failure(objects: ObjectsApi, lake: FakeLake) -> None:
    lake.fail["f/2"] = [Reply(403, '{"message": "no"}')]
    items = [(b"x", f"f/{i}") for i in range(10)]
    report = upload_many(objects, "repo", "main", items, concurrency=1, fail_fast=True)
    assert [r.status for r in report] == ["succeeded"] * 2 + ["failed"] + ["skipped"] * 7
    assert isinstance(report.failed[0].error, lakefs_sdk.ForbiddenException)
    assert sorted(lake.attempts) == ["f/0", "f/1", "f/2"], "nothing was sent for the skipped items"
    assert all(r.value is None and r.error is None for r in report.skipped)
    without = upload_many(objects, "repo", "main", items, concurrency=1)
    assert without.ok, "without fail_fast every item is tried (the scripted failure was used up)"


def test_each_item_is_retried_on_the_client_policy(server: LoopbackServer, lake: FakeLake) -> None:
    busy = Reply(503, '{"message": "slow down"}', {"Content-Type": "application/json", "Retry-After": "0"})
    lake.fail["r/busy"] = [busy, busy]
    lake.fail["r/busier"] = [busy, busy, busy]
    lake.fail["r/stream"] = [busy]
    with ApiClient(configuration(server.url, max_retries=2)) as client:
        items = [(b"1", "r/busy"), (b"2", "r/busier"), (iter([b"3"]), "r/stream"), (b"4", "r/fine")]
        report = upload_many(ObjectsApi(client), "repo", "main", items)
    assert [r.status for r in report] == ["succeeded", "failed", "failed", "succeeded"]
    assert lake.attempts == {"r/busy": 3, "r/busier": 3, "r/stream": 1, "r/fine": 1}, (
        "each item has its own budget of max_retries; a stream that cannot be read again is sent once"
    )
    assert isinstance(report.results[1].error, lakefs_sdk.ServiceException)
    assert lake.objects["r/busy"] == b"1"


def test_results_pickle_with_their_exceptions(objects: ObjectsApi, lake: FakeLake) -> None:
    lake.fail["p/bad"] = [Reply(409, '{"message": "conflict here"}')]
    report = upload_many(objects, "repo", "main", [(b"x", "p/good"), (b"y", "p/bad")])
    copy = pickle.loads(pickle.dumps(report))
    assert outcome(copy) == outcome(report)
    assert copy.results[0].value == report.results[0].value
    assert isinstance(copy.results[1].error, lakefs_sdk.ConflictException)
    assert copy.results[1].error.message == "conflict here"


# -- interruption ---------------------------------------------------------------------------------


def test_ctrl_c_cancels_pending_items_and_reports_what_completed(objects: ObjectsApi, lake: FakeLake) -> None:
    """A real SIGINT while the calling thread waits; the 6th request sends it.

    That request, and any after it, is answered only 0.2 s after the calling thread got the
    KeyboardInterrupt: the other thread cannot finish item after item meanwhile.
    """
    seen = threading.Event()
    requests = {"n": 0}

    def interrupt(request: Request) -> None:
        with lake.lock:
            requests["n"] += 1
            number = requests["n"]
        if number == 6:
            os.kill(os.getpid(), signal.SIGINT)
        if number >= 6:
            seen.wait(timeout=30)

    def handler(signum: int, frame: Any) -> None:
        threading.Timer(0.2, seen.set).start()  # time for the calling thread to stop the batch
        raise KeyboardInterrupt

    lake.on_request = interrupt
    previous = signal.signal(signal.SIGINT, handler)
    try:
        with pytest.raises(TransferInterrupted) as raised:
            upload_many(objects, "repo", "main", [(b"x", f"k/{i:03}") for i in range(100)], concurrency=2)
    finally:
        signal.signal(signal.SIGINT, previous)
    report = raised.value.report
    assert isinstance(raised.value, KeyboardInterrupt), "an uncaught Ctrl-C still stops the program"
    assert report.interrupted and len(report) == 100
    assert 6 <= len(report.succeeded) <= 7, "the items in flight were waited for"
    assert not report.unfinished and not report.failed
    assert len(report.succeeded) + len(report.skipped) == 100
    assert sorted(lake.objects) == sorted(r.path for r in report.succeeded), "what it says completed, completed"
    assert "interrupted" in str(raised.value)
    assert upload_many(objects, "repo", "main", [(b"y", "k/after")]).ok, "the client works after the interruption"


def test_an_exception_from_on_item_stops_the_batch(objects: ObjectsApi, lake: FakeLake) -> None:
    """The callback fails on the first item; the second may be in flight then, no third starts.

    Requests after the first are answered only 0.2 s after the callback failed, so that the
    worker cannot get ahead of the calling thread stopping the batch.
    """
    failed = threading.Event()

    def explode(result: Any) -> None:
        threading.Timer(0.2, failed.set).start()
        raise RuntimeError("callback failed")

    def hold(request: Request) -> None:
        if lake.attempts:
            failed.wait(timeout=30)

    lake.on_request = hold
    with pytest.raises(RuntimeError, match="callback failed"):
        upload_many(objects, "repo", "main", [(b"x", f"e/{i}") for i in range(50)], concurrency=1, on_item=explode)
    assert set(lake.objects) in ({"e/0"}, {"e/0", "e/1"}), "no new item starts once the callback failed"


def test_keyboard_interrupt_from_on_item_reports(objects: ObjectsApi) -> None:
    def stop(result: Any) -> None:
        raise KeyboardInterrupt

    with pytest.raises(TransferInterrupted) as raised:
        upload_many(objects, "repo", "main", [(b"x", f"i/{i}") for i in range(20)], concurrency=1, on_item=stop)
    report = raised.value.report
    assert report.succeeded and report.skipped and len(report) == 20


# -- downloads ------------------------------------------------------------------------------------


def test_download_many_writes_each_target(objects: ObjectsApi, lake: FakeLake, tmp_path: Path) -> None:
    lake.objects.update({"d/a": b"A" * 5000, "d/b": b"B" * 10})
    (tmp_path / "missing.bin").write_bytes(b"left alone")
    buffer = io.BytesIO()
    items = [("d/a", tmp_path / "a.bin"), ("d/b", buffer), ("d/none", tmp_path / "missing.bin")]
    calls: List[Tuple[int, Optional[int]]] = []
    report = download_many(objects, "repo", "main", items, progress=lambda d, t: calls.append((d, t)))
    assert [r.status for r in report] == ["succeeded", "succeeded", "failed"]
    assert [r.value for r in report.succeeded] == [5000, 10], "a download's value is the bytes written"
    assert isinstance(report.results[2].error, lakefs_sdk.NotFoundException)
    assert (tmp_path / "a.bin").read_bytes() == b"A" * 5000 and buffer.getvalue() == b"B" * 10
    assert (tmp_path / "missing.bin").read_bytes() == b"left alone", "a failed item leaves its target untouched"
    assert calls[0] == (0, None) and calls[-1][0] == 5010


def test_a_prefix_downloads_into_a_folder(objects: ObjectsApi, lake: FakeLake, tmp_path: Path) -> None:
    lake.objects.update({f"raw/{i:04}.csv": b"%d" % i for i in range(1205)})
    lake.objects.update({"raw/deep/x.csv": b"x", "raw/../escape": b"evil", "raw/a//b": b"?", "other/y": b"y"})
    calls: List[Tuple[int, Optional[int]]] = []
    report = download_many(objects, "repo", "main", [("raw/", tmp_path / "out")], progress=lambda d, t: calls.append((d, t)))
    listed = sorted(k for k in lake.objects if k.startswith("raw/"))
    assert [r.path for r in report] == listed, "every object under the prefix (two pages of listing), sorted"
    refused = {r.path for r in report.failed}
    assert refused == {"raw/../escape", "raw/a//b"}
    assert all(isinstance(r.error, lakefs_sdk.ApiValueError) for r in report.failed)
    assert not (tmp_path / "escape").exists(), "nothing written outside the folder"
    assert (tmp_path / "out" / "0042.csv").read_bytes() == b"42"
    assert (tmp_path / "out" / "deep" / "x.csv").read_bytes() == b"x"
    assert len(report.succeeded) == 1206
    total = sum(len(lake.objects[k]) for k in listed)
    assert calls[0] == (0, total), "the listing gave every size: the total is known up front"


def test_bad_download_items_fail_before_anything_is_sent(
    objects: ObjectsApi, server: LoopbackServer, tmp_path: Path
) -> None:
    cases = [
        ([(tmp_path / "a", "raw/a")], "PosixPath as its source"),
        ([("raw/a", 5)], "int as its target"),
        ([("raw/", io.BytesIO())], "its target must be a folder"),
        ([("a", tmp_path / "x"), ("b", str(tmp_path / "x"))], "given twice"),
    ]
    for items, message in cases:
        with pytest.raises(lakefs_sdk.ApiValueError) as raised:
            download_many(objects, "repo", "main", items)
        assert message in str(raised.value)
    assert server.requests == []


def test_a_body_cut_short_is_downloaded_again(objects: ObjectsApi, lake: FakeLake, tmp_path: Path) -> None:
    lake.objects["t/big"] = os.urandom(200_000)
    lake.fail["t/big"] = [Reply(200, lake.objects["t/big"], {"Content-Type": "application/octet-stream"}, fault="truncate")]
    report = download_many(objects, "repo", "main", [("t/big", tmp_path / "big")])
    assert report.ok and lake.attempts["t/big"] == 2
    assert (tmp_path / "big").read_bytes() == lake.objects["t/big"]


# -- deletes --------------------------------------------------------------------------------------


def test_delete_many_sends_1000_paths_a_request(
    objects: ObjectsApi, server: LoopbackServer, lake: FakeLake
) -> None:
    paths = [f"del/{i:05}" for i in range(2500)]
    lake.objects.update({p: b"x" for p in paths})
    calls: List[Tuple[int, Optional[int]]] = []
    report = delete_many(objects, "repo", "main", paths, progress=lambda d, t: calls.append((d, t)))
    assert report.ok and [r.path for r in report] == paths and not lake.objects
    sent = sorted((json.loads(r.body)["paths"] for r in server.requests), key=lambda ps: ps[0])
    assert [len(ps) for ps in sent] == [1000, 1000, 500] and [p for ps in sent for p in ps] == paths
    assert all(r.method == "POST" and r.path.endswith("/branches/main/objects/delete") for r in server.requests)
    assert calls[0] == (0, 2500) and calls[-1] == (2500, 2500)


def test_delete_many_reports_the_errors_lakefs_answers_per_path(objects: ObjectsApi, lake: FakeLake) -> None:
    paths = [f"x/{i}" for i in range(10)]
    lake.objects.update({p: b"x" for p in paths})
    lake.delete_errors = {"x/3": (403, "cannot write to protected branch"), "x/7": (500, "kv went away")}
    report = delete_many(objects, "repo", "main", [*paths, "x/never-existed"])
    assert [r.path for r in report.failed] == ["x/3", "x/7"]
    forbidden, internal = report.failed[0].error, report.failed[1].error
    assert isinstance(forbidden, lakefs_sdk.ForbiddenException) and isinstance(internal, lakefs_sdk.ServiceException)
    assert forbidden.status == 403 and forbidden.message == "cannot write to protected branch"
    assert forbidden.request_id == "req-7"
    assert forbidden.arguments == {"repository": "repo", "branch": "main", "path": "x/3"}
    assert "delete_objects(repository='repo', branch='main', path='x/3') failed: 403 Forbidden" in str(forbidden)
    assert len(report.succeeded) == 9, "an absent path counts as deleted, as lakeFS says"
    assert sorted(lake.objects) == ["x/3", "x/7"]


def test_a_failed_delete_request_fails_its_paths(objects: ObjectsApi, lake: FakeLake) -> None:
    lake.fail["<delete>"] = [Reply(404, '{"message": "branch not found"}')]
    report = delete_many(objects, "repo", "main", [f"y/{i}" for i in range(1500)], concurrency=1)
    assert [r.status for r in report][:1000] == ["failed"] * 1000
    assert all(isinstance(r.error, lakefs_sdk.NotFoundException) for r in report.failed)
    assert [r.status for r in report][1000:] == ["succeeded"] * 500


def test_an_error_naming_no_sent_path_leaves_nothing_reported_deleted(objects: ObjectsApi, lake: FakeLake) -> None:
    errors = {"errors": [{"path": "not-sent", "status_code": 500, "message": "odd"}]}
    lake.fail["<delete>"] = [Reply(200, json.dumps(errors))]
    report = delete_many(objects, "repo", "main", ["z/1", "z/2"])
    assert [r.status for r in report] == ["failed", "failed"]
    assert all(r.error is not None and r.error.message == "odd" for r in report.results)


def test_delete_requests_are_retried_on_the_client_policy(objects: ObjectsApi, lake: FakeLake) -> None:
    lake.fail["<delete>"] = [Reply(429, '{"message": "too many"}', {"Content-Type": "application/json", "Retry-After": "0"})]
    report = delete_many(objects, "repo", "main", ["w/1"])
    assert report.ok


def test_bad_delete_paths_fail_before_anything_is_sent(objects: ObjectsApi, server: LoopbackServer) -> None:
    for paths, message in (("one/str", "not one str"), (["a", ""], "path 1 is ''"), (["a", 7], "path 1 is 7")):
        with pytest.raises(lakefs_sdk.ApiValueError) as raised:
            delete_many(objects, "repo", "main", paths)  # type: ignore[arg-type]
        assert message in str(raised.value)
    assert server.requests == []
    assert len(delete_many(objects, "repo", "main", [])) == 0 and server.requests == []


# -- one design, sync and async ---------------------------------------------------------------------


def test_the_async_helpers_give_the_same_reports(server: LoopbackServer, lake: FakeLake, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    for i in range(5):
        (folder / f"{i}.txt").parent.mkdir(exist_ok=True)
        (folder / f"{i}.txt").write_bytes(b"%d" % i)

    def scenario(call: Callable[..., TransferReport], out: str) -> List[Any]:
        lake.objects.clear()
        lake.fail.update({"up/2.txt": [Reply(412, '{"message": "exists"}')], "up/x": [Reply(409, "{}")]})
        items = [(folder, "up/"), (b"x", "up/x")]
        seen: Set[str] = set()
        up = call("upload_many", "repo", "main", items, concurrency=3, on_item=lambda r: seen.add(r.path))
        down = call("download_many", "repo", "main", [("up/", tmp_path / out), ("up/none", tmp_path / out / "n")])
        gone = call("delete_many", "repo", "main", ["up/0.txt", "up/1.txt"], fail_fast=True)
        assert seen == {r.path for r in up}
        return [outcome(up), outcome(down), outcome(gone), [r.value for r in down], sorted(lake.objects)]

    with ApiClient(configuration(server.url)) as client:
        sync = scenario(lambda helper, *a, **k: getattr(transfer, helper)(ObjectsApi(client), *a, **k), "sync")
    asynchronous = scenario(lambda helper, *a, **k: aio_call(server.url, helper, *a, **k), "async")
    assert sync == asynchronous
    assert sync[0][2] == ("up/2.txt", "failed", "PreconditionFailedException")
    assert sorted((tmp_path / "async").iterdir()) == [tmp_path / "async" / f"{i}.txt" for i in (0, 1, 3, 4)]


def test_async_fail_fast_and_retries(server: LoopbackServer, lake: FakeLake) -> None:
    lake.fail["a/1"] = [Reply(503, '{"message": "busy"}')]
    lake.fail["a/3"] = [Reply(400, '{"message": "bad"}')]
    report = aio_call(server.url, "upload_many", "repo", "main", [(b"x", f"a/{i}") for i in range(8)],
                      concurrency=1, fail_fast=True)
    assert [r.status for r in report] == ["succeeded"] * 3 + ["failed"] + ["skipped"] * 4
    assert lake.attempts["a/1"] == 2, "the 503 was retried"
    assert isinstance(report.results[3].error, lakefs_sdk.BadRequestException)


def test_async_concurrency_is_bounded(server: LoopbackServer, lake: FakeLake) -> None:
    lake.hold = threading.Barrier(3)
    report = aio_call(server.url, "upload_many", "repo", "main", [(b"x", f"b/{i}") for i in range(12)], concurrency=3)
    assert report.ok and lake.max_in_flight == 3


@pytest.mark.parametrize("colour", ["sync", "async"])
def test_fail_fast_wakes_an_item_waiting_to_be_retried(server: LoopbackServer, lake: FakeLake, colour: str) -> None:
    """One item waits 20 s (its Retry-After) before a retry; another fails meanwhile: the wait ends at once."""
    busy = Reply(503, '{"message": "busy"}', {"Content-Type": "application/json", "Retry-After": "20"})
    lake.fail["w/slow"] = [busy]
    waiting = threading.Event()

    def fail_once_the_other_waits(request: Request) -> None:
        if "w/slow" in request.query:
            waiting.set()
        elif "w/bad" in request.query:
            waiting.wait(timeout=30)
            time.sleep(0.3)  # the 503 has been answered meanwhile: its item is in its retry wait

    lake.on_request = fail_once_the_other_waits
    lake.fail["w/bad"] = [Reply(400, '{"message": "bad"}')]
    items = [(b"1", "w/slow"), (b"2", "w/bad"), *((b"x", f"w/{i}") for i in range(4))]
    started = time.monotonic()
    if colour == "sync":
        with ApiClient(configuration(server.url)) as client:
            report = upload_many(ObjectsApi(client), "repo", "main", items, concurrency=2, fail_fast=True)
    else:
        report = aio_call(server.url, "upload_many", "repo", "main", items, concurrency=2, fail_fast=True)
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"the retry wait was not cut short ({elapsed:.1f} s)"
    assert [r.status for r in report] == ["failed", "failed"] + ["skipped"] * 4
    assert isinstance(report.results[0].error, lakefs_sdk.ServiceException), "the waiting item gave up with its error"
    assert isinstance(report.results[1].error, lakefs_sdk.BadRequestException)
    assert lake.attempts["w/slow"] == 1, "not sent again"


def test_cancelling_an_async_batch_starts_nothing_more(server: LoopbackServer, lake: FakeLake) -> None:
    """Cancelled once two uploads completed and the next ones are held by the server: no other one starts."""
    aio = pytest.importorskip("lakefs_sdk.aio")
    from lakefs_sdk.aio import transfer as aio_transfer

    third = threading.Event()
    release = threading.Event()

    def hold(request: Request) -> None:
        if dict(urllib.parse.parse_qsl(request.query)).get("path") not in ("c/00", "c/01"):
            third.set()
            release.wait(timeout=30)

    lake.on_request = hold
    seen: List[str] = []

    async def main() -> None:
        async with aio.AsyncApiClient(configuration(server.url)) as client:
            items = [(b"x", f"c/{i:02}") for i in range(20)]
            task = asyncio.ensure_future(
                aio_transfer.upload_many(aio.ObjectsApi(client), "repo", "main", items, concurrency=2,
                                         on_item=lambda r: seen.append(r.path))
            )
            while not (third.is_set() and len(seen) == 2):
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            release.set()
            await asyncio.sleep(0.3)  # time for a wrongly started item to reach the server

    asyncio.run(main())
    assert sorted(seen) == ["c/00", "c/01"], "on_item was called for what completed before the cancellation"
    assert len(lake.attempts) <= 4 and sorted(lake.objects)[:2] == ["c/00", "c/01"], "nothing started after it"
