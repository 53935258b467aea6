"""Contract tests for the ``objects`` tag: every operation of ObjectsApi on the wire, with typed results.

The hard cases of these operations (special characters in paths, conditional headers,
uploads, ranges, presign) are in test_hard_cases.py; here each operation is called once
with ordinary, realistic arguments.
"""

from __future__ import annotations

import lakefs_sdk
from lakefs_sdk import ApiClient
from lakefs_sdk.models import (
    ObjectCopyCreation,
    ObjectError,
    ObjectErrorList,
    ObjectStats,
    ObjectStatsList,
    PathList,
    UnderlyingObjectProperties,
    UpdateObjectUserMetadata,
)

from support.contract import Wire, assert_result, json_body, query_dict, segments

REPO = "example-repo"
PATH = "data/2025/01/sales.csv"


def api(client: ApiClient) -> lakefs_sdk.ObjectsApi:
    return lakefs_sdk.ObjectsApi(client)


def test_get_object(any_client: ApiClient, wire: Wire) -> None:
    data = api(any_client).get_object(REPO, "main", PATH)
    sent = wire.only("getObject", 200)
    assert segments(sent) == ["repositories", REPO, "refs", "main", "objects"]
    assert query_dict(sent) == {"path": PATH}
    assert sent.request.header("Accept") == "application/octet-stream, application/json"
    assert isinstance(data, bytes) and data == sent.response_body


def test_head_object(any_client: ApiClient, wire: Wire) -> None:
    response = api(any_client).head_object_with_http_info(REPO, "main", PATH)
    sent = wire.only("headObject", 200)
    assert sent.method == "HEAD" and query_dict(sent) == {"path": PATH}
    assert response.status_code == 200 and response.data is None and response.raw_data == b""


def test_upload_object(any_client: ApiClient, wire: Wire) -> None:
    content = b"id,amount\n1,9.99\n2,19.50\n"
    stats = api(any_client).upload_object(REPO, "feature-x", PATH, content=("sales.csv", content), force=True)
    sent = wire.only("uploadObject", 201)
    assert segments(sent) == ["repositories", REPO, "branches", "feature-x", "objects"]
    assert query_dict(sent) == {"path": PATH, "force": "true"}
    assert (sent.request.header("Content-Type") or "").startswith("multipart/form-data; boundary=")
    assert content in sent.request.body
    assert_result(stats, ObjectStats, sent)
    assert isinstance(stats.checksum, str) and isinstance(stats.mtime, int)


def test_delete_object(any_client: ApiClient, wire: Wire) -> None:
    assert api(any_client).delete_object(REPO, "feature-x", PATH, force=False, no_tombstone=True) is None
    sent = wire.only("deleteObject", 204)
    assert sent.method == "DELETE"
    assert query_dict(sent) == {"path": PATH, "force": "false", "no_tombstone": "true"}


def test_delete_objects(any_client: ApiClient, wire: Wire) -> None:
    paths = PathList(paths=["data/2025/01/sales.csv", "data/2025/01/returns.csv", "tmp/"])
    result = api(any_client).delete_objects(REPO, "feature-x", paths, force=True)
    sent = wire.only("deleteObjects")
    assert segments(sent)[-2:] == ["objects", "delete"]
    assert query_dict(sent) == {"force": "true"}
    assert json_body(sent) == {"paths": ["data/2025/01/sales.csv", "data/2025/01/returns.csv", "tmp/"]}
    assert_result(result, ObjectErrorList, sent)
    assert all(isinstance(error, ObjectError) and isinstance(error.status_code, int) for error in result.errors)


def test_copy_object(any_client: ApiClient, wire: Wire) -> None:
    creation = ObjectCopyCreation(src_path=PATH, src_ref="main", shallow=True)
    stats = api(any_client).copy_object(REPO, "feature-x", "archive/2025/01/sales.csv", creation)
    sent = wire.only("copyObject", 201)
    assert query_dict(sent) == {"dest_path": "archive/2025/01/sales.csv"}
    assert json_body(sent) == {"src_path": PATH, "src_ref": "main", "force": False, "shallow": True}
    assert_result(stats, ObjectStats, sent)


def test_stat_object(any_client: ApiClient, wire: Wire) -> None:
    stats = api(any_client).stat_object(REPO, "main", PATH, user_metadata=True)
    sent = wire.only("statObject")
    assert query_dict(sent) == {"path": PATH, "user_metadata": "true"}
    assert_result(stats, ObjectStats, sent)
    assert stats.path_type in ("common_prefix", "object")
    assert stats.metadata is None or all(isinstance(v, str) for v in stats.metadata.values())


def test_update_object_user_metadata(any_client: ApiClient, wire: Wire) -> None:
    update = UpdateObjectUserMetadata(set={"owner": "data-eng", "pii": "false"})
    assert api(any_client).update_object_user_metadata(REPO, "feature-x", PATH, update) is None
    sent = wire.only("updateObjectUserMetadata", 201)
    assert sent.method == "PUT" and query_dict(sent) == {"path": PATH}
    assert json_body(sent) == {"set": {"owner": "data-eng", "pii": "false"}}


def test_get_underlying_properties(any_client: ApiClient, wire: Wire) -> None:
    properties = api(any_client).get_underlying_properties(REPO, "main", PATH)
    sent = wire.only("getUnderlyingProperties")
    assert query_dict(sent) == {"path": PATH}
    assert_result(properties, UnderlyingObjectProperties, sent)
    assert properties.storage_class is None or isinstance(properties.storage_class, str)


def test_list_objects(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).list_objects(
        REPO, "main", user_metadata=False, amount=1000, delimiter="/", prefix="data/2025/"
    )
    sent = wire.only("listObjects")
    assert query_dict(sent) == {"user_metadata": "false", "amount": "1000", "delimiter": "/", "prefix": "data/2025/"}
    assert_result(page, ObjectStatsList, sent)
    assert all(isinstance(stats, ObjectStats) for stats in page.results)
