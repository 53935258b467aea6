"""Start and stop a real lakeFS server on 127.0.0.1, for tests.

The one launcher of this project: the ``lakefs_server`` fixture of the pytest plugin
(:mod:`lakefs_sdk.testing.plugin`) starts its server with it, and so can
``scripts/lakefs_server.py``. It imports nothing but the standard library (the client
is imported only when :attr:`LakeFSServer.configuration` is asked for), and
``lakefs_sdk`` and ``lakefs_sdk.testing`` load their names lazily, so
``from lakefs_sdk.testing import LakeFSServer`` works in a bare interpreter with the
source tree on ``sys.path``, without pydantic or urllib3 installed.

A server keeps everything in one folder: a ``local`` database, a ``local`` blockstore (S3
and others through ``config=``), a folder it may import from, its config and its log. The
admin user is created at start-up from ``installation.*``; nothing phones home (stats,
version checks, audit checks and e-mail subscription are off), and it listens on
127.0.0.1 only. It is ready when ``/api/v1/healthcheck`` answers 204.

Example::

    with LakeFSServer(find_binary(), tempfile.mkdtemp()) as server:   # started, then stopped
        client = ApiClient(server.configuration)
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Set, Union

if TYPE_CHECKING:
    from lakefs_sdk.configuration import Configuration

__all__ = [
    "ACCESS_KEY_ID",
    "ADMIN_USER",
    "BINARY_VARIABLE",
    "NO_BINARY_MESSAGE",
    "SECRET_ACCESS_KEY",
    "BinaryNotFoundError",
    "LakeFSServer",
    "find_binary",
    "free_port",
    "merge_config",
]

ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ADMIN_USER = "admin"
# Encrypts the server's stored secrets; a throwaway value for a throwaway server.
AUTH_ENCRYPT_SECRET = "lakefs-sdk-tests-only-not-a-secret"

BINARY_VARIABLE = "LAKEFS_BIN"
NO_BINARY_MESSAGE = (
    "no lakeFS binary: set LAKEFS_BIN=/path/to/lakefs, pass --lakefs-bin=/path/to/lakefs, or put `lakefs` "
    "on PATH (download a release archive from https://github.com/treeverse/lakeFS/releases and unpack "
    "its `lakefs` binary)"
)

START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0

PathLike = Union[str, "os.PathLike[str]"]


class BinaryNotFoundError(FileNotFoundError):
    """A lakeFS binary was named (argument or ``LAKEFS_BIN``) but is not an executable file."""


def find_binary(explicit: Optional[PathLike] = None) -> Optional[Path]:
    """The lakeFS binary to run: ``explicit``, else ``$LAKEFS_BIN``, else ``lakefs`` on ``PATH``; None if none.

    A binary named by ``explicit`` or ``LAKEFS_BIN`` that is not an executable file raises
    :class:`BinaryNotFoundError` (a misspelt path is a mistake to report, not a reason to skip).
    """
    named = os.fspath(explicit) if explicit else os.environ.get(BINARY_VARIABLE)
    if named:
        path = Path(named).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            source = "given" if explicit else f"named by {BINARY_VARIABLE}"
            raise BinaryNotFoundError(f"the lakeFS binary {source} is not an executable file: {path}")
        return path.resolve()
    found = shutil.which("lakefs")
    return Path(found).resolve() if found else None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def merge_config(base: Mapping[str, Any], extra: Mapping[str, Any]) -> Dict[str, Any]:
    """``base`` with ``extra`` merged in, section by section; a None value in ``extra`` removes that key."""
    merged: Dict[str, Any] = dict(base)
    for key, value in extra.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_config(merged[key], value)
        else:
            merged[key] = value
    return merged


# Servers this process started and has not stopped, stopped when it exits.
_RUNNING: Set[LakeFSServer] = set()
_RUNNING_LOCK = threading.Lock()


@atexit.register
def _stop_leftovers() -> None:
    with _RUNNING_LOCK:
        leftovers = list(_RUNNING)
    for server in leftovers:
        server.kill()


class LakeFSServer:
    """One lakeFS process with its data in ``workdir``; restartable on the same port and data.

    :param binary: The lakeFS executable (see :func:`find_binary`).
    :param workdir: An existing folder for the server's data, config and logs (yours:
        :meth:`cleanup` deletes it).
    :param version: The server's version, if known; otherwise asked from the server once
        it is up (``version`` is then set).
    :param port: The port on 127.0.0.1 (default: a free one).
    :param config: Extra configuration merged over :meth:`config`'s defaults by
        :func:`merge_config` (None removes a key), e.g. another blockstore:
        ``{"blockstore": {"type": "s3", "local": None, "s3": {...}}}``.
    :param env: Extra environment variables for the server process (it otherwise gets
        only ``PATH``, and ``HOME`` set to ``workdir``).
    :param storage_namespace_root: Where :meth:`storage_namespace` puts repositories
        (``local://`` for the local blockstore; ``s3://bucket/prefix`` for S3).
    :param stop_at_exit: Kill the server when this Python process exits, if it still runs
        (set False to leave a server running in the background on purpose).

    ``start()`` writes the config, starts the process in its own session and waits for the
    health check. ``stop()`` asks it to exit (SIGTERM, then SIGKILL); ``kill()`` kills it at
    once, as a crash would. The data stays in ``workdir`` until :meth:`cleanup`. Used as a
    context manager, it is started on entry and cleaned up on exit.
    """

    def __init__(
        self,
        binary: PathLike,
        workdir: PathLike,
        version: str = "",
        port: Optional[int] = None,
        *,
        config: Optional[Mapping[str, Any]] = None,
        env: Optional[Mapping[str, str]] = None,
        access_key_id: str = ACCESS_KEY_ID,
        secret_access_key: str = SECRET_ACCESS_KEY,
        storage_namespace_root: str = "local://",
        stop_at_exit: bool = True,
    ) -> None:
        self.binary = Path(binary)
        self.workdir = Path(workdir)
        self.version = version
        self.port = port or free_port()
        self.extra_config: Mapping[str, Any] = dict(config or {})
        self.extra_env: Mapping[str, str] = dict(env or {})
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.storage_namespace_root = storage_namespace_root
        self.stop_at_exit = stop_at_exit
        self.process: Optional[subprocess.Popen[bytes]] = None

    # -- where it is -------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``, without the API base path."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The API's base URL, ``http://127.0.0.1:PORT/api/v1`` (a ``Configuration``'s ``host``)."""
        return self.endpoint + "/api/v1"

    @property
    def configuration(self) -> Configuration:
        """A new ``lakefs_sdk.Configuration`` for this server, as its admin (basic auth)."""
        from lakefs_sdk.configuration import Configuration

        return Configuration(host=self.api_url, username=self.access_key_id, password=self.secret_access_key)

    @property
    def import_dir(self) -> Path:
        """A local folder this server may import from (``blockstore.local.allowed_external_prefixes``)."""
        return self.workdir / "import"

    @property
    def log_path(self) -> Path:
        return self.workdir / "lakefs.log"

    def storage_namespace(self, name: str) -> str:
        """The storage namespace for a repository called ``name``, under ``storage_namespace_root``."""
        root = self.storage_namespace_root
        return root + name if root.endswith("/") else f"{root}/{name}"

    @property
    def running(self) -> bool:
        """True while the server process runs."""
        return self.process is not None and self.process.poll() is None

    def env(self) -> Dict[str, str]:
        """The ``LAKECTL_*`` variables naming this server (what ``Configuration.from_env()`` and lakectl read)."""
        return {
            "LAKECTL_SERVER_ENDPOINT_URL": self.api_url,
            "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": self.access_key_id,
            "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": self.secret_access_key,
        }

    # -- its configuration -------------------------------------------------------------------

    def config(self) -> Dict[str, Any]:
        """The server's configuration (written as JSON, which lakeFS reads like YAML): defaults, then ``config=``."""
        work = self.workdir
        defaults: Dict[str, Any] = {
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
                "access_key_id": self.access_key_id,
                "secret_access_key": self.secret_access_key,
            },
            "stats": {"enabled": False},
            "security": {"check_latest_version": False, "audit_check_url": ""},
            "email_subscription": {"enabled": False},
        }
        return merge_config(defaults, self.extra_config)

    # -- running it --------------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the server and wait until its health check answers 204 (``RuntimeError`` with its log if not)."""
        if self.running:
            raise RuntimeError("lakeFS is already running")
        self.import_dir.mkdir(parents=True, exist_ok=True)
        config_file = self.workdir / "config.json"
        config_file.write_text(json.dumps(self.config(), indent=2) + "\n", encoding="utf-8")
        # HOME in the workdir: anything lakeFS would put under ~ stays in the folder.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.workdir), **self.extra_env}
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
        if self.stop_at_exit:
            with _RUNNING_LOCK:
                _RUNNING.add(self)
        self._wait_healthy(timeout)
        if not self.version:
            self.version = self._ask_version()

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = self.api_url + "/healthcheck"
        while time.monotonic() < deadline:
            process = self.process
            assert process is not None
            if process.poll() is not None:
                self._forget()
                raise RuntimeError(f"lakeFS exited with status {process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 204:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"lakeFS did not answer {url} within {timeout:.0f} s:\n{self.log_tail()}")

    def _ask_version(self) -> str:
        """The version the server reports (``GET /config``), or "" when it does not say."""
        credentials = base64.b64encode(f"{self.access_key_id}:{self.secret_access_key}".encode()).decode()
        request = urllib.request.Request(self.api_url + "/config", headers={"Authorization": f"Basic {credentials}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return ""
        version = (answer.get("version_config") or {}).get("version") if isinstance(answer, dict) else None
        return version if isinstance(version, str) else ""

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
        if process is not None and process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._forget()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        process = self.process
        if process is not None and process.poll() is None:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
        self._forget()

    def restart(self) -> None:
        """Stop and start again on the same port with the same data."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        """Stop the server and delete its folder."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _forget(self) -> None:
        with _RUNNING_LOCK:
            _RUNNING.discard(self)

    def __enter__(self) -> LakeFSServer:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LakeFSServer {self.version or '?'} at {self.endpoint} ({state}, data in {self.workdir})>"


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
