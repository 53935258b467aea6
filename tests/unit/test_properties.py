"""Property tests: invariants that must hold for every input, not just the examples we thought of."""

from __future__ import annotations

import copy
import json
import math
from typing import Any, Dict, Set
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from urllib3 import HTTPHeaderDict

import lakefs_sdk
from lakefs_sdk import models
from lakefs_sdk._operation import Operation, Param, check_header
from lakefs_sdk._retry import RetryPolicy, parse_retry_after
from lakefs_sdk.api_client import ApiClient

from support.routes import load_spec
from support.schema_data import documents

SPEC = load_spec()


def _with_hints(schemas: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of the spec's ``schemas`` whose enums say what the models accept, by our hints.

    An ``x-lakefs-enum`` property (the spec lists no values; lakeFS checks them) takes its
    ``values`` and ``also-accepted``; an ``unlisted`` deviation hint adds the values the
    server sends besides the spec's enum (accepted when decoding, as these tests do).
    """
    hinted = copy.deepcopy(schemas)
    for schema in hinted.values():
        for part in [schema, *schema.get("allOf", [])]:
            for prop in (part.get("properties") or {}).values():
                server_enum = prop.get("x-lakefs-enum")
                if server_enum:
                    prop["enum"] = server_enum["values"] + server_enum.get("also-accepted", [])
        for hint in schema.get("x-lakefs-server-deviations", []):
            if hint["sends"] == "unlisted":
                schema["properties"][hint["property"]]["enum"] += hint["values"]
    return hinted


def _referenced(node: Any) -> Set[str]:
    """The names of the component schemas ``node`` refers to."""
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[1]} if "$ref" in node else set()
        return found.union(*(_referenced(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_referenced(item) for item in node))
    return set()


def _answer_only(schemas: Dict[str, Any]) -> Set[str]:
    """Schemas whose documents may hold a value a model built in Python refuses (an unlisted one)."""
    found = {name for name, schema in schemas.items()
             if any(hint["sends"] == "unlisted" for hint in schema.get("x-lakefs-server-deviations", []))}
    while True:
        more = {name for name, schema in schemas.items() if _referenced(schema) & found} - found
        if not more:
            return found
        found |= more


SCHEMAS: Dict[str, Any] = _with_hints(SPEC["components"]["schemas"])
ANSWER_ONLY = _answer_only(SCHEMAS)

PATH_OP = Operation(
    "getObjectish",
    "get_objectish",
    "GET",
    "/repositories/{repository}/refs/{ref}/objects",
    params=(
        Param("repository", "repository", "path", "str", "str", required=True),
        Param("ref", "ref", "path", "str", "str", required=True),
        Param("path", "path", "query", "str", "str", required=True),
    ),
    responses={"200": "ObjectStats"},
    auth=(),
    accept=("application/json",),
    content_types=(),
)


# -- path and query encoding --------------------------------------------------------------------


@given(st.text(min_size=1))
def test_path_segment_round_trips_and_stays_one_segment(value: str) -> None:
    assume(unquote(value) not in ("", ".", ".."))
    values = PATH_OP.check_arguments([value, "main", "p"])
    path = PATH_OP.url_path(values)
    prefix, encoded, suffix = path[: len("/repositories/")], path[len("/repositories/") : -len("/refs/main/objects")], path[-len("/refs/main/objects") :]
    assert prefix == "/repositories/" and suffix == "/refs/main/objects"
    assert not set(encoded) & set("/?#"), "an encoded segment never contains a delimiter"
    assert all(32 < ord(c) < 127 for c in encoded), "only printable ASCII goes on the wire"
    assert unquote(encoded, errors="strict") == value


@given(st.sampled_from(["", ".", "..", "%2e", "%2E%2e", "%2e%2E"]))
def test_dot_segments_are_refused(value: str) -> None:
    with pytest.raises(lakefs_sdk.ApiValueError, match="dot path segment"):
        PATH_OP.check_arguments([value, "main", "p"])


@given(st.text())
def test_query_value_round_trips_and_never_adds_a_parameter(value: str) -> None:
    query = PATH_OP.query_string(PATH_OP.check_arguments(["r", "main", value]))
    name, _, encoded = query.partition("=")
    assert name == "path"
    assert not set(encoded) & set("&#+= ?%") - {"%"} or "%" in encoded
    assert "&" not in encoded and "#" not in encoded and "+" not in encoded and "=" not in encoded
    assert unquote(encoded, errors="strict") == value


# -- headers ----------------------------------------------------------------------------------------


@given(st.text())
def test_header_values_with_cr_lf_nul_are_refused(value: str) -> None:
    dangerous = any(c in value for c in "\r\n\x00")
    if dangerous:
        with pytest.raises(lakefs_sdk.ApiValueError, match="CR, LF or NUL"):
            check_header("X-Lakefs-Meta-Note", value, "upload_object")
    else:
        assert check_header("X-Lakefs-Meta-Note", value, "upload_object") == value


@given(st.text(min_size=1))
def test_header_names_must_be_tokens(name: str) -> None:
    valid = all(c.isascii() and (c.isalnum() or c in "!#$%&'*+-.^_`|~") for c in name)
    if valid:
        assert check_header(name, "v", "m") == "v"
    else:
        with pytest.raises(lakefs_sdk.ApiValueError):
            check_header(name, "v", "m")


# -- Retry-After --------------------------------------------------------------------------------------


@given(st.one_of(st.text(), st.floats(allow_nan=True, allow_infinity=True).map(str), st.integers().map(str)))
def test_retry_after_never_raises_and_never_waits_past_the_cap(value: str) -> None:
    policy = RetryPolicy(max_retries=5, backoff=0.5, backoff_max=8.0, retry_after_max=30.0, rng=lambda: 0.5)
    parsed = parse_retry_after(value)
    assert parsed is None or (0 <= parsed <= 24 * 3600 and not math.isnan(parsed))
    for retry in range(1, 6):
        wait = policy.delay(retry, value)
        assert 0 <= wait <= 30.0


@given(st.integers(min_value=1, max_value=64))
def test_backoff_is_capped_exponential(retry: int) -> None:
    policy = RetryPolicy(max_retries=64, backoff=0.5, backoff_max=8.0, retry_after_max=30.0, rng=lambda: 0.0)
    assert policy.delay(retry) == min(0.5 * 2 ** (retry - 1), 8.0)


# -- every schema's valid documents round-trip through its model ------------------------------------


MODEL_SCHEMAS = sorted(name for name in SCHEMAS if hasattr(models, name))


def test_schemas_without_a_model_are_plain_maps_or_lists() -> None:
    """Only free-form objects, maps and lists get no model class (they are typed as dict/list)."""
    others = sorted(set(SCHEMAS) - set(MODEL_SCHEMAS))
    assert others == [
        "CapabilitiesConfig",
        "ExternalPrincipalSettings",
        "ObjectUserMetadata",
        "PolicyCondition",
        "RepositoryMetadata",
        "StorageConfigList",
    ]
    for name in others:
        schema = SCHEMAS[name]
        assert schema["type"] == "array" or not schema.get("properties"), name


def test_the_hints_shape_the_generated_documents() -> None:
    assert SCHEMAS["Merge"]["properties"]["strategy"]["enum"] == ["dest-wins", "source-wins", ""]
    assert SCHEMAS["ACL"]["properties"]["permission"]["enum"] == ["Read", "Write", "Super", "Admin"]
    assert SCHEMAS["HookRun"]["properties"]["status"]["enum"] == ["failed", "completed", "skipped"]
    assert "enum" not in SPEC["components"]["schemas"]["Merge"]["properties"]["strategy"], "the spec is left as it is"
    assert ANSWER_ONLY == {"HookRun", "HookRunList"}


@pytest.mark.parametrize("name", MODEL_SCHEMAS)
def test_schema_documents_round_trip_through_the_model(name: str) -> None:
    model = getattr(models, name)

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(documents(SCHEMAS[name], SCHEMAS))
    def round_trip(document: Any) -> None:
        parsed = model.model_validate_json(json.dumps(document))
        again = model.model_validate_json(parsed.to_json())
        assert again == parsed
        assert model.from_dict(parsed.to_dict()) == parsed
        assert not any(key.startswith("unknown_") for key in parsed.to_dict()), "unknown fields are dropped"
        if name not in ANSWER_ONLY:
            assert model.model_validate(parsed.to_dict()) == parsed, "built in Python it is accepted too"

    round_trip()


# -- arbitrary response bytes only ever raise SDK exceptions -------------------------------------------


class FakeResponse:
    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        self.status = status
        self.reason = "Reason"
        self.data = body
        self.headers = HTTPHeaderDict({"Content-Type": content_type})
        self.retries = 0


@settings(max_examples=300)
@given(
    st.binary(max_size=300),
    st.sampled_from([200, 201, 400, 401, 404, 409, 412, 429, 500, 502, 503]),
    st.sampled_from(["application/json", "text/html", "application/octet-stream"]),
    st.sampled_from(["ObjectStats", "ObjectStatsList", "Ref", "str", "bytes", "List[StorageConfig]"]),
)
def test_arbitrary_body_bytes_only_raise_sdk_exceptions(body: bytes, status: int, content_type: str, type_name: str) -> None:
    client = ApiClient(lakefs_sdk.Configuration(host="http://127.0.0.1:9/api/v1"))
    op = Operation("op", "op", "GET", "/x", params=(), responses={"200": type_name, "201": None}, auth=(), accept=(), content_types=())
    opts = lakefs_sdk._options.DEFAULT_OPTIONS
    try:
        client._result(op, (), FakeResponse(status, body, content_type), opts, "http_info")  # type: ignore[arg-type]
    except lakefs_sdk.ApiException as error:
        assert error.status == status
        str(error), repr(error)  # rendering never fails either
