"""The one loader: runs any stream declaration (`sync.declaration.Stream`) for one company.

Read (the declaration's reader) → rows (its `row`) → quarantine what lies outside the read's window →
validate, stage and merge, in one transaction that holds the company's stream from the read on → retire what a whole read no longer lists → quarantine the
rejected rows, record schema drift, log the load. The records keep their own reader and passes
(`sync.records`), on the same staging (`stage_rows`) and the same declaration.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, text

from ycpipeline.client import YClientsClient
from ycpipeline.sync.audit import log_sync, store_rejected
from ycpipeline.sync.declaration import CompanyRead, Read, Spec, Stream, StreamOptions
from ycpipeline.sync.windows import reject_outside_window
from ycpipeline.validation.drift import FieldDrift, detect_declared, record, resolve_absent
from ycpipeline.validation.quarantine import Rejected, validate_rows
from ycpipeline.validation.sqltypes import BIGINT_MAX
from ycpipeline.warehouse.upsert import MergeCounts, copy_rows, create_stage, merge_stage, qualified

log = logging.getLogger(__name__)


@dataclass
class StreamResult:
    """What one load of a stream for one company did."""

    entity: str
    company_id: int
    fetched: int = 0
    counts: MergeCounts = field(default_factory=MergeCounts)
    retired: int = 0
    rejected: int = 0
    outside_window: int = 0  # rows dated outside the window asked for (quarantined, `sync.windows`)
    notes: dict[str, Any] = field(default_factory=dict)
    preview: list[dict[str, Any]] = field(default_factory=list)  # a few loaded rows, for the UI

    def as_dict(self) -> dict[str, int]:
        """Counts for metadata and the sync log."""
        return {
            "fetched": self.fetched,
            **self.counts.as_dict(),
            "retired": self.retired,
            "rejected": self.rejected,
            "outside_window": self.outside_window,
        }


@dataclass
class Staged:
    """Rows validated and staged (not merged yet): the stage, what was rejected and the rejected keys."""

    stage: str
    rejected: list[Rejected]
    rejected_stage: str
    valid: list[dict[str, Any]]


def load_stream(
    stream: Stream,
    client: YClientsClient,
    engine: Engine,
    company_id: int,
    options: StreamOptions,
    *,
    run_id: str | None = None,
    **read_with: Any,
) -> StreamResult:
    """Read `stream` for one company and load it (see the module's docstring); `read_with` sets fields of
    the `CompanyRead` (`now`, `wanted`)."""
    job = CompanyRead(client, engine, company_id, options, **read_with)
    with engine.begin() as conn:
        # Loads of one company's stream take turns, the read included: else a load that read earlier
        # could commit after one that read later and write the older rows back.
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"ycpipeline.stream:{stream.spec.entity}:{company_id}"},
        )
        read = stream.read(job)
        result = StreamResult(stream.spec.entity, company_id, notes=dict(read.notes))
        if not read.asked:
            return result
        rows = [stream.row(item, job) for item in read.items]
        if read.window is not None:
            result.notes["window"] = f"{read.window[0]}..{read.window[1]}"
            if stream.window_column is not None:
                result.outside_window = reject_outside_window(rows, stream.window_column, *read.window)
        if stream.keep is not None:
            rows = [row for row in rows if stream.keep(row)]
        result.fetched = len(rows)
        drifts = detect_declared(stream.spec.entity, stream.fields, stream.documented, read.items)
        staged = stage_rows(conn, stream.spec, rows)
        result.counts = merge_staged(conn, stream.spec, staged)
        note_drift(
            conn,
            company_id,
            stream.spec.entity,
            drifts,
            run_id,
            whole=read.complete and bool(read.items) and not job.wanted,
        )
        if read.complete and stream.retire.how != "never":
            result.retired = retire(conn, stream, staged, company_id, read)
        if stream.after_merge is not None:
            stream.after_merge(conn, job, read)
        result.rejected = store_rejected(conn, staged.rejected, run_id)
        log_sync(conn, stream.spec.entity, company_id, result.as_dict(), run_id, read.window)
    result.preview = [
        {k: v for k, v in row.items() if k not in ("raw", "synced_at", "problems")}
        for row in staged.valid[:5]
    ]
    return result


def note_drift(
    conn: Connection,
    company_id: int,
    stream: str,
    drifts: Sequence[FieldDrift],
    run_id: str | None,
    *,
    whole: bool,
) -> None:
    """Record this read's schema drift; a whole read also closes the drifts it no longer shows (a read of
    a few ids by a webhook, or an empty one, proves nothing of the others)."""
    new = record(conn, company_id, drifts, run_id)
    if new:
        log.warning(
            "%s of company %s: %s new schema drift(s): %s",
            stream,
            company_id,
            new,
            ", ".join(f"{d.field} {d.change}" for d in drifts),
        )
    if whole:
        resolve_absent(conn, company_id, stream, drifts)


def stage_rows(conn: Connection, spec: Spec, rows: Sequence[dict[str, Any]]) -> Staged:
    """Validate `rows` (bad ones are kept aside with their reasons) and COPY the valid ones to a stage; the
    keys of the rejected ones (those a stored row could hold) go to a stage of their own."""
    outcome = validate_rows(
        list(rows),
        spec.model,
        entity=spec.entity,
        key=spec.keys[-1],
        table=spec.table,
    )
    stage = create_stage(conn, spec.table)
    columns = spec.columns
    valid = [rows[i] for i in outcome.valid_positions]
    copy_rows(conn, stage, columns, ([row[c] for c in columns] for row in valid))
    # The rejected rows' keys, typed like the table's: they are still listed, so they retire nothing.
    rejected_stage = f"{stage}_rejected"
    key_columns = ", ".join(spec.keys)
    conn.execute(
        text(
            f"CREATE TEMP TABLE {rejected_stage} ON COMMIT DROP AS "
            f"SELECT {key_columns} FROM {qualified(spec.table)} WITH NO DATA"
        )
    )
    kept = set(outcome.valid_positions)
    keys = [tuple(rows[i][k] for k in spec.keys) for i in range(len(rows)) if i not in kept]
    copy_rows(conn, rejected_stage, list(spec.keys), (k for k in keys if all(_storable(v) for v in k)))
    return Staged(stage, outcome.rejected, rejected_stage, valid)


def _storable(value: Any) -> bool:
    """A key value a stored row could hold (an id within bigint, a date)."""
    return value is not None and (not isinstance(value, int) or 0 < value <= BIGINT_MAX)


def merge_staged(conn: Connection, spec: Spec, staged: Staged) -> MergeCounts:
    """Upsert the stage into the stream's table (only rows whose content changed are rewritten)."""
    return merge_stage(conn, spec.table, staged.stage, keys=list(spec.keys), compare=spec.compare)


def retire(conn: Connection, stream: Stream, staged: Staged, company_id: int, read: Read) -> int:
    """Apply the stream's retire rule to the company's stored rows within its scope that the read did not
    list (neither loaded nor rejected); returns how many rows it retired."""
    spec = stream.spec
    own = [k for k in spec.keys if k != "company_id"]
    matches = " AND ".join(f"x.{k} = t.{k}" for k in own)
    unlisted = f"""
        t.company_id = :company_id AND ({stream.retire.scope})
        AND NOT EXISTS (SELECT 1 FROM {staged.stage} x WHERE {matches})
        AND NOT EXISTS (SELECT 1 FROM {staged.rejected_stage} x WHERE {matches})
    """
    if stream.retire.how == "delete":
        statement = f"DELETE FROM {qualified(spec.table)} t WHERE {unlisted}"
    else:
        statement = f"""UPDATE {qualified(spec.table)} t SET removed_at = now(), synced_at = now()
                        WHERE t.removed_at IS NULL AND {unlisted}"""
    window = {"start": read.window[0], "end": read.window[1]} if read.window else {}
    params = {"company_id": company_id, **window, **read.params}
    return conn.execute(text(statement), params).rowcount
