"""The rule for rows a windowed listing serves outside the window it was asked for.

A listing asked for dates [start, end] (cash transactions by payment date, records by visit date, staff
schedules by work date) may still serve a row dated elsewhere (a 2016 payment in a 2026 window). Such a
row is neither stored as if it were in the window nor taken as a sign that anything is gone: it is
quarantined in `yclients.rejected_rows` with a reason naming the window, and, being listed, it retires
nothing. A row stored earlier under its key keeps its stored version.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any


def reject_outside_window(rows: Iterable[dict[str, Any]], column: str, start: date, end: date) -> int:
    """Add a problem to each row whose `column` date lies outside [start, end]; returns how many.

    Rows without a readable date are left to validation, which already names the missing value.
    """
    outside = 0
    for row in rows:
        value = row.get(column)
        if isinstance(value, date) and not start <= value <= end:
            row["problems"].append(f"{column} {value} is outside the requested window {start}..{end}")
            outside += 1
    return outside
