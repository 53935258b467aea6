"""lakeFS's S3 gateway through ``lakefs_sdk.s3.boto3_client``, on the real server.

Each object written through the gateway is read back through the SDK and the other way
round: put/get/head, listing under a prefix, a multipart ``upload_file``, delete, and a
commit made with the SDK. The gateway is also reached over TLS, through a TLS-terminating
byte relay on 127.0.0.1 in front of the server (the relay passes bytes unchanged, so the
SigV4 signature over the Host header still holds), with the Configuration's CA bundle.

boto3 talks to the server directly: the recording proxy accepts only ``/api/v1``. The SDK
calls go through it as in every integration test.
"""

from __future__ import annotations

import hashlib
import os
import socket
import socketserver
import ssl
import textwrap
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from botocore.exceptions import SSLError as BotocoreSSLError
from urllib3.exceptions import InsecureRequestWarning

import lakefs_sdk
from lakefs_sdk.models import CommitCreation
from lakefs_sdk.s3 import boto3_client

from support.lakefs import LakeFS
from support.pki import have_openssl, make_pki, server_context

MiB = 1024 * 1024


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def s3(lakefs: LakeFS) -> Any:
    """A boto3 S3 client of the server's gateway, from the same Configuration as the SDK's."""
    return boto3_client(lakefs.configuration())


def calls_of(client: Any, operation: str) -> List[str]:
    """A list that grows by the operation's name each time ``client`` completes it."""
    seen: List[str] = []

    def record(**_: Any) -> None:
        seen.append(operation)

    client.meta.events.register(f"after-call.s3.{operation}", record)
    return seen


def test_put_then_get_and_head(s3: Any, repo: str, lakefs_client: lakefs_sdk.LakeFSClient) -> None:
    data = os.urandom(100_000)
    put = s3.put_object(Bucket=repo, Key="main/gateway/put.bin", Body=data)
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'

    got = s3.get_object(Bucket=repo, Key="main/gateway/put.bin")
    body = got["Body"].read()
    assert body == data and sha256(body) == sha256(data)
    assert got["ETag"] == put["ETag"]

    head = s3.head_object(Bucket=repo, Key="main/gateway/put.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == put["ETag"]

    # The same object through the SDK.
    stats = lakefs_client.objects_api.stat_object(repo, "main", "gateway/put.bin")
    assert stats.size_bytes == len(data)
    assert f'"{stats.checksum}"' == put["ETag"]
    assert sha256(lakefs_client.objects_api.get_object(repo, "main", "gateway/put.bin")) == sha256(data)


def test_objects_uploaded_by_the_sdk_are_read_through_the_gateway(
    s3: Any, repo: str, lakefs_client: lakefs_sdk.LakeFSClient
) -> None:
    data = os.urandom(50_000)
    stats = lakefs_client.objects_api.upload_object(repo, "main", "sdk/written.bin", content=data)
    body = s3.get_object(Bucket=repo, Key="main/sdk/written.bin")["Body"].read()
    assert sha256(body) == sha256(data)
    assert s3.head_object(Bucket=repo, Key="main/sdk/written.bin")["ETag"] == f'"{stats.checksum}"'
    listed = s3.list_objects_v2(Bucket=repo, Prefix="main/sdk/")["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("main/sdk/written.bin", len(data))]


def test_list_objects_v2_under_a_prefix(s3: Any, repo: str, lakefs_client: lakefs_sdk.LakeFSClient) -> None:
    keys = ["listing/a.csv", "listing/b.csv", "listing/sub/c.csv", "other/d.csv"]
    for number, key in enumerate(keys):
        s3.put_object(Bucket=repo, Key=f"main/{key}", Body=b"x" * (number + 1))

    listing = s3.list_objects_v2(Bucket=repo, Prefix="main/listing/")
    assert [(o["Key"], o["Size"]) for o in listing["Contents"]] == [
        ("main/listing/a.csv", 1),
        ("main/listing/b.csv", 2),
        ("main/listing/sub/c.csv", 3),
    ]
    assert listing["KeyCount"] == 3

    by_folder = s3.list_objects_v2(Bucket=repo, Prefix="main/listing/", Delimiter="/")
    assert [o["Key"] for o in by_folder["Contents"]] == ["main/listing/a.csv", "main/listing/b.csv"]
    assert [p["Prefix"] for p in by_folder["CommonPrefixes"]] == ["main/listing/sub/"]

    # The SDK lists the same objects (paths without the ref).
    sdk_paths = [o.path for o in lakefs_client.objects_api.list_objects(repo, "main", prefix="listing/").results]
    assert sdk_paths == ["listing/a.csv", "listing/b.csv", "listing/sub/c.csv"]


def test_multipart_upload_file_read_back_through_the_sdk(
    s3: Any, repo: str, direct_lakefs_client: lakefs_sdk.LakeFSClient, tmp_path: Path
) -> None:
    data = os.urandom(20 * MiB)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    created, parts, completed = (
        calls_of(s3, op) for op in ("CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload")
    )
    transfer = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=2)

    s3.upload_file(str(source), repo, "main/multipart/big.bin", Config=transfer)

    assert (len(created), len(parts), len(completed)) == (1, 4, 1)  # four parts of 5 MiB: really multipart
    objects = direct_lakefs_client.objects_api
    assert objects.stat_object(repo, "main", "multipart/big.bin").size_bytes == len(data)
    assert sha256(objects.get_object(repo, "main", "multipart/big.bin")) == sha256(data)
    downloaded = tmp_path / "downloaded.bin"
    s3.download_file(repo, "main/multipart/big.bin", str(downloaded), Config=transfer)
    assert sha256(downloaded.read_bytes()) == sha256(data)


def test_delete_object(s3: Any, repo: str, lakefs_client: lakefs_sdk.LakeFSClient) -> None:
    s3.put_object(Bucket=repo, Key="main/deleted/gone.txt", Body=b"soon gone")
    s3.put_object(Bucket=repo, Key="main/deleted/kept.txt", Body=b"kept")

    s3.delete_object(Bucket=repo, Key="main/deleted/gone.txt")

    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=repo, Key="main/deleted/gone.txt")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(lakefs_sdk.NotFoundException):
        lakefs_client.objects_api.stat_object(repo, "main", "deleted/gone.txt")
    listed = s3.list_objects_v2(Bucket=repo, Prefix="main/deleted/")["Contents"]
    assert [o["Key"] for o in listed] == ["main/deleted/kept.txt"]


def test_a_commit_through_the_sdk_holds_the_gateway_writes(
    s3: Any, repo: str, lakefs_client: lakefs_sdk.LakeFSClient
) -> None:
    files: Dict[str, bytes] = {"commit/a.txt": b"first", "commit/b.bin": os.urandom(10_000)}
    for path, data in files.items():
        s3.put_object(Bucket=repo, Key=f"main/{path}", Body=data)
    staged = lakefs_client.branches_api.diff_branch(repo, "main").results
    assert sorted((d.type, d.path) for d in staged) == [("added", path) for path in sorted(files)]

    commit = lakefs_client.commits_api.commit(repo, "main", CommitCreation(message="written through the S3 gateway"))

    assert lakefs_client.branches_api.diff_branch(repo, "main").results == []
    assert lakefs_client.refs_api.log_commits(repo, "main", amount=1).results[0].id == commit.id
    at_commit = lakefs_client.objects_api.list_objects(repo, commit.id, prefix="commit/").results
    assert sorted(o.path for o in at_commit) == sorted(files)
    for path, data in files.items():  # the commit read through the gateway: key = <commit id>/<path>
        assert s3.get_object(Bucket=repo, Key=f"{commit.id}/{path}")["Body"].read() == data

    # A change after the commit is staged again, and the commit keeps the old object.
    s3.delete_object(Bucket=repo, Key="main/commit/a.txt")
    assert [(d.type, d.path) for d in lakefs_client.branches_api.diff_branch(repo, "main").results] == [
        ("removed", "commit/a.txt")
    ]
    assert s3.get_object(Bucket=repo, Key=f"{commit.id}/commit/a.txt")["Body"].read() == b"first"


def test_lakectl_settings_reach_the_gateway(monkeypatch: pytest.MonkeyPatch, lakefs: LakeFS, repo: str) -> None:
    monkeypatch.setenv("LAKECTL_SERVER_ENDPOINT_URL", lakefs.endpoint + "/api/v1")
    monkeypatch.setenv("LAKECTL_CREDENTIALS_ACCESS_KEY_ID", lakefs.access_key_id)
    monkeypatch.setenv("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", lakefs.secret_access_key)
    client = boto3_client(lakefs_sdk.Configuration.from_env())
    assert repo in [bucket["Name"] for bucket in client.list_buckets()["Buckets"]]


def test_a_wrong_secret_is_refused_without_being_shown(lakefs: LakeFS, repo: str) -> None:
    wrong = "not-the-secret-0123456789abcdefghijklmn"
    configuration = lakefs.configuration()
    configuration.password = wrong
    client = boto3_client(configuration)
    with pytest.raises(ClientError) as caught:
        client.put_object(Bucket=repo, Key="main/refused.txt", Body=b"x")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert wrong not in str(caught.value)


def test_the_docstring_example_runs(
    monkeypatch: pytest.MonkeyPatch, lakefs: LakeFS, repo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = boto3_client.__doc__ or ""
    example = textwrap.dedent(doc.split("Example, with the lakeFS of ``scripts/lakefs-server.sh``::", 1)[1])
    assert "boto3_client(lakefs_sdk.Configuration.from_env())" in example
    monkeypatch.setenv("LAKECTL_SERVER_ENDPOINT_URL", lakefs.endpoint + "/api/v1")
    monkeypatch.setenv("LAKECTL_CREDENTIALS_ACCESS_KEY_ID", lakefs.access_key_id)
    monkeypatch.setenv("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", lakefs.secret_access_key)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "big.parquet").write_bytes(os.urandom(9 * MiB))
    namespace: Dict[str, Any] = {}
    exec(compile(example.replace("example-repo", repo), "boto3_client.__doc__", "exec"), namespace)
    assert namespace["body"] == b"hello"
    assert "main/data/hello.txt 5" in capsys.readouterr().out
    assert namespace["s3"].head_object(Bucket=repo, Key="main/data/big.parquet")["ContentLength"] == 9 * MiB


# -- over TLS -----------------------------------------------------------------------------


class TLSRelay:
    """Accepts TLS on 127.0.0.1 and relays the plain bytes to ``upstream``; a context manager."""

    def __init__(self, upstream: str, context: ssl.SSLContext) -> None:
        host, port = upstream.removeprefix("http://").rsplit(":", 1)
        target = (host, int(port))

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                try:
                    tls = context.wrap_socket(self.request, server_side=True)
                except (OSError, ssl.SSLError):
                    return  # a client that refused our certificate
                with tls, socket.create_connection(target, timeout=60) as plain:
                    back = threading.Thread(target=_pump, args=(plain, tls), daemon=True)
                    back.start()
                    _pump(tls, plain)
                    back.join(timeout=60)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> TLSRelay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(256 * 1024):
            target.sendall(data)
    except OSError:
        pass
    finally:
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass


@pytest.fixture
def tls_gateway(lakefs: LakeFS, tmp_path: Path) -> Iterator[Callable[..., lakefs_sdk.Configuration]]:
    """A factory of configurations reaching the server over TLS (``ssl_ca_cert`` = our CA)."""
    if not have_openssl():
        pytest.skip("openssl is needed to make the test certificates")
    (tmp_path / "pki").mkdir()
    pki = make_pki(tmp_path / "pki")
    with TLSRelay(lakefs.endpoint, server_context(pki)) as relay:

        def configuration(**kwargs: Any) -> lakefs_sdk.Configuration:
            return lakefs.configuration(relay.url + "/api/v1", ssl_ca_cert=str(pki["ca_pem"]), **kwargs)

        yield configuration


def test_https_with_the_configured_ca_bundle(
    tls_gateway: Callable[..., lakefs_sdk.Configuration], repo: str, tmp_path: Path
) -> None:
    configuration = tls_gateway()
    client = boto3_client(configuration)
    assert client.meta.endpoint_url.startswith("https://127.0.0.1:")
    data = os.urandom(3 * MiB)
    client.put_object(Bucket=repo, Key="main/tls/object.bin", Body=data)
    source = tmp_path / "tls.bin"
    source.write_bytes(data)
    client.upload_file(
        str(source), repo, "main/tls/multipart.bin", Config=TransferConfig(multipart_threshold=MiB, multipart_chunksize=MiB)
    )
    # The same Configuration serves the SDK over the same TLS connection settings.
    with lakefs_sdk.LakeFSClient(configuration) as sdk:
        for path in ("tls/object.bin", "tls/multipart.bin"):
            assert sha256(sdk.objects_api.get_object(repo, "main", path)) == sha256(data)


def test_https_with_another_ca_is_refused(tls_gateway: Callable[..., lakefs_sdk.Configuration], repo: str, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    other_ca = make_pki(tmp_path / "other")["ca_pem"]
    configuration = tls_gateway(max_retries=0)
    configuration.ssl_ca_cert = str(other_ca)
    client = boto3_client(configuration)
    with pytest.raises(BotocoreSSLError):
        client.head_bucket(Bucket=repo)
    configuration.verify_ssl = False  # what the caller asked for: no verification at all
    with pytest.warns(InsecureRequestWarning):
        assert boto3_client(configuration).head_bucket(Bucket=repo)["ResponseMetadata"]["HTTPStatusCode"] == 200
