"""lakefs_sdk on a real distributed engine: a Dask ``LocalCluster`` of two worker processes.

The cluster binds to 127.0.0.1 only (scheduler, workers and nannies; no dashboards).
First, a client pickled into every task uploads a few hundred objects across both workers,
which then read them back; the test reads every object once more and compares sha256.
Then ``dask.dataframe`` reads a partitioned Parquet dataset and CSV files through
lakefs-spec's ``lakefs://`` URLs (lakefs-spec running on this package in the workers), and
writes one back. Skipped where dask.distributed is not installed (the examples extra).
"""

from __future__ import annotations

import hashlib
import io
import os
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from lakefs_sdk import ObjectsApi
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.transfer import upload_many

from support.lakefs import LakeFS
from support.recording_proxy import RecordingProxy

distributed = pytest.importorskip("distributed", reason="needs dask[distributed]: the examples extra")
dd = pytest.importorskip("dask.dataframe", reason="needs dask[dataframe]: the examples extra")
pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")
pytest.importorskip("lakefs_spec")

COUNT = 300
CHUNK = 25


def content(index: int) -> bytes:
    return hashlib.sha256(b"dask %d" % index).digest() * (1 + index % 64)


def path_of(index: int) -> str:
    return f"dask/{index % 4}/{index:04}.bin"


def upload_chunk(objects: ObjectsApi, repo: str, indexes: List[int]) -> Tuple[int, List[str]]:
    """In a worker: upload the objects of ``indexes`` with the client the task carried."""
    report = upload_many(objects, repo, "main", [(content(i), path_of(i)) for i in indexes], concurrency=4)
    report.raise_first()
    return os.getpid(), [r.path for r in report]


def read_chunk(objects: ObjectsApi, repo: str, paths: List[str]) -> Tuple[int, Dict[str, str]]:
    """In a worker: read objects back, path -> sha256."""
    return os.getpid(), {p: hashlib.sha256(objects.get_object(repo, "main", p)).hexdigest() for p in paths}


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    import cloudpickle

    import tests.integration.test_dask as this_module

    # Tasks name functions of this module: send them by value, the workers need not import it.
    cloudpickle.register_pickle_by_value(this_module)
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=2,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        worker_dashboard_address=None,
        protocol="tcp://",
    )
    try:
        with distributed.Client(cluster) as client:
            yield client
    finally:
        cluster.close()
        cloudpickle.unregister_pickle_by_value(this_module)


def loopback_only(client: Any) -> None:
    info = client.scheduler_info()
    addresses = [info["address"]] + list(info["workers"]) + [w.get("nanny") for w in info["workers"].values()]
    for address in addresses:
        if address:
            assert address.startswith("tcp://127.0.0.1:"), f"{address} is not on the loopback interface"


def stored(client: LakeFSClient, repo: str, prefix: str) -> Dict[str, str]:
    listed = [o.path for o in client.objects_api.list_objects_iter(repo, "main", prefix=prefix, amount=1000)]
    assert len(listed) == len(set(listed))
    return {p: hashlib.sha256(client.objects_api.get_object(repo, "main", p)).hexdigest() for p in listed}


def test_uploads_and_reads_mapped_across_workers(dask_client: Any, lakefs_client: LakeFSClient, repo: str) -> None:
    loopback_only(dask_client)
    workers = sorted(dask_client.scheduler_info()["workers"])
    assert len(workers) == 2
    objects = lakefs_client.objects_api  # through the recording proxy; pickled into every task
    chunks = [list(range(start, min(start + CHUNK, COUNT))) for start in range(0, COUNT, CHUNK)]
    # Chunks go to the two workers in turn, so that both do work.
    uploads = [
        dask_client.submit(upload_chunk, objects, repo, chunk, workers=[workers[n % 2]], pure=False)
        for n, chunk in enumerate(chunks)
    ]
    uploaded = dask_client.gather(uploads)
    paths = [[p for p in done] for _, done in uploaded]
    reads = [
        dask_client.submit(read_chunk, objects, repo, chunk, workers=[workers[(n + 1) % 2]], pure=False)
        for n, chunk in enumerate(paths)
    ]
    read = dask_client.gather(reads)

    pids = {pid for pid, _ in uploaded} | {pid for pid, _ in read}
    assert len(pids) == 2 and os.getpid() not in pids, "both worker processes did the work"
    want = {path_of(i): hashlib.sha256(content(i)).hexdigest() for i in range(COUNT)}
    read_back: Dict[str, str] = {}
    for _, chunk in read:
        read_back.update(chunk)
    assert read_back == want, "the workers read back what the others wrote"
    assert stored(lakefs_client, repo, "dask/") == want, "nothing lost, nothing duplicated, nothing extra"


def test_dataframes_through_lakefs_urls(
    dask_client: Any, lakefs: LakeFS, lakefs_proxy: RecordingProxy, lakefs_client: LakeFSClient, repo: str
) -> None:
    frames = {
        day: pd.DataFrame({"id": range(day * 100, day * 100 + 100), "value": [i * 0.25 for i in range(100)]})
        for day in range(1, 5)
    }
    items = []
    for day, frame in frames.items():
        parquet = io.BytesIO()
        frame.to_parquet(parquet, index=False)
        items.append((parquet.getvalue(), f"tables/events/day={day}/part-0.parquet"))
        items.append((frame.to_csv(index=False).encode(), f"csv/events-{day}.csv"))
    assert upload_many(lakefs_client.objects_api, repo, "main", items).ok
    options = {"host": lakefs_proxy.url, "username": lakefs.access_key_id, "password": lakefs.secret_access_key}
    whole = pd.concat(frames.values(), ignore_index=True)

    parquet = dd.read_parquet(f"lakefs://{repo}/main/tables/events/", storage_options=options)
    assert parquet.npartitions == 4
    computed = parquet.compute().sort_values("id").reset_index(drop=True)
    assert computed[["id", "value"]].equals(whole)
    assert sorted(computed["day"].astype(int).unique()) == [1, 2, 3, 4], "the partition column came from the paths"

    csv = dd.read_csv(f"lakefs://{repo}/main/csv/events-*.csv", storage_options=options)
    assert csv.npartitions == 4
    assert csv.compute().sort_values("id").reset_index(drop=True).equals(whole)

    # Written from the workers. No trailing slash: lakefs-spec would store keys with "//" in them.
    doubled = csv.assign(value=csv["value"] * 2)
    doubled.to_parquet(f"lakefs://{repo}/main/tables/doubled", storage_options=options, write_index=False)
    written = sorted(o.path for o in lakefs_client.objects_api.list_objects_iter(repo, "main", prefix="tables/doubled/"))
    assert written == [f"tables/doubled/part.{n}.parquet" for n in range(4)]
    back = dd.read_parquet(f"lakefs://{repo}/main/tables/doubled", storage_options=options).compute()
    assert sorted(back["value"]) == sorted(whole["value"] * 2)
