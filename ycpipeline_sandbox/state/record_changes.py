"""Changes to records (by the tests, the demo and the control endpoints): each bumps the record's
`last_change_date` (a deletion only when `config.delete_bumps_change_time`) and is announced."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ycpipeline_sandbox import bodies
from ycpipeline_sandbox import generator as gen
from ycpipeline_sandbox.events import EventStatus
from ycpipeline_sandbox.state.chain import parse_change_time
from ycpipeline_sandbox.state.records import Records, visit_day

ADDED_RECORD_IDS = 490_000_000  # ids of records booked through the sandbox (below every generated id)


class RecordChanges(Records):
    """Edits, payments and new bookings of records."""

    def _init_record_changes(self) -> None:
        self._new_ids = itertools.count(ADDED_RECORD_IDS)

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
