"""The core's shared decisions (the import rules are in ``test_architecture.py``).

* the retry decisions are one sans-I/O object (``_retry.Attempts``) both transports drive;
* the "can this body be sent again" test and the HTML test are each written once.
"""

from __future__ import annotations

import logging
from typing import Optional

import pytest

from lakefs_sdk._retry import MAYBE_SENT, NOT_SENT, TLS_FAILED, Attempts, RetryPolicy
from lakefs_sdk._transport import can_resend, expected_length
from lakefs_sdk._upload import UploadBody, UploadSource
from lakefs_sdk.exceptions import looks_like_html


def policy(max_retries: int = 3) -> RetryPolicy:
    return RetryPolicy(max_retries, 0.5, 8.0, 60.0, rng=lambda: 0.0)


def test_attempts_wait_longer_each_time_then_stop() -> None:
    attempts = policy(3).attempts("GET", "http://h/x", {})
    waits = [attempts.after_response(503, {}, True) for _ in range(4)]
    assert waits == [0.5, 1.0, 2.0, None] and attempts.retries == 3


def test_attempts_take_a_sane_retry_after_and_log_the_retry(caplog: pytest.LogCaptureFixture) -> None:
    attempts = policy().attempts("GET", "http://AKIA:secret@h/x", {})
    with caplog.at_level(logging.INFO, logger="lakefs_sdk"):
        assert attempts.after_response(429, {"Retry-After": "7"}, True) == 7.0
    assert "retry 1" in caplog.text and "secret" not in caplog.text
    assert attempts.after_response(429, {"Retry-After": "-1"}, True) == 1.0  # garbage: computed wait


@pytest.mark.parametrize(
    ("method", "headers", "outcome", "resendable", "retried"),
    [
        ("POST", {}, NOT_SENT, False, True),  # never left: safe whatever the request
        ("POST", {}, MAYBE_SENT, True, False),  # may have arrived: a POST is not sent twice
        ("POST", {"If-None-Match": "*"}, MAYBE_SENT, True, True),  # conditional: cannot apply twice
        ("GET", {}, MAYBE_SENT, True, True),
        ("PUT", {}, MAYBE_SENT, False, False),  # a body that cannot be sent again
        ("GET", {}, TLS_FAILED, True, False),  # another try cannot help
    ],
)
def test_attempts_after_a_failure(
    method: str, headers: dict, outcome: str, resendable: bool, retried: bool
) -> None:
    wait: Optional[float] = policy().attempts(method, "http://h/x", headers).after_failure(outcome, resendable, "x")
    assert (wait is not None) is retried


def test_statuses_that_are_answers_are_not_retried() -> None:
    attempts = Attempts(policy(), "GET", "http://h/x", {})
    assert [attempts.after_response(s, {}, True) for s in (200, 404, 409, 412)] == [None] * 4
    assert attempts.after_response(503, {}, False) is None  # a body that cannot go again
    assert attempts.retries == 0


def test_can_resend() -> None:
    assert can_resend(None) and can_resend(b"x")
    rewindable = UploadBody(UploadSource(b"data"))
    once = UploadBody(UploadSource(iter([b"a"])))
    assert can_resend(rewindable) and can_resend(once)
    list(once.iterate())
    assert can_resend(rewindable) and not can_resend(once)


def test_html_is_recognised_from_the_header_or_the_body() -> None:
    assert looks_like_html(b"", "text/html; charset=utf-8")
    assert looks_like_html(b"  <!DOCTYPE html><p>", None)
    assert looks_like_html("<html><body>", "application/octet-stream")
    assert not looks_like_html(b'{"message": "<html>"}', "application/json")
    assert not looks_like_html(None, None)


def test_expected_length() -> None:
    assert expected_length({"Content-Length": "12"}) == 12
    assert expected_length({"Content-Length": "12", "Content-Encoding": "gzip"}) is None
    assert expected_length({}) is None
