"""The companies sensor: the partitions of every per-company asset follow the warehouse's list, and a
new salon's catalogue is read at once."""

import dagster as dg

from ycpipeline.defs.automation.planning import TRIGGER_TAG, tick_skip_reason
from ycpipeline.defs.companies.tracked import tracked_companies
from ycpipeline.defs.jobs import catalog_job
from ycpipeline.defs.partitions import COMPANIES, partition_changes, partition_keys
from ycpipeline.defs.resources import WarehouseResource, YClientsResource
from ycpipeline.warehouse.tracked_companies import without_catalogue


@dg.sensor(
    name="yclients_companies_sensor",
    job=catalog_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Keeps the company partitions equal to yclients.tracked_companies (`ycpipeline companies "
    "add/remove`, seeded from YCLIENTS_COMPANY_ID): a new salon becomes a partition without a redeploy, "
    "its catalogue is read at once and the next tick loads its history; a removed one's partition goes "
    "(its history stays in the storage).",
)
def yclients_companies_sensor(
    context: dg.SensorEvaluationContext, yclients: YClientsResource, warehouse: WarehouseResource
) -> dg.SensorResult | dg.SkipReason:
    """Add and delete partitions so they equal the tracked companies; read new salons' catalogues."""
    if reason := tick_skip_reason():
        return dg.SkipReason(reason)
    added, deleted = partition_changes(
        partition_keys(context.instance), tracked_companies(yclients, warehouse)
    )
    requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    if added:
        requests.append(dg.AddDynamicPartitionsRequest(COMPANIES, added))
    if deleted:
        requests.append(dg.DeleteDynamicPartitionsRequest(COMPANIES, deleted))
    # A salon whose catalogue was never read gets it at once, whoever added its partition (the CLI, a
    # tick): its records' first load should find its services and staff. One try per addition (the run
    # key); the nightly catalogue run retries a failed one.
    catalogue = [
        dg.RunRequest(
            run_key=f"catalogue-of-{company}-{added_at.timestamp():.0f}",
            partition_key=str(company),
            tags={TRIGGER_TAG: "companies"},
        )
        for company, added_at in without_catalogue(warehouse.engine())
    ]
    if not requests and not catalogue:
        return dg.SkipReason("the partitions equal the tracked companies; every catalogue was read")
    context.log.info(
        f"companies added: {added or 'none'}; removed: {deleted or 'none'}; "
        f"catalogues to read: {[r.partition_key for r in catalogue] or 'none'}"
    )
    return dg.SensorResult(run_requests=catalogue, dynamic_partitions_requests=requests)
