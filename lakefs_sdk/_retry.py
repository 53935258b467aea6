"""When to retry a request, and how long to wait first.

Designed for what lakeFS does: it answers throttling with 429, KV throttling with 503
and a locked branch with 500, and never sends ``Retry-After`` (proxies may). 409 ("already
exists") and 412 (failed ``If-None-Match``/``If-Match``) are answers, never retried.

* connection failures before the request left (refused, DNS, connect timeout): always;
* read timeouts and connection resets: only for idempotent methods, or a POST made
  conditional with ``If-None-Match`` (it cannot apply twice);
* statuses 408, 429, 500, 502, 503, 504: same method rule;
* TLS verification failures: never.

Each transport (``rest.py`` for urllib3, ``aio/rest.py`` for aiohttp) only says what
happened, as one of the outcomes below, to an :class:`Attempts` (the state of one
request's retries); the decisions, the waits and the log line are this module's, so a
transport's ``send`` only sends, sleeps and loops::

    attempts = policy.attempts(method, url, headers, total)
    while True:
        try:
            response = <send, with attempts.attempt_total() as the whole-attempt timeout when total is set>
        except <transport error> as error:
            wait = attempts.after_failure(outcome_of(error), can_resend(body), repr(error))
            if wait is None:
                raise <the connection error>
            <sleep wait>; continue
        wait = attempts.after_response(response.status, response.headers, can_resend(body))
        if wait is None:
            return response
        <release the response>; <sleep wait>

A transport may make the ``Attempts`` only when it needs one, as both do: at once when a
total is given (the deadline starts with the call), else after a failure or a status in
``RETRY_STATUSES`` (no other status is ever retried). Most calls then decide nothing.


Waits grow exponentially with jitter (0.5 s, 1 s, 2 s ... capped at 8 s by default); a
sane ``Retry-After`` (seconds or HTTP-date) replaces the computed wait, capped.

**A total timeout is a deadline.** A call given ``_request_timeout=T`` (seconds for the
whole call) must not run much past ``T``, retries and waits included. Its ``Attempts``
hold the deadline, ``T`` after the call started: no attempt starts after it, a wait that
would reach it is not waited (the last failure or answer is the call's result at once:
after such a wait no attempt could start), and each attempt after the first is given the
time left as its own total. Without a total (the configured timeouts, or a
``(connect, read)`` pair, which limit each attempt), ``deadline`` is None and the clock
is never read.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import time
from typing import Callable, Mapping, Optional, Protocol, Tuple

from lakefs_sdk._redact import redact_text, redact_url

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# A Retry-After longer than this is treated as garbage and ignored.
ABSURD_RETRY_AFTER = 24 * 3600.0
# The least time an attempt is given, should a wait overshoot the deadline: a timeout of
# zero would make a socket non-blocking rather than fail at once.
MIN_ATTEMPT_SECONDS = 0.001

# What a transport knows about a request that failed without a response.
NOT_SENT = "not sent"  # no connection was made: safe to send again, whatever the request
TLS_FAILED = "tls failed"  # the server's identity could not be verified: another try cannot help
MAYBE_SENT = "maybe sent"  # reset, closed or timed out after the request may have arrived


logger = logging.getLogger("lakefs_sdk")


class _RetrySettings(Protocol):
    max_retries: int
    retry_backoff: float
    retry_backoff_max: float
    retry_after_max: float


class RetryPolicy:
    """Retry decisions and waits for one request."""

    __slots__ = ("_random", "backoff", "backoff_max", "max_retries", "retry_after_max")

    def __init__(
        self,
        max_retries: int,
        backoff: float,
        backoff_max: float,
        retry_after_max: float,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.max_retries = max(0, int(max_retries))
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self._random = rng

    @staticmethod
    def may_resend(method: str, headers: Mapping[str, str]) -> bool:
        """Whether a request that may have reached the server can be sent again safely."""
        if method in IDEMPOTENT_METHODS:
            return True
        return any(name.lower() == "if-none-match" for name in headers)

    def retry_failure(
        self, retries: int, outcome: str, method: str, headers: Mapping[str, str], resendable: bool
    ) -> bool:
        """Whether to try again after attempt ``retries + 1`` failed with no response (``outcome``)."""
        if retries >= self.max_retries or outcome == TLS_FAILED:
            return False
        return outcome == NOT_SENT or (resendable and self.may_resend(method, headers))

    def retry_response(self, retries: int, status: int, method: str, headers: Mapping[str, str]) -> bool:
        """Whether attempt ``retries + 1``, answered with ``status``, is worth another one.

        The caller also checks that the body can be sent again (last: it is the rare case).
        """
        return retries < self.max_retries and status in RETRY_STATUSES and self.may_resend(method, headers)

    def delay(self, retry_number: int, retry_after: Optional[str] = None, now: Optional[float] = None) -> float:
        """Seconds to wait before retry number ``retry_number`` (1 for the first retry)."""
        server_wait = parse_retry_after(retry_after, now) if retry_after else None
        if server_wait is not None:
            return min(server_wait, self.retry_after_max)
        base = min(self.backoff * 2.0 ** (retry_number - 1), self.backoff_max)
        return base * (1 - 0.25 * self._random())

    def attempts(
        self, method: str, url: str, headers: Mapping[str, str], total: Optional[float] = None
    ) -> Attempts:
        """The retry state of one request, to be asked after each attempt.

        ``total``: seconds for the whole call, retries included (its deadline starts now);
        None for no deadline.
        """
        return Attempts(self, method, url, headers, total)

    def sleep(self, seconds: float) -> None:
        """Wait between attempts (a method so tests can count instead of sleeping)."""
        if seconds > 0:
            time.sleep(seconds)

    async def sleep_async(self, seconds: float) -> None:
        """Wait between attempts without blocking the event loop (the async transport's ``sleep``)."""
        if seconds > 0:
            import asyncio  # only an async caller gets here: `import lakefs_sdk` stays without asyncio

            await asyncio.sleep(seconds)


def parse_retry_after(value: str, now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait according to a ``Retry-After`` header, or None when it is unusable.

    Accepts delta-seconds and HTTP-dates; refuses NaN, infinity, negative values and
    anything beyond a day. Never raises.
    """
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
        seconds = max(seconds, 0.0)
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0 or seconds > ABSURD_RETRY_AFTER:
        return None
    return seconds


class Attempts:
    """The retries of one request so far, and the decision after each attempt (sans-I/O).

    Both transports drive one per ``send``: after an attempt they report what happened and
    get back the seconds to wait before the next attempt, or None to stop (raise the
    failure, or return the response). ``retries`` is the count of attempts sent again.

    ``total`` (seconds for the whole call) sets ``deadline``, on ``clock``, ``total`` from
    now: see the module docstring. The transports give each attempt ``attempt_total()``.
    """

    __slots__ = ("_clock", "deadline", "headers", "method", "policy", "retries", "url")

    def __init__(
        self,
        policy: RetryPolicy,
        method: str,
        url: str,
        headers: Mapping[str, str],
        total: Optional[float] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.method = method
        self.url = url
        self.headers = headers
        self.retries = 0
        self._clock = clock
        self.deadline: Optional[float] = None if total is None else clock() + total

    def attempt_total(self) -> Optional[float]:
        """Seconds the next attempt may take in all: the time left before the deadline.

        None without a deadline; never less than ``MIN_ATTEMPT_SECONDS``.
        """
        deadline = self.deadline
        if deadline is None:
            return None
        return max(deadline - self._clock(), MIN_ATTEMPT_SECONDS)

    def after_failure(self, outcome: str, resendable: bool, why: str) -> Optional[float]:
        """An attempt got no response (``outcome``, one of the constants above): seconds to wait, or None."""
        if not self.policy.retry_failure(self.retries, outcome, self.method, self.headers, resendable):
            return None
        return self._next(why, None)

    def after_response(self, status: int, headers: Mapping[str, str], resendable: bool) -> Optional[float]:
        """An attempt was answered with ``status``: seconds to wait before another, or None to take it.

        A ``Retry-After`` in ``headers`` sets the wait when it is sane.
        """
        if not (self.policy.retry_response(self.retries, status, self.method, self.headers) and resendable):
            return None
        return self._next(f"status {status}", headers.get("Retry-After"))

    def _next(self, why: str, retry_after: Optional[str]) -> Optional[float]:
        wait = self.policy.delay(self.retries + 1, retry_after)
        deadline = self.deadline
        if deadline is not None and wait >= deadline - self._clock():
            logger.info(
                "not retrying %s %s after %s: the call's timeout ends before a retry could start",
                self.method,
                redact_url(self.url),
                redact_text(why),
            )
            return None
        self.retries += 1
        logger.info(
            "retrying %s %s (retry %d) after %s", self.method, redact_url(self.url), self.retries, redact_text(why)
        )
        return wait


class PolicyCache:
    """The ``RetryPolicy`` of a configuration, rebuilt only when its retry settings change.

    ``configuration`` is anything with ``max_retries``, ``retry_backoff``,
    ``retry_backoff_max`` and ``retry_after_max`` (a ``Configuration``).
    """

    __slots__ = ("_key", "_policy")

    def __init__(self) -> None:
        self._key: Optional[Tuple[int, float, float, float]] = None
        self._policy: Optional[RetryPolicy] = None

    def get(self, configuration: _RetrySettings) -> RetryPolicy:
        """The policy for the current settings of ``configuration``."""
        c = configuration
        key = (c.max_retries, c.retry_backoff, c.retry_backoff_max, c.retry_after_max)
        policy = self._policy
        if policy is None or key != self._key:
            policy = self._policy = RetryPolicy(*key)
            self._key = key
        return policy
