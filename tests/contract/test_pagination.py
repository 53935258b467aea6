"""The ``*_iter`` auto-pagination methods against Prism.

Prism answers every page of a list operation with the same body: static Prism with
``has_more: true`` and ``next_offset: "string"``, dynamic Prism (fixed seed) with the same
generated page each time. An iterator must follow ``next_offset`` once, notice that the
server handed back the cursor it was just given, and stop cleanly with a warning instead
of looping forever. Each test checks the items yielded and every request sent.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Dict, List, Set, Tuple

import pytest

import lakefs_sdk
from lakefs_sdk import ApiClient

from support.contract import Wire, query, query_dict

REPO = "example-repo"

# method -> (API class, positional arguments, keyword arguments); one entry per paginated operation.
PAGINATED: Dict[str, Tuple[type, Tuple[Any, ...], Dict[str, Any]]] = {
    "list_repository_runs": (lakefs_sdk.ActionsApi, (REPO,), {"amount": 2, "branch": "main"}),
    "list_run_hooks": (lakefs_sdk.ActionsApi, (REPO, "20250102T030405Z_3f2a1b"), {"amount": 2}),
    "list_users": (lakefs_sdk.AuthApi, (), {"prefix": "j", "amount": 2}),
    "list_groups": (lakefs_sdk.AuthApi, (), {"amount": 2}),
    "list_policies": (lakefs_sdk.AuthApi, (), {"prefix": "FS", "amount": 2}),
    "list_group_members": (lakefs_sdk.AuthApi, ("data-engineers",), {"amount": 2}),
    "list_group_policies": (lakefs_sdk.AuthApi, ("data-engineers",), {"amount": 2}),
    "list_user_credentials": (lakefs_sdk.AuthApi, ("jane",), {"amount": 2}),
    "list_user_external_principals": (lakefs_sdk.AuthApi, ("jane",), {"amount": 2}),
    "list_user_groups": (lakefs_sdk.AuthApi, ("jane",), {"amount": 2}),
    "list_user_policies": (lakefs_sdk.AuthApi, ("jane",), {"amount": 2, "effective": True}),
    "list_branches": (lakefs_sdk.BranchesApi, (REPO,), {"prefix": "feature-", "amount": 2}),
    "diff_branch": (lakefs_sdk.BranchesApi, (REPO, "feature-x"), {"prefix": "data/", "delimiter": "/", "amount": 2}),
    "list_pull_requests": (lakefs_sdk.PullsApi, (REPO,), {"status": "open", "amount": 2}),
    "diff_refs": (lakefs_sdk.RefsApi, (REPO, "main~1", "main"), {"amount": 2}),
    "log_commits": (lakefs_sdk.RefsApi, (REPO, "main"), {"amount": 2, "first_parent": True}),
    "list_objects": (lakefs_sdk.ObjectsApi, (REPO, "main"), {"prefix": "data/", "delimiter": "/", "amount": 2}),
    "list_repositories": (lakefs_sdk.RepositoriesApi, (), {"prefix": "example", "amount": 2}),
    "list_tags": (lakefs_sdk.TagsApi, (REPO,), {"amount": 2}),
}


def iter_methods() -> Set[str]:
    """Every ``*_iter`` method the generated API classes offer (by operation method name)."""
    found = set()
    for class_name in lakefs_sdk.api.__all__:
        for name, _ in inspect.getmembers(getattr(lakefs_sdk, class_name), inspect.isfunction):
            if name.endswith("_iter"):
                found.add(name[: -len("_iter")])
    return found


def test_every_paginated_operation_is_iterated_here() -> None:
    assert set(PAGINATED) == iter_methods()
    assert len(PAGINATED) == 19


@pytest.mark.parametrize("method", sorted(PAGINATED))
def test_iterator_stops_when_the_cursor_repeats(
    any_client: ApiClient, wire: Wire, caplog: pytest.LogCaptureFixture, method: str
) -> None:
    api_class, args, kwargs = PAGINATED[method]
    api = api_class(any_client)
    first = getattr(api, method)(*args, **kwargs)
    with caplog.at_level(logging.WARNING, logger="lakefs_sdk"):
        items = list(getattr(api, method + "_iter")(*args, **kwargs))

    probe, *pages = wire.exchanges()
    cursor = first.pagination.next_offset
    follows = first.pagination.has_more and bool(cursor)
    if wire.static:
        assert first.pagination.has_more and cursor == "string", "static Prism always claims more results"
    assert [e.operation_id for e in pages] == [probe.operation_id] * len(pages)
    assert all(200 <= e.status < 300 and not e.violations for e in pages)
    assert query(pages[0]) == query(probe), "the first page is requested with the caller's arguments"
    if follows:
        assert len(pages) == 2, "one more page, then the repeated cursor stops the iteration"
        second = query_dict(pages[1])
        assert second.pop("after") == cursor
        assert second == query_dict(probe), "every other argument is kept on the next page"
        assert items == first.results + first.results
        assert any("returned cursor" in r.getMessage() and "stopping" in r.getMessage() for r in caplog.records)
    else:
        assert len(pages) == 1
        assert items == first.results


def test_iterator_starts_after_the_given_cursor(any_client: ApiClient, wire: Wire) -> None:
    pages: List[Any] = list(lakefs_sdk.TagsApi(any_client).list_tags_iter(REPO, after="v1.0.0", amount=1))
    sent = wire.exchanges()
    assert query_dict(sent[0]) == {"after": "v1.0.0", "amount": "1"}
    assert all(isinstance(tag, lakefs_sdk.models.Ref) for tag in pages)
    assert len(sent) <= 2


def test_iterator_is_lazy(any_client: ApiClient, wire: Wire) -> None:
    iterator = lakefs_sdk.BranchesApi(any_client).list_branches_iter(REPO)
    assert wire.exchanges() == [], "nothing is sent before the first item is asked for"
    next(iterator, None)
    assert len(wire.exchanges()) == 1
