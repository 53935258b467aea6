"""The clients: turn one API method call into one HTTP exchange and its result.

The flow of every call::

    BranchesApi.get_branch(...)               generated: names the Operation, passes arguments
      -> ApiClient.invoke(op, args, options)   parse the options
        -> BaseApiClient._prepare(...)         check arguments; build URL, headers, auth, body
        -> RESTClientObject.send(...)          urllib3, retries, timeouts
      <- BaseApiClient._result(...)            decode the body once in pydantic-core, or raise
                                               the ApiException subclass for the status (_errors)

``BaseApiClient`` holds everything that does not wait on I/O: preparing a request and
reading a response. ``ApiClient`` (here) and ``lakefs_sdk.aio.AsyncApiClient`` only add a
transport and the few steps that wait (sending, asking a token provider after a 401).

An ``ApiClient`` is safe to share between threads: it holds the connection pool and
configuration, and no per-call state.

Processes: a client pickles (for ``multiprocessing``, Dask, Spark ...) as its settings
alone: the configuration (credentials included), default headers and cookie; its pool,
locks and threads stay behind, and the unpickled client builds its own pool on first use.
A client used in a process ``fork()`` made notices the new process id on its next call and
does the same, never sending on the parent's pooled sockets.
"""

from __future__ import annotations

import datetime
import inspect
import json
import os
import pickle
import re
import threading
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar, Dict, FrozenSet, List, Literal, Mapping, Optional, Sequence, Tuple, TypeVar, overload

from lakefs_sdk import __version__, _types
from lakefs_sdk._endpoint import check_host
from lakefs_sdk._errors import error_response, undecodable_response, unlisted_success
from lakefs_sdk._operation import Operation, check_header, path_safe_chars
from lakefs_sdk._options import DEFAULT_OPTIONS, CallOptions, parse_options
from lakefs_sdk._request import Request, ResultKind
from lakefs_sdk._upload import UploadBody, UploadSource
from lakefs_sdk.api_response import ApiResponse
from lakefs_sdk.configuration import COOKIE_SCHEMES, Configuration
from lakefs_sdk.exceptions import ApiTypeError, ApiValueError
from lakefs_sdk.rest import RequestBody, RESTClientObject, RESTResponse

USER_AGENT = f"lakefs-python-sdk/{__version__}"
_CHARSET = re.compile(r"charset=([a-zA-Z0-9_\-]+)")
T = TypeVar("T")


class AsyncResult:
    """Handle of a call made with ``async_req=True``; ``get()`` waits for its result."""

    def __init__(self, future: Future[Any]) -> None:
        self._future = future

    def get(self, timeout: Optional[float] = None) -> Any:
        """The call's result; raises what the call raised."""
        return self._future.result(timeout)

    def wait(self, timeout: Optional[float] = None) -> None:
        """Wait until the call has finished (or ``timeout`` seconds passed)."""
        self._future.exception(timeout)

    def ready(self) -> bool:
        """True once the call has finished."""
        return self._future.done()

    def successful(self) -> bool:
        """True if the call finished without raising (``ValueError`` if not finished yet)."""
        if not self._future.done():
            raise ValueError("the call has not finished")
        return self._future.exception() is None


# ``_prepare(token=...)`` default: read the bearer token from the configuration.
CONFIGURED: Any = object()

Prepared = Tuple[List[Any], str, Dict[str, str], RequestBody]
"""What ``_prepare`` returns: checked argument values, URL, headers and body."""


class BaseApiClient:
    """What the sync and the async client share: settings, request building and response reading.

    Nothing here waits on I/O. ``_prepare`` turns a call into the parts of a request;
    ``_result`` turns the response into the call's result or exception. Subclasses own a
    transport (``rest_client``) and send.

    :param configuration: Settings; ``Configuration.get_default()`` when None.
    :param header_name: Name of one extra header sent with every request.
    :param header_value: Value of that header.
    :param cookie: A ``Cookie`` header value sent with every request.
    """

    # Frames between the caller of an API method and ``_prepare``, for the deprecation warning.
    _WARNING_DEPTH: ClassVar[int] = 5

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
        self._basic_auth: Tuple[Optional[str], Optional[str], str] = (None, None, "")

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

    # -- pickling: the settings travel, what belongs to this process does not ----------------

    # Attributes that belong to the process holding the client (a pool, locks, threads,
    # caches): left out of a pickle and made anew by ``_new_process``.
    _PROCESS_LOCAL: ClassVar[FrozenSet[str]] = frozenset({"_basic_auth"})

    def __getstate__(self) -> Dict[str, Any]:
        check_picklable(self.configuration, type(self).__name__)
        return {k: v for k, v in self.__dict__.items() if k not in self._PROCESS_LOCAL}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._new_process()

    def _new_process(self) -> None:
        """Make what belongs to one process: after unpickling, and (sync client) after ``fork()``."""
        self._basic_auth = (None, None, "")

    # -- preparing a request ----------------------------------------------------------------

    def _prepare(self, op: Operation[Any], args: Sequence[Any], opts: CallOptions, token: Any = CONFIGURED) -> Prepared:
        """Check the arguments of a call to ``op`` and build its URL, headers and body.

        ``token`` is the bearer token to send, when the caller already asked the token
        provider for it (the async client awaits a coroutine provider first).
        """
        if op.deprecated:
            warnings.warn(
                f"{op.method_name}() calls {op.operation_id}, which the API marks deprecated",
                DeprecationWarning,
                stacklevel=self._WARNING_DEPTH,
            )
        values = op.check_arguments(args, self.client_side_validation)
        config = self.configuration
        url = check_host(config.host) + op.url_path(values, path_safe_chars(config.safe_chars_for_path_param))
        query = op.query_string(values)
        if query:
            url += "?" + query
        headers = dict(self.default_headers)
        if self.cookie:
            headers["Cookie"] = self.cookie
        if op.accept:
            headers["Accept"] = op.accept
        headers.update(op.header_values(values))
        if op.auth:
            self._apply_auth(headers, op.auth, opts.request_auth, token)
        if opts.headers:
            for name, value in opts.headers.items():
                headers[name] = check_header(name, value, op.method_name)
        return values, url, headers, self._body(op, values, opts, headers)

    def _body(
        self, op: Operation[Any], values: Sequence[Any], opts: CallOptions, headers: Dict[str, str]
    ) -> RequestBody:
        body_param, body_value = op.body_argument(values)
        if body_param is not None and body_value is not None:
            headers["Content-Type"] = opts.content_type or "application/json"
            return _types.encode_json(body_value)
        forms = op.form_arguments(values)
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

    # -- authentication -------------------------------------------------------------------

    def _apply_auth(
        self,
        headers: Dict[str, str],
        schemes: Sequence[str],
        request_auth: Optional[Mapping[str, Any]],
        token: Any = CONFIGURED,
    ) -> None:
        if request_auth is not None:
            _apply_auth_setting(headers, None, request_auth)
            return
        config = self.configuration
        cookies: List[str] = []
        for scheme in schemes:
            if scheme == "basic_auth":
                if config.username is not None and config.password is not None:
                    headers["Authorization"] = self._basic_token(config.username, config.password)
            elif scheme == "jwt_token":
                bearer = token_text(config.current_access_token() if token is CONFIGURED else token)
                if bearer is not None:
                    headers["Authorization"] = check_header("Authorization", "Bearer " + bearer, "auth")
            elif scheme in config.api_key:
                value = config.get_api_key_with_prefix(scheme)
                if value:
                    cookies.append(_cookie(COOKIE_SCHEMES[scheme], value))
        if cookies:
            existing = headers.get("Cookie")
            headers["Cookie"] = "; ".join(([existing] if existing else []) + cookies)

    def _basic_token(self, username: str, password: str) -> str:
        cached_user, cached_password, token = self._basic_auth
        if cached_user != username or cached_password != password:
            token = check_header("Authorization", self.configuration.get_basic_auth_token(), "auth")
            self._basic_auth = (username, password, token)
        return token

    def _uses_token_provider(self, op: Operation[Any], opts: CallOptions) -> bool:
        """Whether a call of ``op`` asks ``Configuration.access_token_provider`` for its token."""
        return (
            self.configuration.access_token_provider is not None
            and "jwt_token" in op.auth
            and opts.request_auth is None
        )

    def _may_refresh(self, op: Operation[Any], opts: CallOptions, body: RequestBody) -> bool:
        """After a 401: whether a fresh token may be asked for and the request sent again."""
        if not self._uses_token_provider(op, opts):
            return False
        return not isinstance(body, UploadBody) or body.can_resend

    @staticmethod
    def _use_fresh_token(headers: Dict[str, str], fresh: Optional[str]) -> bool:
        """Put the refreshed token into ``headers``; False when it is the rejected one again."""
        value = "Bearer " + (fresh or "")
        if value == headers.get("Authorization"):
            return False
        headers["Authorization"] = check_header("Authorization", value, "auth")
        return True

    def update_params_for_auth(
        self,
        headers: Dict[str, str],
        queries: Optional[List[Tuple[str, str]]],
        auth_settings: Optional[Sequence[str]],
        resource_path: Optional[str],
        method: Optional[str],
        body: Any,
        request_auth: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """Add the configured credentials for ``auth_settings`` to ``headers`` / ``queries``.

        Kept for code that sends requests itself through ``rest_client.pool_manager``.
        """
        if not auth_settings:
            return
        if request_auth:
            _apply_auth_setting(headers, queries, request_auth)
            return
        configured = self.configuration.auth_settings()
        for name in auth_settings:
            setting = configured.get(name)
            if setting:
                _apply_auth_setting(headers, queries, setting)

    # -- reading a response ---------------------------------------------------------------

    def _result(self, op: Operation[Any], values: Sequence[Any], response: Any, opts: CallOptions, result: str) -> Any:
        """The call's result from ``response`` (a transport response), or the exception to raise.

        An error status needs the whole body (``response.data``); a success returned with
        ``_preload_content=False`` or as ``"raw"`` is returned unread.
        """
        status = response.status
        code = str(status)
        if code not in op.responses:
            if not 200 <= status <= 299:
                raise error_response(op, values, response)
            unlisted = unlisted_success(op, values, response)  # a web page is no success
            if unlisted is not None:
                raise unlisted
        if result == "raw":
            return response
        if not opts.preload_content:
            if result == "data" or opts.data_only:
                return response
            return ApiResponse(status, response.headers, None, response, response.retries)
        type_name = op.responses.get(code)
        data = self._decode(op, values, type_name, response)
        if result == "data" or opts.data_only:
            return data
        return ApiResponse(status, response.headers, data, response.data, response.retries)

    def _decode(self, op: Operation[Any], values: Sequence[Any], type_name: Optional[str], response: Any) -> Any:
        body = response.data
        if type_name is None:
            return None
        if type_name in _types.BINARY_TYPES:
            return body
        try:
            if type_name == "str":
                return body.decode(_charset(response))
            return _types.decode_json(type_name, body)
        except (ValueError, LookupError) as error:  # ValidationError, UnicodeDecodeError, unknown charset
            raise undecodable_response(op, values, type_name, response, error) from None

    @staticmethod
    def _is_error(op: Operation[Any], status: int) -> bool:
        """Whether ``status`` answers ``op`` with an error (raised by ``_result``)."""
        return str(status) not in op.responses and not 200 <= status <= 299

    # -- helpers kept from the upstream ApiClient -----------------------------------------

    def select_header_accept(self, accepts: Sequence[str]) -> Optional[str]:
        """The ``Accept`` value for a list of media types: a JSON one if any, else the first."""
        if not accepts:
            return None
        return next((a for a in accepts if "json" in a.lower()), accepts[0])

    def select_header_content_type(self, content_types: Sequence[str]) -> Optional[str]:
        """The ``Content-Type`` for a list of media types: a JSON one if any, else the first."""
        return self.select_header_accept(content_types)

    def sanitize_for_serialization(self, obj: Any) -> Any:
        """Convert models, dates, lists and dicts into plain JSON-ready values."""
        if obj is None or isinstance(obj, (str, int, float, bool, bytes)):
            return obj
        if isinstance(obj, (list, tuple)):
            return type(obj)(self.sanitize_for_serialization(v) for v in obj)
        if isinstance(obj, (datetime.datetime, datetime.date)):
            return obj.isoformat()
        if isinstance(obj, dict):
            return {k: self.sanitize_for_serialization(v) for k, v in obj.items()}
        to_dict = getattr(obj, "to_dict", None)
        if to_dict is not None:
            return self.sanitize_for_serialization(to_dict())
        return obj

    def deserialize(self, response: Any, response_type: str) -> Any:
        """Decode a response (or its body as str/bytes) as ``response_type``, e.g. ``"Ref"``."""
        body = response if isinstance(response, (str, bytes, bytearray)) else response.data
        if response_type in _types.BINARY_TYPES:
            return body
        if isinstance(body, str):
            body = body.encode("utf-8")
        if response_type == "str":
            return json.loads(body) if body[:1] == b'"' else body.decode("utf-8")
        return _types.decode_json(response_type, bytes(body))


class ApiClient(BaseApiClient):
    """Sends the requests of all API classes built on it, with one configuration and pool.

    :param configuration: Settings; ``Configuration.get_default()`` when None.
    :param header_name: Name of one extra header sent with every request.
    :param header_value: Value of that header.
    :param cookie: A ``Cookie`` header value sent with every request.
    :param pool_threads: Worker threads for calls made with ``async_req=True``.

    A client pickles as its settings (see the module docstring): the pickle carries the
    credentials of its configuration, so treat it as a secret. It is used again after
    ``fork()`` without any step of yours: the child builds its own pool.
    """

    _default: ClassVar[Optional[ApiClient]] = None
    _PROCESS_LOCAL: ClassVar[FrozenSet[str]] = BaseApiClient._PROCESS_LOCAL | {"_rest", "_pid", "_executor", "_lock"}

    def __init__(
        self,
        configuration: Optional[Configuration] = None,
        header_name: Optional[str] = None,
        header_value: Optional[str] = None,
        cookie: Optional[str] = None,
        pool_threads: int = 1,
    ) -> None:
        super().__init__(configuration, header_name, header_value, cookie)
        self.pool_threads = pool_threads
        self._executor: Optional[ThreadPoolExecutor] = None
        self._lock = threading.Lock()
        # Built now, not on first use: a verify_ssl=False warning then points at this line's caller.
        self._rest: Optional[RESTClientObject] = RESTClientObject(self.configuration)
        self._pid = os.getpid()

    # -- the transport of this process -----------------------------------------------------

    @property
    def rest_client(self) -> RESTClientObject:
        """The transport and its connection pool, this process's own (rebuilt after ``fork()``)."""
        rest = self._rest
        if rest is None or self._pid != os.getpid():
            rest = self._own_transport()
        return rest

    @rest_client.setter
    def rest_client(self, value: RESTClientObject) -> None:
        self._rest = value
        self._pid = os.getpid()

    def _own_transport(self) -> RESTClientObject:
        inherited = self._rest if self._pid != os.getpid() else None
        self._new_process()
        if inherited is not None:
            # Closing the inherited sockets closes this process's descriptors only: the
            # parent's connections stay open (close() sends nothing while it holds them).
            inherited.pool_manager.clear()
        rest = self._rest
        assert rest is not None
        return rest

    def _new_process(self) -> None:
        super()._new_process()
        # A lock another thread held at fork() time would stay locked here for ever, and
        # the parent's worker threads do not exist here: new ones, made when needed.
        self._lock = threading.Lock()
        self._executor = None
        self._rest = RESTClientObject(self.configuration)
        self._pid = os.getpid()

    # -- lifecycle and defaults ------------------------------------------------------------

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the ``async_req`` worker threads and close pooled connections."""
        if self._pid != os.getpid():
            self._own_transport()  # closes what this process inherited; nothing of the parent's
            return
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        if self._rest is not None:
            self._rest.pool_manager.clear()

    @classmethod
    def get_default(cls) -> ApiClient:
        """The client API classes use when given none; created on first use."""
        if cls._default is None:
            cls._default = ApiClient()
        return cls._default

    @classmethod
    def set_default(cls, default: Optional[ApiClient]) -> None:
        """Set the client API classes use when given none."""
        cls._default = default

    # -- calling operations ----------------------------------------------------------------

    @overload
    def invoke(
        self, op: Operation[T], args: Sequence[Any], options: Mapping[str, Any], result: Literal[ResultKind.DATA]
    ) -> T: ...

    @overload
    def invoke(
        self, op: Operation[T], args: Sequence[Any], options: Mapping[str, Any], result: Literal[ResultKind.HTTP_INFO]
    ) -> ApiResponse[T]: ...

    @overload
    def invoke(
        self, op: Operation[Any], args: Sequence[Any], options: Mapping[str, Any], result: Literal[ResultKind.RAW]
    ) -> RESTResponse: ...

    @overload
    def invoke(self, op: Operation[Any], args: Sequence[Any], options: Mapping[str, Any], result: str) -> Any: ...

    def invoke(self, op: Operation[Any], args: Sequence[Any], options: Mapping[str, Any], result: str) -> Any:
        """Call ``op`` with positional ``args`` (in the operation's parameter order).

        ``result`` is ``ResultKind.DATA`` (the decoded body), ``ResultKind.HTTP_INFO`` (an
        ``ApiResponse``) or ``ResultKind.RAW`` (the unread ``RESTResponse``). Generated
        methods call this.
        """
        opts = parse_options(op.method_name, options) if options else DEFAULT_OPTIONS
        if opts.async_req:
            return AsyncResult(self._thread_pool().submit(self._call, op, args, opts, result))
        return self._call(op, args, opts, result)

    def _call(self, op: Operation[Any], args: Sequence[Any], opts: CallOptions, result: str) -> Any:
        values, url, headers, body = self._prepare(op, args, opts)
        request = Request(op.http_method, url, headers, body)
        preload = opts.preload_content and result != "raw"
        rest = self.rest_client
        timeout = rest.timeout(opts.timeout)
        response = rest.send(request, timeout=timeout, preload_content=preload)
        if response.status == 401 and self._refresh_token(op, opts, headers, body):
            response.release_conn()
            response = rest.send(request, timeout=timeout, preload_content=preload)
        return self._result(op, values, response, opts, result)

    def _refresh_token(self, op: Operation[Any], opts: CallOptions, headers: Dict[str, str], body: RequestBody) -> bool:
        """After a 401, ask the token provider once for a fresh token; True if there is one to retry with."""
        if not self._may_refresh(op, opts, body):
            return False
        config = self.configuration
        rejected = headers.get("Authorization")
        with self._lock:  # one refresh for all threads that saw the same rejected token
            fresh = token_text(config.current_access_token(False))
            if "Bearer " + (fresh or "") == rejected:
                fresh = token_text(config.current_access_token(True))
        return self._use_fresh_token(headers, fresh)

    def _thread_pool(self) -> ThreadPoolExecutor:
        if self._pid != os.getpid():
            self._own_transport()
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=self.pool_threads, thread_name_prefix="lakefs_sdk")
            return self._executor


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


def token_text(token: Any) -> Optional[str]:
    """A token provider's answer as the token to send; refuses anything but a str (or None)."""
    if token is None or isinstance(token, str):
        return token
    close = getattr(token, "close", None)
    if inspect.iscoroutine(token) and callable(close):
        close()  # never awaited by design: do not let it warn at garbage collection
        raise ApiValueError(
            "Configuration.access_token_provider returned a coroutine: a coroutine function "
            "works as a token provider of lakefs_sdk.aio.AsyncApiClient, not of ApiClient"
        )
    raise ApiTypeError(f"Configuration.access_token_provider must return a str, not {type(token).__name__}")


def _apply_auth_setting(
    headers: Dict[str, str], queries: Optional[List[Tuple[str, str]]], setting: Mapping[str, Any]
) -> None:
    location, key, value = setting.get("in"), setting.get("key"), setting.get("value")
    if value is None or key is None:
        return
    if location == "cookie":
        headers["Cookie"] = _cookie(key, value)
    elif location == "header":
        headers[key] = check_header(key, value, "auth")
    elif location == "query" and queries is not None:
        queries.append((key, value))


def _cookie(name: str, value: str) -> str:
    """``name=value``, unless the value is already a complete cookie pair."""
    return value if value.startswith(name + "=") else f"{name}={value}"


def _charset(response: Any) -> str:
    match = _CHARSET.search(response.headers.get("Content-Type") or "")
    return match.group(1) if match else "utf-8"
