"""Partitions of every per-company asset: one per salon (company), kept in step with the warehouse's list
of tracked companies (`yclients.tracked_companies`) by the companies sensor, the tick and the CLI.

One run covers a range of companies (a tick: all of them); visit dates are not partitions: a company's
records are one partition, whatever the date (change capture works per company).
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
from sqlalchemy.exc import IntegrityError

COMPANIES = "companies"
company_partitions = dg.DynamicPartitionsDefinition(name=COMPANIES)

# Dagster's run tag of a run over one partition.
PARTITION_TAG = "dagster/partition"
# Dagster's run tags for a single run over a range of partitions (what a single-run backfill sets).
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def range_tags(start_key: str, end_key: str) -> dict[str, str]:
    """Run tags that make one run cover the partitions from `start_key` to `end_key`."""
    return {RANGE_START: start_key, RANGE_END: end_key}


def partition_keys(instance: dg.DagsterInstance) -> list[str]:
    """The company partitions as Dagster holds them, in their order (a range runs along it)."""
    return list(instance.get_dynamic_partitions(COMPANIES))


def partition_changes(held: Sequence[str], tracked: Sequence[int]) -> tuple[list[str], list[str]]:
    """The keys to add and to delete so the partitions equal the tracked companies."""
    wanted = [str(c) for c in sorted(set(tracked))]
    return [k for k in wanted if k not in set(held)], [k for k in held if k not in set(wanted)]


def keep_partitions_in_step(
    instance: dg.DagsterInstance, tracked: Sequence[int]
) -> tuple[list[str], list[str]]:
    """Add and delete company partitions so they equal `tracked`; returns (added, deleted).

    Deleting a partition keeps its history in Dagster's storage; a company added back gets it again.
    """
    added, deleted = partition_changes(partition_keys(instance), tracked)
    if added:
        try:
            instance.add_dynamic_partitions(COMPANIES, added)
        except IntegrityError:
            # Another tick or command added them first (SQLite storage checks, then inserts).
            added = [k for k in added if k in partition_keys(instance)]
    for key in deleted:
        instance.delete_dynamic_partition(COMPANIES, key)
    return added, deleted


def group_keys(keys: Sequence[str], company_ids: Sequence[int]) -> list[list[int]]:
    """Group companies into runs of neighbours along the partition keys `keys`: each group is one range.

    A range takes every key between its ends, so companies that are not neighbours (a chain's first and
    third, without the second) need separate ranges. A company without a partition raises ValueError.
    """
    wanted = {str(c) for c in company_ids}
    unknown = wanted - set(keys)
    if unknown:
        raise ValueError(f"company {', '.join(sorted(unknown))} is not tracked (ycpipeline companies add ID)")
    groups: list[list[int]] = []
    previous_taken = False
    for key in keys:
        taken = key in wanted
        if taken and previous_taken:
            groups[-1].append(int(key))
        elif taken:
            groups.append([int(key)])
        previous_taken = taken
    return groups


def company_groups(instance: dg.DagsterInstance, company_ids: Sequence[int]) -> list[list[int]]:
    """`group_keys` along the instance's company partitions."""
    return group_keys(partition_keys(instance), company_ids)


def run_companies(context: dg.AssetExecutionContext) -> list[int]:
    """The companies a run of a per-company asset covers (its partition keys), sorted."""
    return sorted(int(k) for k in context.partition_keys)
