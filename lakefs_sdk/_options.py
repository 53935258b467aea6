"""Per-call options accepted by every API method, and the types of upload content.

Every generated method takes ``**kwargs: Unpack[RequestOptions]``: the same keyword
options the upstream ``lakefs-sdk`` accepted, checked by name so that a typo fails with
``ApiTypeError`` before anything is sent. The async methods (``lakefs_sdk.aio``) take
the same options but ``async_req`` (``AsyncRequestOptions``), checked by the same code.
"""

from __future__ import annotations

import os
from typing import Any, AsyncIterable, BinaryIO, Callable, Iterable, Mapping, Optional, Tuple, Union

import urllib3
from typing_extensions import TypedDict

from lakefs_sdk._transport import Timeouts, normalize_timeout
from lakefs_sdk.exceptions import ApiTypeError, ApiValueError

Timeout = Union[None, float, int, Tuple[float, float], urllib3.Timeout]

# What an upload accepts: bytes, a path (str or PathLike), an open binary file, an iterable
# of byte chunks, or a (filename, bytes) pair. Paths and files are streamed, never read whole.
UploadContent = Union[
    bytes, bytearray, memoryview, str, "os.PathLike[str]", BinaryIO, Iterable[bytes], Tuple[str, bytes]
]

# An async upload (lakefs_sdk.aio) also takes an async iterable of byte chunks.
AsyncUploadContent = Union[UploadContent, AsyncIterable[bytes], Tuple[str, AsyncIterable[bytes]]]


class AsyncRequestOptions(TypedDict, total=False):
    """Keyword options of every async API method: those of the sync ones but ``async_req``."""

    _preload_content: bool
    """When False, return the response with its body unread (for streaming)."""
    _return_http_data_only: Optional[bool]
    """With ``*_with_http_info``: return only the decoded data, as the plain method does."""
    _request_timeout: Timeout
    """Seconds for the whole call, or a ``(connect, read)`` pair; overrides the configuration.

    A number is a deadline for the whole call, its retries and the waits between them
    included: no retry starts after it, and a retry gets only the time left. A pair (like
    the configured ``connect_timeout`` and ``read_timeout``) limits each attempt, so a call
    may take up to ``max_retries + 1`` times it, plus the waits. Anything else (``(5,)``, a
    bool, zero or less) raises ``ApiValueError`` before sending."""
    _headers: Optional[Mapping[str, str]]
    """Extra request headers; they win over the ones the SDK computes."""
    _request_auth: Optional[Mapping[str, Any]]
    """One auth setting (as in ``Configuration.auth_settings()``) used instead of the configured ones."""
    _content_type: Optional[str]
    """Request media type, e.g. ``"application/octet-stream"`` for a raw upload."""
    _host_index: Optional[int]
    """Index into the spec's server list; lakeFS has one server, so only 0 is valid."""
    _progress: Optional[Callable[[int, Optional[int]], None]]
    """For uploads: called as ``progress(bytes_sent, bytes_total_or_None)`` while the content is sent."""


class RequestOptions(AsyncRequestOptions, total=False):
    """Keyword options of every API method."""

    async_req: bool
    """Run in the client's thread pool; the call returns a handle whose ``.get()`` gives the result."""


class CallOptions:
    """The parsed options of one call (internal)."""

    __slots__ = (
        "async_req",
        "content_type",
        "data_only",
        "headers",
        "preload_content",
        "progress",
        "request_auth",
        "timeout",
    )

    def __init__(self) -> None:
        self.async_req = False
        self.preload_content = True
        self.data_only: Optional[bool] = None
        self.timeout: Optional[Timeouts] = None
        self.headers: Optional[Mapping[str, str]] = None
        self.request_auth: Optional[Mapping[str, Any]] = None
        self.content_type: Optional[str] = None
        self.progress: Optional[Callable[[int, Optional[int]], None]] = None


DEFAULT_OPTIONS = CallOptions()


def parse_options(method_name: str, options: Mapping[str, Any]) -> CallOptions:
    """Check the keyword options of a call to ``method_name`` and return them parsed."""
    parsed = CallOptions()
    for key, value in options.items():
        if key == "async_req":
            parsed.async_req = bool(value)
        elif key == "_preload_content":
            parsed.preload_content = bool(value)
        elif key == "_return_http_data_only":
            parsed.data_only = None if value is None else bool(value)
        elif key == "_request_timeout":
            parsed.timeout = normalize_timeout(value, f"_request_timeout of {method_name}()")
        elif key == "_headers":
            if value is not None and not isinstance(value, Mapping):
                raise ApiTypeError(f"_headers of {method_name}() must be a mapping, not {type(value).__name__}")
            parsed.headers = value
        elif key == "_request_auth":
            if value is not None and not isinstance(value, Mapping):
                raise ApiTypeError(f"_request_auth of {method_name}() must be a mapping, not {type(value).__name__}")
            parsed.request_auth = value
        elif key == "_content_type":
            if value is not None and not isinstance(value, str):
                raise ApiTypeError(f"_content_type of {method_name}() must be a str, not {type(value).__name__}")
            parsed.content_type = value
        elif key == "_progress":
            if value is not None and not callable(value):
                raise ApiTypeError(f"_progress of {method_name}() must be callable, not {type(value).__name__}")
            parsed.progress = value
        elif key == "_host_index":
            if value not in (None, 0):
                raise ApiValueError(f"_host_index of {method_name}() must be 0: the API has one server")
        else:
            raise ApiTypeError(f"Got an unexpected keyword argument '{key}' to method {method_name}")
    return parsed
