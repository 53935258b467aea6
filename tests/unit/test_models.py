"""Generated models: leniency where lakeFS departs from its spec, enum values, help(), metadata.

The answers below were recorded verbatim from a real lakeFS 1.84.0 (``list_pull_requests``
after creating two pull requests, one with a description; ``get_gc_rules`` after
``set_gc_rules`` with ``branches: []``; ``list_run_hooks`` of a pre-commit run whose first
of two webhooks answered 500, identical on 1.86.0 but for times and IDs). They break the
spec, and decoding them must work; models built in Python must still be checked, and sent,
exactly as the spec says.

Enum values lakeFS checks although its spec lists none (``x-lakefs-enum`` hints: the merge
strategy, an ACL's permission) are checked before sending, with the same message as the
spec's enums.
"""

from __future__ import annotations

import json
import pydoc
from typing import Annotated, Any, Dict, Iterator, List, Literal, Optional, Union

import pydantic
import pytest

import lakefs_sdk
from lakefs_sdk import (
    ACL,
    ApiClient,
    CommitCreation,
    Configuration,
    GarbageCollectionRule,
    GarbageCollectionRules,
    HookRun,
    HookRunList,
    Merge,
    PullRequest,
    PullRequestBasic,
    PullRequestCreation,
    PullRequestsList,
    RepositoryCreation,
    ResetCreation,
    _types,
)
from lakefs_sdk._model import LakeFSModel, literal_values, zero_values
from lakefs_sdk.api.actions_api import ActionsApi
from lakefs_sdk.api.auth_api import AuthApi
from lakefs_sdk.api.pulls_api import PullsApi
from lakefs_sdk.api.refs_api import RefsApi
from lakefs_sdk.api.repositories_api import RepositoriesApi

from support.loopback import LoopbackServer, Reply

LIST_PULL_REQUESTS = (
    b'{"pagination":{"has_more":false,"max_per_page":1000,"next_offset":"","results":2},"results":'
    b'[{"status":"open","title":"Add a","author":"admin","creation_date":"2026-12-02T07:50:38.414032698Z",'
    b'"destination_branch":"main","id":"4oicschksduag3e26s40","source_branch":"feat"},'
    b'{"status":"open","title":"Second","author":"admin","creation_date":"2026-12-02T07:50:38.423228022Z",'
    b'"destination_branch":"main","id":"4oicschksduag3e26s4g","source_branch":"feat"}]}\n'
)
GET_PULL_REQUEST = (
    b'{"description":"With text","status":"open","title":"Second","author":"admin",'
    b'"creation_date":"2026-12-02T07:50:38.423228022Z","destination_branch":"main",'
    b'"id":"4oicschksduag3e26s4g","source_branch":"feat"}\n'
)
GET_GC_RULES_AFTER_EMPTY_SET = b'{"branches":null,"default_retention_days":7}\n'
LIST_RUN_HOOKS_AFTER_A_FAILED_HOOK = (
    b'{"pagination":{"has_more":false,"max_per_page":1000,"next_offset":"","results":2},"results":'
    b'[{"action":"two","end_time":"2026-12-02T08:12:04.052435547Z","hook_id":"first","hook_run_id":"0000_0000",'
    b'"start_time":"2026-12-02T08:12:04.050965469Z","status":"failed"},'
    b'{"action":"two","hook_id":"second","hook_run_id":"0000_0001","start_time":"0001-01-01T00:00:00Z",'
    b'"status":"skipped"}]}\n'
)
PULL_REQUEST_ITEM: Dict[str, Any] = json.loads(LIST_PULL_REQUESTS)["results"][0]


# -- decoding what the server really sends ---------------------------------------------------------


def test_listed_pull_requests_without_description_decode_as_empty_strings() -> None:
    listing = _types.decode_json("PullRequestsList", LIST_PULL_REQUESTS)
    assert isinstance(listing, PullRequestsList)
    assert [(pr.title, pr.description) for pr in listing.results] == [("Add a", ""), ("Second", "")]
    assert all(type(pr.description) is str for pr in listing.results)
    assert listing.results[1].id == "4oicschksduag3e26s4g" and listing.results[1].status == "open"


def test_a_description_the_server_sends_is_kept() -> None:
    pull = _types.decode_json("PullRequest", GET_PULL_REQUEST)
    assert pull.description == "With text"
    assert PullRequest.from_json(GET_PULL_REQUEST).description == "With text"


def test_null_branches_decode_as_an_empty_list() -> None:
    rules = _types.decode_json("GarbageCollectionRules", GET_GC_RULES_AFTER_EMPTY_SET)
    assert rules.branches == [] and type(rules.branches) is list
    assert rules.default_retention_days == 7
    assert GarbageCollectionRules.from_json(GET_GC_RULES_AFTER_EMPTY_SET).branches == []
    assert GarbageCollectionRules.model_validate_json(GET_GC_RULES_AFTER_EMPTY_SET).branches == []


def test_from_dict_is_a_decoder_too() -> None:
    """Upstream's from_dict decodes answers: the same leniency, by JSON or Python name."""
    pull = PullRequest.from_dict(PULL_REQUEST_ITEM)
    assert pull is not None and pull.description == ""
    assert PullRequest.from_dict({**PULL_REQUEST_ITEM, "description": None}).description == ""  # type: ignore[union-attr]
    rules = GarbageCollectionRules.from_dict(json.loads(GET_GC_RULES_AFTER_EMPTY_SET))
    assert rules is not None and rules.branches == []
    listing = PullRequestsList.from_dict(json.loads(LIST_PULL_REQUESTS))
    assert listing is not None and [pr.description for pr in listing.results] == ["", ""]


def test_hooks_not_run_after_a_failed_one_decode_as_skipped() -> None:
    listing = _types.decode_json("HookRunList", LIST_RUN_HOOKS_AFTER_A_FAILED_HOOK)
    assert isinstance(listing, HookRunList)
    assert [(hook.hook_id, hook.status) for hook in listing.results] == [("first", "failed"), ("second", "skipped")]
    skipped = listing.results[1]
    assert skipped.end_time is None and skipped.start_time.year == 1, "never started"
    item = json.loads(LIST_RUN_HOOKS_AFTER_A_FAILED_HOOK)["results"][1]
    for decoded in (HookRun.from_json(json.dumps(item)), HookRun.from_dict(item), HookRun.model_validate_json(json.dumps(item))):
        assert decoded is not None and decoded.status == "skipped"
    assert HookRun.from_dict(skipped.to_dict()) == skipped, "a decoded model round-trips"


@pytest.mark.parametrize("status", ["pending", "Skipped", "", 3])
def test_other_unlisted_hook_statuses_are_still_refused(status: Any) -> None:
    item = {**json.loads(LIST_RUN_HOOKS_AFTER_A_FAILED_HOOK)["results"][1], "status": status}
    with pytest.raises(pydantic.ValidationError, match="must be one of \\('failed', 'completed'\\)"):
        HookRun.from_json(json.dumps(item))


@pytest.fixture
def client() -> Iterator[tuple[ApiClient, LoopbackServer]]:
    with LoopbackServer(lambda request: Reply(500)) as server:
        with ApiClient(Configuration(host=server.url + "/api/v1", username="a", password="b")) as api_client:
            yield api_client, server


def test_the_api_methods_return_the_lenient_models(client: tuple[ApiClient, LoopbackServer]) -> None:
    api_client, server = client
    server.reply(Reply(200, LIST_PULL_REQUESTS), Reply(200, GET_GC_RULES_AFTER_EMPTY_SET))
    listing = PullsApi(api_client).list_pull_requests("repo")
    rules = RepositoriesApi(api_client).get_gc_rules("repo")
    assert [pr.description for pr in listing.results] == ["", ""]
    assert rules.branches == []
    assert [r.target for r in server.requests] == [
        "/api/v1/repositories/repo/pulls",
        "/api/v1/repositories/repo/settings/gc_rules",
    ]


def test_list_run_hooks_returns_the_skipped_hook(client: tuple[ApiClient, LoopbackServer]) -> None:
    api_client, server = client
    server.reply(Reply(200, LIST_RUN_HOOKS_AFTER_A_FAILED_HOOK, headers={"Content-Type": "application/json"}))
    hooks = ActionsApi(api_client).list_run_hooks("repo", "4oicib1ksduf3ae7vb70").results
    assert [hook.status for hook in hooks] == ["failed", "skipped"]
    assert [r.target for r in server.requests] == ["/api/v1/repositories/repo/actions/runs/4oicib1ksduf3ae7vb70/hooks"]


# -- what we build and send is unchanged -----------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: PullRequest(**PULL_REQUEST_ITEM),
        lambda: PullRequest(**{**PULL_REQUEST_ITEM, "description": None}),
        lambda: PullRequest.model_validate(PULL_REQUEST_ITEM),
        lambda: GarbageCollectionRules(default_retention_days=7),  # type: ignore[call-arg]
        lambda: GarbageCollectionRules(default_retention_days=7, branches=None),  # type: ignore[arg-type]
        lambda: GarbageCollectionRules.model_validate({"default_retention_days": 7, "branches": None}),
    ],
)
def test_models_built_in_python_still_require_the_fields(build: Any) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        build()
    assert {error["loc"][0] for error in caught.value.errors()} <= {"description", "branches"}


def test_request_bodies_serialize_as_before() -> None:
    assert PullRequestBasic(title="New title").to_dict() == {"title": "New title"}
    assert PullRequestBasic(status="closed").to_dict() == {"status": "closed"}
    assert PullRequestCreation(title="t", source_branch="s", destination_branch="d").to_dict() == {
        "title": "t",
        "source_branch": "s",
        "destination_branch": "d",
    }
    rules = GarbageCollectionRules(default_retention_days=7, branches=[])
    assert _types.encode_json(rules) == b'{"default_retention_days":7,"branches":[]}'
    with_rule = GarbageCollectionRules(
        default_retention_days=7, branches=[GarbageCollectionRule(branch_id="main", retention_days=3)]
    )
    assert json.loads(_types.encode_json(with_rule)) == {
        "default_retention_days": 7,
        "branches": [{"branch_id": "main", "retention_days": 3}],
    }


@pytest.mark.parametrize(
    "build",
    [
        lambda: HookRun(hook_run_id="0000_0001", action="a", hook_id="h", start_time="2026-12-02T08:12:04Z", status="skipped"),
        lambda: HookRun.model_validate({"hook_run_id": "0", "action": "a", "hook_id": "h",
                                        "start_time": "2026-12-02T08:12:04Z", "status": "skipped"}),
    ],
)
def test_a_hook_run_built_in_python_takes_only_the_spec_statuses(build: Any) -> None:
    with pytest.raises(pydantic.ValidationError, match="must be one of \\('failed', 'completed'\\), got 'skipped'"):
        build()
    hook = HookRun(hook_run_id="0", action="a", hook_id="h", start_time="2026-12-02T08:12:04Z", status="failed")  # type: ignore[arg-type]
    with pytest.raises(pydantic.ValidationError):
        hook.status = "skipped"
    assert hook.status == "failed"


def test_a_request_body_given_as_a_dict_is_checked_strictly() -> None:
    with pytest.raises(pydantic.ValidationError):
        _types.validate_value("GarbageCollectionRules", {"default_retention_days": 7})


def test_update_pull_request_sends_only_what_was_set(client: tuple[ApiClient, LoopbackServer]) -> None:
    api_client, server = client
    server.reply(Reply(204, b""), Reply(204, b""))
    PullsApi(api_client).update_pull_request("repo", "4oicschksduag3e26s40", PullRequestBasic(title="Renamed"))
    RepositoriesApi(api_client).set_gc_rules("repo", GarbageCollectionRules(default_retention_days=1, branches=[]))
    assert [json.loads(r.body) for r in server.requests] == [
        {"title": "Renamed"},
        {"default_retention_days": 1, "branches": []},
    ]


# -- the mechanism itself --------------------------------------------------------------------------


class Lenient(LakeFSModel):
    """Every kind of field a hint can name."""

    text: str
    items: List[int]
    mapping: Dict[str, str]
    count: int
    flag: bool
    maybe: Optional[str] = None
    renamed: str = pydantic.Field(alias="renamedField")
    untouched: str
    _server_deviations = LakeFSModel.zero_when_absent("text", "items", "mapping", "count", "flag", "maybe", "renamedField")


def test_each_kind_of_field_gets_its_zero_value() -> None:
    decoded = Lenient.model_validate_json('{"items": null, "untouched": "u"}')
    assert decoded.model_dump() == {
        "text": "",
        "items": [],
        "mapping": {},
        "count": 0,
        "flag": False,
        "maybe": "",
        "renamed": "",
        "untouched": "u",
    }


def test_values_present_are_kept_and_other_fields_stay_strict() -> None:
    decoded = Lenient.from_dict({"renamed": "by python name", "text": "t", "count": 3, "untouched": "u"})
    assert decoded is not None and (decoded.renamed, decoded.text, decoded.count) == ("by python name", "t", 3)
    with pytest.raises(pydantic.ValidationError) as caught:
        Lenient.model_validate_json("{}")
    assert [error["loc"] for error in caught.value.errors()] == [("untouched",)]


def test_a_python_null_under_the_python_name_is_replaced_too() -> None:
    decoded = Lenient.from_dict({"renamed": None, "untouched": "u"})
    assert decoded is not None and decoded.renamed == ""


class Nested(LakeFSModel):
    inner: RepositoryCreation
    kind: Optional[str] = None


@pytest.mark.parametrize(("names", "message"), [(("inner",), "has no zero value"), (("nothing",), "has no field")])
def test_a_hint_that_cannot_be_honoured_is_a_type_error(names: tuple[str, ...], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        zero_values(Nested, names)


# -- enums: Literal types, our message -------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: ResetCreation(type="everything"),  # type: ignore[arg-type]
        lambda: ResetCreation.model_validate({"type": "everything"}),
        lambda: ResetCreation.from_json('{"type": "everything"}'),
    ],
)
def test_a_wrong_enum_value_gets_our_message_not_pydantics(build: Any) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        build()
    (error,) = caught.value.errors()
    assert error["type"] == "value_error"
    assert "must be one of (" in error["msg"] and "got '" in error["msg"]
    assert "Input should be" not in str(caught.value)


def test_the_allowed_strings_are_accepted_from_plain_str_variables() -> None:
    kind: str = "common_prefix"  # what lakefs and lakefs-spec pass
    assert ResetCreation(type=kind, path="p/").to_dict() == {"type": "common_prefix", "path": "p/", "force": False}  # type: ignore[arg-type]
    path_type: str = "object"
    assert lakefs_sdk.ImportLocation(type=path_type, path="s3://b/k", destination="k").type == "object"  # type: ignore[arg-type]


# -- values lakeFS checks although its spec lists none (x-lakefs-enum) ------------------------------


@pytest.mark.parametrize("strategy", ["dest-wins", "source-wins", None])
def test_the_merge_strategies_lakefs_accepts(strategy: Any) -> None:
    merge = Merge(strategy=strategy)
    assert merge.strategy == strategy
    assert merge.to_dict() == ({"strategy": strategy} if strategy else {}) | {"force": False, "allow_empty": False, "squash_merge": False}


def test_an_empty_strategy_is_accepted_and_sent_unchanged() -> None:
    """lakeFS takes "" as no strategy; the SDK does not turn it into anything else."""
    merge = Merge(strategy="")  # type: ignore[arg-type]
    assert merge.strategy == "" and merge.to_dict()["strategy"] == ""
    assert json.loads(_types.encode_json(merge))["strategy"] == ""
    assert _types.validate_value("Merge", {"strategy": ""}).strategy == ""


@pytest.mark.parametrize("strategy", ["theirs", "default", "DEST-WINS", " dest-wins", 1])
def test_any_other_strategy_is_refused_with_the_values(strategy: Any) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        Merge(strategy=strategy)
    (error,) = caught.value.errors()
    assert error["loc"] == ("strategy",) and error["type"] == "value_error"
    assert f"must be one of ('dest-wins', 'source-wins'), got {strategy!r}" in error["msg"]
    merge = Merge()
    with pytest.raises(pydantic.ValidationError, match="dest-wins"):
        merge.strategy = strategy
    with pytest.raises(pydantic.ValidationError, match="dest-wins"):
        _types.validate_value("Merge", {"strategy": strategy})


def test_merge_into_branch_refuses_an_unknown_strategy_before_sending(client: tuple[ApiClient, LoopbackServer]) -> None:
    api_client, server = client
    refs = RefsApi(api_client)
    with pytest.raises(lakefs_sdk.ApiValueError, match="dest-wins"):
        refs.merge_into_branch("repo", "feature", "main", {"strategy": "theirs"})  # type: ignore[arg-type]
    assert server.requests == []
    server.reply(Reply(200, b'{"reference":"c1"}', headers={"Content-Type": "application/json"}))
    assert refs.merge_into_branch("repo", "feature", "main", {"strategy": ""}).reference == "c1"  # type: ignore[arg-type]
    (sent,) = server.requests
    assert json.loads(sent.body)["strategy"] == ""


def test_an_acl_permission_is_one_lakefs_accepts() -> None:
    assert ACL(permission="Super").to_dict() == {"permission": "Super"}
    for permission in ("Owner", "read", ""):
        with pytest.raises(pydantic.ValidationError, match="must be one of \\('Read', 'Write', 'Super', 'Admin'\\)"):
            ACL(permission=permission)  # type: ignore[arg-type]


def test_an_acl_in_an_answer_may_hold_any_string(client: tuple[ApiClient, LoopbackServer]) -> None:
    """The spec lists no values: what a server answers is decoded as sent, not refused."""
    api_client, server = client
    assert ACL.from_json('{"permission": "Owner"}').permission == "Owner"
    assert ACL.from_dict({"permission": "Owner"}).permission == "Owner"  # type: ignore[union-attr]
    server.reply(Reply(200, b'{"permission":"Owner"}', headers={"Content-Type": "application/json"}))
    assert AuthApi(api_client).get_group_acl("g1").permission == "Owner"
    with pytest.raises(pydantic.ValidationError):
        ACL.from_json('{"permission": 5}')


class Enumerated(LakeFSModel):
    """Every kind of enum check the generated models use."""

    required: Literal["a", "b"]
    optional: Optional[Literal["a", "b"]] = None
    tolerant: Optional[Literal["a", "b"]] = None
    answered: Optional[Literal["a", "b", "c"]] = None
    open_: Optional[Literal["a", "b"]] = pydantic.Field(default=None, alias="open")
    _v1 = LakeFSModel.enum_validator("required")
    _v2 = LakeFSModel.enum_validator("optional")
    _v3 = LakeFSModel.enum_validator("tolerant", also=("",))
    _v4 = LakeFSModel.enum_validator("answered", from_server=("c",))
    _v5 = LakeFSModel.enum_validator("open_", any_in_answers=True)


def test_enum_checks_in_python_and_in_answers() -> None:
    built = Enumerated(required="a", optional=None, tolerant="", open="b")
    assert (built.required, built.optional, built.tolerant, built.open_) == ("a", None, "", "b")
    answer = Enumerated.model_validate_json('{"required": "b", "tolerant": "", "answered": "c", "open": "zz"}')
    assert (answer.tolerant, answer.answered, answer.open_) == ("", "c", "zz")
    assert Enumerated.from_dict({"required": "a", "answered": "c"}).answered == "c"  # type: ignore[union-attr]
    refused = [
        {"required": "c"},
        {"required": None},
        {"required": "a", "optional": ""},
        {"required": "a", "answered": "c"},
        {"required": "a", "open": "zz"},
        {"required": "a", "tolerant": " "},
    ]
    for data in refused:
        with pytest.raises(pydantic.ValidationError):
            Enumerated.model_validate(data)
    with pytest.raises(pydantic.ValidationError, match="must be one of \\('a', 'b'\\), got 'd'"):
        Enumerated.model_validate_json('{"required": "a", "answered": "d"}')
    with pytest.raises(pydantic.ValidationError):
        Enumerated.model_validate_json('{"required": "a", "open": 1}')


@pytest.mark.parametrize("decode", [Enumerated.model_validate, lambda d: Enumerated.model_validate_json(json.dumps(d))])
def test_an_enum_with_only_listed_values_leaves_none_to_the_type(decode: Any) -> None:
    """The check of a field without extra values runs before the type: None is the type's to refuse."""
    assert decode({"required": "b", "optional": None}).optional is None
    with pytest.raises(pydantic.ValidationError) as caught:
        decode({"required": None})
    (error,) = caught.value.errors()
    assert error["loc"] == ("required",) and error["type"] == "literal_error"
    for wrong in ("c", 1, ["a"]):
        with pytest.raises(pydantic.ValidationError) as caught:
            decode({"required": "a", "optional": wrong})
        (error,) = caught.value.errors()
        assert error["type"] == "value_error" and error["msg"] == f"Value error, must be one of ('a', 'b'), got {wrong!r}"
    built = Enumerated(required="a")
    with pytest.raises(pydantic.ValidationError, match="must be one of \\('a', 'b'\\), got 'z'"):
        built.optional = "z"  # type: ignore[assignment]
    assert built.optional is None


def test_literal_values_are_read_from_the_annotation() -> None:
    assert literal_values(Literal["a", "b"]) == ("a", "b")
    assert literal_values(Optional[Literal["a"]]) == ("a",)
    assert literal_values(Annotated[Optional[Literal["x", "y"]], "meta"]) == ("x", "y")
    assert literal_values(Union[None, Literal["z"]]) == ("z",)
    for annotation in (str, Optional[str], List[Literal["a"]]):
        with pytest.raises(TypeError, match="holds no Literal"):
            literal_values(annotation)


def test_a_generated_enum_check_takes_its_values_from_the_literal_type() -> None:
    from lakefs_sdk.models.action_run import ActionRun
    from lakefs_sdk.models.pull_request import PullRequest

    annotation = ActionRun.model_fields["status"].annotation
    assert literal_values(annotation) == ("failed", "completed")
    with pytest.raises(pydantic.ValidationError, match="must be one of \\('failed', 'completed'\\), got 'running'"):
        ActionRun.model_validate({"run_id": "r", "branch": "b", "start_time": "2026-01-02T03:04:05Z",
                                  "event_type": "pre-commit", "status": "running", "commit_id": "c"})
    # A subclass model (PullRequest extends PullRequestBasic) checks with the same values.
    with pytest.raises(pydantic.ValidationError, match="must be one of \\('open', 'closed', 'merged'\\)"):
        PullRequest.model_validate({"status": "gone", "title": "t", "description": "d", "id": "1",
                                    "creation_date": "2026-01-02T03:04:05Z", "author": "a", "source_branch": "s",
                                    "destination_branch": "m"})


def test_an_enum_check_on_a_field_without_a_literal_type_is_refused() -> None:
    class Untyped(LakeFSModel):
        name: Optional[str] = None
        _v = LakeFSModel.enum_validator("name")

    with pytest.raises(TypeError, match="holds no Literal"):
        Untyped(name="x")


# -- help(Model) -----------------------------------------------------------------------------------


def test_help_lists_each_field_with_type_requirement_default_and_description() -> None:
    text = pydoc.render_doc(RepositoryCreation, renderer=pydoc.plaintext)
    for name, field in RepositoryCreation.model_fields.items():
        assert f":param {name}: {field.description}" in text
    assert ":param name: Name of the new repository" in text and "(required)" in text
    assert ":type name: str" in text
    assert ":param default_branch: Name of the default branch to create with the repository. (default: None)" in text
    assert ":param read_only: If true, create the repository as read-only. (default: False)" in text
    assert ":type read_only: Optional[bool]" in text
    assert text.index(":param name:") < text.index("Method resolution order"), "the fields come before pydantic's internals"


def test_help_shows_literal_types_and_server_deviations() -> None:
    assert ":type type: Literal['object', 'common_prefix', 'reset']" in (ResetCreation.__doc__ or "")
    assert ":type rbac: Optional[Literal['none', 'simplified', 'internal', 'external']]" in (
        lakefs_sdk.LoginConfig.__doc__ or ""
    )
    doc = GarbageCollectionRules.__doc__ or ""
    assert "``branches`` (null in answers of ``getGCRules``, ``internalGetGarbageCollectionRules``)" in doc
    hook_doc = HookRun.__doc__ or ""
    assert ":type status: Literal['failed', 'completed', 'skipped']" in hook_doc
    assert "``status`` (also 'skipped' in answers of ``listRunHooks``)" in hook_doc
    assert ":type strategy: Optional[Literal['dest-wins', 'source-wins']]" in (Merge.__doc__ or "")


@pytest.mark.parametrize("name", sorted(lakefs_sdk.models.__all__))
def test_every_model_docstring_names_every_field(name: str) -> None:
    model = getattr(lakefs_sdk.models, name)
    doc = model.__doc__ or ""
    assert doc.splitlines()[0].strip(), f"{name} has no summary line"
    for field_name in model.model_fields:
        assert f":param {field_name}:" in doc and f":type {field_name}:" in doc, f"{name}.{field_name}"


# -- metadata: string values only ------------------------------------------------------------------


def test_a_non_string_metadata_value_is_refused_naming_its_key() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        CommitCreation(message="m", metadata={"n": 1, "ok": "x", "flag": True})  # type: ignore[dict-item]
    assert sorted(error["loc"] for error in caught.value.errors()) == [("metadata", "flag"), ("metadata", "n")]
    assert "metadata.n" in str(caught.value) and "valid string" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_string_metadata_is_sent_as_given() -> None:
    creation = CommitCreation(message="m", metadata={"n": "1", "flag": "true"})
    assert creation.to_dict()["metadata"] == {"n": "1", "flag": "true"}


@pytest.mark.parametrize("model", [CommitCreation, Merge, lakefs_sdk.Commit, lakefs_sdk.ObjectStats])
def test_metadata_docstrings_say_values_are_strings(model: type[LakeFSModel]) -> None:
    assert "Keys and values are strings" in (model.__doc__ or "")
