"""Bulk transfers against a real lakeFS server (issue 13), started through ``worker.py``.

``run.py`` starts lakeFS itself (``scripts/lakefs_server.py``), writes ``--count`` local
files of 4 KiB (file ``i`` is :func:`content`) and runs ``bulk-setup`` once: a repository
whose ``main`` holds the same files, committed, under ``files/``. The server's address and
credentials come in the environment (``LAKEFS_ENDPOINT``, ``LAKEFS_ACCESS_KEY_ID``,
``LAKEFS_SECRET_ACCESS_KEY``), never on the command line.

Scenarios (each a fresh process of the bench venv, or of the upstream venv for ``upstream``):

* ``bulk-upload``: ingest the local files into a fresh branch (created from ``main`` before
  the clock starts, deleted after the check) under ``ingest/``. Variants: ``ours``
  (``lakefs_sdk.transfer.upload_many(concurrency=16)``), ``upstream`` (upstream 1.84.0's
  ``upload_object`` once per file, one after another, as its users do today) and ``raw``
  (urllib3 on 16 threads sending the requests ``upload_many`` sends). Checked afterwards by
  listing the branch: every path, 4,096 bytes, and the MD5 of its file as checksum.
* ``bulk-download``: read the committed files of ``main`` into an empty folder:
  ``download_many`` / upstream ``get_object`` per file / urllib3 on 16 threads; every file
  is compared with what it must hold.
* ``bulk-delete``: delete the committed files on a fresh branch: ``ours`` is
  ``delete_many`` (the batch endpoint), ``ours-each`` one ``delete_object`` call per path;
  afterwards the branch must list none of them.
* ``bulk-paired``: ``ours`` and ``raw`` uploads (``--to upload``) or downloads
  (``--to download``) alternating in one process; the ratio is computed inside the run.

Every timed transfer reports wall time, this process's CPU time (``time.process_time``:
user + system, all threads) and the lakeFS process's CPU time (``utime + stime`` from
``/proc/<pid>/stat`` before and after), so that the figures say where the time goes.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import statistics
import threading
import time
import urllib.parse
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from measure import BenchFailure, Figures, check

REPOSITORY = "bench-bulk"
SOURCE_PREFIX = "files/"
INGEST_PREFIX = "ingest/"
FILE_SIZE = 4096
THREADS = 16
LIST_PAGE = 1000
DELETE_BATCH = 1000


def content(index: int) -> bytes:
    """What local file ``index`` (and object ``files/part-<index>.bin``) holds: 4 KiB, distinct per index."""
    return hashlib.sha256(str(index).encode()).digest() * (FILE_SIZE // 32)


def file_name(index: int) -> str:
    """The local file name and object base name of file ``index``."""
    return f"part-{index:05d}.bin"


def write_files(folder: str, count: int) -> None:
    """Write the ``count`` local files to upload into ``folder``."""
    os.makedirs(folder, exist_ok=True)
    for index in range(count):
        with open(os.path.join(folder, file_name(index)), "wb") as file:
            file.write(content(index))


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads) so far, from ``/proc/<pid>/stat``."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- raw access: setup, checks and the raw urllib3 variant -----------------------------------


class Lake:
    """The lakeFS server through a plain urllib3 pool, with basic auth: set-up, checks, the raw variant."""

    def __init__(self, maxsize: int = THREADS) -> None:
        import urllib3

        self.endpoint = os.environ["LAKEFS_ENDPOINT"].rstrip("/")
        self.api = self.endpoint + "/api/v1"
        token = f"{os.environ['LAKEFS_ACCESS_KEY_ID']}:{os.environ['LAKEFS_SECRET_ACCESS_KEY']}"
        self.auth = "Basic " + base64.b64encode(token.encode()).decode()
        self.pool = urllib3.PoolManager(maxsize=maxsize)
        self.headers = {"Authorization": self.auth, "Accept": "application/json", "User-Agent": "bench-raw-urllib3"}

    def call(self, method: str, path: str, body: Any = None, expect: Sequence[int] = (200, 201, 204),
             query: Optional[Dict[str, str]] = None) -> Any:
        """One JSON API call; refuse any status outside ``expect``; the decoded answer (None when empty)."""
        url = self.api + path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        response = self.pool.request(method, url, body=data, headers=headers)
        check(response.status in expect, f"{method} {path} answered {response.status}: {response.data[:300]!r}")
        return json.loads(response.data) if response.data and response.data[:1] in (b"{", b"[") else None

    def create_branch(self, name: str, source: str = "main") -> None:
        """Create branch ``name`` from ``source``."""
        self.call("POST", f"/repositories/{REPOSITORY}/branches", {"name": name, "source": source})

    def delete_branch(self, name: str) -> None:
        """Delete branch ``name``."""
        self.call("DELETE", f"/repositories/{REPOSITORY}/branches/{name}")

    def list_objects(self, ref: str, prefix: str) -> List[Dict[str, Any]]:
        """Every object under ``prefix`` on ``ref``, following the pagination."""
        found: List[Dict[str, Any]] = []
        after = ""
        while True:
            page = self.call("GET", f"/repositories/{REPOSITORY}/refs/{ref}/objects/ls",
                             query={"prefix": prefix, "after": after, "amount": str(LIST_PAGE)})
            found += page["results"]
            if not page["pagination"]["has_more"]:
                return found
            after = page["pagination"]["next_offset"]

    def upload_url(self, branch: str, path: str) -> str:
        """The URL of an upload of ``path`` to ``branch`` (``uploadObject``)."""
        return f"{self.api}/repositories/{REPOSITORY}/branches/{branch}/objects?path={urllib.parse.quote(path)}"

    def upload(self, branch: str, path: str, local: str) -> None:
        """Upload the local file to ``path``: its bytes as an ``application/octet-stream`` body."""
        with open(local, "rb") as file:
            data = file.read()
        headers = {**self.headers, "Content-Type": "application/octet-stream"}
        response = self.pool.request("POST", self.upload_url(branch, path), body=data, headers=headers)
        check(response.status == 201, f"raw upload of {path} answered {response.status}: {response.data[:300]!r}")
        stats = json.loads(response.data)
        check(stats["size_bytes"] == len(data), f"raw upload of {path}: {stats['size_bytes']} bytes stored")

    def download(self, ref: str, path: str, local: str) -> None:
        """Download ``path`` of ``ref`` into the local file (``getObject``)."""
        url = f"{self.api}/repositories/{REPOSITORY}/refs/{ref}/objects?path={urllib.parse.quote(path)}"
        headers = {**self.headers, "Accept": "application/octet-stream, application/json"}
        response = self.pool.request("GET", url, headers=headers)
        check(response.status == 200, f"raw download of {path} answered {response.status}")
        with open(local, "wb") as file:
            file.write(response.data)


def on_threads(work: Callable[[Any], None], items: Sequence[Any], threads: int = THREADS) -> None:
    """Run ``work(item)`` for every item on ``threads`` threads (thread ``k`` takes items ``k, k + N, ...``)."""
    errors: List[BaseException] = []

    def lane(k: int) -> None:
        try:
            for item in items[k::threads]:
                work(item)
        except BaseException as error:  # reported below: fails the run
            errors.append(error)

    pool = [threading.Thread(target=lane, args=(k,)) for k in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise BenchFailure(f"{len(errors)} of {threads} threads failed, first: {errors[0]!r}")


# -- the SDK clients -------------------------------------------------------------------------


def sdk_objects() -> Any:
    """An ``ObjectsApi`` of whichever ``lakefs_sdk`` this venv has, on the server of the environment.

    Default settings but the pool size: 16 connections per host, as the guide says to set
    for 16 threads (the default, five per CPU, is 10 on 2 cores).
    """
    import lakefs_sdk

    config = lakefs_sdk.Configuration(
        host=os.environ["LAKEFS_ENDPOINT"].rstrip("/") + "/api/v1",
        username=os.environ["LAKEFS_ACCESS_KEY_ID"],
        password=os.environ["LAKEFS_SECRET_ACCESS_KEY"],
    )
    config.connection_pool_maxsize = THREADS  # as raw's PoolManager(maxsize=16): 16 transfers in flight
    objects = lakefs_sdk.ObjectsApi(lakefs_sdk.ApiClient(config))
    objects.stat_object(REPOSITORY, "main", SOURCE_PREFIX + file_name(0))  # imports, auth, a first connection
    return objects


def check_report(report: Any, count: int, what: str) -> List[Any]:
    """The per-item results of a bulk report, refused unless there are ``count`` and none failed.

    Reads the report through the names issue 13 gives it: ``results`` (every item, in
    order), each with ``error`` (None on success) and ``value``; ``failed`` when present.
    """
    results = list(getattr(report, "results", report))
    check(len(results) == count, f"{what}: the report lists {len(results)} items of {count}")
    failed = [r for r in results if getattr(r, "error", None) is not None]
    if failed:
        raise BenchFailure(f"{what}: {len(failed)} items failed, first: {failed[0].error!r}")
    if hasattr(report, "failed"):
        check(not list(report.failed), f"{what}: the report's failed list is not empty")
    return results


# -- one scenario's timed transfers ----------------------------------------------------------


class Timed:
    """Wall, client CPU and server CPU of each timed transfer; medians reported."""

    def __init__(self, server_pid: int, count: int) -> None:
        self.server_pid = server_pid
        self.count = count
        self.samples: Dict[str, List[float]] = {"wall_s": [], "cpu_s": [], "server_cpu_s": []}

    def run(self, transfer: Callable[[str], None], where: str) -> float:
        """Time one ``transfer(where)``; return its wall time."""
        server0 = server_cpu_seconds(self.server_pid)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        transfer(where)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        self.samples["wall_s"].append(wall)
        self.samples["cpu_s"].append(cpu)
        self.samples["server_cpu_s"].append(server_cpu_seconds(self.server_pid) - server0)
        return wall

    def figures(self) -> Figures:
        """Medians: ``files_s``, ``wall_s``, ``cpu_s`` (client), ``server_cpu_s``."""
        figures = {name: statistics.median(values) for name, values in self.samples.items()}
        figures["files_s"] = self.count / figures["wall_s"]
        return figures


def _local_files(args: argparse.Namespace) -> List[Tuple[int, str]]:
    return [(index, os.path.join(args.files, file_name(index))) for index in range(args.count)]


def upload_function(variant: str, args: argparse.Namespace, lake: Lake) -> Callable[[str], None]:
    """``upload(branch)``: the ``variant``'s ingest of every local file into ``branch`` under ``ingest/``."""
    files = _local_files(args)
    if variant == "raw":
        return lambda branch: on_threads(lambda f: lake.upload(branch, INGEST_PREFIX + file_name(f[0]), f[1]), files)
    objects = sdk_objects()
    if variant == "upstream":

        def sequential(branch: str) -> None:
            for index, local in files:  # upstream reads the path's file into memory and sends it
                objects.upload_object(REPOSITORY, branch, INGEST_PREFIX + file_name(index), content=local)

        return sequential
    from lakefs_sdk.transfer import upload_many

    def many(branch: str) -> None:
        items = [(local, INGEST_PREFIX + file_name(index)) for index, local in files]
        report = upload_many(objects, REPOSITORY, branch, items, concurrency=args.concurrency)
        check_report(report, len(items), "upload_many")

    return many


def check_ingest(lake: Lake, branch: str, count: int) -> None:
    """The branch must hold exactly the ``count`` files under ``ingest/``, each with its size and MD5."""
    listed = {o["path"]: o for o in lake.list_objects(branch, INGEST_PREFIX)}
    check(len(listed) == count, f"the branch lists {len(listed)} ingested objects of {count}")
    for index in range(count):
        entry = listed.get(INGEST_PREFIX + file_name(index))
        check(entry is not None, f"{file_name(index)} was not ingested")
        assert entry is not None
        check(entry["size_bytes"] == FILE_SIZE, f"{file_name(index)} has {entry['size_bytes']} bytes")
        check(entry["checksum"] == hashlib.md5(content(index)).hexdigest(), f"{file_name(index)}: checksum differs")


def scenario_bulk_upload(args: argparse.Namespace) -> Figures:
    """Ingest the local files ``--transfers`` times, each into a fresh branch; timed, then checked."""
    lake = Lake()
    upload = upload_function(args.variant, args, lake)
    timed = Timed(args.server_pid, args.count)
    for number in range(args.transfers):
        branch = f"up-{args.variant}-{os.getpid()}-{number}"
        lake.create_branch(branch)
        try:
            timed.run(upload, branch)
            check_ingest(lake, branch, args.count)
        finally:
            lake.delete_branch(branch)
    return timed.figures()


def download_function(variant: str, args: argparse.Namespace, lake: Lake) -> Callable[[str], None]:
    """``download(folder)``: the ``variant``'s download of every committed file of ``main`` into ``folder``."""
    names = [file_name(index) for index in range(args.count)]
    if variant == "raw":
        return lambda folder: on_threads(
            lambda name: lake.download("main", SOURCE_PREFIX + name, os.path.join(folder, name)), names)
    objects = sdk_objects()
    if variant == "upstream":

        def sequential(folder: str) -> None:
            for name in names:  # upstream: the whole body as bytes, then written
                data = objects.get_object(REPOSITORY, "main", SOURCE_PREFIX + name)
                with open(os.path.join(folder, name), "wb") as file:
                    file.write(data)

        return sequential
    from lakefs_sdk.transfer import download_many

    def many(folder: str) -> None:
        items = [(SOURCE_PREFIX + name, os.path.join(folder, name)) for name in names]
        report = download_many(objects, REPOSITORY, "main", items, concurrency=args.concurrency)
        check_report(report, len(items), "download_many")

    return many


def check_downloads(folder: str, count: int) -> None:
    """Every downloaded file must hold exactly what its object holds; nothing else in the folder."""
    check(len(os.listdir(folder)) == count, f"{len(os.listdir(folder))} files downloaded of {count}")
    for index in range(count):
        with open(os.path.join(folder, file_name(index)), "rb") as file:
            check(file.read() == content(index), f"downloaded {file_name(index)} differs from the object")


def _fresh_folder(args: argparse.Namespace, tag: str) -> str:
    folder = os.path.join(args.tmpdir, f"bulk-{tag}-{os.getpid()}")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    return folder


def scenario_bulk_download(args: argparse.Namespace) -> Figures:
    """Download the committed files ``--transfers`` times, each into an empty folder; timed, then checked."""
    lake = Lake()
    download = download_function(args.variant, args, lake)
    timed = Timed(args.server_pid, args.count)
    for _ in range(args.transfers):
        folder = _fresh_folder(args, "download")
        try:
            timed.run(download, folder)
            check_downloads(folder, args.count)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return timed.figures()


def scenario_bulk_delete(args: argparse.Namespace) -> Figures:
    """Delete the committed files on a fresh branch, ``--transfers`` times; timed, then checked."""
    lake = Lake()
    objects = sdk_objects()
    paths = [SOURCE_PREFIX + file_name(index) for index in range(args.count)]
    timed = Timed(args.server_pid, args.count)
    if args.variant == "ours-each":

        def delete(branch: str) -> None:
            for path in paths:
                objects.delete_object(REPOSITORY, branch, path)
    else:
        from lakefs_sdk.transfer import delete_many

        def delete(branch: str) -> None:
            check_report(delete_many(objects, REPOSITORY, branch, paths), len(paths), "delete_many")

    for number in range(args.transfers):
        branch = f"del-{args.variant}-{os.getpid()}-{number}"
        lake.create_branch(branch)
        try:
            check(len(lake.list_objects(branch, SOURCE_PREFIX)) == args.count, "the new branch lacks the files")
            timed.run(delete, branch)
            left = lake.list_objects(branch, SOURCE_PREFIX)
            check(not left, f"{len(left)} objects left after deleting them all, first {left[:1]!r}")
        finally:
            lake.delete_branch(branch)
    return timed.figures()


def scenario_bulk_paired(args: argparse.Namespace) -> Figures:
    """``ours`` and ``raw`` in one process, alternating whole transfers (``--to upload`` or ``download``).

    Reports ``<variant>_files_s`` (median) and ``ratio`` (ours over raw), computed in this run.
    """
    lake = Lake()
    names = ["raw", "ours"]
    rates: Dict[str, List[float]] = {name: [] for name in names}
    if args.to == "upload":
        uploads = {name: upload_function(name, args, lake) for name in names}
    else:
        downloads = {name: download_function(name, args, lake) for name in names}
    for number in range(args.transfers):
        for name in names[number % 2 :] + names[: number % 2]:
            timed = Timed(args.server_pid, args.count)
            if args.to == "upload":
                branch = f"pair-{name}-{os.getpid()}-{number}"
                lake.create_branch(branch)
                try:
                    timed.run(uploads[name], branch)
                    check_ingest(lake, branch, args.count)
                finally:
                    lake.delete_branch(branch)
            else:
                folder = _fresh_folder(args, "pair")
                try:
                    timed.run(downloads[name], folder)
                    check_downloads(folder, args.count)
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
            rates[name].append(timed.figures()["files_s"])
    figures = {f"{name}_files_s": statistics.median(values) for name, values in rates.items()}
    figures["ratio"] = figures["ours_files_s"] / figures["raw_files_s"]
    return figures


def scenario_bulk_setup(args: argparse.Namespace) -> Figures:
    """Create the repository and commit the ``--count`` files to ``main`` under ``files/`` (raw urllib3)."""
    lake = Lake()
    namespace = f"local://{REPOSITORY}-{os.getpid()}"
    lake.call("POST", "/repositories", {"name": REPOSITORY, "storage_namespace": namespace, "default_branch": "main"})
    on_threads(lambda f: lake.upload("main", SOURCE_PREFIX + file_name(f[0]), f[1]), _local_files(args))
    lake.call("POST", f"/repositories/{REPOSITORY}/branches/main/commits", {"message": "benchmark files"})
    listed = lake.list_objects("main", SOURCE_PREFIX)
    check(len(listed) == args.count, f"main lists {len(listed)} files of {args.count} after the set-up")
    return {"objects": float(len(listed))}


SCENARIOS = {
    "bulk-setup": scenario_bulk_setup,
    "bulk-upload": scenario_bulk_upload,
    "bulk-download": scenario_bulk_download,
    "bulk-delete": scenario_bulk_delete,
    "bulk-paired": scenario_bulk_paired,
}
