"""Turn a batch of inbox events into what must be refreshed: record dates per company, or the catalogue."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ycpipeline.webhooks.events import event_hash, parse_events
from ycpipeline.webhooks.inbox import Inbox

CATALOG_RESOURCES = {"service", "service_category", "staff", "company"}
# Client changes reach records through the records themselves; money operations are not ours.
IGNORED_RESOURCES = {"client", "goods_operation", "finances_operation"}

DateLookup = Callable[[list[tuple[int, int]]], dict[tuple[int, int], date]]


@dataclass
class Plan:
    """What one batch of events asks for."""

    record_dates: dict[int, set[date]] = field(default_factory=lambda: defaultdict(set))
    catalog: bool = False
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    quarantined: int = 0
    last_name: str | None = None

    @property
    def run_key(self) -> str:
        """Derived from the events' content, so a replayed batch maps to the same run."""
        digest = hashlib.sha256("\n".join(sorted(event_hash(e) for _, e in self.events)).encode()).hexdigest()
        return f"webhooks-{digest[:40]}"

    def date_range(self) -> tuple[int, int, date, date] | None:
        """(first company, last company, first date, last date) covering every record date."""
        if not self.record_dates:
            return None
        companies = sorted(self.record_dates)
        days = [d for ds in self.record_dates.values() for d in ds]
        return companies[0], companies[-1], min(days), max(days)


def _visit_date(data: Any) -> date | None:
    if not isinstance(data, dict):
        return None
    for key in ("datetime", "date"):
        value = data.get(key)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.strip()).date()  # the offset is the company's own
            except ValueError:
                continue
    return None


def plan_batch(
    inbox: Inbox, after: str | None, stored_dates: DateLookup, api_dates: DateLookup, limit: int = 1000
) -> Plan:
    """Read up to `limit` events after `after`; unreadable files are quarantined, never fatal.

    A record event touches its new visit date (from the event) and the date the warehouse holds for it
    (the old date, when the record moved); when neither is known, the API is asked.
    """
    plan = Plan()
    record_refs: list[tuple[int, int, date | None]] = []
    for path in inbox.pending(after, limit):
        plan.last_name = path.name
        event = _read(inbox, path)
        if event is None:
            plan.quarantined += 1
            continue
        plan.events.append((path.name, event))
        if event["resource"] in CATALOG_RESOURCES:
            plan.catalog = True
        elif event["resource"] == "record":
            record_refs.append((event["company_id"], event["resource_id"], _visit_date(event.get("data"))))
    known = stored_dates([(c, r) for c, r, _ in record_refs])
    unknown = [(c, r) for c, r, d in record_refs if d is None and (c, r) not in known]
    fetched = api_dates(unknown) if unknown else {}
    for company, record, new_date in record_refs:
        for day in (new_date, known.get((company, record)), fetched.get((company, record))):
            if day is not None:
                plan.record_dates[company].add(day)
    return plan


def _read(inbox: Inbox, path: Path) -> dict[str, Any] | None:
    try:
        body = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        inbox.quarantine(path, f"unreadable: {type(exc).__name__}")
        return None
    events, reason = parse_events(body)
    if reason is not None or len(events) != 1:
        inbox.quarantine(path, reason or "one event per file expected")
        return None
    return events[0]
