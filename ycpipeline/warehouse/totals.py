"""What the yclients tables hold now: totals and per-visit-date counts, for the UI.

Read-only queries beside the tables they count; the Dagster assets report them next to each run's own
deltas, so the data team sees both "what this run changed" and "what the table holds".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Connection, Table, func, select, text

from ycpipeline.warehouse.rules import completed_visit


def catalog_totals(conn: Connection, table: str) -> dict[str, int]:
    """Rows of `yclients.services` or `yclients.staff`: all, and those the API still lists."""
    if table not in ("services", "staff"):
        raise ValueError(f"not a catalogue table: {table}")
    total, listed = conn.execute(
        text(f"SELECT count(*), count(*) FILTER (WHERE removed_at IS NULL) FROM yclients.{table}")
    ).one()
    return {"dagster/row_count": total, "listed": listed}


def records_totals(conn: Connection) -> dict[str, int]:
    """Rows of `yclients.records` (deleted ones included), completed visits, deletions, service lines."""
    total, completed, deleted = conn.execute(
        text(f"""
            SELECT count(*), count(*) FILTER (WHERE {completed_visit()}), count(*) FILTER (WHERE deleted)
            FROM yclients.records
        """)
    ).one()
    lines = conn.execute(text("SELECT count(*) FROM yclients.record_services")).scalar_one()
    return {
        "dagster/row_count": total,
        "completed_visits_total": completed,
        "deleted_total": deleted,
        "service_lines_total": lines,
    }


def records_by_date(conn: Connection, company_id: int, days: list[date]) -> dict[date, dict[str, int]]:
    """Per visit date of one company: records stored, completed visits, deleted records (zeros included)."""
    rows = conn.execute(
        text(f"""
            SELECT visit_date, count(*) AS records,
                   count(*) FILTER (WHERE {completed_visit()}) AS completed_visits,
                   count(*) FILTER (WHERE deleted) AS deleted_records
            FROM yclients.records
            WHERE company_id = :c AND visit_date = ANY(:days)
            GROUP BY visit_date
        """),
        {"c": company_id, "days": days},
    ).all()
    found = {r.visit_date: {"records": r.records, "completed_visits": r.completed_visits} for r in rows}
    deleted = {r.visit_date: r.deleted_records for r in rows}
    empty = {"records": 0, "completed_visits": 0}
    return {d: {**found.get(d, empty), "deleted_records": deleted.get(d, 0)} for d in days}


def rejected_totals(conn: Connection) -> tuple[dict[str, int], list[dict[str, object]]]:
    """Rows of `yclients.rejected_rows` by entity, and the commonest reasons (the field each names).

    A reason reads `field: what was wrong`; grouping by the field keeps the table short whatever the
    values were.
    """
    by_entity: dict[str, int] = {
        entity: n
        for entity, n in conn.execute(
            text("SELECT entity, count(*) FROM yclients.rejected_rows GROUP BY 1 ORDER BY 1")
        )
    }
    reasons = conn.execute(
        text("""
            SELECT entity, split_part(reason, ':', 1) AS field, count(*) AS rows
            FROM yclients.rejected_rows, jsonb_array_elements_text(reasons) AS reason
            GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 20
        """)
    ).all()
    return by_entity, [{"entity": r.entity, "field": r.field, "rows": r.rows} for r in reasons]


def rows_by_company(conn: Connection, table: Table, company_ids: Sequence[int]) -> dict[int, int]:
    """Rows of each company in a per-company table (each partition's `dagster/row_count`), in one query;
    a company without rows counts 0."""
    counted: dict[int, int] = dict(
        conn.execute(
            select(table.c.company_id, func.count())
            .where(table.c.company_id.in_(list(company_ids)))
            .group_by(table.c.company_id)
        ).all()
    )
    return {company: counted.get(company, 0) for company in company_ids}
