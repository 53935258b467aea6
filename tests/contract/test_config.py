"""Contract tests for the ``config`` tag: every operation of ConfigApi on the wire, with typed results."""

from __future__ import annotations

import lakefs_sdk
from lakefs_sdk import ApiClient
from lakefs_sdk.models import Config, StorageConfig, VersionConfig

from support.contract import Wire, assert_result


def test_get_config(any_client: ApiClient, wire: Wire) -> None:
    config = lakefs_sdk.ConfigApi(any_client).get_config()
    sent = wire.only("getConfig")
    assert sent.method == "GET" and sent.request.query == ""
    assert_result(config, Config, sent)
    assert config.version_config is None or isinstance(config.version_config, VersionConfig)
    assert config.storage_config is None or isinstance(config.storage_config, StorageConfig)
    assert all(isinstance(s, StorageConfig) for s in config.storage_config_list or [])
