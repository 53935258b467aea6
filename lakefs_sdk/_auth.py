"""Credentials on a request: the headers and cookies each security scheme of the API sends.

Neutral: no I/O. Asking an asynchronous token provider is the asyncio client's job; it
hands the token it awaited to :meth:`Credentials.apply`.

The schemes of lakeFS's spec: ``basic_auth`` (access key id and secret), ``jwt_token``
(a bearer token, fixed or from ``Configuration.access_token_provider``) and the session
cookies ``cookie_auth`` / ``oidc_auth`` / ``saml_auth`` (from ``Configuration.api_key``).
"""

from __future__ import annotations

import enum
import inspect
from typing import Dict, Final, List, Literal, Mapping, Optional, Tuple, Union

from lakefs_sdk._operation import check_header
from lakefs_sdk.configuration import COOKIE_SCHEMES, Configuration
from lakefs_sdk.exceptions import ApiTypeError, ApiValueError


class TokenSource(enum.Enum):
    """Where the bearer token of a request comes from, when the caller did not pass one."""

    CONFIGURED = "configured"
    """Ask the configuration (its ``access_token`` or its token provider, called now)."""


CONFIGURED: Final = TokenSource.CONFIGURED

Token = Union[Optional[str], Literal[TokenSource.CONFIGURED]]
"""A bearer token already asked for (a str, or None for none), or ``CONFIGURED``."""


class Credentials:
    """Puts a configuration's credentials on requests, building each header value once.

    The basic-auth header and the last bearer header are kept while the configuration's
    username, password and token stay the same (they are checked on every request, so a
    changed setting takes effect at once). One per client and process.
    """

    __slots__ = ("_basic", "_bearer", "configuration")

    def __init__(self, configuration: Configuration) -> None:
        self.configuration = configuration
        self._basic: Tuple[Optional[str], Optional[str], str] = (None, None, "")
        self._bearer: Tuple[Optional[str], str] = (None, "")

    def apply(
        self,
        headers: Dict[str, str],
        schemes: Tuple[str, ...],
        request_auth: Optional[Mapping[str, object]] = None,
        token: Token = CONFIGURED,
    ) -> None:
        """Add to ``headers`` the credentials of ``schemes`` (or the one ``request_auth`` setting).

        A bearer token, when there is one, is sent over basic credentials.
        """
        if request_auth is not None:
            apply_auth_setting(headers, None, request_auth)
            return
        config = self.configuration
        basic, jwt, cookie_schemes = _SCHEME_SETS.get(schemes) or _scheme_sets(schemes)
        bearer = None
        if jwt:
            if token is not CONFIGURED:
                bearer = token
            elif config.access_token_provider is not None:
                bearer = token_text(config.current_access_token())
            else:
                bearer = token_text(config.access_token)
        if bearer is not None:
            headers["Authorization"] = self.bearer_header(bearer)
        elif basic and config.username is not None and config.password is not None:
            headers["Authorization"] = self._basic_header(config.username, config.password)
        if cookie_schemes and config.api_key:
            cookies: List[str] = []
            for scheme in cookie_schemes:
                if scheme in config.api_key:
                    value = config.get_api_key_with_prefix(scheme)
                    if value:
                        cookies.append(cookie_pair(COOKIE_SCHEMES[scheme], value))
            if cookies:
                existing = headers.get("Cookie")
                headers["Cookie"] = "; ".join(([existing] if existing else []) + cookies)

    def bearer_header(self, token: str) -> str:
        """``Bearer <token>``, checked as a header value (refuses CR, LF, NUL)."""
        cached_token, value = self._bearer
        if cached_token != token:
            value = check_header("Authorization", "Bearer " + token, "auth")
            self._bearer = (token, value)
        return value

    def _basic_header(self, username: str, password: str) -> str:
        cached_user, cached_password, value = self._basic
        if cached_user != username or cached_password != password:
            value = check_header("Authorization", self.configuration.get_basic_auth_token(), "auth")
            self._basic = (username, password, value)
        return value


# Per tuple of scheme names: (has basic_auth, has jwt_token, the cookie schemes in order).
_SCHEME_SETS: Dict[Tuple[str, ...], Tuple[bool, bool, Tuple[str, ...]]] = {}


def _scheme_sets(schemes: Tuple[str, ...]) -> Tuple[bool, bool, Tuple[str, ...]]:
    sets = ("basic_auth" in schemes, "jwt_token" in schemes, tuple(s for s in schemes if s in COOKIE_SCHEMES))
    _SCHEME_SETS[schemes] = sets
    return sets


def token_text(token: object) -> Optional[str]:
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


def apply_auth_setting(
    headers: Dict[str, str], queries: Optional[List[Tuple[str, str]]], setting: Mapping[str, object]
) -> None:
    """Apply one auth setting (an entry of ``Configuration.auth_settings()``) to a request."""
    location, key, value = setting.get("in"), setting.get("key"), setting.get("value")
    if not isinstance(key, str) or value is None:
        return
    text = value if isinstance(value, str) else str(value)
    if location == "cookie":
        headers["Cookie"] = cookie_pair(key, text)
    elif location == "header":
        headers[key] = check_header(key, text, "auth")
    elif location == "query" and queries is not None:
        queries.append((key, text))


def cookie_pair(name: str, value: str) -> str:
    """``name=value``, unless the value is already a complete cookie pair."""
    return value if value.startswith(name + "=") else f"{name}={value}"
