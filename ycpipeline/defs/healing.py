"""How long each job's run may take, and how often a failed one is launched again."""

from datetime import timedelta

# Runs that heal (README "Runs that heal"): run monitoring fails a run still going after its maximum
# run time (`dagster/max_runtime`, seconds), and the daemon launches a failed run again, from its
# failed steps, up to `dagster/max_retries` times (`run_retries` in dagster.yaml). Every step is
# idempotent, so a retry is safe.
MAX_RETRIES = 2
CATALOG_MAX_RUNTIME = timedelta(hours=1)
WINDOW_MAX_RUNTIME = timedelta(hours=4)
LEDGER_MAX_RUNTIME = timedelta(hours=1)
# Change capture every 30 minutes: a hung pass is failed in time for a later tick to take over.
CHANGES_MAX_RUNTIME = timedelta(hours=2)
NIGHTLY_MAX_RUNTIME = timedelta(hours=4)


def healing_tags(max_runtime: timedelta) -> dict[str, str]:
    """The tags that bound a job's run time and let the daemon retry its failed runs."""
    return {
        "dagster/max_runtime": str(int(max_runtime.total_seconds())),
        "dagster/max_retries": str(MAX_RETRIES),
    }
