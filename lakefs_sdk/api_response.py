"""``ApiResponse``: what ``*_with_http_info`` methods return."""

from __future__ import annotations

from typing import Any, Generic, Mapping, Optional, TypeVar

from urllib3 import HTTPHeaderDict

T = TypeVar("T")


class ApiResponse(Generic[T]):
    """A decoded result together with the HTTP status and headers it came with.

    :param status_code: HTTP status, e.g. 200.
    :param headers: Response headers; looked up case-insensitively.
    :param data: The decoded body (a model, bytes, ...), or None.
    :param raw_data: The body as received (bytes); for a call made with
        ``_preload_content=False``, the unread response to stream from.
    :param retries: How many retries this call took before this response.
    """

    __slots__ = ("data", "headers", "raw_data", "retries", "status_code")

    def __init__(
        self,
        status_code: Optional[int] = None,
        headers: Optional[Mapping[str, str]] = None,
        data: Optional[T] = None,
        raw_data: Any = None,
        retries: int = 0,
    ) -> None:
        self.status_code = status_code
        self.headers: Optional[HTTPHeaderDict] = (
            headers if isinstance(headers, HTTPHeaderDict) or headers is None else HTTPHeaderDict(headers)
        )
        self.data = data
        self.raw_data = raw_data
        self.retries = retries

    def __repr__(self) -> str:
        return f"ApiResponse(status_code={self.status_code!r}, data={self.data!r}, retries={self.retries})"
