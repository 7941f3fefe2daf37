"""The quarantine as an asset: what `yclients.rejected_rows` holds, by entity and by the field named."""

import dagster as dg

from ycpipeline.defs.metadata import (
    FRESH_WITHIN_30_MINUTES,
    KINDS,
    OWNERS,
    markdown_table,
    numbers,
    table_metadata,
)
from ycpipeline.defs.records.assets import GROUP
from ycpipeline.defs.resources import WarehouseResource
from ycpipeline.warehouse.schema import rejected_rows as rejected_rows_table
from ycpipeline.warehouse.totals import rejected_totals


@dg.asset(
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    tags={"source": "yclients", "domain": "quality"},
    deps=["yclients_services", "yclients_staff", "yclients_records"],
    metadata=table_metadata(rejected_rows_table),
    freshness_policy=FRESH_WITHIN_30_MINUTES,
    description="yclients.rejected_rows: objects the loads quarantined instead of loading, each with "
    "its reasons and raw payload (the loads upstream write it; this step reports it after them). "
    "Metadata: rows by entity, and the fields most often named by the reasons.",
)
def rejected_rows(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Count the quarantine by entity and by the field each reason names."""
    with warehouse.engine().connect() as conn:
        by_entity, by_field = rejected_totals(conn)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(sum(by_entity.values())),
            **numbers({f"rejected_{entity}": n for entity, n in by_entity.items()}),
            "by_reason": markdown_table(by_field),
        }
    )
