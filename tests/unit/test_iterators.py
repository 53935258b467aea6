"""Auto-pagination: every ``<operation>_iter`` walks several pages on a loopback server.

The paginated operations are read from api/openapi.yaml (never listed by hand), so a new
paginated operation in a future spec is tested without touching this file.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Dict, Iterator, List, Tuple
from urllib.parse import parse_qsl

import pytest

import lakefs_sdk
from lakefs_sdk.exceptions import ApiValueError

from support.loopback import LoopbackServer, Reply, Request
from support.routes import load_spec

SPEC = load_spec()
SCHEMAS: Dict[str, Any] = SPEC["components"]["schemas"]
PAGE_SIZES = (2, 1, 3)  # items on the first, second and last page


def _resolve(node: Dict[str, Any]) -> Dict[str, Any]:
    while "$ref" in node:
        section, name = node["$ref"].split("/")[-2:]
        node = SPEC["components"][section][name]
    return node


def _operations() -> Iterator[Tuple[str, Dict[str, Any], List[Dict[str, Any]]]]:
    for item in SPEC["paths"].values():
        shared = [_resolve(p) for p in item.get("parameters", [])]
        for method, op in item.items():
            if method in ("get", "put", "post", "delete", "patch", "head"):
                yield op["operationId"], op, shared + [_resolve(p) for p in op.get("parameters", [])]


def _looks_paginated(op: Dict[str, Any], params: List[Dict[str, Any]]) -> bool:
    """Takes after/amount and answers {pagination, results}: judged from the structure alone."""
    names = {p["name"] for p in params if p["in"] == "query"}
    content = op["responses"].get("200", {}).get("content", {}).get("application/json")
    if not content or not {"after", "amount"} <= names:
        return False
    properties = _resolve(content["schema"]).get("properties", {})
    return {"pagination", "results"} <= properties.keys()


PAGINATED = {op_id: (op, params) for op_id, op, params in _operations() if "x-lakefs-paginated-item" in op}


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def test_the_extension_marks_exactly_the_paginated_operations() -> None:
    structural = {op_id for op_id, op, params in _operations() if _looks_paginated(op, params)}
    assert set(PAGINATED) == structural
    assert len(PAGINATED) == 19


def minimal_document(schema: Dict[str, Any], label: str) -> Any:
    """A deterministic valid document with only the required fields; strings carry ``label``."""
    schema = _resolve(schema)
    if "allOf" in schema:
        merged: Dict[str, Any] = {"properties": {}, "required": []}
        for part in schema["allOf"]:
            part = _resolve(part)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        schema = merged
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if kind == "string":
        return "2026-01-02T03:04:05Z" if schema.get("format") == "date-time" else label
    if kind == "integer":
        return 7
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "array":
        return [minimal_document(schema.get("items", {"type": "string"}), label)] * schema.get("minItems", 0)
    return {k: minimal_document(v, label) for k, v in schema.get("properties", {}).items() if k in schema.get("required", [])}


def _argument(param: Dict[str, Any]) -> Any:
    kind = param["schema"].get("type")
    return {"integer": 3, "boolean": True, "array": ["a"]}.get(kind, "some-" + param["name"])


class ThreePages:
    """Answers page i with PAGE_SIZES[i] items and the cursor ``cursor-<i+1>``."""

    def __init__(self, item_schema: Dict[str, Any]) -> None:
        self.item_schema = item_schema
        self.pages: List[List[Any]] = []

    def __call__(self, request: Request) -> Reply:
        page = len(self.pages)
        items = [minimal_document(self.item_schema, f"p{page}-i{n}") for n in range(PAGE_SIZES[page])]
        self.pages.append(items)
        last = page == len(PAGE_SIZES) - 1
        pagination = {"has_more": not last, "next_offset": "" if last else f"cursor-{page + 1}", "results": len(items), "max_per_page": 3}
        return Reply(200, json.dumps({"pagination": pagination, "results": items}))


@pytest.mark.parametrize("operation_id", sorted(PAGINATED))
def test_iterator_walks_every_page(operation_id: str) -> None:
    op, params = PAGINATED[operation_id]
    item_name = op["x-lakefs-paginated-item"]
    api_class = getattr(lakefs_sdk, op["tags"][0][0].upper() + op["tags"][0][1:] + "Api")
    arguments = {snake(p["name"]): _argument(p) for p in params if p.get("required")}
    arguments["amount"] = 3
    if any(p["name"] == "prefix" for p in params):
        arguments["prefix"] = "data/"
    pages = ThreePages({"$ref": f"#/components/schemas/{item_name}"})

    with LoopbackServer(pages) as server, lakefs_sdk.ApiClient(lakefs_sdk.Configuration(host=server.url + "/api/v1")) as client:
        iterator = getattr(api_class(client), snake(operation_id) + "_iter")(**arguments)
        assert server.requests == [], "no request before iteration starts"
        first = next(iterator)
        assert len(server.requests) == 1, "pages are fetched lazily"
        items = [first, *iterator]

    item_class = getattr(lakefs_sdk.models, item_name)
    assert all(type(item) is item_class for item in items)
    expected = [item_class.from_dict(doc) for page in pages.pages for doc in page]
    assert items == expected and len(items) == sum(PAGE_SIZES), "every item of every page, in order"
    queries = [dict(parse_qsl(r.query)) for r in server.requests]
    assert [q.get("after") for q in queries] == [None, "cursor-1", "cursor-2"]
    for query in queries:
        assert query["amount"] == "3", "other arguments pass through to every page"
        if "prefix" in arguments:
            assert query["prefix"] == "data/"
    assert len({r.path for r in server.requests}) == 1


def _pages(*paginations: Dict[str, Any]) -> List[Reply]:
    return [Reply(200, json.dumps({"pagination": p, "results": [{"id": f"b{i}", "commit_id": "c"}]})) for i, p in enumerate(paginations)]


def _branches(server: LoopbackServer) -> lakefs_sdk.BranchesApi:
    return lakefs_sdk.BranchesApi(lakefs_sdk.ApiClient(lakefs_sdk.Configuration(host=server.url + "/api/v1")))


def test_iteration_stops_when_the_server_repeats_the_cursor(caplog: pytest.LogCaptureFixture) -> None:
    more = {"has_more": True, "next_offset": "same", "results": 1, "max_per_page": 1}
    with LoopbackServer() as server:
        server.reply(*_pages(more, more, more))
        with caplog.at_level(logging.WARNING, logger="lakefs_sdk"):
            ids = [ref.id for ref in _branches(server).list_branches_iter("repo")]
    assert ids == ["b0", "b1"], "the second page handed back the cursor it was given: stop there"
    assert len(server.requests) == 2
    assert "returned cursor 'same' again" in caplog.text


def test_iteration_stops_when_more_is_claimed_without_a_cursor() -> None:
    with LoopbackServer() as server:
        server.reply(*_pages({"has_more": True, "next_offset": "", "results": 1, "max_per_page": 1}))
        ids = [ref.id for ref in _branches(server).list_branches_iter("repo")]
    assert ids == ["b0"] and len(server.requests) == 1


def test_iteration_starts_at_the_given_cursor() -> None:
    done = {"has_more": False, "next_offset": "", "results": 1, "max_per_page": 1}
    with LoopbackServer() as server:
        server.reply(*_pages(done))
        list(_branches(server).list_branches_iter("repo", after="b5"))
    assert dict(parse_qsl(server.requests[0].query)) == {"after": "b5"}


def test_async_req_is_refused_before_any_request() -> None:
    with LoopbackServer() as server:
        with pytest.raises(ApiValueError, match="async_req"):
            next(_branches(server).list_branches_iter("repo", async_req=True))
    assert server.requests == []


def test_an_error_on_a_later_page_is_raised_after_the_earlier_items() -> None:
    more = {"has_more": True, "next_offset": "b0", "results": 1, "max_per_page": 1}
    with LoopbackServer() as server:
        server.reply(*_pages(more), Reply(404, json.dumps({"message": "branch list gone"})))
        iterator = _branches(server).list_branches_iter("repo")
        assert next(iterator).id == "b0"
        with pytest.raises(lakefs_sdk.exceptions.NotFoundException, match="branch list gone"):
            next(iterator)


# -- the runtime the generated _iter methods call ---------------------------------------------------


def test_iterate_pages_takes_the_descriptor_and_the_positional_arguments() -> None:
    from lakefs_sdk._operations.branches_api import LIST_BRANCHES
    from lakefs_sdk.pagination import iterate_pages, iterate_results

    more = {"has_more": True, "next_offset": "b0", "results": 1, "max_per_page": 1}
    done = {"has_more": False, "next_offset": "", "results": 1, "max_per_page": 1}
    args = ("repo", "fe", None, 1, None)
    with LoopbackServer() as server, lakefs_sdk.ApiClient(lakefs_sdk.Configuration(host=server.url + "/api/v1")) as client:
        server.reply(*_pages(more, done))
        pages = list(iterate_pages(client, LIST_BRANCHES, args, {"_headers": {"X-Trace": "t"}}))
        server.reply(*_pages(done))
        items = list(iterate_results(client, LIST_BRANCHES, args, {}))
    assert [type(page).__name__ for page in pages] == ["RefList", "RefList"]
    assert [ref.id for ref in items] == ["b0"]
    assert [dict(parse_qsl(r.query)) for r in server.requests] == [
        {"prefix": "fe", "amount": "1"}, {"prefix": "fe", "after": "b0", "amount": "1"}, {"prefix": "fe", "amount": "1"},
    ]
    assert [r.header("X-Trace") for r in server.requests[:2]] == ["t", "t"], "options go with every page"
    assert args == ("repo", "fe", None, 1, None), "the caller's arguments are left alone"


def test_the_cursor_rules_are_shared_and_neutral() -> None:
    from lakefs_sdk import _pagination, pagination
    from lakefs_sdk._operations.branches_api import LIST_BRANCHES
    from lakefs_sdk.models import Pagination, RefList

    assert pagination.next_cursor is _pagination.next_cursor
    walk = _pagination.PageWalk(LIST_BRANCHES, ("repo", None, "start", None, None))

    def page(has_more: bool, next_offset: str) -> RefList:
        cursor = Pagination(has_more=has_more, next_offset=next_offset, results=0, max_per_page=1)
        return RefList(pagination=cursor, results=[])

    assert walk.advance(page(True, "c1")) and walk.args == ("repo", None, "c1", None, None)
    assert not walk.advance(page(True, "c1")), "the same cursor again ends the walk"
    assert not walk.advance(page(False, "c2")) and walk.args == ("repo", None, "c1", None, None)
    with pytest.raises(ApiValueError, match="async_req"):
        _pagination.refuse_async_req({"async_req": True})
