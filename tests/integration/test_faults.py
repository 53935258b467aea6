"""Faults on a real lakeFS: restarts and crashes of a private server, in the middle of work.

Each test starts its own server (support/private_lakefs.py), from the session's binary,
with its data in the test's temporary folder; a restart keeps the port and the data. The
faults come from the test itself: ``stop()`` (SIGTERM) or ``kill()`` (SIGKILL), timed by
the calls in flight or by the bytes an upload has sent (its ``_progress`` callback).

What must hold: idempotent calls ride out a restart on the SDK's own retries; an upload
cut by a crash raises ``ApiConnectionError`` (an ``ApiException``) and leaves no object,
partial or whole; nothing stored before the crash is lost; a conditional upload of
re-readable content is sent again whole once the server is back.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import pytest

import lakefs_sdk
from lakefs_sdk import transfer
from lakefs_sdk.models import CommitCreation

from support.lakefs import LakeFS, create_repository
from support.private_lakefs import PrivateLakeFS, private_lakefs

MiB = 1 << 20
GiB = 1 << 30
DEADLINE = 60.0
# Retries that outlast a restart: waits of 0.05 s doubling to 0.25 s, 240 of them (about a minute).
PATIENT = {"max_retries": 240, "retry_backoff": 0.05, "retry_backoff_max": 0.25}
BLOCK = hashlib.shake_256(b"lakefs-sdk fault test").digest(MiB)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.01)


class RetryLog(logging.Handler):
    """Counts the SDK's "retrying ..." log lines while installed on the ``lakefs_sdk`` logger."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0
        self._logger = logging.getLogger("lakefs_sdk")
        self._level = self._logger.level

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("retrying "):
            self.count += 1

    def __enter__(self) -> RetryLog:
        self._logger.addHandler(self)
        self._logger.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._level)


@pytest.fixture
def private(lakefs: LakeFS, tmp_path: Path) -> Iterator[PrivateLakeFS]:
    with private_lakefs(lakefs, tmp_path / "lakefs") as server:
        yield server


# -- a restart under a stream of idempotent calls -----------------------------------------------------


@pytest.mark.parametrize("fault", ["stop", "kill"])
def test_idempotent_calls_ride_out_a_restart(fault: str, private: PrivateLakeFS) -> None:
    with private.client(**PATIENT) as client:
        repo = create_repository(client, f"restart-{fault}", base=private.namespace_base)
        data = b"survives restarts\n" * 100
        client.objects_api.upload_object(repo, "main", "keep.txt", content=data)
        commit = client.commits_api.commit(repo, "main", CommitCreation(message="before the fault"))
        port = private.port

        answers: List[Tuple[str, lakefs_sdk.ApiResponse[object]]] = []
        errors: List[BaseException] = []
        done = threading.Event()

        def calls() -> None:
            objects, branches = client.objects_api, client.branches_api
            try:
                while not done.is_set():
                    answers.append(("stat", objects.stat_object_with_http_info(repo, "main", "keep.txt")))
                    answers.append(("get", objects.get_object_with_http_info(repo, "main", "keep.txt")))
                    answers.append(("branch", branches.get_branch_with_http_info(repo, "main")))
                    answers.append(("head", objects.head_object_with_http_info(repo, commit.id, "keep.txt")))
            except BaseException as error:  # reported by the main thread
                errors.append(error)

        with RetryLog() as retries:
            workers = [threading.Thread(target=calls, name=f"calls-{n}") for n in range(2)]
            for worker in workers:
                worker.start()
            try:
                wait_for(lambda: len(answers) >= 20 or bool(errors), "calls before the fault")
                getattr(private.server, fault)()
                assert not private.running()
                wait_for(lambda: retries.count > 0 or bool(errors), "a call to retry against the downed server")
                answered_while_down = len(answers)
                private.server.start()
                wait_for(lambda: len(answers) >= answered_while_down + 40 or bool(errors), "calls after the restart")
            finally:
                done.set()
                for worker in workers:
                    worker.join(DEADLINE)
        assert errors == []
        assert private.port == port
        retried = [(name, answer.retries) for name, answer in answers if answer.retries]
        assert retried, "no call was retried: the fault did not hit the calls"
        for name, answer in answers:
            assert answer.status_code == 200, name
            if name == "stat":
                assert answer.data.size_bytes == len(data) and answer.data.checksum == hashlib.md5(data).hexdigest()
            elif name == "get":
                assert answer.data == data
            elif name == "branch":
                assert answer.data.commit_id == commit.id
            else:
                assert answer.headers["Content-Length"] == str(len(data))


# -- a crash during a 1 GiB upload ----------------------------------------------------------------------


def generated(size: int) -> Iterator[bytes]:
    for index in range(size // MiB):
        yield index.to_bytes(8, "big") + BLOCK[8:]


def sparse_file(path: Path, size: int) -> Path:
    with open(path, "wb") as file:
        file.truncate(size)
        file.write(BLOCK)
    return path


class KillAt:
    """An upload progress callback that kills the server once ``at`` bytes were sent."""

    def __init__(self, private: PrivateLakeFS, at: int, then: Optional[Callable[[], None]] = None) -> None:
        self.private = private
        self.at = at
        self.then = then
        self.seen: List[int] = []
        self.killed = False

    def __call__(self, done: int, total: Optional[int]) -> None:
        self.seen.append(done)
        if done >= self.at and not self.killed:
            self.killed = True
            self.private.server.kill()  # returns once the process is gone; the upload then goes on sending
            if self.then is not None:
                self.then()


def upload_big(
    client: lakefs_sdk.LakeFSClient, repo: str, how: str, path: str, tmp_path: Path, progress: KillAt
) -> None:
    if how == "multipart-iterator":
        client.objects_api.upload_object(repo, "main", path, content=generated(GiB), _progress=progress)
    else:
        source = sparse_file(tmp_path / "big.bin", GiB)
        transfer.upload(client.objects_api, repo, "main", path, source, progress=progress)


@pytest.mark.parametrize("how", ["multipart-iterator", "raw-file"])
def test_a_crash_during_a_1_gib_upload(how: str, private: PrivateLakeFS, tmp_path: Path) -> None:
    with private.client(max_retries=20, retry_backoff=0.05, retry_backoff_max=0.25) as client:
        objects = client.objects_api
        repo = create_repository(client, f"crash-{how}", base=private.namespace_base)
        committed = {
            f"committed/{n}.bin": hashlib.shake_256(f"committed {n}".encode()).digest(64 * 1024) for n in range(3)
        }
        for path, data in committed.items():
            objects.upload_object(repo, "main", path, content=data)
        commit = client.commits_api.commit(repo, "main", CommitCreation(message="before the crash"))
        staged = {
            "staged/new.bin": b"uploaded, never committed" * 1000,
            "committed/1.bin": b"changed after the commit, not committed" * 1000,
        }
        for path, data in staged.items():
            objects.upload_object(repo, "main", path, content=data)
        objects.delete_object(repo, "main", "committed/2.bin")
        on_branch: Dict[str, bytes] = {**committed, **staged}
        del on_branch["committed/2.bin"]

        kill = KillAt(private, 64 * MiB)
        with pytest.raises(lakefs_sdk.ApiConnectionError) as raised:
            upload_big(client, repo, how, "big/partial.bin", tmp_path, kill)
        assert isinstance(raised.value, lakefs_sdk.ApiException)
        assert not isinstance(raised.value, lakefs_sdk.ApiTimeoutError)
        assert kill.killed and 64 * MiB <= max(kill.seen) < GiB
        assert not private.running()

        private.server.start()
        with pytest.raises(lakefs_sdk.NotFoundException):
            objects.stat_object(repo, "main", "big/partial.bin")
        assert objects.list_objects(repo, "main", prefix="big/").results == []

        # Nothing stored before the crash is lost: the branch, its uncommitted changes and the commit.
        listing = {entry.path: entry for entry in objects.list_objects_iter(repo, "main", amount=2)}
        assert sorted(listing) == sorted(on_branch)
        for path, data in on_branch.items():
            assert listing[path].size_bytes == len(data)
            assert sha256(objects.get_object(repo, "main", path)) == sha256(data), path
        changes = {(d.path, d.type) for d in client.branches_api.diff_branch(repo, "main").results}
        assert changes == {("staged/new.bin", "added"), ("committed/1.bin", "changed"), ("committed/2.bin", "removed")}
        assert client.branches_api.get_branch(repo, "main").commit_id == commit.id
        for path, data in committed.items():
            assert sha256(objects.get_object(repo, commit.id, path)) == sha256(data), path


def test_a_conditional_upload_cut_by_a_crash_is_sent_again_whole(private: PrivateLakeFS, tmp_path: Path) -> None:
    size = 256 * MiB
    source = sparse_file(tmp_path / "conditional.bin", size)
    with private.client(**PATIENT) as client:
        objects = client.objects_api
        repo = create_repository(client, "conditional", base=private.namespace_base)
        restarted = threading.Thread(target=private.server.start, name="restart")
        kill = KillAt(private, 32 * MiB, then=restarted.start)
        with RetryLog() as retries:
            # If-None-Match makes the POST safe to repeat, and a path can be read again.
            stats = objects.upload_object(
                repo, "main", "big/whole.bin", content=source, if_none_match="*", _progress=kill
            )
        restarted.join(DEADLINE)
        assert kill.killed and retries.count > 0
        # The progress went back to the start: the whole body was sent again.
        restarts = [later < earlier for earlier, later in zip(kill.seen, kill.seen[1:], strict=False)]
        assert kill.seen[-1] == size and any(restarts)
        assert stats.size_bytes == size
        response = objects.get_object_without_preload_content(repo, "main", "big/whole.bin")
        received = hashlib.sha256()
        with response:
            for chunk in response.iter_bytes():
                received.update(chunk)
        expected = hashlib.sha256()
        with open(source, "rb") as file:
            while chunk := file.read(MiB):
                expected.update(chunk)
        assert received.hexdigest() == expected.hexdigest()
        assert [e.path for e in objects.list_objects(repo, "main").results] == ["big/whole.bin"]


# -- a crash during a download; a write sent while the server is down ---------------------------------


@pytest.mark.parametrize("to", ["iter_bytes", "path"])
def test_a_crash_during_a_download(to: str, private: PrivateLakeFS, tmp_path: Path) -> None:
    size = 256 * MiB
    with private.client(max_retries=20, retry_backoff=0.05, retry_backoff_max=0.25) as client:
        objects = client.objects_api
        repo = create_repository(client, f"download-{to}", base=private.namespace_base)
        objects.upload_object(repo, "main", "big.bin", content=generated(size))
        target = tmp_path / "download.bin"
        target.write_bytes(b"the previous version")
        received: List[int] = []

        def kill_at(done: int) -> None:
            received.append(done)
            if done >= 32 * MiB and private.running():
                private.server.kill()

        with pytest.raises(lakefs_sdk.ApiConnectionError) as raised:
            if to == "iter_bytes":
                response = objects.get_object_without_preload_content(repo, "main", "big.bin")
                done = 0
                for chunk in response.iter_bytes():
                    done += len(chunk)
                    kill_at(done)
            else:
                transfer.download(objects, repo, "main", "big.bin", target, progress=lambda done, total: kill_at(done))
        assert isinstance(raised.value, lakefs_sdk.ApiException)
        assert not private.running() and 32 * MiB <= received[-1] < size
        # A path is replaced only by a complete download: the old file stays, no temporary file is left.
        assert target.read_bytes() == b"the previous version"
        assert sorted(p.name for p in tmp_path.iterdir() if p.name != "lakefs") == ["download.bin"]

        private.server.start()
        assert objects.stat_object(repo, "main", "big.bin").size_bytes == size


def test_a_write_sent_while_the_server_is_down_waits_for_it(private: PrivateLakeFS) -> None:
    with private.client(**PATIENT) as client:
        repo = create_repository(client, "down", base=private.namespace_base)
        client.objects_api.upload_object(repo, "main", "file.txt", content=b"to commit")
        private.server.stop()
        assert not private.running()
        results: List[object] = []
        errors: List[BaseException] = []

        def commit() -> None:
            try:
                results.append(client.commits_api.commit(repo, "main", CommitCreation(message="sent while down")))
            except BaseException as error:  # reported by the main thread
                errors.append(error)

        with RetryLog() as retries:
            committer = threading.Thread(target=commit, name="commit")
            committer.start()
            try:
                # A connection that is refused never reached the server: even a POST is retried.
                wait_for(lambda: retries.count > 0 or bool(errors), "the commit to retry against the downed server")
                private.server.start()
            finally:
                committer.join(DEADLINE)
        assert errors == [] and len(results) == 1
        messages = [c.message for c in client.refs_api.log_commits(repo, "main").results]
        assert messages.count("sent while down") == 1
        assert client.refs_api.log_commits(repo, "main").results[0].id == getattr(results[0], "id", None)
