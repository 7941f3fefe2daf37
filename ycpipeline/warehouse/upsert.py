"""Set-based loading: COPY rows into a temporary staging table, then one merge statement.

The merge only rewrites rows whose content changed (`IS DISTINCT FROM`), so a re-load of unchanged data
writes no tuples and `synced_at` tells when a row's content was last written.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Connection, Table, text

_stage_ids = itertools.count(1)


@dataclass
class MergeCounts:
    """Rows created, updated and left unchanged by one merge."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        """The three counts, in this order, for metadata and the sync log."""
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}

    def __iadd__(self, other: MergeCounts) -> MergeCounts:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


def qualified(table: Table) -> str:
    """`schema.name` of a table."""
    return f"{table.schema}.{table.name}" if table.schema else table.name


def create_stage(conn: Connection, table: Table) -> str:
    """A temporary table shaped like `table`, dropped at commit."""
    name = f"stage_{table.name}_{next(_stage_ids)}"
    conn.execute(
        text(f"CREATE TEMP TABLE {name} (LIKE {qualified(table)} INCLUDING DEFAULTS) ON COMMIT DROP")
    )
    return name


def copy_rows(conn: Connection, stage: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows (tuples in `columns` order) into `stage`; returns how many were written."""
    raw = conn.connection.driver_connection
    if not isinstance(raw, psycopg.Connection):
        raise TypeError("COPY needs the psycopg (3) driver: use a postgresql+psycopg:// URL")
    written = 0
    with raw.cursor() as cur, cur.copy(f"COPY {stage} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            written += 1
    return written


def merge_stage(
    conn: Connection,
    table: Table,
    stage: str,
    *,
    keys: Sequence[str],
    compare: Sequence[str],
    also_set: Sequence[str] = ("synced_at",),
) -> MergeCounts:
    """Upsert `stage` into `table`: insert new keys, update rows whose `compare` columns differ.

    When the stage holds a key twice (a record seen on two pages), the row copied last wins.
    """
    columns = [*keys, *compare, *also_set]
    col_list = ", ".join(columns)
    key_list = ", ".join(keys)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in [*compare, *also_set])
    target = qualified(table)
    changed = " OR ".join(f"{target}.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in compare)
    same_key = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    same_content = " AND ".join(f"t.{c} IS NOT DISTINCT FROM s.{c}" for c in compare)
    # Fresh statistics keep the planner from nested loops over a stage it believes is empty.
    conn.execute(text(f"ANALYZE {stage}"))
    staged, distinct = conn.execute(text(f"SELECT count(*), count(DISTINCT ({key_list})) FROM {stage}")).one()
    # Sorting whole staged rows is costly: deduplicate only when a key was staged twice (page drift).
    latest_sql = (
        f"SELECT DISTINCT ON ({key_list}) {col_list} FROM {stage} ORDER BY {key_list}, ctid DESC"
        if distinct < staged
        else f"SELECT {col_list} FROM {stage}"
    )
    # Unchanged rows are set aside first: ON CONFLICT would lock (and so write to) every conflicting
    # row even when its WHERE then declines the update. They go to a table of their own because an
    # anti-join against the target inside the INSERT could rescan the rows that INSERT adds.
    unchanged = f"{stage}_unchanged"
    conn.execute(text(f"DROP TABLE IF EXISTS {unchanged}"))
    conn.execute(
        text(f"""
        CREATE TEMP TABLE {unchanged} ON COMMIT DROP AS
        SELECT {", ".join(f"s.{k}" for k in keys)} FROM ({latest_sql}) s
        JOIN {target} t ON {same_key} WHERE {same_content}
    """)
    )
    conn.execute(text(f"ANALYZE {unchanged}"))
    sql = f"""
        WITH latest AS ({latest_sql}),
        merged AS (
            INSERT INTO {target} ({col_list})
            SELECT {col_list} FROM latest s
            WHERE NOT EXISTS (SELECT 1 FROM {unchanged} t WHERE {same_key})
            ON CONFLICT ({key_list}) DO UPDATE SET {sets}
            WHERE {changed}
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged
    """
    created, updated = conn.execute(text(sql)).one()
    return MergeCounts(created=created, updated=updated, unchanged=distinct - created - updated)
