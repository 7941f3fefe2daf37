"""Target 5: ledger derivation time grows with the changed records, not with the table."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine, text

from bench.common import empty, show, timer
from ycpipeline.loyalty.ledger import derive_ledger

RATE = Decimal("0.05")


def _fill(engine: Engine, records: int, users: int) -> None:
    """`records` completed visits, a third of them by clients who are app users (by phone or code)."""
    empty(engine)
    with engine.begin() as conn:
        conn.execute(
            text("""
            INSERT INTO loyalty.app_users (user_id, unique_code, phone)
            SELECT u, CASE WHEN u % 2 = 0 THEN 'C' || u END, '+7916' || lpad(u::text, 7, '0')
            FROM generate_series(1, :users) AS u"""),
            {"users": users},
        )
        conn.execute(
            text("""
            INSERT INTO yclients.records (company_id, record_id, visit_date, starts_at, duration_seconds,
                client_phone, comment, attendance, deleted, total_cost, synced_at, raw)
            SELECT 1, r, date '2026-01-01' + (r % 300), now(), 3600,
                   '+7916' || lpad((r % (:users * 3))::text, 7, '0'),
                   CASE WHEN r % 5 = 0 THEN 'код C' || (r % :users) ELSE 'без кода' END,
                   CASE WHEN r % 10 = 0 THEN -1 ELSE 1 END, false, 500 + (r % 4000), now(), '{}'
            FROM generate_series(1, :records) AS r"""),
            {"records": records, "users": users},
        )
        conn.execute(text("ANALYZE yclients.records"))


def _change(engine: Engine, changed: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("""
            UPDATE yclients.records SET
                attendance = CASE WHEN record_id % 2 = 0 THEN -attendance ELSE attendance END,
                total_cost = CASE WHEN record_id % 2 = 1 THEN total_cost + 100 ELSE total_cost END
            WHERE record_id <= :n"""),
            {"n": changed},
        )


def run(engine: Engine, sizes: tuple[int, int], changed: int, users: int) -> dict[str, float]:
    """Full derivation, then an incremental one after `changed` edits, at two table sizes."""
    results = []
    for size in sizes:
        _fill(engine, size, users)
        with timer() as full:
            first = derive_ledger(engine, RATE)
        _change(engine, changed)
        with timer() as incremental:
            second = derive_ledger(engine, RATE)
        results.append((size, full[0], incremental[0], first.entries, second.entries))
    (small, s_full, s_inc, s_entries, s_changed), (large, l_full, l_inc, l_entries, l_changed) = results
    show(
        f"ledger: {users:,} app users, {changed:,} records changed after the first derivation",
        [
            (f"first (full) derivation over {small:,} records, s", s_full),
            ("  entries appended", s_entries),
            (f"first (full) derivation over {large:,} records, s", l_full),
            ("  entries appended", l_entries),
            (f"derivation after {changed:,} changes at {small:,}, s", s_inc),
            ("  entries appended", s_changed),
            (f"derivation after {changed:,} changes at {large:,}, s (target < 5)", l_inc),
            ("  entries appended", l_changed),
            (f"ratio incremental {large:,} ÷ {small:,} (table grew {large // small}×)", l_inc / s_inc),
            (f"ratio full ÷ incremental at {large:,}", l_full / l_inc),
        ],
    )
    return {"incremental_large": l_inc, "growth": l_inc / s_inc}
