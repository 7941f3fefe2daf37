"""What every stream load shares: validate rows, stage and merge them, retire what the API stopped listing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandera.pandas as pa
from sqlalchemy import Connection, Table, text

from ycpipeline.client import Listing
from ycpipeline.sync.audit import log_sync, store_rejected
from ycpipeline.validation.quarantine import Rejected, validate_rows
from ycpipeline.validation.sqltypes import BIGINT_MAX
from ycpipeline.warehouse.upsert import MergeCounts, copy_rows, create_stage, merge_stage, qualified

log = logging.getLogger(__name__)

# How many times a listing is read before one that keeps coming incomplete is loaded without retiring.
LISTING_READS = 2


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
class Listed:
    """What a listing served, and whether it came whole (only a whole listing may retire rows)."""

    items: list[Any]
    complete: bool
    shortfall: str | None = None
    reads: int = 1

    def notes(self) -> dict[str, str]:
        """How the listing came, for the result's notes."""
        return {"listing": "complete" if self.complete else f"incomplete, nothing retired: {self.shortfall}"}


def read_listing(open_listing: Callable[[], Listing], what: str) -> Listed:
    """Read a listing; when it comes incomplete (`Listing.complete`), read it once more, and report
    it when it is still incomplete: its rows load, but nothing is retired on its word."""
    items: list[Any] = []
    shortfall: str | None = None
    for attempt in range(1, LISTING_READS + 1):
        listing = open_listing()
        items = [item for page in listing for item in page.items]
        if listing.complete:
            return Listed(items, True, None, attempt)
        shortfall = listing.shortfall()
        log.warning("%s came incomplete (%s), read %s of %s", what, shortfall, attempt, LISTING_READS)
    return Listed(items, False, shortfall, LISTING_READS)


@dataclass(frozen=True)
class Spec:
    """A stream's table, key, pandera model and the columns that model checks."""

    entity: str
    table: Table
    keys: tuple[str, ...]
    model: type[pa.DataFrameModel]
    checked: tuple[str, ...]

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.table.columns]

    @property
    def compare(self) -> list[str]:
        return [c for c in self.columns if c not in (*self.keys, "synced_at")]


@dataclass
class Staged:
    """Rows validated and staged (not merged yet): the stage's name and what was rejected."""

    stage: str
    rejected: list[Rejected]
    rejected_keys: list[tuple[Any, ...]]


def stage_rows(conn: Connection, spec: Spec, rows: Sequence[dict[str, Any]]) -> Staged:
    """Validate `rows` (bad ones are kept aside with their reasons) and COPY the valid ones to a stage."""
    outcome = validate_rows(
        list(rows),
        spec.model,
        entity=spec.entity,
        key=spec.keys[-1],
        columns=spec.checked,
        table=spec.table,
    )
    stage = create_stage(conn, spec.table)
    columns = spec.columns
    copy_rows(conn, stage, columns, ([rows[i][c] for c in columns] for i in outcome.valid_positions))
    valid = set(outcome.valid_positions)
    keys = [_key(rows[i], spec) for i in range(len(rows)) if i not in valid]
    rejected_keys = [k for k in keys if all(_storable(v) for v in k)]
    return Staged(stage, outcome.rejected, rejected_keys)


def _storable(value: Any) -> bool:
    """A key value a stored row could hold (an id within bigint, a date)."""
    return value is not None and (not isinstance(value, int) or 0 < value <= BIGINT_MAX)


def _key(row: dict[str, Any], spec: Spec) -> tuple[Any, ...]:
    return tuple(row[k] for k in spec.keys)


def merge_staged(conn: Connection, spec: Spec, staged: Staged) -> MergeCounts:
    """Upsert the stage into the stream's table (only rows whose content changed are rewritten)."""
    return merge_stage(conn, spec.table, staged.stage, keys=list(spec.keys), compare=spec.compare)


def retire_unlisted(
    conn: Connection, spec: Spec, staged: Staged, company_id: int, *, scope: str = "TRUE", **params: Any
) -> int:
    """Set `removed_at` on the company's rows within `scope` (SQL over the table, alias `t`) that the API
    no longer lists, for a table keyed by (company_id, id); rows rejected this time are still listed, so
    they are not retired. A row listed again gets `removed_at` cleared by the merge."""
    key = spec.keys[-1]
    return conn.execute(
        text(f"""
            UPDATE {qualified(spec.table)} t SET removed_at = now(), synced_at = now()
            WHERE t.company_id = :company_id AND t.removed_at IS NULL AND ({scope})
              AND NOT EXISTS (SELECT 1 FROM {staged.stage} s WHERE s.{key} = t.{key})
              AND NOT (t.{key} = ANY(:rejected))
        """),
        {"company_id": company_id, "rejected": [k[-1] for k in staged.rejected_keys], **params},
    ).rowcount


def finish(
    conn: Connection, result: StreamResult, staged: Staged, run_id: str | None, window: Any = None
) -> StreamResult:
    """Quarantine the rejected rows and log the load; returns `result` with its rejected count."""
    result.rejected = store_rejected(conn, staged.rejected, run_id)
    log_sync(conn, result.entity, result.company_id, result.as_dict(), run_id, window)
    return result
