"""marts.loyalty_liability rolls forward per company and day and equals the ledger on every one of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

from ycpipeline.loyalty import wallet
from ycpipeline.marts.checks import loyalty_liability_mismatches
from ycpipeline.marts.refresh import refresh_mart
from ycpipeline.settings import defaults
from ycpipeline_tests.conftest import ANCHOR

POLICY = defaults(marts_point_value=Decimal("2.00")).mart_policy()
ZONE = ZoneInfo(POLICY.fallback_zone)  # no company's zone is stored: the fallback's dates


def _entry(
    engine: Engine, kind: str, company_id: int, amount: str, days_ago: int, record_id: int | None
) -> None:
    """An entry of `kind` written `days_ago` days before the ANCHOR's noon, as the ledger then got it."""
    record = kind in ("accrual", "adjustment", "reversal")
    with engine.begin() as conn:
        conn.execute(
            text("""
                INSERT INTO loyalty.bonus_ledger (company_id, record_id, lot_record_id, user_id, kind, amount,
                                                  base_amount, rate, external_id, created_at)
                VALUES (:c, :r, :lot, 7, :k, :a, :base, :rate, :e, :at)"""),
            {
                "c": company_id,
                "r": record_id if record else None,
                "lot": record_id if kind == "expiry" else None,
                "k": kind,
                "a": Decimal(amount),
                "base": Decimal("1000.00") if record else None,
                "rate": Decimal("0.05") if record else None,
                "e": None if record or kind == "expiry" else f"{kind}-{company_id}-{days_ago}",
                "at": datetime(ANCHOR.year, ANCHOR.month, ANCHOR.day, 9, tzinfo=UTC)
                - timedelta(days=days_ago),
            },
        )


def _closing_per_ledger(engine: Engine, company_id: int, day: object) -> Decimal:
    with engine.connect() as conn:
        return conn.execute(
            text("""SELECT coalesce(sum(amount), 0) FROM loyalty.bonus_ledger
                    WHERE company_id = :c AND (created_at AT TIME ZONE :zone)::date <= :d"""),
            {"c": company_id, "zone": POLICY.fallback_zone, "d": day},
        ).scalar_one()


def test_the_roll_forward_equals_the_ledger_for_every_company_and_day(engine: Engine) -> None:
    for kind, company, amount, days_ago, record in [
        ("accrual", 1, "100.00", 20, 1),
        ("accrual", 2, "40.00", 19, 2),
        ("spend", 1, "-30.00", 15, None),
        ("adjustment", 1, "-10.00", 12, 1),
        ("expiry", 1, "-20.00", 10, 1),
        ("capture", 2, "-15.00", 10, None),
        ("accrual", 1, "60.00", 5, 3),
        ("reversal", 2, "-40.00", 3, 2),  # after 15 of its points were spent: company 2 owes 15 back
    ]:
        _entry(engine, kind, company, amount, days_ago, record)
    now = datetime.now(UTC)
    with engine.begin() as conn:  # an open hold: an entry without a company, which moves nothing
        wallet.hold(conn, 7, Decimal("1.00"), "basket-today", now + timedelta(minutes=30))
    refresh_mart(engine, "loyalty_liability", POLICY, full=True, now=now)
    with engine.begin() as conn:  # today, the app spends and the next refresh takes only what changed
        wallet.spend(conn, 7, Decimal("5.00"), "order-today")
    refresh_mart(engine, "loyalty_liability", POLICY, now=now)

    with engine.connect() as conn:
        rows = conn.execute(
            text("""SELECT company_id, date, opening, accrued, reversed, spent, expired, closing, outstanding,
                           redemption_rate, liability_roubles, outstanding_roubles
                    FROM marts.loyalty_liability ORDER BY company_id, date""")
        ).all()
        assert loyalty_liability_mismatches(conn) == 0
    today = now.astimezone(ZONE).date()
    assert {r.company_id for r in rows} == {1, 2}
    for company in (1, 2):
        days = [r for r in rows if r.company_id == company]
        assert days[-1].date == today
        assert [d.date for d in days] == [days[0].date + timedelta(n) for n in range(len(days))]  # no gaps
        before = Decimal("0.00")
        for r in days:
            assert r.opening == before
            assert r.opening + r.accrued - r.reversed - r.spent - r.expired == r.closing == r.outstanding
            assert r.closing == _closing_per_ledger(engine, company, r.date), (company, r.date)
            assert r.outstanding_roubles == r.closing * 2
            assert r.liability_roubles == (r.closing * 2 * r.redemption_rate).quantize(Decimal("0.01"))
            before = r.closing
    last = {r.company_id: r for r in rows if r.date == today}
    # Company 1: 30 spent, 20 expired by then, 5 spent today from its oldest lot: 35 of 55 known fates.
    assert (last[1].closing, last[1].spent) == (Decimal("95.00"), Decimal("5.00"))
    assert last[1].redemption_rate == (Decimal(35) / Decimal(55)).quantize(Decimal("0.0001"))
    # Company 2: its only fate known is a spend; its closing is the debt the reversal left.
    assert (last[2].closing, last[2].redemption_rate) == (Decimal("-15.00"), Decimal("1.0000"))
    first_day = {r.company_id: r for r in rows if r.date == (ANCHOR - timedelta(days=20))}
    assert first_day[1].accrued == Decimal("100.00")


def test_the_check_catches_a_day_that_does_not_roll_forward(engine: Engine) -> None:
    _entry(engine, "accrual", 1, "100.00", 3, 1)
    _entry(engine, "spend", 1, "-30.00", 2, None)
    refresh_mart(engine, "loyalty_liability", POLICY, full=True)
    with engine.begin() as conn:
        assert loyalty_liability_mismatches(conn) == 0
        conn.execute(
            text("""UPDATE marts.loyalty_liability SET opening = opening + 1
                    WHERE date = (SELECT min(date) + 1 FROM marts.loyalty_liability)""")
        )
        assert loyalty_liability_mismatches(conn) == 1
