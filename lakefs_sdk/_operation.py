"""Operation descriptors: the data each generated API method hands to the ``ApiClient``.

The generated modules of ``lakefs_sdk._operations`` declare one ``Operation`` per
operationId, built from the spec at generation time (method, path, parameters with their
wire names and constraints, response types, auth schemes, media types); the sync and the
asyncio API classes both send them. This module turns a call's arguments into
the parts of an HTTP request, refusing anything that would change the request's meaning
before a byte is sent:

* every argument is type-checked (``ApiTypeError``) and range/enum/pattern-checked
  (``ApiValueError``);
* path parameters are percent-encoded as whole segments (``/ ? # %`` included) and
  ``""``, ``.`` and ``..`` are refused, since urllib3 would collapse them into another route;
* query values are percent-encoded (``+ & # % =`` included, non-ASCII as UTF-8);
* header values containing CR, LF or NUL are refused.
"""

from __future__ import annotations

import datetime
import operator
import re
from typing import Any, Callable, Dict, Generic, List, Mapping, Optional, Sequence, Tuple, TypeVar
from urllib.parse import quote, unquote

from lakefs_sdk import _types
from lakefs_sdk.exceptions import ApiTypeError, ApiValueError

PATH, QUERY, HEADER, BODY, FORM = "path", "query", "header", "body", "form"

# The API's global ``security`` schemes, in the order the generator lists them (a bearer
# token, when there is one, is sent over basic credentials). An operation sends these
# unless its descriptor names others (``auth=()``: no credentials).
API_SECURITY: Tuple[str, ...] = ("basic_auth", "cookie_auth", "oidc_auth", "saml_auth", "jwt_token")

# Characters that may never be left unencoded in a path segment: each would end or
# change the segment.
_PATH_UNSAFE = "/?#%"
_BAD_HEADER_CHARS = re.compile(r"[\r\n\x00]")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an HTTP token; used with fullmatch
_PLACEHOLDER = re.compile(r"\{([^}]+)\}")
# RFC 3986 unreserved characters: a value made only of these needs no encoding.
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")
# A query value made only of these is sent as it is ("/" stays readable in object paths).
_QUERY_PLAIN = re.compile(r"[A-Za-z0-9._~/-]+")
_is_query_plain = _QUERY_PLAIN.fullmatch
# Path arguments that would address another endpoint once urllib3 normalises the path.
_NOT_SEGMENTS = frozenset({"", ".", ".."})
# Encoded paths remembered per operation (the same repository and branch, call after call).
_PATH_MEMO_SIZE = 256

Checker = Callable[[Any, str], Any]
T = TypeVar("T", covariant=True)  # what a success decodes to; only read, never taken


# Param.plain: which str arguments pass the parameter's checks unchanged, whatever its checker.
NO_STR, ANY_STR, SEGMENT_STR = 0, 1, 2


class Param:
    """One parameter of an operation, as the spec defines it."""

    __slots__ = ("check", "explode", "kind", "location", "name", "plain", "required", "type_name", "wire_name")

    def __init__(
        self,
        name: str,
        wire_name: str,
        location: str,
        kind: str,
        type_name: str,
        *,
        required: bool = False,
        minimum: Optional[float] = None,
        maximum: Optional[float] = None,
        min_length: Optional[int] = None,
        pattern: Optional[str] = None,
        enum: Optional[Sequence[str]] = None,
        explode: bool = False,
    ) -> None:
        self.name = name
        self.wire_name = wire_name
        self.location = location
        self.kind = kind
        self.type_name = type_name
        self.required = required
        self.explode = explode
        self.check: Checker = _make_checker(self, minimum, maximum, min_length, pattern, enum)
        unconstrained = kind in ("str", "enum") and min_length is None and not pattern and not enum
        self.plain = NO_STR
        """``ANY_STR`` or ``SEGMENT_STR`` (a str that is one path segment) when ``check`` passes such a str as it is."""
        if unconstrained and location != HEADER:
            self.plain = SEGMENT_STR if location == PATH else ANY_STR

    def __repr__(self) -> str:
        return f"Param({self.name!r}, {self.location}, {self.kind})"


class Operation(Generic[T]):
    """One API operation: everything needed to send it and to read its answer.

    ``T`` is what a successful call decodes to (``None`` for an answer without a body).
    """

    __slots__ = (
        "_body_param",
        "_checks",
        "_header_params",
        "_optional_args",
        "_other_checks",
        "_path_format",
        "_path_key",
        "_path_memo",
        "_path_params",
        "_plain_args",
        "_query_params",
        "_required_checks",
        "accept",
        "auth",
        "content_types",
        "deprecated",
        "form_indexes",
        "has_content",
        "header_names",
        "http_method",
        "method_name",
        "operation_id",
        "params",
        "path",
        "responses",
        "types_by_status",
    )

    def __init__(
        self,
        operation_id: str,
        method_name: str,
        http_method: str,
        path: str,
        *,
        params: Tuple[Param, ...],
        responses: Mapping[str, Optional[str]],
        auth: Tuple[str, ...] = API_SECURITY,
        accept: Tuple[str, ...],
        content_types: Tuple[str, ...],
        deprecated: bool = False,
    ) -> None:
        self.operation_id = operation_id
        self.method_name = method_name
        self.http_method = http_method
        self.path = path
        self.params = params
        self.responses = dict(responses)
        self.types_by_status: Dict[int, Optional[str]] = {
            int(code): name for code, name in self.responses.items() if code.isdigit()
        }
        """``responses`` keyed by the status as an int, as a response gives it (numeric codes only)."""
        self.auth = auth
        self.accept = ", ".join(accept) if accept else None
        self.content_types = content_types
        self.deprecated = deprecated
        indexed = list(enumerate(params))
        by_wire_name = {p.wire_name: i for i, p in indexed if p.location == PATH}
        # "/repositories/{repository}/branches/{branch}" -> "/repositories/{0}/branches/{1}"
        order: List[int] = []

        def number(match: re.Match[str]) -> str:
            order.append(by_wire_name[match.group(1)])
            return "{" + str(len(order) - 1) + "}"

        self._path_format = _PLACEHOLDER.sub(number, path)
        self._path_params = tuple(order)
        # The path arguments of a call as one hashable key (a tuple, or the one value).
        self._path_key: Optional[Callable[[Sequence[Any]], Any]] = operator.itemgetter(*order) if order else None
        self._path_memo: Dict[Any, str] = {}
        # What each call needs, computed once: (index, name, required, is a header, checked even
        # without client-side validation, checker); (index, "wire_name=", explode) per query param.
        self._checks: Tuple[_Check, ...] = tuple(
            (i, p.name, p.required, p.location == HEADER, p.location in (PATH, HEADER), p.check) for i, p in indexed
        )
        # The arguments a str passes unchanged, taken in one step each (see check_arguments):
        # required ones, optional ones, and the path segments among the required.
        fast_required = [i for i, p in indexed if p.plain and p.required]
        fast_optional = [i for i, p in indexed if p.plain == ANY_STR and not p.required]
        self._plain_args = (
            _picker(fast_required),
            _picker(fast_optional),
            _picker([i for i in fast_required if params[i].plain == SEGMENT_STR]),
        )
        fast = set(fast_required + fast_optional)
        self._other_checks = tuple(check for check in self._checks if check[0] not in fast)
        # Of those, the optional ones are usually all left out (None): asked in one step.
        self._required_checks = tuple(check for check in self._other_checks if check[2])
        self._optional_args = _picker([check[0] for check in self._other_checks if not check[2]])
        self._query_params: Tuple[Tuple[int, str, bool], ...] = tuple(
            (i, p.wire_name + "=", p.explode) for i, p in indexed if p.location == QUERY
        )
        self._header_params: Tuple[Tuple[int, str], ...] = tuple(
            (i, p.wire_name) for i, p in indexed if p.location == HEADER
        )
        self.header_names: Tuple[str, ...] = tuple(name for _, name in self._header_params)
        """Wire names of the header parameters."""
        bodies = [i for i, p in indexed if p.location == BODY]
        self._body_param = bodies[0] if bodies else None
        self.form_indexes: Tuple[int, ...] = tuple(i for i, p in indexed if p.location == FORM)
        """Positions of the multipart form parameters among ``params``."""
        self.has_content = self._body_param is not None or bool(self.form_indexes)
        """Whether a call may carry content (a JSON body or form parameters)."""

    def __repr__(self) -> str:
        return f"Operation({self.operation_id!r}, {self.http_method} {self.path})"

    # -- argument checking --------------------------------------------------------------------

    def check_arguments(self, values: Sequence[Any], validate: bool = True) -> Sequence[Any]:
        """Check every argument; return them normalized (e.g. dicts validated into models).

        An empty string for a header parameter means "not given", as ``None`` does. With
        ``validate=False`` (``Configuration.client_side_validation``) only the checks that
        keep the request's meaning intact (path segments, header characters) run. When no
        argument needs more than the one-step checks, ``values`` itself is returned.
        """
        required_str, optional_str, segments = self._plain_args
        if (
            (required_str is None or _STR.issuperset(map(type, required_str(values))))
            and (optional_str is None or _STR_OR_NONE.issuperset(map(type, optional_str(values))))
            and (segments is None or _are_segments(segments(values)))
        ):
            # The usual case: the str arguments pass as they are.
            optional = self._optional_args
            if optional is None or _NONE.issuperset(map(type, optional(values))):
                checks = self._required_checks
                if not checks:
                    return values
            else:
                checks = self._other_checks
        else:
            checks = self._checks  # each argument in order, for the first error's message
        method = self.method_name
        checked = list(values)
        for i, name, required, header, always, check in checks:
            value = checked[i]
            if header and value == "":
                # As upstream: an empty header argument is not given (lakeFS refuses "If-Match: ").
                value = checked[i] = None
            if value is None:
                if required:
                    raise ApiValueError(f"{method}() missing required argument '{name}'")
                continue
            if validate or always:
                checked[i] = check(value, method)
        return checked

    # -- request parts --------------------------------------------------------------------------

    def url_path(self, values: Sequence[Any], safe: str = "") -> str:
        """The request path with each path parameter encoded as a single segment."""
        key_of = self._path_key
        if key_of is None:
            return self._path_format
        if safe:
            return self._format_path(values, safe)
        # Calls repeat their repository and branch: their encoded path is looked up, not rebuilt.
        key = key_of(values)
        memo = self._path_memo
        try:
            return memo[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable argument: encoded each time
            return self._format_path(values, safe)
        path = self._format_path(values, safe)
        if len(memo) >= _PATH_MEMO_SIZE:
            memo.clear()
        memo[key] = path
        return path

    def _format_path(self, values: Sequence[Any], safe: str) -> str:
        return self._path_format.format(*[_segment(values[i], safe) for i in self._path_params])

    def query_string(self, values: Sequence[Any]) -> str:
        """The encoded query string (without ``?``), or ``""``."""
        if not self._query_params:
            return ""
        parts: List[str] = []
        for i, prefix, explode in self._query_params:
            value = values[i]
            if value is None:
                continue
            if type(value) is str and _is_query_plain(value):  # the usual case: sent as it is
                parts.append(prefix + value)
            elif isinstance(value, (list, tuple)):
                encoded = [_query_value(v) for v in value]
                if explode:
                    parts.extend(prefix + v for v in encoded)
                else:
                    parts.append(prefix + ",".join(encoded))
            else:
                parts.append(prefix + _query_value(value))
        return "&".join(parts)

    def header_values(self, values: Sequence[Any]) -> Dict[str, str]:
        """Header parameters that were given, by wire name."""
        if not self._header_params:
            return {}
        return {name: str(values[i]) for i, name in self._header_params if values[i] is not None}

    def body_argument(self, values: Sequence[Any]) -> Tuple[Optional[Param], Any]:
        """The JSON body parameter and its value, or ``(None, None)``."""
        if self._body_param is None:
            return None, None
        return self.params[self._body_param], values[self._body_param]

    def form_arguments(self, values: Sequence[Any]) -> List[Tuple[Param, Any]]:
        """The multipart form parameters that were given."""
        return [(self.params[i], values[i]) for i in self.form_indexes if values[i] is not None]

    def index(self, name: str) -> int:
        """The position of the parameter called ``name`` (its Python name) among ``params``.

        Raises ``ValueError`` when the operation has no such parameter.
        """
        for i, param in enumerate(self.params):
            if param.name == name:
                return i
        raise ValueError(f"{self.method_name}() has no parameter {name!r}")


_Check = Tuple[int, str, bool, bool, bool, Checker]
_STR = frozenset({str})
_STR_OR_NONE = frozenset({str, type(None)})
_NONE = frozenset({type(None)})


def _picker(indexes: Sequence[int]) -> Optional[Callable[[Sequence[Any]], Tuple[Any, ...]]]:
    """A function taking the values at ``indexes`` as a tuple (None for no indexes)."""
    if not indexes:
        return None
    # itemgetter of one index gives the value, not a 1-tuple: ask for it twice.
    return operator.itemgetter(*indexes) if len(indexes) > 1 else operator.itemgetter(indexes[0], indexes[0])


def _are_segments(texts: Tuple[str, ...]) -> bool:
    """Whether each str is sent as one path segment that no server reads as another route."""
    return _NOT_SEGMENTS.isdisjoint(texts) and "%" not in "".join(texts)


def check_header(name: str, value: Any, method: str) -> str:
    """Refuse header names that are not HTTP tokens and values with CR, LF or NUL."""
    if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
        raise ApiValueError(f"{method}(): invalid header name {name!r}")
    text = value if isinstance(value, str) else str(value)
    if _BAD_HEADER_CHARS.search(text):
        raise ApiValueError(f"{method}(): header {name!r} contains CR, LF or NUL, which would split the request")
    return text


# -- encoding helpers -------------------------------------------------------------------------


def _segment(value: Any, safe: str) -> str:
    text = value if isinstance(value, str) else str(value)
    if _UNRESERVED.fullmatch(text):
        return text
    return quote(text, safe=safe)


def _query_value(value: Any) -> str:
    kind = type(value)
    text: str
    if kind is str:
        text = value
    elif kind is int:
        return str(value)  # digits and "-": nothing to encode
    elif value is True:
        return "true"
    elif value is False:
        return "false"
    elif isinstance(value, datetime.datetime):
        text = value.isoformat() if value.tzinfo else value.isoformat() + "Z"
    elif isinstance(value, datetime.date):
        text = value.isoformat()
    else:
        text = value if isinstance(value, str) else str(value)
    if _is_query_plain(text):
        return text
    # "/" stays readable (object paths); everything that delimits a query is encoded.
    return quote(text, safe="/")


def path_safe_chars(configured: str) -> str:
    """The configured ``safe_chars_for_path_param`` minus characters that would split a segment."""
    if not configured:
        return ""
    return "".join(c for c in configured if c not in _PATH_UNSAFE)


# -- argument checkers ------------------------------------------------------------------------


def _type_error(method: str, param: Param, expected: str, value: Any) -> ApiTypeError:
    return ApiTypeError(
        f"{method}() argument '{param.name}' must be {expected}, not {type(value).__name__}",
        path_to_item=[param.name],
    )


def invalid_body_text(method: str, param: Param, error: ValueError) -> str:
    """One line for a body pydantic refused, led by the field and the reason.

    E.g. ``commit_creation.message: Input should be a valid string (commit() argument
    'commit_creation' is not a valid CommitCreation)``; pydantic's own text spans lines.
    """
    what = f"{method}() argument '{param.name}' is not a valid {param.type_name}"
    found: Any = getattr(error, "errors", None)
    details: List[Any] = []
    if callable(found):
        try:
            details = list(found(include_url=False, include_input=False))
        except (TypeError, ValueError):
            details = []
    if not details:
        first_line = str(error).strip().splitlines()[:1]
        return f"{param.name}: {first_line[0]} ({what})" if first_line else what
    first = details[0]
    field = ".".join([param.name, *(str(part) for part in first.get("loc", ()))])
    more = len(details) - 1
    others = f"; and {more} more error{'s' if more > 1 else ''}" if more else ""
    message = " ".join(str(first.get("msg", "invalid")).split())
    return f"{field}: {message}{others} ({what})"


def _make_checker(
    param: Param,
    minimum: Optional[float],
    maximum: Optional[float],
    min_length: Optional[int],
    pattern: Optional[str],
    enum: Optional[Sequence[str]],
) -> Checker:
    kind = param.kind
    compiled = re.compile(pattern) if pattern else None
    allowed = tuple(enum) if enum else None

    def check_str(value: Any, method: str) -> Any:
        if not isinstance(value, str):
            raise _type_error(method, param, "str", value)
        if min_length is not None and len(value) < min_length:
            raise ApiValueError(f"{method}() argument '{param.name}' must have at least {min_length} characters")
        if compiled is not None and not compiled.search(value):
            raise ApiValueError(f"{method}() argument '{param.name}' must match {compiled.pattern!r}, got {value!r}")
        if allowed is not None and value not in allowed:
            raise ApiValueError(f"{method}() argument '{param.name}' must be one of {allowed!r}, got {value!r}")
        return value

    def check_int(value: Any, method: str) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _type_error(method, param, "int", value)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise ApiValueError(
                f"{method}() argument '{param.name}' must be between {minimum} and {maximum}, got {value}"
            )
        return value

    def check_bool(value: Any, method: str) -> Any:
        if not isinstance(value, bool):
            raise _type_error(method, param, "bool", value)
        return value

    def check_list(value: Any, method: str) -> Any:
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise _type_error(method, param, "a list of str", value)
        return list(value)

    def check_datetime(value: Any, method: str) -> Any:
        if not isinstance(value, (datetime.datetime, str)):
            raise _type_error(method, param, "datetime or str", value)
        return value

    def check_body(value: Any, method: str) -> Any:
        try:
            return _types.validate_value(param.type_name, value)
        except ValueError as error:  # pydantic.ValidationError is a ValueError
            raise ApiValueError(invalid_body_text(method, param, error)) from None

    def check_file(value: Any, method: str) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview, str, tuple)) or hasattr(value, "__fspath__"):
            return value
        if hasattr(value, "read") or hasattr(value, "__iter__") or hasattr(value, "__aiter__"):
            return value  # an async iterable: for lakefs_sdk.aio, which streams it
        raise _type_error(method, param, "bytes, a path, a binary file or an iterable of bytes", value)

    checkers: Dict[str, Checker] = {
        "str": check_str,
        "enum": check_str,
        "int": check_int,
        "bool": check_bool,
        "list": check_list,
        "datetime": check_datetime,
        "model": check_body,
        "json": check_body,
        "file": check_file,
    }
    base = checkers.get(kind, check_str)
    if param.location == PATH:
        return _path_checker(param, base)
    if param.location == HEADER:
        return _header_checker(param, base)
    return base


def _path_checker(param: Param, base: Checker) -> Checker:
    def check(value: Any, method: str) -> Any:
        value = base(value, method)
        text = value if isinstance(value, str) else str(value)
        decoded = unquote(text) if "%" in text else text
        if decoded in _NOT_SEGMENTS:
            raise ApiValueError(
                f"{method}() argument '{param.name}' must not be {text!r}: "
                "an empty or dot path segment would address a different endpoint"
            )
        return value

    return check


def _header_checker(param: Param, base: Checker) -> Checker:
    def check(value: Any, method: str) -> Any:
        value = base(value, method)
        check_header(param.wire_name, value, method)
        return value

    return check
