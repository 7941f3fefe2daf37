"""The nightly expiry: holds past their time are written as released, and lots past BONUS_EXPIRY_MONTHS as
`expiry` entries of what is left of them (oldest first: `loyalty.bonus_lots`), in one transaction.

It takes the derivation's lock (a reversal and an expiry of the same lot must not both take its points)
and the lock of every user it touches, as the wallet's functions do, so it never races a spend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Connection, Engine, text

from ycpipeline.loyalty.ledger import LEDGER_LOCK


@dataclass(frozen=True)
class ExpiryPolicy:
    """BONUS_EXPIRY_MONTHS (0: points never expire) and BONUS_EXPIRY_NOTICE_DAYS: `Settings.expiry_policy()`
    builds it, the defaults are the settings'."""

    months: int
    notice_days: int


@dataclass
class ExpiryResult:
    """What one expiry wrote."""

    holds_released: int = 0
    lots_expired: int = 0
    points_expired: Decimal = Decimal("0.00")
    users: int = 0


def write_policy(conn: Connection, policy: ExpiryPolicy) -> None:
    """Store the rule where `loyalty.bonus_lots` and `loyalty.expiring_points` read it."""
    conn.execute(
        text("""
            INSERT INTO loyalty.bonus_policy (id, expiry_months, notice_days) VALUES (1, :m, :n)
            ON CONFLICT (id) DO UPDATE SET expiry_months = :m, notice_days = :n, updated_at = now()
            WHERE (loyalty.bonus_policy.expiry_months, loyalty.bonus_policy.notice_days) IS DISTINCT FROM (:m, :n)
        """),
        {"m": policy.months, "n": policy.notice_days},
    )


def expire_points(
    engine: Engine, policy: ExpiryPolicy, today: date | None = None, run_id: str | None = None
) -> ExpiryResult:
    """Release the expired holds and expire every lot whose expiry date is `today` (UTC) or earlier."""
    today = today or datetime.now(UTC).date()
    result = ExpiryResult()
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": LEDGER_LOCK})
        write_policy(conn, policy)
        # While points never expire, the lots (every user's) need not be read at all.
        lots = "UNION SELECT user_id FROM loyalty.bonus_lots WHERE expires_on <= :today AND free > 0"
        users = list(
            conn.execute(
                text(f"""
                    SELECT user_id FROM loyalty.bonus_holds WHERE state IN ('open', 'expired')
                      AND expires_at <= clock_timestamp()
                    {lots if policy.months else ""}
                    ORDER BY 1"""),
                {"today": today},
            ).scalars()
        )
        if not users:
            return result
        # In one order (the only place that locks several users), so two expiries cannot deadlock.
        result.holds_released = conn.execute(
            text("""
                SELECT coalesce(sum(loyalty.release_expired_holds(u)), 0) FROM (
                    SELECT u, loyalty.lock_bonus_user(u) FROM unnest(CAST(:users AS bigint[])) AS u ORDER BY u
                ) locked"""),
            {"users": users},
        ).scalar_one()
        # Read after the locks: a spend that committed meanwhile has consumed its lots.
        result.lots_expired, points, result.users = conn.execute(
            text("""
                WITH written AS (
                    INSERT INTO loyalty.bonus_ledger (company_id, lot_record_id, user_id, kind, amount, run_id)
                    SELECT company_id, record_id, user_id, 'expiry', -free, :run_id FROM loyalty.bonus_lots
                    WHERE user_id = ANY(:users) AND expires_on <= :today AND free > 0
                    ORDER BY user_id, earned_on, first_entry_id
                    RETURNING user_id, amount
                )
                SELECT count(*), coalesce(-sum(amount), 0), count(DISTINCT user_id) FROM written"""),
            {"users": users, "today": today, "run_id": run_id},
        ).one()
        result.points_expired = Decimal(points)
    return result
