"""Jobs the CLI, the schedule and the sensor launch."""

import dagster as dg

from ycpipeline.defs.partitions import records_partitions

catalog_job = dg.define_asset_job(
    "catalog_job",
    selection=dg.AssetSelection.groups("yclients_catalog") | dg.AssetSelection.assets("rejected_rows"),
    description="Refresh services and staff of every configured company.",
)

sync_job = dg.define_asset_job(
    "sync_job",
    selection=dg.AssetSelection.assets(
        "yclients_services",
        "yclients_staff",
        "yclients_records",
        "rejected_rows",
        "app_users",
        "bonus_ledger",
    ),
    partitions_def=records_partitions,
    description="Catalogue, then records for a range of one company's dates, then the quarantine's counts, an "
    "observation of the app's users and the bonus ledger.",
)

ledger_job = dg.define_asset_job(
    "ledger_job",
    selection=dg.AssetSelection.assets("app_users", "bonus_ledger"),
    description="Derive the bonus ledger from what the warehouse holds.",
)

changes_job = dg.define_asset_job(
    "changes_job",
    selection=dg.AssetSelection.groups("yclients_catalog")
    | dg.AssetSelection.assets("yclients_record_changes", "rejected_rows", "app_users", "bonus_ledger"),
    description="Catalogue, then change capture for the run's companies (every configured one by default), "
    "then the bonus ledger. What the 30-minute schedule and the webhook sensor request.",
)
