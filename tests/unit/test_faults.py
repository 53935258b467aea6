"""Fault injection: each transport failure or error status a pipeline meets, and what the
client does about it — how many attempts, which exception, how long, and never a second
copy of a request that must not be repeated."""

from __future__ import annotations

import io
import socket
import time
from typing import Iterator, List

import pytest

import lakefs_sdk
import lakefs_sdk._retry
from lakefs_sdk import ApiClient, BranchesApi, CommitsApi, Configuration, ObjectsApi
from lakefs_sdk.models import BranchCreation, CommitCreation

from support.loopback import LoopbackServer, Reply

REF = Reply(200, '{"id": "main", "commit_id": "c1"}')
COMMIT = Reply(
    201, '{"id": "c2", "parents": ["c1"], "committer": "u", "message": "m", "creation_date": 1, "meta_range_id": "r"}'
)
STATS = Reply(201, '{"path": "p", "path_type": "object", "physical_address": "s3://x", "checksum": "c", "mtime": 1}')
BACKOFF = 0.02  # first wait; then doubled, capped, with up to 25% jitter subtracted


def config(url: str, **overrides: object) -> Configuration:
    c = Configuration(host=url + "/api/v1", username="AKIA", password="secret")
    c.retry_backoff = BACKOFF
    c.connect_timeout = 2.0
    c.read_timeout = 2.0
    for key, value in overrides.items():
        setattr(c, key, value)
    return c


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda request: REF) as srv:
        yield srv


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.monotonic()
    try:
        return fn(), time.monotonic() - start
    except Exception as error:
        return error, time.monotonic() - start


# -- retried: connection never made ----------------------------------------------------------


def test_connection_refused_is_retried_then_raised() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        with ApiClient(config(f"http://127.0.0.1:{port}")) as client:
            error, elapsed = timed(lambda: BranchesApi(client).get_branch("repo", "main"))
    assert isinstance(error, lakefs_sdk.ApiConnectionError)
    assert not isinstance(error, lakefs_sdk.ApiTimeoutError)
    assert error.status == 0 and "connection failed" in str(error.reason)
    # two waits: ~BACKOFF and ~2*BACKOFF (jitter takes off at most 25%)
    assert 0.75 * 3 * BACKOFF <= elapsed < 2.0


def test_connection_refused_post_is_retried_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """A POST that never reached the server is safe to send again."""
    waits: List[float] = []
    monkeypatch.setattr(lakefs_sdk._retry.time, "sleep", waits.append)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with ApiClient(config(f"http://127.0.0.1:{port}")) as client:
            error, _ = timed(lambda: CommitsApi(client).commit("repo", "main", CommitCreation(message="m")))
    assert isinstance(error, lakefs_sdk.ApiConnectionError)
    assert len(waits) == 2, "two retries after the first attempt"
    assert 0.75 * BACKOFF <= waits[0] <= BACKOFF and 1.5 * BACKOFF <= waits[1] <= 2 * BACKOFF


# -- transient statuses ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_status_retried_for_get(server: LoopbackServer, status: int) -> None:
    server.reply(Reply(status, '{"message": "busy"}'), Reply(status, '{"message": "busy"}'))
    with ApiClient(config(server.url)) as client:
        ref, elapsed = timed(lambda: BranchesApi(client).get_branch_with_http_info("repo", "main"))
    assert isinstance(ref, lakefs_sdk.ApiResponse), ref
    assert ref.retries == 2 and ref.data.id == "main"
    assert len(server.requests) == 3
    assert 0.75 * 3 * BACKOFF <= elapsed < 2.0


def test_gives_up_after_max_retries_with_typed_error(server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(
        503, '{"message": "kv throttled"}', {"Content-Type": "application/json", "X-Request-Id": "req-9"}
    )
    with ApiClient(config(server.url)) as client:
        error, _ = timed(lambda: BranchesApi(client).get_branch("repo", "main"))
    assert type(error) is lakefs_sdk.ServiceException
    assert error.status == 503 and error.message == "kv throttled" and error.request_id == "req-9"
    assert error.operation == "getBranch"
    assert len(server.requests) == 3


def test_retries_can_be_turned_off(server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(429, '{"message": "slow down"}')
    with ApiClient(config(server.url, max_retries=0)) as client:
        error, _ = timed(lambda: BranchesApi(client).get_branch("repo", "main"))
    assert isinstance(error, lakefs_sdk.TooManyRequestsException)
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [409, 412, 400, 401, 403, 404, 410, 416, 501])
def test_answers_are_never_retried(server: LoopbackServer, status: int) -> None:
    server.handler = lambda request: Reply(status, '{"message": "no"}')
    with ApiClient(config(server.url)) as client:
        error, _ = timed(lambda: BranchesApi(client).get_branch("repo", "main"))
    assert isinstance(error, lakefs_sdk.exceptions.exception_class_for(status))
    assert error.status == status
    assert len(server.requests) == 1


def test_post_is_not_retried_on_503(server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(503, '{"message": "busy"}')
    with ApiClient(config(server.url)) as client:
        error, _ = timed(lambda: BranchesApi(client).create_branch("repo", BranchCreation(name="b", source="main")))
    assert isinstance(error, lakefs_sdk.ServiceException)
    assert [r.method for r in server.requests] == ["POST"], "a non-idempotent request is sent once"


def test_conditional_post_is_retried(server: LoopbackServer) -> None:
    """If-None-Match makes an upload apply at most once, so it may be sent again."""
    server.reply(Reply(503, "{}"))
    server.handler = lambda request: STATS
    with ApiClient(config(server.url)) as client:
        stats = ObjectsApi(client).upload_object("repo", "main", "p", if_none_match="*", content=b"abc")
    assert stats.path == "p"
    assert len(server.requests) == 2
    assert server.requests[0].body == server.requests[1].body


# -- Retry-After --------------------------------------------------------------------------------


def test_retry_after_seconds_is_honoured(server: LoopbackServer) -> None:
    server.reply(Reply(429, "{}", {"Retry-After": "0.3", "Content-Type": "application/json"}))
    with ApiClient(config(server.url)) as client:
        _, elapsed = timed(lambda: BranchesApi(client).get_branch("repo", "main"))
    assert len(server.requests) == 2
    assert 0.3 <= elapsed < 1.5


def test_retry_after_is_capped(server: LoopbackServer) -> None:
    server.reply(Reply(503, "{}", {"Retry-After": "3600", "Content-Type": "application/json"}))
    with ApiClient(config(server.url, retry_after_max=0.2)) as client:
        _, elapsed = timed(lambda: BranchesApi(client).get_branch("repo", "main"))
    assert len(server.requests) == 2
    assert 0.2 <= elapsed < 1.0


@pytest.mark.parametrize("value", ["NaN", "inf", "-5", "soon", "99999999"])
def test_unusable_retry_after_falls_back_to_backoff(server: LoopbackServer, value: str) -> None:
    server.reply(Reply(503, "{}", {"Retry-After": value, "Content-Type": "application/json"}))
    with ApiClient(config(server.url)) as client:
        _, elapsed = timed(lambda: BranchesApi(client).get_branch("repo", "main"))
    assert len(server.requests) == 2
    assert elapsed < 1.0


# -- connection drops and stalls ------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["reset", "close", "reset_mid_body", "truncate"])
def test_dropped_get_is_retried(server: LoopbackServer, fault: str) -> None:
    server.reply(Reply(200, '{"id": "main", "commit_id": "c1", "pad": "' + "x" * 2000 + '"}', fault=fault))
    with ApiClient(config(server.url)) as client:
        ref = BranchesApi(client).get_branch_with_http_info("repo", "main")
    assert ref.retries == 1 and ref.data.id == "main"
    assert len(server.requests) == 2


@pytest.mark.parametrize("fault", ["reset", "reset_mid_body", "truncate"])
def test_dropped_post_is_not_resent(server: LoopbackServer, fault: str) -> None:
    server.reply(Reply(201, COMMIT.body, fault=fault))
    with ApiClient(config(server.url)) as client:
        error, _ = timed(lambda: CommitsApi(client).commit("repo", "main", CommitCreation(message="m")))
    assert isinstance(error, lakefs_sdk.ApiConnectionError)
    assert len(server.requests) == 1, "the commit may have happened: never send it twice"


def test_stalled_response_times_out_and_is_retried(server: LoopbackServer) -> None:
    server.reply(Reply(200, REF.body, stall=1.0), Reply(200, REF.body, stall=1.0))
    with ApiClient(config(server.url, read_timeout=0.3)) as client:
        ref, elapsed = timed(lambda: BranchesApi(client).get_branch_with_http_info("repo", "main"))
    assert isinstance(ref, lakefs_sdk.ApiResponse) and ref.retries == 2
    assert 0.6 <= elapsed < 3.0


def test_stall_past_all_attempts_raises_timeout(server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(200, REF.body, stall=0.6)
    with ApiClient(config(server.url, read_timeout=0.2, max_retries=1)) as client:
        error, elapsed = timed(lambda: BranchesApi(client).get_branch("repo", "main"))
    assert isinstance(error, lakefs_sdk.ApiTimeoutError)
    assert len(server.requests) == 2
    assert 0.4 <= elapsed < 2.0


def test_per_call_timeout_overrides_configuration(server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(200, REF.body, stall=0.5)
    with ApiClient(config(server.url, max_retries=0)) as client:
        error, elapsed = timed(lambda: BranchesApi(client).get_branch("repo", "main", _request_timeout=(1.0, 0.1)))
    assert isinstance(error, lakefs_sdk.ApiTimeoutError)
    assert elapsed < 0.5


# -- bodies that cannot be sent twice --------------------------------------------------------------


def test_rewindable_upload_is_resent_whole(server: LoopbackServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "data.bin"
    source.write_bytes(bytes(range(256)) * 100)
    server.reply(Reply(503, "{}"))
    server.handler = lambda request: STATS
    with ApiClient(config(server.url)) as client, open(source, "rb") as file:
        ObjectsApi(client).upload_object("repo", "main", "p", if_none_match="*", content=file)
    assert len(server.requests) == 2
    first, second = server.requests
    assert first.body == second.body and source.read_bytes() in first.body


def test_iterator_upload_is_never_resent(server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(503, "{}")
    chunks = iter([b"part-1;", b"part-2"])
    with ApiClient(config(server.url)) as client:
        error, _ = timed(
            lambda: ObjectsApi(client).upload_object(
                "repo", "main", "p", if_none_match="*", content=chunks, _content_type="application/octet-stream"
            )
        )
    assert isinstance(error, lakefs_sdk.ServiceException)
    assert len(server.requests) == 1
    assert server.requests[0].body == b"part-1;part-2"


# -- answers that are not what the spec promises -------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ['{"id": "main"', "<html><body>Bad Gateway</body></html>", "", '{"id": 5, "commit_id": []}', "null"],
)
def test_bad_success_body_raises_unexpected_response(server: LoopbackServer, body: str) -> None:
    server.handler = lambda request: Reply(200, body)
    with ApiClient(config(server.url)) as client:
        error, _ = timed(lambda: BranchesApi(client).get_branch("repo", "main"))
    assert isinstance(error, lakefs_sdk.UnexpectedResponseError), error
    assert error.operation == "getBranch"
    assert str(error).startswith("get_branch(repository='repo', branch='main') failed: ")
    assert "not a valid Ref" in str(error) and "\n" not in str(error)


def test_html_502_from_a_proxy(server: LoopbackServer) -> None:
    html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    server.handler = lambda request: Reply(502, html, {"Content-Type": "text/html"})
    with ApiClient(config(server.url)) as client:
        error, _ = timed(lambda: BranchesApi(client).get_branch("repo", "main"))
    assert type(error) is lakefs_sdk.ServiceException
    assert error.message is None and error.data is None
    assert "502 Bad Gateway" in str(error)
    assert len(server.requests) == 3


def test_long_error_body_is_excerpted(server: LoopbackServer) -> None:
    server.handler = lambda request: Reply(404, "x" * 10_000, {"Content-Type": "text/plain"})
    with ApiClient(config(server.url)) as client:
        error, _ = timed(lambda: BranchesApi(client).get_branch("repo", "main"))
    text = str(error)
    assert len(text) < 1000 and "(10000 characters)" in text
    assert len(error.body) == 10_000


# -- redirects ------------------------------------------------------------------------------------------


def test_cross_host_redirect_drops_credentials(server: LoopbackServer) -> None:
    with LoopbackServer(
        lambda request: Reply(200, b"object bytes", {"Content-Type": "application/octet-stream"}), host="127.0.0.2"
    ) as storage:
        location = storage.url + "/bucket/key?X-Amz-Signature=abc"
        server.handler = lambda request: Reply(302, b"", {"Location": location})
        c = config(server.url)
        c.api_key["cookie_auth"] = "session"
        with ApiClient(c) as client:
            data = ObjectsApi(client).get_object("repo", "main", "key", presign=True)
    assert data == b"object bytes"
    assert server.requests[0].header("Authorization") is not None
    followed = storage.requests[0]
    assert followed.header("Authorization") is None
    assert followed.header("Cookie") is None


def test_same_host_redirect_keeps_credentials(server: LoopbackServer) -> None:
    server.reply(Reply(302, b"", {"Location": server.url + "/api/v1/repositories/repo/branches/other"}))
    with ApiClient(config(server.url)) as client:
        ref = BranchesApi(client).get_branch("repo", "main")
    assert ref.id == "main"
    assert server.requests[1].path.endswith("/branches/other")
    assert server.requests[1].header("Authorization") is not None


def test_raw_upload_streams_with_content_length(server: LoopbackServer) -> None:
    server.handler = lambda request: STATS
    payload = b"0123456789" * 1000
    with ApiClient(config(server.url)) as client:
        ObjectsApi(client).upload_object(
            "repo", "main", "p", content=io.BytesIO(payload), _content_type="application/octet-stream"
        )
    request = server.requests[0]
    assert request.header("Content-Type") == "application/octet-stream"
    assert request.header("Content-Length") == str(len(payload))
    assert request.header("Transfer-Encoding") is None
    assert request.body == payload
