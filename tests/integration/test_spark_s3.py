"""The guide's Spark pattern on a real engine: PySpark in ``local[2]`` mode against lakeFS on S3.

A client captured in the function given to ``mapPartitions`` is pickled into each task, as
``docs/guide.md`` ("### Spark") shows. One test runs the guide's own snippet, read from the
guide (the one marked ``<!-- runs-in: tests/integration/test_spark_s3.py ... -->``, which
``tests/docs/test_guide.py`` leaves to this module): ``upload_many`` inside each partition,
its uploads presigned on this store; the other reads objects (forty small ones and one of a
few MiB) in the partitions with presigned reads (``download_many(..., presign=True)``:
lakeFS answers each read with a redirect, the bytes come straight from the S3 store). Every
object is checked by sha256.

Spark binds to 127.0.0.1 only (driver host and bind address, ``SPARK_LOCAL_IP``; no UI),
and a check of the sockets of the JVM and its Python workers makes sure none of them has
an address outside 127.0.0.0/8. Needs lakeFS on an S3 store (``LAKEFS_STORE=s3``), pyspark
(the spark extra, which ``scripts/test.sh`` installs) and a Java runtime; without pyspark or
Java the Spark tests skip with the reason, but fail when ``CI`` is true or
``LAKEFS_SDK_REQUIRE_SPARK=1`` (``scripts/test.sh`` sets it), so that they cannot silently vanish.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import io
import ipaddress
import os
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import pytest

from lakefs_sdk import ObjectsApi
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.transfer import download_many, upload_many

from support.lakefs import Wire, s3_store_only, statuses

# A mark and a fixture, not a module-level importorskip: the tests stay collected, so the
# coverage gate (test_coverage.py) still sees a whole run where pyspark is not installed.
pytestmark = [s3_store_only]

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guide.md"
THIS_MODULE = "tests/integration/test_spark_s3.py"
PLACEHOLDER_REPO = "example-repo"
DIRECTIVE = re.compile(r"^<!--\s*([\w-]+):\s*(.*?)\s*-->$")

KiB = 1024
MiB = 1024 * KiB
SMALL = 40
PARTITIONS = 4


# -- what Spark needs --------------------------------------------------------------------------


def spark_required() -> bool:
    """Whether a missing pyspark or Java fails the tests instead of skipping them."""
    return os.environ.get("CI", "").lower() in ("true", "1") or os.environ.get("LAKEFS_SDK_REQUIRE_SPARK") == "1"


def missing_for_spark() -> Optional[str]:
    """Why Spark cannot run here, or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "needs pyspark: the spark extra (pip install -e '.[spark]'; scripts/test.sh installs it)"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "needs a Java runtime for Spark (java on PATH or JAVA_HOME)"
    return None


# -- the guide's snippet ------------------------------------------------------------------------


@dataclass
class GuideSnippet:
    """A ```python block of the guide that names this module in its runs-in directive."""

    line: int  # of its first code line
    code: str
    wire: List[str]


def guide_snippets_run_here(text: str) -> List[GuideSnippet]:
    """The guide's snippets marked ``<!-- runs-in: tests/integration/test_spark_s3.py REASON -->``."""
    lines = text.splitlines()
    found = []
    for index, line in enumerate(lines):
        if line.rstrip() != "```python":
            continue
        directives: Dict[str, str] = {}
        above = index - 1
        while above >= 0 and (not lines[above].strip() or DIRECTIVE.match(lines[above].strip())):
            directive = DIRECTIVE.match(lines[above].strip())
            if directive is not None:
                directives[directive.group(1)] = directive.group(2)
            above -= 1
        if directives.get("runs-in", "").split(" ", 1)[0] != THIS_MODULE:
            continue
        end = lines.index("```", index + 1)
        wire = directives.get("wire", "")
        found.append(GuideSnippet(index + 2, "\n".join(lines[index + 1 : end]) + "\n", wire.split()))
    return found


def sent_in_any_order(sent: List[str], expected: List[str]) -> bool:
    """Whether ``sent`` holds each operation of ``expected`` and no other: ``op`` once, ``op+`` one or more
    times, in any order (the tasks of a Spark job run side by side)."""
    counts = Counter(sent)
    names = [op.removesuffix("+") for op in expected]
    return set(counts) == set(names) and all(counts[op] == 1 for op in expected if not op.endswith("+"))


# -- run in the Python workers (sent by value: they need not import this module) -------------


def read_partition(objects: ObjectsApi, repo: str, paths: Iterator[str]) -> Iterator[Tuple[str, str, int]]:
    """Read this partition's objects with presigned reads; yield (path, sha256, worker pid)."""
    buffers = {path: io.BytesIO() for path in paths}
    report = download_many(objects, repo, "main", list(buffers.items()), presign=True, concurrency=4)
    report.raise_first()
    return iter([(path, hashlib.sha256(b.getvalue()).hexdigest(), os.getpid()) for path, b in buffers.items()])


# -- the session -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """A local[2] SparkSession on 127.0.0.1 only, stopped whatever happens."""
    missing = missing_for_spark()
    if missing is not None:
        if spark_required():
            pytest.fail(f"{missing}; CI or LAKEFS_SDK_REQUIRE_SPARK=1 requires the Spark tests to run", pytrace=False)
        pytest.skip(missing)
    from pyspark.sql import SparkSession

    cloudpickle: Any = importlib.import_module("pyspark.cloudpickle")  # untyped

    this_module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(this_module)
    session = None
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        patch.setenv("PYSPARK_PYTHON", sys.executable)  # the workers need lakefs_sdk: this venv's Python
        patch.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
        try:
            session = (
                SparkSession.builder.master("local[2]")
                .appName("lakefs-sdk-test")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.default.parallelism", str(PARTITIONS))
                .getOrCreate()
            )
            session.sparkContext.setLogLevel("ERROR")
            session.sparkContext.parallelize([0], 1).count()  # the Python workers start here
            yield session
        finally:
            if session is not None:
                session.stop()
            cloudpickle.unregister_pickle_by_value(this_module)


# -- only loopback ----------------------------------------------------------------------------


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address of /proc/net/tcp{,6} (hex, 32-bit words in host order) as an ip address."""
    raw = bytes.fromhex(text)
    host = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.IPv4Address(host) if len(host) == 4 else ipaddress.IPv6Address(host)


def _loopback_or_unset(address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, unset_ok: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or (unset_ok and address.is_unspecified)


def _off_loopback(local: str, remote: str) -> bool:
    """For ends of /proc/net/tcp{,6} (``ADDRESS:PORT``): bound off loopback, or connected off it."""
    bound, peer = (_address(end.split(":")[0]) for end in (local, remote))
    return not (_loopback_or_unset(bound, unset_ok=False) and _loopback_or_unset(peer, unset_ok=True))


def _descriptors(pid: int) -> List[str]:
    """What the open file descriptors of ``pid`` point at (none for a process that ended meanwhile)."""
    links = []
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                links.append(os.readlink(fd))
            except OSError:
                pass  # closed meanwhile
    except OSError:
        pass  # the process ended meanwhile
    return links


def off_loopback_sockets(pids: Set[int]) -> List[str]:
    """The TCP sockets of ``pids`` bound or connected to anything but 127.0.0.0/8 (or ::1)."""
    table: Dict[str, Tuple[str, str]] = {}
    for name in ("tcp", "tcp6"):
        lines = Path("/proc/net", name).read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            table[fields[9]] = (fields[1], fields[2])  # inode -> local, remote
    found = []
    for pid in pids:
        for link in _descriptors(pid):
            inode = link[len("socket:["):-1] if link.startswith("socket:[") else None
            if inode is None or inode not in table:
                continue
            if _off_loopback(*table[inode]):
                found.append(f"pid {pid}: {table[inode]}")
    return found


def spark_processes(session: Any) -> Set[int]:
    """The driver JVM and every process under it (the Python daemon and its workers)."""
    jvm = int(session.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    parents: Dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found = {jvm}
    while True:
        more = {pid for pid, parent in parents.items() if parent in found} - found
        if not more:
            return found
        found |= more


# -- the tests --------------------------------------------------------------------------------


def test_partitions_read_presigned(spark: Any, lakefs_client: LakeFSClient, repo: str, wire: Wire) -> None:
    items = {f"spark/small/{i:02}.bin": os.urandom(2 * KiB + 97 * i) for i in range(SMALL)}
    items["spark/big.bin"] = os.urandom(3 * MiB + 5)
    want = {path: hashlib.sha256(data).hexdigest() for path, data in items.items()}
    uploaded = upload_many(lakefs_client.objects_api, repo, "main", [(d, p) for p, d in items.items()], presign=False)
    assert uploaded.ok, uploaded.summary()
    before = len(wire.exchanges())

    objects = lakefs_client.objects_api  # through the recording proxy; pickled into each task
    paths = spark.sparkContext.parallelize(sorted(items), PARTITIONS)
    read = paths.mapPartitions(lambda part: read_partition(objects, repo, part)).collect()

    assert {path: digest for path, digest, _ in read} == want, "every object read back whole"
    assert len(read) == len(want), "each object read once"
    pids = {pid for _, _, pid in read}
    assert pids and os.getpid() not in pids, "the Python workers read, not the driver"
    presigned = statuses(wire.exchanges()[before:], "getObject")
    assert presigned == [302] * len(want), "lakeFS answered each read with a redirect to the store"
    assert off_loopback_sockets(spark_processes(spark)) == []


def test_the_guides_snippet_uploads_from_partitions(
    spark: Any, lakefs_client: LakeFSClient, repo: str, wire: Wire, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/guide.md's Spark snippet, its text as the guide has it, in a repository of its own."""
    found = guide_snippets_run_here(GUIDE.read_text(encoding="utf-8"))
    assert len(found) == 1, f"one snippet of docs/guide.md says <!-- runs-in: {THIS_MODULE} ... -->, not {len(found)}"
    (snippet,) = found
    code = "\n" * (snippet.line - 1) + snippet.code.replace(PLACEHOLDER_REPO, repo)  # the guide's line numbers
    # As a user's script: the names earlier snippets made (client), its functions sent by value.
    namespace: Dict[str, Any] = {"__name__": "__main__", "client": lakefs_client}
    before = len(wire.exchanges())
    exec(compile(code, str(GUIDE), "exec"), namespace)
    exchanges = wire.exchanges()[before:]

    assert namespace["spark"] is spark, "getOrCreate() gave the snippet the session bound to 127.0.0.1"
    assert capsys.readouterr().out == "0\n", "the snippet prints how many uploads failed"
    want = {path: hashlib.sha256(data).hexdigest() for path, data in namespace["rows"].collect()}
    assert len(want) == 100
    listed = [o.path for o in lakefs_client.objects_api.list_objects_iter(repo, "main", prefix="spark/", amount=1000)]
    assert sorted(listed) == sorted(want), "nothing lost, nothing duplicated, nothing extra"
    got = {path: hashlib.sha256(lakefs_client.objects_api.get_object(repo, "main", path)).hexdigest() for path in want}
    assert got == want, "every object holds its row"

    sent = [e.operation_id or f"{e.method} {e.target}" for e in exchanges]
    assert sent_in_any_order(sent, snippet.wire), f"docs/guide.md:{snippet.line}: sent {Counter(sent)}, the guide says {snippet.wire}"
    # On this store upload_many (presign=None) sends the bytes straight to S3: one address and one link per object.
    assert statuses(exchanges, "getPhysicalAddress") == [200] * len(want)
    assert statuses(exchanges, "linkPhysicalAddress") == [200] * len(want)
    assert off_loopback_sockets(spark_processes(spark)) == []


def test_sent_in_any_order() -> None:
    assert sent_in_any_order(["b", "a", "b", "c"], ["a", "b+", "c"])
    assert not sent_in_any_order(["a", "b", "c", "a"], ["a", "b+", "c"]), "a once"
    assert not sent_in_any_order(["a", "c"], ["a", "b+", "c"]), "b at least once"
    assert not sent_in_any_order(["a", "b", "c", "d"], ["a", "b+", "c"]), "nothing else"


@pytest.mark.parametrize(
    ("local", "remote", "off_loopback"),
    [
        ("0100007F:1F90", "0100007F:D431", False),  # 127.0.0.1 to 127.0.0.1
        ("0100007F:1F90", "00000000:0000", False),  # listening on 127.0.0.1
        ("0000000000000000FFFF00000100007F:1F90", "00000000000000000000000000000000:0000", False),  # ::ffff:127.0.0.1
        ("00000000000000000000000001000000:1F90", "00000000000000000000000000000000:0000", False),  # ::1
        ("00000000:1F90", "00000000:0000", True),  # listening on every interface
        ("0100007F:D431", "0101A8C0:01BB", True),  # to 192.168.1.1
        ("0000000000000000FFFF00000101A8C0:1F90", "00000000000000000000000000000000:0000", True),  # ::ffff:192.168.1.1
    ],
)
def test_the_socket_check_tells_loopback_apart(local: str, remote: str, off_loopback: bool) -> None:
    assert _off_loopback(local, remote) is off_loopback
