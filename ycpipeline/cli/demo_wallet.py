"""The demo's app at the till: the user with the most points spends a quarter of them and holds a tenth for a
checkout, through the SQL functions the app calls; the nightly expiry then takes what is left of the lots
older than the demo's BONUS_EXPIRY_MONTHS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import Engine, text

from ycpipeline.cli.report import money, points
from ycpipeline.loyalty import wallet

DEMO_EXPIRY_MONTHS = 2  # of the demo's 90 days of history, the first month's points expire
CENT = Decimal("0.01")


@dataclass(frozen=True)
class TillVisit:
    """What the demo user did: who, what was spent and held, and under which external ids."""

    user_id: int
    spent: Decimal
    held: Decimal
    spend_id: str = "demo-order-1"
    hold_id: str = "demo-basket-1"


def visit_the_till(engine: Engine) -> TillVisit | None:
    """Spend and hold points of the user with the highest balance (None when nobody has any)."""
    with engine.begin() as conn:
        top = conn.execute(
            text(
                "SELECT user_id, available FROM loyalty.bonus_balances ORDER BY available DESC, user_id LIMIT 1"
            )
        ).one_or_none()
        if top is None or top.available < 2 * CENT:
            return None
        spent = max(CENT, (top.available / 4).quantize(CENT, ROUND_FLOOR))
        held = max(CENT, (top.available / 10).quantize(CENT, ROUND_FLOOR))
        visit = TillVisit(top.user_id, spent, held)
        wallet.spend(conn, visit.user_id, spent, visit.spend_id)
        wallet.hold(conn, visit.user_id, held, visit.hold_id, datetime.now(UTC) + timedelta(minutes=30))
    return visit


def wallet_summary(engine: Engine) -> dict[str, object]:
    """The ledger's points by fate, and the valued liability of each company's latest day."""
    with engine.connect() as conn:
        spent, held, expired, in_debt = conn.execute(
            text("""SELECT coalesce(sum(spent), 0), coalesce(sum(held), 0), coalesce(sum(expired), 0),
                           count(*) FILTER (WHERE balance < 0)
                    FROM loyalty.bonus_balances""")
        ).one()
        closing, valued = conn.execute(
            text("""
            SELECT coalesce(sum(closing), 0), coalesce(sum(liability_roubles), 0) FROM (
                SELECT DISTINCT ON (company_id) closing, liability_roubles FROM marts.loyalty_liability
                ORDER BY company_id, date DESC) latest""")
        ).one()
    return {
        "points spent": points(spent),
        "points held (open holds)": points(held),
        "points expired": points(expired),
        "users in debt": in_debt,
        "liability: outstanding points": points(closing),
        "liability: valued": money(valued),
    }
