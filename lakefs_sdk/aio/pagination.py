"""Auto-pagination with ``async for``: every result of a paginated operation, page by page.

The async image of :mod:`lakefs_sdk.pagination`, with the same cursor rules (those of
:mod:`lakefs_sdk._pagination`). Each paginated operation has a generated ``<operation>_iter`` method::

    async for obj in aio.ObjectsApi(client).list_objects_iter("example-repo", "main", prefix="data/"):
        print(obj.path)

Pages are fetched lazily: the next one only when the loop reaches the end of the last.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator, Mapping, Sequence, TypeVar

from lakefs_sdk._operation import Operation
from lakefs_sdk._pagination import Page, PageWalk
from lakefs_sdk._request import ResultKind

if TYPE_CHECKING:
    from lakefs_sdk.aio.api_client import AsyncApiClient

__all__ = ["iterate_pages", "iterate_results"]

ItemT = TypeVar("ItemT")
PageT = TypeVar("PageT", bound=Page[Any])


async def iterate_pages(
    client: AsyncApiClient, operation: Operation[PageT], args: Sequence[Any], options: Mapping[str, Any]
) -> AsyncIterator[PageT]:
    """Yield each page of ``operation`` called with the positional ``args`` and the request ``options``."""
    walk = PageWalk(operation, args)
    while True:
        page = await client.invoke(operation, walk.args, options, ResultKind.DATA)
        yield page
        if not walk.advance(page):
            return


async def iterate_results(
    client: AsyncApiClient, operation: Operation[Page[ItemT]], args: Sequence[Any], options: Mapping[str, Any]
) -> AsyncIterator[ItemT]:
    """Yield every item of every page of ``operation``, in order."""
    async for page in iterate_pages(client, operation, args, options):
        for item in page.results:
            yield item
