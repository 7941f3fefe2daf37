"""The companies of the sandbox chain: three hand-written salons, then as many generated ones as asked."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

FIRST_COMPANY_ID = 235564


class CompanyProfile(NamedTuple):
    """Who a sandbox company is: its id, name, time zone and city."""

    company_id: int
    title: str
    timezone: str  # IANA name, the API's `timezone_name`
    utc_offset: int  # whole hours now, the API's numeric `timezone` where it sends one
    city: str


def _offset_hours(zone: str) -> int:
    offset = datetime.now(UTC).astimezone(ZoneInfo(zone)).utcoffset()
    return int(offset.total_seconds() // 3600) if offset is not None else 0


_HAND_WRITTEN = (
    ("Салон «Лаванда»", "Europe/Moscow", "Санкт-Петербург"),
    ("Лаванда на Урале", "Asia/Yekaterinburg", "Екатеринбург"),
    ("Лаванда Восток", "Asia/Vladivostok", "Владивосток"),
)
# Further branches cycle through zones a Russian chain spans (Kaliningrad to Kamchatka), plus Almaty,
# whose offset changed in 2024: a chain of any size mixes zones and local midnights.
_MORE_CITIES = (
    ("Europe/Samara", "Самара"),
    ("Asia/Novosibirsk", "Новосибирск"),
    ("Europe/Kaliningrad", "Калининград"),
    ("Asia/Omsk", "Омск"),
    ("Asia/Krasnoyarsk", "Красноярск"),
    ("Asia/Irkutsk", "Иркутск"),
    ("Europe/Moscow", "Москва"),
    ("Asia/Yakutsk", "Якутск"),
    ("Asia/Kamchatka", "Петропавловск-Камчатский"),
    ("Asia/Almaty", "Алматы"),
)


@cache
def company_profile(index: int) -> CompanyProfile:
    """The profile of the chain's `index`-th company (0-based): deterministic for any index."""
    if index < 0:
        raise ValueError("company index must be ≥ 0")
    if index < len(_HAND_WRITTEN):
        title, zone, city = _HAND_WRITTEN[index]
    else:
        zone, city = _MORE_CITIES[(index - len(_HAND_WRITTEN)) % len(_MORE_CITIES)]
        title = f"Лаванда {city} №{index + 1}"
    return CompanyProfile(FIRST_COMPANY_ID + index, title, zone, _offset_hours(zone), city)


# The hand-written salons, as older callers index them (`COMPANY_PROFILES[0].company_id`).
COMPANY_PROFILES = [company_profile(i) for i in range(len(_HAND_WRITTEN))]
