"""Records paging: the documented filters, one page, and which page to ask for next.

`RecordsPager` decides which pages to read (apart from the client, which only sends requests), in the
spirit of dlt's `BasePaginator`. The facts it works from: `page` counts from 1 and `count` is the page
size (yclientsru.apib:5418-5435); the maximum page size is undocumented, and the only documented list
answer has `meta.total_count` 10 beside 2 records (yclientsru.apib:5466-5642), so what `total_count`
counts is undocumented too. Hence:

- the first page's length is the server's real page size when it is shorter than asked while
  `total_count` says more (a server-side cap: with the same `count` the server keeps serving its
  capped pages, so the page numbers follow the real size);
- paging stops at the last page `total_count` allows, at an empty page, or at a page that brings no
  record not seen before (a server that ignores `page`): never an endless loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordFilters:
    """The documented filters of `GET /records/{company_id}` (yclientsru.apib:5427-5450).

    Dates are visit dates (`start_date`/`end_date`) or creation dates (`c_start_date`/`c_end_date`),
    inclusive; `changed_after`/`changed_before` are sent as given (`2016-02-23T12:00:00`: the zone of
    a time without offset is undocumented, so the caller decides what to pass).
    """

    start_date: date | None = None
    end_date: date | None = None
    c_start_date: date | None = None
    c_end_date: date | None = None
    changed_after: datetime | None = None
    changed_before: datetime | None = None
    staff_id: int | None = None
    client_id: int | None = None
    created_user_id: int | None = None
    # Deleted records are left out unless asked for; a full refresh needs them to mark deletions.
    with_deleted: bool = True
    include_consumables: bool = False
    include_finance_transactions: bool = False

    @classmethod
    def visit_window(cls, start: date, end: date, **more: Any) -> RecordFilters:
        """Records whose visit date is in [start, end] (deleted ones included unless told otherwise)."""
        return cls(start_date=start, end_date=end, **more)

    def query(self) -> dict[str, str | int]:
        """The query parameters: unset filters are left out, flags are sent as 1."""
        params: dict[str, str | int] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value is False:
                continue
            if value is True:
                params[f.name] = 1
            elif isinstance(value, datetime):
                params[f.name] = value.isoformat(timespec="seconds")
            elif isinstance(value, date):
                params[f.name] = value.isoformat()
            else:
                params[f.name] = value
        return params

    def describe(self) -> str:
        """A short human description for messages: `2026-11-01..2026-11-20`."""
        if self.start_date or self.end_date:
            return f"{self.start_date or '…'}..{self.end_date or '…'}"
        return ", ".join(f"{k}={v}" for k, v in self.query().items())


@dataclass
class RecordsPage:
    """One page of `GET /records/{company_id}`."""

    number: int
    records: list[dict[str, Any]]
    total_count: int | None


def _record_ids(page: RecordsPage) -> set[Any]:
    return {r.get("id") for r in page.records if isinstance(r, dict)}


class RecordsPager:
    """Which page of a records listing to ask for next.

    Feed it the first page (`plan`), then every later page (`accept`); it answers with the page numbers
    still worth reading and whether to go on. It never asks for more pages than `total_count` allows
    at the real page size, and stops early at an empty page or one with nothing new.
    """

    def __init__(self, requested_size: int) -> None:
        self.requested_size = requested_size
        self.page_size = requested_size
        self.total_count: int | None = None
        # True when the first page was shorter than asked while total_count said more: the next page
        # is read alone first, to see whether it brings anything before more are read side by side.
        self.adapted = False
        self.stopped_early: str | None = None
        self._seen: set[Any] = set()

    def plan(self, first: RecordsPage) -> range | None:
        """The page numbers after the first one to read, or None to page one by one until a short page."""
        self.total_count = first.total_count
        self._seen |= _record_ids(first)
        received = len(first.records)
        if first.total_count is None:
            return None
        if received == 0 or first.total_count <= received:
            return range(0)
        if received < self.requested_size:
            # A short first page while total_count says more: the server caps pages (or total_count
            # counts something else, which the stop rules below bound).
            log.info(
                "the API served %s records of the %s asked for while total_count is %s: paging by %s",
                received,
                self.requested_size,
                first.total_count,
                received,
            )
            self.page_size = received
            self.adapted = True
        return range(2, -(-first.total_count // self.page_size) + 1)

    def accept(self, page: RecordsPage) -> bool:
        """Take a later page; False when paging should stop (nothing more is coming)."""
        ids = _record_ids(page)
        if not page.records:
            self.stopped_early = f"page {page.number} was empty"
        elif ids <= self._seen:
            self.stopped_early = f"page {page.number} repeated records already seen"
        self._seen |= ids
        return self.stopped_early is None

    def next_page(self, last: RecordsPage) -> int | None:
        """Without `total_count`: the page after `last`, or None after a short, empty or repeated page."""
        if last.number > 1 and not self.accept(last):
            return None
        return last.number + 1 if len(last.records) >= self.page_size else None
