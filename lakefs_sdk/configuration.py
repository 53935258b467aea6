"""``Configuration``: where the server is, how to authenticate, and how to talk to it.

One ``Configuration`` is shared by an ``ApiClient`` and all API classes built on it.
Constructor arguments and attribute names are those of the upstream ``lakefs-sdk``;
retries, timeouts and token providers are additions (keyword-only).
"""

from __future__ import annotations

import copy
import inspect
import logging
import multiprocessing
import sys
from typing import Any, Awaitable, Callable, ClassVar, Dict, List, Optional, Tuple, Union

import urllib3

from lakefs_sdk import __version__, _log_state
from lakefs_sdk._endpoint import API_BASE_PATH, normalize_endpoint
from lakefs_sdk._redact import REDACTED, redact_url

DEFAULT_HOST = "http://localhost:8000" + API_BASE_PATH

DEFAULT_MAX_RETRIES = 2
DEFAULT_RETRY_BACKOFF = 0.5  # seconds before the first retry; doubles each time
DEFAULT_RETRY_BACKOFF_MAX = 8.0  # cap on the wait between two attempts
DEFAULT_RETRY_AFTER_MAX = 60.0  # cap on a server-sent Retry-After
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0

# Called as provider(refresh) for the bearer token: refresh=False before each request; after a
# 401, once more with refresh=False, and with refresh=True only if that returns the refused token.
# An async client (lakefs_sdk.aio) also takes a coroutine function.
AccessTokenProvider = Callable[[bool], Union[str, Awaitable[str]]]

_PACKAGE_LOGGER = "lakefs_sdk"


class Configuration:
    """Connection, authentication and transport settings.

    :param host: Server URL including the base path, e.g. ``"https://lakefs.example.com/api/v1"``.
    :param api_key: Session cookies by scheme name: ``{"cookie_auth": "<internal_auth_session>"}``
        (also ``oidc_auth``, ``saml_auth``).
    :param api_key_prefix: Optional prefix per ``api_key`` entry.
    :param username: Access key ID, for HTTP basic auth.
    :param password: Secret access key, for HTTP basic auth.
    :param access_token: A JWT from ``login``/``sts_login``, sent as a bearer token.
    :param ssl_ca_cert: Path of a CA bundle to verify the server's certificate with.
    :param access_token_provider: Called as ``provider(refresh)`` for the bearer token, with
        ``refresh=False`` before each request. After a 401 the request is sent once more with
        a new token: the provider is asked again with ``refresh=False`` and, only if it returns
        the token just refused, with ``refresh=True``. A provider that hands out a new token on
        every call is thus never asked to refresh. ``lakefs_sdk.aio.AsyncApiClient`` also
        takes a coroutine function (``async def provider(refresh): ...``).
    :param max_retries: Retries after the first attempt for transient failures (0 disables).
    :param connect_timeout: Seconds to wait for a connection.
    :param read_timeout: Seconds to wait for each read of the response.
    """

    _default: ClassVar[Optional[Configuration]] = None

    def __init__(
        self,
        host: Optional[str] = None,
        api_key: Optional[Dict[str, str]] = None,
        api_key_prefix: Optional[Dict[str, str]] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        access_token: Optional[str] = None,
        server_index: Optional[int] = None,
        server_variables: Optional[Dict[str, str]] = None,
        server_operation_index: Optional[Dict[str, int]] = None,
        server_operation_variables: Optional[Dict[str, Dict[str, str]]] = None,
        ssl_ca_cert: Optional[str] = None,
        *,
        access_token_provider: Optional[AccessTokenProvider] = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_backoff: float = DEFAULT_RETRY_BACKOFF,
        retry_backoff_max: float = DEFAULT_RETRY_BACKOFF_MAX,
        retry_after_max: float = DEFAULT_RETRY_AFTER_MAX,
        connect_timeout: Optional[float] = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: Optional[float] = DEFAULT_READ_TIMEOUT,
    ) -> None:
        self._base_path = host if host is not None else DEFAULT_HOST
        self.server_index = server_index
        self.server_variables = server_variables or {}
        self.server_operation_index = server_operation_index or {}
        self.server_operation_variables = server_operation_variables or {}

        # Authentication.
        self.api_key: Dict[str, str] = dict(api_key) if api_key else {}
        self.api_key_prefix: Dict[str, str] = dict(api_key_prefix) if api_key_prefix else {}
        self.refresh_api_key_hook: Optional[Callable[[Configuration], None]] = None
        self.username = username
        self.password = password
        self.access_token = access_token
        self.access_token_provider = access_token_provider

        # Retries and timeouts.
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self.retry_backoff_max = retry_backoff_max
        self.retry_after_max = retry_after_max
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout

        # TLS.
        self.verify_ssl = True
        self.ssl_ca_cert = ssl_ca_cert
        self.ca_cert_data: Optional[Union[str, bytes]] = None
        self.cert_file: Optional[str] = None
        self.key_file: Optional[str] = None
        self.assert_hostname: Optional[Union[str, bool]] = None
        self.tls_server_name: Optional[str] = None

        # Connection pool and proxy.
        self.connection_pool_maxsize = multiprocessing.cpu_count() * 5
        self.proxy: Optional[str] = None
        self.proxy_headers: Optional[Dict[str, str]] = None
        self.socket_options: Optional[List[Tuple[int, int, int]]] = None

        # Request encoding.
        self.safe_chars_for_path_param = ""
        self.client_side_validation = True
        self.datetime_format = "%Y-%m-%dT%H:%M:%S.%f%z"
        self.date_format = "%Y-%m-%d"
        self.temp_folder_path: Optional[str] = None

        # Logging: everything goes to the "lakefs_sdk" logger, with credentials masked.
        self.logger = {"package_logger": logging.getLogger(_PACKAGE_LOGGER)}
        self.logger_format = "%(asctime)s %(levelname)s %(message)s"  # also sets logger_formatter
        self.logger_stream_handler: Optional[logging.Handler] = None
        self.logger_file_handler: Optional[logging.Handler] = None
        self._logger_file: Optional[str] = None
        self._debug = False

    # -- upstream compatibility: the `retries` attribute configured urllib3's Retry ----------

    @property
    def retries(self) -> Optional[int]:
        """Alias of ``max_retries`` (the upstream name); ``None`` reads as the default."""
        return self.max_retries

    @retries.setter
    def retries(self, value: Union[int, urllib3.Retry, None]) -> None:
        if value is None:
            self.max_retries = DEFAULT_MAX_RETRIES
        elif isinstance(value, urllib3.Retry):
            self.max_retries = value.total if isinstance(value.total, int) else DEFAULT_MAX_RETRIES
        else:
            self.max_retries = int(value)

    # -- defaults ---------------------------------------------------------------------------

    @classmethod
    def set_default(cls, default: Optional[Configuration]) -> None:
        """Set the configuration that ``Configuration.get_default()`` and a bare ``ApiClient()`` use."""
        cls._default = default

    @classmethod
    def get_default(cls) -> Configuration:
        """Return the default configuration, creating it on first use."""
        if cls._default is None:
            cls._default = cls()
        return cls._default

    @classmethod
    def get_default_copy(cls) -> Configuration:
        """Return a deep copy of the default configuration (upstream name)."""
        return copy.deepcopy(cls.get_default())

    @classmethod
    def from_env(cls, **overrides: Any) -> Configuration:
        """Build a configuration the way ``lakectl`` finds its settings.

        Reads ``LAKECTL_SERVER_ENDPOINT_URL``, ``LAKECTL_CREDENTIALS_ACCESS_KEY_ID`` and
        ``LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY``; whatever they leave unset comes from
        ``~/.lakectl.yaml`` (or the file named by ``LAKECTL_CONFIG_FILE``). Keyword
        arguments override both (``config_file=`` names another file). Raises
        ``LakectlConfigError`` naming the file and key when a setting cannot be found.
        See :mod:`lakefs_sdk.lakectl`.
        """
        from lakefs_sdk.lakectl import SETTING_NAMES, read_settings

        config_file = overrides.pop("config_file", None)
        given = {k: overrides.pop(k) for k in SETTING_NAMES if k in overrides}
        settings = read_settings(config_file) if len(given) < len(SETTING_NAMES) else {}
        settings.update(given)
        return cls(
            host=normalize_endpoint(settings["host"]),
            username=settings.get("username"),
            password=settings.get("password"),
            **overrides,
        )

    def __deepcopy__(self, memo: Dict[int, Any]) -> Configuration:
        result = type(self).__new__(type(self))
        memo[id(self)] = result
        for key, value in self.__dict__.items():
            if key in ("logger", "logger_stream_handler", "logger_file_handler", "access_token_provider"):
                setattr(result, key, value)  # shared, not copied
            else:
                setattr(result, key, copy.deepcopy(value, memo))
        # The copy holds the logging changes of the original in its own name, so either
        # can let go of them without undoing them for the other.
        if result._debug:
            _log_state.hold_debug(result, result.logger.values())
        if result._logger_file:
            result._attach_logger_file(result._logger_file)
        return result

    def __repr__(self) -> str:
        secret = {"password": self.password, "access_token": self.access_token}
        shown = {k: (REDACTED if v is not None else None) for k, v in secret.items()}
        cookies = {k: REDACTED for k in self.api_key}
        return (
            f"Configuration(host={redact_url(self.host)!r}, username={self.username!r}, "
            f"password={shown['password']!r}, access_token={shown['access_token']!r}, "
            f"api_key={cookies!r}, max_retries={self.max_retries!r}, "
            f"connect_timeout={self.connect_timeout!r}, read_timeout={self.read_timeout!r})"
        )

    # -- logging ----------------------------------------------------------------------------

    @property
    def logger_format(self) -> str:
        """Format of SDK log records written to ``logger_file``; setting it updates ``logger_formatter``."""
        return self._logger_format

    @logger_format.setter
    def logger_format(self, value: str) -> None:
        self._logger_format = value
        self.logger_formatter = logging.Formatter(value)
        path = getattr(self, "_logger_file", None)
        if path:
            self._attach_logger_file(path)  # the file's records take the new format

    @property
    def logger_file(self) -> Optional[str]:
        """Path of a file that the records of the loggers in ``logger`` are also written to.

        As upstream, this adds a ``FileHandler`` to those loggers (process-wide), kept in
        ``logger_file_handler``. Unlike upstream, it is undone: setting another path or
        ``None`` removes the handler this configuration added, and configurations naming the
        same file (with the same ``logger_format``) share one handler, removed and closed
        when the last of them lets go of it or is garbage-collected.
        """
        return self._logger_file

    @logger_file.setter
    def logger_file(self, value: Optional[str]) -> None:
        if value:
            self._attach_logger_file(value)  # a file that cannot be opened changes nothing
        else:
            _log_state.release_file(self)
            self.logger_file_handler = None
        self._logger_file = value

    def _attach_logger_file(self, path: str) -> None:
        self.logger_file_handler = _log_state.attach_file(self, path, self._logger_format, self.logger.values())

    @property
    def debug(self) -> bool:
        """Log each request and response (credentials masked) at DEBUG level when True.

        As upstream, ``True`` sets the loggers in ``logger`` (process-wide) to ``DEBUG``.
        Unlike upstream, ``False`` only undoes that: when no configuration with
        ``debug=True`` is left (set back to ``False`` or garbage-collected), each logger gets
        back the level it had before, unless its level was changed since. A configuration
        that never set ``debug=True`` (every new one) leaves the loggers' levels alone. Nor
        does this ever switch on ``http.client``'s raw header dump, which would print the
        ``Authorization`` header.
        """
        return self._debug

    @debug.setter
    def debug(self, value: bool) -> None:
        self._debug = bool(value)
        if self._debug:
            _log_state.hold_debug(self, self.logger.values())
        else:
            _log_state.release_debug(self)

    # -- authentication ---------------------------------------------------------------------

    def get_api_key_with_prefix(self, identifier: str, alias: Optional[str] = None) -> Optional[str]:
        """Return the ``api_key`` entry for ``identifier`` (or ``alias``), with its prefix if any."""
        if self.refresh_api_key_hook is not None:
            self.refresh_api_key_hook(self)
        key = self.api_key.get(identifier, self.api_key.get(alias) if alias is not None else None)
        if not key:
            return None
        prefix = self.api_key_prefix.get(identifier)
        return f"{prefix} {key}" if prefix else key

    def get_basic_auth_token(self) -> str:
        """Return the ``Authorization`` header value for HTTP basic auth."""
        credentials = f"{self.username or ''}:{self.password or ''}"
        return urllib3.util.make_headers(basic_auth=credentials)["authorization"]

    def auth_settings(self) -> Dict[str, Dict[str, Any]]:
        """Return the configured auth schemes in the upstream dict format, by scheme name."""
        auth: Dict[str, Dict[str, Any]] = {}
        if self.username is not None and self.password is not None:
            auth["basic_auth"] = {
                "type": "basic",
                "in": "header",
                "key": "Authorization",
                "value": self.get_basic_auth_token(),
            }
        provider = self.access_token_provider
        # A coroutine provider cannot be asked here (not awaited): its token is left out.
        token = None if provider is not None and inspect.iscoroutinefunction(provider) else self.current_access_token()
        if isinstance(token, str):
            auth["jwt_token"] = {
                "type": "bearer",
                "in": "header",
                "format": "JWT",
                "key": "Authorization",
                "value": "Bearer " + token,
            }
        for scheme, cookie_name in COOKIE_SCHEMES.items():
            if scheme in self.api_key:
                auth[scheme] = {
                    "type": "api_key",
                    "in": "cookie",
                    "key": cookie_name,
                    "value": self.get_api_key_with_prefix(scheme),
                }
        return auth

    def current_access_token(self, refresh: bool = False) -> Union[str, Awaitable[str], None]:
        """The bearer token to send: from ``access_token_provider`` if set, else ``access_token``.

        An awaitable when the provider is a coroutine function (the async client awaits it).
        """
        if self.access_token_provider is not None:
            return self.access_token_provider(refresh)
        return self.access_token

    # -- hosts ------------------------------------------------------------------------------

    def to_debug_report(self) -> str:
        """Return versions useful in a bug report."""
        return (
            "Python SDK Debug Report:\n"
            f"OS: {sys.platform}\n"
            f"Python Version: {sys.version}\n"
            "Version of the API: 1.0.0\n"
            f"SDK Package Version: {__version__}"
        )

    def get_host_settings(self) -> List[Dict[str, Any]]:
        """Return the servers listed in the spec (upstream name)."""
        return [{"url": API_BASE_PATH, "description": "lakeFS server endpoint"}]

    def get_host_from_settings(
        self,
        index: Optional[int],
        variables: Optional[Dict[str, str]] = None,
        servers: Optional[List[Dict[str, Any]]] = None,
    ) -> str:
        """Return the URL of server ``index`` of ``servers`` (default: the spec's servers)."""
        if index is None:
            return self._base_path
        servers = self.get_host_settings() if servers is None else servers
        try:
            server = servers[index]
        except IndexError:
            raise ValueError(
                f"Invalid index {index} when selecting the host settings. Must be less than {len(servers)}"
            ) from None
        url: str = server["url"]
        for name, spec in server.get("variables", {}).items():
            value = (variables or {}).get(name, spec["default_value"])
            url = url.replace("{" + name + "}", value)
        return url

    @property
    def host(self) -> str:
        """The server URL requests are sent to, base path included."""
        if self.server_index is None:  # the usual case, read on every request
            return self._base_path
        return self.get_host_from_settings(self.server_index, variables=self.server_variables)

    @host.setter
    def host(self, value: str) -> None:
        self._base_path = value
        self.server_index = None


# Cookie-based auth schemes of the spec, and the cookie each one sends.
COOKIE_SCHEMES = {
    "cookie_auth": "internal_auth_session",
    "oidc_auth": "oidc_auth_session",
    "saml_auth": "saml_auth_session",
}
