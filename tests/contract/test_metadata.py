"""Contract tests for the ``metadata`` tag: every operation of MetadataApi on the wire, with typed results."""

from __future__ import annotations

import lakefs_sdk
from lakefs_sdk import ApiClient
from lakefs_sdk.models import StorageURI

from support.contract import Wire, assert_result, segments

REPO = "example-repo"


def test_get_meta_range(any_client: ApiClient, wire: Wire) -> None:
    uri = lakefs_sdk.MetadataApi(any_client).get_meta_range(REPO, "9f8e7d6c5b4a39281706f5e4d3c2b1a0")
    sent = wire.only("getMetaRange")
    assert segments(sent) == ["repositories", REPO, "metadata", "meta_range", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"]
    assert_result(uri, StorageURI, sent)
    assert isinstance(uri.location, str)


def test_get_range(any_client: ApiClient, wire: Wire) -> None:
    uri = lakefs_sdk.MetadataApi(any_client).get_range(REPO, "0a1b2c3d4e5f60718293a4b5c6d7e8f9")
    sent = wire.only("getRange")
    assert segments(sent) == ["repositories", REPO, "metadata", "range", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"]
    assert_result(uri, StorageURI, sent)
