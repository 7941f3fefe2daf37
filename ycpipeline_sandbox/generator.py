"""Deterministic generation of a sandbox chain's clients and records.

Everything derives from the seed, the company and the day, so a day's records are regenerated on demand
instead of held in memory: the sandbox serves a million records in a few hundred megabytes.
Records come out in the shape of the official example (`yclientsru.apib:5466`, one record `:5983`):
costs as numbers, `visit_id` as a string, labels with string ids, offsets with and without a colon,
`client: null` now and then. Each also carries its `consumables` and `finance_transactions`; the API sends
those two only when asked (`include_consumables`, `include_finance_transactions`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from ycpipeline_sandbox import salon
from ycpipeline_sandbox.profiles import COMPANY_PROFILES, CompanyProfile, company_profile

__all__ = [
    "COMPANY_PROFILES",
    "GenerationParams",
    "Person",
    "Salon",
    "decode_record_id",
    "fmt_offset",
    "generate_day",
    "people",
    "record_id",
]

RECORD_ID_BASE = 500_000_000
RECORD_ID_COMPANY_STRIDE = 20_000_000
MAX_RECORDS_PER_DAY = 999
EPOCH = date(2000, 1, 1)
FIRST_NAMES = [
    "Мария",
    "Анна",
    "Елена",
    "Ольга",
    "Татьяна",
    "Наталья",
    "Ирина",
    "Светлана",
    "Юлия",
    "Дарья",
    "Алексей",
    "Иван",
    "Сергей",
    "Павел",
    "Zoë",
    "Анастасия",
    "Ксения",
    "Полина",
    "Виктория",
    "Вера",
]
LAST_INITIALS = "АБВГДЕЖЗИКЛМНОПРСТУФХЦЧШЭЮЯ"
COMMENTS = [
    "",
    "",
    "",
    "просит мастера Анну",
    "первый визит 🙂",
    "аллергия на аммиак!",
    "перенос с прошлой недели",
    "оплата картой",
    "придёт с ребёнком 👶",
    "VIP ⭐",
    "позвонить за час",
]
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# Record labels: ids as strings, as in the example (yclientsru.apib:5602).
RECORD_LABELS = [
    {
        "id": "67345",
        "title": "Сотрудник не важен",
        "color": "#009800",
        "icon": "unlock",
        "font_color": "#ffffff",
    },
    {"id": "104474", "title": "VIP", "color": "#3b2c54", "icon": "star", "font_color": "#ffffff"},
    {
        "id": "104475",
        "title": "Повторный визит",
        "color": "#2196f3",
        "icon": "repeat",
        "font_color": "#ffffff",
    },
]
SERVICES_EXPENSE = {"id": 5, "title": "Оказание услуг"}  # yclientsru.apib:6129
RECORD_EXTRAS = ("consumables", "finance_transactions")  # sent only when asked for (`include_*=1`)


@dataclass(frozen=True)
class Person:
    """A salon client as the app would know them: phone and loyalty code."""

    index: int
    name: str
    phone_digits: str  # 10 national digits, e.g. 9161234567
    code: str

    def phone_as_written(self, rng: random.Random) -> str:
        """The phone in one of the mixed formats salon admins type."""
        d = self.phone_digits
        forms = [
            f"+7 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}",
            f"8{d}",
            f"7{d}",
            d,
            f"+7{d}",
            f"8 ({d[:3]}) {d[3:6]} {d[6:8]} {d[8:]}",
        ]
        return rng.choice(forms)


def fmt_offset(dt: datetime, *, colon: bool) -> str:
    """ISO 8601 with the offset written with or without a colon, as the API mixes both."""
    text = dt.isoformat(timespec="seconds")
    return text if colon else text[:-3] + text[-2:]


def local_text(dt: datetime) -> str:
    """`2019-01-16 16:00:00`: the API's local form without an offset."""
    return dt.isoformat(sep=" ", timespec="seconds")[:19]  # several times faster than strftime


def people(seed: int, count: int = 600) -> list[Person]:
    """The client pool shared by every company of the chain."""
    rng = random.Random(f"{seed}:people")
    result = []
    used_codes: set[str] = set()
    for i in range(count):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_INITIALS)}."
        phone = f"9{rng.randrange(10**8, 10**9):09d}"
        code = "".join(rng.choice(CODE_ALPHABET) for _ in range(6))
        while code in used_codes:
            code = "".join(rng.choice(CODE_ALPHABET) for _ in range(6))
        used_codes.add(code)
        result.append(Person(i, name, phone, code))
    return result


def client_id(company_index: int, person: Person) -> int:
    """A person's client id in one company (each company keeps its own client card)."""
    return 88_000 + company_index * 10_000 + person.index


def record_id(company_index: int, day: date, n: int) -> int:
    """Generated record ids encode their company and generation day, so one can be found by id."""
    return RECORD_ID_BASE + company_index * RECORD_ID_COMPANY_STRIDE + (day - EPOCH).days * 1000 + n


def decode_record_id(rid: int) -> tuple[int, date, int] | None:
    """(company index, generation day, ordinal) of a generated id, or None for other ids."""
    offset = rid - RECORD_ID_BASE
    if offset < 0:
        return None
    company_index, rest = divmod(offset, RECORD_ID_COMPANY_STRIDE)
    days, n = divmod(rest, 1000)
    if n >= MAX_RECORDS_PER_DAY or days > 50_000:
        return None
    return company_index, EPOCH + timedelta(days=days), n


def money(value: float) -> int | float:
    """A rouble amount as the API writes it: `100`, or `99.5` when it has kopecks."""
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded


@dataclass(frozen=True)
class GenerationParams:
    """What shapes the generated history."""

    seed: int = 42
    records_per_day: int = 25
    anchor: date | None = None  # "today" of the salon; None means the real today


@dataclass(frozen=True)
class Salon:
    """One company's generated catalogue, which its records are drawn from."""

    seed: int
    index: int

    @cached_property
    def profile(self) -> CompanyProfile:
        return company_profile(self.index)

    @cached_property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.profile.timezone)

    @cached_property
    def services(self) -> list[dict[str, Any]]:
        return salon.services(self.seed, self.index)

    @cached_property
    def staff(self) -> list[dict[str, Any]]:
        return salon.staff(self.seed, self.index)

    @cached_property
    def working_staff(self) -> list[dict[str, Any]]:
        """Who takes new bookings: neither fired nor deleted."""
        return [s for s in self.staff if not s["fired"] and not s["is_deleted"]]

    @cached_property
    def goods(self) -> list[dict[str, Any]]:
        return salon.goods(self.index)

    @cached_property
    def accounts(self) -> list[dict[str, Any]]:
        return salon.accounts(self.index)

    @cached_property
    def admin_users(self) -> list[int]:
        """Users who book at the front desk (`created_user_id` of offline records)."""
        return [1_073_232 + self.index * 10 + k for k in range(3)]

    @cached_property
    def colouring_services(self) -> frozenset[int]:
        category = str(salon.category_id(self.index, salon.COLOURING_CATEGORY))
        return frozenset(int(s["id"]) for s in self.services if s["category_id"] == category)


def generated_present(anchor: date, zone: tzinfo) -> datetime:
    """The "now" of the generated history (the anchor day's local midnight): nothing generated is later."""
    return datetime.combine(anchor, time(0), zone)


def day_record_count(params: GenerationParams, company_index: int, day: date) -> int:
    """How many records were generated for a day (cheap: no record is built)."""
    rng = random.Random(f"{params.seed}:{company_index}:{day.isoformat()}:count")
    mean = params.records_per_day
    if mean <= 0:
        return 0
    weekday_factor = 0.6 if day.weekday() == 6 else 1.0
    return min(MAX_RECORDS_PER_DAY, max(0, round(rng.gauss(mean * weekday_factor, mean * 0.2))))


def without_extras(record: dict[str, Any]) -> dict[str, Any]:
    """The record as `GET /record` sends it by default (and as webhooks carry it): no consumables or
    finance transactions."""
    return {k: v for k, v in record.items() if k not in RECORD_EXTRAS}


def record_staff(member: dict[str, Any]) -> dict[str, Any]:
    """The staff object embedded in a record (yclientsru.apib:5486)."""
    return {
        "id": member["id"],
        "api_id": member["api_id"],
        "name": member["name"],
        "specialization": member["specialization"],
        "position": member["position"],
        "avatar": member["avatar"],
        "avatar_big": member["avatar_big"],
        "rating": member["rating"],
        "votes_count": member["votes_count"],
    }


def payment(
    record: dict[str, Any], line: dict[str, Any], ordinal: int, account: dict[str, Any], when: datetime
) -> dict[str, Any]:
    """A finance transaction paying one service line, in the shape of yclientsru.apib:6112."""
    client = record["client"]
    return {
        "id": record["id"] * 10 + ordinal,
        "document_id": record["id"] + 3_000_000_000,
        "date": local_text(when),
        "type_id": 5,
        "expense_id": SERVICES_EXPENSE["id"],
        "account_id": account["id"],
        "amount": line["cost"],
        "client_id": client["id"] if client else 0,
        "master_id": 0,
        "supplier_id": 0,
        "comment": "",
        "item_id": line["id"],
        "target_type_id": 1,
        "record_id": record["id"],
        "goods_transaction_id": 0,
        "expense": dict(SERVICES_EXPENSE),
        "account": {"id": account["id"], "title": account["title"]},
        "client": {"id": client["id"], "name": client["name"], "phone": client["phone"]} if client else [],
        "master": [],
        "supplier": [],
    }


def _consumable(
    record: dict[str, Any], line: dict[str, Any], ordinal: int, dye: dict[str, Any]
) -> dict[str, Any]:
    """Dye used by a colouring service (yclientsru.apib:6087)."""
    amount = 30 * (1 + ordinal % 3)
    return {
        "id": record["id"] * 10 + ordinal,
        "document_id": record["id"] + 4_000_000_000,
        "type_id": 2,
        "company_id": record["company_id"],
        "good_id": dye["good_id"],
        "amount": -amount,
        "cost_per_unit": dye["cost"],
        "discount": 0,
        "cost": money(amount * dye["cost"]),
        "unit_id": dye["unit_id"],
        "operation_unit_type": 2,
        "storage_id": 91_548,
        "supplier_id": 0,
        "client_id": 0,
        "master_id": 0,
        "create_date": record["date"],
        "comment": "",
        "service_id": line["id"],
        "user_id": record["created_user_id"],
        "deleted": False,
        "pkg_amount": 0,
    }


def generate_day(
    params: GenerationParams, shop: Salon, day: date, anchor: date, pool: list[Person]
) -> list[dict[str, Any]]:
    """Every record generated for one company and visit day, in API order."""
    count = day_record_count(params, shop.index, day)
    rng = random.Random(f"{params.seed}:{shop.index}:{day.isoformat()}")
    zone = shop.zone
    present = generated_present(anchor, zone)
    company_id = shop.profile.company_id
    # Bookings go to who works that day (their schedule, `GET /schedule`), else to anyone still employed.
    on_shift = [m for m in shop.working_staff if salon.shift(shop.staff.index(m), day)]
    working = on_shift or shop.working_staff or shop.staff
    records = []
    for n in range(count):
        rid = record_id(shop.index, day, n)
        if n == 0 and rng.random() < 0.3:
            local = datetime.combine(day, time(0, 30), zone)  # late-night booking: local midnight edge
        else:
            local = datetime.combine(day, time(9 + rng.randrange(0, 12), rng.choice([0, 15, 30, 45])), zone)
        length = rng.choice([1800, 3600, 3600, 5400, 7200])
        person = rng.choice(pool) if rng.random() > 0.08 else None
        master = rng.choice(working)
        lines = []
        n_services = rng.choice([1, 1, 1, 2, 2, 3])
        chosen = rng.sample(shop.services, n_services)
        if n_services >= 2 and rng.random() < 0.05:
            chosen.append(chosen[0])  # the same service listed twice: lines are merged downstream
        for svc in chosen:
            first_cost = int(float(svc["price_min"])) + rng.choice([0, 0, 100, 250, 500])
            discount = rng.choice([0, 0, 0, 5, 10, 15])
            amount = 2 if rng.random() < 0.05 else 1
            per_unit = money(first_cost * (100 - discount) / 100)
            cost = money(per_unit * amount)
            lines.append(
                {
                    "id": int(svc["id"]),
                    "title": svc["title"],
                    "cost": cost,
                    "cost_to_pay": cost,
                    "manual_cost": cost,
                    "cost_per_unit": per_unit,
                    "discount": discount,
                    "first_cost": first_cost * amount,
                    "amount": amount,
                }
            )
        if rng.random() < 0.02:
            lines = []  # a record with no services (e.g. a consultation)
        booked_days_before = rng.choice([0, 1, 2, 3, 7, 14, 30, 60])
        created = local - timedelta(days=booked_days_before, hours=rng.randrange(1, 9))
        # Nothing generated lies after the history's present: future visits were booked before it.
        created = min(created, present - timedelta(hours=rng.randrange(1, 48)))
        if day < anchor:
            attendance = rng.choices([1, -1, 0, 2], weights=[78, 10, 6, 6])[0]
        else:
            attendance = rng.choices([0, 2], weights=[60, 40])[0]
        deleted = rng.random() < 0.04
        ends = local + timedelta(seconds=length)
        changed = min(max(created, min(ends, created + timedelta(days=booked_days_before))), present)
        comment = rng.choice(COMMENTS)
        if person is not None and rng.random() < 0.35:
            comment = (
                (comment + " " if comment else "") + rng.choice(["код ", "code: ", "промо "]) + person.code
            )
        online = rng.random() < 0.5
        client: dict[str, Any] | None = None
        if person is not None:
            client = {
                "id": client_id(shop.index, person),
                "name": person.name,
                "phone": person.phone_as_written(rng),
                "card": "",
                "email": "",
                "success_visits_count": person.index * 7 % 40,
                "fail_visits_count": person.index % 4,
            }
        created_user = (
            (2_000_000_000 + client["id"] if client else 0) if online else rng.choice(shop.admin_users)
        )
        labels = (
            [dict(label) for label in rng.sample(RECORD_LABELS, rng.choice([1, 2]))]
            if rng.random() < 0.12
            else []
        )
        paid_share = rng.random()  # drawn for every record so the draws stay aligned
        visit_id = rid + 300_000_000
        record: dict[str, Any] = {
            "id": rid,
            "company_id": company_id,
            "staff_id": master["id"],
            "services": lines,
            "goods_transactions": [],
            "staff": record_staff(master),
            "client": client,
            "clients_count": 1 if client else 0,
            "date": local_text(local),
            "datetime": fmt_offset(local, colon=True),
            "create_date": fmt_offset(created, colon=False),
            "comment": comment,
            "online": online,
            "visit_attendance": attendance,
            "attendance": attendance,
            "confirmed": 1 if attendance in (1, 2) else 0,
            "seance_length": length,
            "length": length,
            "sms_before": 1,
            "sms_now": 0,
            "sms_now_text": "",
            "email_now": 0,
            "notified": 0,
            "master_request": rng.choice([0, 1]),
            "api_id": "",
            "from_url": "",
            "review_requested": 0,
            "visit_id": str(visit_id),
            "created_user_id": created_user,
            "deleted": deleted,
            "paid_full": 0,
            "prepaid": False,
            "prepaid_confirmed": False,
            "payment_status": 0,
            "last_change_date": "",
            "custom_color": "",
            "custom_font_color": "",
            "record_labels": labels,
            "activity_id": 0,
            # Empty custom fields come as `[]` in practice (see docs/api-assumptions.md), filled ones as
            # an object keyed by the field's code (yclientsru.apib:5660).
            "custom_fields": {"source": rng.choice(["instagram", "2gis", "сайт"])}
            if rng.random() < 0.1
            else [],
            "documents": [
                {
                    "id": rid + 2_000_000_000,
                    "type_id": 7,
                    "storage_id": 0,
                    "user_id": created_user,
                    "company_id": company_id,
                    "number": n + 1,
                    "comment": "",
                    "date_created": local_text(created),
                    "category_id": 0,
                    "visit_id": visit_id,
                    "record_id": rid,
                    "type_title": "Визит",
                }
            ],
            "consumables": [],
            "finance_transactions": [],
        }
        if attendance == 1 and not deleted and lines:
            paid_at = min(ends, present)
            account = shop.accounts[n % len(shop.accounts)]
            # Most completed visits are paid in full, some in part (the first line), a few not yet.
            paid = lines if paid_share < 0.85 else lines[:1] if paid_share < 0.93 and len(lines) > 1 else []
            record["finance_transactions"] = [
                payment(record, line, k, account, paid_at) for k, line in enumerate(paid)
            ]
            if paid is lines:
                record["paid_full"] = record["payment_status"] = 1
            if paid:
                changed = max(changed, paid_at)
            dye = shop.goods[0]
            record["consumables"] = [
                _consumable(record, line, k, dye)
                for k, line in enumerate(lines)
                if line["id"] in shop.colouring_services
            ]
        record["last_change_date"] = fmt_offset(changed, colon=False)
        records.append(record)
    records.sort(key=lambda r: (r["datetime"], r["id"]))
    return records
