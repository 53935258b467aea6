"""Our public Python surface against upstream lakefs-sdk 1.84.0's, recorded as data in
tests/compat/data/upstream_surface.json by scripts/record_upstream_surface.py.

For every operation, method names, parameter names, order, kinds and defaults must equal
upstream's; we may add methods (``<op>_iter`` for paginated operations and
``<op>_without_preload_content``) but not drop or change any. Runtime classes may add
optional parameters after upstream's. Each failure lists every difference by name.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import types
from typing import Any, Dict, List

import pytest
from pydantic import BaseModel

import lakefs_sdk
import lakefs_sdk.api
import lakefs_sdk.models
from lakefs_sdk.client import LakeFSClient

from support.compat import load_recorder, load_surface

SURFACE = load_surface()
RECORDER = load_recorder()
UNREACHABLE_HOST = "http://127.0.0.1:9/api/v1"  # never dialled

# Upstream members we deliberately do not provide, and why. The test fails if one of them
# appears after all (then drop it from here) or if anything else is missing.
KNOWN_GAPS: Dict[str, str] = {
    "ApiClient.call_api": "upstream's generic request path; every call goes through ApiClient.invoke with an Operation",
    "ApiClient.request": "upstream's verb dispatcher under call_api; rest_client.pool_manager.request remains",
    "ApiClient.files_parameters": "multipart encoding is streamed by lakefs_sdk._upload, not built from file tuples",
    "ApiClient.parameters_to_tuples": "query encoding lives in the Operation (percent-encodes each value)",
    "ApiClient.parameters_to_url_query": "query encoding lives in the Operation (percent-encodes each value)",
    "ApiClient.pool": "async_req runs on a concurrent.futures executor, not a multiprocessing ThreadPool",
}

def _ours_for(kind: str, name: str) -> Any:
    if kind == "api":
        return getattr(lakefs_sdk.api, name)
    module = importlib.import_module(SURFACE["runtime"][name]["module"])
    return getattr(module, name)


def _signature_text(params: List[Dict[str, str]]) -> str:
    marks = {"VAR_POSITIONAL": "*", "VAR_KEYWORD": "**", "KEYWORD_ONLY": "kw:", "POSITIONAL_ONLY": "pos:"}
    parts = [marks.get(p["kind"], "") + p["name"] + (f"={p['default']}" if "default" in p else "") for p in params]
    return "(" + ", ".join(parts) + ")"


def _optional(param: Dict[str, str]) -> bool:
    return "default" in param or param["kind"] in ("VAR_POSITIONAL", "VAR_KEYWORD")


# -- API classes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("api_name", sorted(SURFACE["apis"]))
def test_api_class_matches_upstream(api_name: str) -> None:
    """Same methods with the same parameters (names, order, kinds, defaults) as upstream."""
    upstream = SURFACE["apis"][api_name]["methods"]
    assert hasattr(lakefs_sdk.api, api_name), f"lakefs_sdk.api.{api_name} is missing"
    assert getattr(lakefs_sdk, api_name) is getattr(lakefs_sdk.api, api_name)
    ours = RECORDER.describe_class(getattr(lakefs_sdk.api, api_name))["methods"]
    problems = []
    for method, recorded in sorted(upstream.items()):
        if method not in ours:
            problems.append(f"{api_name}.{method}: missing (upstream {_signature_text(recorded['parameters'])})")
        elif ours[method] != recorded:
            problems.append(
                f"{api_name}.{method}: upstream {recorded['kind']} {_signature_text(recorded['parameters'])}, "
                f"ours {ours[method]['kind']} {_signature_text(ours[method]['parameters'])}"
            )
    for method in sorted(set(ours) - set(upstream)):
        base = method.removesuffix("_iter").removesuffix("_without_preload_content")
        if base == method or base not in upstream:
            problems.append(
                f"{api_name}.{method}: extra method that is neither <op>_iter nor <op>_without_preload_content"
            )
    assert not problems, "differences from upstream lakefs-sdk:\n" + "\n".join(problems)


def test_every_operation_was_compared() -> None:
    """The recorded data covers all 17 API classes and both forms of every operation."""
    assert len(SURFACE["apis"]) == 17
    for api_name, api in SURFACE["apis"].items():
        plain = {m for m in api["methods"] if m != "__init__" and not m.endswith("_with_http_info")}
        assert plain, api_name
        assert {m + "_with_http_info" for m in plain} <= set(api["methods"]), api_name


# -- runtime classes and modules ------------------------------------------------------------------------------------------


def _instances() -> Dict[str, Any]:
    configuration = lakefs_sdk.Configuration(host=UNREACHABLE_HOST)
    return {
        "ApiClient": lakefs_sdk.ApiClient(configuration),
        "ApiException": lakefs_sdk.ApiException(),
        "ApiResponse": lakefs_sdk.ApiResponse(),
        "Configuration": configuration,
        "LakeFSClient": LakeFSClient(lakefs_sdk.Configuration(host=UNREACHABLE_HOST)),
    }


@pytest.mark.parametrize("class_name", sorted(SURFACE["runtime"]))
def test_runtime_class_matches_upstream(class_name: str) -> None:
    """Upstream's parameters come first, unchanged; ours may only add optional ones after them."""
    recorded = SURFACE["runtime"][class_name]
    cls = _ours_for("runtime", class_name)
    ours = RECORDER.describe_class(cls)["methods"]
    instance = _instances()[class_name]
    problems = []
    for method, upstream in sorted(recorded["methods"].items()):
        qualified = f"{class_name}.{method}"
        if qualified in KNOWN_GAPS:
            assert method not in ours, f"{qualified} exists now: remove it from KNOWN_GAPS"
            continue
        if method not in ours:
            problems.append(f"{qualified}: missing (upstream {_signature_text(upstream['parameters'])})")
            continue
        theirs, mine = upstream["parameters"], ours[method]["parameters"]
        if (
            ours[method]["kind"] != upstream["kind"]
            or mine[: len(theirs)] != theirs
            or not all(map(_optional, mine[len(theirs) :]))
        ):
            problems.append(f"{qualified}: upstream {_signature_text(theirs)}, ours {_signature_text(mine)}")
    for prop in recorded["properties"]:
        qualified = f"{class_name}.{prop}"
        if qualified in KNOWN_GAPS:
            assert not hasattr(instance, prop), f"{qualified} exists now: remove it from KNOWN_GAPS"
        elif not hasattr(instance, prop):
            problems.append(f"{qualified}: missing attribute")
    assert not problems, "differences from upstream lakefs-sdk:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            LakeFSClient.__init__,
            "(configuration=None, header_name=None, header_value=None, cookie=None, pool_threads=1)",
        ),
        (
            lakefs_sdk.ApiClient.__init__,
            # upstream's parameters, in upstream's order; transport= is ours, keyword-only after them
            "(configuration=None, header_name=None, header_value=None, cookie=None, pool_threads=1, kw:transport=None)",
        ),
        (
            lakefs_sdk.ApiClient.update_params_for_auth,
            "(headers, queries, auth_settings, resource_path, method, body, request_auth=None)",
        ),
        (lakefs_sdk.ApiException.__init__, "(status=None, reason=None, http_resp=None, kw:body=None, kw:data=None)"),
    ],
)
def test_signatures_dependents_call(target: Any, expected: str) -> None:
    """The exact signatures lakefs and lakefs-spec rely on (ApiException's additions are keyword-only)."""
    assert _signature_text(RECORDER.describe_signature(target)) == expected


@pytest.mark.parametrize("module", sorted(SURFACE["module_names"]))
def test_runtime_module_names(module: str) -> None:
    ours = importlib.import_module(f"lakefs_sdk.{module}")
    missing = [name for name in SURFACE["module_names"][module] if not hasattr(ours, name)]
    assert not missing, f"lakefs_sdk.{module} lacks {missing}"


def test_exception_hierarchy() -> None:
    """Every upstream exception exists and keeps upstream's bases (so ``except`` clauses still match)."""
    problems = []
    for name, bases in SURFACE["exception_bases"].items():
        cls = getattr(lakefs_sdk.exceptions, name, None)
        if cls is None:
            problems.append(f"{name}: missing")
            continue
        for base in bases:
            base_cls = getattr(lakefs_sdk.exceptions, base, None) or getattr(builtins, base, None)
            if base_cls is None or not issubclass(cls, base_cls):
                problems.append(f"{name}: not a subclass of {base}")
    assert not problems, "\n".join(problems)


def test_exception_renders_its_path() -> None:
    assert lakefs_sdk.exceptions.render_path(["paths", 0, "type"]) == "['paths'][0]['type']"
    error = lakefs_sdk.ApiTypeError("bad value", path_to_item=["paths", 0])
    assert str(error).endswith("['paths'][0]")
    assert isinstance(error, TypeError)


def test_configuration_attributes() -> None:
    """Every attribute of a fresh upstream Configuration exists on ours (lakefs subclasses it)."""
    configuration = lakefs_sdk.Configuration()
    missing = [name for name in SURFACE["configuration_attributes"] if not hasattr(configuration, name)]
    assert not missing, f"Configuration lacks {missing}"


def test_configuration_logger_format_updates_the_formatter() -> None:
    configuration = lakefs_sdk.Configuration()
    configuration.logger_format = "%(levelname)s %(message)s"
    assert configuration.logger_format == "%(levelname)s %(message)s"
    assert configuration.logger_formatter._fmt == "%(levelname)s %(message)s"


def test_lakefs_client_attributes() -> None:
    """``LakeFSClient`` has upstream's 17 ``*_api`` attributes, each an instance of the same-named class."""
    client = LakeFSClient(lakefs_sdk.Configuration(host=UNREACHABLE_HOST))
    ours = {name: type(value).__name__ for name, value in vars(client).items() if not name.startswith("_")}
    assert ours == SURFACE["client_apis"]
    assert all(isinstance(getattr(client, name), getattr(lakefs_sdk, cls)) for name, cls in ours.items())


# -- package ---------------------------------------------------------------------------------------------------------------


def test_version() -> None:
    assert lakefs_sdk.__version__ == SURFACE["version"] == "1.84.0"
    assert tuple(int(v) for v in lakefs_sdk.__version__.split(".")) == (1, 84, 0)  # as lakefs-spec parses it


def test_user_agent() -> None:
    with lakefs_sdk.ApiClient(lakefs_sdk.Configuration(host=UNREACHABLE_HOST)) as api_client:
        assert api_client.user_agent == f"lakefs-python-sdk/{SURFACE['version']}"
        assert api_client.default_headers["User-Agent"] == api_client.user_agent


def test_star_import_exports_upstreams_names_and_submodules() -> None:
    namespace: Dict[str, Any] = {}
    exec("from lakefs_sdk import *", namespace)
    missing = [name for name in SURFACE["star_exports"] if name not in namespace]
    assert not missing, f"`from lakefs_sdk import *` lacks {missing}"
    submodules = [name for name in SURFACE["star_exports"] if name[0].islower()]
    assert set(submodules) >= {"api", "api_client", "api_response", "configuration", "exceptions", "models", "rest"}
    for name in submodules:
        assert isinstance(namespace[name], types.ModuleType), name
        assert namespace[name].__name__ == f"lakefs_sdk.{name}"


# -- models --------------------------------------------------------------------------------------------------------------


def _describe_our_model(model: type[BaseModel]) -> Dict[str, Dict[str, Any]]:
    fields: Dict[str, Dict[str, Any]] = {}
    for name, field in model.model_fields.items():
        entry: Dict[str, Any] = {"alias": field.alias or name, "required": field.is_required()}
        if not field.is_required():
            entry["default"] = repr(field.get_default(call_default_factory=True))
        fields[name] = entry
    return fields


@pytest.mark.parametrize("model_name", sorted(SURFACE["models"]))
def test_model_fields_match_upstream(model_name: str) -> None:
    """Same Python field names, JSON names (aliases), required flags and defaults as upstream."""
    model = getattr(lakefs_sdk.models, model_name, None)
    assert model is not None, f"lakefs_sdk.models.{model_name} is missing"
    assert getattr(lakefs_sdk, model_name) is model
    assert inspect.isclass(model) and issubclass(model, BaseModel)
    upstream = SURFACE["models"][model_name]["fields"]
    ours = _describe_our_model(model)
    problems = [
        f"{model_name}.{name}: missing (upstream {upstream[name]})" for name in sorted(set(upstream) - set(ours))
    ]
    problems += [f"{model_name}.{name}: extra field {ours[name]}" for name in sorted(set(ours) - set(upstream))]
    problems += [
        f"{model_name}.{name}: upstream {upstream[name]}, ours {ours[name]}"
        for name in sorted(set(upstream) & set(ours))
        if upstream[name] != ours[name]
    ]
    assert not problems, "differences from upstream lakefs-sdk:\n" + "\n".join(problems)
