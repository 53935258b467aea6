"""Exceptions raised by lakefs_sdk.

Hierarchy::

    OpenApiException
    ├── ApiTypeError, ApiValueError, ApiKeyError, ApiAttributeError   bad arguments, raised before sending
    └── ApiException                      the server answered with an error, or could not be reached
        ├── BadRequestException           400
        ├── UnauthorizedException         401
        ├── ForbiddenException            403
        ├── NotFoundException             404
        ├── ConflictException             409  (in lakeFS: already exists)
        ├── GoneException                 410
        ├── PreconditionFailedException   412  (If-None-Match / If-Match failed)
        ├── RangeNotSatisfiableException  416
        ├── TooManyRequestsException      429
        ├── ServiceException              5xx
        │   └── NotImplementedException   501
        ├── UnexpectedResponseError       a 2xx response whose body is not what the spec promises
        └── ApiConnectionError            no response: connection refused, reset, TLS failure
            └── ApiTimeoutError           no response in time

Every ``ApiException`` carries ``status``, ``reason``, ``headers``, ``body`` (text), the
lakeFS error ``message`` and the ``request_id`` the server logged the request under.
Nothing it prints contains a credential.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from urllib3 import HTTPHeaderDict

from lakefs_sdk._redact import redact_headers, redact_text

PathToItem = Sequence[Union[str, int]]

# How much of a response body str(exception) shows.
BODY_EXCERPT_CHARS = 500


class OpenApiException(Exception):
    """Base class of every exception raised by lakefs_sdk."""


class ApiTypeError(OpenApiException, TypeError):
    """An argument has the wrong type, or an unknown keyword argument was passed."""

    def __init__(
        self,
        msg: str,
        path_to_item: Optional[PathToItem] = None,
        valid_classes: Optional[tuple[type, ...]] = None,
        key_type: Optional[bool] = None,
    ) -> None:
        self.path_to_item = path_to_item
        self.valid_classes = valid_classes
        self.key_type = key_type
        super().__init__(_with_path(msg, path_to_item))


class ApiValueError(OpenApiException, ValueError):
    """An argument has the right type but a value the API cannot accept."""

    def __init__(self, msg: str, path_to_item: Optional[PathToItem] = None) -> None:
        self.path_to_item = path_to_item
        super().__init__(_with_path(msg, path_to_item))


class ApiAttributeError(OpenApiException, AttributeError):
    """An attribute that does not exist was requested."""

    def __init__(self, msg: str, path_to_item: Optional[PathToItem] = None) -> None:
        self.path_to_item = path_to_item
        super().__init__(_with_path(msg, path_to_item))


class ApiKeyError(OpenApiException, KeyError):
    """A key that does not exist was requested."""

    def __init__(self, msg: str, path_to_item: Optional[PathToItem] = None) -> None:
        self.path_to_item = path_to_item
        super().__init__(_with_path(msg, path_to_item))


class ApiException(OpenApiException):
    """The server answered with an error status, or no usable answer came back.

    Build it from a response (``ApiException(http_resp=resp)``; ``resp`` needs ``status``,
    ``reason``, ``data`` and ``headers`` or ``getheaders()``) or from parts
    (``ApiException(404, "Not Found", body=...)``).
    """

    def __init__(
        self,
        status: Optional[int] = None,
        reason: Optional[str] = None,
        http_resp: Any = None,
        *,
        body: Optional[Union[str, bytes]] = None,
        data: Any = None,
    ) -> None:
        headers: Optional[Mapping[str, str]] = None
        if http_resp is not None:
            status = http_resp.status if status is None else status
            reason = http_resp.reason if reason is None else reason
            if body is None:
                body = getattr(http_resp, "data", None)
            headers = _response_headers(http_resp)
        self.status: Optional[int] = status
        self.reason: Optional[str] = reason
        self.body: Optional[str] = _as_text(body)
        # Case-insensitive; dict(e.headers) keeps the server's spelling. Credentials masked.
        self.headers: Optional[HTTPHeaderDict] = (
            HTTPHeaderDict(redact_headers(headers)) if headers is not None else None
        )
        self.data: Any = data
        # Set by the ApiClient: the operationId whose call failed, e.g. "getBranch".
        self.operation: Optional[str] = None
        super().__init__(status, reason)

    @property
    def message(self) -> Optional[str]:
        """The error message lakeFS put in its ``{"message": ...}`` body, if any."""
        message = getattr(self.data, "message", None)
        if message is None and self.body:
            try:
                parsed = json.loads(self.body)
            except ValueError:
                return None
            if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
                message = parsed["message"]
        return message if isinstance(message, str) else None

    @property
    def request_id(self) -> Optional[str]:
        """The ``X-Request-Id`` the server answered with, for matching server logs."""
        return self.headers.get("X-Request-Id") if self.headers else None

    def __str__(self) -> str:
        lines = [f"({self.status})" if self.status else "(no response)", f"Reason: {self.reason}"]
        if self.operation:
            lines.append(f"Operation: {self.operation}")
        message = self.message
        if message:
            lines.append(f"Message: {redact_text(message)}")
        if self.request_id:
            lines.append(f"Request ID: {self.request_id}")
        if self.body and not message:
            excerpt = redact_text(self.body[:BODY_EXCERPT_CHARS])
            more = f" ... ({len(self.body)} characters)" if len(self.body) > BODY_EXCERPT_CHARS else ""
            lines.append(f"HTTP response body: {excerpt}{more}")
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, reason={self.reason!r}, message={self.message!r})"


class BadRequestException(ApiException):
    """400: the request was malformed or failed the server's validation."""


class UnauthorizedException(ApiException):
    """401: missing, wrong or expired credentials."""


class ForbiddenException(ApiException):
    """403: the credentials are valid but not allowed to do this."""


class NotFoundException(ApiException):
    """404: the repository, ref, object or other resource does not exist."""


class ConflictException(ApiException):
    """409: the resource already exists, or the change conflicts with the current state."""


class GoneException(ApiException):
    """410: the resource existed but is no longer available (e.g. an expired upload)."""


class PreconditionFailedException(ApiException):
    """412: an ``If-None-Match`` / ``If-Match`` condition did not hold."""


class RangeNotSatisfiableException(ApiException):
    """416: the requested byte range lies outside the object."""


class TooManyRequestsException(ApiException):
    """429: the server is throttling requests; retried automatically, then raised."""


class ServiceException(ApiException):
    """5xx: the server failed to handle the request."""


class NotImplementedException(ServiceException):
    """501: the server or its storage does not support this operation."""


class UnexpectedResponseError(ApiException):
    """A successful status came with a body that does not match the API spec.

    Typical causes: a proxy answering with HTML, a truncated body, a server version
    whose response this SDK cannot read. ``body`` holds what arrived.
    """


class ApiConnectionError(ApiException):
    """No response: the connection failed, was reset, or TLS verification failed.

    ``status`` is ``0``; the underlying urllib3 error is the ``__cause__``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(status=0, reason=reason)


class ApiTimeoutError(ApiConnectionError):
    """No response within the connect or read timeout."""


_EXCEPTIONS_BY_STATUS: Dict[int, type[ApiException]] = {
    400: BadRequestException,
    401: UnauthorizedException,
    403: ForbiddenException,
    404: NotFoundException,
    409: ConflictException,
    410: GoneException,
    412: PreconditionFailedException,
    416: RangeNotSatisfiableException,
    429: TooManyRequestsException,
    501: NotImplementedException,
}


def exception_class_for(status: int) -> type[ApiException]:
    """The ``ApiException`` subclass raised for an HTTP error ``status``."""
    cls = _EXCEPTIONS_BY_STATUS.get(status)
    if cls is not None:
        return cls
    return ServiceException if 500 <= status <= 599 else ApiException


def _response_headers(http_resp: Any) -> Optional[Mapping[str, str]]:
    headers = getattr(http_resp, "headers", None)
    if headers is None and hasattr(http_resp, "getheaders"):
        headers = http_resp.getheaders()
    if headers is None:
        return None
    if isinstance(headers, Mapping):
        return headers
    return dict(headers)


def _as_text(body: Optional[Union[str, bytes, bytearray]]) -> Optional[str]:
    if body is None or isinstance(body, str):
        return body
    return bytes(body).decode("utf-8", errors="replace")


def render_path(path_to_item: PathToItem) -> str:
    """Render a path into a nested value as subscripts, e.g. ``['paths'][0]`` (upstream name)."""
    return "".join(f"[{p}]" if isinstance(p, int) else f"['{p}']" for p in path_to_item)


def _with_path(msg: str, path_to_item: Optional[PathToItem]) -> str:
    if not path_to_item:
        return msg
    return f"{msg} at {render_path(path_to_item)}"


__all__: List[str] = [
    "OpenApiException",
    "ApiTypeError",
    "ApiValueError",
    "ApiKeyError",
    "ApiAttributeError",
    "ApiException",
    "BadRequestException",
    "UnauthorizedException",
    "ForbiddenException",
    "NotFoundException",
    "ConflictException",
    "GoneException",
    "PreconditionFailedException",
    "RangeNotSatisfiableException",
    "TooManyRequestsException",
    "ServiceException",
    "NotImplementedException",
    "UnexpectedResponseError",
    "ApiConnectionError",
    "ApiTimeoutError",
    "exception_class_for",
    "render_path",
]
