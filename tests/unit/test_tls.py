"""TLS: verified by default, never retried when verification fails, and every option
(CA bundle, CA data, client certificate, server name) honoured, on the normal and the
streaming path."""

from __future__ import annotations

import ssl
import subprocess
import time
import warnings
from pathlib import Path
from typing import Dict, Iterator

import pytest

import lakefs_sdk
from lakefs_sdk import ApiClient, BranchesApi, Configuration, ObjectsApi

from support.loopback import LoopbackServer, Reply

REF = Reply(200, '{"id": "main", "commit_id": "c1"}')


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """A throwaway CA, a server certificate for 127.0.0.1 and lakefs.test, and a client certificate."""
    if subprocess.run(["which", "openssl"], capture_output=True).returncode != 0:
        pytest.skip("openssl is not installed: TLS tests need it to make certificates")
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "2", "-subj", "/CN=lakefs_sdk test CA",
             # Python >= 3.13 verifies strictly (VERIFY_X509_STRICT): a CA needs keyUsage.
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    for name, san in (("server", "subjectAltName=IP:127.0.0.1,DNS:lakefs.test"), ("named", "subjectAltName=DNS:lakefs.test"),
                      ("client", "extendedKeyUsage=clientAuth")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=d)
        (d / f"{name}.ext").write_text(san + "\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)
    return {p.stem + p.suffix.replace(".", "_"): p for p in d.iterdir()}


def server_context(pki: Dict[str, Path], cert: str = "server", require_client_cert: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki[f"{cert}_pem"], pki[f"{cert}_key"])
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki["ca_pem"])
    return context


@pytest.fixture
def tls_server(pki: Dict[str, Path]) -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda request: REF, tls=server_context(pki)) as srv:
        yield srv


def config(url: str, **settings: object) -> Configuration:
    c = Configuration(host=url + "/api/v1", username="AKIA", password="secret")
    c.retry_backoff = 0.2  # a retry would show in the elapsed time
    for key, value in settings.items():
        setattr(c, key, value)
    return c


def test_unknown_ca_fails_once_without_retry(tls_server: LoopbackServer) -> None:
    start = time.monotonic()
    with ApiClient(config(tls_server.url)) as client, pytest.raises(lakefs_sdk.ApiConnectionError) as raised:
        BranchesApi(client).get_branch("repo", "main")
    assert "TLS failure" in str(raised.value.reason) or "CERTIFICATE" in str(raised.value.reason).upper()
    assert tls_server.connections == 1, "a verification failure is never retried"
    assert tls_server.requests == []
    assert time.monotonic() - start < 0.2


def test_ca_bundle_path(tls_server: LoopbackServer, pki: Dict[str, Path]) -> None:
    with ApiClient(config(tls_server.url, ssl_ca_cert=str(pki["ca_pem"]))) as client:
        assert BranchesApi(client).get_branch("repo", "main").id == "main"


def test_ca_bundle_data(tls_server: LoopbackServer, pki: Dict[str, Path]) -> None:
    with ApiClient(config(tls_server.url, ca_cert_data=pki["ca_pem"].read_text())) as client:
        assert BranchesApi(client).get_branch("repo", "main").id == "main"


def test_streaming_download_is_verified_too(tls_server: LoopbackServer, pki: Dict[str, Path]) -> None:
    tls_server.handler = lambda request: Reply(200, b"x" * 5000, {"Content-Type": "application/octet-stream"})
    with ApiClient(config(tls_server.url, ssl_ca_cert=str(pki["ca_pem"]))) as client:
        with ObjectsApi(client).get_object_without_preload_content("repo", "main", "p") as response:
            assert b"".join(response.iter_bytes(1000)) == b"x" * 5000
    with ApiClient(config(tls_server.url)) as client, pytest.raises(lakefs_sdk.ApiConnectionError):
        ObjectsApi(client).get_object_without_preload_content("repo", "main", "p")


def test_server_name_for_a_certificate_without_the_ip(pki: Dict[str, Path]) -> None:
    with LoopbackServer(lambda request: REF, tls=server_context(pki, cert="named")) as srv:
        base = dict(ssl_ca_cert=str(pki["ca_pem"]))
        with ApiClient(config(srv.url, **base)) as client, pytest.raises(lakefs_sdk.ApiConnectionError):
            BranchesApi(client).get_branch("repo", "main")
        with ApiClient(config(srv.url, tls_server_name="lakefs.test", **base)) as client:
            assert BranchesApi(client).get_branch("repo", "main").id == "main"


def test_client_certificate(pki: Dict[str, Path]) -> None:
    with LoopbackServer(lambda request: REF, tls=server_context(pki, require_client_cert=True)) as srv:
        base = dict(ssl_ca_cert=str(pki["ca_pem"]))
        with ApiClient(config(srv.url, **base)) as client, pytest.raises(lakefs_sdk.ApiConnectionError):
            BranchesApi(client).get_branch("repo", "main")
        with ApiClient(config(srv.url, cert_file=str(pki["client_pem"]), key_file=str(pki["client_key"]), **base)) as client:
            assert BranchesApi(client).get_branch("repo", "main").id == "main"


def test_verification_off_warns_exactly_once(tls_server: LoopbackServer) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ApiClient(config(tls_server.url, verify_ssl=False)) as client:
            api = BranchesApi(client)
            for _ in range(5):
                assert api.get_branch("repo", "main").id == "main"
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert "verification is disabled" in messages[0]
