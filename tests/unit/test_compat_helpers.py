"""What upstream ``lakefs-sdk`` 1.x's ``ApiClient`` helpers do, and ours do the same.

Code built on upstream (the ``lakefs`` wrapper, ``lakefs-spec``, scripts) calls these on
the client: ``select_header_accept`` / ``select_header_content_type``,
``sanitize_for_serialization``, ``deserialize`` and ``update_params_for_auth``. The expected
values below are what upstream 1.84.0 returns for the same inputs (read from its
``api_client.py``; the repository does not install upstream in tests). Where we differ on
purpose the test says so (see ``lakefs_sdk._compat``). Both clients inherit the helpers.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any, Dict, List, Tuple

import pytest

from lakefs_sdk import ApiClient, BranchCreation, Configuration, Ref
from lakefs_sdk.aio import AsyncApiClient
from lakefs_sdk.models.object_stats import ObjectStats


@pytest.fixture(params=["sync", "async"])
def client(request: pytest.FixtureRequest) -> Any:
    config = Configuration(host="http://127.0.0.1:9/api/v1", username="AKIA", password="secret", access_token="tok")
    return ApiClient(config) if request.param == "sync" else AsyncApiClient(config)


class Body:
    """A response as ``deserialize`` reads it (upstream reads ``response.data``)."""

    def __init__(self, data: bytes) -> None:
        self.data = data


@pytest.mark.parametrize(
    ("accepts", "expected"),
    [
        ([], None),
        (["application/json"], "application/json"),
        (["text/plain", "application/JSON"], "application/JSON"),  # upstream: re.search('json', ..., IGNORECASE)
        (["application/octet-stream", "application/problem+json"], "application/problem+json"),
        (["text/plain", "text/html"], "text/plain"),  # no JSON: the first
    ],
)
def test_select_header_accept_and_content_type(client: Any, accepts: List[str], expected: Any) -> None:
    assert client.select_header_accept(accepts) == expected
    assert client.select_header_content_type(accepts) == expected


def test_sanitize_for_serialization_matches_upstream(client: Any) -> None:
    when = datetime.datetime(2024, 1, 2, 3, 4, 5)
    assert client.sanitize_for_serialization(None) is None
    for primitive in (1, 2.5, True, "text", b"raw"):
        assert client.sanitize_for_serialization(primitive) == primitive
    assert client.sanitize_for_serialization(when) == "2024-01-02T03:04:05"
    assert client.sanitize_for_serialization(datetime.date(2024, 1, 2)) == "2024-01-02"
    assert client.sanitize_for_serialization([1, (2, when)]) == [1, (2, "2024-01-02T03:04:05")]
    assert isinstance(client.sanitize_for_serialization((1, 2)), tuple)  # upstream keeps a tuple a tuple
    # A model is its to_dict(): JSON names, None fields left out (upstream: exclude_none=True),
    # defaults kept (upstream's BranchCreation defaults force and hidden to False).
    creation = BranchCreation(name="b", source="main")
    assert client.sanitize_for_serialization({"k": [creation]}) == {
        "k": [{"name": "b", "source": "main", "force": False, "hidden": False}]
    }
    stats = ObjectStats(path="p", path_type="object", physical_address="s3://x", checksum="c", mtime=1)
    assert client.sanitize_for_serialization(stats) == {
        "path": "p",
        "path_type": "object",
        "physical_address": "s3://x",
        "checksum": "c",
        "mtime": 1,
    }


def test_sanitize_for_serialization_returns_what_it_cannot_convert(client: Any) -> None:
    thing = object()  # upstream: AttributeError ('object' has no 'to_dict'); deliberate difference
    assert client.sanitize_for_serialization(thing) is thing


@pytest.mark.parametrize(
    ("body", "type_name", "expected"),
    [
        (b'{"id": "main", "commit_id": "c1"}', "Ref", Ref(id="main", commit_id="c1")),
        (b'[{"id": "a", "commit_id": "1"}]', "List[Ref]", [Ref(id="a", commit_id="1")]),
        (b'{"a": "b"}', "Dict[str, str]", {"a": "b"}),
        (b'"quoted"', "str", "quoted"),
        (b"5", "int", 5),
        (b"true", "bool", True),
        (b'{"a": [1]}', "object", {"a": [1]}),
        (b"\x00\x01", "bytearray", b"\x00\x01"),
    ],
)
def test_deserialize_matches_upstream(client: Any, body: bytes, type_name: str, expected: Any) -> None:
    assert client.deserialize(Body(body), type_name) == expected


def test_deserialize_takes_a_body_too_and_reads_plain_text_as_text(client: Any) -> None:
    assert client.deserialize(b'{"id": "m", "commit_id": "c"}', "Ref") == Ref(id="m", commit_id="c")
    assert client.deserialize('{"id": "m", "commit_id": "c"}', "Ref") == Ref(id="m", commit_id="c")
    # Upstream gives str(b"plain") == "b'plain'" here; the text is what a caller means.
    assert client.deserialize(Body(b"plain"), "str") == "plain"


def test_deserialize_refuses_what_is_no_response(client: Any) -> None:
    with pytest.raises(TypeError, match="takes a response or its body"):
        client.deserialize(42, "Ref")


def test_update_params_for_auth_matches_upstream(client: Any) -> None:
    headers: Dict[str, str] = {}
    queries: List[Tuple[str, str]] = []
    client.update_params_for_auth(headers, queries, [], "/x", "GET", None)
    assert headers == {} and queries == []  # no schemes: nothing (upstream returns at once)
    client.update_params_for_auth(headers, queries, ["basic_auth"], "/x", "GET", None)
    assert headers == {"Authorization": "Basic " + base64.b64encode(b"AKIA:secret").decode()}
    client.update_params_for_auth(headers, queries, ["jwt_token"], "/x", "GET", None)
    assert headers == {"Authorization": "Bearer tok"}  # the later scheme wins, as upstream
    client.update_params_for_auth(headers, queries, ["no_such_scheme"], "/x", "GET", None)
    assert headers == {"Authorization": "Bearer tok"}


def test_update_params_for_auth_with_request_auth_matches_upstream(client: Any) -> None:
    headers: Dict[str, str] = {}
    queries: List[Tuple[str, str]] = []
    header_auth = {"in": "header", "type": "api_key", "key": "X-Api-Key", "value": "k"}
    client.update_params_for_auth(headers, queries, ["basic_auth"], "/x", "GET", None, header_auth)
    assert headers == {"X-Api-Key": "k"}  # request_auth replaces the configured schemes
    query_auth = {"in": "query", "type": "api_key", "key": "token", "value": "q"}
    client.update_params_for_auth(headers, queries, ["basic_auth"], "/x", "GET", None, query_auth)
    assert queries == [("token", "q")]


def test_update_params_for_auth_sends_a_cookie_lakefs_can_read(client: Any) -> None:
    client.configuration.api_key["cookie_auth"] = "session"
    headers: Dict[str, str] = {}
    client.update_params_for_auth(headers, None, ["cookie_auth"], "/x", "GET", None)
    # Upstream sends "Cookie: session" (the bare value); deliberate difference: name=value.
    assert headers == {"Cookie": "internal_auth_session=session"}
