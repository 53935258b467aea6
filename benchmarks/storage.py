"""The production-storage figures (group ``storage`` of ``run.py``): lakeFS on a real S3 store.

``StorageRig`` sets up, once per harness run:

* lakectl 1.84.0, built from ``tests/lakectl/`` (a Go module of ours that only names lakeFS
  as a dependency: lakectl needs a few modules more than the server, so its ``go.sum`` is its
  own) and cached in ``.cache/lakectl/<hash of go.mod, go.sum and the Go version>/lakectl``;
* ``real_server.S3RealServer``: a SeaweedFS S3 store and a lakeFS on it that presigns;
* ``throttle_proxy.py`` in front of the store (32 MiB/s and 20 ms per connection) and a
  second lakeFS on the same store whose presigned URLs point at the proxy;
* the files: a random file of ``--size`` bytes (and one of 256 MiB for the throttled link)
  and ``--bulk-files`` files of 4 KiB, under /dev/shm when it has room;
* the repositories (``storage_worker.py setup``): ``bench-big`` with the random file
  committed (what the downloads read), ``bench-small`` with the small files committed,
  ``bench-slow`` on the throttled lakeFS.

:meth:`StorageRig.cases` lists the runs (``storage_worker.py`` in the bench venv), and
:func:`sections` turns their figures into tables and verdicts. Nothing here imports
``run.py``: it hands back plain tuples.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import bulk_worker
from real_server import S3RealServer

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
LAKECTL_MODULE = ROOT / "tests" / "lakectl"
LAKECTL_CACHE = ROOT / ".cache" / "lakectl"
LAKECTL_PACKAGE = "github.com/treeverse/lakefs/cmd/lakectl"
VERSION = "1.84.0"
MIB = 1024 * 1024
PART_SIZE = 8 * MIB
CONCURRENCY = 8  # upload_presigned's default parts in flight; the raw baseline uses the same
THROTTLE_SIZE = 256 * MIB
THROTTLE_RATE_MIB = 32.0
THROTTLE_DELAY_MS = 20.0
THROTTLE_CONCURRENCY = 4
RSS_SLACK_MIB = 32.0
# Paired in one process: these variants, one transfer each per round, the first compared with the others.
PAIRED_UPLOADS = ("ours", "raw", "lakectl")
PAIRED_DOWNLOADS = ("ours", "lakectl")
PAIRED_ROUNDS = 3

# (key, argv of storage_worker.py, environment)
CaseSpec = Tuple[str, List[str], Dict[str, str]]
Values = Callable[[str, str], Optional[List[float]]]
# (title, note, header, rows); (target, measured, met)
Section = Tuple[str, str, List[str], List[List[str]]]
VerdictSpec = Tuple[str, str, Optional[bool]]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def lakectl_binary() -> Path:
    """Build lakectl 1.84.0 unless a cached binary exists; return its path."""
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum"):
        digest.update((LAKECTL_MODULE / name).read_bytes())
    go_version = subprocess.run(["go", "env", "GOVERSION"], check=True, capture_output=True, text=True).stdout
    digest.update(go_version.strip().encode())
    target = LAKECTL_CACHE / f"{VERSION}-{digest.hexdigest()[:16]}" / "lakectl"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"lakectl.partial-{os.getpid()}")
    env = dict(os.environ, GOFLAGS="-mod=readonly",
               GONOSUMDB="github.com/treeverse/secret-detector,github.com/treeverse/delta-go")
    log(f"building lakectl {VERSION} -> {target}")
    try:
        subprocess.run(["go", "build", "-trimpath", "-ldflags",
                        f"-s -w -X github.com/treeverse/lakefs/pkg/version.Version={VERSION}",
                        "-o", str(partial), LAKECTL_PACKAGE], cwd=LAKECTL_MODULE, env=env, check=True)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def write_random(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path``; return their SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as file:
        left = size
        while left:
            block = os.urandom(min(left, 4 * MIB))
            digest.update(block)
            file.write(block)
            left -= len(block)
    return digest.hexdigest()


class StorageRig:
    """The servers, binaries and files of the storage figures, for one harness run."""

    def __init__(self, size: int, small_files: int, folder: Path, worker: Callable[[List[str], Dict[str, str]], None],
                 home: Path) -> None:
        self.size, self.small_files, self.folder, self.home = size, small_files, folder, home
        self.lakectl = lakectl_binary()
        self.proxy: Optional[subprocess.Popen[str]] = None
        log(f"writing a {size / MIB:g} MiB random file and {small_files} files of 4 KiB under {folder}")
        self.file = folder / "storage-upload.bin"
        self.sha256 = write_random(self.file, size)
        self.throttle_size = min(size, THROTTLE_SIZE)
        self.throttle_file = self.file
        if self.throttle_size != size:
            self.throttle_file = folder / "storage-throttled.bin"
            write_random(self.throttle_file, self.throttle_size)
        self.small_dir = folder / "storage-small"
        bulk_worker.write_files(str(self.small_dir), small_files)
        self.downloads = folder / "storage-downloads"
        self.downloads.mkdir()
        log(f"starting a SeaweedFS S3 store and lakeFS {VERSION} on it (built on first use)")
        self.servers = S3RealServer()
        try:
            self.proxy = subprocess.Popen(
                [sys.executable, str(BENCH_DIR / "throttle_proxy.py"), "--target",
                 self.servers.store.endpoint.split("//", 1)[1], "--rate-mib", str(THROTTLE_RATE_MIB),
                 "--delay-ms", str(THROTTLE_DELAY_MS)],
                stdout=subprocess.PIPE, text=True)
            assert self.proxy.stdout is not None
            line = self.proxy.stdout.readline()
            if not line.startswith("READY "):
                raise RuntimeError(f"the throttling proxy did not start: {line!r}")
            proxy_url = f"http://127.0.0.1:{int(line.split()[1])}"
            log(f"starting a second lakeFS whose presigned URLs go through the proxy at {proxy_url}")
            self.slow = self.servers.add_lakefs("slow", pre_signed_endpoint=proxy_url)
            log("creating the repositories and committing what the downloads read")
            worker(["setup", "--repos", "bench-big,bench-small", "--file", str(self.file), "--files",
                    str(self.small_dir)], self.env(self.servers.lake))
            worker(["setup", "--repos", "bench-slow"], self.env(self.slow))
        except BaseException:
            self.stop()
            raise

    def env(self, server: object) -> Dict[str, str]:
        """A worker's environment for ``server`` (and lakectl's HOME: an empty folder of ours)."""
        return {**self.servers.env(server), "STORAGE_HOME": str(self.home)}

    def common(self, server: object) -> List[str]:
        return ["--lakefs-pid", str(self.servers.pid(server)), "--store-pid", str(self.servers.store_pid),
                "--lakectl", str(self.lakectl), "--tmpdir", str(self.downloads)]

    def cases(self, transfers: int = 1) -> List[CaseSpec]:
        """Every run of one repeat, as ``(key, argv, env)``; the variants of a figure share its key's prefix."""
        lake, slow = self.servers.lake, self.slow
        assert self.proxy is not None
        env, slow_env = self.env(lake), self.env(slow)
        big = ["--file", str(self.file), "--size", str(self.size), "--transfers", str(transfers),
               "--part-size", str(PART_SIZE), "--concurrency", str(CONCURRENCY)]
        specs: List[CaseSpec] = []
        for variant in ("ours", "raw", "lakectl", "boto3", "upload-object"):
            specs.append((f"storage-upload:{variant}", ["upload", "--variant", variant, *big, *self.common(lake)], env))
        for variant in ("ours", "lakectl", "boto3", "ours-lakefs"):
            specs.append((f"storage-download:{variant}", ["download", "--variant", variant, "--size", str(self.size),
                                                          "--sha256", self.sha256, "--transfers", str(transfers),
                                                          *self.common(lake)], env))
        specs.append(("storage-paired-upload:ours", ["upload-paired", "--variants", ",".join(PAIRED_UPLOADS),
                                                     "--file", str(self.file), "--size", str(self.size),
                                                     "--transfers", str(PAIRED_ROUNDS),
                                                     "--part-size", str(PART_SIZE), "--concurrency", str(CONCURRENCY),
                                                     *self.common(lake)], env))
        specs.append(("storage-paired-download:ours", ["download-paired", "--variants", ",".join(PAIRED_DOWNLOADS),
                                                       "--size", str(self.size), "--sha256", self.sha256,
                                                       "--transfers", str(PAIRED_ROUNDS), *self.common(lake)], env))
        specs.append(("storage-rss:ours", ["upload-rss", "--file", str(self.file), "--size", str(self.size),
                                           *self.common(lake)], env))
        for variant in ("ours-single", "ours"):
            specs.append((f"storage-throttle:{variant}",
                          ["upload", "--variant", variant, "--repo", "bench-slow", "--file", str(self.throttle_file),
                           "--size", str(self.throttle_size), "--concurrency", str(THROTTLE_CONCURRENCY),
                           "--part-size", str(PART_SIZE), "--proxy-pid", str(self.proxy.pid), *self.common(slow)],
                          slow_env))
        small = ["--files", str(self.small_dir), "--count", str(self.small_files), "--transfers", str(transfers)]
        for direction in ("upload", "download"):
            for variant in ("presign", "lakefs"):
                specs.append((f"storage-small-{direction}:{variant}",
                              [f"small-{direction}", "--variant", variant, *small, *self.common(lake)], env))
        return specs

    def stop(self) -> None:
        """Stop the proxy, both lakeFS servers and the store (only what this rig started); delete the files."""
        if self.proxy is not None and self.proxy.poll() is None:
            self.proxy.terminate()
            try:
                self.proxy.wait(10)
            except subprocess.TimeoutExpired:
                self.proxy.kill()
                self.proxy.wait()
        if hasattr(self, "servers"):
            self.servers.stop()
        for path in (self.file, self.throttle_file):
            path.unlink(missing_ok=True)
        shutil.rmtree(self.small_dir, ignore_errors=True)
        shutil.rmtree(self.downloads, ignore_errors=True)


# -- the report ------------------------------------------------------------------------------


def _median(values: Values, key: str, metric: str) -> Optional[float]:
    found = values(key, metric)
    return statistics.median(found) if found else None


def _row(values: Values, key: str, label: str, base: Optional[str], unit_digits: int = 0,
         inverted: bool = False) -> Optional[List[str]]:
    """A table row; its ratio is ``key`` over ``base`` (``inverted``: ``base`` over ``key``)."""
    rates = values(key, "rate")
    if not rates:
        return None
    median = statistics.median(rates)
    ratio = None
    if base is not None:
        base_rate = _median(values, base, "rate")
        if base_rate:
            ratio = base_rate / median if inverted else median / base_rate
    cpu = [_median(values, key, name) or 0.0 for name in ("wall_s", "client_cpu_s", "lakefs_cpu_s", "store_cpu_s")]
    return [label, f"{median:,.{unit_digits}f}", f"{min(rates):,.{unit_digits}f}-{max(rates):,.{unit_digits}f}",
            "-" if ratio is None else f"{ratio:.2f}x", f"{cpu[0]:.2f}", f"{cpu[1]:.2f}", f"{cpu[2]:.2f}",
            f"{cpu[3]:.2f}"]


def _ratio(values: Values, key: str, base: str) -> Optional[float]:
    mine, theirs = _median(values, key, "rate"), _median(values, base, "rate")
    return mine / theirs if mine is not None and theirs else None


def _verdict(verdicts: List[VerdictSpec], target: str, ratio: Optional[float], limit: float) -> None:
    if ratio is not None:
        verdicts.append((target, f"{ratio:.2f}x", ratio >= limit))


COLUMNS = ["client", "median {unit}", "min-max", "{base}", "wall s", "client CPU s", "lakeFS CPU s", "store CPU s"]


def _columns(unit: str, base: str) -> List[str]:
    return [c.format(unit=unit, base=base) for c in COLUMNS]


def sections(values: Values, size: int, small_files: int) -> Tuple[List[Section], List[VerdictSpec]]:
    """The storage tables and the targets they judge, from the recorded figures."""
    out: List[Section] = []
    verdicts: List[VerdictSpec] = []
    size_text = f"{size / MIB:g} MiB" if size < 1024 * MIB else f"{size / 1024 / MIB:g} GiB"
    cpu_note = ("Wall time, then the CPU time of the client (this process and its children: lakectl), of lakeFS "
                "and of the store (utime + stime from `/proc/<pid>/stat`), medians over runs.")
    uploads = [
        ("ours", f"this package: `upload_presigned` (multipart, {PART_SIZE // MIB} MiB parts, "
                 f"{CONCURRENCY} in flight)"),
        ("lakectl", "lakectl 1.84.0: `fs upload --pre-sign` (its defaults: 5 MiB parts, 5 at a time)"),
        ("raw", f"raw urllib3: PUTs of the part URLs of `create_presign_multipart_upload`, {CONCURRENCY} threads"),
        ("boto3", "boto3 `upload_file` through lakeFS's S3 gateway (s3transfer defaults: 8 MiB parts, 10 threads)"),
        ("upload-object", "this package: `upload` (`upload_object` through lakeFS, one stream)"),
    ]
    rows = [r for r in (_row(values, f"storage-upload:{v}", label, None if v == "ours" else "storage-upload:ours",
                             inverted=True) for v, label in uploads) if r is not None]
    versus_lakectl = _ratio(values, "storage-upload:ours", "storage-upload:lakectl")
    versus_raw = _ratio(values, "storage-upload:ours", "storage-upload:raw")
    _verdict(verdicts, f"S1. {size_text} upload_presigned vs lakectl fs upload --pre-sign (>= 1.0x)", versus_lakectl,
             1.0)
    _verdict(verdicts, f"S1. {size_text} upload_presigned vs raw urllib3 PUTs of the part URLs (>= 0.9x)", versus_raw,
             0.9)
    for variant in ("boto3", "upload-object"):
        ratio = _ratio(values, "storage-upload:ours", f"storage-upload:{variant}")
        if ratio is not None:
            verdicts.append((f"S1. upload_presigned vs {variant} (report)", f"{ratio:.2f}x", None))
    out.append((f"S1. Upload of {size_text} to lakeFS on an S3 store",
                "MiB/s (wall) of one upload from a file in the page cache; every upload is checked with "
                "`stat_object` (size), then its data deleted from the store. The ratio column is this package's "
                f"speed over that row's (above 1: this package is faster). {cpu_note}",
                _columns("MiB/s", "this package / this"), rows))
    downloads = [
        ("ours", "this package: `download(presign=True)` to a path"),
        ("lakectl", "lakectl 1.84.0: `fs download --pre-sign` (ranged parts of 8 MiB, 10 at a time)"),
        ("boto3", "boto3 `download_file` through lakeFS's S3 gateway"),
        ("ours-lakefs", "this package: `download(presign=False)` (through lakeFS)"),
    ]
    rows = [r for r in (_row(values, f"storage-download:{v}", label,
                             None if v == "ours" else "storage-download:ours", inverted=True)
                        for v, label in downloads) if r is not None]
    _verdict(verdicts, f"S2. {size_text} download(presign=True) vs lakectl fs download --pre-sign (>= 1.0x)",
             _ratio(values, "storage-download:ours", "storage-download:lakectl"), 1.0)
    ratio = _ratio(values, "storage-download:ours", "storage-download:boto3")
    if ratio is not None:
        verdicts.append(("S2. download(presign=True) vs boto3 through the gateway (report)", f"{ratio:.2f}x", None))
    out.append((f"S2. Download of {size_text} from lakeFS on an S3 store",
                "MiB/s (wall) of one download into a file under /dev/shm (when it has room); every file's SHA-256 "
                f"is checked. The ratio column is this package's speed over that row's. {cpu_note}",
                _columns("MiB/s", "this package / this"), rows))
    paired_rows = []
    for direction, variants, limits in (("upload", PAIRED_UPLOADS, {"raw": 0.9, "lakectl": 1.0}),
                                        ("download", PAIRED_DOWNLOADS, {"lakectl": 1.0})):
        key = f"storage-paired-{direction}:ours"
        for other in variants[1:]:
            ratios = values(key, f"ratio_{other}")
            if not ratios:
                continue
            ratio = statistics.median(ratios)
            mine, theirs = _median(values, key, "ours_rate") or 0.0, _median(values, key, f"{other}_rate") or 0.0
            _verdict(verdicts, f"S1/S2. {size_text} {direction}: this package vs {other} (paired, one process, "
                     f">= {limits[other]}x)", ratio, limits[other])
            paired_rows.append([direction, other, f"{mine:,.0f}", f"{theirs:,.0f}", f"{ratio:.2f}x",
                                f"{min(ratios):.2f}-{max(ratios):.2f}", f">= {limits[other]}x"])
    out.append((f"S1b / S2b. {size_text} transfers paired in one process",
                f"This package and the other client in one process, {PAIRED_ROUNDS} rounds of one transfer each in "
                "rotating order; MiB/s are medians over all runs; the ratio (this package over the other) is "
                "computed per round, its median per run, and the median and min-max over runs shown.",
                ["transfer", "other client", "this package MiB/s", "other MiB/s", "ratio (median)", "min-max",
                 "target"], paired_rows))
    growth = values("storage-rss:ours", "rss_growth_mib")
    if growth:
        limit = _median(values, "storage-rss:ours", "limit_mib") or 0.0
        worst = max(growth)
        verdicts.append((f"S3. peak RSS of a {size_text} upload_presigned <= concurrency x part size + "
                         f"{RSS_SLACK_MIB:g} MiB ({limit:g} MiB)", f"{worst:.1f} MiB", worst <= limit))
        after = _median(values, "storage-rss:ours", "rss_after_imports_mib") or 0.0
        out.append(("S3. Memory of a multipart upload",
                    "A separate process imports the package, builds a client, asks the server's config, notes its "
                    "RSS, then runs one `upload_presigned` with the defaults; the figure is `getrusage` max RSS "
                    "minus that RSS.",
                    ["figure", "median MiB", "max MiB", "limit MiB", "RSS after imports MiB"],
                    [[f"peak RSS growth of a {size_text} upload", f"{statistics.median(growth):.1f}", f"{worst:.1f}",
                      f"{limit:g}", f"{after:.1f}"]]))
    throttle_size = min(size, THROTTLE_SIZE)
    rows = []
    for key, label, base in (
            ("storage-throttle:ours-single", "this package: `upload_presigned`, one PUT", None),
            ("storage-throttle:ours", f"this package: `upload_presigned`, {THROTTLE_CONCURRENCY} parts in flight "
             f"({PART_SIZE // MIB} MiB parts)", "storage-throttle:ours-single")):
        row = _row(values, key, label, base, 1)
        if row is not None:
            rows.append([*row, f"{_median(values, key, 'proxy_cpu_s') or 0.0:.2f}"])
    ratio = _ratio(values, "storage-throttle:ours", "storage-throttle:ours-single")
    _verdict(verdicts, f"S4. capped link: multipart ({THROTTLE_CONCURRENCY} in flight) vs one PUT (>= 3x)", ratio, 3.0)
    out.append((f"S4. Upload of {throttle_size / MIB:g} MiB over a link capped per connection",
                f"Presigned URLs of a second lakeFS on the same store point at `benchmarks/throttle_proxy.py` "
                f"({THROTTLE_RATE_MIB:g} MiB/s and {THROTTLE_DELAY_MS:g} ms per connection and direction, the Host "
                "header forwarded unchanged); lakeFS API calls are not throttled. Baseline: one PUT. "
                f"{cpu_note} The proxy is a Python process of its own: its CPU time is the last column.",
                [*_columns("MiB/s", "vs one PUT"), "proxy CPU s"], rows))
    for direction, verb in (("upload", "upload_many"), ("download", "download_many")):
        rows = [r for r in (
            _row(values, f"storage-small-{direction}:lakefs", f"`{verb}(presign=False)`: through lakeFS", None),
            _row(values, f"storage-small-{direction}:presign", f"`{verb}(presign=True)`: straight to the store",
                 f"storage-small-{direction}:lakefs")) if r is not None]
        ratio = _ratio(values, f"storage-small-{direction}:presign", f"storage-small-{direction}:lakefs")
        if ratio is not None:
            verdicts.append((f"S5. {verb} of {small_files:,} x 4 KiB, presign vs through lakeFS (report)",
                             f"{ratio:.2f}x", None))
        out.append((f"S5. {verb} of {small_files:,} files of 4 KiB, presigned or through lakeFS",
                    "Files/s (wall), 16 at a time (`concurrency=16`, a pool of 16). Uploads go to a fresh branch "
                    "that must then list every file with its size; downloads must give every file's bytes. "
                    f"{cpu_note}", _columns("files/s", "vs through lakeFS"), rows))
    return out, verdicts
