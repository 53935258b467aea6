"""Exceptions raised by lakefs_sdk.

Hierarchy::

    OpenApiException
    ├── ApiTypeError, ApiValueError, ApiKeyError, ApiAttributeError   bad arguments, raised before sending
    └── ApiException                      the server answered with an error, or could not be reached
        ├── BadRequestException           400
        ├── UnauthorizedException         401
        ├── ForbiddenException            403
        ├── NotFoundException             404
        ├── ConflictException             409  (in lakeFS: already exists, a merge conflict, bad arguments)
        ├── GoneException                 410
        ├── PreconditionFailedException   412  (If-None-Match / If-Match failed, or a hook said no)
        ├── RangeNotSatisfiableException  416
        ├── TooManyRequestsException      429
        ├── ServiceException              5xx
        │   └── NotImplementedException   501
        ├── UnexpectedResponseError       a 2xx response whose body is not what the spec promises
        └── ApiConnectionError            no response: connection refused, reset, TLS failure
            └── ApiTimeoutError           no response in time
    ImportFailedError                     an import lakeFS accepted did not land (lakefs_sdk.imports)
    ├── DirtyBranchError                  ... because the branch has uncommitted changes
    └── ImportTimeoutError                ... in time, so it was canceled (also a TimeoutError)

Every ``ApiException`` carries ``status``, ``reason``, ``headers``, ``body`` (text), the
lakeFS error ``message`` and the ``request_id`` the server logged the request under; one
raised for a call also names it (``operation``, ``api_method``, ``arguments``) and may carry
a ``hint``. ``str()`` is a single line; ``repr()`` has the detail. Nothing either prints
contains a credential.

An ``ImportFailedError`` carries no HTTP status (every call of the import answered): it
has the ``import_id``, the ``repository`` and ``branch``, the last ``ImportStatus`` polled
(``status``), lakeFS's words (``reason``) and what to do about it (``explanation``).
"""

from __future__ import annotations

import http
import json
import re
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from urllib3 import HTTPHeaderDict

from lakefs_sdk._redact import redact_headers, redact_text

if TYPE_CHECKING:
    from lakefs_sdk.models.import_status import ImportStatus

PathToItem = Sequence[Union[str, int]]

# How much of a response body repr(exception) shows, and of a message str(exception) shows.
BODY_EXCERPT_CHARS = 500
MESSAGE_CHARS = 300
# How long an argument value may be in str(exception) before it is cut.
ARGUMENT_CHARS = 120

# lakeFS's words for a hook that blocked a commit or merge (pkg/graveler HookAbortError and
# the action service's per-hook errors), e.g. "pre-merge hook aborted, run id '4oic...':
# 1 error occurred:\n\t* hook run id '0000_0000' failed on action 'check' hook 'schema': ...".
_HOOK_RUN = re.compile(r"\b([\w-]+) hook aborted, run id '([^']+)'")
_HOOK_FAILURE = re.compile(
    r"hook run id '(?P<hook_run_id>[^']+)' failed on action '(?P<action>.*?)' hook '(?P<hook_id>[^']*)'"
    r"(?:: (?P<error>[^\n]*))?"
)
_HTML_TITLE = re.compile(r"(?is)<title[^>]*>(.*?)</title>")
_XML_CODE = re.compile(r"(?s)<Code>(.*?)</Code>")
_XML_MESSAGE = re.compile(r"(?s)<Message>(.*?)</Message>")


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

    ``str(e)`` is one line: the call with its identifying arguments, the status, the
    server's message, a hint when the cause is known, and the request id, e.g.
    ``get_branch(repository='repo', branch='dev') failed: 404 Not Found: branch not found
    (request id 4a1f...)``. ``repr(e)`` adds the headers and a body excerpt.
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
        # Set where the exception is built for a call (lakefs_sdk._errors): the operationId
        # ("getBranch"), the method that was called ("get_branch"), the arguments that say
        # what it was called on (repository, branch, path ...; never a body or a secret), and
        # a hint when the cause is known and the server's words mislead.
        self.operation: Optional[str] = None
        self.api_method: Optional[str] = None
        self.arguments: Dict[str, Any] = {}
        self.hint: Optional[str] = None
        super().__init__(status, reason)

    @property
    def message(self) -> Optional[str]:
        """The error message of the server: lakeFS's ``{"message": ...}``, or a plain-text body.

        Also read from the ``<Code>``/``<Message>`` of an object store's XML error. None for
        an HTML page or an empty body.
        """
        message = getattr(self.data, "message", None)
        if isinstance(message, str):
            return message
        text = (self.body or "").strip()
        if not text:
            return None
        if text.startswith("{"):
            try:
                # The first JSON document: lakeFS sometimes writes a second one after it.
                parsed, _ = json.JSONDecoder().raw_decode(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                return parsed["message"] if isinstance(parsed.get("message"), str) else None
        media_type = self._media_type()
        if media_type == "text/plain":
            return text
        if "xml" in media_type:
            return _xml_error_message(text)
        return None

    @property
    def request_id(self) -> Optional[str]:
        """The ``X-Request-Id`` the server answered with, for matching server logs."""
        return self.headers.get("X-Request-Id") if self.headers else None

    @property
    def run_id(self) -> Optional[str]:
        """For a commit or merge a lakeFS hook rejected (412): the id of the action run."""
        match = _HOOK_RUN.search(self.message or "")
        return match.group(2) if match else None

    @property
    def hook_event(self) -> Optional[str]:
        """For a hook rejection: the event whose hooks said no, e.g. ``"pre-merge"``."""
        match = _HOOK_RUN.search(self.message or "")
        return match.group(1) if match else None

    @property
    def hook_run_ids(self) -> List[str]:
        """For a hook rejection: the ids of the hook runs that failed, as the server named them.

        Empty when the server named none (a Lua hook that failed on purpose is named by its
        hook id only); :func:`lakefs_sdk.hooks.failed_hooks` then finds them in the run.
        """
        if self.run_id is None:
            return []
        return [match.group("hook_run_id") for match in _HOOK_FAILURE.finditer(self.message or "")]

    def __str__(self) -> str:
        outcome = self._outcome()
        parts = [outcome]
        detail = self._detail()
        if detail:
            parts.append(": " + detail)
        if self.hint:
            parts.append(_sentence_end(detail or outcome) + " Hint: " + redact_text(self.hint))
        if self.request_id:
            parts.append(f" (request id {self.request_id})")
        return "".join(parts)

    def __repr__(self) -> str:
        fields: List[str] = [f"status={self.status!r}", f"reason={self.reason!r}"]
        if self.operation:
            fields.append(f"operation={self.operation!r}")
        if self.arguments:
            fields.append(f"arguments={_redacted_arguments(self.arguments)!r}")
        fields.append(f"message={_redacted(self.message)!r}")
        if self.hint:
            fields.append(f"hint={redact_text(self.hint)!r}")
        fields.append(f"request_id={self.request_id!r}")
        if self.headers is not None:
            fields.append(f"headers={dict(self.headers)!r}")
        if self.body:
            fields.append(f"body={_excerpt(redact_text(self.body), BODY_EXCERPT_CHARS)!r}")
        return f"{type(self).__name__}({', '.join(fields)})"

    # -- pieces of the one-line summary ---------------------------------------------------------

    def call_text(self) -> Optional[str]:
        """The failed call as it reads in code, e.g. ``get_branch(repository='r', branch='dev')``."""
        name = self.api_method or self.operation
        if name is None:
            return None
        return f"{name}({', '.join(f'{k}={v!r}' for k, v in _redacted_arguments(self.arguments).items())})"

    def _outcome(self) -> str:
        call = self.call_text()
        status = self._status_text()
        return f"{call} failed: {status}" if call else status

    def _status_text(self) -> str:
        if not self.status:
            return f"no response: {self.reason}" if self.reason else "no response"
        return f"{self.status} {self.reason or _phrase(self.status)}".rstrip()

    def _detail(self) -> str:
        """The server's message on one line, else what the body is (never a whole page)."""
        message = self.message
        if message and message.strip().lower() == (self.reason or "").strip().lower():
            return ""  # "501 Not Implemented: Not Implemented" says nothing twice
        if message:
            return _one_line(redact_text(message), MESSAGE_CHARS)
        if not self.body or not self.body.strip():
            return ""
        if looks_like_html(self.body, self._media_type()):
            title = _HTML_TITLE.search(self.body)
            titled = f" titled {_one_line(title.group(1), 80)!r}" if title and title.group(1).strip() else ""
            return f"an HTML page{titled} ({len(self.body)} characters)"
        return _one_line(redact_text(self.body), MESSAGE_CHARS)

    def _media_type(self) -> str:
        content_type = self.headers.get("Content-Type") if self.headers else None
        return (content_type or "").split(";", 1)[0].strip().lower()

    def __reduce__(self) -> Tuple[Any, ...]:
        # Whole, not rebuilt from ``args``: an error crossing a process pool keeps its detail.
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(cls: type[ApiException], args: Tuple[Any, ...], state: Dict[str, Any]) -> ApiException:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class BadRequestException(ApiException):
    """400: the request was malformed or failed the server's validation."""


class UnauthorizedException(ApiException):
    """401: missing, wrong or expired credentials."""


class ForbiddenException(ApiException):
    """403: the credentials are valid but not allowed to do this."""


class NotFoundException(ApiException):
    """404: the repository, ref, object or other resource does not exist."""


class ConflictException(ApiException):
    """409: the resource already exists, the change conflicts with the current state, or
    lakeFS refused the arguments (e.g. reverting a merge commit without a 1-based parent)."""


class GoneException(ApiException):
    """410: the resource existed but is no longer available (e.g. an expired upload)."""


class PreconditionFailedException(ApiException):
    """412: an ``If-None-Match`` / ``If-Match`` condition did not hold, or a pre-commit /
    pre-merge hook failed (then ``run_id`` and ``hook_run_ids`` are set, and each record of
    :func:`lakefs_sdk.hooks.failed_hooks` has the ``reason``)."""


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

    Typical causes: a host without ``/api/v1`` (lakeFS's web UI answers with HTML), a proxy
    answering with HTML, a truncated body, a server version whose response this SDK cannot
    read. ``reason`` says what is wrong; ``body`` holds what arrived.
    """

    def _status_text(self) -> str:
        return self.reason or f"unreadable {self.status} response"


class ApiConnectionError(ApiException):
    """No response: the connection failed, was reset, or TLS verification failed.

    ``status`` is ``0``; the underlying urllib3 error is the ``__cause__``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(status=0, reason=reason)


class ApiTimeoutError(ApiConnectionError):
    """No response within the connect or read timeout."""


class ImportFailedError(OpenApiException):
    """An import that lakeFS accepted (``import_start`` answered 202) did not land on its branch.

    lakeFS reports the failure of an import only in a later ``import_status``, as its
    ``error``; :func:`lakefs_sdk.imports.import_and_wait` (and its asyncio twin) raise this
    for it. ``str(e)`` is one line naming the import, the branch, lakeFS's message and, when
    the cause is known, what to do, e.g. ``import 'cf4b...' into branch 'main' of repository
    'repo' failed: import error: merge import: uncommitted changes (dirty branch). The
    branch has uncommitted changes, ...: commit or reset the branch's uncommitted changes
    (or import into a new branch), then import again.``

    Attributes: ``import_id``, ``repository``, ``branch``; ``status``, the last
    :class:`~lakefs_sdk.models.ImportStatus` polled (None when none was); ``reason``,
    lakeFS's message (or why the wait gave up); ``explanation``, what to do, or None.
    """

    def __init__(
        self,
        reason: str,
        *,
        import_id: str,
        repository: str,
        branch: str,
        status: Optional[ImportStatus] = None,
        explanation: Optional[str] = None,
    ) -> None:
        self.reason = reason
        self.import_id = import_id
        self.repository = repository
        self.branch = branch
        self.status = status
        self.explanation = explanation
        super().__init__(reason)

    def __str__(self) -> str:
        reason = _one_line(redact_text(self.reason), MESSAGE_CHARS) or "no reason given"
        text = (
            f"import {self.import_id!r} into branch {self.branch!r} of repository {self.repository!r} "
            f"failed: {reason}"
        )
        if self.explanation:
            text += _sentence_end(text) + " " + _one_line(self.explanation, MESSAGE_CHARS)
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(reason={_redacted(self.reason)!r}, import_id={self.import_id!r}, "
            f"repository={self.repository!r}, branch={self.branch!r}, status={_redacted(repr(self.status))})"
        )

    def __reduce__(self) -> Tuple[Any, ...]:
        return (_rebuild_import_error, (type(self), self.args, dict(self.__dict__)))


def _rebuild_import_error(
    cls: type[ImportFailedError], args: Tuple[Any, ...], state: Dict[str, Any]
) -> ImportFailedError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class DirtyBranchError(ImportFailedError):
    """The import was refused because its branch has uncommitted changes.

    lakeFS merges an import into the branch's head and will not while the branch is dirty:
    commit the changes (``CommitsApi.commit``) or drop them (``BranchesApi.reset_branch``),
    or import into a fresh branch, then start the import again.
    """


class ImportTimeoutError(ImportFailedError, TimeoutError):
    """The import had not finished within the time given to wait for it, and was canceled.

    ``status`` is the last status polled. ``reason`` says whether ``import_cancel``
    succeeded: when it did not, the import may still complete.
    """


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


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _one_line(text: str, limit: int) -> str:
    """``text`` with its lines joined by spaces, cut at ``limit`` characters."""
    flat = " ".join(line.strip() for line in text.splitlines() if line.strip())
    return _excerpt(flat, limit)


def _excerpt(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def _sentence_end(text: str) -> str:
    return "" if not text or text[-1] in ".!?" else "."


def _redacted(text: Optional[str]) -> Optional[str]:
    return redact_text(text) if text is not None else None


def _redacted_arguments(arguments: Mapping[str, Any]) -> Dict[str, Any]:
    shown: Dict[str, Any] = {}
    for name, value in arguments.items():
        if isinstance(value, str):
            value = redact_text(value)
            if len(value) > ARGUMENT_CHARS:
                value = value[:ARGUMENT_CHARS] + "..."
        shown[name] = value
    return shown


def looks_like_html(body: Union[str, bytes, None], content_type: Optional[str]) -> bool:
    """Whether a response is a web page: its media type says HTML, or its body starts as one.

    The one HTML test of the package (error messages and the hints of ``_errors`` use it).
    """
    if "html" in (content_type or "").lower():
        return True
    if not body:
        return False
    start = body.lstrip()[:15].lower()
    if isinstance(start, bytes):
        return start.startswith((b"<!doctype html", b"<html"))
    return start.startswith(("<!doctype html", "<html"))


def _xml_error_message(text: str) -> Optional[str]:
    """``Code: Message`` of an object store's XML error (S3, GCS, Azure), if it has them."""
    code, message = _XML_CODE.search(text), _XML_MESSAGE.search(text)
    parts = [m.group(1).strip() for m in (code, message) if m is not None and m.group(1).strip()]
    return ": ".join(parts) or None


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
    "ImportFailedError",
    "DirtyBranchError",
    "ImportTimeoutError",
    "exception_class_for",
    "render_path",
]
