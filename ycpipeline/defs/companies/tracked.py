"""The tracked companies as the schedules, the sensors and the CLI see them, and their partitions."""

from __future__ import annotations

import dagster as dg

from ycpipeline.defs.partitions import keep_partitions_in_step
from ycpipeline.defs.resources import WarehouseResource, YClientsResource
from ycpipeline.warehouse.tracked_companies import tracked


def tracked_companies(yclients: YClientsResource, warehouse: WarehouseResource) -> list[int]:
    """The companies synced now: the warehouse's list, seeded from YCLIENTS_COMPANY_ID."""
    return tracked(warehouse.engine(), yclients.seed_companies())


def partitions_in_step(
    instance: dg.DagsterInstance, yclients: YClientsResource, warehouse: WarehouseResource
) -> list[int]:
    """The tracked companies, after making the partitions equal them (a company added by the CLI is a
    partition before any run is requested for it)."""
    companies = tracked_companies(yclients, warehouse)
    keep_partitions_in_step(instance, companies)
    return companies
