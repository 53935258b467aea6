"""lakefs_sdk in ``multiprocessing`` pools on the real lakeFS, with the fork and the spawn start methods.

fork: the workers use the client the parent created and used before the pool existed
(inherited with its pooled connections, never pickled); each must make its own pool.
spawn: the client travels to the workers by pickle, as an argument of every task. Both
upload a few hundred objects spread over two processes and read them back in the
workers; then the parent reads every object once more and compares sha256: nothing
lost, nothing duplicated, nothing extra.

The task functions live at module level: a spawned worker imports this module to find them.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from typing import Any, Dict, List, Optional, Tuple

import pytest

from lakefs_sdk import ObjectsApi
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.transfer import upload_many

COUNT = 240
CHUNK = 20

pytestmark = pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")

# Set in each worker by the pool's initializer; the fork test also sets the client before forking.
_barrier: Optional[Any] = None
_inherited: Optional[ObjectsApi] = None


def content(index: int) -> bytes:
    return hashlib.sha256(b"%d" % index).digest() * (1 + index % 40)


def path_of(index: int) -> str:
    return f"mp/{index:04}.bin"


def start_worker(barrier: Any) -> None:
    global _barrier
    _barrier = barrier


def _meet(task: int) -> None:
    """The first two tasks wait for each other: they run at once, so in two different workers."""
    if task < 2 and _barrier is not None:
        _barrier.wait(timeout=120)  # a guard against a hang, not a measure


def upload_chunk(objects: Optional[ObjectsApi], repo: str, task: int) -> Tuple[int, List[str]]:
    """Upload the objects of chunk ``task`` with the given client (or the inherited one)."""
    _meet(task)
    api = objects if objects is not None else _inherited
    assert api is not None
    indexes = range(task * CHUNK, (task + 1) * CHUNK)
    report = upload_many(api, repo, "main", [(content(i), path_of(i)) for i in indexes], concurrency=4)
    report.raise_first()
    return os.getpid(), [r.value.checksum for r in report]


def read_chunk(objects: Optional[ObjectsApi], repo: str, task: int) -> Tuple[int, Dict[str, str]]:
    """Read back chunk ``task``'s objects: path -> sha256."""
    _meet(task)
    api = objects if objects is not None else _inherited
    assert api is not None
    paths = [path_of(i) for i in range(task * CHUNK, (task + 1) * CHUNK)]
    return os.getpid(), {p: hashlib.sha256(api.get_object(repo, "main", p)).hexdigest() for p in paths}


def expected() -> Dict[str, str]:
    return {path_of(i): hashlib.sha256(content(i)).hexdigest() for i in range(COUNT)}


def stored(client: LakeFSClient, repo: str) -> Dict[str, str]:
    listed = [o.path for o in client.objects_api.list_objects_iter(repo, "main", amount=1000)]
    assert len(listed) == len(set(listed))
    return {p: hashlib.sha256(client.objects_api.get_object(repo, "main", p)).hexdigest() for p in listed}


def run_pool(method: str, objects: Optional[ObjectsApi], repo: str) -> Tuple[List[Any], List[Any]]:
    context = multiprocessing.get_context(method)
    barrier = context.Barrier(2)
    tasks = [(objects, repo, task) for task in range(COUNT // CHUNK)]
    with context.Pool(2, initializer=start_worker, initargs=(barrier,)) as pool:
        uploaded = pool.starmap(upload_chunk, tasks, chunksize=1)
        read = pool.starmap(read_chunk, tasks, chunksize=1)
    return uploaded, read


def check(uploaded: List[Any], read: List[Any], client: LakeFSClient, repo: str) -> None:
    want = expected()
    workers = {pid for pid, _ in uploaded} | {pid for pid, _ in read}
    assert len(workers) == 2 and os.getpid() not in workers, "the work ran in the two workers"
    assert [c for _, chunk in uploaded for c in chunk] == [hashlib.md5(content(i)).hexdigest() for i in range(COUNT)]
    read_back: Dict[str, str] = {}
    for _, chunk in read:
        read_back.update(chunk)
    assert read_back == want, "the workers read what was written"
    assert stored(client, repo) == want, "nothing lost, nothing duplicated, nothing extra"


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform")
def test_fork_workers_use_the_parents_client(lakefs_client: LakeFSClient, repo: str) -> None:
    global _inherited
    objects = lakefs_client.objects_api
    objects.upload_object(repo, "main", "before-the-fork", content=b"x")  # the parent holds a pooled connection
    assert objects.api_client.rest_client.pool_manager.pools
    _inherited = objects
    try:
        uploaded, read = run_pool("fork", None, repo)
    finally:
        _inherited = None
    objects.delete_object(repo, "main", "before-the-fork")  # the parent's client still works
    check(uploaded, read, lakefs_client, repo)


def test_spawn_workers_get_the_client_by_pickle(lakefs_client: LakeFSClient, repo: str) -> None:
    uploaded, read = run_pool("spawn", lakefs_client.objects_api, repo)
    check(uploaded, read, lakefs_client, repo)
