"""Test helpers that write records, app users and accruals straight into the warehouse, as a load, the app or
the ledger's derivation would."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, Engine, text

# The app user whose points the wallet tests and the loyalty CLI's move.
USER = 7

RECORD_UPSERT = text("""
    INSERT INTO yclients.records (company_id, record_id, visit_date, starts_at, duration_seconds,
        client_phone, comment, attendance, deleted, total_cost, synced_at, raw)
    VALUES (1, :r, '2026-11-01', now(), 3600, :p, :c, :a, :d, :cost, now(), '{}')
    ON CONFLICT (company_id, record_id) DO UPDATE SET attendance = :a, deleted = :d, total_cost = :cost,
        client_phone = :p, comment = :c""")


def put_record(
    target: Engine | Connection,
    record_id: int,
    cost: str,
    *,
    attendance: int = 1,
    deleted: bool = False,
    phone: str | None = None,
    comment: str = "",
) -> None:
    """Insert or update a record of company 1: on an Engine in its own transaction, on a Connection in
    the connection's open transaction (left uncommitted)."""
    params = {"r": record_id, "cost": cost, "a": attendance, "d": deleted, "p": phone, "c": comment}
    if isinstance(target, Engine):
        with target.begin() as conn:
            conn.execute(RECORD_UPSERT, params)
    else:
        target.execute(RECORD_UPSERT, params)


def put_user(engine: Engine, user_id: int, code: str | None = None, phone: str | None = None) -> None:
    """Insert an app user as the app would."""
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO loyalty.app_users (user_id, unique_code, phone) VALUES (:u, :c, :p)"),
            {"u": user_id, "c": code, "p": phone},
        )


def accrue(
    engine: Engine,
    record_id: int,
    amount: str,
    at: datetime | None = None,
    company_id: int = 1,
    user_id: int = USER,
) -> None:
    """An accrual of a record as the derivation writes it, `at` a past moment when given."""
    with engine.begin() as conn:
        conn.execute(
            text("""
                INSERT INTO loyalty.bonus_ledger (company_id, record_id, user_id, kind, amount, base_amount, rate,
                                                  created_at)
                VALUES (:c, :r, :u, 'accrual', :a, :a * 20, 0.05, coalesce(:at, now()))"""),
            {"c": company_id, "r": record_id, "u": user_id, "a": Decimal(amount), "at": at},
        )


def ledger_sum(engine: Engine, record_id: int) -> Decimal:
    """What the ledger holds for a record of company 1."""
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT coalesce(sum(amount), 0) FROM loyalty.bonus_ledger WHERE record_id = :r"),
            {"r": record_id},
        ).scalar_one()


def queued(engine: Engine) -> set[int]:
    """Record ids waiting in the ledger queue."""
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT record_id FROM loyalty.ledger_queue")).scalars())
