"""The real lakeFS server of the bulk-transfer figures, started and stopped by ``run.py``.

It is ``scripts/lakefs_server.py``'s ``LakeFSServer`` (lakeFS 1.84.0 built from its Go
module, cached after the first build) with its data in ``.cache/lakefs-run/bench-harness``,
listening on 127.0.0.1 only; the folder is deleted when the server stops. Workers reach it
through the environment of :meth:`RealServer.env`, and measure its CPU time through
``/proc/<pid>/stat`` of :attr:`RealServer.pid`.

:class:`S3RealServer` is the production-like variant of the storage figures: a SeaweedFS S3
store (``scripts/object_store.py``, cached like lakeFS) and lakeFS servers whose blockstore
is that store, so that they presign; :meth:`S3RealServer.add_lakefs` starts another lakeFS
on the same store, e.g. one whose presigned URLs point at a throttling proxy
(``blockstore.s3.pre_signed_endpoint``). Its data is in ``.cache/lakefs-run/bench-storage``.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
WORKDIR = ROOT / ".cache" / "lakefs-run" / "bench-harness"
S3_WORKDIR = ROOT / ".cache" / "lakefs-run" / "bench-storage"
VERSION = "1.84.0"


def _script(name: str = "lakefs_server") -> Any:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    if name in sys.modules:
        return sys.modules[name]
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: dataclasses look their module up in sys.modules.
    sys.modules[name] = module
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


class S3RealServer:
    """A SeaweedFS S3 store and lakeFS servers on it, for the whole harness run, on fresh data.

    The first lakeFS (``self.lake``) presigns URLs on the store itself; :meth:`add_lakefs`
    starts others (each with its own database and its own prefix in the bucket).
    """

    def __init__(self, version: str = VERSION, workdir: Path = S3_WORKDIR) -> None:
        self.script = _script()
        self.object_store = _script("object_store")
        self.binary = self.script.build(version)
        weed = self.object_store.build()
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        self.version, self.workdir = version, workdir
        self.servers: List[Any] = []
        self.store = self.object_store.ObjectStore(weed, workdir / "store")
        try:
            self.store.start()
            self.lake = self.add_lakefs("main")
        except BaseException:
            self.stop()
            raise

    def add_lakefs(self, name: str, pre_signed_endpoint: Optional[str] = None) -> Any:
        """Start another lakeFS on the store (``scripts/lakefs_server.py``'s ``LakeFSServer``)."""
        s3 = self.script.S3Blockstore(
            endpoint=self.store.endpoint,
            access_key_id=self.store.access_key_id,
            secret_access_key=self.store.secret_access_key,
            bucket=self.store.bucket,
            prefix=f"bench-{name}",
            region=self.object_store.REGION,
            pre_signed_endpoint=pre_signed_endpoint,
        )
        folder = self.workdir / f"lakefs-{name}"
        folder.mkdir()
        server = self.script.LakeFSServer(self.binary, folder, self.version, s3=s3)
        self.servers.append(server)
        server.start()
        return server

    @property
    def store_pid(self) -> int:
        """The store's process (its CPU time is the store's share of a figure)."""
        process = self.store.process
        assert process is not None
        return int(process.pid)

    @staticmethod
    def pid(server: Any) -> int:
        """The process of one of the lakeFS servers."""
        assert server.process is not None
        return int(server.process.pid)

    def env(self, server: Any) -> Dict[str, str]:
        """What a worker needs: lakeFS's endpoint, keys and namespace base (also as ``LAKECTL_*``), the store's."""
        wanted = ("LAKEFS_ENDPOINT", "LAKEFS_ACCESS_KEY_ID", "LAKEFS_SECRET_ACCESS_KEY", "LAKEFS_NAMESPACE_BASE",
                  "LAKECTL_SERVER_ENDPOINT_URL", "LAKECTL_CREDENTIALS_ACCESS_KEY_ID",
                  "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY")
        full = server.env()
        env = {name: full[name] for name in wanted}
        env.update(self.store.env())
        env["OBJECT_STORE_MASTER_URL"] = f"http://127.0.0.1:{self.store.ports['master']}"  # for /vol/vacuum
        return env

    def stop(self) -> None:
        """Stop every lakeFS, then the store (only processes this object started); delete the data."""
        for server in self.servers:
            server.stop()
        self.store.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
