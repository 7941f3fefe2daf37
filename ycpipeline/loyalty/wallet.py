"""Spending, holds and balances from Python: thin calls of the SQL functions the app calls itself.

The functions live in the database (`sql/wallet.sql`, installed by migration 0010), so the app, the
operators' `ycpipeline loyalty` commands and the tests all go through the same locks and checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from ycpipeline.warehouse.sql_files import read_sql

# SQLSTATEs the wallet raises: insufficient points, an external id naming another request, no such hold,
# a hold already closed; then invalid arguments and a wrong isolation level.
WALLET_ERRORS = {"LY001", "LY002", "LY003", "LY004", "22023", "25001"}
CENT = Decimal("0.01")


class WalletError(RuntimeError):
    """A request the wallet refused (the message says why); nothing was written."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def wallet_sql() -> str:
    """The wallet's views and functions as this version of the code defines them."""
    return read_sql("ycpipeline.loyalty", "wallet.sql")


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except DBAPIError as error:
        sqlstate = getattr(error.orig, "sqlstate", None)
        if sqlstate not in WALLET_ERRORS:
            raise
        diag = getattr(error.orig, "diag", None)
        raise WalletError(getattr(diag, "message_primary", None) or str(error.orig), sqlstate) from None


def _call(conn: Connection, sql: str, params: dict[str, object]) -> int:
    with _refusals():
        entry_id: int = conn.execute(text(sql), params).scalar_one()
    return entry_id


def spend(conn: Connection, user_id: int, amount: Decimal, external_id: str) -> int:
    """Spend `amount` points of the user now; the spend's entry id (the same one for a retry)."""
    return _call(
        conn,
        "SELECT loyalty.spend_points(:user_id, :amount, :external_id)",
        {"user_id": user_id, "amount": amount, "external_id": external_id},
    )


def hold(conn: Connection, user_id: int, amount: Decimal, external_id: str, expires_at: datetime) -> int:
    """Reserve `amount` points until `expires_at`; the hold's entry id."""
    return _call(
        conn,
        "SELECT loyalty.hold_points(:user_id, :amount, :external_id, :expires_at)",
        {"user_id": user_id, "amount": amount, "external_id": external_id, "expires_at": expires_at},
    )


def capture(conn: Connection, external_id: str) -> int:
    """Spend what the hold reserved; the capture's entry id."""
    return _call(conn, "SELECT loyalty.capture_hold(:external_id)", {"external_id": external_id})


def release(conn: Connection, external_id: str) -> int:
    """Give back what the hold reserved; the release's entry id."""
    return _call(conn, "SELECT loyalty.release_hold(:external_id)", {"external_id": external_id})


@dataclass(frozen=True)
class Balance:
    """One user's points as `loyalty.bonus_balances` and `loyalty.expiring_points` show them."""

    user_id: int
    balance: Decimal
    available: Decimal
    held: Decimal
    accrued: Decimal
    reversed: Decimal
    spent: Decimal
    expired: Decimal
    expiring: list[tuple[date, Decimal]]


def balance(conn: Connection, user_id: int) -> Balance:
    """The user's balance (all zero for a user without entries) and what expires soon."""
    row = conn.execute(
        text("""SELECT balance, available, held, coalesce(accrued_total, 0), reversed_total, spent, expired
                FROM loyalty.bonus_balances WHERE user_id = :u"""),
        {"u": user_id},
    ).one_or_none()
    expiring = conn.execute(
        text("SELECT expires_on, amount FROM loyalty.expiring_points WHERE user_id = :u ORDER BY expires_on"),
        {"u": user_id},
    ).all()
    # In kopecks, whatever scale a sum or a default zero comes with.
    balance_, available, held, accrued, reversed_, spent, expired = (
        Decimal(v).quantize(CENT) for v in (row or (0,) * 7)
    )
    return Balance(
        user_id, balance_, available, held, accrued, reversed_, spent, expired, [(d, a) for d, a in expiring]
    )
