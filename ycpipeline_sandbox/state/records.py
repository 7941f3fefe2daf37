"""The records the API serves: generated per day on demand (at most `CACHED_RECORDS` kept for re-reads),
with the changed ones kept whole, so generated days stay reproducible and memory grows only with edits."""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from ycpipeline_sandbox import generator as gen
from ycpipeline_sandbox.state.chain import parse_change_time
from ycpipeline_sandbox.state.clients import Clients

CACHED_RECORDS = 20_000  # generated records kept for re-reads; older days are simply generated again


def visit_day(record: Mapping[str, Any]) -> date:
    """The record's local visit date (the API's own `date`)."""
    return date.fromisoformat(str(record["datetime"])[:10])


class Records(Clients):
    """Reads of the records: by day, by change time, by id, and their payments."""

    def _init_records(self) -> None:
        self._overrides: dict[tuple[int, int], dict[str, Any]] = {}
        self._changed_ids: dict[int, set[int]] = defaultdict(set)
        self._moved_in: dict[tuple[int, date], set[int]] = defaultdict(set)
        self._moved_span: dict[int, tuple[date, date]] = {}  # first and last day records moved to
        self._touched_days: set[tuple[int, date]] = set()
        self._day_cache: OrderedDict[tuple[int, date], list[dict[str, Any]]] = OrderedDict()
        self._cached = 0

    def history(self, company_id: int) -> tuple[date, date]:
        """The first and last visit dates that can hold records (moved records included)."""
        anchor = self.anchor(company_id)
        first, last = anchor - timedelta(days=self.days_back), anchor + timedelta(days=self.days_ahead)
        with self._lock:
            moved = self._moved_span.get(company_id)
        return (first, last) if moved is None else (min(first, moved[0]), max(last, moved[1]))

    @property
    def cached_records(self) -> int:
        """Generated records held for re-reads (at most `CACHED_RECORDS`, whatever the history's size)."""
        return self._cached

    def _in_history(self, company_id: int, day: date) -> bool:
        anchor = self.anchor(company_id)
        return anchor - timedelta(days=self.days_back) <= day <= anchor + timedelta(days=self.days_ahead)

    def _generated_day(self, company_id: int, day: date) -> list[dict[str, Any]]:
        key = (company_id, day)
        cached = self._day_cache.get(key)
        if cached is not None:
            self._day_cache.move_to_end(key)
            return cached
        records = (
            gen.generate_day(self.params, self.salons[company_id], day, self.anchor(company_id), self.people)
            if self._in_history(company_id, day)
            else []
        )
        self._day_cache[key] = records
        self._cached += len(records)
        while self._cached > CACHED_RECORDS and len(self._day_cache) > 1:  # memory stays flat
            _, dropped = self._day_cache.popitem(last=False)
            self._cached -= len(dropped)
        return records

    def _generated_on(self, company_id: int, record_id: int, day: date) -> bool:
        """True when `record_id` was generated on `day` (it is then listed by the generated day itself)."""
        decoded = gen.decode_record_id(record_id)
        return (
            decoded is not None
            and decoded[0] == self.company_indexes[company_id]
            and decoded[1] == day
            and self._in_history(company_id, day)
        )

    def day_records(self, company_id: int, day: date) -> list[dict[str, Any]]:
        """Every record (deleted ones too) whose visit date is `day`, in API order."""
        with self._lock:
            result = []
            for rec in self._generated_day(company_id, day):
                current = self._overrides.get((company_id, rec["id"]), rec)
                if visit_day(current) == day:
                    result.append(current)
            for rid in self._moved_in.get((company_id, day), ()):
                current = self._overrides[(company_id, rid)]
                if visit_day(current) == day and not self._generated_on(company_id, rid, day):
                    result.append(current)
            result.sort(key=lambda r: (r["datetime"], r["id"]))
            return self._with_client_changes(company_id, result)

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

    def changed_records(
        self,
        company_id: int,
        after: datetime | None,
        before: datetime | None,
        start: date | None = None,
        end: date | None = None,
    ) -> list[dict[str, Any]]:
        """Records (deleted included) whose last change lies in [after, before], visit date in [start, end].

        Cheap when `after` is recent: a generated record's change never falls after its visit day nor
        after the history's present, so only those days are built, plus the records changed since.
        """
        zone = self.timezone(company_id)
        first, last = self.history(company_id)
        first, last = max(first, start or first), min(last, end or last)
        present = gen.generated_present(self.anchor(company_id), zone)
        scan_from, scan_to = first, last
        # Compared as moments first, so a value centuries away needs no date arithmetic (which overflows).
        opening, closing = datetime.combine(first, time(0), zone), datetime.combine(last, time(0), zone)
        if after is not None and after > present:
            scan_from = last + timedelta(days=1)  # nothing generated is that recent
        elif after is not None and after > opening:
            scan_from = max(first, after.astimezone(zone).date() - timedelta(days=1))
        if before is not None and before < closing:  # a generated change comes ≤ ~61 days before its visit
            scan_to = min(last, max(before, opening).astimezone(zone).date() + timedelta(days=62))

        def in_range(record: Mapping[str, Any]) -> bool:
            changed = parse_change_time(record["last_change_date"])
            return (after is None or changed >= after) and (before is None or changed <= before)

        with self._lock:
            found = [r for r in self.iter_records(company_id, scan_from, scan_to) if in_range(r)]
            for record_id in self._changed_ids.get(company_id, ()):
                record = self._overrides[(company_id, record_id)]
                day = visit_day(record)
                if first <= day <= last and not scan_from <= day <= scan_to and in_range(record):
                    found.extend(self._with_client_changes(company_id, [record]))
        found.sort(key=lambda r: (r["datetime"], r["id"]))
        return found

    def payments(
        self, company_id: int, start: date, end: date
    ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(record, finance transaction) pairs of the payments dated in [start, end] (local dates), by date.

        A generated payment is dated on its visit's day; a later one (`pay_record`) on the day it was made.
        """
        first, last = self.history(company_id)
        found = []
        with self._lock:
            records = list(self.iter_records(company_id, max(start, first), min(end, last)))
            seen = {r["id"] for r in records}
            records += [
                self._overrides[(company_id, rid)]
                for rid in self._changed_ids.get(company_id, ())
                if rid not in seen
            ]
        for record in records:
            for txn in record.get("finance_transactions") or ():
                if start.isoformat() <= str(txn.get("date", ""))[:10] <= end.isoformat():
                    found.append((record, txn))
        found.sort(key=lambda pair: (str(pair[1]["date"]), pair[1]["id"]))
        return found

    def get_record(self, company_id: int, record_id: int) -> dict[str, Any] | None:
        """One record by id (deleted ones too), or None when it never existed."""
        with self._lock:
            found = self._overrides.get((company_id, record_id))
            if found is None:
                decoded = gen.decode_record_id(record_id)
                if decoded is None or decoded[0] != self.company_indexes.get(company_id):
                    return None
                found = next(
                    (r for r in self._generated_day(company_id, decoded[1]) if r["id"] == record_id), None
                )
            return None if found is None else self._with_client_changes(company_id, [found])[0]

    def _store(self, company_id: int, old_day: date | None, record: dict[str, Any]) -> None:
        record_id = record["id"]
        self._overrides[(company_id, record_id)] = record
        self._changed_ids[company_id].add(record_id)
        new_day = visit_day(record)
        self._touched_days.add((company_id, new_day))
        if old_day is not None:
            self._touched_days.add((company_id, old_day))
        if new_day != old_day:
            self._moved_in[(company_id, new_day)].add(record_id)
            low, high = self._moved_span.get(company_id, (new_day, new_day))
            self._moved_span[company_id] = (min(low, new_day), max(high, new_day))
