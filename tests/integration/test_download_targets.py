"""Downloads from a real lakeFS into folders that do not exist yet, through both clients.

Every download to a path creates the folders it needs (as a folder given to
``download_many`` always did), and leaves no temporary file behind.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

import lakefs_sdk
from lakefs_sdk import transfer
from lakefs_sdk.aio import AsyncApiClient
from lakefs_sdk.aio import ObjectsApi as AsyncObjectsApi
from lakefs_sdk.aio import transfer as async_transfer

from support.lakefs import LakeFS
from support.recording_proxy import RecordingProxy

T = TypeVar("T")
DATA = b"bytes of a real object\n" * 100


def put(client: lakefs_sdk.LakeFSClient, repo: str, *paths: str) -> None:
    for path in paths:
        client.objects_api.upload_object(repo, "main", path, content=DATA)


def run(lakefs: LakeFS, proxy: RecordingProxy, make: Callable[[AsyncObjectsApi], Awaitable[T]]) -> T:
    async def main() -> T:
        async with AsyncApiClient(lakefs.configuration(proxy.url)) as client:
            return await make(AsyncObjectsApi(client))

    return asyncio.run(main())


def temporary_files(root: Path) -> list[str]:
    return [name for _, _, names in os.walk(root) for name in names if name.startswith(".lakefs-download-")]


def test_sync_downloads_create_missing_folders(lakefs_client: lakefs_sdk.LakeFSClient, repo: str, tmp_path: Path) -> None:
    put(lakefs_client, repo, "a.txt", "b.txt", "c.txt")
    objects = lakefs_client.objects_api
    assert transfer.download(objects, repo, "main", "a.txt", tmp_path / "one" / "two" / "a.txt") == len(DATA)
    with objects.get_object_without_preload_content(repo, "main", "b.txt") as response:
        response.write_to(tmp_path / "three" / "b.txt")
    report = transfer.download_many(objects, repo, "main", [("c.txt", tmp_path / "four" / "five" / "c.txt")])
    assert [r.error for r in report.results] == [None]
    for target in ("one/two/a.txt", "three/b.txt", "four/five/c.txt"):
        assert (tmp_path / target).read_bytes() == DATA
    assert temporary_files(tmp_path) == []


def test_async_downloads_create_missing_folders(
    lakefs: LakeFS, lakefs_proxy: RecordingProxy, lakefs_client: lakefs_sdk.LakeFSClient, repo: str, tmp_path: Path
) -> None:
    put(lakefs_client, repo, "a.txt", "b.txt", "c.txt")

    async def scenario(objects: AsyncObjectsApi) -> Any:
        size = await async_transfer.download(objects, repo, "main", "a.txt", tmp_path / "one" / "two" / "a.txt")
        response = await objects.get_object_without_preload_content(repo, "main", "b.txt")
        async with response:
            await response.write_to(tmp_path / "three" / "b.txt")
        report = await async_transfer.download_many(
            objects, repo, "main", [("c.txt", tmp_path / "four" / "five" / "c.txt")]
        )
        return size, [r.error for r in report.results]

    assert run(lakefs, lakefs_proxy, scenario) == (len(DATA), [None])
    for target in ("one/two/a.txt", "three/b.txt", "four/five/c.txt"):
        assert (tmp_path / target).read_bytes() == DATA
    assert temporary_files(tmp_path) == []
