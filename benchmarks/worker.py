"""One benchmark run, in a fresh interpreter of the venv under test; prints its figures as JSON.

``run.py`` starts this script once per run with the python of the venv being measured:
``.cache/bench-venv`` (this package, and the raw urllib3 baseline) or
``.cache/bench-upstream-venv`` (upstream ``lakefs-sdk==1.84.0``). It only uses what both
packages have in common, so the same code drives either.

Every scenario checks what it got (the branch's commit ID, 1,000 listed objects, every
uploaded byte counted by the server, every downloaded byte present and in the server's
pattern) and exits non-zero when something is wrong, so a broken run cannot pass for a
fast one. The last line on stdout is a JSON object of figures.

CPU figures are this process's CPU time (``time.process_time``: user + system, all
threads); the server runs in another process and is not in them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from measure import (
    CHUNK,
    MIB,
    BenchFailure,
    Figures,
    check,
    check_chunk,
    check_pattern,
    server_stats,
    timed_transfers,
)

REPO = "bench-repo"
BRANCH = "main"
COMMIT_ID = "c1f3a5e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a6"
LISTING_ENTRIES = 1000
JSON_HEADERS = {"Accept": "application/json", "User-Agent": "bench-raw-urllib3"}


# -- clients ---------------------------------------------------------------------------------


def sdk_client(url: str, pool_maxsize: Optional[int] = None) -> Any:
    """An ``ApiClient`` of whichever ``lakefs_sdk`` this venv has, pointed at the bench server."""
    import lakefs_sdk

    config = lakefs_sdk.Configuration(host=url + "/api/v1")
    if pool_maxsize is not None:
        config.connection_pool_maxsize = pool_maxsize
    return lakefs_sdk.ApiClient(config)


def raw_pool(pool_maxsize: int = 4, with_timeouts: bool = False) -> Any:
    """A plain urllib3 ``PoolManager``: the baseline every SDK figure is compared with.

    ``with_timeouts`` (the ``raw-timeout`` variant) gives it the connect and read timeouts
    this package sets by default (a socket with a timeout costs CPython a ``poll`` before
    every ``recv`` and ``send``), so that the cost of the timeouts can be told apart from
    the SDK's own.
    """
    import urllib3

    if with_timeouts:
        from lakefs_sdk.configuration import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT

        timeout = urllib3.Timeout(connect=DEFAULT_CONNECT_TIMEOUT, read=DEFAULT_READ_TIMEOUT)
        return urllib3.PoolManager(maxsize=pool_maxsize, timeout=timeout)
    return urllib3.PoolManager(maxsize=pool_maxsize)


# -- small calls -----------------------------------------------------------------------------


def call_function(variant: str, operation: str, url: str) -> Callable[[], Any]:
    """The zero-argument function that makes one ``operation`` call the ``variant`` way."""
    api = f"{url}/api/v1/repositories/{REPO}"
    if variant.startswith("raw"):
        pool = raw_pool(with_timeouts=variant == "raw-timeout")
        post_headers = {**JSON_HEADERS, "Content-Type": "application/json"}
        if operation == "get_branch":
            return lambda: json.loads(pool.request("GET", f"{api}/branches/{BRANCH}", headers=JSON_HEADERS).data)
        if operation == "create_branch":
            text_headers = {**post_headers, "Accept": "text/html, application/json"}

            def create() -> str:
                body = json.dumps({"name": "feature", "source": BRANCH}).encode()
                return str(pool.request("POST", f"{api}/branches", body=body, headers=text_headers).data.decode())

            return create
        if operation == "commit":

            def commit() -> Any:
                body = json.dumps({"message": "benchmark commit", "metadata": {"source": "benchmark"}}).encode()
                return json.loads(pool.request("POST", f"{api}/branches/{BRANCH}/commits", body=body,
                                               headers=post_headers).data)

            return commit
        raise ValueError(operation)

    import lakefs_sdk

    client = sdk_client(url)
    if operation == "get_branch":
        branches = lakefs_sdk.BranchesApi(client)
        return lambda: branches.get_branch(REPO, BRANCH)
    if operation == "create_branch":
        branches = lakefs_sdk.BranchesApi(client)
        creation = lakefs_sdk.BranchCreation
        return lambda: branches.create_branch(REPO, creation(name="feature", source=BRANCH))
    if operation == "commit":
        commits = lakefs_sdk.CommitsApi(client)
        creation_model = lakefs_sdk.CommitCreation
        return lambda: commits.commit(
            REPO, BRANCH, creation_model(message="benchmark commit", metadata={"source": "benchmark"})
        )
    raise ValueError(operation)


def check_call_result(operation: str, result: Any) -> None:
    """Refuse a small-call result that is not what the server sent."""
    if operation == "get_branch":
        commit_id = result["commit_id"] if isinstance(result, dict) else result.commit_id
        check(commit_id == COMMIT_ID, f"get_branch returned {result!r}")
    elif operation == "create_branch":
        check(result == COMMIT_ID, f"create_branch returned {result!r}")
    else:
        commit_id = result["id"] if isinstance(result, dict) else result.id
        check(commit_id == COMMIT_ID, f"commit returned {result!r}")


def timed_loop(function: Callable[[], Any], calls: int, warmup: int, batches: int = 10) -> Figures:
    """Client CPU and wall time per call of ``function``, after a warm-up.

    The ``calls`` calls are timed in ``batches`` batches and the median batch is reported,
    so that a burst of load from elsewhere on the machine during one batch does not move it.
    """
    for _ in range(warmup):
        function()
    per_batch = max(1, calls // batches)
    cpu: List[float] = []
    wall: List[float] = []
    for _ in range(batches):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(per_batch):
            function()
        cpu1, wall1 = time.process_time(), time.perf_counter()
        cpu.append((cpu1 - cpu0) / per_batch)
        wall.append((wall1 - wall0) / per_batch)
    return {"cpu_us": statistics.median(cpu) * 1e6, "wall_us": statistics.median(wall) * 1e6}


def scenario_call(args: argparse.Namespace) -> Figures:
    """Per-call client CPU of one small operation (get_branch, create_branch, commit)."""
    function = checked_function(args.variant, args.operation, args.url)
    return timed_loop(function, args.calls, max(20, args.calls // 10))


# -- the 1,000-entry listing -----------------------------------------------------------------


def listing_function(variant: str, url: str) -> Callable[[], Any]:
    """One 1,000-entry listing the ``variant`` way (``floor``: only the validation of the same bytes)."""
    listing = f"{url}/api/v1/repositories/{REPO}/refs/{BRANCH}/objects/ls"
    if variant in ("raw", "raw-timeout", "floor"):
        from lakefs_sdk.models import ObjectStatsList

        pool = raw_pool(with_timeouts=variant == "raw-timeout")
        if variant == "floor":
            body = pool.request("GET", listing, headers=JSON_HEADERS).data
            return lambda: ObjectStatsList.model_validate_json(body)
        return lambda: ObjectStatsList.model_validate_json(pool.request("GET", listing, headers=JSON_HEADERS).data)
    import lakefs_sdk

    objects = lakefs_sdk.ObjectsApi(sdk_client(url))
    return lambda: objects.list_objects(REPO, BRANCH)


def check_listing(result: Any) -> None:
    """Refuse a listing that is not the server's 1,000 entries."""
    check(len(result.results) == LISTING_ENTRIES, f"listed {len(result.results)} objects")
    check(result.results[-1].size_bytes == CHUNK + LISTING_ENTRIES - 1, "last listed object is wrong")


def checked_function(variant: str, operation: str, url: str) -> Callable[[], Any]:
    """The call (or listing) function of ``operation`` the ``variant`` way, its result checked once."""
    if operation == "list_objects":
        function = listing_function(variant, url)
        check_listing(function())
    else:
        function = call_function(variant, operation, url)
        check_call_result(operation, function())
    return function


def scenario_listing(args: argparse.Namespace) -> Figures:
    """Client CPU per ``list_objects`` of 1,000 entries (``floor``: only the model validation)."""
    function = checked_function(args.variant, "list_objects", args.url)
    figures = timed_loop(function, args.calls, max(5, args.calls // 10), batches=5)
    return {"cpu_ms": figures["cpu_us"] / 1000, "wall_ms": figures["wall_us"] / 1000}


def scenario_paired(args: argparse.Namespace) -> Figures:
    """This package and its baseline(s) in one process, alternating batches; client CPU per call.

    Separate processes on a shared VM differ by tens of percent for reasons outside them;
    alternating small batches of each variant inside one process puts the same noise on
    both. Reports ``<variant>_us`` (median batch, CPU µs per call) and ``ratio`` (this
    package over the first baseline: raw urllib3, or the bare validation for the listing).
    """
    names = ["floor", "raw", "ours"] if args.operation == "list_objects" else ["raw", "ours"]
    functions = {name: checked_function(name, args.operation, args.url) for name in names}
    batch = max(1, args.calls // args.batches)
    for function in functions.values():
        for _ in range(batch):
            function()
    samples: Dict[str, List[float]] = {name: [] for name in names}
    for round_ in range(args.batches):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            function = functions[name]
            cpu0 = time.process_time()
            for _ in range(batch):
                function()
            samples[name].append((time.process_time() - cpu0) / batch * 1e6)
    figures = {f"{name}_us": statistics.median(values) for name, values in samples.items()}
    figures["ratio"] = figures["ours_us"] / figures[f"{names[0]}_us"]
    return figures


# -- transfers -------------------------------------------------------------------------------


def _file_chunks(path: str) -> Any:
    with open(path, "rb") as file:
        while True:
            chunk = file.read(CHUNK)
            if not chunk:
                return
            yield chunk


def _sdk_objects(url: str) -> Any:
    """An ``ObjectsApi`` whose client has made one call already (imports and connection done)."""
    import lakefs_sdk

    client = sdk_client(url)
    lakefs_sdk.BranchesApi(client).get_branch(REPO, BRANCH)
    return lakefs_sdk.ObjectsApi(client)


def _connected_raw_pool(variant: str, url: str) -> Any:
    pool = raw_pool(with_timeouts=variant == "raw-timeout")
    pool.request("GET", f"{url}/api/v1/repositories/{REPO}/branches/{BRANCH}")
    return pool


def upload_function(variant: str, url: str, path: str) -> Callable[[], int]:
    """One upload of the file at ``path`` the ``variant`` way; returns the content size the server saw."""
    size = os.path.getsize(path)
    if variant.startswith("raw"):
        pool = _connected_raw_pool(variant, url)
        upload_url = f"{url}/api/v1/repositories/{REPO}/branches/{BRANCH}/objects?path=data/big.bin"

        def raw_upload() -> int:
            headers = {**JSON_HEADERS, "Content-Type": "application/octet-stream", "Content-Length": str(size)}
            response = pool.urlopen("POST", upload_url, body=_file_chunks(path), headers=headers)
            check(response.status == 201, f"raw upload answered {response.status}: {response.data[:200]!r}")
            return int(json.loads(response.data)["size_bytes"])

        return raw_upload
    objects = _sdk_objects(url)

    def sdk_upload() -> int:
        # Upstream 1.84.0 takes the path too, but reads the whole file and builds the whole
        # multipart body in memory before sending.
        stats = objects.upload_object(REPO, BRANCH, "data/big.bin", content=path)
        size_bytes: Optional[int] = stats.size_bytes
        if size_bytes is None:
            raise BenchFailure("upload answer has no size_bytes")
        return size_bytes

    return sdk_upload


def scenario_upload(args: argparse.Namespace) -> Figures:
    """Upload a file: throughput, client CPU and peak RSS growth; the server counts the bytes."""
    upload = upload_function(args.variant, args.url, args.file)
    return timed_transfers(upload, os.path.getsize(args.file), args.transfers)


def download_function(variant: str, url: str, to: str, target: str) -> Callable[[], int]:
    """One download of the server's object the ``variant`` way, into ``target`` (``to="path"``)
    or iterated in chunks (``to="iter"``); returns the number of bytes that arrived."""
    if variant.startswith("raw"):
        pool = _connected_raw_pool(variant, url)
        object_url = f"{url}/api/v1/repositories/{REPO}/refs/{BRANCH}/objects?path=data/big.bin"

        def raw_download() -> int:
            response = pool.request("GET", object_url, headers={"Accept": "application/octet-stream, application/json"},
                                    preload_content=False)
            check(response.status == 200, f"raw download answered {response.status}")
            done = 0
            if to == "path":
                with open(target, "wb") as file:
                    for chunk in response.stream(CHUNK):
                        file.write(chunk)
                        done += len(chunk)
            else:
                for chunk in response.stream(CHUNK):
                    check_chunk(chunk, done)
                    done += len(chunk)
            response.release_conn()
            return done

        return raw_download
    objects = _sdk_objects(url)
    if variant == "ours":

        def sdk_download() -> int:
            response = objects.get_object_without_preload_content(REPO, BRANCH, "data/big.bin")
            with response:
                if to == "path":
                    return int(response.write_to(target))
                done = 0
                for chunk in response.iter_bytes():
                    check_chunk(chunk, done)
                    done += len(chunk)
                return done

        return sdk_download
    # Upstream 1.84.0 has no streaming download: get_object (and get_object_with_http_info,
    # even with _preload_content=False) returns the whole body as one bytes object.
    check(to == "path", "upstream lakefs-sdk 1.84.0 has no API to iterate a download")

    def upstream_download() -> int:
        data = objects.get_object(REPO, BRANCH, "data/big.bin")
        with open(target, "wb") as file:
            file.write(data)
        return len(data)

    return upstream_download


def scenario_download(args: argparse.Namespace) -> Figures:
    """Download the server's object to a path (``--to path``) or by iterating chunks (``--to iter``)."""
    target = os.path.join(args.tmpdir, f"download-{os.getpid()}.bin")
    download = download_function(args.variant, args.url, args.to, target)

    def check_and_remove() -> None:
        if args.to == "path":
            check_pattern(target, args.size)
            os.unlink(target)

    try:
        return timed_transfers(download, args.size, args.transfers, check_and_remove)
    finally:
        if os.path.exists(target):
            os.unlink(target)


def scenario_paired_transfer(args: argparse.Namespace) -> Figures:
    """Raw urllib3 (without and with timeouts) and this package in one process, alternating transfers.

    ``--to`` is ``upload``, ``path`` or ``iter``; each variant makes ``--transfers``
    transfers, in rotating order. Reports ``<variant>_mib_s`` (median) and ``ratio``
    (this package over plain raw urllib3).
    """
    names = ["raw", "raw-timeout", "ours"]
    target = os.path.join(args.tmpdir, f"download-{os.getpid()}.bin")
    if args.to == "upload":
        size = os.path.getsize(args.file)
        functions = {name: upload_function(name, args.url, args.file) for name in names}
    else:
        size = args.size
        functions = {name: download_function(name, args.url, args.to, target) for name in names}
    rates: Dict[str, List[float]] = {name: [] for name in names}
    try:
        for round_ in range(args.transfers):
            for name in names[round_ % 3 :] + names[: round_ % 3]:
                wall0 = time.perf_counter()
                received = functions[name]()
                wall = time.perf_counter() - wall0
                check(received == size, f"{name}: {received} content bytes arrived of {size}")
                if args.to == "path":
                    check_pattern(target, size)
                    os.unlink(target)
                rates[name].append(size / MIB / wall)
    finally:
        if os.path.exists(target):
            os.unlink(target)
    figures = {f"{name}_mib_s": statistics.median(values) for name, values in rates.items()}
    figures["ratio"] = figures["ours_mib_s"] / figures["raw_mib_s"]
    figures["ratio_timeout"] = figures["ours_mib_s"] / figures["raw-timeout_mib_s"]
    return figures


# -- threads sharing one client --------------------------------------------------------------


def scenario_threads(args: argparse.Namespace) -> Figures:
    """get_branch calls/s with ``--threads`` threads sharing one client or pool; new connections."""
    maxsize = args.pool_maxsize
    branch_url = f"{args.url}/api/v1/repositories/{REPO}/branches/{BRANCH}"
    if args.variant.startswith("raw"):
        pool = raw_pool(maxsize, with_timeouts=args.variant == "raw-timeout")

        def call() -> Any:
            return json.loads(pool.request("GET", branch_url, headers=JSON_HEADERS).data)
    else:
        import lakefs_sdk

        branches = lakefs_sdk.BranchesApi(sdk_client(args.url, maxsize))

        def call() -> Any:
            return branches.get_branch(REPO, BRANCH)

    for _ in range(50):  # warm-up on one thread: imports, caches, the first connection
        check_call_result("get_branch", call())
    per_thread = max(1, args.calls // args.threads)
    server_stats(args.url, "reset")
    rates = [_threads_round(call, args.threads, per_thread) for _ in range(args.rounds)]
    stats = server_stats(args.url)
    total = per_thread * args.threads * args.rounds
    check(stats["requests"] == total, f"server saw {stats['requests']} requests, expected {total}")
    return {"calls_s": statistics.median(rates), "new_connections": float(stats["connections"])}


def _threads_round(call: Callable[[], Any], count: int, per_thread: int) -> float:
    """Start ``count`` threads making ``per_thread`` calls each, all at once; return calls/s."""
    barrier = threading.Barrier(count + 1)
    errors: List[BaseException] = []

    def work() -> None:
        barrier.wait()
        try:
            for _ in range(per_thread):
                call()
        except BaseException as error:  # reported below: fails the run
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    wall0 = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - wall0
    if errors:
        raise BenchFailure(f"{len(errors)} threads failed, first: {errors[0]!r}")
    return count * per_thread / wall


# -- entry point -----------------------------------------------------------------------------


def scenario_count(args: argparse.Namespace) -> Figures:
    """Set up ``--operation`` the ``--variant`` way, check one result, then make ``--calls`` calls, untimed.

    ``instructions.py`` runs this under callgrind with two call counts; the difference of the
    two instruction totals over the difference of the counts is the cost of one call, free of
    start-up, imports and set-up.
    """
    function = checked_function(args.variant, args.operation, args.url)
    for _ in range(args.calls):
        function()
    return {"calls": float(args.calls)}


SCENARIOS: Dict[str, Callable[[argparse.Namespace], Figures]] = {
    "call": scenario_call,
    "count": scenario_count,
    "listing": scenario_listing,
    "paired": scenario_paired,
    "paired-transfer": scenario_paired_transfer,
    "upload": scenario_upload,
    "download": scenario_download,
    "threads": scenario_threads,
}


def _elsewhere(module: str, name: str) -> Callable[[argparse.Namespace], Figures]:
    """A scenario of a module beside this one, imported only when it runs (aiohttp is not in every venv)."""

    def run(args: argparse.Namespace) -> Figures:
        scenario: Callable[[argparse.Namespace], Figures] = getattr(importlib.import_module(module), name)
        return scenario(args)

    return run


SCENARIOS.update({
    "aio-calls": _elsewhere("aio_worker", "scenario_aio_calls"),
    "aio-count": _elsewhere("aio_worker", "scenario_aio_count"),
    "aio-paired": _elsewhere("aio_worker", "scenario_aio_paired"),
    "aio-transfer": _elsewhere("aio_worker", "scenario_aio_transfer"),
    **{name: _elsewhere("bulk_worker", "scenario_" + name.replace("-", "_"))
       for name in ("bulk-setup", "bulk-upload", "bulk-download", "bulk-delete", "bulk-paired")},
})


def _check_package(variant: str, expected_prefix: Optional[str]) -> None:
    """Make sure the ``lakefs_sdk`` imported is the one of the venv under test, not the work tree."""
    if variant.startswith("raw") or expected_prefix is None:
        return
    import lakefs_sdk

    where = os.path.realpath(lakefs_sdk.__file__ or "")
    check(where.startswith(os.path.realpath(expected_prefix)), f"imported lakefs_sdk from {where}")


def main(argv: Optional[List[str]] = None) -> int:
    """Run one scenario and print its figures as the last line of stdout."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--variant", required=True,
                        choices=["ours", "upstream", "raw", "raw-timeout", "floor", "ours-sync", "ours-each"])
    parser.add_argument("--url", required=True, help="the bench server, http://127.0.0.1:PORT")
    parser.add_argument("--operation", default="get_branch",
                        choices=["get_branch", "create_branch", "commit", "list_objects"])
    parser.add_argument("--batches", type=int, default=40, help="alternating batches of a paired run")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=16, help="calls in flight at once (aio scenarios)")
    parser.add_argument("--with-threads", action="store_true", help="aio-paired: the sync client on threads too")
    parser.add_argument("--files", help="bulk scenarios: the folder of local files to upload")
    parser.add_argument("--count", type=int, default=2000, help="bulk scenarios: how many files")
    parser.add_argument("--server-pid", type=int, default=0, help="bulk scenarios: the lakeFS process")
    parser.add_argument("--pool-maxsize", type=int, default=16)
    parser.add_argument("--file", help="the file to upload")
    parser.add_argument("--size", type=int, default=0, help="size of the server's object, for downloads")
    parser.add_argument("--to", choices=["path", "iter", "upload", "download"], default="path")
    parser.add_argument("--transfers", type=int, default=3, help="transfers per run (median reported)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of a threads run (median reported)")
    parser.add_argument("--tmpdir", default=tempfile.gettempdir())
    parser.add_argument("--package-prefix", help="lakefs_sdk must be imported from under this directory")
    args = parser.parse_args(argv)
    try:
        figures = SCENARIOS[args.scenario](args)
        _check_package(args.variant, args.package_prefix)
    except BenchFailure as failure:
        print(f"BENCHMARK FAILED: {failure}", file=sys.stderr)
        return 1
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
