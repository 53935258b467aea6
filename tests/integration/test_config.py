"""getConfig on the real server: the storage and version configuration a client plans with."""

from __future__ import annotations

import json
import re

import pytest

import lakefs_sdk
from lakefs_sdk.models import Config, StorageConfig

from support.lakefs import LakeFS, Wire, local_store_only, s3_store_only
from support.recording_proxy import RecordingProxy


@local_store_only
def test_get_config_describes_the_local_blockstore_and_the_version(
    lakefs: LakeFS, lakefs_client: lakefs_sdk.LakeFSClient, wire: Wire
) -> None:
    config = lakefs_client.config_api.get_config()
    assert isinstance(config, Config)
    storage = config.storage_config
    assert isinstance(storage, StorageConfig)
    assert storage.blockstore_type == "local"
    assert storage.pre_sign_support is False and storage.pre_sign_support_ui is False
    assert storage.pre_sign_multipart_upload is False
    assert storage.default_namespace_prefix == "local://"
    assert storage.import_support is True
    # The regexes the server checks namespaces and import sources against accept local:// URLs only.
    assert re.match(storage.blockstore_namespace_validity_regex, "local://some-repo")
    assert not re.match(storage.blockstore_namespace_validity_regex, "s3://bucket/some-repo")
    assert re.match(storage.import_validity_regex, f"local://{lakefs.import_dir}/")
    assert re.match(storage.blockstore_namespace_validity_regex, storage.blockstore_namespace_example)
    # A single-blockstore server lists no per-store configurations.
    assert config.storage_config_list == []

    assert config.version_config is not None
    assert config.version_config.version == lakefs.version
    assert config.version_config.version_context == "lakeFS"

    exchange = wire.last("getConfig")
    assert exchange.status == 200 and exchange.method == "GET"


@s3_store_only
def test_get_config_describes_the_s3_blockstore(lakefs: LakeFS, lakefs_client: lakefs_sdk.LakeFSClient) -> None:
    storage = lakefs_client.config_api.get_config().storage_config
    assert isinstance(storage, StorageConfig)
    assert storage.blockstore_type == "s3"
    # S3 presigns (single objects and multipart uploads); the UI flag is a separate setting, off.
    assert storage.pre_sign_support is True and storage.pre_sign_multipart_upload is True
    assert storage.pre_sign_support_ui is False
    assert storage.default_namespace_prefix == "" and storage.import_support is True
    assert storage.blockstore_namespace_validity_regex == "^s3://" and storage.import_validity_regex == "^s3://"
    assert re.match(storage.blockstore_namespace_validity_regex, lakefs.namespace_base + "some-repo")
    assert not re.match(storage.blockstore_namespace_validity_regex, "local://some-repo")


def test_get_config_read_back_matches_the_wire(lakefs_client: lakefs_sdk.LakeFSClient, wire: Wire) -> None:
    response = lakefs_client.config_api.get_config_with_http_info()
    assert response.status_code == 200
    sent = wire.last("getConfig")
    # Every field the server sent is kept (nothing silently dropped by the model).
    assert response.data.to_dict() == json.loads(sent.response_body)


def test_get_config_needs_credentials(lakefs_proxy: RecordingProxy, wire: Wire) -> None:
    anonymous = lakefs_sdk.Configuration(host=lakefs_proxy.url)
    with lakefs_sdk.LakeFSClient(anonymous) as client, pytest.raises(lakefs_sdk.UnauthorizedException) as caught:
        client.config_api.get_config()
    assert caught.value.status == 401
    assert caught.value.request_id
    assert caught.value.message
    assert wire.last("getConfig").request.header("Authorization") is None
