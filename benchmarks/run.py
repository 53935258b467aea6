"""Run every benchmark of this package against raw urllib3 and upstream ``lakefs-sdk==1.84.0``.

    python3 benchmarks/run.py            # full run (~15 minutes), writes docs/benchmarks.md
    python3 benchmarks/run.py --quick    # smoke run (~1.5 minutes), prints the tables only

What it does:

1. creates or reuses two git-ignored venvs with the interpreter running this script:
   ``.cache/bench-venv`` (this package, installed from the work tree, reinstalled whenever
   its sources change; also used for the raw urllib3 baseline) and
   ``.cache/bench-upstream-venv`` (``lakefs-sdk==1.84.0`` from PyPI, with the same
   urllib3 / pydantic / python-dateutil versions as the first);
2. starts ``benchmarks/server.py`` in its own process on 127.0.0.1;
3. runs every measurement ``--repeats`` times, each run in a fresh interpreter
   (``benchmarks/worker.py``), the variants of one figure interleaved so that the noise
   of a shared machine falls on all of them alike; calls, the listing and transfers are
   also measured paired (this package and raw urllib3 alternating in one process);
4. counts, under callgrind, the user-space instructions of one call (``instructions.py``;
   when valgrind is installed): a cross-check of the CPU figures that other work on the
   machine cannot move;
5. prints the median, min-max and ratio to the baseline of each figure, and writes the
   same tables, with the machine and versions they were measured on, to ``--output``.

A run whose result is wrong (a byte missing from a transfer, an unexpected answer) stops
the harness with a non-zero exit. Benchmarks are not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import bulk_worker
import instructions
import real_server
import storage
from real_server import RealServer

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
BENCH_VENV = ROOT / ".cache" / "bench-venv"
UPSTREAM_VENV = ROOT / ".cache" / "bench-upstream-venv"
UPSTREAM_REQUIREMENT = "lakefs-sdk==1.84.0"
# The bench venv installs this package with its asyncio extra (aiohttp: the raw aiohttp baseline too) and its
# s3 extra (boto3: the S3-gateway rows of the storage group).
BENCH_EXTRAS = "[aio,s3]"
SHARED_DEPENDENCIES = ("urllib3", "pydantic", "pydantic-core", "python-dateutil", "typing-extensions")
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"
GIB = 1024**3
MIB = 1024**2
WORKER_TIMEOUT = 1800.0
THREAD_COUNTS = (1, 4, 16)
# stat_object calls in flight at once on one event loop (issue 12), and where the sync client's threads compare.
AIO_CONCURRENCY = (1, 16, 64)
AIO_THREADS = 16
AIO_ROUNDS = 3
AIO_PAIRED_ROUNDS = 16  # cycles: each variant makes this many rounds of calls
# Bulk transfers on the real lakeFS (issue 13): files of 4 KiB, calls in flight, whole transfers per run.
BULK_FILES = 2000
BULK_CONCURRENCY = 16
BULK_TRANSFERS = 3
POOL_MAXSIZE = 16
TRANSFERS_PER_RUN = 3
# Short figures (imports, call loops, the listing) get this many runs per repeat.
RUNS_PER_REPEAT = 3

# Targets from the issue: (ratio limit, whether the figure must stay below or above it).
IMPORT_TARGET = 1.25
CALL_TARGET = 1.15
LISTING_TARGET = 1.25
THROUGHPUT_TARGET = 0.9
BULK_SPEEDUP_TARGET = 8.0
RSS_TARGET_MIB = 32.0


# -- running things ------------------------------------------------------------------------


def log(message: str) -> None:
    """Progress on stderr, so stdout carries only the tables."""
    print(message, file=sys.stderr, flush=True)


def child_env() -> Dict[str, str]:
    """The environment for every child: ours, minus anything that changes what Python imports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONHASHSEED"] = "0"  # same dict layouts in every run: less variance between processes
    return env


def venv_python(venv: Path) -> str:
    """The python executable of ``venv``."""
    return str(venv / "bin" / "python")


def pip(venv: Path, *arguments: str) -> None:
    """Run pip of ``venv`` quietly; raise on failure."""
    command = [venv_python(venv), "-m", "pip", "--disable-pip-version-check", "--quiet", *arguments]
    subprocess.run(command, check=True, cwd=ROOT, env=child_env())


def source_hash() -> str:
    """A digest of the package sources, pyproject.toml and the extras installed: the bench venv is
    reinstalled when it changes."""
    digest = hashlib.sha256(BENCH_EXTRAS.encode())
    files = [*sorted((ROOT / "lakefs_sdk").rglob("*.py")), ROOT / "pyproject.toml"]
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_bench_venv() -> None:
    """Create ``.cache/bench-venv`` with this package (not editable), reinstalling it when its sources changed."""
    marker = BENCH_VENV / "lakefs-sdk-source.sha256"
    wanted = source_hash()
    build_tree = ROOT / "build"
    had_build_tree = build_tree.exists()
    if not Path(venv_python(BENCH_VENV)).exists():
        log(f"creating {BENCH_VENV.relative_to(ROOT)}")
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True, env=child_env())
        pip(BENCH_VENV, "install", "--upgrade", "pip", "setuptools>=69", "wheel")
        pip(BENCH_VENV, "install", "--no-build-isolation", "." + BENCH_EXTRAS)
        marker.write_text(wanted)
    elif not marker.exists() or marker.read_text() != wanted:
        log(f"reinstalling this package into {BENCH_VENV.relative_to(ROOT)} (sources changed)")
        pip(BENCH_VENV, "install", "--no-build-isolation", "--no-deps", "--force-reinstall", ".")
        pip(BENCH_VENV, "install", "--no-build-isolation", "." + BENCH_EXTRAS)  # picks up any new dependency
        marker.write_text(wanted)
    if not had_build_tree:
        shutil.rmtree(build_tree, ignore_errors=True)  # left by setuptools' in-tree build


def package_versions(venv: Path) -> Dict[str, str]:
    """Installed versions of lakefs-sdk and the shared dependencies in ``venv``."""
    names = ("lakefs-sdk", *SHARED_DEPENDENCIES, "aiohttp")
    code = (
        "import json, importlib.metadata as m\n"
        f"names = {names!r}\n"
        "out = {}\n"
        "for n in names:\n"
        "    try:\n"
        "        out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError:\n"
        "        pass\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [venv_python(venv), "-c", code], check=True, capture_output=True, text=True, cwd="/", env=child_env()
    )
    versions: Dict[str, str] = json.loads(done.stdout)
    return versions


def ensure_upstream_venv(pins: Dict[str, str]) -> None:
    """Create ``.cache/bench-upstream-venv`` with upstream lakefs-sdk and the bench venv's dependency versions."""
    if not Path(venv_python(UPSTREAM_VENV)).exists():
        log(f"creating {UPSTREAM_VENV.relative_to(ROOT)} with {UPSTREAM_REQUIREMENT}")
        subprocess.run([sys.executable, "-m", "venv", str(UPSTREAM_VENV)], check=True, env=child_env())
    have = package_versions(UPSTREAM_VENV)
    wanted = {name: pins[name] for name in SHARED_DEPENDENCIES if name in pins}
    if have.get("lakefs-sdk") != "1.84.0" or any(have.get(k) != v for k, v in wanted.items()):
        log(f"installing {UPSTREAM_REQUIREMENT} into {UPSTREAM_VENV.relative_to(ROOT)}")
        pip(UPSTREAM_VENV, "install", UPSTREAM_REQUIREMENT, *(f"{k}=={v}" for k, v in wanted.items()))


class Server:
    """The loopback server (benchmarks/server.py) in its own process."""

    def __init__(self, object_size: int, listing_entries: int = 1000) -> None:
        command = [
            sys.executable,
            str(BENCH_DIR / "server.py"),
            "--object-size",
            str(object_size),
            "--listing-entries",
            str(listing_entries),
            "--max-seconds",
            "10800",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=child_env())
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"bench server did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def stop(self) -> None:
        """Stop the server process (only the one this object started)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class MachineLoad:
    """How busy the machine was with other work while the harness ran.

    The load average counts the harness's own processes too (a client and a server keep
    about 2 runnable), so the figure reported is the CPU time of the whole machine
    (``/proc/stat``) minus this process's and its children's (``getrusage``; every child
    is waited for), as cores kept busy on average; the 1-minute load average is sampled
    before each run for information.
    """

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.busy0 = self._machine_busy()
        self.own0 = self._own_cpu()
        self.load: List[float] = [os.getloadavg()[0]]

    @staticmethod
    def _machine_busy() -> float:
        try:
            with open("/proc/stat", encoding="ascii") as stat:
                fields = [int(v) for v in stat.readline().split()[1:]]
        except OSError:
            return 0.0
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # guest time is inside user already

    @staticmethod
    def _own_cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    def sample(self) -> None:
        """Note the 1-minute load average now."""
        self.load.append(os.getloadavg()[0])

    def describe(self) -> str:
        """One line for the document."""
        wall = max(time.monotonic() - self.started, 1e-9)
        others = (self._machine_busy() - self.busy0) - (self._own_cpu() - self.own0)
        self.sample()
        return (f"Load: other work on the machine kept {max(0.0, others) / wall:.2f} of its {os.cpu_count()} "
                f"cores busy on average during this run (machine CPU time from /proc/stat minus the harness's "
                f"own); the 1-minute load average, the harness's own processes included, was "
                f"{self.load[0]:.2f} at the start, {self.load[-1]:.2f} at the end, at most {max(self.load):.2f} "
                f"(sampled before each run).")


# -- what is measured ------------------------------------------------------------------------


@dataclass
class Case:
    """One figure's variant: a command run once per repeat in a fresh process."""

    key: str
    venv: Path
    argv: List[str]
    kind: str = "worker"  # "worker": worker.py prints JSON figures; "import": wall time of the command
    runs: int = 1  # runs per repeat (imports are short and noisy: more of them)
    values: Dict[str, List[float]] = field(default_factory=dict)
    env: Dict[str, str] = field(default_factory=dict)  # added to the child's environment
    script: str = "worker.py"  # the benchmarks/ script a "worker" case runs


@dataclass
class Settings:
    """What this invocation measures, from the command line."""

    repeats: int
    calls: int
    size: int
    groups: Tuple[str, ...]
    upstream: bool
    tmpdir: Path
    download_dir: Path
    upload_file: Optional[Path] = None
    bulk_files: int = BULK_FILES
    bulk_dir: Optional[Path] = None  # the local files to upload
    lake: Optional[RealServer] = None  # the real lakeFS of the bulk figures
    bulk_ours: bool = True  # whether this package has upload_many, download_many and delete_many
    storage_rig: Optional[storage.StorageRig] = None  # the S3 store, lakeFS servers and files of the storage group


IMPORTS: Dict[str, Tuple[Path, str]] = {
    "import:baseline": (BENCH_VENV, "import urllib3, pydantic, dateutil"),
    "import:python": (BENCH_VENV, "pass"),
    "import:ours": (BENCH_VENV, "import lakefs_sdk"),
    "import:ours-used": (
        BENCH_VENV,
        "import lakefs_sdk; lakefs_sdk.ApiClient; lakefs_sdk.BranchesApi; lakefs_sdk.ObjectsApi; "
        "lakefs_sdk.ObjectStatsList",
    ),
    "import:upstream": (UPSTREAM_VENV, "import lakefs_sdk"),
}
AIO_IMPORTS: Dict[str, Tuple[Path, str]] = {
    "aio-import:baseline": (BENCH_VENV, "import aiohttp, pydantic"),
    "aio-import:ours": (BENCH_VENV, "import lakefs_sdk.aio"),
    "aio-import:ours-used": (
        BENCH_VENV,
        "import lakefs_sdk.aio; lakefs_sdk.aio.AsyncApiClient; lakefs_sdk.aio.ObjectsApi; lakefs_sdk.ObjectStats",
    ),
}
CALL_OPERATIONS = ("get_branch", "create_branch", "commit")
RAW_TIMEOUT_LABEL = "raw urllib3, with this package's default timeouts (info)"
TIMEOUT_NOTE = (
    "This package sets a connect (10 s) and read (60 s) timeout by default, and a CPython socket with a "
    "timeout polls before every `recv` and `send`; the info row gives the raw urllib3 pool the same "
    "timeouts, to tell the cost of the timeouts from the SDK's own. Targets are against plain raw urllib3."
)


def build_cases(settings: Settings, url: str) -> List[Case]:
    """Every (figure, variant) this run measures, in the order they run within one repeat."""
    cases: List[Case] = []
    want = settings.groups

    def transfers(variant: str) -> int:
        # Upstream holds whole bodies in memory and is ten times slower: one transfer per run.
        return 1 if variant == "upstream" else TRANSFERS_PER_RUN

    def variants(*names: str) -> List[str]:
        return [n for n in names if settings.upstream or n != "upstream"]

    def worker(key: str, variant: str, *arguments: str, runs: int = 1, env: Optional[Dict[str, str]] = None) -> None:
        venv = UPSTREAM_VENV if variant == "upstream" else BENCH_VENV
        # Common options first: a scenario's own (e.g. --tmpdir for downloads) come later and win.
        argv = ["--variant", variant, "--url", url, "--tmpdir", str(settings.tmpdir), *arguments]
        if variant != "raw":
            argv += ["--package-prefix", str(venv)]
        cases.append(Case(key, venv, argv, runs=runs, env=env or {}))

    if "import" in want:
        for key, (venv, code) in IMPORTS.items():
            if venv == UPSTREAM_VENV and not settings.upstream:
                continue
            cases.append(Case(key, venv, ["-c", code], kind="import", runs=RUNS_PER_REPEAT))
    if "calls" in want:
        for operation in CALL_OPERATIONS:
            for variant in variants("raw", "raw-timeout", "ours", "upstream"):
                worker(f"call:{operation}:{variant}", variant, "call", "--operation", operation,
                       "--calls", str(settings.calls), runs=RUNS_PER_REPEAT)
    if "calls" in want:
        for operation in CALL_OPERATIONS:
            worker(f"paired:{operation}:ours", "ours", "paired", "--operation", operation,
                   "--calls", str(2 * settings.calls), runs=RUNS_PER_REPEAT)
    if "listing" in want:
        worker("paired:list_objects:ours", "ours", "paired", "--operation", "list_objects",
               "--calls", str(max(40, settings.calls // 5)), "--batches", "20", runs=RUNS_PER_REPEAT)

        listing_calls = max(20, settings.calls // 10)
        for variant in variants("floor", "ours", "raw", "upstream"):
            # upstream takes ~10x as long per call: fewer calls, same figure (per call)
            calls = max(10, listing_calls // 4) if variant == "upstream" else listing_calls
            worker(f"listing:{variant}", variant, "listing", "--calls", str(calls), runs=RUNS_PER_REPEAT)
    if "upload" in want:
        assert settings.upload_file is not None
        for variant in variants("raw", "raw-timeout", "ours", "upstream"):
            worker(f"upload:{variant}", variant, "upload", "--file", str(settings.upload_file),
                   "--transfers", str(transfers(variant)))
    if "download" in want:
        for to in ("path", "iter"):
            for variant in variants("raw", "raw-timeout", "ours", *(("upstream",) if to == "path" else ())):
                worker(f"download-{to}:{variant}", variant, "download", "--to", to, "--size", str(settings.size),
                       "--tmpdir", str(settings.download_dir), "--transfers", str(transfers(variant)))
    for group, to in (("upload", "upload"), ("download", "path"), ("download", "iter")):
        if group in want:
            extra = ["--file", str(settings.upload_file)] if to == "upload" else [
                "--size", str(settings.size), "--tmpdir", str(settings.download_dir)]
            worker(f"paired-transfer:{to}:ours", "ours", "paired-transfer", "--to", to, *extra,
                   "--transfers", str(TRANSFERS_PER_RUN))
    if "aio-import" in want:
        for key, (venv, code) in AIO_IMPORTS.items():
            cases.append(Case(key, venv, ["-c", code], kind="import", runs=RUNS_PER_REPEAT))
    if "aio-calls" in want:
        for concurrency in AIO_CONCURRENCY:
            common = ["--concurrency", str(concurrency), "--calls", str(settings.calls)]
            for variant in ("raw", "ours", *(("ours-sync",) if concurrency == AIO_THREADS else ())):
                worker(f"aio-calls-{concurrency}:{variant}", variant, "aio-calls", *common,
                       "--rounds", str(AIO_ROUNDS))
        for concurrency in AIO_CONCURRENCY:
            threads = ["--with-threads"] if concurrency == AIO_THREADS else []
            worker(f"aio-paired-{concurrency}:ours", "ours", "aio-paired", "--concurrency", str(concurrency),
                   "--calls", str(settings.calls), "--rounds", str(AIO_PAIRED_ROUNDS), *threads)
    if "aio-transfer" in want:
        assert settings.upload_file is not None
        for to in ("upload", "path", "iter"):
            extra = ["--file", str(settings.upload_file)] if to == "upload" else [
                "--size", str(settings.size), "--tmpdir", str(settings.download_dir)]
            for variant in ("raw", "ours"):
                worker(f"aio-{to}:{variant}", variant, "aio-transfer", "--to", to, *extra,
                       "--transfers", str(TRANSFERS_PER_RUN))
    if "bulk" in want:
        assert settings.lake is not None and settings.bulk_dir is not None
        lake = settings.lake
        common = ["--files", str(settings.bulk_dir), "--count", str(settings.bulk_files), "--server-pid",
                  str(lake.pid), "--concurrency", str(BULK_CONCURRENCY)]
        ours = ("ours",) if settings.bulk_ours else ()
        for direction in ("upload", "download"):
            for variant in variants("raw", *ours, "upstream"):
                worker(f"bulk-{direction}:{variant}", variant, f"bulk-{direction}", *common, "--transfers",
                       str(1 if variant == "upstream" else BULK_TRANSFERS), env=lake.env())
            if settings.bulk_ours:
                worker(f"bulk-paired-{direction}:ours", "ours", "bulk-paired", "--to", direction, *common,
                       "--transfers", str(2 * BULK_TRANSFERS), env=lake.env())
        for variant in ("ours-each", *ours):
            worker(f"bulk-delete:{variant}", variant, "bulk-delete", *common, "--transfers",
                   str(1 if variant == "ours-each" else BULK_TRANSFERS), env=lake.env())
    if "storage" in want:
        assert settings.storage_rig is not None
        for key, argv, env in settings.storage_rig.cases():
            cases.append(Case(key, BENCH_VENV, argv, env=env, script="storage_worker.py"))
    if "threads" in want:
        for threads in THREAD_COUNTS:
            for variant in variants("raw", "ours", "upstream"):
                worker(f"threads-{threads}:{variant}", variant, "threads", "--threads", str(threads),
                       "--calls", str(settings.calls), "--rounds", "3", "--pool-maxsize", str(POOL_MAXSIZE))
    return cases


def schedule(cases: Sequence[Case], repeat: int) -> List[Case]:
    """The runs of one repeat: figure by figure, each figure's variants interleaved.

    A figure whose cases have ``runs`` > 1 gets that many passes over its variants. Which
    variant goes first rotates from one repeat to the next, so that no effect of the order
    (of the runs before, of the page cache) always falls on the same variant.
    """
    figures: Dict[str, List[Case]] = {}
    for case in cases:
        figures.setdefault(case.key.rsplit(":", 1)[0], []).append(case)
    ordered: List[Case] = []
    for group in figures.values():
        shift = repeat % len(group)
        group = group[shift:] + group[:shift]
        for run in range(max(case.runs for case in group)):
            ordered += [case for case in group if run < case.runs]
    return ordered


def run_case(case: Case, tmpdir: Path) -> None:
    """Run ``case`` once in a fresh process and record its figures."""
    python = venv_python(case.venv)
    if case.kind == "import":
        started = time.perf_counter()
        subprocess.run([python, *case.argv], check=True, cwd=tmpdir, env=child_env())
        case.values.setdefault("wall_ms", []).append((time.perf_counter() - started) * 1000)
        return
    command = [python, str(BENCH_DIR / case.script), *case.argv]
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=tmpdir, env={**child_env(), **case.env}, timeout=WORKER_TIMEOUT
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"benchmark run failed: {case.key} ({' '.join(command)})")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    for name, value in figures.items():
        case.values.setdefault(name, []).append(float(value))


def start_bulk(settings: Settings) -> None:
    """Start the real lakeFS, write the local files and commit the same files to a repository's main."""
    check = "from lakefs_sdk.transfer import upload_many, download_many, delete_many"
    settings.bulk_ours = subprocess.run([venv_python(BENCH_VENV), "-c", check], capture_output=True, cwd="/",
                                        env=child_env()).returncode == 0
    if not settings.bulk_ours:
        log("lakefs_sdk.transfer has no upload_many/download_many/delete_many yet: "
            "the bulk figures run without this package's rows")
    log(f"starting lakeFS {real_server.VERSION} for the bulk figures (builds it on first use)")
    settings.lake = RealServer()
    settings.bulk_dir = settings.tmpdir / "bulk-files"
    bulk_worker.write_files(str(settings.bulk_dir), settings.bulk_files)
    setup = Case("bulk-setup", BENCH_VENV, ["bulk-setup", "--variant", "raw", "--url", settings.lake.endpoint,
                                            "--files", str(settings.bulk_dir), "--count", str(settings.bulk_files)],
                 env=settings.lake.env())
    log(f"committing {settings.bulk_files} files of 4 KiB to the bulk repository")
    run_case(setup, settings.tmpdir)


def count_instructions(settings: Settings, url: str) -> Dict[str, float]:
    """Instructions per call from callgrind, when asked for and valgrind is installed."""
    if "instructions" not in settings.groups:
        return {}
    if not instructions.available():
        log("valgrind is not installed: no instruction counts (apt-get install valgrind)")
        return {}
    log("counting instructions per call under callgrind (a few minutes)")
    return instructions.measure(venv_python(BENCH_VENV), BENCH_DIR / "worker.py", url, settings.tmpdir, child_env(),
                                str(BENCH_VENV))


def download_parent(requested: Optional[Path], size: int) -> Optional[str]:
    """Where download targets go: ``requested``, else /dev/shm when it has room, else the temp dir.

    On this kind of VM, writing a fresh GiB into the page cache of a disk file system now and
    then costs the writer a second or two of kernel time (fresh guest pages), whichever client
    writes; tmpfs does not show these spikes, so the comparison of clients is steadier there.
    """
    if requested is not None:
        return str(requested)
    shm = Path("/dev/shm")
    try:
        if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 2 * size + 256 * MIB:
            return str(shm)
    except OSError:
        pass
    return None


def make_upload_file(directory: Path, size: int) -> Path:
    """A file of ``size`` random bytes (not compressible, not sparse) to upload."""
    path = directory / "upload.bin"
    with open(path, "wb") as file:
        left = size
        while left:
            block = os.urandom(min(left, 4 * MIB))
            file.write(block)
            left -= len(block)
    return path


# -- reporting -------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of a result table."""

    cells: List[str]


@dataclass
class Verdict:
    """One target of the issue and whether this run met it."""

    target: str
    measured: str
    met: Optional[bool]


class Report:
    """Builds the result tables and the target summary from the recorded figures."""

    def __init__(self, cases: Sequence[Case]) -> None:
        self.cases = {case.key: case for case in cases}
        self.sections: List[Tuple[str, str, List[str], List[Row]]] = []
        self.verdicts: List[Verdict] = []

    def values(self, key: str, metric: str) -> Optional[List[float]]:
        """All values of ``metric`` recorded for ``key``, or None if it did not run."""
        case = self.cases.get(key)
        if case is None or metric not in case.values:
            return None
        return case.values[metric]

    def median(self, key: str, metric: str) -> Optional[float]:
        """The median of ``metric`` for ``key``, or None."""
        values = self.values(key, metric)
        return statistics.median(values) if values else None

    def spread(self, key: str, metric: str, digits: int) -> Tuple[str, str]:
        """``(median, "min-max")`` formatted with ``digits`` decimals."""
        values = self.values(key, metric)
        if not values:
            return "-", "-"
        return f"{statistics.median(values):,.{digits}f}", f"{min(values):,.{digits}f}-{max(values):,.{digits}f}"

    def ratio(self, key: str, baseline: str, metric: str) -> Optional[float]:
        """median(key) / median(baseline) for ``metric``."""
        value, base = self.median(key, metric), self.median(baseline, metric)
        if value is None or base is None or base == 0:
            return None
        return value / base

    def section(self, title: str, note: str, header: List[str], rows: List[Row]) -> None:
        """Add a table."""
        if rows:
            self.sections.append((title, note, header, rows))

    def verdict(self, target: str, ratio: Optional[float], limit: float, below: bool, unit: str = "x") -> str:
        """Record whether ``ratio`` meets ``limit``; return the status cell."""
        if ratio is None:
            return "-"
        met = ratio <= limit if below else ratio >= limit
        shown = f"{ratio:.2f}{unit}" if unit == "x" else f"{ratio:.1f} {unit}"
        self.verdicts.append(Verdict(target, shown, met))
        return "met" if met else "**missed**"


def _ratio_cell(ratio: Optional[float]) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def build_report(cases: Sequence[Case], settings: Settings, counts: Dict[str, float]) -> Report:
    """All tables of this run (``counts``: instructions per call from callgrind, possibly empty)."""
    report = Report(cases)
    _import_section(report)
    _call_section(report)
    _listing_section(report)
    _paired_section(report)
    _instruction_section(report, counts)
    _transfer_sections(report, settings)
    _paired_transfer_section(report)
    _thread_section(report)
    _aio_import_section(report)
    _aio_call_section(report)
    _aio_paired_section(report)
    _aio_transfer_section(report, settings)
    _bulk_sections(report, settings)
    _storage_sections(report, settings)
    return report


def _storage_sections(report: Report, settings: Settings) -> None:
    """The production-storage tables (``storage.sections``) and their targets."""
    if "storage" not in settings.groups:
        return
    found, verdicts = storage.sections(report.values, settings.size, settings.bulk_files)
    for title, note, header, rows in found:
        report.section(title, note, header, [Row(cells) for cells in rows])
    report.verdicts += [Verdict(target, measured, met) for target, measured, met in verdicts]


def start_storage(settings: Settings) -> None:
    """Build lakectl, start the S3 store, both lakeFS servers and the proxy, write the files, make the repositories."""

    def setup(argv: List[str], env: Dict[str, str]) -> None:
        run_case(Case("storage-setup", BENCH_VENV, argv, env=env, script="storage_worker.py"), settings.tmpdir)

    home = settings.tmpdir / "storage-home"
    home.mkdir(exist_ok=True)
    settings.storage_rig = storage.StorageRig(settings.size, settings.bulk_files, settings.download_dir, setup, home)


def _import_section(report: Report) -> None:
    base = "import:baseline"
    labels = {
        "import:baseline": ("`import urllib3, pydantic, dateutil`", "baseline"),
        "import:python": ("`pass` (interpreter start-up alone)", "info"),
        "import:ours": ("this package: `import lakefs_sdk`", f"<= {IMPORT_TARGET}x"),
        "import:ours-used": ("this package: `import lakefs_sdk` + ApiClient, BranchesApi, ObjectsApi, "
                             "ObjectStatsList looked up", "info"),
        "import:upstream": ("upstream 1.84.0: `import lakefs_sdk`", "info"),
    }
    rows = []
    for key, (label, target) in labels.items():
        if report.values(key, "wall_ms") is None:
            continue
        median, span = report.spread(key, "wall_ms", 1)
        ratio = report.ratio(key, base, "wall_ms")
        status = ""
        if key == "import:ours":
            status = report.verdict("1. import lakefs_sdk vs urllib3+pydantic+dateutil", ratio, IMPORT_TARGET, True)
        rows.append(Row([label, median, span, _ratio_cell(ratio), target, status]))
    report.section(
        "1. Import time",
        "Wall time of `python -c CODE` in a fresh process (interpreter start-up included, byte-code cached), "
        "in ms. Baseline: the dependencies alone, in the same venv.",
        ["python -c ...", "median ms", "min-max", "vs baseline", "target", "status"],
        rows,
    )


def _call_section(report: Report) -> None:
    rows = []
    names = {"raw": "raw urllib3 + json", "raw-timeout": RAW_TIMEOUT_LABEL + " + json", "ours": "this package",
             "upstream": "upstream 1.84.0"}
    for operation in CALL_OPERATIONS:
        base = f"call:{operation}:raw"
        for variant in ("raw", "raw-timeout", "ours", "upstream"):
            key = f"call:{operation}:{variant}"
            if report.values(key, "cpu_us") is None:
                continue
            median, span = report.spread(key, "cpu_us", 0)
            wall, _ = report.spread(key, "wall_us", 0)
            ratio = report.ratio(key, base, "cpu_us")
            target, status = ("baseline", "") if variant == "raw" else ("info", "")
            if variant == "ours" and operation in ("get_branch", "create_branch"):
                target = f"<= {CALL_TARGET}x"
                status = report.verdict(f"2. {operation} client CPU vs raw urllib3 (separate processes)", ratio,
                                        CALL_TARGET, True)
            rows.append(Row([f"`{operation}`", names[variant], median, span, _ratio_cell(ratio), wall, target,
                             status]))
    report.section(
        "2. Call overhead",
        "Client CPU time per call (user + system of the client process, `time.process_time`), in µs, over "
        "a loop of calls after a warm-up; the server's CPU is in another process and not counted. Wall µs "
        "is shown for information. The raw baseline sends the same request (same headers, a body made "
        "with `json.dumps`) through a urllib3 `PoolManager` and decodes the answer with `json.loads` "
        "(`create_branch` answers text). The SDK variants build the body model per call, as a caller does. "
        + TIMEOUT_NOTE,
        ["operation", "client", "median µs CPU", "min-max", "vs raw", "median µs wall", "target", "status"],
        rows,
    )


def _paired_section(report: Report) -> None:
    rows = []
    for operation in (*CALL_OPERATIONS, "list_objects"):
        key = f"paired:{operation}:ours"
        ratios = report.values(key, "ratio")
        if ratios is None:
            continue
        listing = operation == "list_objects"
        unit, scale, digits = ("ms", 1000.0, 2) if listing else ("µs", 1.0, 0)
        base_name = "floor" if listing else "raw"
        base = statistics.median(report.values(key, f"{base_name}_us") or [0.0]) / scale
        ours = statistics.median(report.values(key, "ours_us") or [0.0]) / scale
        raw_cell = "-"
        if listing:
            raw_cell = f"{statistics.median(report.values(key, 'raw_us') or [0.0]) / 1000:.2f} ms"
        ratio = statistics.median(ratios)
        span = f"{min(ratios):.2f}-{max(ratios):.2f}"
        target, status = "info", ""
        if operation in ("get_branch", "create_branch"):
            target = f"<= {CALL_TARGET}x"
            status = report.verdict(f"2. {operation} client CPU vs raw urllib3 (paired, one process)", ratio,
                                    CALL_TARGET, True)
        elif listing:
            target = f"<= {LISTING_TARGET}x"
            status = report.verdict("3. list_objects vs model_validate_json (paired, one process)", ratio,
                                    LISTING_TARGET, True)
        baseline_label = "`model_validate_json` alone" if listing else "raw urllib3 + json"
        rows.append(Row([f"`{operation}`", baseline_label, f"{base:,.{digits}f} {unit}",
                         f"{ours:,.{digits}f} {unit}", raw_cell, f"{ratio:.2f}x", span, target, status]))
    report.section(
        "2b / 3b. Call overhead and deserialization, paired in one process",
        "The same figures measured the steadier way: this package and its baseline in one process "
        "(the bench venv), alternating batches of calls (40 batches; 20 for the listing), client CPU per "
        "call of the median batch; the ratio is computed per run, and its median and min-max over runs "
        "are shown. Separate processes on this VM differ by tens of percent for reasons outside them "
        "(see the min-max columns above); inside one process the same noise falls on both variants. "
        "For the listing, raw urllib3 GET + `model_validate_json` is shown too: the HTTP receive of the "
        "~340 kB body is a cost the SDK cannot avoid.",
        ["operation", "baseline", "baseline CPU/call", "this package CPU/call", "raw GET + validate",
         "ratio (median)", "min-max", "target", "status"],
        rows,
    )


def _instruction_section(report: Report, counts: Dict[str, float]) -> None:
    rows = []
    for operation, _, _, _ in instructions.FIGURES:
        ours = counts.get(f"{operation}:ours")
        if ours is None:
            continue
        listing = operation == "list_objects"
        base = counts[f"{operation}:{'floor' if listing else 'raw'}"]
        ratio = ours / base
        raw_cell = f"{counts[f'{operation}:raw'] / 1e6:.2f} M" if listing else "-"
        target, status = "info", ""
        if operation in ("get_branch", "create_branch"):
            target = f"<= {CALL_TARGET}x"
            status = report.verdict(f"2. {operation} instructions vs raw urllib3 (callgrind)", ratio, CALL_TARGET,
                                    True)
        elif listing:
            target = f"<= {LISTING_TARGET}x"
            status = report.verdict("3. list_objects instructions vs model_validate_json (callgrind)", ratio,
                                    LISTING_TARGET, True)
        rows.append(Row([f"`{operation}`", "`model_validate_json` alone" if listing else "raw urllib3 + json",
                         f"{base / 1e6:.3f} M", f"{ours / 1e6:.3f} M", raw_cell, f"{ratio:.2f}x", target, status]))
    report.section(
        "2c / 3c. Instructions per call, counted by callgrind",
        "User-space instructions executed per call (millions), counted by `valgrind --tool=callgrind` over "
        "two runs of different lengths and differenced, so that start-up, imports and set-up cancel out; "
        "hash randomisation fixed. Unlike CPU time, these counts do not move with other work on the "
        "machine. They leave out the kernel's work (system calls, the socket receive, page faults), which "
        "the CPU figures include.",
        ["operation", "baseline", "baseline instructions", "this package", "raw GET + validate", "ratio",
         "target", "status"],
        rows,
    )


def _listing_section(report: Report) -> None:
    base = "listing:floor"
    labels = {
        "floor": "`ObjectStatsList.model_validate_json(body)` alone",
        "ours": "this package: `list_objects()`",
        "raw": "raw urllib3 GET + `model_validate_json`",
        "upstream": "upstream 1.84.0: `list_objects()`",
    }
    rows = []
    for variant, label in labels.items():
        key = f"listing:{variant}"
        if report.values(key, "cpu_ms") is None:
            continue
        median, span = report.spread(key, "cpu_ms", 2)
        ratio = report.ratio(key, base, "cpu_ms")
        target, status = ("baseline", "") if variant == "floor" else ("info", "")
        if variant == "ours":
            target = f"<= {LISTING_TARGET}x"
            status = report.verdict("3. list_objects (1,000 entries) vs model_validate_json (separate processes)",
                                    ratio, LISTING_TARGET, True)
        rows.append(Row([label, median, span, _ratio_cell(ratio), target, status]))
    report.section(
        "3. Deserialization: 1,000-entry `list_objects`",
        "Client CPU per call in ms. The server answers a 1,000-entry `ObjectStatsList` (about 340 kB of "
        "JSON). Baseline: this package's `ObjectStatsList.model_validate_json` on the same bytes, with no "
        "HTTP at all; the API method's figure includes receiving the body.",
        ["what", "median ms CPU", "min-max", "vs baseline", "target", "status"],
        rows,
    )


def _size_text(size: int) -> str:
    return f"{size / GIB:g} GiB" if size >= GIB else f"{size / MIB:g} MiB"


def _transfer_sections(report: Report, settings: Settings) -> None:
    size = _size_text(settings.size)
    specs = [
        ("upload", "4. Streaming upload", "`upload_object(content=path)`", "4. upload",
         "raw urllib3 streams the file as the body in 1 MiB reads (`Content-Length`, octet-stream); this "
         "package's `upload_object` sends it as `multipart/form-data` streamed from the path; upstream "
         "1.84.0 reads the whole file into memory and builds the whole multipart body before sending "
         "(its peak RSS is therefore at least twice the file). The server counts every received byte and "
         "checks the multipart framing; the run fails unless the content size it saw equals the file size."),
        ("download-path", "5a. Streaming download to a path", "`get_object_without_preload_content().write_to(path)`",
         "5. download to a path",
         "raw urllib3 `stream(1 MiB)` into a file; this package writes the streamed body to the path "
         "(atomically, through a file that becomes the target once complete); upstream 1.84.0 has no "
         "streaming download: `get_object` returns the whole body as bytes, written to the file "
         "afterwards. The run fails unless the file has every byte, sampled at 64 offsets against the "
         "server's pattern."),
        ("download-iter", "5b. Streaming download, iterated in chunks", "`iter_bytes()`",
         "5. download iterated",
         "raw urllib3 `stream(1 MiB)`; this package's `RESTResponse.iter_bytes()` (1 MiB chunks); each "
         "chunk's first and last byte are checked. Upstream 1.84.0 has no API to iterate a body (n/a)."),
    ]
    for group, title, ours_label, target_name, note in specs:
        base = f"{group}:raw"
        rows = []
        for variant, label in (("raw", "raw urllib3"), ("raw-timeout", RAW_TIMEOUT_LABEL),
                               ("ours", f"this package: {ours_label}"),
                               ("upstream", "upstream 1.84.0 (whole body in memory)")):
            key = f"{group}:{variant}"
            if report.values(key, "mib_s") is None:
                continue
            median, span = report.spread(key, "mib_s", 0)
            ratio = report.ratio(key, base, "mib_s")
            rss = report.values(key, "rss_growth_mib") or [0.0]
            cpu, _ = report.spread(key, "cpu_s", 2)
            rss_cell = f"{statistics.median(rss):,.1f} (max {max(rss):,.1f})"
            status = ""
            if variant == "ours":
                throughput = report.verdict(f"{target_name}: throughput vs raw urllib3 (separate processes)",
                                            ratio, THROUGHPUT_TARGET, False)
                memory = report.verdict(f"{target_name}: peak RSS growth (MiB)", max(rss), RSS_TARGET_MIB,
                                        True, unit="MiB")
                status = f"throughput {throughput}, memory {memory}"
            rows.append(Row([label, median, span, _ratio_cell(ratio), rss_cell, cpu, status]))
        report.section(
            f"{title} ({size})",
            note + " " + TIMEOUT_NOTE + " Peak RSS growth: the process's high-water mark during the transfer "
            "(reset at its start "
            f"through /proc/self/clear_refs) minus its RSS before it. Targets: >= {THROUGHPUT_TARGET}x raw "
            f"throughput, <= {RSS_TARGET_MIB:g} MiB growth (max over runs).",
            ["client", "median MiB/s", "min-max", "vs raw", "peak RSS growth MiB", "client CPU s", "status"],
            rows,
        )


def _paired_transfer_section(report: Report) -> None:
    rows = []
    names = {"upload": ("4. upload", "upload"), "path": ("5. download to a path", "download to a path"),
             "iter": ("5. download iterated", "download, iterated")}
    for to, (target_name, label) in names.items():
        key = f"paired-transfer:{to}:ours"
        ratios = report.values(key, "ratio")
        if ratios is None:
            continue

        def rate(metric: str, key: str = key) -> str:
            return f"{statistics.median(report.values(key, metric) or [0.0]):,.0f}"

        ratio = statistics.median(ratios)
        status = report.verdict(f"{target_name}: throughput vs raw urllib3 (paired, one process)", ratio,
                                THROUGHPUT_TARGET, False)
        versus_timeout = statistics.median(report.values(key, "ratio_timeout") or [0.0])
        rows.append(Row([label, rate("raw_mib_s"), rate("raw-timeout_mib_s"), rate("ours_mib_s"),
                         f"{ratio:.2f}x", f"{min(ratios):.2f}-{max(ratios):.2f}", f"{versus_timeout:.2f}x",
                         f">= {THROUGHPUT_TARGET}x", status]))
    report.section(
        "4b / 5c. Transfer throughput, paired in one process",
        f"Raw urllib3, raw urllib3 with this package's default timeouts, and this package in one process, "
        f"{TRANSFERS_PER_RUN} transfers each per run in rotating order; MiB/s are medians over all runs, the "
        "ratio (this package over plain raw urllib3) is computed per run and its median and min-max over "
        "runs shown. Throughput is wall time: client and server share the 2 cores with whatever else runs.",
        ["transfer", "raw MiB/s", "raw + timeouts MiB/s", "this package MiB/s", "ratio (median)", "min-max",
         "vs raw + timeouts", "target", "status"],
        rows,
    )


def _thread_section(report: Report) -> None:
    rows = []
    names = {"raw": "raw urllib3 PoolManager", "ours": "this package, one ApiClient", "upstream":
             "upstream 1.84.0, one ApiClient"}
    for threads in THREAD_COUNTS:
        base = f"threads-{threads}:raw"
        for variant in ("raw", "ours", "upstream"):
            key = f"threads-{threads}:{variant}"
            if report.values(key, "calls_s") is None:
                continue
            median, span = report.spread(key, "calls_s", 0)
            ratio = report.ratio(key, base, "calls_s")
            connections = report.values(key, "new_connections") or [0.0]
            status = ""
            if variant == "ours":
                reused = max(connections) <= threads - 1
                report.verdicts.append(Verdict(
                    f"6. {threads} thread(s) share one pool (new connections <= threads - 1)",
                    f"{max(connections):.0f} new, {ratio or 0:.2f}x raw calls/s", reused))
                status = "pool shared" if reused else "**extra connections**"
            rows.append(Row([str(threads), names[variant], median, span, _ratio_cell(ratio),
                             f"{max(connections):.0f}", status]))
    report.section(
        "6. Connection reuse and thread scaling",
        f"`get_branch` calls per second (wall) with N threads sharing one client (pool size {POOL_MAXSIZE} "
        "for all three), after a 50-call warm-up on one thread. New connections: connections the server "
        "saw opened during the timed part (max over runs); with one shared pool at most N - 1 are new. "
        "Python threads share one GIL and the machine has 2 cores shared with the server, so calls/s "
        "cannot grow much with threads; what the figure compares is the cost of sharing one client with "
        "that of sharing one urllib3 pool.",
        ["threads", "client", "median calls/s", "min-max", "vs raw", "new connections", "status"],
        rows,
    )


def _aio_import_section(report: Report) -> None:
    base = "aio-import:baseline"
    labels = {
        "aio-import:baseline": ("`import aiohttp, pydantic`", "baseline"),
        "aio-import:ours": ("this package: `import lakefs_sdk.aio`", f"<= {IMPORT_TARGET}x"),
        "aio-import:ours-used": ("this package: `import lakefs_sdk.aio` + AsyncApiClient, ObjectsApi, "
                                 "ObjectStats looked up", "info"),
    }
    rows = []
    for key, (label, target) in labels.items():
        if report.values(key, "wall_ms") is None:
            continue
        median, span = report.spread(key, "wall_ms", 1)
        ratio = report.ratio(key, base, "wall_ms")
        status = ""
        if key == "aio-import:ours":
            status = report.verdict("7. import lakefs_sdk.aio vs aiohttp+pydantic", ratio, IMPORT_TARGET, True)
        rows.append(Row([label, median, span, _ratio_cell(ratio), target, status]))
    report.section(
        "7a. asyncio client: import time",
        "Wall time of `python -c CODE` in a fresh process of the bench venv (interpreter start-up included, "
        "byte-code cached), in ms. Baseline: aiohttp and pydantic alone.",
        ["python -c ...", "median ms", "min-max", "vs baseline", "target", "status"],
        rows,
    )


def _aio_call_section(report: Report) -> None:
    names = {"raw": "raw aiohttp `ClientSession`", "ours": "this package: `lakefs_sdk.aio`",
             "ours-sync": f"this package, sync client on {AIO_THREADS} threads"}
    rows = []
    for concurrency in AIO_CONCURRENCY:
        base = f"aio-calls-{concurrency}:raw"
        for variant, label in names.items():
            key = f"aio-calls-{concurrency}:{variant}"
            if report.values(key, "calls_s") is None:
                continue
            median, span = report.spread(key, "calls_s", 0)
            cpu, _ = report.spread(key, "cpu_us", 0)
            ratio = report.ratio(key, base, "calls_s")
            connections = max(report.values(key, "new_connections") or [0.0])
            target, status = ("baseline", "") if variant == "raw" else ("info", "")
            if variant == "ours":
                target = f">= {THROUGHPUT_TARGET}x"
                status = report.verdict(f"7. stat_object at concurrency {concurrency} vs raw aiohttp "
                                        "(separate processes)", ratio, THROUGHPUT_TARGET, False)
            elif variant == "ours-sync":
                versus = report.ratio(f"aio-calls-{concurrency}:ours", key, "calls_s")
                if versus is not None:
                    report.verdicts.append(Verdict(
                        f"7. async client at concurrency {concurrency} vs sync client on {AIO_THREADS} threads "
                        "(separate processes)", f"{versus:.2f}x", None))
                target = f"async / this: {versus:.2f}x" if versus is not None else "info"
            rows.append(Row([str(concurrency), label, median, span, _ratio_cell(ratio), cpu,
                             f"{connections:.0f}", target, status]))
    report.section(
        "7b. asyncio client: `stat_object` at a concurrency",
        "Calls per second (wall) of 1,000 `stat_object` calls, each of its own path, with N calls in flight "
        "on one event loop (N lanes of calls over one client; a pool of N connections for every variant: "
        "`connection_pool_maxsize=N`, aiohttp `limit_per_host=N`), timed in "
        f"{AIO_ROUNDS} rounds after a warm-up round at the same concurrency, median round; client CPU µs per "
        "call for information. Raw aiohttp sends the same request (the same URL, pre-encoded, and headers) "
        "through a plain `ClientSession` and decodes the answer with `json.loads`. Every answer is checked "
        "against the path asked for, and the server must have counted exactly the calls made. The sync row "
        f"runs the same calls on {AIO_THREADS} threads sharing one `ApiClient` (a pool of {AIO_THREADS}). "
        "New connections: opened during the timed rounds (max over runs; the warm-up opened the pool).",
        ["concurrency", "client", "median calls/s", "min-max", "vs raw aiohttp", "client CPU µs/call",
         "new connections", "target", "status"],
        rows,
    )


def _aio_paired_section(report: Report) -> None:
    rows = []
    for concurrency in AIO_CONCURRENCY:
        key = f"aio-paired-{concurrency}:ours"
        ratios = report.values(key, "ratio")
        if ratios is None:
            continue

        def rate(name: str, key: str = key) -> str:
            values = report.values(key, f"{name}_calls_s")
            return f"{statistics.median(values):,.0f}" if values else "-"

        ratio = statistics.median(ratios)
        status = report.verdict(f"7. stat_object at concurrency {concurrency} vs raw aiohttp (paired, one process)",
                                ratio, THROUGHPUT_TARGET, False)
        threads = report.values(key, "ratio_threads")
        threads_cell = "-"
        if threads:
            versus = statistics.median(threads)
            threads_cell = f"{versus:.2f}x ({min(threads):.2f}-{max(threads):.2f})"
            report.verdicts.append(Verdict(
                f"7. async client at concurrency {concurrency} vs sync client on {AIO_THREADS} threads "
                "(paired, one process)", f"{versus:.2f}x", None))
        rows.append(Row([str(concurrency), rate("raw"), rate("ours"), rate("ours-sync"), f"{ratio:.2f}x",
                         f"{min(ratios):.2f}-{max(ratios):.2f}", threads_cell, f">= {THROUGHPUT_TARGET}x", status]))
    report.section(
        "7c. asyncio client: `stat_object` at a concurrency, paired in one process",
        f"Raw aiohttp and this package (at concurrency {AIO_THREADS} also the sync client on {AIO_THREADS} "
        f"threads) in one process and one event loop, {AIO_PAIRED_ROUNDS} cycles of one round of 1,000 calls "
        "each in rotating order; calls/s are medians over all runs; a run's ratio is the median of the "
        "ratios within its cycles, and the median and min-max of those over runs are shown.",
        ["concurrency", "raw aiohttp calls/s", "this package calls/s", "sync client on threads calls/s",
         "ratio (median)", "min-max", "async / sync threads", "target", "status"],
        rows,
    )


def _aio_transfer_section(report: Report, settings: Settings) -> None:
    specs = [("upload", "upload", "`upload_object(content=path)`"),
             ("path", "download to a path", "`get_object_without_preload_content()` + `write_to(path)`"),
             ("iter", "download iterated", "`get_object_without_preload_content()` + `iter_bytes()`")]
    rows = []
    for to, what, call in specs:
        base = f"aio-{to}:raw"
        for variant, label in (("raw", "raw aiohttp"), ("ours", f"this package: {call}")):
            key = f"aio-{to}:{variant}"
            if report.values(key, "mib_s") is None:
                continue
            median, span = report.spread(key, "mib_s", 0)
            ratio = report.ratio(key, base, "mib_s")
            rss = report.values(key, "rss_growth_mib") or [0.0]
            cpu, _ = report.spread(key, "cpu_s", 2)
            status = ""
            if variant == "ours":
                status = "memory " + report.verdict(f"7. async {what}: peak RSS growth (MiB)", max(rss),
                                                    RSS_TARGET_MIB, True, unit="MiB")
            rows.append(Row([what, label, median, span, _ratio_cell(ratio),
                             f"{statistics.median(rss):,.1f} (max {max(rss):,.1f})", cpu, status]))
    report.section(
        f"7d. asyncio client: streaming transfers ({_size_text(settings.size)})",
        "Through `lakefs_sdk.aio` (the upload streams the file as `multipart/form-data`, read in worker "
        "threads; downloads are written in worker threads or iterated in 1 MiB chunks) and through raw aiohttp "
        "(the file as an octet-stream body of 1 MiB reads in the default executor; `iter_chunked(1 MiB)`, "
        "written on the loop). The server counts every uploaded byte; downloads are checked against its "
        f"pattern. {TRANSFERS_PER_RUN} transfers per run, median. Peak RSS growth as in 4/5: the target is "
        f"<= {RSS_TARGET_MIB:g} MiB (max over runs); throughput has no target here (info).",
        ["transfer", "client", "median MiB/s", "min-max", "vs raw aiohttp", "peak RSS growth MiB", "client CPU s",
         "status"],
        rows,
    )


def _bulk_row(report: Report, key: str, label: str, base: Optional[str]) -> Optional[Row]:
    """A bulk transfer's row: files/s, ratios, and where the time went (wall, client CPU, server CPU)."""
    if report.values(key, "files_s") is None:
        return None
    median, span = report.spread(key, "files_s", 0)
    wall = report.median(key, "wall_s") or 0.0
    cpu = report.median(key, "cpu_s") or 0.0
    server = report.median(key, "server_cpu_s") or 0.0
    ratio = report.ratio(key, base, "files_s") if base else None
    return Row([label, median, span, _ratio_cell(ratio) if base else "1.00x", f"{wall:.2f}", f"{cpu:.2f}",
                f"{server:.2f}", f"{cpu / wall:.2f} + {server / wall:.2f}" if wall else "-"])


BULK_COLUMNS = ["client", "median files/s", "min-max", "vs baseline", "wall s", "client CPU s", "lakeFS CPU s",
                "cores busy: client + lakeFS"]


def _bulk_sections(report: Report, settings: Settings) -> None:
    count = f"{settings.bulk_files:,}"
    where = (
        "Wall time, the client process's CPU time (`time.process_time`, all threads) and the lakeFS process's "
        "CPU time (utime + stime from `/proc/<pid>/stat`, before and after) of one transfer of all the files, "
        "medians over runs; the last column divides both CPU times by the wall time: on 2 cores, what is "
        "left of 2.0 is time nobody computed (waiting on the disk, on locks, on the other process)."
    )
    specs = [
        ("upload", "8a. Bulk upload: ingest of",
         f"`lakefs_sdk.transfer.upload_many(concurrency={BULK_CONCURRENCY})`",
         "`upload_object(content=path)` per file, one after another",
         "urllib3 on 16 threads sharing one `PoolManager(maxsize=16)`, each file's bytes POSTed as "
         "`uploadObject` does it for `upload_many`",
         "Each transfer goes into a fresh branch (created before the clock starts, deleted after the check), "
         "under a new prefix; afterwards the branch must list every path with 4,096 bytes and the MD5 of its file."),
        ("download", "8b. Bulk download of",
         f"`lakefs_sdk.transfer.download_many(concurrency={BULK_CONCURRENCY})` into a folder",
         "`get_object` per file, one after another, written to a file",
         "urllib3 on 16 threads sharing one `PoolManager(maxsize=16)`, `getObject` per file, written to a file",
         "The files are the committed objects of `main`, downloaded into an empty folder; afterwards every "
         "file must hold exactly its object's bytes."),
    ]
    for direction, title, ours_label, upstream_label, raw_label, note in specs:
        base = f"bulk-{direction}:raw"
        rows = []
        for variant, label in (("raw", f"raw: {raw_label}"), ("ours", f"this package: {ours_label}"),
                               ("upstream", f"upstream 1.84.0: {upstream_label}")):
            row = _bulk_row(report, f"bulk-{direction}:{variant}", label, None if variant == "raw" else base)
            if row is not None:
                rows.append(row)
        speedup = report.ratio(f"bulk-{direction}:ours", f"bulk-{direction}:upstream", "files_s")
        versus_raw = report.ratio(f"bulk-{direction}:ours", base, "files_s")
        verb = "upload_many" if direction == "upload" else "download_many"
        report.verdict(f"8. {verb}(concurrency={BULK_CONCURRENCY}) vs upstream one file after another "
                       "(speed-up)", speedup, BULK_SPEEDUP_TARGET, False)
        report.verdict(f"8. {verb} vs raw urllib3 on 16 threads (separate processes)", versus_raw,
                       THROUGHPUT_TARGET, False)
        paired = report.values(f"bulk-paired-{direction}:ours", "ratio")
        paired_note = ""
        if paired:
            ratio = statistics.median(paired)
            report.verdict(f"8. {verb} vs raw urllib3 on 16 threads (paired, one process)", ratio,
                           THROUGHPUT_TARGET, False)
            paired_note = (f" Paired in one process ({2 * BULK_TRANSFERS} transfers per run, this package and "
                           f"raw alternating): this package over raw {ratio:.2f}x (min-max "
                           f"{min(paired):.2f}-{max(paired):.2f} over runs).")
        if not settings.bulk_ours:
            paired_note += (" This package's row is missing: `lakefs_sdk.transfer` had no `upload_many` / "
                            "`download_many` / `delete_many` when this ran.")
        targets = (f"Targets: this package >= {BULK_SPEEDUP_TARGET:g}x upstream's files/s (this run: "
                   f"{_ratio_cell(speedup)}), >= {THROUGHPUT_TARGET}x raw's (this run: {_ratio_cell(versus_raw)}).")
        report.section(
            f"{title} {count} files of 4 KiB (real lakeFS)",
            f"{note} Baseline (vs): raw urllib3. {targets}{paired_note} {where}",
            BULK_COLUMNS,
            rows,
        )
    rows = []
    for variant, label in (("ours-each", "this package: `delete_object` per path, one after another"),
                           ("ours", "this package: `lakefs_sdk.transfer.delete_many` (batch `deleteObjects`, "
                                    "1,000 paths a request)")):
        row = _bulk_row(report, f"bulk-delete:{variant}", label,
                        None if variant == "ours-each" else "bulk-delete:ours-each")
        if row is not None:
            rows.append(row)
    speedup = report.ratio("bulk-delete:ours", "bulk-delete:ours-each", "files_s")
    if speedup is not None:
        report.verdicts.append(Verdict("8. delete_many vs one delete_object call per path (speed-up)",
                                       f"{speedup:.1f}x", None))
    report.section(
        f"8c. Bulk delete of {count} paths (real lakeFS)",
        "The paths are committed objects of `main`, deleted on a fresh branch; afterwards the branch must list "
        f"none of them. Baseline (vs): one `delete_object` call per path. {where}",
        [c.replace("files/s", "paths/s") for c in BULK_COLUMNS],
        rows,
    )


def render_table(header: List[str], rows: List[Row]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row.cells) + " |" for row in rows]
    return "\n".join(lines)


def machine_description() -> List[str]:
    """CPU, cores, memory, OS and interpreter of this machine."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = "?"
    try:
        with open("/proc/meminfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
                    break
    except OSError:
        pass
    return [
        f"CPU: {cpu}, {os.cpu_count()} logical cores; memory: {memory}",
        f"OS: {platform.platform()}",
        f"Python: {platform.python_implementation()} {platform.python_version()} ({sys.executable})",
    ]


def git_revision() -> str:
    """The work tree's commit, with ``+changes`` when it has uncommitted edits."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=ROOT, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "lakefs_sdk"], capture_output=True,
                               text=True, cwd=ROOT, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes to lakefs_sdk/" if dirty else "")


def render_markdown(report: Report, settings: Settings, versions: Dict[str, Dict[str, str]],
                    elapsed: float, command: str, load: str = "") -> str:
    """The whole document written to docs/benchmarks.md."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    ours, upstream = versions.get("ours", {}), versions.get("upstream", {})
    deps = ", ".join(f"{name} {ours[name]}" for name in SHARED_DEPENDENCIES if name in ours)
    lines = [
        "# Benchmarks",
        "",
        f"Measured {now} with `{command}` ({elapsed / 60:.1f} min), at commit {git_revision()}.",
        "Regenerate with the same command; `benchmarks/README.md` explains each figure.",
        "",
        "## Machine",
        "",
        *[f"- {line}" for line in machine_description()],
        *([f"- {load}"] if load else []),
        f"- Dependencies (both venvs): {deps}; the bench venv also has aiohttp {ours.get('aiohttp', '?')} "
        "(the `aio` extra: the asyncio client and its raw aiohttp baseline)",
        f"- Compared: this package ({ours.get('lakefs-sdk', '?')}, from the work tree), upstream lakefs-sdk "
        f"{upstream.get('lakefs-sdk', 'not run')} from PyPI, and raw urllib3",
        f"- Every figure: median of {settings.repeats} runs (imports, calls and the listing: "
        f"{settings.repeats * RUNS_PER_REPEAT}), each in a "
        "fresh process, the variants of a figure back to back (their order rotated each repeat); min-max over "
        "the runs; ratios are of medians. Within a run, call loops are timed in 10 batches, transfers "
        f"made {TRANSFERS_PER_RUN} times (upstream: once) and thread runs timed in 3 rounds, and the "
        "run reports the median. The machine is a shared 2-core VM, so single runs are noisy: read the "
        "ratios, not the absolute figures.",
        f"- Transfers: {_size_text(settings.size)}; uploads read a random file from the page cache; downloads are "
        f"written under {settings.download_dir.parent} (see `--download-dir`).",
        "- Server: `benchmarks/server.py`, a threaded HTTP/1.1 server in its own process on 127.0.0.1, "
        "answering canned lakeFS responses and discarding uploads; its CPU is not in any client figure. "
        f"The bulk figures (8) run against a real lakeFS {real_server.VERSION} (local database and "
        "blockstore, on 127.0.0.1) that the harness starts and stops itself; its CPU time is reported.",
        "",
        "## Targets",
        "",
        render_table(
            ["target", "this run", "status"],
            [Row([v.target, v.measured, "-" if v.met is None else ("met" if v.met else "**missed**")])
             for v in sorted(report.verdicts, key=lambda v: v.target.split(".", 1)[0])],
        ),
        "",
        "Reading these figures:",
        "",
        "- Each target is judged twice where it can be: from separate processes (the tables 1-6) and "
        "paired in one process (2b/3b, 4b/5c). On this shared VM the separate-process figures move by "
        "tens of percent from run to run; the paired ratios are the steadier ones (see their min-max). "
        "Call overhead and the listing are judged a third time in instructions (2c/3c), which other work "
        "on the machine cannot move, but which leave out the kernel's share.",
        "- The listing ratio is against `model_validate_json` on bytes already in memory; the API call "
        "also receives ~340 kB over HTTP, which raw urllib3 pays alike (its row in 3 and 2b/3b).",
        "- This package sets socket timeouts by default; their cost (CPython polls before each `recv` and "
        "`send`) is in its figures and shown separately by the rows 'raw urllib3, with this package's "
        "default timeouts'.",
        "- The asyncio figures (7) compare `lakefs_sdk.aio` with raw aiohttp on the same event loop design; "
        "the bulk figures (8) compare whole transfers of many small files on a real server, where most of "
        "the time is the server's: read their client and lakeFS CPU columns.",
        "",
    ]
    for title, note, header, rows in report.sections:
        lines += [f"## {title}", "", note, "", render_table(header, rows), ""]
    return "\n".join(lines)


# -- main ------------------------------------------------------------------------------------

GROUPS = ("import", "calls", "listing", "upload", "download", "threads", "instructions", "aio-import", "aio-calls",
          "aio-transfer", "bulk", "storage")


def parse_size(text: str) -> int:
    """``1GiB``, ``64MiB``, ``1048576`` -> bytes."""
    units = {"gib": GIB, "g": GIB, "mib": MIB, "m": MIB, "kib": 1024, "k": 1024}
    lowered = text.strip().lower()
    for suffix, factor in units.items():
        if lowered.endswith(suffix):
            return int(float(lowered[: -len(suffix)]) * factor)
    return int(lowered)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Set up the venvs and the server, run every benchmark, print and write the tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 repeats, 300 calls, 64 MiB transfers; writes nothing unless --output")
    parser.add_argument("--repeats", type=int, help="runs per figure (default 5; --quick: 2)")
    parser.add_argument("--calls", type=int, help="calls per call-overhead run (default 1000; --quick: 300)")
    parser.add_argument("--size", type=parse_size, help="transfer size, e.g. 1GiB, 256MiB (default 1GiB)")
    parser.add_argument("--only", action="append", choices=GROUPS, help="run only these groups (repeatable)")
    parser.add_argument("--download-dir", type=Path,
                        help="where downloads are written (default: a directory in /dev/shm if it has room)")
    parser.add_argument("--no-upstream", action="store_true", help="skip upstream lakefs-sdk 1.84.0")
    parser.add_argument("--bulk-files", type=int,
                        help=f"files of 4 KiB per bulk transfer (default {BULK_FILES}; --quick: 300)")
    parser.add_argument("--output", type=Path, help=f"markdown file to write (default {DEFAULT_OUTPUT})")
    parser.add_argument("--no-write", action="store_true", help="print the tables only")
    args = parser.parse_args(argv)

    quick = args.quick
    settings_repeats = args.repeats or (2 if quick else 5)
    output: Optional[Path] = args.output
    if output is None and not quick and not args.no_write:
        output = DEFAULT_OUTPUT
    if args.no_write:
        output = None
    started = time.monotonic()
    load = MachineLoad()

    ensure_bench_venv()
    versions = {"ours": package_versions(BENCH_VENV)}
    if not args.no_upstream:
        ensure_upstream_venv(versions["ours"])
        versions["upstream"] = package_versions(UPSTREAM_VENV)
        differing = {k: (versions["ours"].get(k), v) for k, v in versions["upstream"].items()
                     if k in SHARED_DEPENDENCIES and versions["ours"].get(k) != v}
        if differing:
            log(f"warning: dependency versions differ between the venvs: {differing}")

    size = args.size or (64 * MIB if quick else GIB)
    with tempfile.TemporaryDirectory(prefix="lakefs-bench-") as temp, \
            tempfile.TemporaryDirectory(prefix="lakefs-bench-", dir=download_parent(args.download_dir, size)) as down:
        settings = Settings(
            repeats=settings_repeats,
            calls=args.calls or (300 if quick else 1000),
            size=size,
            groups=tuple(args.only or (g for g in GROUPS if not (quick and g == "instructions"))),
            upstream=not args.no_upstream,
            tmpdir=Path(temp),
            download_dir=Path(down),
            bulk_files=args.bulk_files or (300 if quick else BULK_FILES),
        )
        if "upload" in settings.groups or "aio-transfer" in settings.groups:
            log(f"writing a {settings.size / MIB:g} MiB random file to upload")
            settings.upload_file = make_upload_file(settings.tmpdir, settings.size)
        server = Server(settings.size)
        try:
            if "bulk" in settings.groups:
                start_bulk(settings)
            if "storage" in settings.groups:
                start_storage(settings)
            cases = build_cases(settings, server.url)
            log("warm-up (byte-code caches, first connections)")
            for case in cases:
                if case.kind == "import":
                    subprocess.run([venv_python(case.venv), *case.argv], check=True, cwd=temp, env=child_env())
            for repeat in range(settings.repeats):
                for case in schedule(cases, repeat):
                    log(f"[{repeat + 1}/{settings.repeats}] {case.key}")
                    load.sample()
                    run_case(case, settings.tmpdir)
            counts = count_instructions(settings, server.url)
        finally:
            server.stop()
            if settings.lake is not None:
                log("stopping lakeFS")
                settings.lake.stop()
            if settings.storage_rig is not None:
                log("stopping the storage group's proxy, lakeFS servers and S3 store")
                settings.storage_rig.stop()

    elapsed = time.monotonic() - started
    report = build_report(cases, settings, counts)
    command = "python3 benchmarks/run.py" + ("" if argv is None and len(sys.argv) == 1 else
                                            " " + " ".join(argv if argv is not None else sys.argv[1:]))
    document = render_markdown(report, settings, versions, elapsed, command, load.describe())
    print(document)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(document + ("" if document.endswith("\n") else "\n"))
        log(f"wrote {output}")
    missed = [v.target for v in report.verdicts if v.met is False]
    if missed:
        log("targets missed: " + "; ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
