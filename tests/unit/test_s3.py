"""lakefs_sdk.s3.boto3_client: a boto3 client of lakeFS's S3 gateway from a Configuration.

No test here sends anything: the clients' requests are answered by a ``before-send`` event
handler (botocore's public hook) that records them, so what would go over the wire (URL,
signature scope, checksum headers) is checked without a server.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, ClassVar, Dict, Iterator, List, cast

import boto3
import pytest
import urllib3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config

import lakefs_sdk
from lakefs_sdk.exceptions import ApiTypeError, ApiValueError
from lakefs_sdk.s3 import boto3_client, gateway_endpoint

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HOST = "http://127.0.0.1:8000/api/v1"
CHECKSUM_HEADERS = ("x-amz-checksum-crc32", "x-amz-sdk-checksum-algorithm", "x-amz-checksum-mode")
# botocore 1.36 added default checksums and the options that turn them off.
CHECKSUM_OPTIONS = "request_checksum_calculation" in Config.OPTION_DEFAULTS
needs_checksum_options = pytest.mark.skipif(not CHECKSUM_OPTIONS, reason="this botocore has no checksum options")


@pytest.fixture(autouse=True)
def _no_aws_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the machine's AWS settings (profiles, endpoints, proxies) out of these clients."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name.lower() in ("http_proxy", "https_proxy", "no_proxy"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))


def configuration(host: str = HOST, **kwargs: Any) -> lakefs_sdk.Configuration:
    return lakefs_sdk.Configuration(host=host, username=KEY_ID, password=SECRET, **kwargs)


class FakeGateway:
    """Answers a client's requests in-process (botocore's before-send hook) and keeps them."""

    def __init__(self, client: Any) -> None:
        self.requests: List[AWSPreparedRequest] = []
        client.meta.events.register("before-send.s3", self._answer)

    def _answer(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        self.requests.append(request)
        body = b"hello" if request.method == "GET" else b""
        headers = {"ETag": '"5d41402abc4b2a76b9719d911017c592"', "Content-Length": str(len(body))}
        raw = urllib3.HTTPResponse(body=io.BytesIO(body), headers=headers, status=200, preload_content=False)
        return AWSResponse(request.url, 200, headers, raw)

    def last_headers(self) -> Dict[str, str]:
        return {name.lower(): _text(value) for name, value in self.requests[-1].headers.items()}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@pytest.fixture
def client_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[List[Dict[str, Any]]]:
    """The keyword arguments each boto3 Session.client call got (the real client is still built)."""
    calls: List[Dict[str, Any]] = []
    original = boto3.session.Session.client

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(boto3.session.Session, "client", spy)
    yield calls


# -- the endpoint -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "endpoint"),
    [
        ("http://127.0.0.1:8000/api/v1", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/api/v1/", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("localhost:8000/api/v1", "http://localhost:8000"),
        ("  https://lakefs.example.com/api/v1  ", "https://lakefs.example.com"),
        ("https://example.com/lakefs/api/v1", "https://example.com/lakefs"),
        ("https://example.com/lakefs/api/v1/", "https://example.com/lakefs"),
        ("http://[::1]:8000/api/v1", "http://[::1]:8000"),
    ],
)
def test_gateway_endpoint_is_the_host_without_the_api_path(host: str, endpoint: str) -> None:
    assert gateway_endpoint(configuration(host)) == endpoint


def test_the_client_is_pointed_at_the_gateway_endpoint() -> None:
    assert boto3_client(configuration("127.0.0.1:8000")).meta.endpoint_url == "http://127.0.0.1:8000"
    prefixed = boto3_client(configuration("http://127.0.0.1:8000/lakefs/api/v1"))
    assert prefixed.meta.endpoint_url == "http://127.0.0.1:8000/lakefs"
    gateway = FakeGateway(prefixed)
    prefixed.put_object(Bucket="repo", Key="main/a.txt", Body=b"x")
    assert gateway.requests[-1].url == "http://127.0.0.1:8000/lakefs/repo/main/a.txt"


@pytest.mark.parametrize("host", ["ftp://127.0.0.1:8000/api/v1", "http://", "http://127.0.0.1:99999/api/v1"])
def test_a_host_that_is_no_http_url_is_refused(host: str) -> None:
    with pytest.raises(ApiValueError, match=r"Configuration\.host") as caught:
        boto3_client(configuration(host))
    assert "\n" not in str(caught.value)


def test_the_default_configuration_is_used_when_none_is_given() -> None:
    previous = lakefs_sdk.Configuration._default
    lakefs_sdk.Configuration.set_default(configuration("http://127.0.0.1:8123/api/v1"))
    try:
        client = boto3_client()
    finally:
        lakefs_sdk.Configuration.set_default(previous)
    assert client.meta.endpoint_url == "http://127.0.0.1:8123"
    assert client._request_signer._credentials.access_key == KEY_ID


def test_lakectl_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKECTL_SERVER_ENDPOINT_URL", "http://127.0.0.1:8124")
    monkeypatch.setenv("LAKECTL_CREDENTIALS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", SECRET)
    client = boto3_client(lakefs_sdk.Configuration.from_env())
    gateway = FakeGateway(client)
    client.head_object(Bucket="repo", Key="main/a.txt")
    assert gateway.requests[-1].url == "http://127.0.0.1:8124/repo/main/a.txt"
    assert f"Credential={KEY_ID}/" in gateway.last_headers()["authorization"]


def test_a_configuration_of_another_type_is_refused() -> None:
    with pytest.raises(ApiTypeError, match=r"takes a lakefs_sdk\.Configuration, not str"):
        boto3_client(cast(Any, "http://127.0.0.1:8000"))


# -- credentials and signing ----------------------------------------------------------------


def test_requests_are_signed_with_the_access_key_path_style_for_us_east_1() -> None:
    client = boto3_client(configuration())
    gateway = FakeGateway(client)
    client.put_object(Bucket="example-repo", Key="main/data/a.txt", Body=b"hello")
    request = gateway.requests[-1]
    assert request.url == "http://127.0.0.1:8000/example-repo/main/data/a.txt"  # path style: bucket in the path
    authorization = gateway.last_headers()["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/")
    assert "/us-east-1/s3/aws4_request" in authorization
    assert SECRET not in str(request.headers)
    assert "lakefs-sdk/" in gateway.last_headers()["user-agent"]


def test_no_checksums_are_sent_or_asked_for() -> None:
    client = boto3_client(configuration())
    gateway = FakeGateway(client)
    client.put_object(Bucket="repo", Key="main/a.txt", Body=b"hello")
    assert not [h for h in gateway.last_headers() if h in CHECKSUM_HEADERS]
    assert client.get_object(Bucket="repo", Key="main/a.txt")["Body"].read() == b"hello"
    assert not [h for h in gateway.last_headers() if h in CHECKSUM_HEADERS]


def test_botocore_defaults_would_send_checksums() -> None:
    # What the options above prevent, on a botocore that adds checksums (1.36 and later).
    plain = boto3.session.Session().client(
        "s3", endpoint_url="http://127.0.0.1:8000", region_name="us-east-1",
        aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
    )
    if not CHECKSUM_OPTIONS:
        pytest.skip("this botocore sends no default checksums")
    gateway = FakeGateway(plain)
    plain.put_object(Bucket="repo", Key="main/a.txt", Body=b"hello")
    assert [h for h in gateway.last_headers() if h in CHECKSUM_HEADERS]


def test_config_values_read_back_from_the_client() -> None:
    config = configuration(max_retries=4, connect_timeout=3.0, read_timeout=7.5)
    config.connection_pool_maxsize = 17
    client = boto3_client(config)
    meta = client.meta
    assert meta.region_name == "us-east-1"
    assert meta.config.s3["addressing_style"] == "path"
    assert meta.config.signature_version == "s3v4"
    if CHECKSUM_OPTIONS:
        assert meta.config.request_checksum_calculation == "when_required"
        assert meta.config.response_checksum_validation == "when_required"
    assert meta.config.retries == {"mode": "standard", "total_max_attempts": 5}
    assert (meta.config.connect_timeout, meta.config.read_timeout) == (3.0, 7.5)
    assert meta.config.max_pool_connections == 17
    assert meta.config.tcp_keepalive is None
    assert boto3_client(configuration(max_retries=0)).meta.config.retries["total_max_attempts"] == 1


def test_a_keepalive_socket_option_turns_on_tcp_keepalive() -> None:
    config = configuration()
    config.socket_options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    assert boto3_client(config).meta.config.tcp_keepalive is True


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"username": None, "password": None, "access_token": "a.jwt.token"}, "username (access key ID) and password (secret access key) are not set; a bearer token"),
        ({"username": None, "password": None}, "are not set"),
        ({"username": KEY_ID, "password": None}, "password (secret access key) is not set"),
        ({"username": "", "password": SECRET}, "username (access key ID) is not set"),
        ({"username": None, "password": None, "api_key": {"cookie_auth": "cookie-value-123"}}, "a session cookie"),
    ],
)
def test_refused_without_an_access_key(settings: Dict[str, Any], named: str) -> None:
    config = lakefs_sdk.Configuration(host=HOST, **settings)
    with pytest.raises(ApiValueError, match="S3 gateway signs requests with an access key") as caught:
        boto3_client(config)
    message = str(caught.value)
    assert named in message
    assert "\n" not in message
    for value in (SECRET, KEY_ID, "a.jwt.token", "cookie-value-123"):
        assert value not in message


def test_refused_with_a_token_provider_only() -> None:
    config = lakefs_sdk.Configuration(host=HOST, access_token_provider=lambda refresh: "token")
    with pytest.raises(ApiValueError, match="a bearer token cannot sign S3 requests"):
        boto3_client(config)


def test_keys_given_to_boto3_need_none_in_the_configuration() -> None:
    config = lakefs_sdk.Configuration(host=HOST, access_token="a.jwt.token")
    client = boto3_client(config, aws_access_key_id="AKIAOTHER", aws_secret_access_key="other-secret")
    gateway = FakeGateway(client)
    client.head_object(Bucket="repo", Key="main/a.txt")
    assert "Credential=AKIAOTHER/" in gateway.last_headers()["authorization"]


def test_the_secret_is_in_no_log_record(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        client = boto3_client(configuration())
        FakeGateway(client)
        client.put_object(Bucket="repo", Key="main/a.txt", Body=b"hello")
    assert caplog.records, "botocore logged nothing at DEBUG: the check below would prove nothing"
    assert not [r for r in caplog.records if SECRET in r.getMessage()]


# -- TLS and proxies ----------------------------------------------------------------------


def test_tls_verification_off(client_calls: List[Dict[str, Any]]) -> None:
    config = configuration("https://127.0.0.1:8443/api/v1")
    config.verify_ssl = False
    config.ssl_ca_cert = "/nonexistent/ca.pem"  # not used when verification is off
    boto3_client(config)
    assert client_calls[-1]["verify"] is False


def test_a_ca_bundle_is_verified_against(client_calls: List[Dict[str, Any]], tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    boto3_client(configuration("https://127.0.0.1:8443/api/v1", ssl_ca_cert=str(bundle)))
    assert client_calls[-1]["verify"] == str(bundle)


def test_default_verification_is_botocores(client_calls: List[Dict[str, Any]]) -> None:
    boto3_client(configuration("https://127.0.0.1:8443/api/v1"))
    assert "verify" not in client_calls[-1]


def test_a_client_certificate_is_carried_over(tmp_path: Path) -> None:
    config = configuration("https://127.0.0.1:8443/api/v1")
    config.cert_file, config.key_file = str(tmp_path / "client.pem"), str(tmp_path / "client.key")
    assert boto3_client(config).meta.config.client_cert == (config.cert_file, config.key_file)
    config.key_file = None
    assert boto3_client(config).meta.config.client_cert == config.cert_file


@pytest.mark.parametrize("setting", ["ca_cert_data", "assert_hostname", "tls_server_name"])
def test_tls_settings_botocore_cannot_honour_are_refused(setting: str) -> None:
    config = configuration("https://127.0.0.1:8443/api/v1")
    setattr(config, setting, "lakefs.internal" if setting != "assert_hostname" else False)
    with pytest.raises(ApiValueError, match=f"Configuration.{setting} cannot be carried over to boto3") as caught:
        boto3_client(config)
    assert "\n" not in str(caught.value)
    # The caller's own verify= takes over, and so does turning verification off.
    assert boto3_client(config, verify=False).meta.endpoint_url == "https://127.0.0.1:8443"
    config.verify_ssl = False
    assert boto3_client(config).meta.endpoint_url == "https://127.0.0.1:8443"


def test_tls_settings_do_not_matter_over_plain_http() -> None:
    config = configuration("http://127.0.0.1:8000/api/v1")
    config.tls_server_name = "lakefs.internal"
    assert boto3_client(config).meta.endpoint_url == "http://127.0.0.1:8000"
    with pytest.raises(ApiValueError, match="tls_server_name"):
        boto3_client(config, endpoint_url="https://127.0.0.1:8443")


def test_the_proxy_is_used_for_both_schemes() -> None:
    config = configuration()
    config.proxy = "http://127.0.0.1:3128"
    client = boto3_client(config)
    assert client.meta.config.proxies == {"http": "http://127.0.0.1:3128", "https": "http://127.0.0.1:3128"}
    assert client.meta.config.proxies_config is None


def test_an_https_proxy_is_verified_like_the_server(tmp_path: Path) -> None:
    config = configuration("https://127.0.0.1:8443/api/v1", ssl_ca_cert=str(tmp_path / "ca.pem"))
    config.proxy = "https://127.0.0.1:3129"
    config.cert_file = str(tmp_path / "client.pem")
    proxies_config = boto3_client(config).meta.config.proxies_config
    assert proxies_config == {"proxy_ca_bundle": config.ssl_ca_cert, "proxy_client_cert": config.cert_file}


def test_proxy_headers_are_refused_without_the_secret_in_the_message() -> None:
    config = configuration()
    config.proxy = "http://user:proxy-password@127.0.0.1:3128"
    config.proxy_headers = {"Proxy-Authorization": "Basic c2VjcmV0LXByb3h5"}
    with pytest.raises(ApiValueError, match="proxy_headers cannot be carried over to boto3") as caught:
        boto3_client(config)
    message = str(caught.value)
    assert "proxy-password" not in message and "c2VjcmV0LXByb3h5" not in message
    assert "\n" not in message
    # A caller who gives botocore's proxies themselves is not refused.
    own = Config(proxies={"https": "http://127.0.0.1:3130"})
    assert boto3_client(config, config=own).meta.config.proxies == {"https": "http://127.0.0.1:3130"}


# -- the caller's arguments win -----------------------------------------------------------


def test_client_kwargs_win(client_calls: List[Dict[str, Any]]) -> None:
    client = boto3_client(
        configuration(), region_name="eu-west-1", endpoint_url="http://127.0.0.1:9001", verify="/etc/ca.pem"
    )
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.endpoint_url == "http://127.0.0.1:9001"
    assert client_calls[-1]["verify"] == "/etc/ca.pem"


def test_a_given_config_is_merged_with_ours() -> None:
    theirs = Config(connect_timeout=2.5, s3={"payload_signing_enabled": True}, retries={"max_attempts": 9})
    config = boto3_client(configuration(), config=theirs).meta.config
    assert config.connect_timeout == 2.5
    assert config.s3 == {"addressing_style": "path", "payload_signing_enabled": True}
    assert config.retries["total_max_attempts"] == 10  # theirs replaces ours whole (9 retries, 10 attempts)
    assert getattr(config, "request_checksum_calculation", "when_required") == "when_required"
    assert config.read_timeout == lakefs_sdk.Configuration().read_timeout


@needs_checksum_options
def test_a_given_config_can_change_addressing_and_checksums() -> None:
    theirs = Config(s3={"addressing_style": "virtual"}, request_checksum_calculation="when_supported")
    config = boto3_client(configuration(), config=theirs).meta.config
    assert config.s3 == {"addressing_style": "virtual"}
    assert config.request_checksum_calculation == "when_supported"


def test_a_config_that_is_not_a_botocore_config_is_refused() -> None:
    with pytest.raises(ApiTypeError, match=r"config=\.\.\.\) takes a botocore.config.Config, not dict"):
        boto3_client(configuration(), config={"s3": {}})


# -- botocore and boto3 versions ----------------------------------------------------------


@needs_checksum_options
def test_an_older_botocore_without_the_checksum_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """A botocore before 1.36 knows neither option and refuses unknown ones (TypeError)."""
    import botocore.config

    class OldConfig(botocore.config.Config):
        OPTION_DEFAULTS: ClassVar[Dict[str, Any]] = {k: v for k, v in Config.OPTION_DEFAULTS.items() if "checksum" not in k}
        request_checksum_calculation = None  # what the rest of this botocore reads
        response_checksum_validation = None

    with pytest.raises(TypeError):
        OldConfig(request_checksum_calculation="when_required")
    monkeypatch.setattr(botocore.config, "Config", OldConfig)
    client = boto3_client(configuration())
    assert client.meta.config.s3 == {"addressing_style": "path"}


def test_a_missing_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(ImportError, match=r"needs boto3, which the s3 extra of lakefs-sdk installs") as caught:
        boto3_client(configuration())
    assert "lakefs-sdk[s3]" in str(caught.value)


def test_importing_the_module_does_not_import_boto3() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["boto3"] = None  # as if it were not installed
        sys.modules["botocore"] = None
        import lakefs_sdk
        from lakefs_sdk.s3 import boto3_client
        try:
            boto3_client(lakefs_sdk.Configuration(username="k", password="s"))
        except ImportError as error:
            print(error)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert "the s3 extra" in result.stdout


def test_credentials_are_refused_before_boto3_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(ApiValueError, match="not set"):
        boto3_client(lakefs_sdk.Configuration(host=HOST))
