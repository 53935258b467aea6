"""One run of a production-storage figure: lakeFS on a real S3 store (``run.py --only storage``).

    python benchmarks/storage_worker.py SCENARIO --variant VARIANT [options]

Run by ``storage.py`` in a fresh process of the bench venv; the servers' addresses and keys
come in the environment (``LAKEFS_*``, ``LAKECTL_*``, ``OBJECT_STORE_*``), never on the
command line. The last line of stdout is a JSON object of figures.

Scenarios:

* ``setup``: create the repositories on the store (``--repos``) and, for ``bench-big`` and
  ``bench-small``, commit to ``main`` what the download figures read.
* ``upload``: upload ``--file`` to ``up/<variant>.bin`` on ``main``: ``ours``
  (``upload_presigned``, multipart), ``ours-single`` (``upload_presigned``, one PUT), ``raw``
  (``create_presign_multipart_upload``, then urllib3 PUTs of its part URLs from
  ``--concurrency`` threads, then complete), ``lakectl`` (``lakectl fs upload --pre-sign``),
  ``boto3`` (``upload_file`` through lakeFS's S3 gateway), ``upload-object`` (through lakeFS);
  ``ours-p16-c4``: ``upload_presigned`` with parts of 16 MiB, 4 in flight (any numbers).
  Checked by ``stat_object`` (size); the object's data is then deleted from the store, and the
  store's volumes compacted (``/vol/vacuum`` of its master, when ``OBJECT_STORE_MASTER_URL`` is set).
* ``download``: read ``big/source.bin`` into a file: ``ours`` (``download(presign=True)``),
  ``ours-lakefs`` (``presign=False``), ``lakectl`` (``fs download --pre-sign``), ``boto3``
  (``download_file`` through the gateway); the file's SHA-256 must be ``--sha256``.
* ``upload-rss``: one default ``upload_presigned`` of ``--file``; peak RSS (``getrusage``)
  minus the RSS after imports and client set-up.
* ``upload-paired`` / ``download-paired``: the variants of ``--variants`` (the first one is
  compared with the others) in one process, ``--transfers`` rounds in rotating order; the
  ratios are computed per round.
* ``small-upload`` / ``small-download``: ``upload_many`` / ``download_many`` of ``--count``
  files of 4 KiB with ``presign=True`` (``presign``) or ``False`` (``lakefs``); checked by
  listing the branch, or by every file's bytes.

Each figure reports wall time, MiB/s (or files/s) and the CPU time of the client (this
process and its children: lakectl), lakeFS and the store, from ``/proc/<pid>/stat``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import importlib.util
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from bulk_worker import Lake, content, file_name, server_cpu_seconds
from measure import BenchFailure, Figures, check

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
BIG_REPO, SMALL_REPO, SLOW_REPO = "bench-big", "bench-small", "bench-slow"
SOURCE = "big/source.bin"
SMALL_PREFIX = "files/"
SMALL_CONCURRENCY = 16


def sdk_client(pool: int = 16) -> Any:
    """This package's client for the lakeFS of the environment."""
    import lakefs_sdk

    configuration = lakefs_sdk.Configuration(
        host=os.environ["LAKEFS_ENDPOINT"].rstrip("/") + "/api/v1",
        username=os.environ["LAKEFS_ACCESS_KEY_ID"],
        password=os.environ["LAKEFS_SECRET_ACCESS_KEY"],
    )
    configuration.connection_pool_maxsize = pool
    return lakefs_sdk.ApiClient(configuration)


def sha256_file(path: str) -> str:
    """The SHA-256 of a file, read in 4 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(4 * MIB):
            digest.update(block)
    return digest.hexdigest()


class Clocks:
    """Wall time and the CPU time of the client (with its children), lakeFS and the store over a block."""

    def __init__(self, lakefs_pid: int, store_pid: int, proxy_pid: int = 0) -> None:
        self.pids = (lakefs_pid, store_pid, proxy_pid)

    @staticmethod
    def _client() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime

    def __enter__(self) -> Clocks:
        self.servers0 = [server_cpu_seconds(pid) if pid else 0.0 for pid in self.pids]
        self.client0, self.wall0 = self._client(), time.perf_counter()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.client = self._client() - self.client0
        lakefs, store, proxy = (server_cpu_seconds(pid) - before if pid else 0.0
                                for pid, before in zip(self.pids, self.servers0, strict=True))
        self.lakefs, self.store, self.proxy = lakefs, store, proxy


def median_figures(runs: List[Dict[str, float]]) -> Figures:
    """Each figure's median over the transfers of this run."""
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def _store() -> Any:
    spec = importlib.util.spec_from_file_location("object_store", ROOT / "scripts" / "object_store.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["object_store"] = module
    spec.loader.exec_module(module)
    return module


def delete_from_store(physical_address: str) -> None:
    """Delete an object's data from the store itself, so that repeated 1 GiB uploads do not fill the disk."""
    store = _store()
    parts = urllib.parse.urlsplit(physical_address)
    check(parts.scheme == "s3", f"physical address {physical_address!r} is not on S3")
    credentials = store.S3Credentials(os.environ["OBJECT_STORE_ENDPOINT"], os.environ["OBJECT_STORE_ACCESS_KEY_ID"],
                                      os.environ["OBJECT_STORE_SECRET_ACCESS_KEY"])
    answer = store.s3_request(credentials, "DELETE", f"/{parts.netloc}{parts.path}")
    check(answer.status in (200, 204), f"deleting {physical_address} from the store answered {answer.status}")
    master = os.environ.get("OBJECT_STORE_MASTER_URL")
    if master:  # SeaweedFS frees a deleted object's space only when its volume is compacted
        with urllib.request.urlopen(f"{master}/vol/vacuum?garbageThreshold=0.05", timeout=300) as response:
            check(response.status == 200, f"the store's vacuum answered {response.status}")


def lakectl_env() -> Dict[str, str]:
    """lakectl's environment: the LAKECTL_* variables, a HOME of its own (no ~/.lakectl.yaml is read)."""
    env = {name: value for name, value in os.environ.items() if name.startswith("LAKECTL_") or name == "PATH"}
    env["HOME"] = os.environ.get("STORAGE_HOME", "/nonexistent")
    return env


# -- set-up ----------------------------------------------------------------------------------


def scenario_setup(args: argparse.Namespace) -> Figures:
    import lakefs_sdk
    from lakefs_sdk.transfer import upload_many, upload_presigned

    client = sdk_client()
    base = os.environ["LAKEFS_NAMESPACE_BASE"]
    repositories = lakefs_sdk.RepositoriesApi(client)
    for name in args.repos.split(","):
        repositories.create_repository(lakefs_sdk.RepositoryCreation(name=name, storage_namespace=base + name))
        if name == BIG_REPO:
            upload_presigned(lakefs_sdk.StagingApi(client), name, "main", SOURCE, args.file)
        elif name == SMALL_REPO:
            report = upload_many(lakefs_sdk.ObjectsApi(client), name, "main", [(args.files, SMALL_PREFIX)],
                                 presign=False, concurrency=SMALL_CONCURRENCY)
            check(not report.failed, f"set-up upload failed: {report.failed[:1]}")
        else:
            continue
        lakefs_sdk.CommitsApi(client).commit(name, "main", lakefs_sdk.CommitCreation(message="bench data"))
    return {"ok": 1.0}


# -- large uploads ---------------------------------------------------------------------------


def raw_multipart(lake: Lake, repo: str, path: str, file: str, size: int, part_size: int, concurrency: int) -> None:
    """What ``upload_presigned`` does, by hand: one pmpu, urllib3 PUTs of its part URLs, complete."""
    import urllib3

    count = -(-size // part_size)
    base = f"/repositories/{repo}/branches/main/staging/pmpu"
    started = lake.call("POST", base, query={"path": path, "parts": str(count)})
    urls: List[str] = started["presigned_urls"]
    check(len(urls) == count, f"{len(urls)} part URLs for {count} parts")
    pool = urllib3.PoolManager(maxsize=concurrency)
    fd = os.open(file, os.O_RDONLY)

    def put(number: int) -> Dict[str, Any]:
        offset = (number - 1) * part_size
        body = os.pread(fd, min(part_size, size - offset), offset)
        response = pool.request("PUT", urls[number - 1], body=body,
                                headers={"Content-Length": str(len(body)), "Content-Type": "application/octet-stream"})
        check(response.status == 200, f"part {number} answered {response.status}: {response.data[:200]!r}")
        return {"part_number": number, "etag": response.headers["ETag"]}

    try:
        with concurrent.futures.ThreadPoolExecutor(concurrency) as executor:
            parts = list(executor.map(put, range(1, count + 1)))
    finally:
        os.close(fd)
    lake.call("PUT", f"{base}/{urllib.parse.quote(started['upload_id'], safe='')}", query={"path": path},
              body={"physical_address": started["physical_address"], "parts": parts})


def upload_function(args: argparse.Namespace, repo: str, path: str, variant: str) -> Callable[[], object]:
    """One upload of ``args.file`` to ``path`` by ``variant``."""
    import lakefs_sdk
    from lakefs_sdk import transfer

    file, size = args.file, args.size
    client = sdk_client()
    part_size, concurrency = args.part_size, args.concurrency
    if variant.startswith("ours-p"):  # ours-p<MiB>-c<parts in flight>: the same with other settings
        settings = variant.split("-")
        part_size, concurrency, variant = int(settings[1][1:]) * MIB, int(settings[2][1:]), "ours"
    if variant in ("ours", "ours-single"):
        staging = lakefs_sdk.StagingApi(client)
        threshold = size + 1 if variant == "ours-single" else 8 * MIB
        return lambda: transfer.upload_presigned(staging, repo, "main", path, file, multipart_threshold=threshold,
                                                 part_size=part_size, concurrency=concurrency)
    if variant == "raw":
        lake = Lake(maxsize=4)
        return lambda: raw_multipart(lake, repo, path, file, size, args.part_size, args.concurrency)
    if variant == "upload-object":
        objects = lakefs_sdk.ObjectsApi(client)
        return lambda: transfer.upload(objects, repo, "main", path, file)
    if variant == "boto3":
        from lakefs_sdk.s3 import boto3_client

        s3 = boto3_client(client.configuration)
        return lambda: s3.upload_file(file, repo, f"main/{path}")
    if variant == "lakectl":
        command = [args.lakectl, "fs", "upload", "--pre-sign", "--no-progress", "-s", file,
                   f"lakefs://{repo}/main/{path}"]
        return lambda: subprocess.run(command, check=True, env=lakectl_env(), stdout=subprocess.DEVNULL)
    raise BenchFailure(f"unknown upload variant {variant!r}")


def scenario_upload(args: argparse.Namespace) -> Figures:
    import lakefs_sdk

    repo = args.repo
    path = f"up/{args.variant}.bin"
    upload = upload_function(args, repo, path, args.variant)
    objects = lakefs_sdk.ObjectsApi(sdk_client())
    runs = []
    for _ in range(args.transfers):
        with Clocks(args.lakefs_pid, args.store_pid, args.proxy_pid) as clocks:
            upload()
        check_upload(objects, repo, path, args.size, args.variant)
        runs.append(_figures(clocks, args.size / MIB / clocks.wall))
    return median_figures(runs)


def check_upload(objects: Any, repo: str, path: str, size: int, variant: str) -> None:
    """The uploaded object must have ``size`` bytes; its data is then deleted from the store."""
    stats = objects.stat_object(repo, "main", path)
    check(stats.size_bytes == size, f"{variant}: the object has {stats.size_bytes} bytes, not {size}")
    delete_from_store(stats.physical_address)


def paired(variants: List[str], rounds: int, transfer: Callable[[str], float]) -> Figures:
    """``rounds`` rounds of one transfer per variant, in rotating order, in this process.

    ``transfer(variant)`` returns MiB/s. Reported: each variant's median MiB/s and, for each
    other variant, the median over rounds of the first variant's speed over its.
    """
    rates: Dict[str, List[float]] = {variant: [] for variant in variants}
    for number in range(rounds):
        shift = number % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            rates[variant].append(transfer(variant))
    first = variants[0]
    figures = {f"{variant}_rate": statistics.median(found) for variant, found in rates.items()}
    for variant in variants[1:]:
        figures[f"ratio_{variant}"] = statistics.median(
            mine / theirs for mine, theirs in zip(rates[first], rates[variant], strict=True))
    return figures


def scenario_upload_paired(args: argparse.Namespace) -> Figures:
    import lakefs_sdk

    objects = lakefs_sdk.ObjectsApi(sdk_client())
    variants = args.variants.split(",")
    uploads = {v: upload_function(args, args.repo, f"up/paired-{v}.bin", v) for v in variants}

    def one(variant: str) -> float:
        started = time.perf_counter()
        uploads[variant]()
        wall = time.perf_counter() - started
        check_upload(objects, args.repo, f"up/paired-{variant}.bin", args.size, variant)
        return float(args.size) / MIB / wall

    return paired(variants, args.transfers, one)


def scenario_download_paired(args: argparse.Namespace) -> Figures:
    variants = args.variants.split(",")
    targets = {v: os.path.join(args.tmpdir, f"paired-{v}-{os.getpid()}.bin") for v in variants}
    downloads = {v: download_function(args, targets[v], v) for v in variants}

    def one(variant: str) -> float:
        started = time.perf_counter()
        downloads[variant]()
        wall = time.perf_counter() - started
        check_download(targets[variant], args.size, args.sha256, variant)
        return float(args.size) / MIB / wall

    return paired(variants, args.transfers, one)


def _figures(clocks: Clocks, rate: float) -> Dict[str, float]:
    return {"rate": rate, "wall_s": clocks.wall, "client_cpu_s": clocks.client, "lakefs_cpu_s": clocks.lakefs,
            "store_cpu_s": clocks.store, "proxy_cpu_s": clocks.proxy}


def scenario_upload_rss(args: argparse.Namespace) -> Figures:
    import lakefs_sdk
    from lakefs_sdk import transfer
    from lakefs_sdk._multipart import DEFAULT_PART_CONCURRENCY, DEFAULT_PART_SIZE

    staging = lakefs_sdk.StagingApi(sdk_client())
    transfer.supports_presign(staging.api_client)  # the config call: its answer is set-up, not the upload
    with open("/proc/self/status", encoding="ascii") as status:
        rss_kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    check(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_kib < 64 * 1024,
          "the peak before the upload is far above the RSS after imports: the figure would be hidden")
    path = "up/rss.bin"
    transfer.upload_presigned(staging, BIG_REPO, "main", path, args.file)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stats = lakefs_sdk.ObjectsApi(staging.api_client).stat_object(BIG_REPO, "main", path)
    check(stats.size_bytes == args.size, f"the object has {stats.size_bytes} bytes, not {args.size}")
    delete_from_store(stats.physical_address)
    return {"rss_growth_mib": (peak_kib - rss_kib) / 1024, "rss_after_imports_mib": rss_kib / 1024,
            "limit_mib": DEFAULT_PART_CONCURRENCY * DEFAULT_PART_SIZE / MIB + 32}


# -- large downloads -------------------------------------------------------------------------


def download_function(args: argparse.Namespace, target: str, variant: str) -> Callable[[], object]:
    """One download of ``big/source.bin`` into ``target`` by ``variant``."""
    import lakefs_sdk
    from lakefs_sdk import transfer

    client = sdk_client()
    if variant in ("ours", "ours-lakefs"):
        objects = lakefs_sdk.ObjectsApi(client)
        presign = variant == "ours"
        return lambda: transfer.download(objects, BIG_REPO, "main", SOURCE, target, presign=presign)
    if variant == "boto3":
        from lakefs_sdk.s3 import boto3_client

        s3 = boto3_client(client.configuration)
        return lambda: s3.download_file(BIG_REPO, f"main/{SOURCE}", target)
    if variant == "lakectl":
        command = [args.lakectl, "fs", "download", "--pre-sign", "--no-progress", f"lakefs://{BIG_REPO}/main/{SOURCE}",
                   target]
        return lambda: subprocess.run(command, check=True, env=lakectl_env(), stdout=subprocess.DEVNULL)
    raise BenchFailure(f"unknown download variant {variant!r}")


def scenario_download(args: argparse.Namespace) -> Figures:
    target = os.path.join(args.tmpdir, f"download-{args.variant}-{os.getpid()}.bin")
    download = download_function(args, target, args.variant)
    runs = []
    for _ in range(args.transfers):
        with Clocks(args.lakefs_pid, args.store_pid) as clocks:
            download()
        check_download(target, args.size, args.sha256, args.variant)
        runs.append(_figures(clocks, args.size / MIB / clocks.wall))
    return median_figures(runs)


def check_download(target: str, size: int, sha256: str, variant: str) -> None:
    """The downloaded file must have ``size`` bytes and the SHA-256 ``sha256``; it is then deleted."""
    try:
        check(os.path.getsize(target) == size, f"{variant}: {os.path.getsize(target)} bytes arrived of {size}")
        check(sha256_file(target) == sha256, f"{variant}: the downloaded file's SHA-256 is wrong")
    finally:
        os.unlink(target)


# -- many small files ------------------------------------------------------------------------


def scenario_small_upload(args: argparse.Namespace) -> Figures:
    import lakefs_sdk
    from lakefs_sdk.transfer import upload_many

    client = sdk_client()
    objects, branches = lakefs_sdk.ObjectsApi(client), lakefs_sdk.BranchesApi(client)
    presign = args.variant == "presign"
    runs = []
    for number in range(args.transfers):
        branch = f"ingest-{args.variant}-{os.getpid()}-{number}"
        branches.create_branch(SMALL_REPO, lakefs_sdk.BranchCreation(name=branch, source="main"))
        with Clocks(args.lakefs_pid, args.store_pid) as clocks:
            report = upload_many(objects, SMALL_REPO, branch, [(args.files, "ingest/")], presign=presign,
                                 concurrency=SMALL_CONCURRENCY)
        check(not report.failed, f"{len(report.failed)} uploads failed, e.g. {report.failed[:1]}")
        listed = {}
        after = ""
        while True:
            page = objects.list_objects(SMALL_REPO, branch, prefix="ingest/", after=after, amount=1000)
            listed.update({o.path: o.size_bytes for o in page.results})
            if not page.pagination.has_more:
                break
            after = page.pagination.next_offset
        expected = {f"ingest/{file_name(i)}": len(content(i)) for i in range(args.count)}
        check(listed == expected, f"the branch lists {len(listed)} objects, not the {len(expected)} uploaded")
        branches.delete_branch(SMALL_REPO, branch)
        runs.append(_figures(clocks, args.count / clocks.wall))
    return median_figures(runs)


def scenario_small_download(args: argparse.Namespace) -> Figures:
    import lakefs_sdk
    from lakefs_sdk.transfer import download_many

    objects = lakefs_sdk.ObjectsApi(sdk_client())
    presign = args.variant == "presign"
    runs = []
    for number in range(args.transfers):
        folder = os.path.join(args.tmpdir, f"small-{args.variant}-{os.getpid()}-{number}")
        os.makedirs(folder)
        try:
            with Clocks(args.lakefs_pid, args.store_pid) as clocks:
                report = download_many(objects, SMALL_REPO, "main", [(SMALL_PREFIX, folder)], presign=presign,
                                       concurrency=SMALL_CONCURRENCY)
            check(not report.failed, f"{len(report.failed)} downloads failed, e.g. {report.failed[:1]}")
            check(len(os.listdir(folder)) == args.count, f"{len(os.listdir(folder))} files, not {args.count}")
            for index in range(args.count):
                with open(os.path.join(folder, file_name(index)), "rb") as file:
                    check(file.read() == content(index), f"file {index} holds the wrong bytes")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        runs.append(_figures(clocks, args.count / clocks.wall))
    return median_figures(runs)


SCENARIOS: Dict[str, Callable[[argparse.Namespace], Figures]] = {
    "setup": scenario_setup,
    "upload": scenario_upload,
    "upload-rss": scenario_upload_rss,
    "download": scenario_download,
    "upload-paired": scenario_upload_paired,
    "download-paired": scenario_download_paired,
    "small-upload": scenario_small_upload,
    "small-download": scenario_small_download,
}


def main(argv: Optional[List[str]] = None) -> int:
    """Run one scenario and print its figures as the last line of stdout."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--variant", default="ours")
    parser.add_argument("--variants", default="ours", help="paired scenarios: the variants, the first compared")
    parser.add_argument("--repo", default=BIG_REPO, help="upload: the repository (bench-slow: the throttled link)")
    parser.add_argument("--repos", default="", help="setup: the repositories to create, comma-separated")
    parser.add_argument("--file", help="the local file to upload")
    parser.add_argument("--files", help="the folder of small files")
    parser.add_argument("--count", type=int, default=2000, help="how many small files")
    parser.add_argument("--size", type=int, default=0, help="the size of --file / of the object downloaded")
    parser.add_argument("--sha256", default="", help="download: what the file's SHA-256 must be")
    parser.add_argument("--part-size", type=int, default=8 * MIB)
    parser.add_argument("--concurrency", type=int, default=8, help="parts in flight")
    parser.add_argument("--transfers", type=int, default=1, help="transfers per run (median reported)")
    parser.add_argument("--lakectl", default="", help="the lakectl binary")
    parser.add_argument("--lakefs-pid", type=int, default=0)
    parser.add_argument("--store-pid", type=int, default=0)
    parser.add_argument("--proxy-pid", type=int, default=0, help="the throttling proxy, for uploads through it")
    parser.add_argument("--tmpdir", default="/tmp")
    args = parser.parse_args(argv)
    try:
        figures = SCENARIOS[args.scenario](args)
    except BenchFailure as failure:
        print(f"BENCH FAILURE: {failure}", file=sys.stderr)
        return 1
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
