"""A records window in one comparable shape, as the sandbox holds it and as the warehouse stored it: what
the records tests compare after a refresh, a fault, a crash or a paging oddity."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Engine, text

from ycpipeline.normalize.values import to_e164, to_money
from ycpipeline_sandbox import Sandbox


def expected_records(sandbox: Sandbox, start: date, end: date) -> dict[int, tuple]:
    """Company 235564's records of `start`..`end` in the sandbox, by id: (visit date, attendance, deleted,
    total cost, client phone, staff id, comment)."""
    out = {}
    for r in sandbox.state.iter_records(235564, start, end):
        total = sum((to_money(s["cost"]) for s in r["services"]), Decimal("0.00"))
        phone = to_e164(r["client"]["phone"]) if r["client"] else None
        out[r["id"]] = (
            datetime.fromisoformat(r["datetime"]).date(),
            r["attendance"],
            r["deleted"],
            total,
            phone,
            r["staff_id"],
            r["comment"],
        )
    return out


def stored_records(engine: Engine) -> dict[int, tuple]:
    """Every record in `yclients.records`, by id, in the shape of `expected_records`."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("""SELECT record_id, visit_date, attendance, deleted, total_cost, client_phone,
                                           staff_id, comment FROM yclients.records""")
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}
