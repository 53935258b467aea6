"""A boto3 S3 client for lakeFS's S3 gateway, built from the same ``Configuration`` as the SDK.

lakeFS answers S3 requests on the host and port of its API, at the root instead of under
``/api/v1``: the bucket is the repository and the key is ``<ref>/<path>``
(``s3://example-repo/main/data/file.csv``). Requests are signed with SigV4, using the
access key ID and secret access key that the SDK sends as HTTP basic auth.

Which tool to use:

- **the S3 gateway** (this module): for code and libraries that already speak S3 (boto3,
  s3transfer's multipart uploads, pandas/pyarrow through s3fs, Spark's S3A). Objects can
  be read and written, listed, copied and deleted; lakeFS operations (branches, commits,
  merges, tags, diffs, hooks) are not in S3 and go through the SDK.
- **lakefs_sdk**: the whole lakeFS API, typed: versioning operations, metadata, presigned
  URLs, streaming transfers, bulk uploads (``lakefs_sdk.transfer``), the asyncio client.
- **lakefs-spec**: an fsspec filesystem on lakefs_sdk (``lakefs://repo/ref/path``), for
  pandas, Dask, DuckDB and other fsspec users, with transactions that commit.

boto3 is an optional dependency (the ``s3`` extra), imported when a client is built.
"""

from __future__ import annotations

import importlib
import socket
from types import ModuleType
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit, urlunsplit

from lakefs_sdk import __version__
from lakefs_sdk._endpoint import API_BASE_PATH, check_host, normalize_endpoint
from lakefs_sdk._redact import redact_url
from lakefs_sdk.configuration import Configuration
from lakefs_sdk.exceptions import ApiTypeError, ApiValueError

__all__ = ["GATEWAY_REGION", "boto3_client", "gateway_endpoint"]

GATEWAY_REGION = "us-east-1"
"""The region lakeFS's gateway expects in signatures unless the server sets ``gateways.s3.region``."""

_MISSING_BOTO3 = (
    "lakefs_sdk.s3 needs boto3, which the s3 extra of lakefs-sdk installs "
    "(pip install 'lakefs-sdk[s3]', or '.[s3]' from a checkout)"
)

# botocore 1.36+ adds a CRC32 checksum to every upload (over https as a trailer of a streamed
# body) and asks for checksums on downloads. lakeFS gateways that predate support for such
# uploads refuse them (lakeFS issues #7939, #8805); checksums only where an operation
# requires one work with every lakeFS. Older botocore knows neither option and sends no such
# checksums, so there the options are left out.
_CHECKSUM_OPTIONS = {
    "request_checksum_calculation": "when_required",
    "response_checksum_validation": "when_required",
}

# Config options merged key by key with a caller's config= (theirs win per key); for every
# other option a value of the caller's replaces ours whole.
_MERGED_BY_KEY = ("s3", "proxies_config")


def gateway_endpoint(configuration: Configuration) -> str:
    """The S3 gateway's URL for ``configuration``: its host completed, without ``/api/v1``.

    ``"http://localhost:8000/api/v1"``, ``"localhost:8000"`` and ``"http://localhost:8000/"``
    all give ``"http://localhost:8000"``; a lakeFS behind a path prefix
    (``"https://example.com/lakefs/api/v1"``) gives ``"https://example.com/lakefs"``.
    Raises ``ApiValueError`` for a host that is not an http(s) URL.
    """
    host = check_host(normalize_endpoint(configuration.host))
    parts = urlsplit(host)
    path = parts.path.rstrip("/")
    if path.endswith(API_BASE_PATH):
        path = path[: -len(API_BASE_PATH)]
    return urlunsplit((parts.scheme, parts.netloc, path.rstrip("/"), "", ""))


def boto3_client(configuration: Optional[Configuration] = None, **client_kwargs: Any) -> Any:
    """A boto3 S3 client of lakeFS's S3 gateway, set up from ``configuration``.

    :param configuration: Where lakeFS is and the access key to sign with; default
        ``Configuration.get_default()``. ``Configuration.from_env()`` reads lakectl's
        settings (``LAKECTL_*`` variables, then ``~/.lakectl.yaml``).
    :param client_kwargs: Passed on to ``boto3.session.Session().client("s3", ...)``; they
        win over the settings below. A ``config=`` (``botocore.config.Config``) is merged
        into ours with ``Config.merge`` (its values win; its ``s3`` and ``proxies_config``
        dicts are merged key by key, so ``s3={"payload_signing_enabled": True}`` keeps
        path-style addressing).
    :returns: a ``botocore.client.S3``, typed ``Any`` (with ``boto3-stubs[s3]`` installed,
        annotate it ``s3: S3Client = boto3_client(...)``, ``S3Client`` from ``mypy_boto3_s3``).
    :raises ApiValueError: no access key ID and secret in ``configuration`` (a bearer token
        or session cookie cannot sign S3 requests), a host that is not an http(s) URL, or a
        TLS or proxy setting botocore cannot honour (named in the message).
    :raises ApiTypeError: ``configuration`` is not a ``Configuration``.
    :raises ImportError: boto3 is not installed (it comes with the ``s3`` extra).

    The client gets:

    - ``endpoint_url``: the configured host without ``/api/v1`` (:func:`gateway_endpoint`);
    - the credentials ``configuration.username`` (access key ID) and
      ``configuration.password`` (secret access key);
    - path-style addressing, ``region_name="us-east-1"``, SigV4, and checksums only when
      an operation requires them (older lakeFS gateways refuse the ones botocore 1.36+
      adds by default);
    - the configuration's TLS and transport settings: ``verify_ssl=False`` as
      ``verify=False``, ``ssl_ca_cert`` as ``verify=<path>``, ``cert_file``/``key_file`` as
      the client certificate, ``proxy`` as the proxy of both schemes,
      ``connect_timeout``/``read_timeout``, ``max_retries`` (botocore's standard retry mode,
      ``max_retries + 1`` attempts in all), ``connection_pool_maxsize`` and an
      ``SO_KEEPALIVE`` entry of ``socket_options``.

    Each call builds its client in a boto3 session of its own (boto3's shared default
    session is not safe to build clients from in several threads at once), which takes
    about a tenth of a second: build one client and share it, as boto3 clients are
    thread-safe.

    Example, with the lakeFS of ``scripts/lakefs-server.sh``::

        import lakefs_sdk
        from lakefs_sdk.s3 import boto3_client

        s3 = boto3_client(lakefs_sdk.Configuration.from_env())
        s3.put_object(Bucket="example-repo", Key="main/data/hello.txt", Body=b"hello")
        body = s3.get_object(Bucket="example-repo", Key="main/data/hello.txt")["Body"].read()
        for item in s3.list_objects_v2(Bucket="example-repo", Prefix="main/data/")["Contents"]:
            print(item["Key"], item["Size"])
        s3.upload_file("big.parquet", "example-repo", "main/data/big.parquet")  # multipart above 8 MiB
    """
    if configuration is None:
        configuration = Configuration.get_default()
    elif not isinstance(configuration, Configuration):
        raise ApiTypeError(f"boto3_client() takes a lakefs_sdk.Configuration, not {type(configuration).__name__}")

    kwargs: Dict[str, Any] = {"region_name": GATEWAY_REGION}
    if "endpoint_url" not in client_kwargs:
        kwargs["endpoint_url"] = gateway_endpoint(configuration)
    if not ("aws_access_key_id" in client_kwargs and "aws_secret_access_key" in client_kwargs):
        kwargs["aws_access_key_id"], kwargs["aws_secret_access_key"] = _access_key(configuration)
    endpoint = str(client_kwargs.get("endpoint_url") or kwargs.get("endpoint_url") or "")
    plain_http = not endpoint.lower().startswith("https:")
    verify = _verify(configuration, ignore_unsupported="verify" in client_kwargs or plain_http)
    if verify is not None:
        kwargs["verify"] = verify

    boto3, config_class = _import_boto3()
    theirs = client_kwargs.pop("config", None)
    if theirs is not None and not isinstance(theirs, config_class):
        raise ApiTypeError(f"boto3_client(config=...) takes a botocore.config.Config, not {type(theirs).__name__}")
    options = _config_options(configuration, config_class, theirs)
    kwargs["config"] = _merge(config_class(**options), theirs, config_class)
    kwargs.update(client_kwargs)
    return boto3.session.Session().client("s3", **kwargs)


def _access_key(configuration: Configuration) -> Tuple[str, str]:
    # Never put the values in a message: the secret must not leak, and the key ID need not.
    key_id, secret = configuration.username, configuration.password
    if isinstance(key_id, str) and key_id and isinstance(secret, str) and secret:
        return key_id, secret
    missing = [
        name
        for name, value in (("username (access key ID)", key_id), ("password (secret access key)", secret))
        if not isinstance(value, str) or not value
    ]
    other = _other_credentials(configuration)
    raise ApiValueError(
        f"lakeFS's S3 gateway signs requests with an access key (SigV4), but Configuration."
        f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set"
        + (f"; {other} cannot sign S3 requests" if other else "")
    )


def _other_credentials(configuration: Configuration) -> str:
    if configuration.access_token is not None or configuration.access_token_provider is not None:
        return "a bearer token"
    if configuration.api_key:
        return "a session cookie"
    return ""


def _verify(configuration: Configuration, ignore_unsupported: bool) -> Any:
    """boto3's ``verify``: False, a CA bundle path, or None for botocore's default.

    ``ignore_unsupported``: whether the caller's ``verify=`` takes over (or the endpoint is
    plain http), so that the settings botocore cannot honour do not matter.
    """
    if not configuration.verify_ssl:
        return False
    if not ignore_unsupported:
        unsupported = [
            name
            for name in ("ca_cert_data", "assert_hostname", "tls_server_name")
            if getattr(configuration, name) is not None
        ]
        if unsupported:
            raise ApiValueError(
                f"Configuration.{', '.join(unsupported)} cannot be carried over to boto3 (botocore verifies "
                "against a CA bundle file and the endpoint's host name): set ssl_ca_cert to a file, "
                "or pass verify=... to boto3_client"
            )
    return configuration.ssl_ca_cert


def _import_boto3() -> Tuple[ModuleType, Any]:
    try:
        boto3 = importlib.import_module("boto3")
        importlib.import_module("boto3.session")
        config_module = importlib.import_module("botocore.config")
    except ImportError as error:
        raise ImportError(_MISSING_BOTO3) from error
    return boto3, config_module.Config


def _config_options(configuration: Configuration, config_class: Any, theirs: Any) -> Dict[str, Any]:
    """The ``botocore.config.Config`` options that carry ``configuration`` over."""
    known = config_class.OPTION_DEFAULTS
    options: Dict[str, Any] = {
        "s3": {"addressing_style": "path"},
        "signature_version": "s3v4",
        "user_agent_extra": f"lakefs-sdk/{__version__}",
        "connect_timeout": configuration.connect_timeout,
        "read_timeout": configuration.read_timeout,
        "retries": {"mode": "standard", "total_max_attempts": max(0, configuration.max_retries) + 1},
        **{name: value for name, value in _CHECKSUM_OPTIONS.items() if name in known},
    }
    if configuration.connection_pool_maxsize:
        options["max_pool_connections"] = configuration.connection_pool_maxsize
    if _keepalive(configuration.socket_options) and "tcp_keepalive" in known:
        options["tcp_keepalive"] = True
    if configuration.cert_file:
        if "client_cert" not in known:
            raise ApiValueError("Configuration.cert_file needs a botocore that takes client certificates (client_cert)")
        options["client_cert"] = (
            (configuration.cert_file, configuration.key_file) if configuration.key_file else configuration.cert_file
        )
    if configuration.proxy:
        options.update(_proxy_options(configuration.proxy, configuration, options.get("client_cert"), theirs))
    return options


def _proxy_options(proxy: str, configuration: Configuration, client_cert: Any, theirs: Any) -> Dict[str, Any]:
    if configuration.proxy_headers and getattr(theirs, "proxies", None) is None:
        raise ApiValueError(
            f"Configuration.proxy_headers cannot be carried over to boto3 (botocore sends no custom proxy headers) "
            f"for proxy {redact_url(proxy)!r}: give the proxy's user:password in Configuration.proxy, "
            "or pass config=Config(proxies=...)"
        )
    options: Dict[str, Any] = {"proxies": {"http": proxy, "https": proxy}}
    # urllib3's ProxyManager checks an https proxy's certificate as the server's: so do we.
    if proxy.lower().startswith("https://"):
        proxies_config: Dict[str, Any] = {}
        if configuration.ssl_ca_cert and configuration.verify_ssl:
            proxies_config["proxy_ca_bundle"] = configuration.ssl_ca_cert
        if client_cert is not None:
            proxies_config["proxy_client_cert"] = client_cert
        if proxies_config:
            options["proxies_config"] = proxies_config
    return options


def _keepalive(socket_options: Optional[List[Tuple[int, int, int]]]) -> bool:
    return any(
        level == socket.SOL_SOCKET and name == socket.SO_KEEPALIVE and value
        for level, name, value in socket_options or ()
    )


def _merge(ours: Any, theirs: Any, config_class: Any) -> Any:
    if theirs is None:
        return ours
    merged = ours.merge(theirs)
    for name in _MERGED_BY_KEY:
        mine, given = getattr(ours, name, None), getattr(theirs, name, None)
        if isinstance(mine, dict) and isinstance(given, dict):
            merged = merged.merge(config_class(**{name: {**mine, **given}}))
    return merged
