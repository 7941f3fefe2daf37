"""Staff schedules: working intervals per staff member and day over a window (two weeks back to the
look-ahead), with busy intervals where the API gives them.

One request per company through `GET /company/{id}/staff/schedule` where the API has it; otherwise one
request per staff member through the documented `GET /schedule/{id}/{staff_id}/{start}/{end}`
(yclientsru.apib:7477). The window is replaced: a day the API no longer lists as a working day is removed;
a day served outside the window asked for is quarantined (`sync.windows`).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, text

from ycpipeline.client import NotFoundError, ObjectNotFoundError, YClientsClient
from ycpipeline.normalize.streams import staff_schedule_row
from ycpipeline.sync.streams.load import Spec, StreamResult, finish, merge_staged, stage_rows
from ycpipeline.sync.windows import reject_outside_window
from ycpipeline.validation.streams import StaffScheduleRow
from ycpipeline.warehouse.schema import staff_schedules

SPEC = Spec(
    "staff_schedules",
    staff_schedules,
    ("company_id", "staff_id", "work_date"),
    StaffScheduleRow,
    ("staff_id", "work_date", "scheduled_minutes"),
)


def _staff_ids(engine: Engine, company_id: int) -> list[int]:
    """Staff whose schedule is worth asking for: known to the catalogue, not deleted nor removed."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("""SELECT staff_id FROM yclients.staff
                        WHERE company_id = :c AND removed_at IS NULL AND NOT deleted ORDER BY staff_id"""),
                {"c": company_id},
            ).scalars()
        )


def _read(
    client: YClientsClient, engine: Engine, company_id: int, start: date, end: date, synced_at: datetime
) -> tuple[list[dict[str, Any]], str]:
    try:
        days = client.company_staff_schedules(company_id, start, end)
        return [staff_schedule_row(day, company_id, synced_at) for day in days], "company"
    except NotFoundError:
        pass  # the company-wide endpoint is not there: per staff member, as documented
    rows: list[dict[str, Any]] = []
    for staff_id in _staff_ids(engine, company_id):
        try:
            days = client.staff_schedule(company_id, staff_id, start, end)
        except ObjectNotFoundError:
            continue  # left since the catalogue was read
        rows.extend(staff_schedule_row(day, company_id, synced_at, staff_id) for day in days)
    return rows, "per_staff"


def sync_staff_schedules(
    client: YClientsClient,
    engine: Engine,
    company_id: int,
    start: date,
    end: date,
    *,
    run_id: str | None = None,
) -> StreamResult:
    """Replace the company's schedules over [start, end] with what the API says now."""
    synced_at = datetime.now(UTC)
    rows, how = _read(client, engine, company_id, start, end, synced_at)
    outside = reject_outside_window(rows, "work_date", start, end)
    # Off days carry no working interval: only working days are stored.
    rows = [r for r in rows if r["problems"] or r["is_working"]]
    result = StreamResult(
        "staff_schedules", company_id, fetched=len(rows), outside_window=outside, notes={"endpoint": how}
    )
    with engine.begin() as conn:
        staged = stage_rows(conn, SPEC, rows)
        result.counts = merge_staged(conn, SPEC, staged)
        result.retired = conn.execute(
            text(f"""
                DELETE FROM yclients.staff_schedules t
                WHERE t.company_id = :c AND t.work_date BETWEEN :s AND :e
                  AND NOT EXISTS (SELECT 1 FROM {staged.stage} n
                                  WHERE n.staff_id = t.staff_id AND n.work_date = t.work_date)
                  AND (t.staff_id, t.work_date) NOT IN (
                      SELECT k.staff_id, k.work_date FROM jsonb_to_recordset(CAST(:rejected AS jsonb))
                          AS k(staff_id bigint, work_date date))
            """),
            {
                "c": company_id,
                "s": start,
                "e": end,
                "rejected": _keys_json(staged.rejected_keys),
            },
        ).rowcount
        return finish(conn, result, staged, run_id, (start, end))


def _keys_json(keys: list[tuple[Any, ...]]) -> str:
    return json.dumps(
        [{"staff_id": k[1], "work_date": k[2].isoformat()} for k in keys if isinstance(k[2], date)]
    )
