"""`GET /company/{company_id}/staff/schedule` with `start_date`, `end_date`, `staff_ids[]` and
`include[]=busy_intervals`: every staff member's working days in one answer.

Not in the official description (which has the per-staff `/schedule/…`, yclientsru.apib:7419); the same API
documents it under its international brand (docs/marts.md): entries `{staff_id, date, slots: [{from, to}],
busy_intervals: [{entity_type, entity_id, from, to}]}`, `meta.count`. Working days only; the busy
intervals are the staff member's records that day that are not cancelled, so they agree with /records.
`SandboxConfig.company_staff_schedule = False` answers 404, as an API without the endpoint would.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ycpipeline_sandbox import envelopes
from ycpipeline_sandbox.api.common import API_PREFIX, resolve_company
from ycpipeline_sandbox.api.records import parse_day
from ycpipeline_sandbox.api.schedules import MAX_DAYS
from ycpipeline_sandbox.paging import BadParameter

if TYPE_CHECKING:
    from ycpipeline_sandbox.app import Sandbox
    from ycpipeline_sandbox.state import SandboxState


def busy_intervals(
    state: SandboxState, company_id: int, start: date, end: date
) -> dict[tuple[int, str], list[Any]]:
    """(staff id, date) → the intervals of its records that are not cancelled, in the API's order."""
    found: dict[tuple[int, str], list[Any]] = {}
    for record in state.iter_records(company_id, start, end):
        if record.get("deleted") is True or not isinstance(record.get("staff_id"), int):
            continue
        begins = datetime.fromisoformat(str(record["date"]))
        ends = begins + timedelta(seconds=int(record.get("seance_length") or 0))
        found.setdefault((record["staff_id"], begins.date().isoformat()), []).append(
            {
                "entity_type": "record",
                "entity_id": record["id"],
                "from": begins.strftime("%H:%M:%S"),
                "to": ends.strftime("%H:%M:%S"),
            }
        )
    return found


def schedules(
    state: SandboxState, company_id: int, start: date, end: date, staff_ids: set[int], busy: bool
) -> list[dict[str, Any]]:
    """The working days of [start, end] of every staff member (or of `staff_ids`)."""
    intervals = busy_intervals(state, company_id, start, end) if busy else {}
    data = []
    for member in state.staff(company_id):
        if staff_ids and member["id"] not in staff_ids:
            continue
        for day in state.schedule(company_id, member["id"], start, end) or ():
            if not day["slots"]:
                continue
            entry: dict[str, Any] = {"staff_id": member["id"], "date": day["date"], "slots": day["slots"]}
            if busy:
                entry["busy_intervals"] = intervals.get((member["id"], day["date"]), [])
            data.append(entry)
    return data


def routes(box: Sandbox) -> list[Route]:
    """The company-wide staff schedule route (user token required)."""

    async def staff_schedule(request: Request) -> Response:
        if (denied := await box.gate.admit(request, needs_user=True)) is not None:
            return denied
        if not box.config.company_staff_schedule:
            return envelopes.failure(404, envelopes.NOT_FOUND)
        company_id = resolve_company(box, request)
        if isinstance(company_id, Response):
            return company_id
        query = request.query_params
        try:
            start, end = parse_day(query.get("start_date", "")), parse_day(query.get("end_date", ""))
            staff_ids = {int(v) for v in query.getlist("staff_ids[]")}
        except (BadParameter, ValueError) as exc:
            return envelopes.bad_filter(str(exc))
        if end < start or (end - start).days >= MAX_DAYS:
            return envelopes.bad_filter(f"dates: start_date ≤ end_date, at most {MAX_DAYS} days")
        busy = "busy_intervals" in query.getlist("include[]")
        data = await asyncio.to_thread(schedules, box.state, company_id, start, end, staff_ids, busy)
        return envelopes.success(data, {"count": len(data)})

    return [Route(API_PREFIX + "/company/{company_id}/staff/schedule", staff_schedule)]
