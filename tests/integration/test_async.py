"""The asyncio client on the real server: objects, branches, commits, merge, listing and an
import polled to completion, with results read back through the sync client (and the
other way round), many calls running concurrently on one ``AsyncApiClient``."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, List, TypeVar

import pytest

import lakefs_sdk
from lakefs_sdk import aio
from lakefs_sdk.aio import AsyncApiClient
from lakefs_sdk.aio.transfer import download_many, upload_many
from lakefs_sdk.models import BranchCreation, CommitCreation, ImportCreation, ImportLocation, Merge

from support.lakefs import LakeFS, unique_name
from support.recording_proxy import RecordingProxy

T = TypeVar("T")


def run(lakefs: LakeFS, proxy: RecordingProxy, make: Callable[[AsyncApiClient], Awaitable[T]]) -> T:
    """Run ``make(client)`` with an AsyncApiClient on the real server, through the recording proxy."""

    async def main() -> T:
        async with AsyncApiClient(lakefs.configuration(proxy.url)) as client:
            return await make(client)

    return asyncio.run(main())


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        await asyncio.sleep(0)
        yield data[i : i + size]


def test_objects_round_trip_and_concurrent_stats(
    lakefs: LakeFS, lakefs_proxy: RecordingProxy, lakefs_client: lakefs_sdk.LakeFSClient, repo: str, tmp_path: Path
) -> None:
    payload = os.urandom(2 * 1024 * 1024 + 3)
    source = tmp_path / "source.bin"
    source.write_bytes(payload)

    async def scenario(client: AsyncApiClient) -> Any:
        objects = aio.ObjectsApi(client)
        from_iter = await objects.upload_object(
            repo, "main", "async/iter.bin", content=chunks(payload, 300_000), _content_type="application/octet-stream"
        )
        from_path = await objects.upload_object(repo, "main", "async/path.bin", content=source)
        small = await asyncio.gather(
            *(objects.upload_object(repo, "main", f"async/small/{i:02}.txt", content=f"n{i}".encode()) for i in range(20))
        )
        stats = await asyncio.gather(*(objects.stat_object(repo, "main", f"async/small/{i:02}.txt") for i in range(20)))
        response = await objects.get_object_without_preload_content(repo, "main", "async/iter.bin")
        streamed = b"".join([chunk async for chunk in response.iter_bytes(256 * 1024)])
        whole = await objects.get_object(repo, "main", "async/path.bin")
        with pytest.raises(lakefs_sdk.NotFoundException) as missing:
            await objects.stat_object(repo, "main", "async/none")
        with pytest.raises(lakefs_sdk.PreconditionFailedException):
            await objects.upload_object(repo, "main", "async/path.bin", if_none_match="*", content=b"again")
        return from_iter, from_path, small, stats, streamed, whole, missing.value

    from_iter, from_path, small, stats, streamed, whole, missing = run(lakefs, lakefs_proxy, scenario)
    assert from_iter.size_bytes == from_path.size_bytes == len(payload)
    assert streamed == payload and whole == payload
    assert [s.path for s in stats] == [s.path for s in small] and all(s.size_bytes == 2 or s.size_bytes == 3 for s in stats)
    assert missing.status == 404 and missing.operation == "statObject" and missing.request_id
    # Read back through the sync client: what the async one wrote is there.
    assert lakefs_client.objects_api.get_object(repo, "main", "async/iter.bin") == payload
    assert lakefs_client.objects_api.stat_object(repo, "main", "async/path.bin").checksum == from_path.checksum


def test_branches_commits_merge_and_listing(
    lakefs: LakeFS, lakefs_proxy: RecordingProxy, lakefs_client: lakefs_sdk.LakeFSClient, repo: str
) -> None:
    async def scenario(client: AsyncApiClient) -> Any:
        branches, commits, objects, refs = (
            aio.BranchesApi(client), aio.CommitsApi(client), aio.ObjectsApi(client), aio.RefsApi(client),
        )
        await asyncio.gather(
            *(branches.create_branch(repo, BranchCreation(name=f"feature-{i}", source="main")) for i in range(5))
        )
        names = [ref.id async for ref in branches.list_branches_iter(repo, amount=2)]
        await asyncio.gather(
            *(objects.upload_object(repo, "feature-0", f"data/{i:03}.csv", content=b"a,b\n") for i in range(25))
        )
        listed = [o.path async for o in objects.list_objects_iter(repo, "feature-0", prefix="data/", amount=10)]
        commit = await commits.commit(repo, "feature-0", CommitCreation(message="async commit", metadata={"by": "aio"}))
        got = await commits.get_commit(repo, commit.id)
        merged = await refs.merge_into_branch(repo, "feature-0", "main", merge=Merge(message="merge feature-0"))
        log = [c.message async for c in refs.log_commits_iter(repo, "main", amount=1)]
        return names, listed, commit, got, merged, log

    names, listed, commit, got, merged, log = run(lakefs, lakefs_proxy, scenario)
    assert names == ["feature-0", "feature-1", "feature-2", "feature-3", "feature-4", "main"]
    assert listed == [f"data/{i:03}.csv" for i in range(25)], "three pages of 10, followed in order"
    assert got.id == commit.id and got.metadata == {"by": "aio"}
    assert merged.reference
    assert log[0] == "merge feature-0" and "async commit" in log
    head = lakefs_client.branches_api.get_branch(repo, "main")
    assert head.commit_id == merged.reference
    assert lakefs_client.objects_api.stat_object(repo, "main", "data/024.csv").size_bytes == 4


def test_upload_many_and_download_many(
    lakefs: LakeFS, lakefs_proxy: RecordingProxy, lakefs_client: lakefs_sdk.LakeFSClient, repo: str, tmp_path: Path
) -> None:
    contents = {f"bulk/{i:02}.bin": os.urandom(10_000 + i) for i in range(12)}
    lakefs_client.objects_api.upload_object(repo, "main", "bulk/05.bin", content=b"already here")
    done: List[int] = []

    async def scenario(client: AsyncApiClient) -> Any:
        objects = aio.ObjectsApi(client)
        uploaded = await upload_many(
            objects, repo, "main", [(content, path) for path, content in contents.items()],
            concurrency=4, if_none_match="*", progress=lambda d, t: done.append(d),
        )
        items = [(path, tmp_path / path.replace("/", "_")) for path in contents] + [("bulk/none", tmp_path / "none")]
        downloaded = await download_many(objects, repo, "main", items, concurrency=4)
        return uploaded, downloaded

    uploaded, downloaded = run(lakefs, lakefs_proxy, scenario)
    assert [r.path for r in uploaded.failed] == ["bulk/05.bin"]
    assert isinstance(uploaded.failed[0].error, lakefs_sdk.PreconditionFailedException)
    assert len(uploaded.succeeded) == 11
    assert done[-1] == sum(len(c) for c in contents.values()), "progress counts bytes sent, the refused item's too"
    assert [r.path for r in downloaded.failed] == ["bulk/none"]
    for path, content in contents.items():
        expected = b"already here" if path == "bulk/05.bin" else content
        assert (tmp_path / path.replace("/", "_")).read_bytes() == expected
    assert not (tmp_path / "none").exists()


def test_import_polled_to_completion(
    lakefs: LakeFS, lakefs_proxy: RecordingProxy, lakefs_client: lakefs_sdk.LakeFSClient, repo: str
) -> None:
    source = lakefs.import_dir / unique_name("aio-import")
    source.mkdir(parents=True)
    files = {f"part-{i}.csv": f"id,value\n{i},{i * i}\n".encode() for i in range(4)}
    for name, content in files.items():
        (source / name).write_bytes(content)

    async def scenario(client: AsyncApiClient) -> Any:
        imports = aio.ImportApi(client)
        creation = ImportCreation(
            paths=[ImportLocation(type="common_prefix", path=f"local://{source}/", destination="imported/")],
            commit=CommitCreation(message="async import"),
        )
        started = await imports.import_start(repo, "main", creation)
        for _ in range(600):  # polled without blocking the loop
            status = await imports.import_status(repo, "main", started.id)
            if status.completed:
                return status
            await asyncio.sleep(0.05)
        raise AssertionError("the import did not complete")

    status = run(lakefs, lakefs_proxy, scenario)
    assert status.error is None and status.ingested_objects == len(files)
    assert status.commit is not None and status.commit.message == "async import"
    for name, content in files.items():
        stats = lakefs_client.objects_api.stat_object(repo, "main", f"imported/{name}")
        assert stats.checksum == hashlib.md5(content).hexdigest()
