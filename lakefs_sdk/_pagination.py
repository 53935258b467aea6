"""Auto-pagination's cursor rules, shared by the sync and the asyncio iterators (no I/O here).

A paginated operation takes ``after`` (where a page starts) and answers a list model
``{pagination: {has_more, next_offset}, results: [...]}``. Iteration asks for the page at
``after``, then follows ``pagination.next_offset`` while ``pagination.has_more`` is true,
and stops if the server hands back the cursor it was just given (which would otherwise
loop forever). :mod:`lakefs_sdk.pagination` and :mod:`lakefs_sdk.aio.pagination` only send
each page's request and wait for it.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping, Optional, Protocol, Sequence, Tuple, TypeVar

from lakefs_sdk._operation import Operation
from lakefs_sdk.exceptions import ApiValueError

logger = logging.getLogger("lakefs_sdk")

ItemT = TypeVar("ItemT", covariant=True)


class Cursor(Protocol):
    """The ``pagination`` part of a page."""

    @property
    def has_more(self) -> bool: ...

    @property
    def next_offset(self) -> str: ...


class Page(Protocol[ItemT]):
    """A page of a paginated operation: its cursor and its items."""

    @property
    def pagination(self) -> Cursor: ...

    @property
    def results(self) -> Sequence[ItemT]: ...


class PageWalk:
    """The arguments of each page request of one iteration over ``operation``.

    ``args`` are the operation's positional arguments (in its parameter order); the one for
    ``after`` moves from page to page.
    """

    __slots__ = ("_after", "args", "operation")

    def __init__(self, operation: Operation[Any], args: Sequence[Any]) -> None:
        self.operation = operation
        self.args: Tuple[Any, ...] = tuple(args)
        self._after = operation.index("after")

    def advance(self, page: Page[Any]) -> bool:
        """Point ``args`` at the page after ``page``; return False when ``page`` is the last one."""
        following = next_cursor(self.operation.method_name, page, self.args[self._after])
        if following is None:
            return False
        args = list(self.args)
        args[self._after] = following
        self.args = tuple(args)
        return True


def refuse_async_req(options: Mapping[str, Any]) -> None:
    """Refuse ``async_req``: an iterator fetches its pages itself, one after the other."""
    if options.get("async_req"):
        raise ApiValueError("async_req cannot be used when iterating over pages")


def next_cursor(method_name: str, page: Page[Any], cursor: Optional[str]) -> Optional[str]:
    """Where the page after ``page`` starts, or None when ``page`` is the last one.

    ``cursor`` is where ``page`` started; a server answering it again (or no cursor at all)
    while claiming more results ends the iteration, with a warning naming ``method_name``.
    """
    pagination = page.pagination
    if not pagination.has_more:
        return None
    following = pagination.next_offset
    if not following or following == cursor:
        logger.warning(
            "%s: server reported more results but returned cursor %r again; stopping", method_name, following
        )
        return None
    return following
