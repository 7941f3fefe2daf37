"""Deterministic generation of a sandbox salon (or chain): catalogue, clients and records.

Everything derives from the seed, the company and the day, so a day's records can be regenerated on
demand instead of held in memory: the sandbox can serve a million records in a few megabytes.
Objects come out in the shapes of real YClients responses (numbers as strings in places, `[]` for empty
objects, offsets with and without a colon, `client: null`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

RECORD_ID_BASE = 500_000_000
RECORD_ID_COMPANY_STRIDE = 20_000_000
MAX_RECORDS_PER_DAY = 999
EPOCH = date(2000, 1, 1)

COMPANY_PROFILES = [
    (235564, "Салон «Лаванда»", "Europe/Moscow", 3, "Санкт-Петербург"),
    (235565, "Лаванда на Урале", "Asia/Yekaterinburg", 5, "Екатеринбург"),
    (235566, "Лаванда Восток", "Asia/Vladivostok", 10, "Владивосток"),
]
SERVICE_CATALOG = [
    ("Стрижки", ["Стрижка женская", "Стрижка мужская", "Стрижка детская", "Чёлка", "Укладка"]),
    ("Окрашивание", ["Окрашивание в один тон", "Мелирование", "Балаяж ✨", "Тонирование"]),
    ("Ногти", ["Маникюр классический", "Маникюр + гель-лак 💅", "Педикюр", "Снятие покрытия"]),
    ("Лицо", ["Чистка лица", "Пилинг", "Массаж лица", "Коррекция бровей", "Ламинирование ресниц"]),
    ("Тело", ["Массаж спины", "SPA-программа «Релакс»", "Обёртывание"]),
]
STAFF_NAMES = [
    ("Анна К.", "стилист"),
    ("Олег", "барбер"),
    ("Мария Иванова", "колорист"),
    ("Светлана", "мастер маникюра"),
    ("Ирина 🌷", "косметолог"),
    ("Дмитрий", "массажист"),
    ("Екатерина", "бровист"),
    ("Алия", "стилист"),
    ("Наталья", "мастер педикюра"),
    ("Ольга", "визажист"),
]
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


def company_object(index: int) -> dict[str, Any]:
    """`GET /company/{id}` data, with the numeric `timezone` beside `timezone_name`."""
    cid, title, tz, offset, city = COMPANY_PROFILES[index]
    return {
        "id": cid,
        "title": title,
        "country_id": 1,
        "country": "Россия",
        "city": city,
        "timezone": offset,
        "timezone_name": tz,
        "address": "ул. Примерная, 1",
        "phone": "+78120000000",
        "active": 1,
    }


def services(seed: int, company_index: int) -> list[dict[str, Any]]:
    """The company's services, with ids and prices as strings as the API sends them."""
    rng = random.Random(f"{seed}:{company_index}:services")
    result = []
    base = 9_120_000 + company_index * 1000
    staff_ids = [s["id"] for s in staff(seed, company_index)]
    n = 0
    for ci, (_category, titles) in enumerate(SERVICE_CATALOG):
        for title in titles:
            n += 1
            price_min = rng.randrange(6, 60) * 100
            price_max = price_min + rng.choice([0, 0, 500, 1000, 1500])
            result.append(
                {
                    "id": str(base + n),
                    "salon_service_id": str(4_410_000 + n),
                    "title": title,
                    "category_id": str(9_100_000 + company_index * 100 + ci),
                    "price_min": f"{price_min}.00",
                    "price_max": f"{price_max}.00",
                    "discount": "0",
                    "comment": "",
                    "weight": str(100 - n),
                    "active": "1" if rng.random() > 0.1 else "0",
                    "api_id": "",
                    "staff": [
                        {"id": str(s), "seance_length": str(rng.choice([1800, 3600, 5400]))}
                        for s in rng.sample(staff_ids, 3)
                    ],
                    "image_group": [],
                }
            )
    return result


def staff(seed: int, company_index: int) -> list[dict[str, Any]]:
    """The company's staff, some fired and some hidden from online booking."""
    rng = random.Random(f"{seed}:{company_index}:staff")
    cid = COMPANY_PROFILES[company_index][0]
    result = []
    for n, (name, spec) in enumerate(STAFF_NAMES):
        fired = 1 if n == 1 else 0
        result.append(
            {
                "id": 1_874_420 + company_index * 100 + n,
                "api_id": None,
                "name": name,
                "company_id": cid,
                "specialization": spec,
                "position": {"id": 3, "title": "Мастер"} if n % 3 else [],
                "weight": 10 - n,
                "rating": rng.choice([0, 4, 5]),
                "votes_count": rng.randrange(0, 40),
                "avatar": "",
                "avatar_big": "",
                "information": "<p>Опыт 5 лет</p>",
                "hidden": 1 if n in (1, 7) else 0,
                "fired": fired,
                "status": 0,
            }
        )
    return result


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
    if company_index >= len(COMPANY_PROFILES):
        return None
    return company_index, EPOCH + timedelta(days=days), n


@dataclass(frozen=True)
class GenerationParams:
    """What shapes the generated history."""

    seed: int = 42
    records_per_day: int = 25
    anchor: date | None = None  # "today" of the salon; None means the real today


def day_record_count(params: GenerationParams, company_index: int, day: date) -> int:
    """How many records were generated for a day (cheap: no record is built)."""
    rng = random.Random(f"{params.seed}:{company_index}:{day.isoformat()}:count")
    mean = params.records_per_day
    if mean <= 0:
        return 0
    weekday_factor = 0.6 if day.weekday() == 6 else 1.0
    return min(MAX_RECORDS_PER_DAY, max(0, round(rng.gauss(mean * weekday_factor, mean * 0.2))))


def generate_day(
    params: GenerationParams,
    company_index: int,
    day: date,
    anchor: date,
    catalog_services: list[dict[str, Any]],
    catalog_staff: list[dict[str, Any]],
    pool: list[Person],
) -> list[dict[str, Any]]:
    """Every record generated for one company and visit day, in the API's record shape."""
    count = day_record_count(params, company_index, day)
    rng = random.Random(f"{params.seed}:{company_index}:{day.isoformat()}")
    cid, _, tz_name, _, _ = COMPANY_PROFILES[company_index]
    tz = ZoneInfo(tz_name)
    working = [s for s in catalog_staff if not s["fired"]] or catalog_staff
    history_end = datetime.combine(anchor, time(0), tz)
    records = []
    for n in range(count):
        rid = record_id(company_index, day, n)
        if n == 0 and rng.random() < 0.3:
            local = datetime.combine(day, time(0, 30), tz)  # late-night booking: local midnight edge
        else:
            local = datetime.combine(day, time(9 + rng.randrange(0, 12), rng.choice([0, 15, 30, 45])), tz)
        length = rng.choice([1800, 3600, 3600, 5400, 7200])
        person = rng.choice(pool) if rng.random() > 0.08 else None
        master = rng.choice(working)
        services_in_record = []
        n_services = rng.choice([1, 1, 1, 2, 2, 3])
        chosen = rng.sample(catalog_services, n_services)
        if n_services >= 2 and rng.random() < 0.05:
            chosen.append(chosen[0])  # the same service listed twice: lines are merged downstream
        for svc in chosen:
            first_cost = int(float(svc["price_min"])) + rng.choice([0, 0, 100, 250, 500])
            discount = rng.choice([0, 0, 0, 5, 10, 15])
            amount = 2 if rng.random() < 0.05 else 1
            cost_per_unit = round(first_cost * (100 - discount) / 100, 2)
            cost = round(cost_per_unit * amount, 2)
            as_text = rng.random() < 0.4
            services_in_record.append(
                {
                    "id": int(svc["id"]),
                    "title": svc["title"],
                    "cost": f"{cost:.2f}" if as_text else cost,
                    "manual_cost": cost,
                    "cost_per_unit": cost_per_unit,
                    "discount": discount,
                    "first_cost": f"{first_cost * amount:.2f}" if as_text else first_cost * amount,
                    "amount": amount,
                }
            )
        if rng.random() < 0.02:
            services_in_record = []  # a record with no services (e.g. a consultation)
        booked_days_before = rng.choice([0, 1, 2, 3, 7, 14, 30, 60])
        created = local - timedelta(days=booked_days_before, hours=rng.randrange(1, 9))
        if day < anchor:
            attendance = rng.choices([1, -1, 0, 2], weights=[78, 10, 6, 6])[0]
        else:
            attendance = rng.choices([0, 2], weights=[60, 40])[0]
        deleted = rng.random() < 0.04
        changed = max(
            created, min(local + timedelta(seconds=length), created + timedelta(days=booked_days_before))
        )
        # The history stands as it was when the anchor day began: nothing generated was created or
        # changed later (a real change time is never in the future; mutations stamp their own time).
        created, changed = min(created, history_end), min(changed, history_end)
        comment = rng.choice(COMMENTS)
        if person is not None and rng.random() < 0.35:
            comment = (
                (comment + " " if comment else "") + rng.choice(["код ", "code: ", "промо "]) + person.code
            )
        client = None
        if person is not None:
            client = {
                "id": 88_000 + company_index * 10_000 + person.index,
                "name": person.name,
                "phone": person.phone_as_written(rng),
                "email": "",
            }
        records.append(
            {
                "id": rid,
                "company_id": cid,
                "staff_id": master["id"],
                "services": services_in_record,
                "goods_transactions": [],
                "staff": {
                    "id": master["id"],
                    "api_id": None,
                    "name": master["name"],
                    "specialization": master["specialization"],
                    "position": master["position"],
                    "avatar": "",
                    "rating": master["rating"],
                    "votes_count": master["votes_count"],
                },
                "client": client,
                "clients_count": 1 if client else 0,
                "date": local.strftime("%Y-%m-%d %H:%M:%S"),
                "datetime": fmt_offset(local, colon=True),
                "create_date": fmt_offset(created, colon=False),
                "comment": comment,
                "online": rng.random() < 0.5,
                "visit_attendance": attendance,
                "attendance": attendance,
                "confirmed": 1 if attendance in (1, 2) else 0,
                "seance_length": length,
                "length": length,
                "sms_before": 1,
                "master_request": rng.choice([0, 1]),
                "api_id": "",
                "from_url": "",
                "visit_id": str(700_000_000 + rid % 100_000_000),
                "created_user_id": 0,
                "deleted": deleted,
                "paid_full": 1 if attendance == 1 else 0,
                "prepaid": False,
                "prepaid_confirmed": False,
                "last_change_date": fmt_offset(changed, colon=False),
                "custom_color": "",
                "custom_font_color": "",
                "record_labels": [],
                "activity_id": 0,
                "custom_fields": [],
                "documents": [],
            }
        )
    records.sort(key=lambda r: (r["datetime"], r["id"]))
    return records
