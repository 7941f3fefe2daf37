"""Paging of every listing: the records' documented filters, one page, and which page to ask for next.

`Pager` decides which pages of any listing to read (records, cash transactions, the clients search),
apart from the client, which only sends requests, in the spirit of dlt's `BasePaginator`. The facts it
works from: `page` counts from 1 and `count` (`page_size` for the clients search) is the page size
(yclientsru.apib:5418-5435); the maximum page size of `/records` and `/transactions` is undocumented
(their examples use 50 and 300), and the only documented records answer has `meta.total_count` 10
beside 2 records (yclientsru.apib:5466-5642), so what `total_count` counts is undocumented too. Hence:

- the first page's length is the server's real page size when it is shorter than asked while
  `total_count` says more, or, without `total_count`, when the next page still brings new objects (a
  server-side cap: with the same `count` the server keeps serving its capped pages);
- paging stops at the last page `total_count` allows, at an empty or short page, or at a page that
  brings no object not seen before (a server that ignores `page`): never an endless loop;
- a `total_count` below the distinct objects page 1 already brought is wrong, and read as none;
- a listing is **complete** only when the distinct ids received reach `total_count` (duplicates,
  non-objects and objects without id never count), or, without `total_count`, when it ended at an empty or short page. A caller retires nothing
  from an incomplete listing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
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
class Page:
    """One page of a listing: its number, its objects and the `total_count` it announced (if any)."""

    number: int
    items: list[Any]
    total_count: int | None


# The records listing's pages are plain pages (the name stays for the callers that build them).
RecordsPage = Page


def identity(item: Any) -> str:
    """What tells two listed objects apart: the text of their `id` (any value can arrive as an id)."""
    return repr(item.get("id")) if isinstance(item, dict) else repr(item)


class Pager:
    """Which page of a listing to ask for next, and whether the listing came whole.

    Feed it the first page (`plan`), then every later page (`accept`, or `next_page` when paging one
    by one); it answers with the page numbers still worth reading and whether to go on. It never asks
    for more pages than `total_count` allows at the real page size. After the last page, `complete`
    says whether the listing can be trusted to hold everything (see the module's docstring).
    """

    def __init__(self, requested_size: int) -> None:
        self.requested_size = requested_size
        self.page_size = requested_size
        self.total_count: int | None = None
        # True when the first page was shorter than asked while more was to come: the next page is
        # read alone first, to see whether it brings anything before more are read side by side.
        self.adapted = False
        self.stopped_early: str | None = None
        self.received = 0
        self._ended_short = False
        self._seen: set[str] = set()

    @property
    def distinct(self) -> int:
        """How many different objects (by id) the pages brought."""
        return len(self._seen)

    @property
    def complete(self) -> bool:
        """True when the listing is known whole: every announced object arrived (by distinct id), or,
        without `total_count`, the last page was empty or short."""
        if self.total_count is not None:
            return self.distinct >= self.total_count
        return self._ended_short

    def shortfall(self) -> str | None:
        """Why the listing is not known whole (for reports), or None when it is."""
        if self.complete:
            return None
        if self.total_count is not None:
            return (
                f"total_count {self.total_count} but {self.distinct} distinct objects arrived "
                f"({self.received} rows)"
            )
        return self.stopped_early or "the last page was full"

    def _take(self, page: Page) -> set[str]:
        # Only objects with an id count, by the id's text: a non-object or an object without id stands
        # for no object the listing holds, and "1" beside 1 is one object (the load merges them).
        ids = {
            str(item["id"]) for item in page.items if isinstance(item, dict) and item.get("id") is not None
        }
        new = ids - self._seen
        self._seen |= ids
        self.received += len(page.items)
        return new

    def whole(self, page: Page) -> None:
        """Take the one answer of a listing the server sends whole (not paged): complete unless its
        distinct ids fall short of the `total_count` it announced."""
        self.total_count = page.total_count
        self._take(page)
        self._ended_short = True

    def plan(self, first: Page) -> range | None:
        """The page numbers after the first one to read, or None to page one by one."""
        self._take(first)
        received = len(first.items)
        if first.total_count is not None and first.total_count < self.distinct:
            # Fewer announced than page 1 already brought: the count is wrong, and trusting it would end
            # the listing "complete" after page 1. Paged as if there were none, until a short page.
            log.warning(
                "total_count %s but page 1 brought %s distinct objects: paging until a short page",
                first.total_count,
                self.distinct,
            )
            first = Page(first.number, first.items, None)
        self.total_count = first.total_count
        if first.total_count is None:
            if 0 < received < self.requested_size:
                # Short: the end, or a server cap. Only the next page tells: paged by this size.
                self.page_size = received
                self.adapted = True
            elif received == 0:
                self._ended_short = True
            return None
        if received == 0 or first.total_count <= received:
            return range(0)
        if received < self.requested_size:
            # A short first page while total_count says more: the server caps pages (or total_count
            # counts something else, which the stop rules below bound).
            log.info(
                "the API served %s objects of the %s asked for while total_count is %s: paging by %s",
                received,
                self.requested_size,
                first.total_count,
                received,
            )
            self.page_size = received
            self.adapted = True
        return range(2, -(-first.total_count // self.page_size) + 1)

    def accept(self, page: Page) -> bool:
        """Take a later page; False when paging should stop (nothing more is coming)."""
        new = self._take(page)
        if not page.items:
            self.stopped_early = f"page {page.number} was empty"
            self._ended_short = True
        elif not new:
            self.stopped_early = f"page {page.number} repeated objects already seen"
        return self.stopped_early is None

    def next_page(self, last: Page) -> int | None:
        """Without `total_count`: the page after `last`, or None after a short, empty or repeated page."""
        if last.number > 1 and not self.accept(last):
            return None
        if not last.items:
            return None
        if len(last.items) < self.page_size:
            self._ended_short = True
            return None
        return last.number + 1


class Listing:
    """The pages of one listing, in order, and once they are read, what its `Pager` found.

    Iterate it once; then `complete` says whether it can be trusted to hold everything.
    """

    def __init__(self, pages: Iterator[Page], pager: Pager) -> None:
        self._pages = pages
        self.pager = pager

    def __iter__(self) -> Iterator[Page]:
        return self._pages

    @property
    def complete(self) -> bool:
        """True when the listing is known whole (`Pager.complete`)."""
        return self.pager.complete

    def shortfall(self) -> str | None:
        """Why the listing is not known whole, or None (`Pager.shortfall`)."""
        return self.pager.shortfall()
