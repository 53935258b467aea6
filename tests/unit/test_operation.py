"""``Operation``: one descriptor per operationId, shared by both clients, compiled once, checking headers.

The descriptors live in the generated ``lakefs_sdk._operations`` (one module per home tag,
the operation's first tag); the sync and asyncio API classes import them from there.
"""

from __future__ import annotations

import ast
import datetime
import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

import lakefs_sdk
import lakefs_sdk._operations
import lakefs_sdk.aio.api
import lakefs_sdk.api
from lakefs_sdk._operation import API_SECURITY, Operation, Param, check_header
from lakefs_sdk.api_client import ApiClient
from lakefs_sdk.exceptions import ApiTypeError, ApiValueError

from support.routes import load_spec

PACKAGE = Path(lakefs_sdk.__file__).resolve().parent
SPEC = load_spec()


def _spec_operations() -> Dict[str, Dict[str, Any]]:
    return {op["operationId"]: op for item in SPEC["paths"].values() for op in item.values()
            if isinstance(op, dict) and "operationId" in op}


def _descriptors(package: Any) -> List[Tuple[str, str, Operation[Any]]]:
    """(module, name, descriptor) of every Operation a module of ``package`` holds."""
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        found += [(info.name, name, value) for name, value in vars(module).items() if isinstance(value, Operation)]
    return found


def _module(tag: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", tag).lower() + "_api"


# -- one descriptor per operationId ---------------------------------------------------------------


def test_each_operation_id_has_one_descriptor_in_the_module_of_its_first_tag() -> None:
    declared = _descriptors(lakefs_sdk._operations)
    by_id: Dict[str, List[Tuple[str, str]]] = {}
    for module, name, op in declared:
        by_id.setdefault(op.operation_id, []).append((module, name))
    spec = _spec_operations()
    assert set(by_id) == set(spec)
    for _, _, op in declared:
        assert by_id[op.operation_id] == [(_module(spec[op.operation_id]["tags"][0]), op.method_name.upper())]


def test_both_clients_send_the_same_descriptor_object() -> None:
    shared = {id(op) for _, _, op in _descriptors(lakefs_sdk._operations)}
    for package in (lakefs_sdk.api, lakefs_sdk.aio.api):
        used = _descriptors(package)
        assert used, package
        assert {id(op) for _, _, op in used} <= shared, f"{package.__name__} declares its own Operation"
    # An operation listed under several tags: the same object in every class that lists it.
    from lakefs_sdk._operations import pulls_api as home
    from lakefs_sdk.aio.api import experimental_api as aio_experimental
    from lakefs_sdk.api import experimental_api, pulls_api

    assert pulls_api.GET_PULL_REQUEST is experimental_api.GET_PULL_REQUEST is home.GET_PULL_REQUEST
    assert aio_experimental.GET_PULL_REQUEST is home.GET_PULL_REQUEST


def _imported_modules(path: Path) -> List[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def test_no_asyncio_module_imports_the_sync_api_or_pagination() -> None:
    offending = {
        str(path.relative_to(PACKAGE)): name
        for path in (PACKAGE / "aio").rglob("*.py")
        for name in _imported_modules(path)
        if name == "lakefs_sdk.api" or name.startswith("lakefs_sdk.api.") or name == "lakefs_sdk.pagination"
    }
    assert not offending


def test_generated_code_has_no_type_ignore() -> None:
    generated = [*(PACKAGE / "api").glob("*.py"), *(PACKAGE / "aio" / "api").glob("*.py"),
                 *(PACKAGE / "_operations").glob("*.py"), *(PACKAGE / "models").glob("*.py")]
    assert len(generated) > 100
    assert [str(p) for p in generated if "type: ignore" in p.read_text(encoding="utf-8")] == []


# -- defaults ---------------------------------------------------------------------------------------


def _operation(*params: Param, **options: Any) -> Operation[None]:
    return Operation("op", "op", "GET", "/things/{id}", params=params, responses={"200": None},
                     accept=options.pop("accept", ()), content_types=(), **options)


def test_auth_defaults_to_the_global_security_and_an_operation_may_need_none() -> None:
    from lakefs_sdk._operations.auth_api import LOGIN
    from lakefs_sdk._operations.branches_api import GET_BRANCH

    assert GET_BRANCH.auth == API_SECURITY
    assert LOGIN.auth == ()
    assert _operation(Param("id", "id", "path", "str", "str", required=True)).auth == API_SECURITY
    assert API_SECURITY[-1] == "jwt_token", "a bearer token wins over basic credentials"


def test_listed_responses_are_also_keyed_by_the_status_as_an_int() -> None:
    from lakefs_sdk._operations.objects_api import STAT_OBJECT

    assert STAT_OBJECT.types_by_status == {int(code): name for code, name in STAT_OBJECT.responses.items()}
    op = Operation("op", "op", "GET", "/x", params=(), responses={"201": "Thing", "default": "Error"},
                   accept=(), content_types=())
    assert op.types_by_status == {201: "Thing"}


def test_index_finds_a_parameter_by_its_python_name() -> None:
    from lakefs_sdk._operations.branches_api import LIST_BRANCHES

    assert LIST_BRANCHES.params[LIST_BRANCHES.index("after")].name == "after"
    with pytest.raises(ValueError, match="list_branches\\(\\) has no parameter 'nothing'"):
        LIST_BRANCHES.index("nothing")


# -- request parts, computed from what __init__ compiled --------------------------------------------

PARAMS = (
    Param("id", "id", "path", "str", "str", required=True),
    Param("tags", "tag", "query", "list", "List[str]", explode=True),
    Param("fields", "fields", "query", "list", "List[str]"),
    Param("when", "when", "query", "datetime", "datetime"),
    Param("amount", "amount", "query", "int", "int", minimum=1, maximum=10),
    Param("match", "If-Match", "header", "str", "str"),
    Param("force", "force", "query", "bool", "bool"),
)


def test_request_parts() -> None:
    op = _operation(*PARAMS, accept=("application/json", "text/plain"))
    when = datetime.datetime(2026, 1, 2, 3, 4, 5)
    values = op.check_arguments(["a b", ("x", "y&z"), ["f", "g"], when, 3, "etag", False])
    assert op.url_path(values) == "/things/a%20b"
    assert op.query_string(values) == "tag=x&tag=y%26z&fields=f,g&when=2026-01-02T03%3A04%3A05Z&amount=3&force=false"
    assert op.header_values(values) == {"If-Match": "etag"}
    assert op.accept == "application/json, text/plain"
    assert op.body_argument(values) == (None, None)
    assert op.form_arguments(values) == [] and op.form_indexes == ()


def test_arguments_that_are_not_given() -> None:
    op = _operation(*PARAMS)
    values = op.check_arguments(["a", None, None, None, None, "", None])
    assert values[5] is None, "an empty header argument is not given"
    assert op.query_string(values) == "" and op.header_values(values) == {}
    with pytest.raises(ApiValueError, match="op\\(\\) missing required argument 'id'"):
        op.check_arguments([None, None, None, None, None, None, None])


def test_without_client_side_validation_only_path_and_header_checks_run() -> None:
    op = _operation(*PARAMS)
    with pytest.raises(ApiValueError, match="between 1 and 10"):
        op.check_arguments(["a", None, None, None, 11, None, None])
    assert op.check_arguments(["a", None, None, None, 11, None, None], validate=False)[4] == 11
    with pytest.raises(ApiValueError, match=r"must not be '\.\.'"):
        op.check_arguments(["..", None, None, None, None, None, None], validate=False)
    with pytest.raises(ApiValueError, match="CR, LF or NUL"):
        op.check_arguments(["a", None, None, None, None, "x\r\ny", None], validate=False)
    with pytest.raises(ApiTypeError):
        op.check_arguments(["a", None, None, None, "3", None, None])


@pytest.mark.parametrize("validate", [True, False])
@pytest.mark.parametrize("segment", ["", ".", "..", "%2e", "%2E%2e", ".%2E"])
def test_a_path_argument_that_is_no_segment_is_refused_either_way(segment: str, validate: bool) -> None:
    op = _operation(Param("id", "id", "path", "str", "str", required=True))
    with pytest.raises(ApiValueError, match="must not be"):
        op.check_arguments([segment], validate=validate)


@pytest.mark.parametrize("validate", [True, False])
def test_str_arguments_that_pass_unchecked_are_kept_and_others_still_checked(validate: bool) -> None:
    """A str for an unconstrained str parameter passes as it is; a constrained one is checked."""
    op = _operation(
        Param("id", "id", "path", "str", "str", required=True),
        Param("name", "name", "query", "str", "str"),
        Param("kind", "kind", "query", "enum", "str", enum=["a", "b"]),
        Param("code", "code", "query", "str", "str", pattern="^[0-9]+$"),
        Param("match", "If-Match", "header", "str", "str"),
    )
    values = op.check_arguments(["a%2Fb", "any thing/é", "a", "12", "etag"], validate=validate)
    assert values == ["a%2Fb", "any thing/é", "a", "12", "etag"]
    assert op.url_path(values) == "/things/a%252Fb"
    with pytest.raises(ApiValueError, match="CR, LF or NUL"):
        op.check_arguments(["a", None, None, None, "x\ny"], validate=validate)
    if validate:
        with pytest.raises(ApiValueError, match="must be one of"):
            op.check_arguments(["a", None, "c", None, None])
        with pytest.raises(ApiValueError, match="must match"):
            op.check_arguments(["a", None, None, "x", None])
        with pytest.raises(ApiTypeError, match="must be str"):
            op.check_arguments(["a", 3, None, None, None])


def test_arguments_that_need_no_change_are_returned_as_given_and_others_copied() -> None:
    op = _operation(Param("id", "id", "path", "str", "str", required=True),
                    Param("path", "path", "query", "str", "str"), Param("flag", "flag", "query", "bool", "bool"),
                    Param("match", "If-Match", "header", "str", "str"))
    given = ("a", "p/q", None, None)
    assert op.check_arguments(given) is given
    changed = ("a", "p/q", True, "")
    values = op.check_arguments(changed)
    assert list(values) == ["a", "p/q", True, None] and changed == ("a", "p/q", True, "")
    with pytest.raises(ApiValueError, match="missing required argument 'id'"):
        op.check_arguments((None, None, None, None))


def test_query_values_are_sent_plain_only_when_nothing_needs_encoding() -> None:
    op = _operation(Param("id", "id", "path", "str", "str", required=True),
                    Param("path", "path", "query", "str", "str"), Param("flag", "flag", "query", "bool", "bool"))
    assert op.query_string(["x", "data/a-1_b.~c", None]) == "path=data/a-1_b.~c"
    assert op.query_string(["x", "a b&c=d#e+f%", True]) == "path=a%20b%26c%3Dd%23e%2Bf%25&flag=true"
    assert op.query_string(["x", "é", False]) == "path=%C3%A9&flag=false"


def test_an_operation_without_query_or_header_parameters() -> None:
    op = _operation(Param("id", "id", "path", "str", "str", required=True))
    values = op.check_arguments(["x"])
    assert (op.url_path(values), op.query_string(values), op.header_values(values)) == ("/things/x", "", {})
    assert op.accept is None


# -- header names -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["X-Evil\n", "X-Evil\r\n", "X Evil", "", "X-Evil:", "Ä"])
def test_a_header_name_that_is_no_http_token_is_refused(name: str) -> None:
    with pytest.raises(ApiValueError, match="invalid header name"):
        check_header(name, "v", "m")
    with pytest.raises(ApiValueError, match="invalid header name"):
        ApiClient(header_name=name, header_value="v")
    client = ApiClient()
    with pytest.raises(ApiValueError, match="invalid header name"):
        client.set_default_header(name, "v")
    assert name not in client.default_headers


def test_http_token_header_names_are_accepted() -> None:
    assert check_header("X-Request-ID", 7, "m") == "7"
    client = ApiClient(header_name="X-Custom_Header.v2", header_value="v")
    assert client.default_headers["X-Custom_Header.v2"] == "v"


def test_url_path_remembers_encoded_paths_and_stays_exact() -> None:
    """The memo of encoded paths gives what encoding gives, per value, and stays bounded."""
    from lakefs_sdk import _operation
    from lakefs_sdk._operations.branches_api import GET_BRANCH

    op = GET_BRANCH
    op._path_memo.clear()
    names = ["main", "a b", "x/y", "100%", "ünï", "main"]
    for name in names:
        first = op.url_path(["repo", name])
        assert first == op._format_path(["repo", name], "")
        assert op.url_path(["repo", name]) == first
    assert op.url_path(["repo", "x/y"]) == "/repositories/repo/branches/x%2Fy"
    assert len(op._path_memo) == len(set(names))
    for n in range(_operation._PATH_MEMO_SIZE + 5):
        op.url_path(["repo", f"b{n}"])
    assert len(op._path_memo) <= _operation._PATH_MEMO_SIZE
    # A configured safe set bypasses the memo (it changes the encoding).
    assert op.url_path(["repo", "a:b"], ":") == "/repositories/repo/branches/a:b"
    assert op.url_path(["repo", "a:b"]) == "/repositories/repo/branches/a%3Ab"


def test_query_values_made_of_plain_characters_and_slashes_are_sent_as_they_are() -> None:
    from lakefs_sdk._operation import _query_value

    assert _query_value("data/file-1.bin") == "data/file-1.bin"
    assert _query_value("a b/c+d&e") == "a%20b/c%2Bd%26e"
