"""Auto-pagination: iterate over every result of a paginated operation.

Each of the API's paginated operations (those taking ``after``/``amount`` and answering
``{pagination, results}``) has a generated ``<operation>_iter`` method built on
:func:`iterate_results`, e.g.::

    for branch in branches_api.list_branches_iter("example-repo", prefix="feature-"):
        print(branch.id)

Pages are fetched lazily. Iteration follows ``pagination.next_offset`` while
``pagination.has_more`` is true, and stops if the server hands back the cursor it was
just given (which would otherwise loop forever). ``lakefs_sdk.aio.pagination`` does the
same with ``async for``.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Iterator, Mapping, Optional

from lakefs_sdk.exceptions import ApiValueError

logger = logging.getLogger("lakefs_sdk")


def iterate_pages(
    method: Callable[..., Any], arguments: Mapping[str, Any], options: Mapping[str, Any]
) -> Iterator[Any]:
    """Yield each page (the operation's list model) of ``method`` called with ``arguments``."""
    if options.get("async_req"):
        raise ApiValueError("async_req cannot be used when iterating over pages")
    params: Dict[str, Any] = dict(arguments)
    cursor: Optional[str] = params.get("after")
    while True:
        page = method(**params, **options)
        yield page
        cursor = params["after"] = next_cursor(method, page, cursor)
        if cursor is None:
            return


def iterate_results(
    method: Callable[..., Any], arguments: Mapping[str, Any], options: Mapping[str, Any]
) -> Iterator[Any]:
    """Yield every item of every page of ``method``, in order."""
    for page in iterate_pages(method, arguments, options):
        yield from page.results


def next_cursor(method: Callable[..., Any], page: Any, cursor: Optional[str]) -> Optional[str]:
    """Where the page after ``page`` starts, or None when ``page`` is the last one.

    Shared by the sync iterators and the async ones (``lakefs_sdk.aio.pagination``).
    """
    pagination = page.pagination
    if not pagination.has_more:
        return None
    following: Optional[str] = pagination.next_offset
    if not following or following == cursor:
        logger.warning(
            "%s: server reported more results but returned cursor %r again; stopping",
            getattr(method, "__name__", "pagination"),
            following,
        )
        return None
    return following
