"""The deadline of a call with a total timeout (``_request_timeout=T``), decided by ``Attempts``
on a fake clock: no attempt starts after ``start + T``, no wait reaches past it, and each
attempt after the first gets the time that is left."""

from __future__ import annotations

from typing import List

import pytest

from lakefs_sdk._retry import MAYBE_SENT, MIN_ATTEMPT_SECONDS, NOT_SENT, Attempts, RetryPolicy


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now
        self.reads: List[float] = []

    def __call__(self) -> float:
        self.reads.append(self.now)
        return self.now


def policy(max_retries: int = 5) -> RetryPolicy:
    return RetryPolicy(max_retries, 0.5, 8.0, 60.0, rng=lambda: 0.0)  # waits 0.5, 1, 2, 4 ...


def test_without_a_total_there_is_no_deadline_and_the_clock_is_never_read() -> None:
    clock = Clock()
    attempts = Attempts(policy(), "GET", "http://h/x", {}, None, clock)
    assert attempts.deadline is None and attempts.attempt_total() is None
    assert [attempts.after_failure(NOT_SENT, True, "x") for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, None]
    assert clock.reads == []


def test_the_deadline_is_the_total_from_the_start() -> None:
    clock = Clock(100.0)
    attempts = Attempts(policy(), "GET", "http://h/x", {}, 10.0, clock)
    assert attempts.deadline == 110.0
    assert attempts.attempt_total() == 10.0


def test_each_retry_gets_the_time_left() -> None:
    clock = Clock(100.0)
    attempts = Attempts(policy(), "GET", "http://h/x", {}, 10.0, clock)
    clock.now = 103.0  # the first attempt failed after 3 s
    assert attempts.after_failure(MAYBE_SENT, True, "reset") == 0.5
    clock.now = 103.5  # after the wait
    assert attempts.attempt_total() == pytest.approx(6.5)
    clock.now = 108.0
    assert attempts.after_response(503, {}, True) == 1.0
    clock.now = 109.0
    assert attempts.attempt_total() == pytest.approx(1.0)
    assert attempts.retries == 2


def test_a_wait_that_reaches_the_deadline_is_not_waited() -> None:
    clock = Clock(100.0)
    attempts = Attempts(policy(), "GET", "http://h/x", {}, 10.0, clock)
    clock.now = 109.6  # 0.4 s left, the next wait is 0.5 s: no attempt could start in time
    assert attempts.after_response(503, {}, True) is None
    assert attempts.after_failure(NOT_SENT, True, "refused") is None
    assert attempts.retries == 0


def test_a_wait_of_exactly_the_time_left_leaves_none_for_an_attempt() -> None:
    clock = Clock(100.0)
    attempts = Attempts(policy(), "GET", "http://h/x", {}, 10.0, clock)
    clock.now = 109.5
    assert attempts.after_failure(NOT_SENT, True, "refused") is None


def test_no_attempt_starts_after_the_deadline() -> None:
    clock = Clock(100.0)
    attempts = Attempts(policy(), "GET", "http://h/x", {}, 1.0, clock)
    clock.now = 101.2  # the first attempt ran past the deadline (a slow body, a coarse timer)
    assert attempts.after_failure(NOT_SENT, True, "refused") is None
    assert attempts.after_response(500, {}, True) is None


def test_a_retry_after_that_ends_past_the_deadline_is_not_honoured_by_waiting() -> None:
    clock = Clock(100.0)
    attempts = Attempts(policy(), "GET", "http://h/x", {}, 10.0, clock)
    clock.now = 101.0
    assert attempts.after_response(429, {"Retry-After": "30"}, True) is None  # the answer is taken
    assert attempts.after_response(429, {"Retry-After": "2"}, True) == 2.0  # 9 s left: waited


def test_the_attempt_total_never_reaches_zero() -> None:
    """An attempt must get a usable timeout: zero would make a socket non-blocking."""
    clock = Clock(100.0)
    attempts = Attempts(policy(), "GET", "http://h/x", {}, 1.0, clock)
    clock.now = 100.9
    assert attempts.after_failure(NOT_SENT, True, "refused") is None  # 0.1 s left < 0.5 s wait
    clock.now = 101.5  # a sleep that overshot (as a real one may)
    assert attempts.attempt_total() == MIN_ATTEMPT_SECONDS


def test_the_policy_starts_the_deadline_when_asked_for_attempts() -> None:
    assert policy().attempts("GET", "http://h/x", {}).deadline is None
    attempts = policy().attempts("GET", "http://h/x", {}, 5.0)
    assert attempts.deadline is not None and 0 < (attempts.attempt_total() or 0) <= 5.0
