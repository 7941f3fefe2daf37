"""Incremental rebuilds of the marts: delete and insert the keys that changed, in one transaction.

Triggers on every table a mart reads append the touched keys to `marts.pending` (migration 0009). A refresh
takes its mart's entries (only those its snapshot sees: entries of loads still running stay for the next
refresh), deletes the mart's rows of those keys and inserts them again from `sql/<mart>.sql`. If it fails,
the transaction rolls back with the entries still queued. Two refreshes of one mart take turns (a lock).
`full=True` rebuilds every key the base tables hold (a backfill, or the bench's baseline).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timezone, tzinfo
from functools import cache
from string import Template
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Table, text

from ycpipeline.sync.companies import stored_zone
from ycpipeline.warehouse.rules import completed_visit
from ycpipeline.warehouse.schema import (
    branch_daily,
    client_lifecycle,
    loyalty_liability,
    staff_utilization_daily,
)
from ycpipeline.warehouse.sql_files import read_sql
from ycpipeline.warehouse.statistics import analyze_if_stale

MartName = Literal["branch_daily", "staff_utilization_daily", "client_lifecycle", "loyalty_liability"]
# Refreshed in this order: branch_daily counts new clients from client_lifecycle.
MART_ORDER: tuple[MartName, ...] = (
    "client_lifecycle",
    "branch_daily",
    "staff_utilization_daily",
    "loyalty_liability",
)


@dataclass(frozen=True)
class MartPolicy:
    """What the marts are computed with: `Settings.mart_policy()` builds it, the defaults are the settings'."""

    lost_after_days: int  # MARTS_LOST_AFTER_DAYS: no completed visit for longer: lost
    active_min_visits: int  # MARTS_ACTIVE_MIN_VISITS: this many completed visits (and not lost): active
    point_value: str  # MARTS_POINT_VALUE: roubles per bonus point
    fallback_zone: str  # YCLIENTS_PARTITION_TIMEZONE: dates a company whose zone is not stored yet


@dataclass(frozen=True)
class _Mart:
    table: Table
    key: Literal["day", "client_id"]


MARTS: dict[MartName, _Mart] = {
    "branch_daily": _Mart(branch_daily, "day"),
    "staff_utilization_daily": _Mart(staff_utilization_daily, "day"),
    "client_lifecycle": _Mart(client_lifecycle, "client_id"),
    "loyalty_liability": _Mart(loyalty_liability, "day"),
}

# Every key the base tables hold, for a full rebuild.
FULL_KEYS: dict[MartName, str] = {
    "branch_daily": """SELECT DISTINCT company_id, visit_date FROM yclients.records
                       UNION SELECT DISTINCT company_id, made_on FROM yclients.finance_transactions""",
    "staff_utilization_daily": """SELECT DISTINCT company_id, visit_date FROM yclients.records
                                  UNION SELECT DISTINCT company_id, work_date FROM yclients.staff_schedules""",
    "client_lifecycle": """SELECT DISTINCT company_id, client_id FROM yclients.records
                           WHERE client_id IS NOT NULL""",
    "loyalty_liability": """SELECT company_id, min(created_at AT TIME ZONE 'UTC')::date - 1
                            FROM loyalty.bonus_ledger WHERE company_id IS NOT NULL GROUP BY 1""",
}


def _status_sql(days: str, visits: str) -> str:
    return f"""CASE WHEN {days} > :lost_after_days THEN 'lost'
                    WHEN {visits} >= :active_min_visits THEN 'active'
                    WHEN {visits} >= 2 THEN 'returning' ELSE 'new' END"""


@cache
def mart_sql(name: MartName) -> str:
    """The SELECT producing the mart's rows for the keys in `mart_keys` (`sql/<name>.sql`)."""
    template = Template(read_sql("ycpipeline.marts", f"{name}.sql"))
    return template.substitute(
        completed=completed_visit("r"),
        status=_status_sql("t.today - v.last_visit", "v.visits"),
        point_value="CAST(:point_value AS numeric)",
    )


@dataclass
class RefreshResult:
    """What one refresh of one mart did."""

    mart: MartName
    full: bool
    keys: int = 0
    deleted: int = 0
    inserted: int = 0
    aged: int = 0
    companies: list[int] = field(default_factory=list)
    first_day: date | None = None
    last_day: date | None = None
    clients: list[int] = field(default_factory=list)  # client_lifecycle, incremental: the clients rebuilt

    def as_dict(self) -> dict[str, int]:
        """Counts for metadata."""
        return {"keys": self.keys, "deleted": self.deleted, "inserted": self.inserted, "aged": self.aged}


def zone_name(zone: tzinfo) -> str:
    """A name Postgres reads for `zone`: the IANA key, or `Etc/GMT±h` for a whole-hour fixed offset."""
    if isinstance(zone, ZoneInfo):
        return zone.key
    offset = zone.utcoffset(None) if isinstance(zone, timezone) else None
    hours = int(offset.total_seconds() // 3600) if offset is not None else 0
    # POSIX names count the other way round: Etc/GMT-3 is three hours east of Greenwich.
    return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"


def _today_table(conn: Connection, policy: MartPolicy, now: datetime) -> None:
    """`mart_today`: each company's local date and zone name (every company the warehouse knows)."""
    companies = conn.execute(
        text("""SELECT company_id FROM yclients.companies
                UNION SELECT company_id FROM marts.pending
                UNION SELECT DISTINCT company_id FROM marts.client_lifecycle
                UNION SELECT DISTINCT company_id FROM marts.loyalty_liability
                UNION SELECT DISTINCT company_id FROM loyalty.bonus_ledger WHERE company_id IS NOT NULL""")
    ).scalars()
    rows = []
    for company_id in companies:
        zone = stored_zone(conn, company_id, max_age=None) or ZoneInfo(policy.fallback_zone)
        rows.append({"c": company_id, "today": now.astimezone(zone).date(), "zone": zone_name(zone)})
    conn.execute(
        text(
            "CREATE TEMP TABLE mart_today (company_id bigint PRIMARY KEY, today date, zone text) ON COMMIT DROP"
        )
    )
    if rows:
        conn.execute(text("INSERT INTO mart_today VALUES (:c, :today, :zone)"), rows)


def _take_keys(conn: Connection, name: MartName, full: bool) -> None:
    key = MARTS[name].key
    conn.execute(
        text(
            f"CREATE TEMP TABLE mart_keys (company_id bigint, {key} {'date' if key == 'day' else 'bigint'}) ON COMMIT DROP"
        )
    )
    if full:
        conn.execute(text("DELETE FROM marts.pending WHERE mart = :m"), {"m": name})
        conn.execute(text(f"INSERT INTO mart_keys {FULL_KEYS[name]}"))
    else:
        # Only entries of committed changes are visible to this DELETE; later ones stay queued.
        conn.execute(
            text(f"""
                WITH taken AS (DELETE FROM marts.pending WHERE mart = :m RETURNING company_id, {key})
                INSERT INTO mart_keys SELECT DISTINCT company_id, {key} FROM taken WHERE {key} IS NOT NULL
            """),
            {"m": name},
        )
    if name == "loyalty_liability":
        # The outstanding balance moves on every day: extend each company's series to its today.
        conn.execute(
            text("""
                INSERT INTO mart_keys
                SELECT m.company_id, max(m.date) + 1 FROM marts.loyalty_liability m
                JOIN mart_today t ON t.company_id = m.company_id
                GROUP BY m.company_id, t.today HAVING max(m.date) < t.today
            """)
        )
    conn.execute(text("ANALYZE mart_keys"))


def _delete(conn: Connection, name: MartName, full: bool) -> int:
    table = f"marts.{name}"
    if full:
        return conn.execute(text(f"DELETE FROM {table}")).rowcount
    if name == "loyalty_liability":
        where = """m.company_id = k.company_id AND m.date >= k.from_day"""
        using = "(SELECT company_id, min(day) AS from_day FROM mart_keys GROUP BY 1) k"
    elif MARTS[name].key == "day":
        where, using = "m.company_id = k.company_id AND m.date = k.day", "mart_keys k"
    else:
        where, using = "m.company_id = k.company_id AND m.client_id = k.client_id", "mart_keys k"
    return conn.execute(text(f"DELETE FROM {table} m USING {using} WHERE {where}")).rowcount


def _queue_first_visit_moves(conn: Connection) -> None:
    """Before client_lifecycle's rows are rebuilt: keep each refreshed client's first visit, so that the dates
    whose new-client count changes (old and new first visit) are queued for branch_daily."""
    conn.execute(
        text("""
            CREATE TEMP TABLE mart_first_visits ON COMMIT DROP AS
            SELECT l.company_id, l.client_id, l.first_visit FROM marts.client_lifecycle l
            JOIN mart_keys k ON k.company_id = l.company_id AND k.client_id = l.client_id
        """)
    )


def _queue_branch_days(conn: Connection) -> None:
    conn.execute(
        text("""
            INSERT INTO marts.pending (mart, company_id, day)
            SELECT DISTINCT 'branch_daily', coalesce(o.company_id, n.company_id), d.day
            FROM mart_first_visits o
            FULL JOIN (SELECT l.company_id, l.client_id, l.first_visit FROM marts.client_lifecycle l
                       JOIN mart_keys k ON k.company_id = l.company_id AND k.client_id = l.client_id) n
              ON n.company_id = o.company_id AND n.client_id = o.client_id
            CROSS JOIN LATERAL (VALUES (o.first_visit), (n.first_visit)) AS d (day)
            WHERE o.first_visit IS DISTINCT FROM n.first_visit AND d.day IS NOT NULL
        """)
    )


def _age(conn: Connection, params: Mapping[str, object]) -> int:
    """Bring every client's days since the last visit and status to the company's today (statuses move
    with time alone: an active client becomes lost without any new record)."""
    status = _status_sql("t.today - l.last_visit", "l.visits")
    return conn.execute(
        text(f"""
            UPDATE marts.client_lifecycle l
            SET as_of = t.today, days_since_last_visit = t.today - l.last_visit, status = {status},
                refreshed_at = now()
            FROM mart_today t
            WHERE t.company_id = l.company_id
              AND (l.as_of, l.status) IS DISTINCT FROM (t.today, {status})
        """),
        dict(params),
    ).rowcount


# What the marts read: their plans need these tables' statistics current (`analyze_if_stale`).
BASE_TABLES = (
    "yclients.records",
    "yclients.record_services",
    "yclients.record_payments",
    "yclients.finance_transactions",
    "yclients.staff_schedules",
    "yclients.clients",
    "loyalty.bonus_ledger",
)


def refresh_mart(
    engine: Engine,
    name: MartName,
    policy: MartPolicy,
    *,
    full: bool = False,
    now: datetime | None = None,
) -> RefreshResult:
    """Rebuild the mart's rows whose keys changed (every key with `full`), in one transaction."""
    now = now or datetime.now(UTC)
    params = {
        "lost_after_days": policy.lost_after_days,
        "active_min_visits": policy.active_min_visits,
        "point_value": policy.point_value,
    }
    result = RefreshResult(name, full)
    with engine.begin() as conn:
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:lock))"), {"lock": f"ycpipeline.marts.{name}"}
        )
        conn.execute(text("SET LOCAL work_mem = '64MB'"))
        analyze_if_stale(conn, BASE_TABLES)
        _today_table(conn, policy, now)
        _take_keys(conn, name, full)
        key = MARTS[name].key
        summary = conn.execute(text("SELECT count(*), array_agg(DISTINCT company_id) FROM mart_keys")).one()
        result.keys, result.companies = summary[0], sorted(summary[1] or [])
        if key == "day":
            result.first_day, result.last_day = conn.execute(
                text("SELECT min(day), max(day) FROM mart_keys")
            ).one()
        elif not full:
            result.clients = sorted(
                conn.execute(text("SELECT array_agg(DISTINCT client_id) FROM mart_keys")).scalar_one() or []
            )
        if name == "client_lifecycle":
            _queue_first_visit_moves(conn)
        result.deleted = _delete(conn, name, full)
        columns = ", ".join(c.name for c in MARTS[name].table.columns)
        result.inserted = conn.execute(
            text(f"INSERT INTO marts.{name} ({columns}) {mart_sql(name)}"), params
        ).rowcount
        if name == "client_lifecycle":
            _queue_branch_days(conn)
            result.aged = _age(conn, params)
    return result


def refresh_all(
    engine: Engine, policy: MartPolicy, *, full: bool = False, now: datetime | None = None
) -> list[RefreshResult]:
    """Every mart, in dependency order."""
    return [refresh_mart(engine, name, policy, full=full, now=now) for name in MART_ORDER]
