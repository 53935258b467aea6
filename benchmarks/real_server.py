"""The real lakeFS server of the bulk-transfer figures, started and stopped by ``run.py``.

It is ``scripts/lakefs_server.py``'s ``LakeFSServer`` (lakeFS 1.84.0 built from its Go
module, cached after the first build) with its data in ``.cache/lakefs-run/bench-harness``,
listening on 127.0.0.1 only; the folder is deleted when the server stops. Workers reach it
through the environment of :meth:`RealServer.env`, and measure its CPU time through
``/proc/<pid>/stat`` of :attr:`RealServer.pid`.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any, Dict

ROOT = Path(__file__).resolve().parent.parent
WORKDIR = ROOT / ".cache" / "lakefs-run" / "bench-harness"
VERSION = "1.84.0"


def _script() -> Any:
    spec = importlib.util.spec_from_file_location("lakefs_server", ROOT / "scripts" / "lakefs_server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class RealServer:
    """One lakeFS process for the whole harness run, on fresh data."""

    def __init__(self, version: str = VERSION, workdir: Path = WORKDIR) -> None:
        script = _script()
        binary = script.build(version)
        shutil.rmtree(workdir, ignore_errors=True)  # what a previous, interrupted run left
        workdir.mkdir(parents=True)
        self.version = version
        self.server = script.LakeFSServer(binary, workdir, version)
        self.server.start()

    @property
    def pid(self) -> int:
        """The lakeFS process (its CPU time is the server's share of a figure)."""
        process = self.server.process
        assert process is not None
        return int(process.pid)

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return str(self.server.endpoint)

    def env(self) -> Dict[str, str]:
        """What a worker needs to reach the server: endpoint and admin credentials."""
        full = self.server.env()
        return {name: full[name] for name in ("LAKEFS_ENDPOINT", "LAKEFS_ACCESS_KEY_ID", "LAKEFS_SECRET_ACCESS_KEY")}

    def stop(self) -> None:
        """Stop the server (only the process this object started) and delete its data."""
        self.server.cleanup()
