"""What the API budget and the requests look like from outside: pauses now, and requests by status.

The client counts its requests by HTTP status (and the hold-offs it asked for after 429s) in memory; a
run's resource writes them once, when the run ends, as one row of `yclients.sync_log` (entity
`api_requests`), so the totals survive every process without a table of their own. The metrics read
the sums.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, insert, text

from ycpipeline.warehouse.schema import sync_log

USAGE_ENTITY = "api_requests"
PAUSED_KEY = "budget_paused_ms"  # hold-off asked for after 429s, in milliseconds


def record_usage(conn: Connection, by_status: Mapping[str, int], paused_ms: int, run_id: str | None) -> None:
    """Log one process's request counts by status and the hold-off it asked for (nothing when idle)."""
    counts = {f"status_{status}": n for status, n in by_status.items() if n}
    if paused_ms:
        counts[PAUSED_KEY] = paused_ms
    if counts:
        conn.execute(insert(sync_log).values(entity=USAGE_ENTITY, run_id=run_id, counts=counts))


def requests_by_status(conn: Connection) -> tuple[dict[str, int], float]:
    """Requests by status summed over every logged run, and the budget's hold-off seconds in all."""
    rows = conn.execute(
        text("""SELECT key, sum(value::bigint) FROM yclients.sync_log, jsonb_each_text(counts)
                WHERE entity = :entity GROUP BY key"""),
        {"entity": USAGE_ENTITY},
    ).all()
    totals = {str(key): int(n) for key, n in rows}
    paused = totals.pop(PAUSED_KEY, 0) / 1000.0
    return {key.removeprefix("status_"): n for key, n in totals.items()}, paused


def paused_budgets(conn: Connection) -> dict[str, float]:
    """Budget keys paused by a 429 right now, with the seconds left."""
    rows = conn.execute(
        text("""SELECT key, extract(epoch FROM paused_until - clock_timestamp()) FROM yclients.api_budget
                WHERE paused_until > clock_timestamp()""")
    ).all()
    return {str(key): float(left) for key, left in rows}
