"""Bulk transfers on the real lakeFS: upload_many, download_many and delete_many, read back.

Every object written is read back through other calls (listing, ``get_object``) and
compared by sha256: nothing lost, nothing duplicated, nothing extra. Per-path errors come
from the server's own answer to ``deleteObjects`` (a read-only repository refuses each
path), and the requests on the wire show the batching.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Dict, List

import pytest

import lakefs_sdk
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.transfer import delete_many, download_many, upload_many

from support.lakefs import ON_S3, Wire, create_repository, delete_repository

FILES = 300


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content(index: int) -> bytes:
    """A distinct body per index, of varied sizes (empty ones included)."""
    return os.urandom(index % 7) + f"object {index}\n".encode() * (index % 50)


def write_folder(folder: Path, count: int) -> Dict[str, bytes]:
    """``count`` files under ``folder`` in nested sub-folders; their relative paths and bodies."""
    files = {}
    for index in range(count):
        relative = f"part={index % 5}/sub{index % 3}/{index:04}.bin"
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content(index)
        path.write_bytes(data)
        files[relative] = data
    return files


def branch_contents(client: LakeFSClient, repo: str, ref: str, prefix: str = "") -> Dict[str, str]:
    """Every object under ``prefix`` at ``ref``, read back one by one: path -> sha256."""
    listed = [o.path for o in client.objects_api.list_objects_iter(repo, ref, prefix=prefix, amount=1000)]
    assert len(listed) == len(set(listed)), "a path listed twice"
    return {path: sha256(client.objects_api.get_object(repo, ref, path)) for path in listed}


def test_a_folder_goes_up_and_comes_back(
    lakefs_client: LakeFSClient, repo: str, tmp_path: Path, wire: Wire
) -> None:
    files = write_folder(tmp_path / "landing", FILES)
    done: List[str] = []
    report = upload_many(
        lakefs_client.objects_api, repo, "main", [(tmp_path / "landing", "raw/")], concurrency=8,
        on_item=lambda r: done.append(r.path),
    )
    assert report.ok, report.failed[:3]
    assert [r.path for r in report] == sorted("raw/" + k for k in files)
    assert sorted(done) == [r.path for r in report]
    stored = branch_contents(lakefs_client, repo, "main")
    assert stored == {"raw/" + k: sha256(v) for k, v in files.items()}, "nothing lost, nothing duplicated"
    for result in report:
        assert result.value.checksum == hashlib.md5(files[result.path[4:]]).hexdigest()
        assert result.value.size_bytes == len(files[result.path[4:]])
    # presign=None (the default): straight to a store that presigns (S3), else through lakeFS.
    sent = "linkPhysicalAddress" if ON_S3 else "uploadObject"
    assert wire.operations().count(sent) == FILES

    out = tmp_path / "copy"
    downloaded = download_many(lakefs_client.objects_api, repo, "main", [("raw/", out)], concurrency=8)
    assert downloaded.ok and len(downloaded) == FILES
    assert [r.value for r in downloaded] == [len(files[r.path[4:]]) for r in downloaded]
    copied = {p.relative_to(out).as_posix(): sha256(p.read_bytes()) for p in out.rglob("*") if p.is_file()}
    assert copied == {k: sha256(v) for k, v in files.items()}


def test_what_fails_is_reported_and_the_rest_is_done(
    lakefs_client: LakeFSClient, repo: str, tmp_path: Path
) -> None:
    objects = lakefs_client.objects_api
    objects.upload_object(repo, "main", "x/taken", content=b"first")
    items = [(b"new %d" % i, f"x/{i}") for i in range(20)] + [(b"second", "x/taken"), (tmp_path / "gone", "x/gone")]
    report = upload_many(objects, repo, "main", items, if_none_match="*", concurrency=4)
    assert [r.path for r in report.failed] == ["x/taken", "x/gone"]
    assert isinstance(report.failed[0].error, lakefs_sdk.PreconditionFailedException)
    assert report.failed[0].error.request_id, "the server's request id came with it"
    assert isinstance(report.failed[1].error, FileNotFoundError)
    assert objects.get_object(repo, "main", "x/taken") == b"first"
    assert {path for path in branch_contents(lakefs_client, repo, "main")} == {f"x/{i}" for i in range(20)} | {"x/taken"}

    targets = [(f"x/{i}", tmp_path / f"{i}.bin") for i in range(3)] + [("x/none", tmp_path / "none.bin")]
    downloaded = download_many(objects, repo, "main", targets)
    assert [r.status for r in downloaded] == ["succeeded"] * 3 + ["failed"]
    assert isinstance(downloaded.results[3].error, lakefs_sdk.NotFoundException)
    assert not (tmp_path / "none.bin").exists()
    assert (tmp_path / "2.bin").read_bytes() == b"new 2"


def test_delete_many_batches_1000_paths_a_request(lakefs_client: LakeFSClient, repo: str, wire: Wire) -> None:
    objects = lakefs_client.objects_api
    present = [f"d/{i:04}" for i in range(0, 2300, 10)]
    assert upload_many(objects, repo, "main", [(p.encode(), p) for p in present]).ok
    keep = objects.upload_object(repo, "main", "keep/me", content=b"kept")
    paths = [f"d/{i:04}" for i in range(2300)]  # most never existed: lakeFS counts them deleted
    counted: List[int] = []
    report = delete_many(objects, repo, "main", paths, progress=lambda done, total: counted.append(done))
    assert report.ok and [r.path for r in report] == paths
    assert counted[-1] == 2300
    sent = [json.loads(e.request.body)["paths"] for e in wire.exchanges() if e.operation_id == "deleteObjects"]
    assert sorted(len(batch) for batch in sent) == [300, 1000, 1000]
    assert sorted(p for batch in sent for p in batch) == paths, "every path sent once"
    assert list(branch_contents(lakefs_client, repo, "main")) == ["keep/me"]
    assert keep.path == "keep/me"


def test_delete_many_reports_the_servers_per_path_errors(lakefs_client: LakeFSClient, wire: Wire) -> None:
    repo = create_repository(lakefs_client, "bulk-read-only", read_only=True)
    try:
        objects = lakefs_client.objects_api
        paths = [f"ro/{i}" for i in range(12)]
        refused = upload_many(objects, repo, "main", [(b"x", p) for p in paths])
        assert len(refused.failed) == 12 and isinstance(refused.failed[0].error, lakefs_sdk.ForbiddenException)
        assert upload_many(objects, repo, "main", [(p.encode(), p) for p in paths], force=True).ok

        report = delete_many(objects, repo, "main", paths)
        assert [r.status for r in report] == ["failed"] * 12
        error = report.results[0].error
        assert isinstance(error, lakefs_sdk.ForbiddenException) and error.status == 403
        assert error.message == "read-only repository"
        assert error.arguments == {"repository": repo, "branch": "main", "path": "ro/0"}
        answer = wire.last("deleteObjects")
        assert answer.status == 200, "lakeFS answered the request with success and the errors in its body"
        assert error.request_id == answer.response_header("X-Request-Id")
        assert sorted(branch_contents(lakefs_client, repo, "main")) == sorted(paths), "nothing was deleted"

        forced = delete_many(objects, repo, "main", paths, force=True)
        assert forced.ok and branch_contents(lakefs_client, repo, "main") == {}
    finally:
        delete_repository(lakefs_client, repo)


def test_fail_fast_on_the_real_server(lakefs_client: LakeFSClient, repo: str, wire: Wire) -> None:
    objects = lakefs_client.objects_api
    items = [(b"a", "ff/0"), (b"b", "ff/1"), (b"c", "ff/2")]
    report = upload_many(objects, repo, "no-such-branch", items, concurrency=1, fail_fast=True)
    assert [r.status for r in report] == ["failed", "skipped", "skipped"]
    assert isinstance(report.results[0].error, lakefs_sdk.NotFoundException)
    # getConfig: presign=None asks once whether the server's store presigns; S3's does, so the
    # bytes go to the store and linking them is what fails on the missing branch.
    first = ["getPhysicalAddress", "linkPhysicalAddress"] if ON_S3 else ["uploadObject"]
    assert wire.operations() == ["getConfig", *first]


@pytest.mark.parametrize("helper", ["upload", "download"])
def test_async_helpers_on_the_real_server(
    lakefs_client: LakeFSClient, repo: str, tmp_path: Path, helper: str
) -> None:
    aio = pytest.importorskip("lakefs_sdk.aio")
    import asyncio

    from lakefs_sdk.aio import transfer as aio_transfer

    files = write_folder(tmp_path / "in", 40)
    if helper == "download":
        assert upload_many(lakefs_client.objects_api, repo, "main", [(tmp_path / "in", "a/")]).ok

    async def main() -> lakefs_sdk.transfer.TransferReport:
        async with aio.AsyncApiClient(lakefs_client.api_client.configuration) as client:
            objects = aio.ObjectsApi(client)
            if helper == "upload":
                return await aio_transfer.upload_many(objects, repo, "main", [(tmp_path / "in", "a/")], concurrency=6)
            return await aio_transfer.download_many(objects, repo, "main", [("a/", tmp_path / "out")], concurrency=6)

    report = asyncio.run(main())
    assert report.ok and len(report) == 40
    assert branch_contents(lakefs_client, repo, "main") == {"a/" + k: sha256(v) for k, v in files.items()}
    if helper == "download":
        got = {p.relative_to(tmp_path / "out").as_posix(): p.read_bytes() for p in (tmp_path / "out").rglob("*.bin")}
        assert got == files
