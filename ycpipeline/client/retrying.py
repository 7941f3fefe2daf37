"""How one call retries: patient with 429s, bounded with 5xx and timeouts (tenacity).

A 429 means the API's window for our IP is full. The call waits for the window (`Retry-After` when
sent, else a backoff from one second up to a minute), tells the shared budget to hold every process
off for as long, and gives up only after `patience` seconds of 429s. 5xx answers, timeouts and broken
transfers keep their own bound: `max_attempts` tries within `max_seconds`. Neither kind of failure uses
up the other's allowance. Warnings say what happened and what is left, and only the final error says
that the retries are exhausted.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type

from ycpipeline.client.budget import ApiBudget
from ycpipeline.client.errors import RateLimitedError, TransientApiError

log = logging.getLogger("ycpipeline.client")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """The knobs of `call_with_retries`; the defaults fit the real API (`patience` is a setting)."""

    # 429s: waited for up to `patience` seconds in all (YCLIENTS_RATE_LIMIT_PATIENCE_SECONDS), each
    # wait at most `rate_limit_max_wait` unless the server asks for longer.
    patience: float
    max_attempts: int = 6
    max_seconds: float = 120.0
    backoff_base: float = 0.5
    rate_limit_backoff_base: float = 1.0
    rate_limit_max_wait: float = 60.0


@dataclass
class _Attempts:
    """What happened during one call, for the waits, the stop rule and the final message."""

    policy: RetryPolicy
    what: str
    budget: ApiBudget | None
    on_retry: Callable[[], None]
    rate_limited: int = 0
    first_429: float | None = None
    failures: int = 0
    first_failure: float | None = None

    def note(self, state: RetryCallState) -> None:
        # tenacity asks for the wait before it asks whether to stop: counting happens here, once.
        exc = state.outcome.exception() if state.outcome else None
        now = time.monotonic()
        if isinstance(exc, RateLimitedError):
            self.rate_limited += 1
            self.first_429 = self.first_429 if self.first_429 is not None else now
        else:
            self.failures += 1
            self.first_failure = self.first_failure if self.first_failure is not None else now

    def stop(self, state: RetryCallState) -> bool:
        now = time.monotonic()
        if isinstance(state.outcome.exception() if state.outcome else None, RateLimitedError):
            assert self.first_429 is not None
            return now - self.first_429 >= self.policy.patience
        assert self.first_failure is not None
        return (
            self.failures >= self.policy.max_attempts or now - self.first_failure >= self.policy.max_seconds
        )

    def wait(self, state: RetryCallState) -> float:
        self.note(state)
        exc = state.outcome.exception() if state.outcome else None
        asked = exc.retry_after if isinstance(exc, TransientApiError) else None
        if isinstance(exc, RateLimitedError):
            backoff = min(
                self.policy.rate_limit_backoff_base * 2 ** min(self.rate_limited - 1, 30),
                self.policy.rate_limit_max_wait,
            )
            # Never past the patience: the last try happens when patience runs out, not after it.
            assert self.first_429 is not None
            left = self.policy.patience - (time.monotonic() - self.first_429)
            return max(0.0, min(max(asked or 0.0, backoff * random.uniform(0.9, 1.1)), max(left, 0.0)))
        if asked is not None:
            return asked
        return min(self.policy.backoff_base * 2 ** min(self.failures - 1, 30), 30.0) * random.uniform(
            0.5, 1.5
        )

    def before_sleep(self, state: RetryCallState) -> None:
        self.on_retry()
        exc = state.outcome.exception() if state.outcome else None
        pause = state.upcoming_sleep
        if isinstance(exc, RateLimitedError):
            if self.budget is not None:
                # Other processes of this deployment hold off too, instead of meeting the same 429.
                self.budget.hold_off(pause)
            assert self.first_429 is not None
            left = self.policy.patience - (time.monotonic() - self.first_429)
            log.warning(
                "YClients answered HTTP 429 (rate limit) while reading %s (%d so far): every process of "
                "this deployment holds off for %.1f s; patience left %.0f s",
                self.what,
                self.rate_limited,
                pause,
                max(left, 0.0),
            )
        else:
            log.warning(
                "retrying %s in %.1f s (attempt %d of %d failed): %s",
                self.what,
                pause,
                self.failures,
                self.policy.max_attempts,
                exc,
            )

    def give_up(self, last: TransientApiError) -> TransientApiError:
        now = time.monotonic()
        if isinstance(last, RateLimitedError):
            assert self.first_429 is not None
            return RateLimitedError(
                f"YClients kept answering HTTP 429 (rate limit) while reading {self.what}: "
                f"{self.rate_limited} times over {now - self.first_429:.0f} s, each time waiting as "
                "asked and holding every process of this deployment off. Gave up after "
                f"YCLIENTS_RATE_LIMIT_PATIENCE_SECONDS={self.policy.patience:g}. Something else may be "
                "spending this IP's budget (another integration behind the same address), or "
                "YCLIENTS_RATE_LIMIT_PER_SECOND / _PER_MINUTE are above what the API allows.",
                status=429,
                api_message=last.api_message,
                retry_after=last.retry_after,
            )
        since = now - (self.first_failure or now)
        return TransientApiError(
            f"{last} Tried {self.failures} times over {since:.0f} s; retries are exhausted, try again later.",
            status=last.status,
            api_message=last.api_message,
            retry_after=last.retry_after,
        )


def call_with_retries(
    send: Callable[[], T],
    *,
    what: str,
    policy: RetryPolicy,
    budget: ApiBudget | None,
    on_retry: Callable[[], None] = lambda: None,
) -> T:
    """Run `send`, retrying `TransientApiError`s under `policy`; other errors pass straight through."""
    attempts = _Attempts(policy, what, budget, on_retry)
    retrying = Retrying(
        retry=retry_if_exception_type(TransientApiError),
        stop=attempts.stop,
        wait=attempts.wait,
        before_sleep=attempts.before_sleep,
        reraise=True,
    )
    try:
        return retrying(send)
    except TransientApiError as exc:
        raise attempts.give_up(exc) from None
