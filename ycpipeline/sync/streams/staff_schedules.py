"""Staff schedules: working intervals per staff member and day over a window (SCHEDULES_DAYS_BACK back to
SYNC_DAYS_AHEAD ahead), with busy intervals where the API gives them.

One request per company through `GET /company/{id}/staff/schedule` where the API has it; otherwise one
request per staff member through the documented `GET /schedule/{id}/{staff_id}/{start}/{end}`
(yclientsru.apib:7477). The window is replaced: a day the API no longer lists as a working day is deleted;
a day served outside the window asked for is quarantined (`sync.windows`).
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import text

from ycpipeline.client import NotFoundError, ObjectNotFoundError
from ycpipeline.normalize.streams import staff_schedule_row
from ycpipeline.sync.declaration import (
    ID,
    LIST,
    TEXT,
    CompanyRead,
    Read,
    Retire,
    Spec,
    Stream,
    read_listing,
)
from ycpipeline.validation.streams import StaffScheduleRow
from ycpipeline.warehouse.schema import staff_schedules


def _staff_ids(job: CompanyRead) -> list[int]:
    """Staff whose schedule is worth asking for: known to the catalogue, not deleted nor removed."""
    with job.engine.connect() as conn:
        return list(
            conn.execute(
                text("""SELECT staff_id FROM yclients.staff
                        WHERE company_id = :c AND removed_at IS NULL AND NOT deleted ORDER BY staff_id"""),
                {"c": job.company_id},
            ).scalars()
        )


def _read(job: CompanyRead) -> Read:
    start, end = job.window or (
        job.today - timedelta(days=job.options.schedules_days_back),
        job.today + timedelta(days=job.options.sync_days_ahead),
    )
    what = f"staff schedules of company {job.company_id}"
    try:
        read = read_listing(
            lambda: job.client.company_schedules_listing(job.company_id, start, end), what, (start, end)
        )
        read.notes["endpoint"] = "company"
        return read
    except NotFoundError:
        pass  # the company-wide endpoint is not there: per staff member, as documented
    read = Read([], window=(start, end), notes={"endpoint": "per_staff"})
    for staff_id in _staff_ids(job):
        try:
            part = read_listing(
                partial(job.client.staff_schedule_listing, job.company_id, staff_id, start, end), what
            )
        except ObjectNotFoundError:
            continue  # left since the catalogue was read
        # A per-staff day names no staff member: it is given its own, as the company-wide days carry it.
        read.items.extend(_with_staff(day, staff_id) for day in part.items)
    return read


def _with_staff(day: Any, staff_id: int) -> Any:
    return {**day, "staff_id": staff_id} if isinstance(day, dict) and "staff_id" not in day else day


SCHEDULES = Stream(
    Spec(
        "staff_schedules",
        staff_schedules,
        ("company_id", "staff_id", "work_date"),
        StaffScheduleRow,
    ),
    asset="yclients_staff_schedules",
    fields={
        "staff_id": ID,
        "date": TEXT,
        "slots": LIST,
    },
    documented=frozenset({"busy_intervals", "is_working", "off_day_type"}),
    read=_read,
    row=lambda item, job: staff_schedule_row(item, job.company_id, job.now),
    retire=Retire("delete", "t.work_date BETWEEN :start AND :end"),
    window_column="work_date",
    # Off days carry no working interval: only working days are stored (and every row with a problem, to
    # be quarantined).
    keep=lambda row: bool(row["problems"] or row["is_working"]),
    deps=("yclients_staff",),
    cadence="nightly",
    domain="staff",
    description="Working intervals per staff member and day (yclients.staff_schedules) from SCHEDULES_DAYS_BACK "
    "days back to SYNC_DAYS_AHEAD ahead, with the busy intervals the API gives: one request per company "
    "(GET /company/{id}/staff/schedule), else one per staff member (GET /schedule/…, yclientsru.apib:7477). "
    "Nightly; the window is replaced.",
)
