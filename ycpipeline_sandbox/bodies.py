"""Webhook data of operations no sandbox endpoint serves: goods operations and finance operations, in the
shapes captured from the live API (docs/api-assumptions.md)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from ycpipeline_sandbox.events import GOODS_OPERATION_TYPES, GoodsOperationKind
from ycpipeline_sandbox.generator import fmt_offset, money

SHOP_FLOOR, STOREROOM = 91_548, 91_549  # the storages goods move between


def goods_operations(
    kind: GoodsOperationKind,
    good: Mapping[str, Any],
    amount: float,
    when: datetime,
    ids: Iterator[int],
    *,
    comment: str = "",
) -> list[dict[str, Any]]:
    """The operations of one stock change: one, or for a move two on one document (out of the shop floor,
    into the storeroom). Outgoing amounts are negative."""
    type_id, type_title = GOODS_OPERATION_TYPES[kind]
    stamp = fmt_offset(when, colon=False)
    document_id = next(ids) + 100_000_000
    if kind == "goods_operations_move":
        legs = [(SHOP_FLOOR, -abs(amount)), (STOREROOM, abs(amount))]
    else:
        legs = [(SHOP_FLOOR, abs(amount) if kind == "goods_operations_receipt" else -abs(amount))]
    return [
        {
            "id": next(ids),
            "document_id": document_id,
            "type_id": type_id,
            "type": type_title,
            "good": {"id": good["good_id"], "title": good["title"]},
            "storage": {"id": storage, "title": "Товары" if storage == SHOP_FLOOR else "Склад"},
            "unit": {"id": good["unit_id"], "title": "Штука", "short_title": good["unit_short_title"]},
            "operation_unit_type": 1 if kind == "goods_operations_sale" else 2,
            "amount": quantity,
            "create_date": stamp,
            "cost_per_unit": good["cost"],
            "cost": money(abs(quantity) * good["cost"]),
            "discount": 0,
            "comment": comment,
            "master": [],
            "supplier": [],
            "record_id": 0,
            "service": [],
            "client": [],
            "last_change_date": stamp,
            "loyalty_abonement_id": 0,
            "loyalty_certificate_id": 0,
        }
        for storage, quantity in legs
    ]


def finance_operation(record: Mapping[str, Any], txn: Mapping[str, Any]) -> dict[str, Any]:
    """A `finances_operation` webhook's data for one payment of a record."""
    zone = datetime.strptime(record["last_change_date"], "%Y-%m-%dT%H:%M:%S%z").tzinfo
    when = datetime.strptime(str(txn["date"]), "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)
    return {
        "id": txn["id"],
        "document_id": txn["document_id"],
        "expense": dict(txn["expense"]),
        "date": fmt_offset(when, colon=False),
        "amount": txn["amount"],
        "comment": txn["comment"],
        "master": [],
        "supplier": [],
        "account": dict(txn["account"]),
        "client": txn["client"],
        "record_id": txn["record_id"],
        "visit_id": int(record["visit_id"]),
        "sold_item_id": txn["item_id"],
        "sold_item_type": "service",
        "last_change_date": record["last_change_date"],
    }
