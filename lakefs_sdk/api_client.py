"""``ApiClient``: turns one API method call into one HTTP exchange and its result.

The flow of every call::

    BranchesApi.get_branch(...)              generated: names the Operation, passes arguments
      -> ApiClient.invoke(op, args, options)  check options and arguments, build URL/headers/body
        -> RESTClientObject.send(...)         urllib3, retries, timeouts
      <- ApiClient._result(...)               decode the body once in pydantic-core, or raise
                                              the ApiException subclass for the status (_errors)

An ``ApiClient`` is safe to share between threads: it holds the connection pool and
configuration, and no per-call state. After ``os.fork()`` create a new client in the
child instead of reusing the parent's (its pooled sockets belong to the parent).
"""

from __future__ import annotations

import datetime
import json
import re
import threading
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Sequence, Tuple

from lakefs_sdk import __version__, _types
from lakefs_sdk._endpoint import check_host
from lakefs_sdk._errors import error_response, undecodable_response
from lakefs_sdk._operation import Operation, check_header, path_safe_chars
from lakefs_sdk._options import DEFAULT_OPTIONS, CallOptions, parse_options
from lakefs_sdk._upload import UploadBody, UploadSource
from lakefs_sdk.api_response import ApiResponse
from lakefs_sdk.configuration import COOKIE_SCHEMES, Configuration
from lakefs_sdk.rest import RequestBody, RESTClientObject, RESTResponse

USER_AGENT = f"lakefs-python-sdk/{__version__}"
_CHARSET = re.compile(r"charset=([a-zA-Z0-9_\-]+)")


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


class ApiClient:
    """Sends the requests of all API classes built on it, with one configuration and pool.

    :param configuration: Settings; ``Configuration.get_default()`` when None.
    :param header_name: Name of one extra header sent with every request.
    :param header_value: Value of that header.
    :param cookie: A ``Cookie`` header value sent with every request.
    :param pool_threads: Worker threads for calls made with ``async_req=True``.
    """

    _default: ClassVar[Optional[ApiClient]] = None

    def __init__(
        self,
        configuration: Optional[Configuration] = None,
        header_name: Optional[str] = None,
        header_value: Optional[str] = None,
        cookie: Optional[str] = None,
        pool_threads: int = 1,
    ) -> None:
        self.configuration = configuration if configuration is not None else Configuration.get_default()
        self.pool_threads = pool_threads
        self.rest_client = RESTClientObject(self.configuration)
        self.default_headers: Dict[str, str] = {"User-Agent": USER_AGENT}
        if header_name is not None and header_value is not None:
            self.default_headers[header_name] = check_header(header_name, header_value, "ApiClient")
        self.cookie = cookie
        self.client_side_validation = self.configuration.client_side_validation
        self._executor: Optional[ThreadPoolExecutor] = None
        self._lock = threading.Lock()
        self._basic_auth: Tuple[Optional[str], Optional[str], str] = (None, None, "")

    # -- lifecycle and defaults ------------------------------------------------------------

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the ``async_req`` worker threads and close pooled connections."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        self.rest_client.pool_manager.clear()

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

    # -- calling operations ----------------------------------------------------------------

    def invoke(self, op: Operation, args: Sequence[Any], options: Mapping[str, Any], result: str) -> Any:
        """Call ``op`` with positional ``args`` (in the operation's parameter order).

        ``result`` is ``"data"`` (the decoded body), ``"http_info"`` (an ``ApiResponse``)
        or ``"raw"`` (the unread ``RESTResponse``). Generated methods call this.
        """
        opts = parse_options(op.method_name, options) if options else DEFAULT_OPTIONS
        if opts.async_req:
            return AsyncResult(self._thread_pool().submit(self._call, op, args, opts, result))
        return self._call(op, args, opts, result)

    def _call(self, op: Operation, args: Sequence[Any], opts: CallOptions, result: str) -> Any:
        if op.deprecated:
            warnings.warn(
                f"{op.method_name}() calls {op.operation_id}, which the API marks deprecated",
                DeprecationWarning,
                stacklevel=4,
            )
        values = op.check_arguments(args, self.client_side_validation)
        config = self.configuration
        url = check_host(config.host) + op.url_path(values, path_safe_chars(config.safe_chars_for_path_param))
        query = op.query_string(values)
        if query:
            url += "?" + query
        headers = self._headers(op, values, opts)
        body = self._body(op, values, opts, headers)
        preload = opts.preload_content and result != "raw"
        timeout = self.rest_client.timeout(opts.timeout)
        send = self.rest_client.send
        response = send(op.http_method, url, headers, body, timeout=timeout, preload_content=preload)
        if response.status == 401 and self._refresh_token(op, opts, headers, body):
            response.release_conn()
            response = send(op.http_method, url, headers, body, timeout=timeout, preload_content=preload)
        return self._result(op, values, response, opts, result)

    def _headers(self, op: Operation, values: Sequence[Any], opts: CallOptions) -> Dict[str, str]:
        headers = dict(self.default_headers)
        if self.cookie:
            headers["Cookie"] = self.cookie
        if op.accept:
            headers["Accept"] = op.accept
        headers.update(op.header_values(values))
        if op.auth:
            self._apply_auth(headers, op.auth, opts.request_auth)
        if opts.headers:
            for name, value in opts.headers.items():
                headers[name] = check_header(name, value, op.method_name)
        return headers

    def _body(self, op: Operation, values: Sequence[Any], opts: CallOptions, headers: Dict[str, str]) -> RequestBody:
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
        self, headers: Dict[str, str], schemes: Sequence[str], request_auth: Optional[Mapping[str, Any]]
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
                token = config.current_access_token()
                if token is not None:
                    headers["Authorization"] = check_header("Authorization", "Bearer " + token, "auth")
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

    def _refresh_token(self, op: Operation, opts: CallOptions, headers: Dict[str, str], body: RequestBody) -> bool:
        """After a 401, ask the token provider once for a fresh token; True if there is one to retry with."""
        config = self.configuration
        if config.access_token_provider is None or "jwt_token" not in op.auth or opts.request_auth is not None:
            return False
        if isinstance(body, UploadBody) and not body.can_resend:
            return False
        rejected = headers.get("Authorization")
        with self._lock:  # one refresh for all threads that saw the same rejected token
            fresh = "Bearer " + (config.current_access_token(False) or "")
            if fresh == rejected:
                fresh = "Bearer " + (config.current_access_token(True) or "")
        if fresh == rejected:
            return False
        headers["Authorization"] = check_header("Authorization", fresh, "auth")
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

    # -- results --------------------------------------------------------------------------

    def _result(
        self, op: Operation, values: Sequence[Any], response: RESTResponse, opts: CallOptions, result: str
    ) -> Any:
        status = response.status
        code = str(status)
        if code not in op.responses and not 200 <= status <= 299:
            raise error_response(op, values, response)
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

    def _decode(self, op: Operation, values: Sequence[Any], type_name: Optional[str], response: RESTResponse) -> Any:
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

    def _thread_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=self.pool_threads, thread_name_prefix="lakefs_sdk")
            return self._executor

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


def _charset(response: RESTResponse) -> str:
    match = _CHARSET.search(response.headers.get("Content-Type") or "")
    return match.group(1) if match else "utf-8"
