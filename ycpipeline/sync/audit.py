"""Writes what a load leaves behind for audit: rejected rows and the log of finished loads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, insert

from ycpipeline.validation.quarantine import Rejected
from ycpipeline.warehouse.schema import rejected_rows, sync_log


def _as_json(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return {"unparsed": raw.replace("\x00", "")}


def store_rejected(conn: Connection, rejected: Sequence[Rejected], run_id: str | None) -> int:
    """Insert rejected rows with their reasons and raw payloads; returns how many."""
    if rejected:
        conn.execute(
            insert(rejected_rows),
            [
                {
                    "entity": r.entity,
                    "company_id": r.company_id,
                    "source_key": r.source_key,
                    "reasons": r.reasons,
                    "raw": _as_json(r.raw),
                    "run_id": run_id,
                }
                for r in rejected
            ],
        )
    return len(rejected)


def log_sync(
    conn: Connection,
    entity: str,
    company_id: int,
    counts: dict[str, int],
    run_id: str | None,
    window: tuple[date, date] | None = None,
) -> None:
    """Record a finished load (read by `check-booking-sync`)."""
    conn.execute(
        insert(sync_log).values(
            entity=entity,
            company_id=company_id,
            run_id=run_id,
            counts=counts,
            window_start=window[0] if window else None,
            window_end=window[1] if window else None,
        )
    )
