"""The salons the pipeline syncs (`yclients.tracked_companies`): added and removed without a redeploy.

YCLIENTS_COMPANY_ID seeds the list (a company it names is added once, unless the list has it already,
removed or not: a removal by the CLI wins over the setting); `ycpipeline companies add/remove` edit it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, text

# Above it a company id is not a YClients id but a mistake (bigint's range, the API's ids are far below).
MAX_COMPANY_ID = 2**63 - 1


@dataclass(frozen=True)
class TrackedCompany:
    """One row of the list."""

    company_id: int
    added_at: datetime
    added_by: str
    removed_at: datetime | None


def valid_ids(ids: Iterable[int]) -> list[int]:
    """The ids sorted and deduplicated; ValueError naming any id that cannot be a company."""
    wanted = sorted(set(ids))
    bad = [i for i in wanted if not 0 < i <= MAX_COMPANY_ID]
    if bad:
        raise ValueError(f"not a company id: {', '.join(map(str, bad))} (a positive 64-bit integer)")
    return wanted


def seed(conn: Connection, company_ids: Sequence[int]) -> int:
    """Add the configured companies the list has never had; returns how many were added."""
    ids = valid_ids(company_ids)
    if not ids:
        return 0
    return conn.execute(
        text("""
            INSERT INTO yclients.tracked_companies (company_id, added_by)
            SELECT unnest(CAST(:ids AS bigint[])), 'settings'
            ON CONFLICT (company_id) DO NOTHING
        """),
        {"ids": ids},
    ).rowcount


def tracked(engine: Engine, seed_ids: Sequence[int] = ()) -> list[int]:
    """The companies synced now (sorted), after seeding `seed_ids` (YCLIENTS_COMPANY_ID)."""
    with engine.begin() as conn:
        seed(conn, seed_ids)
        return list(
            conn.execute(
                text("SELECT company_id FROM yclients.tracked_companies WHERE removed_at IS NULL ORDER BY 1")
            ).scalars()
        )


def add(engine: Engine, company_ids: Sequence[int], by: str = "cli") -> list[int]:
    """Track the companies (again, for removed ones); returns those that were not tracked before."""
    ids = valid_ids(company_ids)
    with engine.begin() as conn:
        return sorted(
            conn.execute(
                text("""
                    INSERT INTO yclients.tracked_companies AS t (company_id, added_by)
                    SELECT unnest(CAST(:ids AS bigint[])), :by
                    ON CONFLICT (company_id) DO UPDATE
                        SET removed_at = NULL, added_at = now(), added_by = EXCLUDED.added_by
                        WHERE t.removed_at IS NOT NULL
                    RETURNING company_id
                """),
                {"ids": ids, "by": by},
            ).scalars()
        )


def remove(engine: Engine, company_ids: Sequence[int]) -> list[int]:
    """Stop syncing the companies (their rows stay); returns those that were tracked."""
    ids = valid_ids(company_ids)
    with engine.begin() as conn:
        return sorted(
            conn.execute(
                text("""
                    UPDATE yclients.tracked_companies SET removed_at = now()
                    WHERE company_id = ANY(CAST(:ids AS bigint[])) AND removed_at IS NULL
                    RETURNING company_id
                """),
                {"ids": ids},
            ).scalars()
        )


def without_catalogue(engine: Engine) -> list[tuple[int, datetime]]:
    """Tracked companies whose services and staff were never loaded, with when they were added."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("""
                SELECT t.company_id, t.added_at FROM yclients.tracked_companies t
                WHERE t.removed_at IS NULL
                  AND NOT EXISTS (SELECT 1 FROM yclients.services s WHERE s.company_id = t.company_id)
                  AND NOT EXISTS (SELECT 1 FROM yclients.staff s WHERE s.company_id = t.company_id)
                ORDER BY 1
            """)
        ).all()
    return [(row.company_id, row.added_at) for row in rows]


def listing(engine: Engine) -> list[TrackedCompany]:
    """Every company the list has had, removed ones included."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("""
                SELECT company_id, added_at, added_by, removed_at FROM yclients.tracked_companies
                ORDER BY removed_at IS NOT NULL, company_id
            """)
        ).all()
    return [TrackedCompany(*row) for row in rows]
