"""`GET /records/{company_id}` with the documented filters (yclientsru.apib:5418) and `GET /record/{id}/{rid}`
(yclientsru.apib:5963)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ycpipeline_sandbox import envelopes
from ycpipeline_sandbox.api.common import API_PREFIX, admitted_company, flag, list_answer, path_int
from ycpipeline_sandbox.paging import BadParameter, Chunk, PageRequest, cut_page
from ycpipeline_sandbox.state import SandboxState, parse_change_time

if TYPE_CHECKING:
    from ycpipeline_sandbox.app import Sandbox

# An offset whose "+" arrived unescaped in a query string reads as a space: `…12:00:00 03:00`.
_SPACED_OFFSET = re.compile(r" (\d{2}:?\d{2})$")


def parse_moment(text: str, zone: tzinfo) -> datetime:
    """`changed_after`/`changed_before`: ISO 8601 with or without an offset (`+03:00`, `+0300`, `Z`);
    an offset-less value is read in `zone`."""
    value = text.strip()
    if _SPACED_OFFSET.search(value) and ("T" in value or value.count(" ") > 1):
        value = _SPACED_OFFSET.sub(r"+\1", value)
    try:
        moment = datetime.fromisoformat(value)
        moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
        moment.astimezone(UTC)  # a moment beyond the calendar's ends in UTC is no moment
    except (ValueError, OverflowError):
        raise BadParameter(f"not a date and time: {text!r}") from None
    return moment


def parse_day(text: str) -> date:
    """A `YYYY-MM-DD` date parameter."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadParameter(f"not a date: {text!r}") from None


@dataclass(frozen=True)
class DatedQuery:
    """The dates and change times a transactions listing filters on (`start_date`/`end_date`, inclusive
    local dates, the whole history without them; `changed_after`/`changed_before`)."""

    start: date
    end: date
    after: datetime | None
    before: datetime | None

    @classmethod
    def parse(cls, box: Sandbox, company_id: int, query: Mapping[str, str]) -> DatedQuery:
        """Read from a request's query; offset-less change times are read as on /records
        (`changed_after_reading`)."""
        first, last = box.state.history(company_id)
        moments = box.state.timezone(company_id) if box.config.changed_after_reading == "local" else UTC
        return cls(
            parse_day(query["start_date"]) if query.get("start_date") else first,
            parse_day(query["end_date"]) if query.get("end_date") else last,
            parse_moment(query["changed_after"], moments) if query.get("changed_after") else None,
            parse_moment(query["changed_before"], moments) if query.get("changed_before") else None,
        )

    def changed_within(self, changed: datetime) -> bool:
        """Whether a change time passes `changed_after`/`changed_before` (both inclusive)."""
        return not ((self.after and changed < self.after) or (self.before and changed > self.before))


def _int(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw.strip() == "":
        return None
    if not raw.strip().lstrip("-").isdigit():
        raise BadParameter(f"{name} must be an integer")
    return int(raw)


@dataclass(frozen=True)
class RecordQuery:
    """The records filters of one request."""

    page: PageRequest
    start: date | None = None
    end: date | None = None
    created_from: date | None = None
    created_to: date | None = None
    changed_after: datetime | None = None
    changed_before: datetime | None = None
    staff_id: int | None = None
    client_id: int | None = None
    created_user_id: int | None = None
    with_deleted: bool = False
    include_consumables: bool = False
    include_finance_transactions: bool = False

    @classmethod
    def parse(
        cls, query: Mapping[str, str], *, cap: int, zone: tzinfo, reading: Literal["local", "utc"]
    ) -> RecordQuery:
        """Read the filters; offset-less change times in the company's zone or in UTC (`reading`)."""
        moments_zone: tzinfo = zone if reading == "local" else UTC

        def day(name: str) -> date | None:
            return parse_day(query[name]) if query.get(name) else None

        def moment(name: str) -> datetime | None:
            return parse_moment(query[name], moments_zone) if query.get(name) else None

        return cls(
            page=PageRequest.parse(query, cap),
            start=day("start_date"),
            end=day("end_date"),
            created_from=day("c_start_date"),
            created_to=day("c_end_date"),
            changed_after=moment("changed_after"),
            changed_before=moment("changed_before"),
            staff_id=_int(query, "staff_id"),
            client_id=_int(query, "client_id"),
            created_user_id=_int(query, "created_user_id"),
            with_deleted=flag(query, "with_deleted"),
            include_consumables=flag(query, "include_consumables"),
            include_finance_transactions=flag(query, "include_finance_transactions"),
        )

    @property
    def by_visit_date_only(self) -> bool:
        """True when only the visit-date window (and paging) narrows the list."""
        return not any(
            v is not None
            for v in (
                self.created_from,
                self.created_to,
                self.changed_after,
                self.changed_before,
                self.staff_id,
                self.client_id,
                self.created_user_id,
            )
        )


def _moment_or_none(text: Any) -> datetime | None:
    try:
        return parse_change_time(str(text))
    except ValueError:
        return None


def matches(record: Mapping[str, Any], query: RecordQuery, zone: tzinfo) -> bool:
    """Whether a record passes every filter of `query` (records with unreadable fields never match a
    filter on those fields)."""
    if record.get("deleted") is True and not query.with_deleted:
        return False
    for wanted, given in (
        (query.staff_id, record.get("staff_id")),
        (query.created_user_id, record.get("created_user_id")),
    ):
        if wanted is not None and given != wanted:
            return False
    if query.client_id is not None:
        client = record.get("client")
        if not isinstance(client, dict) or client.get("id") != query.client_id:
            return False
    if query.created_from or query.created_to:
        created = _moment_or_none(record.get("create_date"))
        if created is None:
            return False
        created_day = created.astimezone(zone).date()
        if (query.created_from and created_day < query.created_from) or (
            query.created_to and created_day > query.created_to
        ):
            return False
    if query.changed_after or query.changed_before:
        changed = _moment_or_none(record.get("last_change_date"))
        if changed is None:
            return False
        if (query.changed_after and changed < query.changed_after) or (
            query.changed_before and changed > query.changed_before
        ):
            return False
    return True


def present(record: dict[str, Any], query: RecordQuery) -> dict[str, Any]:
    """The record as sent: `consumables`/`finance_transactions` only when asked for."""
    keep = {
        "consumables": query.include_consumables,
        "finance_transactions": query.include_finance_transactions,
    }
    if all(keep.values()):
        return record
    return {k: v for k, v in record.items() if keep.get(k, True)}


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _whole_day(state: SandboxState, company_id: int, day: date) -> Chunk:
    return Chunk(state.day_count(company_id, day), lambda: state.day_records(company_id, day))


def list_records(
    state: SandboxState, company_id: int, query: RecordQuery
) -> tuple[list[dict[str, Any]], int]:
    """One page of the company's matching records and their total count, in API order (visit time, id).

    Without dates the whole history is listed (the real default window is undocumented).
    """
    zone = state.timezone(company_id)
    first, last = state.history(company_id)
    # Outside the history no day holds a record: a window of centuries costs no more than the history.
    start, end = max(query.start or first, first), min(query.end or last, last)
    if query.changed_after is not None or query.changed_before is not None:
        found = [
            r
            for r in state.changed_records(company_id, query.changed_after, query.changed_before, start, end)
            if matches(r, query, zone)
        ]
        return found[query.page.offset : query.page.offset + query.page.count], len(found)
    if query.by_visit_date_only and query.with_deleted:
        # Count days cheaply; build only the days that hold the requested page.
        return cut_page((_whole_day(state, company_id, d) for d in _days(start, end)), query.page)

    def filtered(day: date) -> Chunk:
        kept = [r for r in state.day_records(company_id, day) if matches(r, query, zone)]
        return Chunk(len(kept), lambda: kept)

    return cut_page((filtered(d) for d in _days(start, end)), query.page)


def routes(box: Sandbox) -> list[Route]:
    """The records routes (user token required)."""

    def query_of(request: Request, company_id: int) -> RecordQuery | Response:
        try:
            return RecordQuery.parse(
                request.query_params,
                cap=box.config.page_cap("records"),
                zone=box.state.timezone(company_id),
                reading=box.config.changed_after_reading,
            )
        except BadParameter as exc:
            return envelopes.bad_filter(str(exc))

    async def records(request: Request) -> Response:
        company_id = await admitted_company(box, request, needs_user=True)
        if isinstance(company_id, Response):
            return company_id
        query = query_of(request, company_id)
        if isinstance(query, Response):
            return query
        page, total = await asyncio.to_thread(list_records, box.state, company_id, query)
        if getattr(request.state, "empty_page", False):
            page = []
        data = [box.config.served("records", present(r, query)) for r in page]
        if total == 0:
            return list_answer(box, data, {"page": query.page.page, "total_count": 0})
        return envelopes.success(data, {"page": query.page.page, "total_count": total})

    async def record(request: Request) -> Response:
        company_id = await admitted_company(box, request, needs_user=True)
        if isinstance(company_id, Response):
            return company_id
        query = query_of(request, company_id)
        if isinstance(query, Response):
            return query
        record_id = path_int(request, "record_id")
        found = None if record_id is None else box.state.get_record(company_id, record_id)
        if found is None:
            return envelopes.failure(404, envelopes.RECORD_NOT_FOUND)
        return envelopes.success(box.config.served("record", present(found, query)))

    async def no_company(request: Request) -> Response:
        if (denied := await box.gate.admit(request, needs_user=True)) is not None:
            return denied
        return envelopes.failure(404, envelopes.COMPANY_MISSING)

    return [
        Route(API_PREFIX + "/records", no_company),
        Route(API_PREFIX + "/records/{company_id}", records),
        Route(API_PREFIX + "/record/{company_id}/{record_id}", record),
    ]
