"""Auto-pagination with ``async for``: every result of a paginated operation, page by page.

The async image of :mod:`lakefs_sdk.pagination`, with the same cursor rules (it shares
``next_cursor``). Each paginated operation has a generated ``<operation>_iter`` method::

    async for obj in aio.ObjectsApi(client).list_objects_iter("example-repo", "main", prefix="data/"):
        print(obj.path)

Pages are fetched lazily: the next one only when the loop reaches the end of the last.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Callable, Dict, Mapping, Optional

from lakefs_sdk.pagination import next_cursor


async def iterate_pages(
    method: Callable[..., Any], arguments: Mapping[str, Any], options: Mapping[str, Any]
) -> AsyncIterator[Any]:
    """Yield each page (the operation's list model) of the async ``method`` called with ``arguments``."""
    params: Dict[str, Any] = dict(arguments)
    cursor: Optional[str] = params.get("after")
    while True:
        page = await method(**params, **options)
        yield page
        cursor = params["after"] = next_cursor(method, page, cursor)
        if cursor is None:
            return


async def iterate_results(
    method: Callable[..., Any], arguments: Mapping[str, Any], options: Mapping[str, Any]
) -> AsyncIterator[Any]:
    """Yield every item of every page of the async ``method``, in order."""
    async for page in iterate_pages(method, arguments, options):
        for item in page.results:
            yield item
