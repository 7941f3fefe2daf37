"""Jobs the CLI, the schedule and the sensor launch."""

import dagster as dg

from ycpipeline.defs.healing import (
    CATALOG_MAX_RUNTIME,
    CHANGES_MAX_RUNTIME,
    LEDGER_MAX_RUNTIME,
    NIGHTLY_MAX_RUNTIME,
    WINDOW_MAX_RUNTIME,
    healing_tags,
)
from ycpipeline.defs.partitions import records_partitions

catalog_job = dg.define_asset_job(
    "catalog_job",
    run_tags=healing_tags(CATALOG_MAX_RUNTIME),
    selection=dg.AssetSelection.groups("yclients_catalog") | dg.AssetSelection.assets("rejected_rows"),
    description="Refresh services and staff of every configured company.",
)

sync_job = dg.define_asset_job(
    "sync_job",
    run_tags=healing_tags(WINDOW_MAX_RUNTIME),
    selection=dg.AssetSelection.assets(
        "yclients_services",
        "yclients_staff",
        "yclients_service_categories",
        "yclients_payment_accounts",
        "yclients_records",
        "rejected_rows",
        "app_users",
        "bonus_ledger",
    )
    | dg.AssetSelection.groups("marts"),
    partitions_def=records_partitions,
    description="Catalogue (with service categories and payment accounts), then records for a range of one "
    "company's dates, then the quarantine's counts, an observation of the app's users, the bonus ledger and "
    "the marts' changed dates.",
)

ledger_job = dg.define_asset_job(
    "ledger_job",
    run_tags=healing_tags(LEDGER_MAX_RUNTIME),
    selection=dg.AssetSelection.assets("app_users", "bonus_ledger"),
    description="Derive the bonus ledger from what the warehouse holds.",
)

changes_job = dg.define_asset_job(
    "changes_job",
    run_tags=healing_tags(CHANGES_MAX_RUNTIME),
    selection=dg.AssetSelection.groups("yclients_catalog")
    | dg.AssetSelection.assets(
        "yclients_record_changes",
        "yclients_client_changes",
        "rejected_rows",
        "app_users",
        "bonus_ledger",
    )
    | dg.AssetSelection.groups("marts"),
    description="Catalogue, then change capture for the run's companies (every configured one by default), "
    "then the bonus ledger and the marts' changed keys. What the 30-minute schedule and the webhook sensor "
    "request.",
)

nightly_streams_job = dg.define_asset_job(
    "nightly_streams_job",
    run_tags=healing_tags(NIGHTLY_MAX_RUNTIME),
    selection=dg.AssetSelection.assets(
        "yclients_service_categories",
        "yclients_payment_accounts",
        "yclients_clients",
        "yclients_cash_ledger",
        "yclients_staff_schedules",
        "bonus_expiry",
    )
    | dg.AssetSelection.groups("marts"),
    description="The nightly streams (service categories, payment accounts, clients snapshot, cash ledger, "
    "staff schedules) and the bonus expiry, then the marts.",
)
