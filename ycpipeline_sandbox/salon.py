"""A generated salon's fixed parts: the company object, service categories, services, staff, goods, accounts.

Everything derives from the seed and the company's index, in the shapes of the official description
(`yclientsru.apib`, cited per object). Services keep the description's numeric strings (its examples send
`"price_min": "1000.00"`); staff carry the deletion and dismissal fields the live API sends.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any, Literal, Protocol

from ycpipeline_sandbox.profiles import CompanyProfile, company_profile

SERVICE_CATALOG = [
    ("Стрижки", ["Стрижка женская", "Стрижка мужская", "Стрижка детская", "Чёлка", "Укладка"]),
    ("Окрашивание", ["Окрашивание в один тон", "Мелирование", "Балаяж ✨", "Тонирование"]),
    ("Ногти", ["Маникюр классический", "Маникюр + гель-лак 💅", "Педикюр", "Снятие покрытия"]),
    ("Лицо", ["Чистка лица", "Пилинг", "Массаж лица", "Коррекция бровей", "Ламинирование ресниц"]),
    ("Тело", ["Массаж спины", "SPA-программа «Релакс»", "Обёртывание"]),
]
COLOURING_CATEGORY = 1  # its services use up dye: the records' `consumables`
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
FIRED, HIDDEN, DELETED = (1,), (1, 7), (9,)  # staff ordinals: Олег left, Алия is hidden, Ольга was deleted
GOODS = [
    ("Краска для волос 60 мл", "мл", 0.03),
    ("Шампунь профессиональный 1 л", "мл", 0.02),
    ("Гель-лак", "шт.", 350.0),
    ("Маска для лица", "шт.", 120.0),
]
ACCOUNTS = [("Основная касса", 0, "Стоит на ресепшене"), ("Расчетный счет", 1, "Для безналичных расчетов")]


SHIFTS = ((("09:00", "15:00"), ("15:30", "22:00")), (("10:00", "16:00"), ("16:30", "23:00")))


def shift(staff_ordinal: int, day: date) -> tuple[tuple[str, str], ...]:
    """The working slots of the `staff_ordinal`-th staff member on `day`: two days off a week, at a
    different place in the week for each, and an early or a late shift (empty when off)."""
    if day.weekday() in (staff_ordinal % 7, (staff_ordinal + 3) % 7):
        return ()
    return SHIFTS[staff_ordinal % 2]


def category_id(company_index: int, ordinal: int) -> int:
    """The id of the `ordinal`-th service category of a company."""
    return 9_100_000 + company_index * 100 + ordinal


def company_object(
    index: int, *, timezone_form: Literal["name", "offset"], next_slot: str | None = None
) -> dict[str, Any]:
    """`GET /company/{id}` data (yclientsru.apib:2575).

    `timezone` is the zone name as in the example, or (`timezone_form="offset"`) the hours offset some
    responses carry; `timezone_name` is always there (the current description, see docs/api-assumptions.md).
    `active_staff_count` and `next_slot` (given for `forBooking=1`) come only then, as the current
    description says.
    """
    profile: CompanyProfile = company_profile(index)
    rng = random.Random(f"company:{index}")
    data: dict[str, Any] = {
        "id": profile.company_id,
        "title": profile.title,
        "country_id": 1,
        "country": "Россия" if profile.timezone != "Asia/Almaty" else "Казахстан",
        "city_id": 2 + index,
        "city": profile.city,
        "timezone": profile.timezone if timezone_form == "name" else profile.utc_offset,
        "timezone_name": profile.timezone,
        "address": f"ул. Садовая, д. {3 + index}",
        # The example sends coordinates as strings (yclientsru.apib:2584).
        "coordinate_lat": f"{55 + rng.random():.6f}",
        "coordinate_lon": f"{37 + rng.random():.6f}",
        "phone_confirmation": True,
        "group_priority": 900 - index,
        "push_notification_phone_confirm": 1,
    }
    if next_slot is not None:
        data["active_staff_count"] = sum(1 for n in range(len(STAFF_NAMES)) if n not in FIRED + DELETED)
        data["next_slot"] = next_slot
    return data


def staff(seed: int, company_index: int) -> list[dict[str, Any]]:
    """The company's staff (yclientsru.apib:4068 field table) with the dismissal and deletion fields of
    the live API (`is_fired`, `dismissal_date`, `dismissal_reason`, `is_deleted`, `user_id`: see
    docs/api-assumptions.md). Some are fired, hidden or deleted."""
    rng = random.Random(f"{seed}:{company_index}:staff")
    company_id = company_profile(company_index).company_id
    result = []
    for n, (name, specialization) in enumerate(STAFF_NAMES):
        fired, deleted = n in FIRED, n in DELETED
        staff_id = 1_874_420 + company_index * 100 + n
        result.append(
            {
                "id": staff_id,
                "api_id": None,
                "name": name,
                "company_id": company_id,
                "specialization": specialization,
                "position": {"id": 1, "title": "Мастер"} if n % 3 else [],
                "weight": 10 - n,
                "show_rating": 1,
                "rating": rng.choice([0, 4, 4.76921, 5]),
                "votes_count": rng.randrange(0, 40),
                "comments_count": rng.randrange(0, 30),
                "avatar": "https://yclients.com/images/no-master-sm.png",
                "avatar_big": "https://yclients.com/images/no-master.png",
                "information": "<span>Опыт 5 лет</span>",
                "hidden": 1 if n in HIDDEN else 0,
                "fired": 1 if fired else 0,
                "is_fired": fired,
                "dismissal_date": "2026-06-30" if fired else None,
                "dismissal_reason": "по собственному желанию" if fired else None,
                "status": 1 if deleted else 0,
                "is_deleted": deleted,
                "user_id": 1_073_300 + company_index * 100 + n if n % 2 == 0 else None,
                "image_group": [],
            }
        )
    return result


def services(seed: int, company_index: int) -> list[dict[str, Any]]:
    """The company's services in the description's shape, numbers as strings (yclientsru.apib:2994)."""
    rng = random.Random(f"{seed}:{company_index}:services")
    base = 9_120_000 + company_index * 1000
    staff_ids = [s["id"] for s in staff(seed, company_index) if not s["is_deleted"]]
    result = []
    n = 0
    for ci, (_category, titles) in enumerate(SERVICE_CATALOG):
        for title in titles:
            n += 1
            price_min = rng.randrange(6, 60) * 100
            price_max = price_min + rng.choice([0, 0, 500, 1000, 1500])
            service: dict[str, Any] = {
                "id": str(base + n),
                "salon_service_id": str(4_410_000 + company_index * 1000 + n),
                "title": title,
                "category_id": str(category_id(company_index, ci)),
                "price_min": f"{price_min}.00",
                "price_max": f"{price_max}.00",
                "discount": "0",
                "comment": "",
                "weight": str(100 - n),
                "active": "1" if rng.random() > 0.1 else "0",
                "api_id": "",
                "staff": [
                    {"id": str(s), "seance_length": str(rng.choice([1800, 2700, 3600, 5400]))}
                    for s in rng.sample(staff_ids, 3)
                ],
                # `[]` for "no images", as the description's staff example sends it (yclientsru.apib:4259).
                "image_group": [],
            }
            if n % 4 == 0:
                image_group = 72_000 + company_index * 100 + n
                service["image_group"] = {
                    "id": image_group,
                    "entity": "settings_service",
                    "entity_id": base + n,
                    "images": {
                        "basic": {
                            "id": str(186_000 + n),
                            "path": f"https://yclients.com/uploads/s_{base + n}.jpeg",
                            "width": "372",
                            "height": "280",
                            "type": "jpeg",
                            "image_group_id": image_group,
                            "version": "basic",
                        }
                    },
                }
            result.append(service)
    return result


def service_categories(seed: int, company_index: int) -> list[dict[str, Any]]:
    """The company's service categories (yclientsru.apib:2680): `staff` lists who gives any of its services."""
    by_category: dict[int, set[int]] = {}
    for svc in services(seed, company_index):
        ids = by_category.setdefault(int(svc["category_id"]), set())
        ids.update(int(s["id"]) for s in svc["staff"])
    result = []
    for ci, (title, _titles) in enumerate(SERVICE_CATALOG):
        cid = category_id(company_index, ci)
        result.append(
            {
                "id": cid,
                "salon_service_id": 353 + company_index * 100 + ci,
                "title": title,
                "api_id": f"cat{ci}",
                "weight": 10 - ci,
                "staff": sorted(by_category.get(cid, ())),
            }
        )
    return result


def goods(company_index: int) -> list[dict[str, Any]]:
    """The company's goods, in the shape of a `good` webhook's data (see docs/api-assumptions.md)."""
    company_id = company_profile(company_index).company_id
    result = []
    for n, (title, unit, cost) in enumerate(GOODS):
        good_id = 4_853_087 + company_index * 100 + n
        result.append(
            {
                "title": title,
                "value": title,
                "label": f"{title} ({1000 + n})",
                "article": str(1000 + n),
                "category": "Основные товары",
                "category_id": 979_588,
                "salon_id": company_id,
                "good_id": good_id,
                "cost": cost,
                "unit_id": 216_761 if unit == "мл" else 216_760,
                "unit_short_title": unit,
                "service_unit_id": 216_761 if unit == "мл" else 216_760,
                "service_unit_short_title": unit,
                "actual_cost": cost,
                "unit_actual_cost": cost,
                "unit_actual_cost_format": f"{cost:g} ₽",
                "unit_equals": 1,
                "barcode": "",
                "loyalty_abonement_type_id": 0,
                "loyalty_certificate_type_id": 0,
                "loyalty_allow_empty_code": 1,
                "actual_amounts": [],
                "critical_amount": 0,
                "desired_amount": 0,
                "last_change_date": "2026-01-10T12:00:00+0300",
                "is_goods_mark_enabled": False,
            }
        )
    return result


def accounts(company_index: int) -> list[dict[str, Any]]:
    """The company's cash desks and bank accounts (`GET /accounts/{company_id}`, yclientsru.apib:9388)."""
    return [
        {"id": 90_459 + company_index * 10 + n, "title": title, "type": kind, "comment": comment}
        for n, (title, kind, comment) in enumerate(ACCOUNTS)
    ]


class Client(Protocol):
    """What a client card needs to know of a person (read-only, as the frozen `generator.Person`)."""

    @property
    def index(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def phone_digits(self) -> str: ...


def client_card(person: Client, client_id: int) -> dict[str, Any]:
    """`GET /client/{company_id}/{id}` data of a generated client (yclientsru.apib:5065)."""
    return {
        "id": client_id,
        "name": person.name,
        "phone": f"+7{person.phone_digits}",
        "email": "",
        "categories": [],
        "sex": "Неизвестно",
        "discount": 0,
        "importance": "Без класса важности",
        "card": "",
        "birth_date": "",
        "comment": "",
        "sms_check": 0,
        "sms_not": 0,
        "spent": 0,
        "balance": 0,
        "visits": person.index * 7 % 40,
        "last_change_date": "2026-01-10T12:00:00+0300",
        "custom_fields": {},
    }
