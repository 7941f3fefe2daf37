"""Deterministic goods transactions of a generated salon, in the shape of `GET /storages/transactions`
(yclientsru.apib:16054-16128).

Two kinds. Retail sales: a share of the completed visits (attendance 1, not deleted, with services) sell one
or two goods at the visit's end, on the visit's own document, naming the record's client, master, first
service and id. Arrivals: on some days a supplier delivers a few goods (no record, master, service or
client). A day's transactions derive from the seed and that day's generated records alone, so they are
regenerated on demand like the records; nothing generated is created after the history's present.

The list example's oddities are kept: top-level `id`/`document_id` numbers, every other id a string,
`type_id` a string, money as strings with two decimals, the client under `clients`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from ycpipeline_sandbox import generator as gen
from ycpipeline_sandbox.bodies import SHOP_FLOOR, STOREROOM
from ycpipeline_sandbox.events import GOODS_OPERATION_TYPES

# Same layout as the record ids (company, day since the epoch, ordinal), so one is found by its id alone.
GOODS_TRANSACTION_ID_BASE = 1_100_000_000
ARRIVAL_DOCUMENT_BASE = 7_000_000_000  # arrivals have their own document; sales use the visit's
ID_COMPANY_STRIDE = 20_000_000
MAX_PER_DAY = 999
SALE_SHARE = 0.3  # of completed visits: about 2-5 sales a day at 12-25 visits
ARRIVAL_SHARE = 0.3  # of days: a delivery every three days or so
SALE, ARRIVAL = "goods_operations_sale", "goods_operations_receipt"
STORAGE_TITLES = {SHOP_FLOOR: "Товары", STOREROOM: "Склад"}
UNITS = {216_760: ("Штука", "шт."), 216_761: ("миллилитр", "мл")}  # unit id → title, short title
SUPPLIERS = ("ООО «Проф Косметикс»", "ИП Смирнова А. В.", "Estel Professional")
MONEY_FIELDS = ("cost_per_unit", "cost", "discount")
# What an edit may change: everything documented but the identity, the kind and the dates.
EDITABLE = frozenset(
    {
        "document_id",
        "good",
        "storage",
        "unit",
        "operation_unit_type",
        "cost_per_unit",
        "cost",
        "discount",
        "amount",
        "master",
        "supplier",
        "record_id",
        "service",
        "clients",
    }
)


def goods_transaction_id(company_index: int, day: date, n: int) -> int:
    """The id of a day's `n`-th generated goods transaction."""
    return GOODS_TRANSACTION_ID_BASE + company_index * ID_COMPANY_STRIDE + (day - gen.EPOCH).days * 1000 + n


def decode_goods_transaction_id(transaction_id: int) -> tuple[int, date, int] | None:
    """(company index, creation day, ordinal) of a generated id, or None for other ids."""
    offset = transaction_id - GOODS_TRANSACTION_ID_BASE
    if offset < 0:
        return None
    company_index, rest = divmod(offset, ID_COMPANY_STRIDE)
    days, n = divmod(rest, 1000)
    if n >= MAX_PER_DAY or days > 50_000:
        return None
    return company_index, gen.EPOCH + timedelta(days=days), n


def money_text(value: Decimal | float | str) -> str:
    """`1.07`: an amount as the list example writes it (a string, two decimals)."""
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


def suppliers(company_index: int) -> list[dict[str, Any]]:
    """The company's suppliers, `{id, title}` with string ids as the example."""
    return [
        {"id": str(11_112_000 + company_index * 10 + k), "title": title} for k, title in enumerate(SUPPLIERS)
    ]


def _ref(item_id: Any, title: Any) -> dict[str, Any]:
    return {"id": str(item_id), "title": title}


def _transaction(
    *,
    transaction_id: int,
    document_id: int,
    kind: str,
    good: Mapping[str, Any],
    storage: int,
    amount: float,
    discount: int,
    created: datetime,
    changed: datetime,
    master: dict[str, Any] | list[Any],
    supplier: dict[str, Any] | list[Any],
    record_id: int,
    service: dict[str, Any] | list[Any],
    clients: dict[str, Any] | list[Any],
) -> dict[str, Any]:
    type_id, type_title = GOODS_OPERATION_TYPES[kind]
    unit_title, _short = UNITS[good["unit_id"]]
    cost = Decimal(str(good["cost"])) * Decimal(str(abs(amount))) * (100 - discount) / 100
    return {
        "id": transaction_id,
        "document_id": document_id,
        "type_id": str(type_id),
        "type": type_title,
        "good": _ref(good["good_id"], good["title"]),
        "storage": _ref(storage, STORAGE_TITLES[storage]),
        "unit": _ref(good["unit_id"], unit_title),
        # 1 is the sale unit (pieces; the example pairs it with millilitres): what a captured receipt has too.
        "operation_unit_type": 1,
        "create_date": gen.fmt_offset(created, colon=False),
        "last_change_date": gen.fmt_offset(changed, colon=False),
        "cost_per_unit": money_text(good["cost"]),
        "cost": money_text(cost),
        "discount": money_text(discount),
        # Not in the list example; the POST body documents `amount` (yclientsru.apib:16142). UNCERTAIN sign:
        # negative for what leaves the stock (a sale), positive for an arrival, as the POST answer
        # (`"amount": -1` for a sale, :16193) and the captured sale/receipt webhooks show.
        "amount": amount,
        "master": master,
        # `[]` for "none", as the live API's goods operations and the sandbox's /transactions send it.
        "supplier": supplier,
        "record_id": record_id,
        "service": service,
        "clients": clients,
    }


def _changed(rng: random.Random, created: datetime, present: datetime) -> datetime:
    """Most transactions are never touched again; some are corrected hours later (never after the present)."""
    if rng.random() < 0.1:
        return min(created + timedelta(hours=rng.randrange(1, 30)), present)
    return created


def _sales(
    seed: int, shop: gen.Salon, day: date, records: Sequence[Mapping[str, Any]], present: datetime
) -> list[dict[str, Any]]:
    retail = [g for g in shop.goods if UNITS[g["unit_id"]][1] == "шт."]  # goods sold by the piece
    if not retail:
        return []
    day_end = datetime.combine(day, time(23, 59), shop.zone)
    found: list[dict[str, Any]] = []
    for record in records:
        if record["attendance"] != 1 or record["deleted"] or not record["services"]:
            continue
        # Drawn from the record's id, not the day's stream, so the records' own draws stay as they were.
        rng = random.Random(f"{seed}:{shop.index}:goods:{record['id']}")
        if rng.random() >= SALE_SHARE:
            continue
        visit = datetime.fromisoformat(record["datetime"]).astimezone(shop.zone)
        # Sold at the end of the visit, which stays on the visit's day (the day's transactions are its own).
        sold = min(visit + timedelta(seconds=int(record["seance_length"])), day_end, present)
        changed = _changed(rng, sold, present)
        client = record["client"]
        service = record["services"][0]
        for good in rng.sample(retail, min(rng.choice([1, 1, 1, 2]), len(retail))):
            found.append(
                {
                    "good": good,
                    "kind": SALE,
                    "document_id": record["documents"][0]["id"],  # the visit's document
                    "storage": SHOP_FLOOR,
                    "amount": -rng.choice([1, 1, 1, 2]),
                    "discount": rng.choice([0, 0, 0, 5, 10]),
                    "created": sold,
                    "changed": changed,
                    "master": _ref(record["staff"]["id"], record["staff"]["name"]),
                    "supplier": [],
                    "record_id": record["id"],
                    "service": _ref(service["id"], service["title"]),
                    "clients": {"id": str(client["id"]), "name": client["name"], "phone": client["phone"]}
                    if client
                    else [],
                }
            )
    return found


def _arrivals(seed: int, shop: gen.Salon, day: date, present: datetime) -> list[dict[str, Any]]:
    rng = random.Random(f"{seed}:{shop.index}:{day.isoformat()}:goods_arrivals")
    if rng.random() >= ARRIVAL_SHARE:
        return []
    supplier = rng.choice(suppliers(shop.index))
    at = min(datetime.combine(day, time(10), shop.zone) + timedelta(minutes=rng.randrange(0, 120)), present)
    changed = _changed(rng, at, present)
    found: list[dict[str, Any]] = []
    for good in rng.sample(shop.goods, rng.choice([1, 2, 3])):
        by_piece = UNITS[good["unit_id"]][1] == "шт."
        found.append(
            {
                "good": good,
                "kind": ARRIVAL,
                "document_id": None,  # one document per delivery, numbered below
                "storage": STOREROOM,
                "amount": rng.choice([5, 10, 20]) if by_piece else rng.choice([600, 1000, 2000]),
                "discount": 0,
                "created": at,
                "changed": changed,
                "master": [],
                "supplier": dict(supplier),
                "record_id": 0,
                "service": [],
                "clients": [],
            }
        )
    return found


def generate_goods_day(
    seed: int, shop: gen.Salon, day: date, anchor: date, records: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Every goods transaction created on `day` (local) for one company, by creation time and id.

    `records` are the day's generated records (as generated, not as since changed): sales follow them.
    Only days before `anchor` have any, as only they have completed visits.
    """
    if day >= anchor:
        return []
    present = gen.generated_present(anchor, shop.zone) - timedelta(minutes=1)
    drafts = _sales(seed, shop, day, records, present) + _arrivals(seed, shop, day, present)
    result = []
    arrival_document = None
    for n, draft in enumerate(drafts[:MAX_PER_DAY]):
        transaction_id = goods_transaction_id(shop.index, day, n)
        document_id = draft.pop("document_id")
        if document_id is None:
            if arrival_document is None:
                arrival_document = (
                    ARRIVAL_DOCUMENT_BASE + shop.index * ID_COMPANY_STRIDE + (day - gen.EPOCH).days * 1000 + n
                )
            document_id = arrival_document
        result.append(_transaction(transaction_id=transaction_id, document_id=document_id, **draft))
    result.sort(key=lambda t: (datetime.strptime(t["create_date"], "%Y-%m-%dT%H:%M:%S%z"), t["id"]))
    return result


def operation_data(transaction: Mapping[str, Any]) -> dict[str, Any]:
    """A listed transaction as a goods operation webhook carries it (captured_goods_operations_*.json):
    numbers for ids and money, the client under `client`, the unit's `short_title`, the loyalty ids."""

    def numbered(value: Any, **extra: Any) -> Any:
        if not isinstance(value, dict) or not value:
            return []
        return {**{k: int(v) if k == "id" else v for k, v in value.items()}, **extra}

    unit_id = int(transaction["unit"]["id"])
    return {
        "id": transaction["id"],
        "document_id": transaction["document_id"],
        "type_id": int(transaction["type_id"]),
        "type": transaction["type"],
        "good": numbered(transaction["good"]),
        "storage": numbered(transaction["storage"]),
        "unit": numbered(transaction["unit"], short_title=UNITS.get(unit_id, ("", ""))[1]),
        "operation_unit_type": transaction["operation_unit_type"],
        "amount": transaction["amount"],
        "create_date": transaction["create_date"],
        "cost_per_unit": gen.money(float(transaction["cost_per_unit"])),
        "cost": gen.money(float(transaction["cost"])),
        "discount": gen.money(float(transaction["discount"])),
        "comment": "",
        "master": numbered(transaction["master"]),
        "supplier": numbered(transaction["supplier"]),
        "record_id": transaction["record_id"],
        "service": numbered(transaction["service"]),
        "client": numbered(transaction["clients"]),
        "last_change_date": transaction["last_change_date"],
        "loyalty_abonement_id": 0,
        "loyalty_certificate_id": 0,
    }


def resource_of(transaction: Mapping[str, Any]) -> str:
    """The webhook resource of a transaction's kind (`goods_operations_sale`, `…_receipt`)."""
    type_id = int(transaction["type_id"])
    return next((k for k, (t, _) in GOODS_OPERATION_TYPES.items() if t == type_id), SALE)
