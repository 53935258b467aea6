"""From a response that is not the answer a call wanted to the exception the call raises.

The one place exceptions for server answers are built, for every transport: an error
status becomes the ``ApiException`` subclass of that status (:func:`error_response`), and
a success whose body is not what the spec promises becomes ``UnexpectedResponseError``
(:func:`undecodable_response`). Both are given the operation and the call's checked
arguments, in the operation's parameter order, to say what failed.
"""

from __future__ import annotations

from typing import Any, Optional, Protocol, Sequence

from lakefs_sdk import _types
from lakefs_sdk._operation import Operation
from lakefs_sdk.exceptions import ApiException, UnexpectedResponseError, exception_class_for


class Response(Protocol):
    """What a transport's response offers: status, reason, headers and the whole body."""

    status: int
    reason: Optional[str]

    @property
    def headers(self) -> Any: ...

    @property
    def data(self) -> bytes: ...


def error_response(op: Operation, values: Sequence[Any], response: Response) -> ApiException:
    """The exception for an error status answering ``op`` called with ``values``."""
    body = response.data
    data = None
    if body and "json" in (response.headers.get("Content-Type") or "json"):
        try:
            data = _types.decode_json("Error", body)
        except ValueError:
            data = None
    exc = exception_class_for(response.status)(http_resp=response, body=body, data=data)
    exc.operation = op.operation_id
    return exc


def undecodable_response(
    op: Operation, values: Sequence[Any], type_name: str, response: Response, error: Exception
) -> UnexpectedResponseError:
    """The exception for a success whose body cannot be read as ``type_name``."""
    exc = UnexpectedResponseError(
        response.status,
        f"{op.operation_id}: the {response.status} response is not a valid {type_name} ({_first_error(error)})",
        http_resp=response,
    )
    exc.operation = op.operation_id
    return exc


def _first_error(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "body"
            return f"{where}: {first.get('msg')}"
        except (IndexError, TypeError, ValueError):
            pass
    return str(error).splitlines()[0]
