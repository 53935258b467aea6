"""Contract tests for the ``tags`` tag: every operation of TagsApi on the wire, with typed results."""

from __future__ import annotations

import lakefs_sdk
from lakefs_sdk import ApiClient
from lakefs_sdk.models import Ref, RefList, TagCreation

from support.contract import Wire, assert_result, json_body, query_dict, segments

REPO = "example-repo"


def api(client: ApiClient) -> lakefs_sdk.TagsApi:
    return lakefs_sdk.TagsApi(client)


def test_list_tags(any_client: ApiClient, wire: Wire) -> None:
    page = api(any_client).list_tags(REPO, prefix="v1.", after="v1.2.0", amount=20)
    sent = wire.only("listTags")
    assert query_dict(sent) == {"prefix": "v1.", "after": "v1.2.0", "amount": "20"}
    assert_result(page, RefList, sent)
    assert all(isinstance(tag, Ref) for tag in page.results)


def test_create_tag(any_client: ApiClient, wire: Wire) -> None:
    tag = api(any_client).create_tag(REPO, TagCreation(id="v1.3.0", ref="main~1"))
    sent = wire.only("createTag", 201)
    assert json_body(sent) == {"id": "v1.3.0", "ref": "main~1", "force": False}
    assert_result(tag, Ref, sent)


def test_get_tag(any_client: ApiClient, wire: Wire) -> None:
    tag = api(any_client).get_tag(REPO, "v1.3.0")
    sent = wire.only("getTag")
    assert segments(sent) == ["repositories", REPO, "tags", "v1.3.0"]
    assert_result(tag, Ref, sent)
    assert isinstance(tag.commit_id, str)


def test_delete_tag(any_client: ApiClient, wire: Wire) -> None:
    assert api(any_client).delete_tag(REPO, "v1.3.0", force=False) is None
    sent = wire.only("deleteTag", 204)
    assert sent.method == "DELETE" and query_dict(sent) == {"force": "false"}
