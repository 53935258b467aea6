"""Models keep upstream lakefs-sdk's helper methods and their semantics, without warnings.

Upstream models are pydantic v1 models (through the ``pydantic.v1`` shim); ours are native
pydantic v2 models. Code written for upstream calls ``.dict()``, ``.json()``, ``.to_dict()``,
``.to_json()``, ``.from_dict()``, ``.from_json()`` and ``parse_obj``, and builds models by
JSON name (``identityRequest=``, ``date=``) or Python name (``var_date=``). Expected values
below are upstream 1.84.0's results for the same calls.

Where ours differs on purpose, the difference is derived from the spec, never listed here:
the ``x-lakefs-server-deviations`` hints of api/openapi.yaml name the fields a real lakeFS
server leaves out, sends as null, or fills with a value the spec's enum lacks. Upstream
(whose surface tests/compat/data records) requires them, checks the enum, and fails on
such an answer; ours decodes it.
"""

from __future__ import annotations

import datetime
import json
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import lakefs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import lakefs_sdk
from lakefs_sdk import (
    CommitCreation,
    ExternalLoginInformation,
    ImportCreation,
    ImportLocation,
    ImportStatus,
    ObjectStats,
    ResetCreation,
    StagingLocation,
    StatsEvent,
    StorageConfig,
    TagCreation,
)

from support.routes import load_spec
from support.schema_data import documents

SPEC = load_spec()
SCHEMAS: Dict[str, Any] = SPEC["components"]["schemas"]
UPSTREAM_MODELS: Dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "upstream_surface.json").read_text(encoding="utf-8")
)["models"]

IMPORT_STATUS = {
    "completed": True,
    "update_time": "2024-01-02T03:04:05Z",
    "ingested_objects": 2,
    "commit": {
        "id": "c1",
        "parents": ["c0"],
        "committer": "etl",
        "message": "Import",
        "creation_date": 1700000000,
        "meta_range_id": "mr",
        "metadata": {"k": "v"},
    },
}


def test_dict_uses_python_names() -> None:
    model = CommitCreation(message="m", date=5)
    assert model.dict() == {"message": "m", "metadata": None, "var_date": 5, "allow_empty": False, "force": False}
    assert model.dict(by_alias=True) == {
        "message": "m",
        "metadata": None,
        "date": 5,
        "allow_empty": False,
        "force": False,
    }
    assert model.dict(exclude_none=True) == {"message": "m", "var_date": 5, "allow_empty": False, "force": False}
    assert model.dict(include={"message"}) == {"message": "m"}
    assert model.dict(exclude={"force", "allow_empty", "metadata"}) == {"message": "m", "var_date": 5}


def test_dict_turns_nested_models_into_dicts() -> None:
    """``lakefs`` builds its own named tuples from ``.dict()``, nested models included."""
    status = ImportStatus.from_dict(IMPORT_STATUS)
    assert status is not None
    as_dict = status.dict()
    assert as_dict["commit"] == {**IMPORT_STATUS["commit"], "generation": None, "version": None}
    assert as_dict["update_time"] == datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    assert as_dict["error"] is None and as_dict["metarange_id"] is None
    converted = lakefs.ImportStatus(**as_dict)
    assert converted.commit is not None and converted.commit.parents == ["c0"]


def test_json_uses_python_names() -> None:
    model = CommitCreation(message="m", date=5)
    assert json.loads(model.json()) == {
        "message": "m",
        "metadata": None,
        "var_date": 5,
        "allow_empty": False,
        "force": False,
    }
    assert json.loads(model.json(by_alias=True, exclude_none=True)) == {
        "message": "m",
        "date": 5,
        "allow_empty": False,
        "force": False,
    }


def test_to_dict_uses_json_names_and_drops_none() -> None:
    creation = ImportCreation(
        paths=[ImportLocation(type="common_prefix", path="s3://bucket/p/", destination="p/")],
        commit=CommitCreation(message="m", metadata=None, allow_empty=False, date=None),
    )
    expected = {
        "paths": [{"type": "common_prefix", "path": "s3://bucket/p/", "destination": "p/"}],
        "commit": {"message": "m", "allow_empty": False, "force": False},
        "force": False,
    }
    assert creation.to_dict() == expected
    assert json.loads(creation.to_json()) == expected
    assert ExternalLoginInformation(identityRequest={"a": 1}, token_expiration_duration=5).to_dict() == {
        "identityRequest": {"a": 1},
        "token_expiration_duration": 5,
    }


def test_to_dict_keeps_an_explicit_null_of_a_nullable_field() -> None:
    assert StagingLocation(physical_address="pa", presigned_url=None).to_dict() == {
        "physical_address": "pa",
        "presigned_url": None,
    }
    assert StagingLocation(physical_address="pa").to_dict() == {"physical_address": "pa"}


def test_from_dict() -> None:
    assert CommitCreation.from_dict(None) is None
    model = CommitCreation.from_dict({"message": "m", "date": 7, "metadata": {"a": "b"}})
    assert model == CommitCreation(message="m", var_date=7, metadata={"a": "b"})
    # As upstream: a null for a field with a default gives the default, at any depth.
    model = CommitCreation.from_dict({"message": "m", "allow_empty": None, "force": None})
    assert model is not None and model.allow_empty is False and model.force is False
    nested = ImportCreation.from_dict(
        {
            "paths": [{"type": "object", "path": "s3://b/k", "destination": "k"}],
            "commit": {"message": "m", "allow_empty": None},
        }
    )
    assert nested is not None and nested.commit.allow_empty is False
    assert TagCreation.from_dict(TagCreation(id="v1", ref="main")) == TagCreation(id="v1", ref="main")


def test_from_json_and_parse_obj() -> None:
    assert CommitCreation.from_json('{"message": "m", "date": 4}') == CommitCreation(message="m", date=4)
    assert CommitCreation.parse_obj({"message": "m", "date": 3}).var_date == 3
    assert CommitCreation.parse_raw('{"message": "m"}') == CommitCreation(message="m")
    status = ImportStatus.from_json(json.dumps(IMPORT_STATUS))
    assert status.commit is not None and isinstance(status.commit, lakefs_sdk.Commit)


def test_round_trips() -> None:
    original = ImportCreation(
        paths=[ImportLocation(type="object", path="s3://b/k", destination="k")],
        commit=CommitCreation(message="m", date=9, metadata={"x": "y"}),
    )
    assert ImportCreation.from_dict(original.to_dict()) == original
    assert ImportCreation.from_json(original.to_json()) == original
    assert ImportCreation.parse_obj(original.dict(by_alias=True)) == original
    assert original.copy(update={"force": True}).force is True and original.force is False


@pytest.mark.parametrize(
    ("build", "field", "value"),
    [
        (lambda: ExternalLoginInformation(identityRequest={"k": "v"}), "identity_request", {"k": "v"}),
        (lambda: ExternalLoginInformation(identity_request={"k": "v"}), "identity_request", {"k": "v"}),
        (lambda: CommitCreation(message="m", date=11), "var_date", 11),
        (lambda: CommitCreation(message="m", var_date=11), "var_date", 11),
        (lambda: StatsEvent(**{"class": "c", "name": "n", "count": 1}), "var_class", "c"),
        (lambda: ImportLocation(type="object", path="s3://b/k", destination="k"), "type", "object"),
        (lambda: ResetCreation(type="reset"), "type", "reset"),
        (lambda: TagCreation(id="v1", ref="main"), "id", "v1"),
    ],
)
def test_construction_by_json_or_python_name(build: Callable[[], BaseModel], field: str, value: Any) -> None:
    assert getattr(build(), field) == value


def test_storage_config_by_json_name() -> None:
    config = StorageConfig(
        blockstore_type="s3",
        blockstore_namespace_example="s3://bucket/",
        blockstore_namespace_ValidityRegex="^s3://",
        pre_sign_support=True,
        pre_sign_support_ui=False,
        import_support=True,
        import_validity_regex="^s3://",
    )
    assert config.dict()["blockstore_namespace_validity_regex"] == "^s3://"
    assert config.to_dict()["blockstore_namespace_ValidityRegex"] == "^s3://"


def test_unknown_fields_are_ignored() -> None:
    """``lakefs`` builds ``ObjectStats(**json.loads(body))``: a newer server's extra fields must not break it."""
    stats = ObjectStats(
        **{"path": "p", "path_type": "object", "physical_address": "pa", "checksum": "c", "mtime": 1, "new_field": 3}
    )
    assert stats.path == "p" and "new_field" not in stats.dict()


@pytest.mark.parametrize(
    "build",
    [
        lambda: CommitCreation(),  # required field missing
        lambda: CommitCreation(message=5),  # strict str
        lambda: CommitCreation(message="m", date="5"),  # strict int
        lambda: ResetCreation(type="everything"),  # not an enum value
        lambda: ImportCreation(paths=[{"type": "object"}], commit={"message": "m"}),  # nested required missing
    ],
)
def test_invalid_values_raise_value_error(build: Callable[[], BaseModel]) -> None:
    """Upstream raised pydantic.v1's ValidationError, ours pydantic's: both are ValueErrors."""
    with pytest.raises(ValueError):
        build()


def test_assignment_is_validated() -> None:
    tag = TagCreation(id="v1", ref="main")
    with pytest.raises(ValueError):
        tag.ref = 5  # type: ignore[assignment]
    tag.ref = "dev"
    assert tag.to_dict()["ref"] == "dev"


def test_helpers_emit_no_warning_at_all() -> None:
    calls: List[Tuple[str, Callable[[], Any]]] = [
        ("dict", lambda: CommitCreation(message="m").dict()),
        ("json", lambda: CommitCreation(message="m").json()),
        ("to_dict", lambda: CommitCreation(message="m").to_dict()),
        ("to_json", lambda: CommitCreation(message="m").to_json()),
        ("to_str", lambda: CommitCreation(message="m").to_str()),
        ("from_dict", lambda: CommitCreation.from_dict({"message": "m"})),
        ("from_json", lambda: CommitCreation.from_json('{"message": "m"}')),
        ("parse_obj", lambda: CommitCreation.parse_obj({"message": "m"})),
        ("parse_raw", lambda: CommitCreation.parse_raw('{"message": "m"}')),
        ("copy", lambda: CommitCreation(message="m").copy()),
    ]
    for name, call in calls:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        assert not caught, f"{name}() warned: {[str(w.message) for w in caught]}"


def _patterned_fields() -> List[Tuple[str, str, str]]:
    """(model, JSON field name, pattern) for every model property the spec constrains with a pattern."""
    found = []
    for name, schema in load_spec()["components"]["schemas"].items():
        for part in [schema, *schema.get("allOf", [])]:
            for prop, prop_schema in (part.get("properties") or {}).items():
                if "pattern" in prop_schema:
                    found.append((name, prop, prop_schema["pattern"]))
    return found


@pytest.mark.parametrize(("model_name", "field", "pattern"), _patterned_fields())
def test_pattern_constraints_are_validated(model_name: str, field: str, pattern: str) -> None:
    model = getattr(lakefs_sdk.models, model_name)
    with pytest.raises(ValueError) as caught:
        model.model_validate({field: "\u00a7 not matching \u00a7"})
    locations = [error["loc"] for error in caught.value.errors()]  # type: ignore[attr-defined]
    assert (field,) in locations, f"{model_name}.{field} accepted a value not matching {pattern!r}"


# -- where lakeFS departs from its spec: derived from the hints ---------------------------------


def _deviations() -> List[Tuple[str, str, str]]:
    """(schema, JSON property, what the server sends) for every x-lakefs-server-deviations hint of a schema."""
    return [
        (name, hint["property"], hint["sends"])
        for name, schema in SCHEMAS.items()
        for hint in schema.get("x-lakefs-server-deviations", [])
    ]


def _unlisted_values(schema: str, prop: str) -> List[str]:
    (hint,) = [h for h in SCHEMAS[schema]["x-lakefs-server-deviations"] if h["property"] == prop]
    values: List[str] = hint["values"]
    return values


def _python_name(model: type[BaseModel], json_name: str) -> str:
    return next(name for name, field in model.model_fields.items() if (field.alias or name) == json_name)


def test_the_spec_has_deviation_hints() -> None:
    assert len(_deviations()) >= 2


@pytest.mark.parametrize(("schema", "prop", "sends"), _deviations())
def test_upstream_requires_each_field_a_hint_names(schema: str, prop: str, sends: str) -> None:
    """So upstream's from_dict raised on the server's answer: the difference the hint makes."""
    model = getattr(lakefs_sdk.models, schema)
    field = UPSTREAM_MODELS[schema]["fields"][_python_name(model, prop)]
    assert field["required"] is True and "default" not in field
    assert model.model_fields[_python_name(model, prop)].is_required(), "ours stays required when built"


@pytest.mark.parametrize(("schema", "prop", "sends"), _deviations())
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_answers_with_a_hinted_deviation_decode_where_upstream_failed(
    schema: str, prop: str, sends: str, data: st.DataObject
) -> None:
    model = getattr(lakefs_sdk.models, schema)
    name = _python_name(model, prop)
    answer = dict(data.draw(documents(SCHEMAS[schema], SCHEMAS)))
    if sends == "unlisted":
        # Upstream checks the spec's enum, which lacks the value: its from_dict raised.
        assert all(value not in SCHEMAS[schema]["properties"][prop]["enum"] for value in _unlisted_values(schema, prop))
        answer[prop] = data.draw(st.sampled_from(_unlisted_values(schema, prop)))
    elif sends == "missing":
        answer.pop(prop, None)
    else:
        answer[prop] = None
    for decoded in (model.from_dict(answer), model.from_json(json.dumps(answer))):
        value = getattr(decoded, name)
        if sends == "unlisted":
            assert value == answer[prop], f"{schema}.{name} decoded as {value!r}"
        else:
            assert value is not None and value == type(value)(), f"{schema}.{name} decoded as {value!r}"
    with pytest.raises(ValueError):
        model(**answer)  # built in Python it is checked as upstream checks it
