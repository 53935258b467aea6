"""What a mock transport's handler is given (:class:`Request`) and what it answers (:class:`Response`)."""

from __future__ import annotations

import email
import email.policy
import http
import json as json_module
from typing import Any, Iterator, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import parse_qsl, unquote, urlsplit

from urllib3 import HTTPHeaderDict

from lakefs_sdk._types import encode_json
from lakefs_sdk.exceptions import ApiTypeError, ApiValueError

API_BASE_PATH = "/api/v1"


class QueryParams(Mapping[str, str]):
    """The query of a request: ``params["k"]`` is the first value of ``k``, ``get_list("k")`` all of them."""

    __slots__ = ("_items",)

    def __init__(self, items: Sequence[Tuple[str, str]] = ()) -> None:
        self._items: Tuple[Tuple[str, str], ...] = tuple(items)

    def __getitem__(self, key: str) -> str:
        for name, value in self._items:
            if name == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._items))

    def __len__(self) -> int:
        return len(dict.fromkeys(name for name, _ in self._items))

    def get_list(self, key: str) -> List[str]:
        """Every value of ``key``, in the order sent (empty when absent)."""
        return [value for name, value in self._items if name == key]

    def multi_items(self) -> List[Tuple[str, str]]:
        """Every ``(key, value)`` pair, repeated keys included, in the order sent."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"QueryParams({list(self._items)!r})"


class Request:
    """One request as a mock transport's handler sees it (one per attempt: a retry is a new one).

    ``method`` (``"GET"`` ...), ``url`` (complete, as it would be sent), ``path`` (the
    URL's path below ``/api/v1``, percent-decoded: ``/repositories/r/branches/feature/x``),
    ``raw_path`` (the same, still encoded: ``.../feature%2Fx``), ``params`` (the query,
    decoded; see :class:`QueryParams`), ``headers`` (case-insensitive, credentials
    included) and ``content`` (the whole body as bytes; an upload read to its end, framing
    included: :meth:`upload_content` is the uploaded bytes alone).
    """

    __slots__ = ("content", "headers", "method", "params", "path", "raw_path", "url")

    def __init__(self, method: str, url: str, headers: Mapping[str, str], content: bytes = b"") -> None:
        self.method = method
        self.url = url
        parts = urlsplit(url)
        raw = parts.path
        if raw == API_BASE_PATH or raw.startswith(API_BASE_PATH + "/"):
            raw = raw[len(API_BASE_PATH) :]
        self.raw_path = raw
        self.path = unquote(raw)
        self.params = QueryParams(parse_qsl(parts.query, keep_blank_values=True))
        self.headers: HTTPHeaderDict = HTTPHeaderDict(dict(headers))
        self.content = content

    def json(self) -> Any:
        """The body decoded as JSON (``ValueError`` when it is not JSON)."""
        return json_module.loads(self.content)

    def upload_content(self) -> bytes:
        """The bytes an upload sent: the first part of a ``multipart/form-data`` body, else the whole body.

        ``upload_object(..., content=path)`` sends the file as one multipart part; this is that
        part's content, without the framing.
        """
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/"):
            return self.content
        message = email.message_from_bytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + self.content, policy=email.policy.HTTP
        )
        for part in message.iter_parts():
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else b""
        raise ApiValueError(f"{self!r}: the multipart body has no part")

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.raw_path}>"


class Response:
    """What a mock transport's handler answers: a status, and a JSON value or raw bytes.

    :param status_code: The HTTP status (100-599).
    :param json: A JSON-able value, or a model (``lakefs_sdk.Ref(...)``, sent as its
        ``to_dict()``), sent with ``Content-Type: application/json``. None: no JSON.
    :param content: The raw body (bytes), when ``json`` is not given.
    :param headers: Response headers; ``Content-Length`` is added unless given.

    Example: ``Response(404, json={"message": "not found"})``, ``Response(200, content=b"a,b\\n")``.
    """

    __slots__ = ("content", "headers", "reason", "status_code")

    def __init__(
        self,
        status_code: int = 200,
        json: Any = None,
        content: bytes = b"",
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        if isinstance(status_code, bool) or not isinstance(status_code, int) or not 100 <= status_code <= 599:
            raise ApiValueError(f"Response status_code must be an HTTP status (100-599), got {status_code!r}")
        if not isinstance(content, (bytes, bytearray, memoryview)):
            raise ApiTypeError(f"Response content must be bytes, got {type(content).__name__}")
        self.status_code = status_code
        self.headers: HTTPHeaderDict = HTTPHeaderDict(dict(headers or {}))
        if json is not None:
            if content:
                raise ApiValueError("give a Response json or content, not both")
            content = encode_json(json)
            self.headers.setdefault("Content-Type", "application/json")
        self.content = bytes(content)
        if "Content-Length" not in self.headers and "Transfer-Encoding" not in self.headers:
            self.headers["Content-Length"] = str(len(self.content))
        try:
            self.reason: Optional[str] = http.HTTPStatus(status_code).phrase
        except ValueError:
            self.reason = None

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json_module.loads(self.content)

    def __repr__(self) -> str:
        return f"<Response {self.status_code}, {len(self.content)} bytes>"
