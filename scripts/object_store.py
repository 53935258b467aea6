#!/usr/bin/env python3
"""A real S3-compatible object store on 127.0.0.1 (SeaweedFS), built from its Go module, for tests.

    scripts/object_store.py build              build (or find cached) and print the binary's path
    scripts/object_store.py start [--dir DIR]  start a store in the background; print its env
    scripts/object_store.py env [--dir DIR]    print the running store's env (shell syntax)
    scripts/object_store.py stop [--dir DIR]   stop it and delete its data

``scripts/lakefs_server.py start VERSION --store s3`` starts one of these and a lakeFS whose
blockstore is on it; most callers want that rather than the store alone.

Building: ``tests/object_store/`` is a Go module of ours whose ``go.mod`` names SeaweedFS's
``weed`` command as a tool (``tool github.com/seaweedfs/seaweedfs/weed``) and repeats the one
``replace`` SeaweedFS's own ``go.mod`` needs (a replace only applies in the main module). The
committed ``go.sum`` pins every hash. ``go build`` of the tool's package gives the binary, cached
in ``.cache/object-store/seaweedfs-<hash of go.mod, go.sum and the Go version>/weed``. Measured
on this 2-core machine while other sessions kept it busy (load about 8): downloading the modules
(``go get -tool``, about 1.6 GB of modules) took 2 min 16 s and the cold build 12 min 48 s; a warm rebuild
(modules and Go build cache present) 9 s; a cached binary is found at once.

Running: ``weed mini`` (master, volume server, filer and S3 gateway in one process) in a fresh
folder, in its own session, with everything on 127.0.0.1:

* every port is chosen free, and each service's gRPC port is its HTTP port + 10000, so an HTTP
  port is only taken when that one is free too; the ports are drawn below 22768, which keeps the
  gRPC ports below Linux's ephemeral range (from 32768), where an outgoing connection of the
  store's own could take one before it is bound;
* ``-ip`` and ``-ip.bind`` are 127.0.0.1 (by default mini advertises the machine's address);
* ``-master.telemetry=false`` (on by default, it reports to an outside address) and, in case,
  the telemetry URL points at 127.0.0.1:9;
* the admin UI, WebDAV, the Iceberg and Lance ports and the embedded IAM API are off; the admin
  server itself still runs in mini (its worker needs it), so it gets free ports too, and its
  legacy port (23646) is off;
* ``-s3.config`` names an identity file with an access key and secret made for this store
  (any other request is refused); HOME and the working folder are the store's folder, so no config file of the machine
  (``~/.seaweedfs``, ``./*.toml``) is read.

Checked with strace (``connect``, ``sendto``) over a start, a lakeFS repository on the store, an
upload, a read and a commit: the store and lakeFS reached 127.0.0.1 and unix sockets only.

Readiness: ``/healthz`` answering is not enough, the first write can block until the filer
has registered. The store is ready once a signed PUT of the bucket and then a PUT, GET and DELETE
of a probe object succeed, tried a bounded number of times within a total deadline. Requests are
signed with AWS Signature V4 by :func:`s3_request` (standard library only). A fresh store takes
writes about 5 s after it is started (3 of them waiting for the filer).

Store behaviours to know (SeaweedFS, the pinned version):

* an anonymous ``HeadBucket``, which is how lakeFS's region discovery asks, gets 403 without
  the ``x-amz-bucket-region`` header AWS sends with its 403 (signed, it answers 200): lakeFS
  must run with ``blockstore.s3.discover_bucket_region: false``;
* it ignores a stray ``Authorization`` header on a presigned GET (checked: 200), which AWS
  refuses (400): a test cannot catch a client sending one against this store;
* mini moves a service to the next free port when the one asked for is taken, silently: the
  probe goes to the S3 port we chose, signed with keys made for this store alone, so a store
  that moved its S3 port fails readiness instead of another one passing for it;
* mini creates unix sockets of its own in /tmp (``seaweedfs-*-grpc-<port>.sock``) whatever the
  options, and removes them when it stops (not after SIGKILL); the filer and S3 ones are moved
  into the store's folder with their options;
* the signature of a presigned URL covers its host: a proxy in front of the store must forward
  the ``Host`` header unchanged (or the store must be told its outside URL, ``-s3.externalUrl``);
* the filer's IAM gRPC service is unauthenticated (mini warns); it listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import http.client
import json
import os
import random
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "tests" / "object_store"
CACHE = ROOT / ".cache" / "object-store"
DEFAULT_STATE_DIR = ROOT / ".cache" / "object-store-run"

WEED_PACKAGE = "github.com/seaweedfs/seaweedfs/weed"
REGION = "us-east-1"
BUCKET = "lakefs-sdk-tests"

GRPC_OFFSET = 10000
# HTTP ports are drawn here: their gRPC twins (+10000) stay below the ephemeral range (32768).
PORT_RANGE = (15000, 22768)
SERVICES = ("master", "volume", "filer", "s3", "admin")

START_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0
REQUEST_TIMEOUT = 10.0
PROBE_TRIES = 60


def _log(message: str) -> None:
    print(f"object-store: {message}", file=sys.stderr, flush=True)


# -- building --------------------------------------------------------------------------------


def _go_version() -> str:
    return subprocess.run(["go", "env", "GOVERSION"], check=True, capture_output=True, text=True).stdout.strip()


def binary_path() -> Path:
    """Where the ``weed`` binary is cached: keyed by our module files and the Go version."""
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum"):
        digest.update((MODULE / name).read_bytes())
    digest.update(_go_version().encode())
    return CACHE / f"seaweedfs-{digest.hexdigest()[:16]}" / "weed"


def build() -> Path:
    """Build SeaweedFS's ``weed`` unless a cached binary exists; return the binary's path."""
    target = binary_path()
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # One partial file per builder: two concurrent builds do not write the same file.
    partial = target.with_name(f"weed.partial-{os.getpid()}")
    env = dict(os.environ, GOFLAGS="-mod=readonly")
    command = ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(partial), WEED_PACKAGE]
    _log(f"building SeaweedFS (a cold build takes several minutes) -> {target}")
    started = time.monotonic()
    try:
        subprocess.run(command, cwd=MODULE, env=env, check=True)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    _log(f"built SeaweedFS in {time.monotonic() - started:.0f} s")
    for old in CACHE.glob("seaweedfs-*"):
        if old != target.parent:
            shutil.rmtree(old, ignore_errors=True)
    return target


# -- ports -----------------------------------------------------------------------------------


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_service_ports(count: int, rng: Optional[random.Random] = None) -> List[int]:
    """``count`` distinct HTTP ports that are free on 127.0.0.1, each with its ``+10000`` free too."""
    rng = rng or random.Random()
    chosen: List[int] = []
    taken: set[int] = set()
    for _ in range(2000):
        port = rng.randrange(*PORT_RANGE)
        if {port, port + GRPC_OFFSET} & taken:
            continue
        if _bindable(port) and _bindable(port + GRPC_OFFSET):
            chosen.append(port)
            taken.update((port, port + GRPC_OFFSET))
            if len(chosen) == count:
                return chosen
    raise RuntimeError(f"found only {len(chosen)} of {count} free port pairs in {PORT_RANGE}")


# -- S3 requests (Signature V4) --------------------------------------------------------------


@dataclass(frozen=True)
class S3Credentials:
    """Where a store is and how to sign for it."""

    endpoint: str  # http://127.0.0.1:PORT
    access_key_id: str
    secret_access_key: str = field(repr=False)
    region: str = REGION


@dataclass(frozen=True)
class S3Response:
    status: int
    headers: Dict[str, str]  # names lower-cased
    body: bytes


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign_v4(
    credentials: S3Credentials,
    method: str,
    path: str,
    body: bytes,
    query: Mapping[str, str] = {},
    now: Optional[datetime.datetime] = None,
) -> Dict[str, str]:
    """The headers that sign ``method path?query`` with ``body`` for the S3 service (SigV4)."""
    moment = now or datetime.datetime.now(datetime.timezone.utc)
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    host = urllib.parse.urlsplit(credentials.endpoint).netloc
    payload = hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": stamp}
    signed = ";".join(sorted(headers))
    canonical_query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in sorted(query.items())
    )
    canonical = "\n".join(
        [
            method,
            urllib.parse.quote(path, safe="/-_.~"),
            canonical_query,
            "".join(f"{name}:{headers[name]}\n" for name in sorted(headers)),
            signed,
            payload,
        ]
    )
    scope = f"{day}/{credentials.region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(("AWS4" + credentials.secret_access_key).encode(), day)
    for part in (credentials.region, "s3", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    return headers


def s3_request(
    credentials: S3Credentials,
    method: str,
    path: str,
    body: bytes = b"",
    query: Mapping[str, str] = {},
    timeout: float = REQUEST_TIMEOUT,
) -> S3Response:
    """One signed S3 request (path style: ``/bucket/key``); any status is returned, not raised."""
    parts = urllib.parse.urlsplit(credentials.endpoint)
    headers = sign_v4(credentials, method, path, body, query)
    target = urllib.parse.quote(path, safe="/-_.~")
    if query:
        target += "?" + urllib.parse.urlencode(sorted(query.items()), quote_via=urllib.parse.quote)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return S3Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        connection.close()


# -- running ---------------------------------------------------------------------------------


class ObjectStore:
    """One ``weed mini`` process with its data in ``workdir``.

    ``start()`` writes the identity file, starts the process in its own session and waits
    until a write through S3 succeeds (the bucket ``bucket`` then exists). ``stop()`` asks
    it to exit (SIGTERM, then SIGKILL); ``cleanup()`` also deletes ``workdir``.
    """

    def __init__(self, binary: Path, workdir: Path, bucket: str = BUCKET) -> None:
        self.binary = Path(binary)
        self.workdir = Path(workdir)
        self.bucket = bucket
        # Keys of this store alone: a probe that reached another store (mini moves a port that
        # was taken meanwhile, silently) is refused instead of passing for ours.
        self.access_key_id = "SWTEST" + secrets.token_hex(7).upper()
        self.secret_access_key = secrets.token_urlsafe(30)
        self.ports: Dict[str, int] = {}
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.startup_seconds: Optional[float] = None

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT`` of the S3 gateway."""
        return f"http://127.0.0.1:{self.ports['s3']}"

    @property
    def credentials(self) -> S3Credentials:
        return S3Credentials(self.endpoint, self.access_key_id, self.secret_access_key, REGION)

    @property
    def log_path(self) -> Path:
        return self.workdir / "weed.log"

    def identities(self) -> Dict[str, object]:
        """The ``-s3.config`` file: one identity, ours, allowed everything."""
        return {
            "identities": [
                {
                    "name": "lakefs-sdk-tests",
                    "credentials": [{"accessKey": self.access_key_id, "secretKey": self.secret_access_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }

    def command(self) -> List[str]:
        """The ``weed mini`` command line."""
        ports = self.ports
        work = self.workdir
        return [
            str(self.binary),
            "mini",
            f"-dir={work / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={ports['master']}",
            f"-volume.port={ports['volume']}",
            f"-filer.port={ports['filer']}",
            f"-s3.port={ports['s3']}",
            f"-admin.port={ports['admin']}",
            "-admin.port.legacy=0",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-s3.iam=false",
            f"-s3.config={work / 's3.json'}",
            f"-filer.localSocket={work / 'filer.sock'}",
            f"-s3.localSocket={work / 's3.sock'}",
            "-master.telemetry=false",
            "-master.telemetry.url=http://127.0.0.1:9/",
        ]

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the store and wait until it takes writes."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("the object store is already running")
        started = time.monotonic()
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        (self.workdir / "s3.json").write_text(json.dumps(self.identities(), indent=2) + "\n", encoding="utf-8")
        self.ports = dict(zip(SERVICES, free_service_ports(len(SERVICES)), strict=True))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.workdir)}
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
                start_new_session=True,
            )
        self._wait_ready(started + timeout)
        self.startup_seconds = time.monotonic() - started

    def _wait_ready(self, deadline: float) -> None:
        problem = "no answer yet"
        probe = f"/{self.bucket}/.readiness-probe"
        content = b"ready?"
        for _ in range(PROBE_TRIES):
            if time.monotonic() >= deadline:
                break
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited with status {self.process.returncode}:\n{self.log_tail()}")
            left = max(1.0, min(REQUEST_TIMEOUT, deadline - time.monotonic()))
            try:
                made = s3_request(self.credentials, "PUT", f"/{self.bucket}", timeout=left)
                # 409 BucketAlreadyOwnedByYou: an earlier try made it.
                if made.status not in (200, 409):
                    raise _NotReady(f"PUT bucket: {made.status} {made.body[:200]!r}")
                for method, body, expected in (("PUT", content, 200), ("GET", b"", 200), ("DELETE", b"", 204)):
                    answer = s3_request(self.credentials, method, probe, body, timeout=left)
                    if answer.status != expected or (method == "GET" and answer.body != content):
                        raise _NotReady(f"{method} probe object: {answer.status} {answer.body[:200]!r}")
                return
            except (OSError, http.client.HTTPException, _NotReady) as error:
                problem = str(error) or type(error).__name__
            time.sleep(0.25)
        self.kill()
        raise RuntimeError(f"the object store took no write at {self.endpoint} in time ({problem}):\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        """The end of the store's output, for error messages."""
        if not self.log_path.is_file():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Ask the store to exit; kill it if it has not within ``timeout`` seconds."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Kill the store at once (SIGKILL)."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        signal_group(process.pid, signal.SIGKILL)
        process.wait()

    def cleanup(self) -> None:
        """Stop the store and delete its folder."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def env(self) -> Dict[str, str]:
        """What a client needs to reach this store."""
        return {
            "OBJECT_STORE_ENDPOINT": self.endpoint,
            "OBJECT_STORE_REGION": REGION,
            "OBJECT_STORE_ACCESS_KEY_ID": self.access_key_id,
            "OBJECT_STORE_SECRET_ACCESS_KEY": self.secret_access_key,
            "OBJECT_STORE_BUCKET": self.bucket,
        }


class _NotReady(Exception):
    pass


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group ``pid`` leads; a group already gone is fine."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def alive(pid: int) -> bool:
    """True while process ``pid`` exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_pid(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """Stop the process group ``pid`` that another command started: SIGTERM, then SIGKILL."""
    if not alive(pid):
        return
    signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid):
        signal_group(pid, signal.SIGKILL)


def exit_on_signals() -> None:
    """Turn SIGTERM and SIGHUP into SystemExit, so that cleanup code runs on them as on errors."""

    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGHUP, leave)


def print_env(env: Mapping[str, str]) -> None:
    """``export NAME=value`` lines, quoted for the shell."""
    for key, value in env.items():
        print(f"export {key}={shlex.quote(value)}")


# -- the command line: one background store per state folder -------------------------------


def _state_file(state_dir: Path) -> Path:
    return state_dir / "store.json"


def _read_state(state_dir: Path) -> Optional[Tuple[int, str, Dict[str, str]]]:
    path = _state_file(state_dir)
    if not path.is_file():
        return None
    state = json.loads(path.read_text(encoding="utf-8"))
    return int(state["pid"]), str(state["workdir"]), {str(k): str(v) for k, v in state["env"].items()}


def command_start(state_dir: Path) -> int:
    state = _read_state(state_dir)
    if state is not None and alive(state[0]):
        _log(f"already running (pid {state[0]}); `stop` it first")
        print_env(state[2])
        return 0
    binary = build()
    state_dir.mkdir(parents=True, exist_ok=True)
    store = ObjectStore(binary, Path(tempfile.mkdtemp(prefix="object-store-")))
    exit_on_signals()
    try:
        store.start()
    except BaseException:
        store.cleanup()
        raise
    assert store.process is not None
    record = {"pid": store.process.pid, "workdir": str(store.workdir), "env": store.env()}
    _state_file(state_dir).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    _log(
        f"SeaweedFS S3 is running at {store.endpoint} (pid {store.process.pid}, data in {store.workdir}, "
        f"ready in {store.startup_seconds:.1f} s)"
    )
    print_env(store.env())
    return 0


def command_env(state_dir: Path) -> int:
    state = _read_state(state_dir)
    if state is None or not alive(state[0]):
        _log(f"no object store is running for {state_dir}; run `start`")
        return 1
    print_env(state[2])
    return 0


def command_stop(state_dir: Path) -> int:
    state = _read_state(state_dir)
    if state is None:
        return 0
    pid, workdir, _ = state
    stop_pid(pid)
    shutil.rmtree(workdir, ignore_errors=True)
    _state_file(state_dir).unlink()
    _log(f"stopped the object store (pid {pid})")
    return 0


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("build", "start", "env", "stop"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_STATE_DIR, help="state folder (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.command == "build":
        print(build())
        return 0
    if args.command == "start":
        return command_start(args.dir)
    if args.command == "env":
        return command_env(args.dir)
    return command_stop(args.dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
