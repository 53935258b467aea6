"""Contract tests for the ``import`` tag: every operation of ImportApi on the wire, with typed results."""

from __future__ import annotations

import lakefs_sdk
from lakefs_sdk import ApiClient
from lakefs_sdk.models import CommitCreation, ImportCreation, ImportCreationResponse, ImportLocation, ImportStatus

from support.contract import Wire, assert_result, json_body, query_dict, segments

REPO = "example-repo"


def api(client: ApiClient) -> lakefs_sdk.ImportApi:
    return lakefs_sdk.ImportApi(client)


def test_import_start(any_client: ApiClient, wire: Wire) -> None:
    creation = ImportCreation(
        paths=[
            ImportLocation(type="common_prefix", path="s3://example-bucket/landing/2025/", destination="raw/2025/"),
            ImportLocation(
                type="object", path="s3://example-bucket/landing/manifest.json", destination="raw/manifest.json"
            ),
        ],
        commit=CommitCreation(message="Import landing data", metadata={"job": "nightly-import"}),
    )
    result = api(any_client).import_start(REPO, "import-2025", creation)
    sent = wire.only("importStart", 202)
    assert segments(sent) == ["repositories", REPO, "branches", "import-2025", "import"]
    body = json_body(sent)
    assert body["paths"][0] == {
        "type": "common_prefix",
        "path": "s3://example-bucket/landing/2025/",
        "destination": "raw/2025/",
    }
    assert body["commit"] == {
        "message": "Import landing data",
        "metadata": {"job": "nightly-import"},
        "allow_empty": False,
        "force": False,
    }
    assert_result(result, ImportCreationResponse, sent)


def test_import_status(any_client: ApiClient, wire: Wire) -> None:
    status = api(any_client).import_status(REPO, "import-2025", "imp-4c1e9a")
    sent = wire.only("importStatus")
    assert query_dict(sent) == {"id": "imp-4c1e9a"}
    assert_result(status, ImportStatus, sent)
    assert isinstance(status.completed, bool)


def test_import_cancel(any_client: ApiClient, wire: Wire) -> None:
    assert api(any_client).import_cancel(REPO, "import-2025", "imp-4c1e9a") is None
    sent = wire.only("importCancel", 204)
    assert sent.method == "DELETE" and query_dict(sent) == {"id": "imp-4c1e9a"}
