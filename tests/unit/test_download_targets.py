"""Download targets in folders that do not exist yet, and errors that name the user's target.

Every way to write a response to a path goes through ``lakefs_sdk._atomic_file.AtomicFile``:
``RESTResponse.write_to``, ``transfer.download``, ``transfer.download_many`` and their
asyncio twins. Each creates the missing folders of its target, as a folder given to
``download_many`` already did, and an error names the target, never the temporary file
beside it.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator, TypeVar

import pytest

from lakefs_sdk import ApiClient, Configuration, ObjectsApi
from lakefs_sdk import transfer as sync_transfer
from lakefs_sdk._atomic_file import AtomicFile
from lakefs_sdk.aio import AsyncApiClient
from lakefs_sdk.aio import ObjectsApi as AsyncObjectsApi
from lakefs_sdk.aio import transfer as async_transfer

from support.loopback import LoopbackServer, Reply

T = TypeVar("T")
PAYLOAD = b"object bytes"
TEMP_MARK = ".lakefs-download-"


def config(url: str) -> Configuration:
    return Configuration(host=url + "/api/v1", username="AKIA", password="secret")


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    def answer(request: Any) -> Reply:
        return Reply(200, PAYLOAD, {"Content-Type": "application/octet-stream"})

    with LoopbackServer(answer) as srv:
        yield srv


@pytest.fixture
def objects(server: LoopbackServer) -> Iterator[ObjectsApi]:
    with ApiClient(config(server.url)) as client:
        yield ObjectsApi(client)


def run_async(server: LoopbackServer, make: Callable[[AsyncObjectsApi], Awaitable[T]]) -> T:
    async def main() -> T:
        async with AsyncApiClient(config(server.url)) as client:
            return await make(AsyncObjectsApi(client))

    return asyncio.run(main())


def no_temporary_files(root: Path) -> bool:
    return not any(TEMP_MARK in name for _, _, names in os.walk(root) for name in names)


# -- missing folders are created -------------------------------------------------------------------


def test_write_to_creates_missing_folders(objects: ObjectsApi, tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.bin"
    with objects.get_object_without_preload_content("repo", "main", "p") as response:
        assert response.write_to(target) == len(PAYLOAD)
    assert target.read_bytes() == PAYLOAD and no_temporary_files(tmp_path)


def test_write_to_a_str_path_creates_missing_folders(objects: ObjectsApi, tmp_path: Path) -> None:
    target = os.path.join(str(tmp_path), "x", "out.bin")
    with objects.get_object_without_preload_content("repo", "main", "p") as response:
        response.write_to(target)
    assert Path(target).read_bytes() == PAYLOAD


def test_download_creates_missing_folders(objects: ObjectsApi, tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "out.bin"
    assert sync_transfer.download(objects, "repo", "main", "p", target) == len(PAYLOAD)
    assert target.read_bytes() == PAYLOAD and no_temporary_files(tmp_path)


def test_download_many_creates_missing_folders(objects: ObjectsApi, tmp_path: Path) -> None:
    items = [("a", tmp_path / "one" / "a.bin"), ("b", tmp_path / "two" / "three" / "b.bin")]
    report = sync_transfer.download_many(objects, "repo", "main", items)
    assert [r.error for r in report.results] == [None, None]
    assert all(target.read_bytes() == PAYLOAD for _, target in items)
    assert no_temporary_files(tmp_path)


def test_async_write_to_creates_missing_folders(server: LoopbackServer, tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.bin"

    async def write(objects: AsyncObjectsApi) -> int:
        response = await objects.get_object_without_preload_content("repo", "main", "p")
        async with response:
            return await response.write_to(target)

    assert run_async(server, write) == len(PAYLOAD)
    assert target.read_bytes() == PAYLOAD and no_temporary_files(tmp_path)


def test_async_download_creates_missing_folders(server: LoopbackServer, tmp_path: Path) -> None:
    target = tmp_path / "deep" / "out.bin"
    size = run_async(server, lambda objects: async_transfer.download(objects, "repo", "main", "p", target))
    assert size == len(PAYLOAD) and target.read_bytes() == PAYLOAD


def test_async_download_many_creates_missing_folders(server: LoopbackServer, tmp_path: Path) -> None:
    items = [("a", tmp_path / "one" / "a.bin"), ("b", tmp_path / "two" / "three" / "b.bin")]
    report = run_async(server, lambda objects: async_transfer.download_many(objects, "repo", "main", items))
    assert [r.error for r in report.results] == [None, None]
    assert all(target.read_bytes() == PAYLOAD for _, target in items)
    assert no_temporary_files(tmp_path)


# -- errors name the target ------------------------------------------------------------------------


def test_a_folder_that_cannot_be_made_is_reported_with_the_target(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")  # a file where a folder of the target should be
    target = tmp_path / "file" / "sub" / "out.bin"
    with pytest.raises(OSError) as raised:
        AtomicFile(target)
    assert raised.value.filename == str(target) and TEMP_MARK not in str(raised.value)
    assert str(target) in str(raised.value)


def test_a_target_that_is_a_folder_is_reported_as_the_target(objects: ObjectsApi, tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    with objects.get_object_without_preload_content("repo", "main", "p") as response:
        with pytest.raises(IsADirectoryError) as raised:
            response.write_to(target)
        assert response.read() == PAYLOAD, "refused before the body was read"
    assert raised.value.filename == str(target) and raised.value.filename2 is None
    assert TEMP_MARK not in str(raised.value) and no_temporary_files(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a folder this user cannot write")
def test_an_unwritable_folder_is_reported_with_the_target(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError) as raised:
            AtomicFile(folder / "out.bin")
    finally:
        folder.chmod(0o700)
    assert raised.value.filename == str(folder / "out.bin") and TEMP_MARK not in str(raised.value)


def test_download_many_item_errors_name_the_target(objects: ObjectsApi, tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    bad = tmp_path / "file" / "out.bin"
    report = sync_transfer.download_many(objects, "repo", "main", [("a", bad), ("b", tmp_path / "ok" / "b.bin")])
    error = report.results[0].error
    assert isinstance(error, OSError) and error.filename == str(bad)
    assert TEMP_MARK not in str(error)
    assert report.results[1].error is None and (tmp_path / "ok" / "b.bin").read_bytes() == PAYLOAD


def test_async_download_errors_name_the_target(server: LoopbackServer, tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    bad = tmp_path / "file" / "out.bin"

    async def attempt(objects: AsyncObjectsApi) -> Any:
        try:
            return await async_transfer.download(objects, "repo", "main", "p", bad)
        except OSError as error:
            return error

    error = run_async(server, attempt)
    assert isinstance(error, OSError) and error.filename == str(bad) and TEMP_MARK not in str(error)
