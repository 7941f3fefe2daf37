"""Target 2: validation + upsert throughput, against a row-by-row ORM upsert and pandas `to_sql`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pandas as pd
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, registry

from bench.common import COMPANY, MemoryPages, empty, history, show, timer
from ycpipeline.normalize.records import record_row
from ycpipeline.sync.records import LINE_COMPARE, RECORD_COLUMNS, RECORD_COMPARE, sync_records
from ycpipeline.validation.models import RECORD_CHECKED_COLUMNS, RecordRow
from ycpipeline.validation.quarantine import validate_rows
from ycpipeline.warehouse.schema import record_services, records
from ycpipeline.warehouse.upsert import merge_stage

TZ = ZoneInfo("Europe/Moscow")


class RecordORM:
    """ORM mapping used by the row-by-row baseline only."""


class LineORM:
    """ORM mapping used by the row-by-row baseline only."""


_mapper = registry()
_mapper.map_imperatively(RecordORM, records)
_mapper.map_imperatively(LineORM, record_services)


def _ours(engine: Engine, raw: list[dict[str, Any]], start, end) -> float:  # type: ignore[no-untyped-def]
    with timer() as t:
        sync_records(MemoryPages(raw), engine, COMPANY, TZ, start, end)  # type: ignore[arg-type]
    return t[0]


def _orm(engine: Engine, raw: list[dict[str, Any]]) -> float:
    """What a hand-written sync script does: normalise, then `session.merge` row by row."""
    empty(engine)
    with timer() as t, Session(engine) as session:
        now = datetime.now(UTC)
        for obj in raw:
            row, lines = record_row(obj, COMPANY, TZ, now)
            session.merge(RecordORM(**{c: row[c] for c in RECORD_COLUMNS}))
            for line in lines or []:
                session.merge(LineORM(**line))
            session.flush()
        session.commit()
    return t[0]


def _to_sql(engine: Engine, raw: list[dict[str, Any]]) -> float:
    """Normalise + the same validation, `DataFrame.to_sql` into a staging table, then the same merge."""
    empty(engine)
    with timer() as t:
        now = datetime.now(UTC)
        normalised = [record_row(obj, COMPANY, TZ, now) for obj in raw]
        rows = [row for row, _ in normalised]
        for row in rows:
            row["lines_ok"] = True
        outcome = validate_rows(
            rows, RecordRow, entity="records", key="record_id", columns=RECORD_CHECKED_COLUMNS
        )
        frame = pd.DataFrame([rows[i] for i in outcome.valid_positions])[RECORD_COLUMNS]
        frame["raw"] = frame["raw"].map(orjson.loads)  # the JSONB type binds objects, not JSON text
        lines = pd.DataFrame([line for i in outcome.valid_positions for line in normalised[i][1] or []])
        with engine.begin() as conn:
            _stage_and_merge(
                conn, frame, records, ["company_id", "record_id"], RECORD_COMPARE, ("synced_at",)
            )
            _stage_and_merge(
                conn, lines, record_services, ["company_id", "record_id", "service_id"], LINE_COMPARE, ()
            )
    return t[0]


def _stage_and_merge(conn, frame: pd.DataFrame, table, keys, compare, also_set) -> None:  # type: ignore[no-untyped-def]
    """`DataFrame.to_sql` into a staging table shaped like `table`, then our merge."""
    conn.execute(text(f"CREATE TABLE bench_stage (LIKE {table.schema}.{table.name})"))
    frame.to_sql(
        "bench_stage",
        conn,
        if_exists="append",
        index=False,
        chunksize=5000,
        dtype={c.name: c.type for c in table.columns},
    )
    merge_stage(conn, table, "bench_stage", keys=keys, compare=compare, also_set=also_set)
    conn.execute(text("DROP TABLE bench_stage"))


def _rewritten(engine: Engine, action) -> int:  # type: ignore[no-untyped-def]
    """Rows of yclients.records physically rewritten by `action` (their ctid changed)."""
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_ctid"))
        conn.execute(
            text("CREATE TABLE bench_ctid AS SELECT record_id, ctid::text AS c FROM yclients.records")
        )
    action()
    with engine.begin() as conn:
        changed = conn.execute(
            text("""SELECT count(*) FROM yclients.records r JOIN bench_ctid b USING (record_id)
                                       WHERE r.ctid::text <> b.c""")
        ).scalar_one()
        conn.execute(text("DROP TABLE bench_ctid"))
    return changed


def run(engine: Engine, size: int, sample: int) -> dict[str, float]:
    """Load `size` records (with their services); baselines: ORM on `sample` (extrapolated), to_sql on all."""
    state, start, end = history(size)
    raw = list(state.iter_records(COMPANY, start, end))
    lines = sum(len(r["services"]) for r in raw)
    empty(engine)
    first = _ours(engine, raw, start, end)
    reload_box: list[float] = []
    rewritten = _rewritten(engine, lambda: reload_box.append(_ours(engine, raw, start, end)))
    orm = _orm(engine, raw[:sample]) * len(raw) / sample
    to_sql = _to_sql(engine, raw)
    rate = len(raw) / first
    show(
        f"load: {len(raw):,} records with {lines:,} service lines (validation + upsert)",
        [
            ("ours: first load, s", first),
            ("ours: records/s (target ≥ 100,000)", int(rate)),
            ("ours: re-load unchanged, s", reload_box[0]),
            ("rows rewritten by the re-load", rewritten),
            (f"baseline ORM row by row, s (measured on {sample:,}, extrapolated)", orm),
            ("baseline pandas to_sql + same merge, s", to_sql),
            ("ratio ORM ÷ ours (target ≥ 20)", orm / first),
            ("ratio to_sql ÷ ours (target ≥ 3)", to_sql / first),
            ("ratio first ÷ re-load (> 1: unchanged rows not rewritten)", first / reload_box[0]),
        ],
    )
    return {"rate": rate, "vs_orm": orm / first, "vs_to_sql": to_sql / first, "rewritten": rewritten}
