"""The goods transactions the API serves (`GET /storages/transactions`): generated per day from that day's
generated records (`goods`), plus edits and deletions kept by id, each announced as a goods operation."""

from __future__ import annotations

import copy
from collections import OrderedDict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ycpipeline_sandbox import generator as gen
from ycpipeline_sandbox import goods
from ycpipeline_sandbox.events import EventStatus
from ycpipeline_sandbox.state.records import Records

CACHED_GOODS_DAYS = 2_000  # a few transactions a day: bounded like the records' cache, far cheaper


class GoodsTransactions(Records):
    """Reads and changes of the goods transactions."""

    def _init_goods_transactions(self) -> None:
        self._goods_edits: dict[tuple[int, int], dict[str, Any]] = {}
        self._goods_deleted: set[tuple[int, int]] = set()
        self._goods_days: OrderedDict[tuple[int, date], list[dict[str, Any]]] = OrderedDict()

    def _generated_goods_day(self, company_id: int, day: date) -> list[dict[str, Any]]:
        key = (company_id, day)
        with self._lock:
            cached = self._goods_days.get(key)
            if cached is not None:
                self._goods_days.move_to_end(key)
                return cached
            # From the records as generated: later edits of a record leave its sale as it was.
            made = (
                goods.generate_goods_day(
                    self.params.seed,
                    self.salons[company_id],
                    day,
                    self.anchor(company_id),
                    self._generated_day(company_id, day),
                )
                if self._in_history(company_id, day)
                else []
            )
            self._goods_days[key] = made
            if len(self._goods_days) > CACHED_GOODS_DAYS:
                self._goods_days.popitem(last=False)
            return made

    def goods_transactions(self, company_id: int, start: date, end: date) -> list[dict[str, Any]]:
        """The goods transactions created on local dates [start, end] and not deleted, as listed, by
        creation time and id (edited ones as edited)."""
        first, last = self.history(company_id)
        found = []
        with self._lock:
            day = max(start, first)
            while day <= min(end, last):
                for txn in self._generated_goods_day(company_id, day):
                    key = (company_id, txn["id"])
                    if key not in self._goods_deleted:
                        found.append(copy.deepcopy(self._goods_edits.get(key, txn)))
                day += timedelta(days=1)
        return found

    def goods_transaction(self, company_id: int, transaction_id: int) -> dict[str, Any] | None:
        """One goods transaction as listed, or None when it never existed or was deleted."""
        decoded = goods.decode_goods_transaction_id(transaction_id)
        if decoded is None or decoded[0] != self.company_indexes.get(company_id):
            return None
        key = (company_id, transaction_id)
        with self._lock:
            if key in self._goods_deleted:
                return None
            found = self._goods_edits.get(key) or next(
                (t for t in self._generated_goods_day(company_id, decoded[1]) if t["id"] == transaction_id),
                None,
            )
            return copy.deepcopy(found)

    def update_goods_transaction(self, company_id: int, transaction_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of a goods transaction (e.g. `amount`, `cost`, `discount`; money as numbers or
        strings, served with two decimals); its `last_change_date` moves to now. Announced as an
        `update` of its goods operation kind."""
        unknown = set(fields) - goods.EDITABLE
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}; editable: {sorted(goods.EDITABLE)}")
        changes = copy.deepcopy(fields)
        for name in goods.MONEY_FIELDS:
            if name in changes:
                changes[name] = goods.money_text(Decimal(str(changes[name])))
        with self._lock:
            current = self.goods_transaction(company_id, transaction_id)
            if current is None:
                raise KeyError(f"goods transaction {transaction_id} of company {company_id} does not exist")
            current.update(changes)
            when = self._change_time(company_id, current["last_change_date"])
            current["last_change_date"] = gen.fmt_offset(when, colon=False)
            self._goods_edits[(company_id, transaction_id)] = current
            edited = copy.deepcopy(current)
        self._announce(company_id, edited, "update")
        return edited

    def delete_goods_transaction(self, company_id: int, transaction_id: int) -> dict[str, Any]:
        """Delete a goods transaction: it is no longer listed (UNCERTAIN: the description says nothing of
        deleted ones; this reads them as gone, as a cancelled sale is). Announced as a `delete` with the
        transaction as it was; returns it."""
        with self._lock:
            current = self.goods_transaction(company_id, transaction_id)
            if current is None:
                raise KeyError(f"goods transaction {transaction_id} of company {company_id} does not exist")
            self._goods_deleted.add((company_id, transaction_id))
        self._announce(company_id, current, "delete")
        return current

    def _announce(self, company_id: int, transaction: dict[str, Any], status: EventStatus) -> None:
        # As a goods operation webhook of its kind (sale or receipt), in the captured payloads' shape.
        resource, data = goods.resource_of(transaction), goods.operation_data(transaction)
        self._emit(company_id, resource, transaction["id"], status, data)
