"""Personal fields a live account can carry in staff and client objects, for the `personal_fields` knob.

Staff: the `employee` block third-party client schemas show (tested against the live API: names,
citizenship, passport data, tax number (INN), insurance certificate (SNILS)) and the linked `user`.
Clients: the documented `birth_date` (yclientsru.apib:4785) and document numbers a salon may keep in the
card. Values are made up but shaped like the real ones, derived from the object's id.
"""

from __future__ import annotations

from typing import Any


def staff_with_personal_fields(member: dict[str, Any]) -> dict[str, Any]:
    """The staff object with its `employee` block and linked `user`."""
    n = int(member["id"])
    surname, _, firstname = str(member.get("name") or "Иванова Анна").partition(" ")
    return {
        **member,
        "user": {"id": n + 5_000_000, "name": member.get("name"), "phone": f"+7916{n % 10**7:07d}"},
        "employee": {
            "id": n + 7_000_000,
            "phone": f"+7916{n % 10**7:07d}",
            "name": member.get("name"),
            "firstname": firstname,
            "surname": surname,
            "patronymic": "",
            "date_admission": "2023-03-01",
            "date_registration_end": None,
            "citizenship": "Российская Федерация",
            "sex": "",
            "gender": 0,
            "passport_data": f"45{n % 100:02d} {n % 10**6:06d}, выдан ОВД Тверского р-на г. Москвы",
            "personal_tax_reference_number": f"77{n % 10**10:010d}",
            "number_insurance_certificates": f"{n % 1000:03d}-{n % 997:03d}-{n % 991:03d} 00",
        },
    }


def client_with_personal_fields(client: dict[str, Any]) -> dict[str, Any]:
    """The client object with a birth date and document numbers."""
    n = int(client["id"])
    return {
        **client,
        "birth_date": f"19{70 + n % 30}-0{1 + n % 9}-1{n % 10}",
        "passport_data": f"45{n % 100:02d} {n % 10**6:06d}",
        "inn": f"77{n % 10**10:010d}",
        "snils": f"{n % 1000:03d}-{n % 997:03d}-{n % 991:03d} 00",
    }
