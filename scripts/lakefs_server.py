#!/usr/bin/env python3
"""A real lakeFS server on 127.0.0.1, built from lakeFS's Go module, for tests and for trying things.

    scripts/lakefs_server.py build [VERSION]              build (or find cached) and print the binary's path
    scripts/lakefs_server.py start [VERSION] [--dir DIR]  start a server in the background; print its env
    scripts/lakefs_server.py start [VERSION] --store s3   the same, its blockstore on a real S3 store
    scripts/lakefs_server.py env [--dir DIR]              print the running server's env (shell syntax)
    scripts/lakefs_server.py stop [--dir DIR]             stop it and delete its data

VERSION is one of the folders of ``tests/lakefs_server/`` (default: the oldest, which is
the version ``api/openapi.yaml`` describes). Each folder holds only our ``go.mod``,
``go.sum`` and ``main.go``: lakeFS is a dependency fetched from the Go module proxy. The
binary is cached in ``.cache/lakefs/<version>-<hash of those files and the Go version>/``,
so a later run does not rebuild it.

The server keeps everything in one temporary folder: a ``local`` database, a ``local``
blockstore, a folder it may import from, its config and its log. The admin user is
created at start-up from ``installation.*``; nothing phones home (stats, version checks,
audit checks and e-mail subscription are off), and it listens on 127.0.0.1 only. It is
ready when ``/api/v1/healthcheck`` answers 204.

The environment printed by ``start``/``env`` names the endpoint twice: ``LAKEFS_ENDPOINT``
and friends for the test suite, and ``LAKECTL_*`` so that ``Configuration.from_env()`` and
the examples find it::

    eval "$(scripts/lakefs-server.sh start)"

Tests that must stop and restart a server (fault tests) start their own with
:class:`LakeFSServer`, from the binary named by ``LAKEFS_BIN``.

The environment also says which blockstore the server has: ``LAKEFS_STORE`` (``local`` or
``s3``) and ``LAKEFS_NAMESPACE_BASE``, what a repository's name is appended to for its
storage namespace (``local://`` or ``s3://<bucket>/<prefix>/``).

``--store s3`` (the default is ``local``) first starts a SeaweedFS S3 store on 127.0.0.1
(``scripts/object_store.py``: built from its Go module and cached like lakeFS, fresh data each
time) and gives lakeFS ``blockstore.type: s3`` on it: path-style requests, region us-east-1,
static credentials, and ``discover_bucket_region: false`` (SeaweedFS answers the anonymous
HeadBucket that discovery sends with a 403 that does not name the region). Unlike the local
blockstore, it presigns: repositories on ``LAKEFS_NAMESPACE_BASE`` get presigned URLs on the
store. ``--pre-signed-expiry`` (a Go duration, e.g. ``30s``) and ``--pre-signed-endpoint`` (the
URL presigned links point at, e.g. a recording proxy in front of the store, which must then
forward the ``Host`` header unchanged: the signature covers it) set
``blockstore.s3.pre_signed_*``. The store's own endpoint and keys are printed too
(``OBJECT_STORE_*``); ``stop`` stops lakeFS, then the store, and so does a failed or interrupted
(SIGINT, SIGTERM, SIGHUP) ``start``. Once both binaries are cached the pair takes requests about
6 s after ``start`` (the store 5 s, lakeFS under 1 s). The default, ``local``, is as before:
its environment only gains the two variables above.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the kit's launcher: standard library only, lakefs_sdk loads lazily
    sys.path.insert(0, str(ROOT))
from lakefs_sdk import testing as kit  # noqa: E402

SCRIPTS = ROOT / "scripts"
MODULES = ROOT / "tests" / "lakefs_server"
CACHE = ROOT / ".cache" / "lakefs"
DEFAULT_STATE_DIR = ROOT / ".cache" / "lakefs-run"

ACCESS_KEY_ID = kit.ACCESS_KEY_ID
SECRET_ACCESS_KEY = kit.SECRET_ACCESS_KEY
ADMIN_USER = kit.ADMIN_USER

# Modules missing from the checksum database the Go proxy here is paired with; go.sum
# (committed) still pins their hashes.
GONOSUMDB = "github.com/treeverse/secret-detector,github.com/treeverse/delta-go"
VERSION_PACKAGE = "github.com/treeverse/lakefs/pkg/version.Version"

STOP_TIMEOUT = 15.0
STORES = ("local", "s3")
# A Go duration as lakeFS reads it: "30s", "15m", "1h30m".
GO_DURATION = re.compile(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+")


def versions() -> List[str]:
    """The lakeFS versions we can build, oldest first."""
    found = [p.name for p in MODULES.iterdir() if (p / "go.mod").is_file()]
    return sorted(found, key=lambda v: tuple(int(n) for n in v.split(".")))


def _log(message: str) -> None:
    print(f"lakefs-server: {message}", file=sys.stderr, flush=True)


# -- building --------------------------------------------------------------------------------


def _go_version() -> str:
    return subprocess.run(["go", "env", "GOVERSION"], check=True, capture_output=True, text=True).stdout.strip()


def binary_path(version: str) -> Path:
    """Where the binary for ``version`` is cached: keyed by our module files and the Go version."""
    module = MODULES / version
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        digest.update((module / name).read_bytes())
    digest.update(_go_version().encode())
    return CACHE / f"{version}-{digest.hexdigest()[:16]}" / "lakefs"


def build(version: str) -> Path:
    """Build lakeFS ``version`` unless a cached binary exists; return the binary's path."""
    if version not in versions():
        raise SystemExit(f"unknown lakeFS version {version!r}; known: {', '.join(versions())}")
    target = binary_path(version)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    env = dict(os.environ, GONOSUMDB=GONOSUMDB, GOFLAGS="-mod=readonly")
    command = [
        "go", "build", "-trimpath",
        "-ldflags", f"-s -w -X {VERSION_PACKAGE}={version}",
        "-o", str(partial), ".",
    ]  # fmt: skip
    _log(f"building lakeFS {version} (a cold build takes several minutes) -> {target}")
    started = time.monotonic()
    subprocess.run(command, cwd=MODULES / version, env=env, check=True)
    partial.rename(target)
    _log(f"built lakeFS {version} in {time.monotonic() - started:.0f} s")
    # Older builds of the same version are dead weight.
    for old in CACHE.glob(f"{version}-*"):
        if old != target.parent:
            shutil.rmtree(old, ignore_errors=True)
    return target


# -- running ---------------------------------------------------------------------------------


free_port = kit.free_port


@dataclass(frozen=True)
class S3Blockstore:
    """lakeFS's blockstore on an S3-compatible store, and where its repositories go."""

    endpoint: str  # http://127.0.0.1:PORT
    access_key_id: str
    secret_access_key: str = field(repr=False)
    bucket: str
    prefix: str  # storage namespaces are s3://<bucket>/<prefix>/<repository>
    region: str = "us-east-1"
    pre_signed_expiry: Optional[str] = None  # a Go duration; lakeFS's default is 15m
    pre_signed_endpoint: Optional[str] = None

    @property
    def namespace_base(self) -> str:
        """What a repository's name is appended to for its storage namespace."""
        return f"s3://{self.bucket}/{self.prefix}/"

    def config(self) -> Dict[str, object]:
        """The ``blockstore`` section."""
        s3: Dict[str, object] = {
            "endpoint": self.endpoint,
            "region": self.region,
            "force_path_style": True,
            # SeaweedFS answers region discovery's anonymous HeadBucket with a 403 naming no region.
            "discover_bucket_region": False,
            "credentials": {"access_key_id": self.access_key_id, "secret_access_key": self.secret_access_key},
        }
        if self.pre_signed_expiry is not None:
            s3["pre_signed_expiry"] = self.pre_signed_expiry
        if self.pre_signed_endpoint is not None:
            s3["pre_signed_endpoint"] = self.pre_signed_endpoint
        return {"type": "s3", "s3": s3}


class LakeFSServer(kit.LakeFSServer):
    """The kit's launcher (``lakefs_sdk.testing.LakeFSServer``) with this suite's variables and an S3 option.

    The blockstore is ``local`` (in ``workdir``) unless ``s3`` names an S3 store. Servers
    started by the ``start`` command outlive it (``stop_at_exit=False``); a test's private
    server is killed when the test process exits, if it still runs.
    """

    def __init__(
        self,
        binary: Path,
        workdir: Path,
        version: str = "",
        port: Optional[int] = None,
        s3: Optional[S3Blockstore] = None,
        *,
        stop_at_exit: bool = True,
    ) -> None:
        super().__init__(
            binary,
            workdir,
            version,
            port,
            config={"blockstore": {"local": None, **s3.config()}} if s3 is not None else None,
            # Static credentials and a fixed region leave the AWS SDK no reason to ask the EC2
            # metadata address (169.254.169.254); this makes sure it never does.
            env={"AWS_EC2_METADATA_DISABLED": "true"} if s3 is not None else None,
            storage_namespace_root=s3.namespace_base if s3 is not None else "local://",
            stop_at_exit=stop_at_exit,
        )
        self.s3 = s3

    def env(self) -> Dict[str, str]:
        """What a client needs to reach this server: the suite's ``LAKEFS_*`` variables and lakectl's."""
        return {
            "LAKEFS_ENDPOINT": self.endpoint,
            "LAKEFS_VERSION": self.version,
            "LAKEFS_ACCESS_KEY_ID": self.access_key_id,
            "LAKEFS_SECRET_ACCESS_KEY": self.secret_access_key,
            "LAKEFS_IMPORT_DIR": str(self.import_dir),
            "LAKEFS_BIN": str(self.binary),
            "LAKEFS_STORE": "s3" if self.s3 is not None else "local",
            "LAKEFS_NAMESPACE_BASE": self.storage_namespace_root,
            **super().env(),
        }


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


# -- the command line: one background server per state folder ------------------------------


def _state_file(state_dir: Path) -> Path:
    return state_dir / "server.json"


@dataclass(frozen=True)
class _State:
    """What ``start`` left for ``env`` and ``stop``."""

    pid: int
    workdir: str
    env: Dict[str, str]
    store_pid: Optional[int]  # the S3 store's process group, for --store s3

    @classmethod
    def read(cls, state_dir: Path) -> Optional[_State]:
        path = _state_file(state_dir)
        if not path.is_file():
            return None
        state = json.loads(path.read_text(encoding="utf-8"))
        store_pid = state.get("store_pid")
        return cls(
            pid=int(state["pid"]),
            workdir=str(state["workdir"]),
            env={str(k): str(v) for k, v in state["env"].items()},
            store_pid=int(store_pid) if store_pid is not None else None,
        )

    def write(self, state_dir: Path) -> None:
        record = {"pid": self.pid, "workdir": self.workdir, "env": self.env, "store_pid": self.store_pid}
        _state_file(state_dir).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop_pid(pid: int) -> None:
    if not _alive(pid):
        return
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        _signal_group(pid, signal.SIGKILL)


def _print_env(env: Dict[str, str]) -> None:
    for key, value in env.items():
        print(f"export {key}={shlex.quote(value)}")


def _exit_on_signals() -> None:
    """SIGTERM and SIGHUP raise SystemExit, so a start that is interrupted stops what it started."""

    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGHUP, leave)


@dataclass(frozen=True)
class StoreOptions:
    """``start``'s blockstore options."""

    kind: str = "local"  # one of STORES
    pre_signed_expiry: Optional[str] = None
    pre_signed_endpoint: Optional[str] = None


def command_start(version: str, state_dir: Path, store: StoreOptions = StoreOptions()) -> int:
    state = _State.read(state_dir)
    if state is not None and _alive(state.pid):
        _log(f"already running (pid {state.pid}); `stop` it first")
        _print_env(state.env)
        return 0
    binary = build(version)
    state_dir.mkdir(parents=True, exist_ok=True)
    if store.kind == "s3":
        return _start_on_s3(version, binary, state_dir, store)
    workdir = Path(tempfile.mkdtemp(prefix=f"lakefs-{version}-"))
    server = LakeFSServer(binary, workdir, version, stop_at_exit=False)
    _exit_on_signals()
    try:
        server.start()
    except BaseException:
        server.cleanup()
        raise
    assert server.process is not None
    _State(server.process.pid, str(workdir), server.env(), None).write(state_dir)
    _log(f"lakeFS {version} is running at {server.endpoint} (pid {server.process.pid}, data in {workdir})")
    _print_env(server.env())
    return 0


def _start_on_s3(version: str, binary: Path, state_dir: Path, options: StoreOptions) -> int:
    """Start a SeaweedFS S3 store, then lakeFS with its blockstore there; stop both on any failure."""
    if str(SCRIPTS) not in sys.path:  # run as a script it is there; loaded by path (tests) it is not
        sys.path.append(str(SCRIPTS))
    import object_store

    weed = object_store.build()
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=f"lakefs-{version}-s3-"))
    store = object_store.ObjectStore(weed, workdir / "store")
    server: Optional[LakeFSServer] = None
    _exit_on_signals()
    try:
        store.start()
        s3 = S3Blockstore(
            endpoint=store.endpoint,
            access_key_id=store.access_key_id,
            secret_access_key=store.secret_access_key,
            bucket=store.bucket,
            prefix=f"lakefs-{secrets.token_hex(4)}",
            region=object_store.REGION,
            pre_signed_expiry=options.pre_signed_expiry,
            pre_signed_endpoint=options.pre_signed_endpoint,
        )
        server = LakeFSServer(binary, workdir, version, s3=s3, stop_at_exit=False)
        server.start()
    except BaseException:
        if server is not None:
            server.stop()
        store.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    assert server.process is not None and store.process is not None
    env = {**server.env(), **store.env()}
    _State(server.process.pid, str(workdir), env, store.process.pid).write(state_dir)
    _log(
        f"lakeFS {version} is running at {server.endpoint} (pid {server.process.pid}) on the S3 store "
        f"{store.endpoint} (SeaweedFS, pid {store.process.pid}), data in {workdir}; "
        f"both ready in {time.monotonic() - started:.1f} s"
    )
    _print_env(env)
    return 0


def command_env(state_dir: Path) -> int:
    state = _State.read(state_dir)
    if state is None or not _alive(state.pid):
        _log(f"no lakeFS server is running for {state_dir}; run `start`")
        return 1
    _print_env(state.env)
    return 0


def command_stop(state_dir: Path) -> int:
    state = _State.read(state_dir)
    if state is None:
        return 0
    _stop_pid(state.pid)
    if state.store_pid is not None:
        _stop_pid(state.store_pid)  # after lakeFS, which may still be writing to it
    shutil.rmtree(state.workdir, ignore_errors=True)
    _state_file(state_dir).unlink()
    stopped = f"lakeFS (pid {state.pid})"
    if state.store_pid is not None:
        stopped += f" and its S3 store (pid {state.store_pid})"
    _log(f"stopped {stopped}")
    return 0


def _store_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> StoreOptions:
    expiry: Optional[str] = args.pre_signed_expiry
    endpoint: Optional[str] = args.pre_signed_endpoint
    if args.store != "s3" and (expiry is not None or endpoint is not None):
        parser.error("--pre-signed-expiry and --pre-signed-endpoint need --store s3")
    if expiry is not None and not GO_DURATION.fullmatch(expiry):
        parser.error(f"--pre-signed-expiry takes a Go duration such as 30s or 15m, not {expiry!r}")
    if endpoint is not None and not re.match(r"https?://[^/]+", endpoint):
        parser.error(f"--pre-signed-endpoint takes a URL such as http://127.0.0.1:9000, not {endpoint!r}")
    return StoreOptions(kind=args.store, pre_signed_expiry=expiry, pre_signed_endpoint=endpoint)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("build", "start", "env", "stop"))
    parser.add_argument("version", nargs="?", default=None, help="lakeFS version (default: %(default)s)")
    parser.add_argument("--dir", type=Path, default=None, help="state folder (default: .cache/lakefs-run/VERSION)")
    parser.add_argument("--store", choices=STORES, default="local", help="start: the blockstore (default: local)")
    parser.add_argument("--pre-signed-expiry", help="start --store s3: how long presigned URLs last (e.g. 30s)")
    parser.add_argument("--pre-signed-endpoint", help="start --store s3: the endpoint presigned URLs point at")
    args = parser.parse_args(argv)
    version = args.version or versions()[0]
    state_dir = args.dir or DEFAULT_STATE_DIR / version
    if args.command == "build":
        print(build(version))
        return 0
    if args.command == "start":
        return command_start(version, state_dir, _store_options(parser, args))
    if args.command == "env":
        return command_env(state_dir)
    return command_stop(state_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
