"""Fresh planner statistics after a big load: a first sync or a backfill writes 100,000 rows within
minutes, before autovacuum analyses them, and queries planned on the statistics of empty tables then
take minutes instead of a fraction of a second (the marts' full refresh: 327 s against 0.2 s)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text

# Autovacuum's own rule (`autovacuum_analyze_threshold` 50 + `autovacuum_analyze_scale_factor` 0.1),
# a little less eager: rows changed since the last analyse, over the rows the table holds.
MIN_CHANGED = 1000
CHANGED_SHARE = 0.2


def analyze_if_stale(conn: Connection, tables: Sequence[str]) -> list[str]:
    """ANALYZE each of `tables` ("schema.name") whose statistics lag far behind its rows; returns them."""
    stale = list(
        conn.execute(
            text("""
                SELECT schemaname || '.' || relname FROM pg_stat_user_tables
                WHERE schemaname || '.' || relname = ANY(CAST(:tables AS text[]))
                  AND n_mod_since_analyze > greatest(:least, :share * n_live_tup)
                ORDER BY 1
            """),
            {"tables": list(tables), "least": MIN_CHANGED, "share": CHANGED_SHARE},
        ).scalars()
    )
    for table in stale:
        conn.execute(text(f"ANALYZE {table}"))
    return stale
