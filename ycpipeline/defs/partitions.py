"""Partitions of the records: company × visit date (the date in that company's own time zone)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import dagster as dg

from ycpipeline.settings import load_settings

_settings = load_settings()
# Without a configured company the code location still loads, with no partitions (and the schedules
# and the sensor skip their ticks saying what to set). Sorted: a range of this dimension runs from one
# key's position to another's, so one run over "every company" (first key to last) needs the keys in
# the order the CLI and schedule pick them.
COMPANY_KEYS = [str(c) for c in sorted(set(_settings.company_ids))]

# Partition keys are local visit dates of each company; the zone below only decides which dates
# exist yet, and the look-ahead keeps future bookings' dates available.
records_partitions = dg.MultiPartitionsDefinition(
    {
        "company": dg.StaticPartitionsDefinition(COMPANY_KEYS),
        "date": dg.DailyPartitionsDefinition(
            start_date=_settings.records_start_date,
            timezone=_settings.yclients_partition_timezone,
            end_offset=_settings.sync_days_ahead + 1,
        ),
    }
)


# Dagster's run tags for a single run over a range of partitions (what a single-run backfill sets).
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def range_tags(start_key: str, end_key: str) -> dict[str, str]:
    """Run tags that make one run cover the partitions from `start_key` to `end_key`."""
    return {RANGE_START: start_key, RANGE_END: end_key}


def partition_key(company_id: int | str, day: date) -> str:
    """The multi-partition key of one company's date (`235564|2026-11-20`)."""
    return dg.MultiPartitionKey({"company": str(company_id), "date": day.isoformat()})


def contiguous_company_groups(company_ids: Sequence[int]) -> list[list[int]]:
    """Group companies into runs of neighbours in `COMPANY_KEYS`: each group is one partition range.

    A range over the company dimension takes every key between its ends, so companies that are not
    neighbours (a chain's first and third, without the second) need separate ranges.
    """
    wanted = {str(c) for c in company_ids}
    groups: list[list[int]] = []
    previous_taken = False
    for key in COMPANY_KEYS:
        taken = key in wanted
        if taken:
            if previous_taken:
                groups[-1].append(int(key))
            else:
                groups.append([int(key)])
        previous_taken = taken
    unknown = wanted - set(COMPANY_KEYS)
    if unknown:
        raise ValueError(f"companies {', '.join(sorted(unknown))} are not in YCLIENTS_COMPANY_ID")
    return groups


def windows_by_company(keys: Sequence[str]) -> dict[int, tuple[date, date]]:
    """Group a run's partition keys into one [first, last] date window per company."""
    days: dict[int, list[date]] = defaultdict(list)
    for key in keys:
        company, day = key.split("|")
        days[int(company)].append(date.fromisoformat(day))
    return {company: (min(ds), max(ds)) for company, ds in days.items()}
