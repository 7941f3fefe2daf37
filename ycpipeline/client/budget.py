"""One API budget for every process and machine that calls YClients from the same address.

YClients limits each IP to 5 requests per second and 200 per minute. Every Dagster run, step process,
sensor tick and CLI command shares the warehouse, so the budget lives there: a sliding log of the send
times per budget key (`yclients.api_budget_slots`) and a shared "paused until" after a 429
(`yclients.api_budget`). docs/api-budget.md explains the choice over pyrate-limiter and what happens
when a process dies holding part of the budget.

Taking a slot is one short transaction under an advisory lock on the key: if both windows (and the
pause) allow one more request now, now is logged and the request leaves at once; otherwise the caller
learns how long until one fits, sleeps, and asks again. Times are the database's, so machines with
skewed clocks agree; and only the moment a request really leaves is logged, so a thread that wakes
late never crowds the requests after it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from ycpipeline.client.ratelimit import RateLimiter

log = logging.getLogger(__name__)

# Our windows are a little longer than the server's, so that jitter cannot squeeze two of our requests
# into one of its windows: a request reaches the server some milliseconds after its slot is logged (the
# commit, a thread scheduled late, the connection), and that delay varies.
SECOND_SLACK = 0.10
MINUTE_SLACK = 0.01

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('ycpipeline.api_budget:' || :key, 0))")
_FORGET = text("""
    DELETE FROM yclients.api_budget_slots
    WHERE key = :key AND slot_at < clock_timestamp() - make_interval(secs => :keep)
""")
# Seconds until one more request fits: after the pause, one window after the n-th most recent send.
_WAIT = text("""
    SELECT extract(epoch FROM greatest(
        (SELECT paused_until FROM yclients.api_budget WHERE key = :key),
        (SELECT slot_at FROM yclients.api_budget_slots WHERE key = :key
         ORDER BY slot_at DESC OFFSET :skip_second LIMIT 1) + make_interval(secs => :second),
        (SELECT slot_at FROM yclients.api_budget_slots WHERE key = :key
         ORDER BY slot_at DESC OFFSET :skip_minute LIMIT 1) + make_interval(secs => :minute)
    ) - clock_timestamp())
""")
_TAKE = text("INSERT INTO yclients.api_budget_slots (key, slot_at) VALUES (:key, clock_timestamp())")
_HOLD_OFF = text("""
    INSERT INTO yclients.api_budget (key, paused_until, updated_at)
    VALUES (:key, clock_timestamp() + make_interval(secs => :seconds), clock_timestamp())
    ON CONFLICT (key) DO UPDATE
    SET paused_until = greatest(api_budget.paused_until, excluded.paused_until), updated_at = excluded.updated_at
""")


class ApiBudget(Protocol):
    """What the client needs of a budget: wait for a send slot, and hold everyone off after a 429."""

    def acquire(self) -> None:
        """Block until one more request may be sent, and count it."""

    def hold_off(self, seconds: float) -> None:
        """Send nothing for `seconds` from now, in every process drawing on this budget."""


def budget_key(api_url: str) -> str:
    """The default budget key: the API's host and port (the limit is per our IP at that server)."""
    parts = urlsplit(api_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"


class PostgresBudget:
    """The shared budget of one key, kept in the warehouse; thread- and process-safe."""

    def __init__(
        self,
        engine: Engine,
        key: str,
        per_second: float,
        per_minute: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._engine = engine
        self.key = key
        self._limits = {
            "skip_second": max(1, int(per_second)) - 1,
            "second": 1.0 * (1 + SECOND_SLACK),
            "skip_minute": max(1, int(per_minute)) - 1,
            "minute": 60.0 * (1 + MINUTE_SLACK),
        }
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"PostgresBudget(key={self.key!r})"

    def _take(self) -> float:
        """Log a send now and return 0, or return the seconds until one fits."""
        with self._engine.begin() as conn:
            conn.execute(_LOCK, {"key": self.key})
            conn.execute(_FORGET, {"key": self.key, "keep": 2 * self._limits["minute"]})
            wait = conn.execute(_WAIT, {"key": self.key, **self._limits}).scalar()
            if wait is None or wait <= 0:
                conn.execute(_TAKE, {"key": self.key})
                return 0.0
        return float(wait)

    def acquire(self) -> None:
        """Wait until both windows and the shared pause allow one more request, and log it."""
        while (wait := self._take()) > 0:
            self._sleep(wait)

    def hold_off(self, seconds: float) -> None:
        """Pause the shared budget for `seconds` (never shortening a longer pause already set)."""
        with self._engine.begin() as conn:
            conn.execute(_HOLD_OFF, {"key": self.key, "seconds": seconds})


def open_budget(
    warehouse_url: str | None, key: str, per_second: float, per_minute: float
) -> tuple[ApiBudget, str]:
    """The shared budget when the warehouse holds it, else a process-local limiter; and a note saying which.

    For commands that must work before the warehouse exists (`ycpipeline check`). Runs use
    `PostgresBudget` directly, so a missing warehouse fails them instead of silently going local.
    """
    if warehouse_url:
        engine = create_engine(warehouse_url, hide_parameters=True)
        try:
            with engine.connect() as conn:
                ready = conn.execute(text("SELECT to_regclass('yclients.api_budget_slots')")).scalar()
        except SQLAlchemyError as exc:
            engine.dispose()
            reason = f"process-local (warehouse unreachable: {type(exc).__name__})"
            return RateLimiter(per_second, per_minute), reason
        if ready is not None:
            return PostgresBudget(engine, key, per_second, per_minute), f"shared in the warehouse (key {key})"
        engine.dispose()
        return RateLimiter(per_second, per_minute), "process-local (run `ycpipeline db upgrade` to share it)"
    return RateLimiter(per_second, per_minute), "process-local (WAREHOUSE_URL is not set)"
