#!/usr/bin/env python3
"""A real lakeFS server on 127.0.0.1, built from lakeFS's Go module, for tests and for trying things.

    scripts/lakefs_server.py build [VERSION]              build (or find cached) and print the binary's path
    scripts/lakefs_server.py start [VERSION] [--dir DIR]  start a server in the background; print its env
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
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
MODULES = ROOT / "tests" / "lakefs_server"
CACHE = ROOT / ".cache" / "lakefs"
DEFAULT_STATE_DIR = ROOT / ".cache" / "lakefs-run"

ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ADMIN_USER = "admin"
# Encrypts the server's stored secrets; a throwaway value for a throwaway server.
AUTH_ENCRYPT_SECRET = "lakefs-sdk-tests-only-not-a-secret"

# Modules missing from the checksum database the Go proxy here is paired with; go.sum
# (committed) still pins their hashes.
GONOSUMDB = "github.com/treeverse/secret-detector,github.com/treeverse/delta-go"
VERSION_PACKAGE = "github.com/treeverse/lakefs/pkg/version.Version"

START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LakeFSServer:
    """One lakeFS process with its data in ``workdir``; restartable on the same port and data.

    ``start()`` writes the config, starts the process in its own session and waits for the
    health check. ``stop()`` asks it to exit (SIGTERM, then SIGKILL); ``kill()`` kills it at
    once, as a crash would. The data stays in ``workdir`` until ``cleanup()``.
    """

    def __init__(self, binary: Path, workdir: Path, version: str = "", port: Optional[int] = None) -> None:
        self.binary = Path(binary)
        self.workdir = Path(workdir)
        self.version = version
        self.port = port or free_port()
        self.process: Optional[subprocess.Popen[bytes]] = None

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``, without the API base path."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def import_dir(self) -> Path:
        """The local folder this server may import from (``blockstore.local.allowed_external_prefixes``)."""
        return self.workdir / "import"

    @property
    def log_path(self) -> Path:
        return self.workdir / "lakefs.log"

    def config(self) -> Dict[str, object]:
        """The server's configuration (written as JSON, which lakeFS reads like YAML)."""
        work = self.workdir
        return {
            "listen_address": f"127.0.0.1:{self.port}",
            "logging": {"format": "text", "level": "INFO", "output": str(self.log_path)},
            "database": {"type": "local", "local": {"path": str(work / "metadata")}},
            "blockstore": {
                "type": "local",
                "local": {
                    "path": str(work / "block"),
                    "import_enabled": True,
                    "allowed_external_prefixes": [str(self.import_dir)],
                },
            },
            "committed": {"local_cache": {"dir": str(work / "cache")}},
            "auth": {"encrypt": {"secret_key": AUTH_ENCRYPT_SECRET}},
            "installation": {
                "user_name": ADMIN_USER,
                "access_key_id": ACCESS_KEY_ID,
                "secret_access_key": SECRET_ACCESS_KEY,
            },
            "stats": {"enabled": False},
            "security": {"check_latest_version": False, "audit_check_url": ""},
            "email_subscription": {"enabled": False},
        }

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the server and wait until its health check answers 204."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("lakeFS is already running")
        self.import_dir.mkdir(parents=True, exist_ok=True)
        config_file = self.workdir / "config.json"
        config_file.write_text(json.dumps(self.config(), indent=2) + "\n", encoding="utf-8")
        # HOME in the workdir: anything lakeFS would put under ~ stays in the temp folder.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.workdir)}
        with open(self.workdir / "stdout.log", "ab") as out:
            self.process = subprocess.Popen(
                [str(self.binary), "run", "--config", str(config_file)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                # lakeFS writes some files relative to its working directory (GC prepare's gc.db).
                cwd=self.workdir,
                start_new_session=True,
            )
        self._wait_healthy(timeout)

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = self.endpoint + "/api/v1/healthcheck"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"lakeFS exited with status {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 204:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"lakeFS did not answer {url} within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log and output, for error messages."""
        parts = []
        for path in (self.workdir / "stdout.log", self.log_path):
            if path.is_file():
                parts.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(parts)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Ask the server to exit; kill it if it has not within ``timeout`` seconds."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()

    def restart(self) -> None:
        """Stop and start again on the same port with the same data."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        """Stop the server and delete its folder."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def env(self) -> Dict[str, str]:
        """What a client needs to reach this server."""
        return {
            "LAKEFS_ENDPOINT": self.endpoint,
            "LAKEFS_VERSION": self.version,
            "LAKEFS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "LAKEFS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "LAKEFS_IMPORT_DIR": str(self.import_dir),
            "LAKEFS_BIN": str(self.binary),
            "LAKECTL_SERVER_ENDPOINT_URL": self.endpoint + "/api/v1",
            "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        }


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


# -- the command line: one background server per state folder ------------------------------


def _state_file(state_dir: Path) -> Path:
    return state_dir / "server.json"


def _read_state(state_dir: Path) -> Optional[Dict[str, object]]:
    path = _state_file(state_dir)
    if not path.is_file():
        return None
    state: Dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return state


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _print_env(env: Dict[str, str]) -> None:
    for key, value in env.items():
        print(f"export {key}={shlex.quote(value)}")


def command_start(version: str, state_dir: Path) -> int:
    state = _read_state(state_dir)
    if state is not None and _alive(int(str(state["pid"]))):
        _log(f"already running (pid {state['pid']}); `stop` it first")
        _print_env(dict(state["env"]))  # type: ignore[call-overload]
        return 0
    binary = build(version)
    state_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"lakefs-{version}-"))
    server = LakeFSServer(binary, workdir, version)
    try:
        server.start()
    except BaseException:
        server.cleanup()
        raise
    assert server.process is not None
    record = {"pid": server.process.pid, "workdir": str(workdir), "env": server.env()}
    _state_file(state_dir).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    _log(f"lakeFS {version} is running at {server.endpoint} (pid {server.process.pid}, data in {workdir})")
    _print_env(server.env())
    return 0


def command_env(state_dir: Path) -> int:
    state = _read_state(state_dir)
    if state is None or not _alive(int(str(state["pid"]))):
        _log(f"no lakeFS server is running for {state_dir}; run `start`")
        return 1
    _print_env(dict(state["env"]))  # type: ignore[call-overload]
    return 0


def command_stop(state_dir: Path) -> int:
    state = _read_state(state_dir)
    if state is None:
        return 0
    pid = int(str(state["pid"]))
    if _alive(pid):
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
    shutil.rmtree(str(state["workdir"]), ignore_errors=True)
    _state_file(state_dir).unlink()
    _log(f"stopped lakeFS (pid {pid})")
    return 0


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("build", "start", "env", "stop"))
    parser.add_argument("version", nargs="?", default=None, help="lakeFS version (default: %(default)s)")
    parser.add_argument("--dir", type=Path, default=None, help="state folder (default: .cache/lakefs-run/VERSION)")
    args = parser.parse_args(argv)
    version = args.version or versions()[0]
    state_dir = args.dir or DEFAULT_STATE_DIR / version
    if args.command == "build":
        print(build(version))
        return 0
    if args.command == "start":
        return command_start(version, state_dir)
    if args.command == "env":
        return command_env(state_dir)
    return command_stop(state_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
