"""Jobs the CLI, the schedules and the sensors launch. Every job that reads the API runs over a range of
company partitions (a tick: all of them); the derived assets (quarantine counts, app users, bonus
ledger, marts) are unpartitioned and follow in the same run."""

import dagster as dg

from ycpipeline.defs.healing import (
    CATALOG_MAX_RUNTIME,
    CHANGES_MAX_RUNTIME,
    LEDGER_MAX_RUNTIME,
    NIGHTLY_MAX_RUNTIME,
    WINDOW_MAX_RUNTIME,
    healing_tags,
)

# Steps run one after another in the run's own process: each step in a process of its own (Dagster's
# default for launched runs) paid ≈ 3 s of start-up per step, which was most of a webhook's run (records
# written 9 s after the run was created instead of 4); the steps here are light and the API budget, not
# the CPU, paces the heavy ones.
EXECUTOR = dg.in_process_executor

DERIVED = dg.AssetSelection.assets("rejected_rows", "app_users", "bonus_ledger") | dg.AssetSelection.groups(
    "marts"
)

catalog_job = dg.define_asset_job(
    "catalog_job",
    executor_def=EXECUTOR,
    run_tags=healing_tags(CATALOG_MAX_RUNTIME),
    selection=dg.AssetSelection.groups("yclients_catalog") | dg.AssetSelection.assets("rejected_rows"),
    description="Refresh services and staff of the run's companies: daily, on the `service` and `staff` "
    "webhooks, and on demand (`ycpipeline sync-catalog`).",
)

sync_job = dg.define_asset_job(
    "sync_job",
    executor_def=EXECUTOR,
    run_tags=healing_tags(WINDOW_MAX_RUNTIME),
    selection=dg.AssetSelection.assets(
        "yclients_services",
        "yclients_staff",
        "yclients_service_categories",
        "yclients_payment_accounts",
        "yclients_records",
    )
    | DERIVED,
    description="A window refresh: the catalogue (with service categories and payment accounts), then the "
    "records of the window of visit dates the run's config names (without one: change capture), then the "
    "quarantine's counts, the app's users, the bonus ledger and the marts.",
)

changes_job = dg.define_asset_job(
    "changes_job",
    executor_def=EXECUTOR,
    run_tags=healing_tags(CHANGES_MAX_RUNTIME),
    selection=dg.AssetSelection.assets("yclients_records", "yclients_client_changes") | DERIVED,
    description="Change capture for the run's companies (one request per company on a quiet tick; a "
    "reconciliation where due), the clients webhooks named, then the bonus ledger and the marts' changed "
    "keys. What the 30-minute schedule and the webhook sensor request.",
)

changes_and_catalog_job = dg.define_asset_job(
    "changes_and_catalog_job",
    executor_def=EXECUTOR,
    run_tags=healing_tags(CHANGES_MAX_RUNTIME),
    selection=dg.AssetSelection.groups("yclients_catalog")
    | dg.AssetSelection.assets("yclients_records", "yclients_client_changes")
    | DERIVED,
    description="changes_job with the catalogue (services, staff) refreshed first: what a webhook batch "
    "holding a `service` or `staff` event requests.",
)

ledger_job = dg.define_asset_job(
    "ledger_job",
    executor_def=EXECUTOR,
    run_tags=healing_tags(LEDGER_MAX_RUNTIME),
    selection=DERIVED,
    description="Derive the quarantine's counts, the app's users, the bonus ledger and the marts from what "
    "the warehouse holds; launched after a run in which a company failed (which skips them), so the others' "
    "points and marts are never held back by it.",
)

nightly_streams_job = dg.define_asset_job(
    "nightly_streams_job",
    executor_def=EXECUTOR,
    run_tags=healing_tags(NIGHTLY_MAX_RUNTIME),
    # Every stream declared nightly (`sync/streams/`, its asset's `cadence` tag).
    selection=dg.AssetSelection.tag("cadence", "nightly")
    | dg.AssetSelection.assets("bonus_expiry")
    | dg.AssetSelection.groups("marts"),
    description="The streams read nightly (service categories, payment accounts, clients snapshot, cash "
    "ledger, staff schedules, goods transactions) and the bonus expiry, then the marts.",
)
