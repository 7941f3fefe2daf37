"""Read-only summaries of the warehouse for the CLI (demo summary, check-booking-sync)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from ycpipeline.warehouse.rules import completed_visit


def warehouse_summary(engine: Engine) -> dict[str, Any]:
    """Row counts and ledger totals of the warehouse."""
    with engine.connect() as conn:
        one = lambda sql: conn.execute(text(sql)).scalar_one()  # noqa: E731
        return {
            "services": one("SELECT count(*) FROM yclients.services WHERE removed_at IS NULL"),
            "staff": one("SELECT count(*) FROM yclients.staff WHERE removed_at IS NULL"),
            "records": one("SELECT count(*) FROM yclients.records"),
            "records_deleted": one("SELECT count(*) FROM yclients.records WHERE deleted"),
            "completed_visits": one(f"SELECT count(*) FROM yclients.records WHERE {completed_visit()}"),
            "record_services": one("SELECT count(*) FROM yclients.record_services"),
            "goods_transactions": one("SELECT count(*) FROM yclients.goods_transactions"),
            "rejected_rows": one("SELECT count(*) FROM yclients.rejected_rows"),
            "ledger_entries": one("SELECT count(*) FROM loyalty.bonus_ledger"),
            "app_users": one("SELECT count(*) FROM loyalty.app_users"),
            "users_with_code": one("SELECT count(*) FROM loyalty.app_users WHERE unique_code IS NOT NULL"),
            "first_visit": one("SELECT min(visit_date) FROM yclients.records"),
            "last_visit": one("SELECT max(visit_date) FROM yclients.records"),
        }


def money(amount: Any) -> str:
    """An amount of roubles as the summaries print it: thousands separated, two decimals, the unit."""
    return f"{amount:,.2f} RUB"


def points(amount: Any) -> str:
    """Bonus points as the summaries print them: thousands separated, two decimals."""
    return f"{amount:,.2f}"


def top_balances(engine: Engine, limit: int = 5) -> list[tuple[int, Any]]:
    """The highest bonus balances."""
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT user_id, balance FROM loyalty.bonus_balances ORDER BY balance DESC, user_id LIMIT :n"
                ),
                {"n": limit},
            )
        ]


def booking_sync_report(engine: Engine) -> dict[str, Any]:
    """Matching of completed visits to app users and the last successful loads."""
    from ycpipeline.loyalty.ledger import OWNERS_SQL

    with engine.connect() as conn:
        matched, unmatched, ambiguous = conn.execute(
            text(f"""
            SELECT count(*) FILTER (WHERE user_id IS NOT NULL),
                   count(*) FILTER (WHERE user_id IS NULL AND NOT ambiguous),
                   count(*) FILTER (WHERE ambiguous)
            FROM ({OWNERS_SQL}) o WHERE {completed_visit("o")}
        """)
        ).one()
        last_sync = conn.execute(
            text("SELECT max(finished_at) FROM yclients.sync_log WHERE entity = 'records'")
        ).scalar_one()
        last_ledger = conn.execute(text("SELECT max(created_at) FROM loyalty.bonus_ledger")).scalar_one()
        accrued, reversed_ = conn.execute(
            text("""
            SELECT coalesce(sum(amount) FILTER (WHERE amount > 0), 0), coalesce(-sum(amount) FILTER (WHERE amount < 0), 0)
            FROM loyalty.bonus_ledger""")
        ).one()
    return {
        "matched": matched,
        "unmatched": unmatched,
        "ambiguous": ambiguous,
        "last_sync": last_sync,
        "last_ledger_entry": last_ledger,
        "accrued": accrued,
        "reversed": reversed_,
    }


def marts_summary(engine: Engine, days: int = 30) -> dict[str, Any]:
    """What the marts say about the last `days` days up to today (the demo's morning report); the
    outstanding points are each company's latest day, which ends at its own local date."""
    with engine.connect() as conn:
        window = {"days": days}
        visits, revenue, paid, no_shows = conn.execute(
            text("""
            SELECT coalesce(sum(done_visits), 0), coalesce(sum(service_revenue), 0),
                   coalesce(sum(paid_total), 0), coalesce(sum(no_shows), 0)
            FROM marts.branch_daily
            WHERE date > current_date - :days AND date <= current_date"""),
            window,
        ).one()
        booked, scheduled = conn.execute(
            text("""
            SELECT coalesce(sum(booked_minutes), 0), coalesce(sum(scheduled_minutes), 0)
            FROM marts.staff_utilization_daily
            WHERE scheduled_minutes > 0 AND date > current_date - :days AND date <= current_date"""),
            window,
        ).one()
        statuses: dict[str, int] = dict(
            conn.execute(text("SELECT status, count(*) FROM marts.client_lifecycle GROUP BY status")).all()
        )
        outstanding = conn.execute(
            text("""
            SELECT coalesce(sum(outstanding), 0) FROM (
                SELECT DISTINCT ON (company_id) outstanding FROM marts.loyalty_liability
                ORDER BY company_id, date DESC) latest""")
        ).scalar_one()
    return {
        f"completed visits, last {days} days": visits,
        "service revenue": money(revenue),
        "paid": money(paid),
        "average check": money(revenue / visits) if visits else None,
        "no-show rate": f"{no_shows / (visits + no_shows):.2%}" if visits + no_shows else None,
        "staff occupancy": f"{booked / scheduled:.1%}" if scheduled else None,
        "clients by status": ", ".join(f"{s} {n}" for s, n in sorted(statuses.items())) or None,
        "outstanding points": points(outstanding),
    }
