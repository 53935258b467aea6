"""The ``import`` tag on the real server: import files from the server's store, and cancel.

Runs on both stores. The local blockstore imports only from its allowed folder
(``lakefs.import_dir``), addressed as ``local://`` followed by the folder's absolute path
(``local:///tmp/.../import/x/``): the URL has an empty host, and the server's
``import_validity_regex`` is ``^local://``. On S3 (``LAKEFS_STORE=s3``) the source is a
prefix of the store's bucket outside any repository's namespace (``s3://bucket/x/``), written
with the store's own keys, and the regex is ``^s3://``. Every import is read back: the status
until it completes, the import commit, and the objects on the branch (listing, stat,
content). test_import_s3.py has more of S3 (many objects, a dirty branch).

To cancel an import that is certainly still running, the test holds it in its final step:
the import commit runs the branch's pre-commit hooks, and a webhook on a loopback server
never answers; the canceled import hangs up on it. ``lakefs_sdk.imports`` waits for imports
here too: for one that lands, one lakeFS refuses (a dirty branch, a forbidden source: typed
errors), and one it gives up on after its timeout (canceled).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import socketserver
import threading
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, TypeVar

import pytest

import lakefs_sdk
from lakefs_sdk.imports import (
    DirtyBranchError,
    ImportFailedError,
    ImportTimeoutError,
    import_and_wait,
    wait_for_import,
)
from lakefs_sdk.models import (
    BranchCreation,
    CommitCreation,
    ImportCreation,
    ImportCreationResponse,
    ImportLocation,
    ImportStatus,
)

from support.lakefs import ON_S3, LakeFS, Wire, local_store_only, statuses, unique_name
from support.s3_store import from_environment as s3_from_environment

T = TypeVar("T")
DEADLINE_SECONDS = 30.0

FILES: Dict[str, bytes] = {
    "a.csv": b"id,name\n1,one\n2,two\n",
    "sub/b.json": b'{"b": true}\n',
    "sub/deep/c.txt": b"c" * 3000,
}


def wait_for(fetch: Callable[[], T], done: Callable[[T], bool], what: str) -> T:
    """Call ``fetch`` until ``done`` holds for its result; fail after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    delay = 0.02
    while True:
        result = fetch()
        if done(result):
            return result
        assert time.monotonic() < deadline, f"{what}: not done within {DEADLINE_SECONDS:.0f} s; last: {result!r}"
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def local_url(path: Path, folder: bool = False) -> str:
    """The local blockstore's URL of an absolute path: ``local://`` + ``/abs/path``."""
    assert path.is_absolute()
    return f"local://{path}" + ("/" if folder else "")


class Source:
    """``FILES`` where the server can import them from: ``url()`` is the folder, ``url(name)`` a file.

    Local: a folder under the server's import folder, plus a hidden file the local adapter
    skips. S3: a fresh prefix of the store's bucket, outside every repository's namespace.
    """

    def __init__(self, lakefs: LakeFS) -> None:
        self.folder: Path | None = None
        if ON_S3:
            self.store = s3_from_environment()
            self.base = self.store.scratch_prefix("import-source")
            for name, content in FILES.items():
                self.store.put(self.base + name, content)
        else:
            self.folder = lakefs.import_dir / unique_name("source")
            for name, content in FILES.items():
                (self.folder / name).parent.mkdir(parents=True, exist_ok=True)
                (self.folder / name).write_bytes(content)
            (self.folder / ".hidden").write_bytes(b"hidden files are not imported")
            self.base = local_url(self.folder, folder=True)

    def url(self, name: str = "") -> str:
        return self.base + name

    def remove(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder)
        else:
            for name in FILES:
                self.store.delete(self.base + name)


@pytest.fixture
def source(lakefs: LakeFS) -> Iterator[Source]:
    """``FILES`` in the server's store, removed afterwards."""
    made = Source(lakefs)
    yield made
    made.remove()


def test_config_accepts_the_import_url_form(lakefs_client: lakefs_sdk.LakeFSClient, source: Source) -> None:
    storage = lakefs_client.config_api.get_config().storage_config
    assert storage is not None and storage.import_support is True
    assert storage.import_validity_regex == ("^s3://" if ON_S3 else "^local://")
    assert re.match(storage.import_validity_regex, source.url())
    assert re.match(storage.import_validity_regex, source.url("a.csv"))
    if source.folder is not None:
        assert source.url() == f"local://{source.folder}/" and source.url("a.csv").startswith("local:///")


def test_import_a_folder_and_an_object(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, source: Source, wire: Wire
) -> None:
    creation = ImportCreation(
        paths=[
            ImportLocation(type="common_prefix", path=source.url(), destination="imported/"),
            ImportLocation(type="object", path=source.url("a.csv"), destination="single/copy.csv"),
        ],
        commit=CommitCreation(message="Import the test files", metadata={"origin": "test_import"}),
    )
    started = lakefs_client.import_api.import_start(repo, "main", creation)
    assert isinstance(started, ImportCreationResponse) and started.id
    assert wire.last("importStart").status == 202

    status = wait_for_import(lakefs_client.import_api, repo, "main", started.id, poll_interval=0.02, timeout=30)
    assert isinstance(status, ImportStatus)
    assert status.completed is True and status.error is None
    assert statuses(wire.exchanges(), "importCancel") == []
    assert status.ingested_objects == len(FILES) + 1
    assert status.update_time.tzinfo is not None
    commit = status.commit
    assert commit is not None and status.metarange_id == commit.meta_range_id
    assert commit.message == "Import the test files"
    # lakeFS records how the import was merged into the branch next to the caller's metadata.
    assert commit.metadata == {"origin": "test_import", ".lakefs.merge.strategy": "source-wins"}
    assert wire.last("importStatus").request.query == f"id={started.id}"

    # The import commit is the branch's head, and it is what the log shows first.
    assert lakefs_client.branches_api.get_branch(repo, "main").commit_id == commit.id
    head = lakefs_client.refs_api.log_commits(repo, "main", amount=1).results[0]
    assert (head.id, head.message, head.metadata) == (commit.id, commit.message, commit.metadata)

    listing = lakefs_client.objects_api.list_objects(repo, "main", prefix="imported/")
    assert sorted(o.path for o in listing.results) == sorted(f"imported/{name}" for name in FILES)
    for name, content in FILES.items():
        stats = lakefs_client.objects_api.stat_object(repo, "main", f"imported/{name}")
        assert stats.size_bytes == len(content)
        assert stats.checksum == hashlib.md5(content).hexdigest()
        # Imported objects stay where they were: the branch points at the source (on the local
        # store stat shows that address under the blockstore's own folder, a quirk of its adapter).
        if source.folder is not None:
            assert stats.physical_address.startswith("local://")
            assert stats.physical_address.endswith(str(source.folder / name))
        else:
            assert stats.physical_address == source.url(name)
        assert lakefs_client.objects_api.get_object(repo, "main", f"imported/{name}") == content
    assert lakefs_client.objects_api.get_object(repo, "main", "single/copy.csv") == FILES["a.csv"]
    if source.folder is not None:
        with pytest.raises(lakefs_sdk.NotFoundException):
            lakefs_client.objects_api.stat_object(repo, "main", "imported/.hidden")


def test_import_cancel_of_a_finished_import_is_a_conflict(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, source: Source
) -> None:
    creation = ImportCreation(
        paths=[ImportLocation(type="object", path=source.url("a.csv"), destination="a.csv")],
        commit=CommitCreation(message="one object"),
    )
    started = lakefs_client.import_api.import_start(repo, "main", creation)
    done = wait_for(
        lambda: lakefs_client.import_api.import_status(repo, "main", started.id), lambda s: s.completed, "import"
    )
    assert done.error is None
    with pytest.raises(lakefs_sdk.ConflictException) as caught:
        lakefs_client.import_api.import_cancel(repo, "main", started.id)
    assert caught.value.status == 409 and caught.value.request_id
    after = lakefs_client.import_api.import_status(repo, "main", started.id)
    assert after.completed is True and after.error is None
    assert lakefs_client.objects_api.get_object(repo, "main", "a.csv") == FILES["a.csv"]


class HoldingHook:
    """A webhook receiver on 127.0.0.1 that never answers: it holds each call until the caller hangs up.

    ``arrived`` is set when a call came in, ``abandoned`` when lakeFS closed that connection
    (as it does when the operation the hook belongs to is canceled).
    """

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.abandoned = threading.Event()
        self.stop = threading.Event()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        return
                    head += chunk
                outer.arrived.set()
                self.request.settimeout(0.05)
                while not outer.stop.is_set():
                    try:
                        if self.request.recv(65536) == b"":
                            outer.abandoned.set()
                            return
                    except TimeoutError:
                        continue
                    except OSError:
                        outer.abandoned.set()
                        return

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> HoldingHook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


def test_import_cancel_of_a_running_import(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, source: Source, wire: Wire
) -> None:
    with HoldingHook() as hook:
        action = (
            "name: hold imports\n"
            "on:\n  pre-commit:\n    branches: [imports]\n"
            "hooks:\n  - id: hold\n    type: webhook\n"
            f"    properties:\n      url: {hook.url}/hold\n      timeout: 60s\n"
        )
        lakefs_client.objects_api.upload_object(repo, "main", "_lakefs_actions/hold.yaml", content=action.encode())
        lakefs_client.commits_api.commit(repo, "main", CommitCreation(message="add the hook"))
        lakefs_client.branches_api.create_branch(repo, BranchCreation(name="imports", source="main"))
        before = lakefs_client.branches_api.get_branch(repo, "imports").commit_id
        creation = ImportCreation(
            paths=[ImportLocation(type="common_prefix", path=source.url(), destination="held/")],
            commit=CommitCreation(message="held import"),
        )
        started = lakefs_client.import_api.import_start(repo, "imports", creation)
        assert hook.arrived.wait(DEADLINE_SECONDS), "the import never reached its pre-commit hook"
        # The import is in its last step, committing, and cannot finish while the hook holds it.
        running = lakefs_client.import_api.import_status(repo, "imports", started.id)
        assert running.completed is False and running.error is None

        lakefs_client.import_api.import_cancel(repo, "imports", started.id)
        sent = wire.last("importCancel")
        assert sent.status == 204 and sent.method == "DELETE" and sent.request.query == f"id={started.id}"
        # lakeFS notices the cancel on its next status round and abandons the hook call.
        assert hook.abandoned.wait(DEADLINE_SECONDS), "the canceled import kept waiting for its hook"

    canceled = lakefs_client.import_api.import_status(repo, "imports", started.id)
    assert canceled.completed is False and canceled.commit is None
    assert canceled.error is not None and "Canceled" in canceled.error.message
    # Nothing landed on the branch.
    assert lakefs_client.branches_api.get_branch(repo, "imports").commit_id == before
    assert lakefs_client.objects_api.list_objects(repo, "imports", prefix="held/").results == []
    # A canceled import never completed, so canceling it again is accepted, and changes nothing.
    lakefs_client.import_api.import_cancel(repo, "imports", started.id)
    again = lakefs_client.import_api.import_status(repo, "imports", started.id)
    assert again.completed is False and again.error is not None and "Canceled" in again.error.message


@local_store_only
def test_import_from_outside_the_allowed_folder_fails(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, tmp_path: Path
) -> None:
    (tmp_path / "secret.txt").write_bytes(b"not for lakeFS")
    creation = ImportCreation(
        paths=[ImportLocation(type="common_prefix", path=local_url(tmp_path, folder=True), destination="x/")],
        commit=CommitCreation(message="not allowed"),
    )
    # The source is checked when the import runs, not when it starts.
    started = lakefs_client.import_api.import_start(repo, "main", creation)
    status = wait_for(
        lambda: lakefs_client.import_api.import_status(repo, "main", started.id),
        lambda s: s.completed or s.error is not None,
        "import",
    )
    assert status.completed is False and status.error is not None
    assert "forbidden" in status.error.message
    assert status.commit is None
    assert lakefs_client.objects_api.list_objects(repo, "main", prefix="x/").results == []
    # import_and_wait raises it, typed: a failure, not the dirty branch, and no explanation to give.
    with pytest.raises(ImportFailedError) as caught:
        import_and_wait(lakefs_client.import_api, repo, "main", creation, poll_interval=0.02, timeout=DEADLINE_SECONDS)
    assert type(caught.value) is ImportFailedError and caught.value.explanation is None
    assert "forbidden" in caught.value.reason and caught.value.reason in str(caught.value)
    assert lakefs_client.objects_api.list_objects(repo, "main", prefix="x/").results == []


@local_store_only  # test_import_s3.py has the S3 store's
def test_import_and_wait_onto_a_dirty_branch_raises_dirty_branch_error(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, source: Source, wire: Wire
) -> None:
    lakefs_client.objects_api.upload_object(repo, "main", "uncommitted.txt", content=b"not committed")
    head = lakefs_client.branches_api.get_branch(repo, "main").commit_id
    creation = ImportCreation(
        paths=[ImportLocation(type="common_prefix", path=source.url(), destination="imported/")],
        commit=CommitCreation(message="onto a dirty branch"),
    )
    with pytest.raises(DirtyBranchError) as caught:
        import_and_wait(lakefs_client.import_api, repo, "main", creation, poll_interval=0.02, timeout=DEADLINE_SECONDS)
    error = caught.value
    assert error.reason == "import error: merge import: uncommitted changes (dirty branch)"
    assert (error.repository, error.branch) == (repo, "main") and error.import_id
    assert wire.last("importStatus").request.query == f"id={error.import_id}"
    assert str(error) == (
        f"import '{error.import_id}' into branch 'main' of repository '{repo}' failed: "
        "import error: merge import: uncommitted changes (dirty branch). The branch has uncommitted changes, and "
        "lakeFS imports only onto a clean branch: commit or reset the branch's uncommitted changes (or import "
        "into a new branch), then import again."
    )
    assert statuses(wire.exchanges(), "importCancel") == []
    assert lakefs_client.branches_api.get_branch(repo, "main").commit_id == head
    assert [d.path for d in lakefs_client.branches_api.diff_branch(repo, "main").results] == ["uncommitted.txt"]


def test_wait_for_import_cancels_an_import_it_gives_up_on(
    lakefs_client: lakefs_sdk.LakeFSClient, repo: str, source: Source, wire: Wire
) -> None:
    with HoldingHook() as hook:
        action = (
            "name: hold imports\n"
            "on:\n  pre-commit:\n    branches: [held]\n"
            "hooks:\n  - id: hold\n    type: webhook\n"
            f"    properties:\n      url: {hook.url}/hold\n      timeout: 60s\n"
        )
        lakefs_client.objects_api.upload_object(repo, "main", "_lakefs_actions/hold.yaml", content=action.encode())
        lakefs_client.commits_api.commit(repo, "main", CommitCreation(message="add the hook"))
        lakefs_client.branches_api.create_branch(repo, BranchCreation(name="held", source="main"))
        before = lakefs_client.branches_api.get_branch(repo, "held").commit_id
        creation = ImportCreation(
            paths=[ImportLocation(type="common_prefix", path=source.url(), destination="held/")],
            commit=CommitCreation(message="held import"),
        )
        started = lakefs_client.import_api.import_start(repo, "held", creation)
        assert hook.arrived.wait(DEADLINE_SECONDS), "the import never reached its pre-commit hook"
        # Held by the hook, the import cannot finish within the timeout.
        with pytest.raises(ImportTimeoutError) as caught:
            wait_for_import(lakefs_client.import_api, repo, "held", started.id, poll_interval=0.05, timeout=0.5)
        error = caught.value
        assert isinstance(error, TimeoutError) and error.reason == "not finished within 0.5 s; canceled"
        assert error.import_id == started.id
        assert error.status is not None and error.status.completed is False and error.status.error is None
        sent = wire.last("importCancel")
        assert sent.status == 204 and sent.request.query == f"id={started.id}"
        assert hook.abandoned.wait(DEADLINE_SECONDS), "the canceled import kept waiting for its hook"

    canceled = lakefs_client.import_api.import_status(repo, "held", started.id)
    assert canceled.completed is False and canceled.error is not None and "Canceled" in canceled.error.message
    assert lakefs_client.branches_api.get_branch(repo, "held").commit_id == before
    assert lakefs_client.objects_api.list_objects(repo, "held", prefix="held/").results == []


def test_import_errors(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, source: Source) -> None:
    api = lakefs_client.import_api
    with pytest.raises(lakefs_sdk.NotFoundException) as caught:
        api.import_status(repo, "main", "no-such-import")
    assert caught.value.status == 404 and caught.value.request_id
    with pytest.raises(lakefs_sdk.NotFoundException):
        api.import_cancel(repo, "main", "no-such-import")
    creation = ImportCreation(
        paths=[ImportLocation(type="object", path=source.url("a.csv"), destination="a.csv")],
        commit=CommitCreation(message="to a missing branch"),
    )
    with pytest.raises(lakefs_sdk.NotFoundException) as caught:
        api.import_start(repo, "no-such-branch", creation)
    assert caught.value.message
    with pytest.raises(ValueError):
        ImportLocation(type="bucket", path=source.url(), destination="x/")  # type: ignore[arg-type]
