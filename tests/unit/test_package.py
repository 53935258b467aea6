"""The package surface: lazy attributes, submodules and the LakeFSClient life cycle."""

from __future__ import annotations

import subprocess
import sys

import pytest

import lakefs_sdk
from lakefs_sdk.client import LakeFSClient


@pytest.mark.parametrize("name", ["api", "models", "rest", "transfer", "pagination", "lakectl", "client", "exceptions"])
def test_submodules_are_attributes(name: str) -> None:
    module = getattr(lakefs_sdk, name)
    assert module.__name__ == f"lakefs_sdk.{name}"
    assert name in dir(lakefs_sdk) and name in lakefs_sdk.__all__


def test_one_api_class_does_not_load_every_model() -> None:
    code = (
        "import sys; from lakefs_sdk import BranchesApi; "
        "print(sum(m.startswith('lakefs_sdk.models.') for m in sys.modules))"
    )
    loaded = int(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
    assert loaded == 0, f"{loaded} model modules loaded by importing one API class (models load on first use)"


def test_lakefs_client_is_a_context_manager_that_releases_the_pool() -> None:
    with LakeFSClient(lakefs_sdk.Configuration(host="127.0.0.1:9")) as client:
        pool_manager = client.api_client.rest_client.pool_manager
        assert client.branches_api.api_client is client.api_client
        pool_manager.connection_from_url("http://127.0.0.1:9")
        assert len(pool_manager.pools) == 1
    assert len(pool_manager.pools) == 0, "leaving the block closes the connection pool"
