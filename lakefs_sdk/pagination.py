"""Auto-pagination: iterate over every result of a paginated operation.

Each of the API's paginated operations (those taking ``after``/``amount`` and answering
``{pagination, results}``) has a generated ``<operation>_iter`` method built on
:func:`iterate_results`, e.g.::

    for branch in branches_api.list_branches_iter("example-repo", prefix="feature-"):
        print(branch.id)

Pages are fetched lazily. The cursor rules (follow ``pagination.next_offset`` while
``pagination.has_more``; stop if the server hands back the cursor it was just given) live
in :mod:`lakefs_sdk._pagination`, shared with ``lakefs_sdk.aio.pagination`` (``async for``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence, TypeVar

from lakefs_sdk._operation import Operation
from lakefs_sdk._pagination import Page, PageWalk, next_cursor, refuse_async_req
from lakefs_sdk._request import ResultKind

if TYPE_CHECKING:
    from lakefs_sdk.api_client import ApiClient

__all__ = ["iterate_pages", "iterate_results", "next_cursor"]

ItemT = TypeVar("ItemT")
PageT = TypeVar("PageT", bound=Page[Any])


def iterate_pages(
    client: ApiClient, operation: Operation[PageT], args: Sequence[Any], options: Mapping[str, Any]
) -> Iterator[PageT]:
    """Yield each page of ``operation`` called with the positional ``args`` and the request ``options``."""
    refuse_async_req(options)
    walk = PageWalk(operation, args)
    while True:
        page = client.invoke(operation, walk.args, options, ResultKind.DATA)
        yield page
        if not walk.advance(page):
            return


def iterate_results(
    client: ApiClient, operation: Operation[Page[ItemT]], args: Sequence[Any], options: Mapping[str, Any]
) -> Iterator[ItemT]:
    """Yield every item of every page of ``operation``, in order."""
    for page in iterate_pages(client, operation, args, options):
        yield from page.results
