"""``BaseApiClient``: everything the sync and the asyncio client share, and nothing that waits.

Neutral: no I/O. ``_prepare`` turns a call into a :class:`~lakefs_sdk._request.Request`
(arguments checked, URL, headers, credentials, body); ``_result`` turns a transport's
:class:`~lakefs_sdk._transport.Response` into the call's result, or raises the typed
exception for it. ``lakefs_sdk.api_client.ApiClient`` and ``lakefs_sdk.aio.AsyncApiClient``
subclass it and only add a transport and the steps that wait (sending, asking a token
provider again after a 401).
"""

from __future__ import annotations

import pickle
import re
import warnings
from typing import Any, ClassVar, Dict, FrozenSet, Optional, Sequence, TypeVar, cast

from typing_extensions import Self

from lakefs_sdk import __version__, _types
from lakefs_sdk._auth import CONFIGURED, Credentials, Token
from lakefs_sdk._compat import UpstreamHelpers
from lakefs_sdk._endpoint import check_host
from lakefs_sdk._errors import error_response, identifying_arguments, undecodable_response, unlisted_success
from lakefs_sdk._operation import Operation, check_header, path_safe_chars
from lakefs_sdk._options import CallOptions
from lakefs_sdk._request import Request, ResultKind
from lakefs_sdk._retry import PolicyCache, RetryPolicy
from lakefs_sdk._transport import Response, can_resend
from lakefs_sdk._upload import UploadBody, UploadSource
from lakefs_sdk.api_response import ApiResponse
from lakefs_sdk.configuration import Configuration
from lakefs_sdk.exceptions import ApiConnectionError

USER_AGENT = f"lakefs-python-sdk/{__version__}"
_CHARSET = re.compile(r"charset=([a-zA-Z0-9_\-]+)")
T = TypeVar("T")

RequestBody = Optional[object]
"""A prepared body: None, bytes, or an ``UploadBody`` (the asyncio client wraps the latter)."""


class BaseApiClient(UpstreamHelpers):
    """What the sync and the async client share: settings, request building and response reading.

    :param configuration: Settings; ``Configuration.get_default()`` when None.
    :param header_name: Name of one extra header sent with every request.
    :param header_value: Value of that header.
    :param cookie: A ``Cookie`` header value sent with every request.
    """

    # Frames between the caller of an API method and ``_prepare``, for the deprecation warning.
    _WARNING_DEPTH: ClassVar[int] = 5
    # The client ``get_default()`` returns; each concrete client class declares its own.
    _default: ClassVar[Optional[BaseApiClient]] = None
    # Attributes that belong to the process holding the client (a pool, locks, threads,
    # caches): left out of a pickle and made anew by ``_new_process``.
    _PROCESS_LOCAL: ClassVar[FrozenSet[str]] = frozenset({"_credentials", "_policies"})

    def __init__(
        self,
        configuration: Optional[Configuration] = None,
        header_name: Optional[str] = None,
        header_value: Optional[str] = None,
        cookie: Optional[str] = None,
    ) -> None:
        self.configuration = configuration if configuration is not None else Configuration.get_default()
        self.default_headers: Dict[str, str] = {"User-Agent": USER_AGENT}
        if header_name is not None and header_value is not None:
            self.default_headers[header_name] = check_header(header_name, header_value, type(self).__name__)
        self.cookie = cookie
        self.client_side_validation = self.configuration.client_side_validation
        self._credentials = Credentials(self.configuration)
        self._policies = PolicyCache()

    @property
    def user_agent(self) -> str:
        """The ``User-Agent`` header sent with every request."""
        return self.default_headers["User-Agent"]

    @user_agent.setter
    def user_agent(self, value: str) -> None:
        self.default_headers["User-Agent"] = value

    def set_default_header(self, header_name: str, header_value: str) -> None:
        """Send ``header_name: header_value`` with every request."""
        self.default_headers[header_name] = check_header(header_name, header_value, "set_default_header")

    def retry_policy(self) -> RetryPolicy:
        """The retry policy of the current configuration (the default transports retry by it too)."""
        return self._policies.get(self.configuration)

    # -- the default client ----------------------------------------------------------------

    @classmethod
    def get_default(cls) -> Self:
        """The client API classes use when given none; created on first use."""
        default = cls._default
        if default is None:
            default = cls._default = cls()
        return cast(Self, default)

    @classmethod
    def set_default(cls, default: Optional[Self]) -> None:
        """Set the client API classes use when given none (None: make a new one on next use)."""
        cls._default = default

    # -- pickling: the settings travel, what belongs to this process does not ----------------

    def __getstate__(self) -> Dict[str, Any]:
        check_picklable(self.configuration, type(self).__name__)
        return {k: v for k, v in self.__dict__.items() if k not in self._PROCESS_LOCAL}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._new_process()

    def _new_process(self) -> None:
        """Make what belongs to one process: after unpickling, and (sync client) after ``fork()``."""
        self._credentials = Credentials(self.configuration)
        self._policies = PolicyCache()

    # -- preparing a request ----------------------------------------------------------------

    def _prepare(
        self, op: Operation[Any], values: Sequence[Any], opts: CallOptions, token: Token = CONFIGURED
    ) -> Request:
        """The request for a call of ``op`` with checked argument ``values`` (see ``Operation.check_arguments``).

        ``token`` is the bearer token to send, when the caller already asked the token
        provider for it (the async client awaits a coroutine provider first).
        """
        config = self.configuration
        safe = config.safe_chars_for_path_param
        url = check_host(config.host) + op.url_path(values, path_safe_chars(safe) if safe else "")
        query = op.query_string(values)
        if query:
            url += "?" + query
        headers = self.default_headers.copy()
        cookie = self.cookie
        if cookie:
            headers["Cookie"] = cookie
        if op.accept:
            headers["Accept"] = op.accept
        if op.header_names:
            headers.update(op.header_values(values))
        if op.auth:
            self._credentials.apply(headers, op.auth, opts.request_auth, token)
        if opts.headers:
            for name, value in opts.headers.items():
                headers[name] = check_header(name, value, op.method_name)
        body = self._body(op, values, opts, headers) if op.has_content or opts.content_type else None
        return Request(op.http_method, url, headers, body)

    def _check(self, op: Operation[Any], args: Sequence[Any]) -> Sequence[Any]:
        """The checked argument values of a call of ``op`` (warns first when ``op`` is deprecated)."""
        if op.deprecated:
            warnings.warn(
                f"{op.method_name}() calls {op.operation_id}, which the API marks deprecated",
                DeprecationWarning,
                stacklevel=self._WARNING_DEPTH,
            )
        return op.check_arguments(args, self.client_side_validation)

    def _body(
        self, op: Operation[Any], values: Sequence[Any], opts: CallOptions, headers: Dict[str, str]
    ) -> RequestBody:
        body_param, body_value = op.body_argument(values)
        if body_param is not None and body_value is not None:
            headers["Content-Type"] = opts.content_type or "application/json"
            return _types.encode_json(body_value)
        forms = op.form_arguments(values) if op.form_indexes else None
        if not forms:
            # No content: no body at all (lakeFS stores an upload without one as a zero-byte
            # object, and refuses a multipart body without a part), as upstream sends.
            if opts.content_type and not opts.content_type.startswith("multipart/"):
                headers["Content-Type"] = opts.content_type
            return None
        raw = opts.content_type is not None and not opts.content_type.startswith("multipart/")
        field, content = forms[0]
        upload = UploadBody(
            UploadSource(content), multipart_field=None if raw else field.wire_name, progress=opts.progress
        )
        headers["Content-Type"] = opts.content_type if raw and opts.content_type else upload.content_type
        if upload.length is not None:
            headers["Content-Length"] = str(upload.length)
        return upload

    # -- a refused token -------------------------------------------------------------------

    def _uses_token_provider(self, op: Operation[Any], opts: CallOptions) -> bool:
        """Whether a call of ``op`` asks ``Configuration.access_token_provider`` for its token."""
        return (
            self.configuration.access_token_provider is not None
            and "jwt_token" in op.auth
            and opts.request_auth is None
        )

    def _may_refresh(self, op: Operation[Any], opts: CallOptions, body: object) -> bool:
        """After a 401: whether a fresh token may be asked for and the request sent again."""
        return self._uses_token_provider(op, opts) and can_resend(body)

    def _use_fresh_token(self, headers: Dict[str, str], fresh: Optional[str]) -> bool:
        """Put the refreshed token into ``headers``; False when it is the rejected one again."""
        value = self._credentials.bearer_header(fresh or "")
        if value == headers.get("Authorization"):
            return False
        headers["Authorization"] = value
        return True

    # -- reading a response ---------------------------------------------------------------

    def _result(
        self, op: Operation[Any], values: Sequence[Any], response: Response, opts: CallOptions, result: str
    ) -> Any:
        """The call's result from ``response``, or the exception to raise.

        ``result`` is a ``ResultKind``: the decoded body (``T`` of ``Operation[T]``), an
        ``ApiResponse[T]`` or the response itself. An error status needs the whole body
        (``response.data``); a success returned with ``_preload_content=False`` or as
        ``RAW`` is returned unread.
        """
        status = response.status
        type_name = op.types_by_status.get(status, "")  # "": not listed (no type is named "")
        if type_name == "":
            if not 200 <= status <= 299:
                raise error_response(op, values, response)
            unlisted = unlisted_success(op, values, response)  # a web page is no success
            if unlisted is not None:
                raise unlisted
            type_name = None
        if result == ResultKind.RAW:
            return response
        data_only = result == ResultKind.DATA or opts.data_only
        if not opts.preload_content:
            return response if data_only else ApiResponse(status, response.headers, None, response, response.retries)
        data = None if type_name is None else self._decode(op, values, type_name, response)
        return data if data_only else ApiResponse(status, response.headers, data, response.data, response.retries)

    def _decode(self, op: Operation[Any], values: Sequence[Any], type_name: str, response: Response) -> Any:
        """The body of ``response`` as ``type_name`` (a name of ``_types``)."""
        body = response.data
        if type_name in _types.BINARY_TYPES:
            return body
        try:
            if type_name == "str":
                return body.decode(_charset(response))
            return _types.json_decoder(type_name)(body)
        except (ValueError, LookupError) as error:  # ValidationError, UnicodeDecodeError, unknown charset
            raise undecodable_response(op, values, type_name, response, error) from None

    @staticmethod
    def _name_the_call(error: ApiConnectionError, op: Operation[Any], values: Sequence[Any]) -> None:
        """Make ``error`` (no response from the transport) say which call failed, as an error status does.

        Sets ``operation``, ``api_method`` and the identifying ``arguments``, so ``str(error)``
        starts with the call (``get_branch(repository='r', branch='b') failed: no response:
        GET ...``). An error a transport already named keeps its names.
        """
        if error.operation is None and error.api_method is None:
            error.operation = op.operation_id
            error.api_method = op.method_name
            error.arguments = identifying_arguments(op, values)

    @staticmethod
    def _is_error(op: Operation[Any], status: int) -> bool:
        """Whether ``status`` answers ``op`` with an error (raised by ``_result``)."""
        return status not in op.types_by_status and not 200 <= status <= 299


# Settings of a Configuration that hold resources of this process, which no pickler can take.
_HANDLER_SETTINGS = ("logger_stream_handler", "logger_file_handler")


def check_picklable(configuration: Configuration, what: str) -> None:
    """Refuse, with a clear message, to pickle a client whose configuration holds a logging handler.

    A handler (``logger_file=`` makes one) owns an open file and a lock of this process: no
    pickler can take it. Token providers and hooks are left to the pickler: ``pickle`` takes
    a module-level function or a picklable callable object, cloudpickle (used by Dask and
    Spark) also a lambda or a closure.
    """
    for name in _HANDLER_SETTINGS:
        if getattr(configuration, name, None) is not None:
            raise pickle.PicklingError(
                f"cannot pickle this {what}: Configuration.{name} is a logging handler of this process "
                "(set by Configuration.logger_file or by hand); set it in the process that unpickles the "
                "client instead, or log through the 'lakefs_sdk' logger"
            )


def _charset(response: Response) -> str:
    match = _CHARSET.search(response.headers.get("Content-Type") or "")
    return match.group(1) if match else "utf-8"
