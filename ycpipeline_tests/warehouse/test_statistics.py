"""Planner statistics are refreshed after a big load, before the marts plan their queries on them."""

from __future__ import annotations

import json

from sqlalchemy import Engine, text

from ycpipeline.warehouse.statistics import analyze_if_stale


def _load_records(engine: Engine, n: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("""
                INSERT INTO yclients.records (company_id, record_id, visit_date, starts_at, duration_seconds,
                    attendance, deleted, total_cost, synced_at, raw)
                SELECT 235564, g, current_date, now(), 3600, 1, false, 100, now(), CAST(:raw AS jsonb)
                FROM generate_series(1, :n) g
            """),
            {"n": n, "raw": json.dumps({})},
        )
        conn.execute(text("SELECT pg_stat_force_next_flush()"))


def test_a_big_load_is_analysed_once_and_a_small_one_is_left_to_autovacuum(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("ANALYZE yclients.records"))
    _load_records(engine, 5000)
    with engine.begin() as conn:
        assert analyze_if_stale(conn, ["yclients.records", "yclients.clients"]) == ["yclients.records"]
        estimate = conn.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = 'yclients.records'::regclass")
        ).scalar_one()
    assert estimate == 5000  # the planner now knows the rows are there
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_stat_force_next_flush()"))
        assert analyze_if_stale(conn, ["yclients.records"]) == []  # analysed: nothing to do
    _load_records_more = 200  # well under the threshold
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE yclients.records SET attendance = -1 WHERE record_id <= :n"),
            {"n": _load_records_more},
        )
        conn.execute(text("SELECT pg_stat_force_next_flush()"))
    with engine.begin() as conn:
        assert analyze_if_stale(conn, ["yclients.records"]) == []
