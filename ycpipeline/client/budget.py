"""One API budget for every process and machine that calls YClients from the same address.

YClients limits each IP to 5 requests per second and 200 per minute. Every Dagster run, step process,
sensor tick and CLI command shares the warehouse, so the budget lives there: a sliding log of reserved
send times per budget key (`yclients.api_budget_slots`) and a shared "paused until" after a 429
(`yclients.api_budget`). docs/api-budget.md explains the choice over pyrate-limiter and what happens
when a process dies holding part of the budget.

A reservation is one transaction under an advisory lock on the key: it takes the earliest time that
keeps both windows within their limits and after every earlier reservation (first come, first
served), on the database's clock, so machines with skewed clocks agree. The caller sleeps until then.
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
# into one of its windows: a request leaves some milliseconds after its reserved time (a thread waking
# under a busy interpreter, the pause check, the connection), and that delay varies. Measured: at 5 %
# (50 ms per second) a busy sync met an occasional 429; 10 % leaves 100 ms.
SECOND_SLACK = 0.10
MINUTE_SLACK = 0.01
# A thread that wakes later than this after its reserved time takes a new slot rather than send late.
LATE_TOLERANCE = 0.04

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('ycpipeline.api_budget:' || :key, 0))")
_FORGET = text("""
    DELETE FROM yclients.api_budget_slots
    WHERE key = :key AND slot_at < clock_timestamp() - make_interval(secs => :keep)
""")
# The n-th most recent reservation plus its window is the earliest time one more request fits.
_RESERVE = text("""
    INSERT INTO yclients.api_budget_slots (key, slot_at)
    SELECT :key, greatest(
        clock_timestamp(),
        (SELECT paused_until FROM yclients.api_budget WHERE key = :key),
        (SELECT max(slot_at) FROM yclients.api_budget_slots WHERE key = :key),
        (SELECT slot_at FROM yclients.api_budget_slots WHERE key = :key
         ORDER BY slot_at DESC OFFSET :skip_second LIMIT 1) + make_interval(secs => :second),
        (SELECT slot_at FROM yclients.api_budget_slots WHERE key = :key
         ORDER BY slot_at DESC OFFSET :skip_minute LIMIT 1) + make_interval(secs => :minute))
    RETURNING extract(epoch FROM slot_at - clock_timestamp())
""")
_PAUSED_FOR = text("""
    SELECT coalesce(extract(epoch FROM paused_until - clock_timestamp()), 0)
    FROM yclients.api_budget WHERE key = :key
""")
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

    def _reserve(self) -> float:
        with self._engine.begin() as conn:
            conn.execute(_LOCK, {"key": self.key})
            conn.execute(_FORGET, {"key": self.key, "keep": 2 * self._limits["minute"]})
            wait = conn.execute(_RESERVE, {"key": self.key, **self._limits}).scalar_one()
        return float(wait)

    def _paused_for(self) -> float:
        with self._engine.connect() as conn:
            left = conn.execute(_PAUSED_FOR, {"key": self.key}).scalar()
        return float(left or 0)

    def acquire(self) -> None:
        """Reserve the earliest slot both windows allow and sleep until it.

        A slot is given up for a new one when another process's 429 paused the budget meanwhile, or when
        this thread woke too late to use it (a busy interpreter): a request sent well after its slot would
        crowd the ones reserved after it. A given-up slot still counts, so the budget errs on the side of
        sending less.
        """
        while True:
            asked = time.monotonic()
            wait = self._reserve()
            if wait <= 0:
                return
            self._sleep(wait)
            if self._paused_for() > 0:
                continue
            if time.monotonic() - (asked + wait) <= LATE_TOLERANCE:
                return
            log.debug(
                "woke %.3f s after the reserved send time: reserving again", time.monotonic() - asked - wait
            )

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
