"""The sandbox's live data: generated history plus the changes made since, each announced to listeners.

Records are generated per day on demand (`generator`); a change keeps a full copy of the record it
touches, so generated days stay reproducible and memory grows only with edits. Every change to a
record bumps its `last_change_date` (a deletion only when `config.delete_bumps_change_time`), and every
change emits one webhook event per object it touches.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from ycpipeline_sandbox import bodies, salon
from ycpipeline_sandbox import generator as gen
from ycpipeline_sandbox.config import SandboxConfig
from ycpipeline_sandbox.events import (
    EventStatus,
    GoodsOperationKind,
    default_hooks_settings,
    make_event,
)

WebhookListener = Callable[[dict[str, Any]], None]
CACHED_RECORDS = 20_000  # generated records kept for re-reads; older days are simply generated again
ADDED_RECORD_IDS = 490_000_000  # ids of records booked through the sandbox (below every generated id)


def parse_change_time(text: str) -> datetime:
    """A record's `last_change_date` (`2019-01-16T20:35:15+0900`) as an aware datetime."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")


def visit_day(record: Mapping[str, Any]) -> date:
    """The record's local visit date (the API's own `date`)."""
    return date.fromisoformat(str(record["datetime"])[:10])


class SandboxState:
    """A salon chain whose records are generated per day on demand and can be changed.

    `companies` is any number ≥ 1 (ids from 235564 up, mixed time zones); `days_back`/`days_ahead`
    bound the generated history around each company's `anchor`.
    """

    def __init__(
        self,
        params: gen.GenerationParams | None = None,
        *,
        companies: int = 1,
        days_back: int = 120,
        days_ahead: int = 35,
        config: SandboxConfig | None = None,
    ) -> None:
        if companies < 1:
            raise ValueError("the sandbox serves at least one company")
        self.params = params or gen.GenerationParams()
        # Shared with the Sandbox serving this state, so `reconfigure` reaches the change rules too.
        self.config = config or SandboxConfig()
        self.salons = {
            shop.profile.company_id: shop
            for shop in (gen.Salon(self.params.seed, i) for i in range(companies))
        }
        self.company_indexes = {cid: shop.index for cid, shop in self.salons.items()}
        self.days_back = days_back
        self.days_ahead = days_ahead
        self.people = gen.people(self.params.seed)
        self.listeners: list[WebhookListener] = []
        # The wall clock of changes (a test may pin it); a change is never dated before the one it follows.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._services = {cid: copy.deepcopy(s.services) for cid, s in self.salons.items()}
        self._staff = {cid: copy.deepcopy(s.staff) for cid, s in self.salons.items()}
        self._categories = {
            cid: salon.service_categories(self.params.seed, s.index) for cid, s in self.salons.items()
        }
        self._goods = {cid: copy.deepcopy(s.goods) for cid, s in self.salons.items()}
        self._company_changes: dict[int, dict[str, Any]] = defaultdict(dict)
        self._client_changes: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
        self._hooks = {cid: default_hooks_settings() for cid in self.salons}
        self._removed_services: dict[int, set[int]] = defaultdict(set)
        self._overrides: dict[tuple[int, int], dict[str, Any]] = {}
        self._changed_ids: dict[int, set[int]] = defaultdict(set)
        self._moved_in: dict[tuple[int, date], set[int]] = defaultdict(set)
        self._moved_span: dict[int, tuple[date, date]] = {}  # first and last day records moved to
        self._touched_days: set[tuple[int, date]] = set()
        self._day_cache: OrderedDict[tuple[int, date], list[dict[str, Any]]] = OrderedDict()
        self._cached = 0
        self._new_ids = itertools.count(ADDED_RECORD_IDS)
        self._operation_ids = itertools.count(518_000_000)
        self._lock = threading.RLock()

    # -- companies and catalogue ----------------------------------------------------------------------

    @property
    def company_ids(self) -> list[int]:
        """The chain's company ids, in order."""
        return list(self.salons)

    def knows(self, company_id: int) -> bool:
        """Whether `company_id` is a company of this sandbox."""
        return company_id in self.salons

    def timezone(self, company_id: int) -> tzinfo:
        """The company's time zone."""
        return self.salons[company_id].zone

    def anchor(self, company_id: int) -> date:
        """The salon's "today": fixed by the params, else today's date in the company's zone."""
        return self.params.anchor or datetime.now(self.timezone(company_id)).date()

    def company(self, company_id: int, *, for_booking: bool = False) -> dict[str, Any] | None:
        """The company object (`forBooking=1` adds the booking fields), or None for an unknown id."""
        shop = self.salons.get(company_id)
        if shop is None:
            return None
        next_slot = None
        if for_booking:
            tomorrow = datetime.combine(self.anchor(company_id) + timedelta(days=1), datetime.min.time())
            next_slot = gen.local_text(tomorrow.replace(hour=10))
        data = salon.company_object(
            shop.index, timezone_form=self.config.company_timezone, next_slot=next_slot
        )
        with self._lock:
            data.update(copy.deepcopy(self._company_changes.get(company_id, {})))
        return data

    def services(self, company_id: int) -> list[dict[str, Any]]:
        """Services currently listed by the API."""
        with self._lock:
            removed = self._removed_services[company_id]
            return [copy.deepcopy(s) for s in self._services[company_id] if int(s["id"]) not in removed]

    def service(self, company_id: int, service_id: int) -> dict[str, Any] | None:
        """One listed service, or None."""
        return next((s for s in self.services(company_id) if int(s["id"]) == service_id), None)

    def staff(self, company_id: int) -> list[dict[str, Any]]:
        """Staff as the API lists them, deleted and fired ones included (with their flags)."""
        with self._lock:
            return copy.deepcopy(self._staff[company_id])

    def staff_member(self, company_id: int, staff_id: int) -> dict[str, Any] | None:
        """One staff member, or None."""
        return next((s for s in self.staff(company_id) if s["id"] == staff_id), None)

    def service_categories(self, company_id: int) -> list[dict[str, Any]]:
        """The company's service categories."""
        with self._lock:
            return copy.deepcopy(self._categories[company_id])

    def goods(self, company_id: int) -> list[dict[str, Any]]:
        """The company's goods."""
        with self._lock:
            return copy.deepcopy(self._goods[company_id])

    def accounts(self, company_id: int) -> list[dict[str, Any]]:
        """The company's cash desks and accounts."""
        return copy.deepcopy(self.salons[company_id].accounts)

    def schedule(self, company_id: int, staff_id: int, start: date, end: date) -> list[dict[str, Any]] | None:
        """`GET /schedule/…` data (yclientsru.apib:7497): each day of [start, end] with its working slots
        (none after a dismissal or a deletion), or None for an unknown staff member."""
        with self._lock:
            ordinal = next((n for n, m in enumerate(self._staff[company_id]) if m["id"] == staff_id), None)
            if ordinal is None:
                return None
            member = copy.deepcopy(self._staff[company_id][ordinal])
        left = date.fromisoformat(member["dismissal_date"]) if member.get("dismissal_date") else None
        days = []
        day = start
        while day <= end:
            slots = () if member["is_deleted"] or (left and day > left) else salon.shift(ordinal, day)
            days.append(
                {
                    "date": day.isoformat(),
                    "is_working": 1 if slots else 0,
                    "slots": [{"from": a, "to": b} for a, b in slots],
                }
            )
            day += timedelta(days=1)
        return days

    def client(self, company_id: int, client_id: int) -> dict[str, Any] | None:
        """`GET /client/{company_id}/{id}` data (yclientsru.apib:5065), or None for an unknown client."""
        index = client_id - gen.client_id(self.company_indexes[company_id], self.people[0])
        if not 0 <= index < len(self.people):
            return None
        data = salon.client_card(self.people[index], client_id)
        with self._lock:
            data.update(copy.deepcopy(self._client_changes[company_id].get(client_id, {})))
        return data

    def hooks_settings(self, company_id: int) -> dict[str, Any]:
        """The company's webhook settings (`GET /hooks_settings`)."""
        with self._lock:
            return copy.deepcopy(self._hooks[company_id])

    def set_hooks_settings(self, company_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Store new webhook settings (absent flags keep their value); returns the settings now."""
        with self._lock:
            self._hooks[company_id].update(copy.deepcopy(dict(changes)))
            return self.hooks_settings(company_id)

    # -- records --------------------------------------------------------------------------------------

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

    def _with_client_changes(self, company_id: int, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        changes = self._client_changes.get(company_id)
        if not changes:
            return records
        result = []
        for record in records:
            client = record.get("client")
            key = client.get("id") if isinstance(client, dict) else None
            change = changes.get(key) if isinstance(key, int) else None
            if change and isinstance(client, dict):
                fields = {k: v for k, v in change.items() if k in client}
                record = {**record, "client": {**client, **fields}}
            result.append(record)
        return result

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

    # -- changes to records (tests, the demo, control endpoints) --------------------------------------

    def _change_time(self, company_id: int, previous: str | None) -> datetime:
        now = self.clock().astimezone(self.timezone(company_id)).replace(microsecond=0)
        if previous:
            now = max(now, parse_change_time(previous) + timedelta(seconds=1))
        return now

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
            edited = copy.deepcopy(current)
            if bump:
                when = self._change_time(company_id, current.get("last_change_date"))
                edited["last_change_date"] = gen.fmt_offset(when, colon=False)
            change(edited)
            self._store(company_id, visit_day(current), edited)
        status: EventStatus = "delete" if edited.get("deleted") is True else "update"
        self._emit(company_id, "record", record_id, status, gen.without_extras(edited))
        return edited

    def set_attendance(self, company_id: int, record_id: int, attendance: int) -> dict[str, Any]:
        """Mark a visit as came (1), confirmed (2), waiting (0) or no-show (-1)."""

        def change(rec: dict[str, Any]) -> None:
            rec["attendance"] = rec["visit_attendance"] = attendance
            rec["confirmed"] = 1 if attendance in (1, 2) else 0

        return self._edit(company_id, record_id, change)

    def set_service_cost(
        self, company_id: int, record_id: int, cost: Decimal | str | float, line: int = 0
    ) -> dict[str, Any]:
        """Change the final cost of one service line (a number, as the API sends costs)."""
        amount = gen.money(float(Decimal(str(cost)).quantize(Decimal("0.01"))))

        def change(rec: dict[str, Any]) -> None:
            item = rec["services"][line]
            item["cost"] = item["cost_to_pay"] = item["manual_cost"] = amount
            item["cost_per_unit"] = gen.money(float(amount) / max(int(item.get("amount") or 1), 1))

        return self._edit(company_id, record_id, change)

    def delete_record(self, company_id: int, record_id: int) -> dict[str, Any]:
        """Cancel a record (kept with `deleted: true`, as `with_deleted=1` shows it); its change time moves
        only when `config.delete_bumps_change_time`."""
        return self._edit(
            company_id,
            record_id,
            lambda rec: rec.update(deleted=True),
            bump=self.config.delete_bumps_change_time,
        )

    def move_record(self, company_id: int, record_id: int, new_start: datetime) -> dict[str, Any]:
        """Move a record to another time, possibly another day."""
        local = new_start.astimezone(self.timezone(company_id))

        def change(rec: dict[str, Any]) -> None:
            rec["date"] = gen.local_text(local)
            rec["datetime"] = gen.fmt_offset(local, colon=True)

        return self._edit(company_id, record_id, change)

    def patch_record(self, company_id: int, record_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Overwrite raw fields of a record as given (hostile or malformed values included); the change
        time moves first, so `fields` may set `last_change_date` itself."""
        return self._edit(company_id, record_id, lambda rec: rec.update(copy.deepcopy(dict(fields))))

    def pay_record(
        self, company_id: int, record_id: int, *, line: int | None = None, account_id: int | None = None
    ) -> dict[str, Any]:
        """Pay one service line (default: every unpaid line) at a cash desk: the record gains its finance
        transactions and `paid_full` once everything is paid; a `finances_operation` event per payment."""
        shop = self.salons[company_id]
        account = next((a for a in shop.accounts if a["id"] == account_id), shop.accounts[0])
        payments: list[dict[str, Any]] = []

        def change(rec: dict[str, Any]) -> None:
            paid_items = {t["item_id"] for t in rec["finance_transactions"]}
            todo = [rec["services"][line]] if line is not None else rec["services"]
            when = parse_change_time(rec["last_change_date"])
            for item in todo:
                if item["id"] in paid_items:
                    continue
                ordinal = len(rec["finance_transactions"])
                payments.append(gen.payment(rec, item, ordinal, account, when))
                rec["finance_transactions"].append(payments[-1])
            paid = {t["item_id"] for t in rec["finance_transactions"]}
            if rec["services"] and all(item["id"] in paid for item in rec["services"]):
                rec["paid_full"] = rec["payment_status"] = 1

        record = self._edit(company_id, record_id, change)
        for txn in payments:
            self._emit(
                company_id, "finances_operation", txn["id"], "create", bodies.finance_operation(record, txn)
            )
        return record

    def _record_like_the_day(self, company_id: int, day: date) -> dict[str, Any]:
        """A generated record of `day`, else of the latest history day that has one."""
        last = self.anchor(company_id) + timedelta(days=self.days_ahead)
        for candidate in itertools.chain(
            [day], (last - timedelta(days=n) for n in range(self.days_back + self.days_ahead + 1))
        ):
            records = self._generated_day(company_id, candidate)
            if records:
                return records[0]
        raise ValueError(f"company {company_id} has no record to copy: pass `like`")

    def add_record(self, company_id: int, start: datetime, *, like: int | None = None) -> dict[str, Any]:
        """Book a new record at `start`, copying the services and client of record `like` (or of the day)."""
        local = start.astimezone(self.timezone(company_id))
        with self._lock:
            template = self.get_record(company_id, like) if like else None
            if template is None:
                template = self._record_like_the_day(company_id, local.date())
            rid = next(self._new_ids)
            rec = copy.deepcopy(self._with_client_changes(company_id, [template])[0])
            now = gen.fmt_offset(self._change_time(company_id, None), colon=False)
            visit_id = rid + 300_000_000
            rec.update(
                id=rid,
                date=gen.local_text(local),
                datetime=gen.fmt_offset(local, colon=True),
                create_date=now,
                last_change_date=now,
                deleted=False,
                attendance=0,
                visit_attendance=0,
                confirmed=0,
                visit_id=str(visit_id),
                paid_full=0,
                payment_status=0,
                consumables=[],
                finance_transactions=[],
            )
            for document in rec["documents"]:
                document.update(
                    id=rid + 2_000_000_000, visit_id=visit_id, record_id=rid, date_created=rec["date"]
                )
            self._store(company_id, None, rec)
        self._emit(company_id, "record", rid, "create", gen.without_extras(rec))
        return rec

    # -- changes to the company and its catalogue ------------------------------------------------------

    def update_company(self, company_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of the company object (e.g. `title`, `phone`)."""
        with self._lock:
            self._company_changes[company_id].update(copy.deepcopy(fields))
            company = self.company(company_id)
        assert company is not None
        self._emit(company_id, "company", company_id, "update", company)
        return company

    def update_service(self, company_id: int, service_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of a service (e.g. `title`, `price_min`)."""
        with self._lock:
            found = next(s for s in self._services[company_id] if int(s["id"]) == service_id)
            found.update(copy.deepcopy(fields))
            service = copy.deepcopy(found)
        self._emit(company_id, "service", service_id, "update", service)
        return service

    def rename_service(self, company_id: int, service_id: int, title: str) -> None:
        """Change a service's title."""
        self.update_service(company_id, service_id, title=title)

    def remove_service(self, company_id: int, service_id: int) -> None:
        """Stop listing a service (as when it is deleted in YClients)."""
        with self._lock:
            self._removed_services[company_id].add(service_id)
            service = next(s for s in self._services[company_id] if int(s["id"]) == service_id)
        self._emit(company_id, "service", service_id, "delete", service)

    def restore_service(self, company_id: int, service_id: int) -> None:
        """List a removed service again."""
        with self._lock:
            self._removed_services[company_id].discard(service_id)
            service = next(s for s in self._services[company_id] if int(s["id"]) == service_id)
        self._emit(company_id, "service", service_id, "update", service)

    def update_service_category(self, company_id: int, category_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of a service category (e.g. `title`)."""
        with self._lock:
            found = next(c for c in self._categories[company_id] if c["id"] == category_id)
            found.update(copy.deepcopy(fields))
            category = copy.deepcopy(found)
        self._emit(company_id, "service_category", category_id, "update", category)
        return category

    def update_staff(self, company_id: int, staff_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of a staff member; `fired=1` or `is_deleted=True` keep their twin fields in step
        (`is_fired`/`dismissal_date`, `status`), and a deletion is announced as `delete`."""
        if fields.get("fired"):
            fields = {"is_fired": True, "dismissal_date": self.anchor(company_id).isoformat(), **fields}
        if fields.get("is_deleted"):
            fields = {"status": 1, **fields}
        with self._lock:
            found = next(s for s in self._staff[company_id] if s["id"] == staff_id)
            found.update(copy.deepcopy(fields))
            member = copy.deepcopy(found)
        self._emit(company_id, "staff", staff_id, "delete" if member["is_deleted"] else "update", member)
        return member

    def update_client(self, company_id: int, client_id: int, **fields: Any) -> dict[str, Any]:
        """Change a client's card (e.g. `name`, `phone`): records show the new values from now on."""
        if self.client(company_id, client_id) is None:
            raise KeyError(f"client {client_id} of company {company_id} does not exist")
        with self._lock:
            self._client_changes[company_id].setdefault(client_id, {}).update(copy.deepcopy(fields))
            when = self._change_time(company_id, None)
            self._client_changes[company_id][client_id]["last_change_date"] = gen.fmt_offset(
                when, colon=False
            )
        client = self.client(company_id, client_id)
        assert client is not None
        self._emit(company_id, "client", client_id, "update", client)
        return client

    def update_good(self, company_id: int, good_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of a good (e.g. `cost`)."""
        with self._lock:
            found = next(g for g in self._goods[company_id] if g["good_id"] == good_id)
            found.update(copy.deepcopy(fields))
            found["last_change_date"] = gen.fmt_offset(self._change_time(company_id, None), colon=False)
            good = copy.deepcopy(found)
        self._emit(company_id, "good", good_id, "update", good)
        return good

    def goods_operation(
        self, company_id: int, kind: GoodsOperationKind, good_id: int, amount: float, *, comment: str = ""
    ) -> list[dict[str, Any]]:
        """A stock operation on a good: sale, receipt, consumable or goods write-off, or a move (two
        operations on one document: out of one storage, into another). Returns the operations' data."""
        with self._lock:
            good = copy.deepcopy(next(g for g in self._goods[company_id] if g["good_id"] == good_id))
        when = self._change_time(company_id, None)
        operations = bodies.goods_operations(kind, good, amount, when, self._operation_ids, comment=comment)
        for operation in operations:
            self._emit(company_id, kind, operation["id"], "create", operation)
        return operations

    def _emit(
        self, company_id: int, resource: str, resource_id: int, status: EventStatus, data: dict[str, Any]
    ) -> None:
        if resource == "company":
            resource = self.config.company_webhook_resource
        event = make_event(company_id, resource, resource_id, status, data)
        for listener in list(self.listeners):
            listener(event)
