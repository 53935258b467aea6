"""Contract tests for the ``staging`` tag: every operation of StagingApi on the wire, with typed results."""

from __future__ import annotations

import lakefs_sdk
from lakefs_sdk import ApiClient
from lakefs_sdk.models import ObjectStats, StagingLocation, StagingMetadata

from support.contract import Wire, assert_result, json_body, query_dict

REPO = "example-repo"


def test_get_physical_address(any_client: ApiClient, wire: Wire) -> None:
    location = lakefs_sdk.StagingApi(any_client).get_physical_address(
        REPO, "main", "data/2025/sales.parquet", presign=True
    )
    sent = wire.only("getPhysicalAddress")
    assert query_dict(sent) == {"path": "data/2025/sales.parquet", "presign": "true"}
    assert_result(location, StagingLocation, sent)


def test_link_physical_address(any_client: ApiClient, wire: Wire) -> None:
    metadata = StagingMetadata(
        staging=StagingLocation(physical_address="s3://example-bucket/data/gk3b1e2f/c0ffee"),
        checksum="d41d8cd98f00b204e9800998ecf8427e",
        size_bytes=1048576,
        user_metadata={"owner": "data-eng"},
        content_type="application/x-parquet",
    )
    stats = lakefs_sdk.StagingApi(any_client).link_physical_address(
        REPO, "main", "data/2025/sales.parquet", metadata, if_none_match="*"
    )
    sent = wire.only("linkPhysicalAddress")
    assert sent.method == "PUT" and query_dict(sent) == {"path": "data/2025/sales.parquet"}
    assert sent.request.header("If-None-Match") == "*"
    assert json_body(sent) == {
        "staging": {"physical_address": "s3://example-bucket/data/gk3b1e2f/c0ffee"},
        "checksum": "d41d8cd98f00b204e9800998ecf8427e",
        "size_bytes": 1048576,
        "user_metadata": {"owner": "data-eng"},
        "content_type": "application/x-parquet",
        "force": False,
    }
    assert_result(stats, ObjectStats, sent)
