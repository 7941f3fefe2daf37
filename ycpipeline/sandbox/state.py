"""The sandbox's live data: generated history plus the mutations applied since (edits, moves, deletes)."""

from __future__ import annotations

import copy
import itertools
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ycpipeline.sandbox import generator as gen

WebhookListener = Callable[[dict[str, Any]], None]


class SandboxState:
    """A salon (or chain) whose records are generated per day on demand and can be mutated.

    `days_back`/`days_ahead` bound the generated history around `anchor`. Mutations keep full copies
    of the records they touch, so generated days stay reproducible and memory grows only with edits.
    """

    def __init__(
        self,
        params: gen.GenerationParams | None = None,
        *,
        companies: int = 1,
        days_back: int = 120,
        days_ahead: int = 35,
    ) -> None:
        self.params = params or gen.GenerationParams()
        if not 1 <= companies <= len(gen.COMPANY_PROFILES):
            raise ValueError(f"the sandbox serves 1 to {len(gen.COMPANY_PROFILES)} companies")
        self.company_indexes = {gen.COMPANY_PROFILES[i][0]: i for i in range(companies)}
        self.days_back = days_back
        self.days_ahead = days_ahead
        self.people = gen.people(self.params.seed)
        self._services = {cid: gen.services(self.params.seed, i) for cid, i in self.company_indexes.items()}
        self._staff = {cid: gen.staff(self.params.seed, i) for cid, i in self.company_indexes.items()}
        self._removed_services: dict[int, set[int]] = defaultdict(set)
        self._overrides: dict[tuple[int, int], dict[str, Any]] = {}
        self._moved_in: dict[tuple[int, date], set[int]] = defaultdict(set)
        self._touched_days: set[tuple[int, date]] = set()
        self._day_cache: OrderedDict[tuple[int, date], list[dict[str, Any]]] = OrderedDict()
        self._new_ids = itertools.count(490_000_000)
        self._lock = threading.RLock()
        self.version = 0
        self.listeners: list[WebhookListener] = []
        # Set from `SandboxConfig.delete_bumps_change_time` by the Sandbox serving this state.
        self.delete_bumps_change_time = True

    # -- catalogue ----------------------------------------------------------------------------------

    def company(self, company_id: int) -> dict[str, Any] | None:
        """The company object, or None for an unknown id."""
        index = self.company_indexes.get(company_id)
        return None if index is None else gen.company_object(index)

    def timezone(self, company_id: int) -> ZoneInfo:
        """The company's time zone."""
        return ZoneInfo(gen.COMPANY_PROFILES[self.company_indexes[company_id]][2])

    def anchor(self, company_id: int) -> date:
        """The salon's "today": fixed by the params, else today's date in the company's zone."""
        return self.params.anchor or datetime.now(self.timezone(company_id)).date()

    def services(self, company_id: int) -> list[dict[str, Any]]:
        """Services currently listed by the API."""
        removed = self._removed_services[company_id]
        return [copy.deepcopy(s) for s in self._services[company_id] if int(s["id"]) not in removed]

    def staff(self, company_id: int) -> list[dict[str, Any]]:
        """Staff currently listed by the API."""
        return copy.deepcopy(self._staff[company_id])

    # -- records ------------------------------------------------------------------------------------

    def _in_history(self, company_id: int, day: date) -> bool:
        anchor = self.anchor(company_id)
        return anchor - timedelta(days=self.days_back) <= day <= anchor + timedelta(days=self.days_ahead)

    def _generated_day(self, company_id: int, day: date) -> list[dict[str, Any]]:
        key = (company_id, day)
        cached = self._day_cache.get(key)
        if cached is not None:
            self._day_cache.move_to_end(key)
            return cached
        if not self._in_history(company_id, day):
            return []  # not cached: empty days would push real ones out of the cache
        index = self.company_indexes[company_id]
        records = gen.generate_day(
            self.params,
            index,
            day,
            self.anchor(company_id),
            self._services[company_id],
            self._staff[company_id],
            self.people,
        )
        self._day_cache[key] = records
        if len(self._day_cache) > 256:
            self._day_cache.popitem(last=False)
        return records

    def _generated_on(self, company_id: int, record_id: int, day: date) -> bool:
        """True when `record_id` was generated on `day` (it is then listed by the generated day itself)."""
        decoded = gen.decode_record_id(record_id)
        return decoded is not None and decoded[1] == day and self._in_history(company_id, day)

    def day_records(self, company_id: int, day: date) -> list[dict[str, Any]]:
        """Every record (deleted ones too) whose visit date is `day`, in API order."""
        with self._lock:
            result = []
            for rec in self._generated_day(company_id, day):
                current = self._overrides.get((company_id, rec["id"]), rec)
                if _visit_day(current) == day:
                    result.append(current)
            for rid in self._moved_in.get((company_id, day), ()):
                current = self._overrides[(company_id, rid)]
                if _visit_day(current) == day and not self._generated_on(company_id, rid, day):
                    result.append(current)
            result.sort(key=lambda r: (r["datetime"], r["id"]))
            return result

    def day_count(self, company_id: int, day: date) -> int:
        """The number of records (deleted included) on `day`, without building untouched days."""
        with self._lock:
            if (company_id, day) in self._touched_days or not self._in_history(company_id, day):
                return len(self.day_records(company_id, day))
            return gen.day_record_count(self.params, self.company_indexes[company_id], day)

    def iter_records(self, company_id: int, start: date, end: date) -> Iterator[dict[str, Any]]:
        """Records with a visit date in [start, end], deleted included, in API order."""
        day = start
        while day <= end:
            yield from self.day_records(company_id, day)
            day += timedelta(days=1)

    def get_record(self, company_id: int, record_id: int) -> dict[str, Any] | None:
        """One record by id (deleted ones too), or None when it never existed."""
        with self._lock:
            if (company_id, record_id) in self._overrides:
                return self._overrides[(company_id, record_id)]
            decoded = gen.decode_record_id(record_id)
            if decoded is None or gen.COMPANY_PROFILES[decoded[0]][0] != company_id:
                return None
            _, day, _ordinal = decoded
            for rec in self._generated_day(company_id, day):
                if rec["id"] == record_id:
                    return rec
            return None

    # -- mutations (tests, the demo and webhooks) -----------------------------------------------------

    def _now(self, company_id: int) -> datetime:
        return datetime.now(self.timezone(company_id)).replace(microsecond=0)

    def _edit(
        self,
        company_id: int,
        record_id: int,
        change: Callable[[dict[str, Any]], None],
        *,
        bump: bool = True,
    ) -> dict[str, Any]:
        with self._lock:
            current = self.get_record(company_id, record_id)
            if current is None:
                raise KeyError(f"record {record_id} of company {company_id} does not exist")
            old_day = _visit_day(current)
            edited = copy.deepcopy(current)
            change(edited)
            if bump:
                edited["last_change_date"] = gen.fmt_offset(self._now(company_id), colon=False)
            self._overrides[(company_id, record_id)] = edited
            new_day = _visit_day(edited)
            self._touched_days.update({(company_id, old_day), (company_id, new_day)})
            if new_day != old_day:
                self._moved_in[(company_id, new_day)].add(record_id)
            self.version += 1
        self._emit(company_id, "record", record_id, "delete" if edited["deleted"] else "update", edited)
        return edited

    def set_attendance(self, company_id: int, record_id: int, attendance: int) -> dict[str, Any]:
        """Mark a visit as came (1), confirmed (2), waiting (0) or no-show (-1)."""

        def change(rec: dict[str, Any]) -> None:
            rec["attendance"] = rec["visit_attendance"] = attendance
            rec["confirmed"] = 1 if attendance in (1, 2) else 0

        return self._edit(company_id, record_id, change)

    def set_service_cost(
        self, company_id: int, record_id: int, cost: Decimal | str, line: int = 0
    ) -> dict[str, Any]:
        """Change the final cost of one service line."""

        def change(rec: dict[str, Any]) -> None:
            rec["services"][line]["cost"] = str(Decimal(str(cost)).quantize(Decimal("0.01")))

        return self._edit(company_id, record_id, change)

    def delete_record(self, company_id: int, record_id: int) -> dict[str, Any]:
        """Cancel a record (kept with `deleted: true`, as `with_deleted=1` shows it)."""
        return self._edit(
            company_id, record_id, lambda rec: rec.update(deleted=True), bump=self.delete_bumps_change_time
        )

    def move_record(self, company_id: int, record_id: int, new_start: datetime) -> dict[str, Any]:
        """Move a record to another time, possibly another day."""
        local = new_start.astimezone(self.timezone(company_id))

        def change(rec: dict[str, Any]) -> None:
            rec["date"] = local.strftime("%Y-%m-%d %H:%M:%S")
            rec["datetime"] = gen.fmt_offset(local, colon=True)

        return self._edit(company_id, record_id, change)

    def add_record(self, company_id: int, start: datetime, *, like: int | None = None) -> dict[str, Any]:
        """Book a new record at `start`, copying the services and client of record `like` (or of the day)."""
        local = start.astimezone(self.timezone(company_id))
        with self._lock:
            template = self.get_record(company_id, like) if like else None
            if template is None:
                template = next(iter(self._generated_day(company_id, local.date())), None) or next(
                    r
                    for d in range(1, 400)
                    for r in self._generated_day(company_id, local.date() - timedelta(d))
                )
            rid = next(self._new_ids)
            rec = copy.deepcopy(template)
            now = self._now(company_id)
            rec.update(
                id=rid,
                date=local.strftime("%Y-%m-%d %H:%M:%S"),
                datetime=gen.fmt_offset(local, colon=True),
                create_date=gen.fmt_offset(now, colon=False),
                last_change_date=gen.fmt_offset(now, colon=False),
                deleted=False,
                attendance=0,
                visit_attendance=0,
                confirmed=0,
            )
            self._overrides[(company_id, rid)] = rec
            self._moved_in[(company_id, local.date())].add(rid)
            self._touched_days.add((company_id, local.date()))
            self.version += 1
        self._emit(company_id, "record", rid, "create", rec)
        return rec

    def remove_service(self, company_id: int, service_id: int) -> None:
        """Stop listing a service (as when it is deleted in YClients)."""
        with self._lock:
            self._removed_services[company_id].add(service_id)
            self.version += 1
        self._emit(company_id, "service", service_id, "delete", {"id": service_id})

    def restore_service(self, company_id: int, service_id: int) -> None:
        """List a removed service again."""
        with self._lock:
            self._removed_services[company_id].discard(service_id)
            self.version += 1
        self._emit(company_id, "service", service_id, "update", {"id": service_id})

    def rename_service(self, company_id: int, service_id: int, title: str) -> None:
        """Change a service's title."""
        with self._lock:
            for svc in self._services[company_id]:
                if int(svc["id"]) == service_id:
                    svc["title"] = title
            self.version += 1
        self._emit(company_id, "service", service_id, "update", {"id": service_id, "title": title})

    def _emit(
        self, company_id: int, resource: str, resource_id: int, status: str, data: dict[str, Any]
    ) -> None:
        event = {
            "company_id": company_id,
            "resource": resource,
            "resource_id": resource_id,
            "status": status,
            "data": copy.deepcopy(data),
        }
        for listener in list(self.listeners):
            listener(event)


def _visit_day(record: dict[str, Any]) -> date:
    return date.fromisoformat(record["datetime"][:10])
