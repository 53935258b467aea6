"""The fsspec filesystem ``lakefs-spec`` 0.15.1, unmodified, works on this package.

It runs on static Prism behind ``FinitePrism`` (tests/support/compat.py): lakefs-spec follows
listing pages until ``has_more`` is false, which static Prism's example never says. Each
test asserts the requests lakefs-spec made through us and that its results hold exactly
what Prism answered.

The same flows on a real lakeFS, with their effects read back, are in test_lakefs_spec_flows_on_lakefs.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lakefs_spec import LakeFSFileSystem
from lakefs_spec.types import RequestConfig

from support.compat import ACCESS_KEY_ID, SECRET_ACCESS_KEY, FinitePrism, operation_ids, response_json, single

pytestmark = pytest.mark.prism

REPO = "example-repo"


def test_ls_lists_a_prefix(lakefs_fs: LakeFSFileSystem, finite_prism: FinitePrism) -> None:
    mark = finite_prism.proxy.mark()
    entries = lakefs_fs.ls(f"lakefs://{REPO}/main/data/", detail=True)
    names = lakefs_fs.ls(f"{REPO}/main/data/", detail=False, refresh=True)
    sent = finite_prism.proxy.since(mark)
    assert operation_ids(sent) == ["listObjects", "listObjects"]
    for exchange in sent:
        assert exchange.request.path == f"/api/v1/repositories/{REPO}/refs/main/objects/ls"
        assert sorted(exchange.request.query.split("&")) == ["delimiter=/", "prefix=data/"]
    results = response_json(sent[0])["results"]
    assert [e["name"] for e in entries] == [f"{REPO}/main/{r['path']}" for r in results]
    assert [e["type"] for e in entries] == ["file" if r["path_type"] == "object" else "directory" for r in results]
    assert names == [e["name"] for e in entries]


def test_info_stats_a_file(lakefs_fs: LakeFSFileSystem, finite_prism: FinitePrism) -> None:
    mark = finite_prism.proxy.mark()
    info = lakefs_fs.info(f"lakefs://{REPO}/main/data/events.csv")
    sent = finite_prism.proxy.since(mark)
    assert operation_ids(sent) == ["statObject"]
    assert sent[0].request.query == "path=data/events.csv"
    stats = response_json(sent[0])
    assert info == {
        "type": "file",
        "checksum": stats["checksum"],
        "content-type": stats["content_type"],
        "mtime": stats["mtime"],
        "name": f"{REPO}/main/{stats['path']}",
        "size": stats["size_bytes"],
        "metadata": stats["metadata"],
    }


def test_put_file_uploads_the_local_bytes(
    lakefs_fs: LakeFSFileSystem, finite_prism: FinitePrism, tmp_path: Path
) -> None:
    local = tmp_path / "events.csv"
    local.write_bytes(b"id,value\n" + b"1,2\n" * 1000)
    mark = finite_prism.proxy.mark()
    lakefs_fs.put_file(str(local), f"lakefs://{REPO}/dev/data/events.csv")
    sent = finite_prism.proxy.since(mark)
    # precheck (checksum differs, so upload), implicit branch creation, then the raw upload
    assert operation_ids(sent) == ["statObject", "createBranch", "uploadObject"]
    branch = single(sent, "createBranch")
    assert branch.request.path == f"/api/v1/repositories/{REPO}/branches"
    upload = single(sent, "uploadObject")
    assert upload.request.path == f"/api/v1/repositories/{REPO}/branches/dev/objects"
    assert upload.request.query == "path=data%2Fevents.csv"
    assert upload.request.body == local.read_bytes()


def test_open_and_read(lakefs_fs: LakeFSFileSystem, finite_prism: FinitePrism) -> None:
    mark = finite_prism.proxy.mark()
    with lakefs_fs.open(f"lakefs://{REPO}/main/data/events.csv", "rb") as f:
        content = f.read()
    sent = finite_prism.proxy.since(mark)
    assert operation_ids(sent) == ["headObject", "getObject"]
    get = single(sent, "getObject")
    assert get.request.query == "path=data/events.csv&presign=false"
    assert content == get.response_body


def _filesystem(url: str, request_config: RequestConfig) -> LakeFSFileSystem:
    return LakeFSFileSystem(
        host=url,
        username=ACCESS_KEY_ID,
        password=SECRET_ACCESS_KEY,
        pre_sign=False,
        request_config=request_config,
        skip_instance_cache=True,
        use_listings_cache=False,
    )


def test_missing_file_is_file_not_found(finite_prism: FinitePrism) -> None:
    """A 404 from us reaches fsspec users as FileNotFoundError, via lakefs's exception mapping."""
    fs = _filesystem(finite_prism.url, {"headers": {"Prefer": "code=404"}})  # Prism answers with the spec's 404
    mark = finite_prism.proxy.mark()
    assert fs.exists(f"lakefs://{REPO}/main/data/missing.csv") is False
    with pytest.raises(FileNotFoundError):
        fs.info(f"lakefs://{REPO}/main/data/missing.csv")
    sent = finite_prism.proxy.since(mark)
    assert set(operation_ids(sent)) == {"headObject", "listObjects", "statObject"}
    assert all(e.status == 404 for e in sent)


def test_request_config_reaches_every_call(finite_prism: FinitePrism) -> None:
    """``request_config`` is passed as our per-call options (``_headers``, ``_request_timeout``)."""
    fs = _filesystem(finite_prism.url, {"headers": {"X-Trace-Id": "compat-1"}, "request_timeout": (5, 30)})
    mark = finite_prism.proxy.mark()
    fs.ls(f"{REPO}/main/data/")
    fs.info(f"{REPO}/main/data/events.csv")
    sent = finite_prism.proxy.since(mark)
    assert operation_ids(sent) == ["listObjects", "statObject"]
    assert [e.request.header("X-Trace-Id") for e in sent] == ["compat-1", "compat-1"]
