"""Set-based derivation of `loyalty.bonus_ledger`, exactly once even when two derivations race.

For every record the ledger must sum to what the record is owed now. A derivation appends, in one
transaction under an advisory lock, the difference between the two for each (record, user):
`accrual` when a record becomes owed, `adjustment` when its base changed, `reversal` when it is owed
no more (cancelled, deleted, no longer matched) — so running it again appends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, Engine, text

from ycpipeline.loyalty.app_users import USERS_FINGERPRINT_SQL, refresh_user_phones
from ycpipeline.warehouse.rules import completed_visit
from ycpipeline.warehouse.sql_files import read_sql

LEDGER_LOCK = "ycpipeline.bonus_ledger"

# Words of a comment: runs of anything but white space and punctuation, so a code glued to other
# letters (Latin or Cyrillic) is part of a longer word and does not match.
WORD_PATTERN = r"[^[:space:][:punct:]«»“”„—–…]+"


def owners_sql(source: str = "yclients.records") -> str:
    """Each record of `source` with the app user it belongs to (code first, then phone) or ambiguity.

    Phones are compared in E.164 on both sides: the records' as loaded, the users' as the last
    derivation normalised them (`loyalty.app_user_phones`).
    """
    return f"""
WITH src AS (SELECT * FROM {source} AS s),
words AS (
    SELECT DISTINCT r.company_id, r.record_id, upper(w[1]) AS word
    FROM src r, regexp_matches(r.comment, '({WORD_PATTERN})', 'g') AS w
    WHERE r.comment <> ''
),
by_code AS (
    SELECT w.company_id, w.record_id, min(u.user_id) AS user_id, count(DISTINCT u.user_id) AS users
    FROM words w JOIN loyalty.app_users u ON upper(u.unique_code) = w.word
    GROUP BY w.company_id, w.record_id
),
phones AS (
    SELECT phone_e164 AS phone, min(user_id) AS user_id, count(*) AS users
    FROM loyalty.app_user_phones WHERE phone_e164 IS NOT NULL GROUP BY phone_e164
)
SELECT r.company_id, r.record_id, r.total_cost, r.attendance, r.deleted,
       CASE WHEN c.users = 1 THEN c.user_id
            WHEN c.users IS NULL AND p.users = 1 THEN p.user_id END AS user_id,
       coalesce(c.users > 1 OR (c.users IS NULL AND p.users > 1), false) AS ambiguous
FROM src r
LEFT JOIN by_code c ON c.company_id = r.company_id AND c.record_id = r.record_id
LEFT JOIN phones p ON p.phone = r.client_phone
"""


OWNERS_SQL = owners_sql()
# The entries a record's own derivation writes; spends, holds and expiries are the wallet's (wallet.py).
RECORD_KINDS = "kind IN ('accrual', 'reversal', 'adjustment')"
CANDIDATES = "(SELECT r.* FROM yclients.records r JOIN ledger_candidates c USING (company_id, record_id))"


# The bonus rules in SQL, shared by the derivation and the invariant check. `o` is a row of owners_sql,
# `rate` the record's first-accrual rate when it has one.
COMPLETED_AND_OWNED = f"{completed_visit('o')} AND o.user_id IS NOT NULL"
RATE = "coalesce(rate.rate, CAST(:rate AS numeric))"
OWED = f"floor(o.total_cost * {RATE} * 100) / 100"


def _first_rates(scope: str = "") -> str:
    """The rate each record was first accrued at (it stays with the record)."""
    return f"""SELECT DISTINCT ON (company_id, record_id) company_id, record_id, l.rate
               FROM loyalty.bonus_ledger l {scope} WHERE {RECORD_KINDS}
               ORDER BY company_id, record_id, l.entry_id"""


def _derive_sql(full: bool) -> list[str]:
    """Temp tables the append reads: owners, what the ledger holds, first rates and what is owed.

    Incremental: only queued records (and the ledger rows of those records); full: everything.
    """
    scope = "" if full else "JOIN ledger_candidates c USING (company_id, record_id)"
    return [
        f"CREATE TEMP TABLE ledger_owners ON COMMIT DROP AS {owners_sql('yclients.records' if full else CANDIDATES)}",
        f"""CREATE TEMP TABLE ledger_held ON COMMIT DROP AS
            SELECT company_id, record_id, l.user_id, sum(l.amount) AS held
            FROM loyalty.bonus_ledger l {scope} WHERE {RECORD_KINDS} GROUP BY company_id, record_id, l.user_id""",
        f"CREATE TEMP TABLE ledger_rates ON COMMIT DROP AS {_first_rates(scope)}",
        f"""CREATE TEMP TABLE ledger_owed ON COMMIT DROP AS
            SELECT o.company_id, o.record_id, o.user_id, o.total_cost AS base, {RATE} AS rate, {OWED} AS owed
            FROM ledger_owners o
            LEFT JOIN ledger_rates rate ON rate.company_id = o.company_id AND rate.record_id = o.record_id
            WHERE {COMPLETED_AND_OWNED}""",
    ]


# The append itself: what each (record, user) is owed beyond what the ledger holds, as entries.
APPEND_SQL = read_sql("ycpipeline.loyalty", "ledger_append.sql")


@dataclass
class LedgerResult:
    """What one derivation appended, and how much it looked at."""

    accruals: int = 0
    reversals: int = 0
    adjustments: int = 0
    points_accrued: Decimal = Decimal("0.00")
    points_reversed: Decimal = Decimal("0.00")
    users_affected: int = 0
    full: bool = False
    records_considered: int = 0

    @property
    def entries(self) -> int:
        """Entries appended in all."""
        return self.accruals + self.reversals + self.adjustments


def derive_ledger(engine: Engine, rate: Decimal, run_id: str | None = None) -> LedgerResult:
    """Append what each record is owed beyond what the ledger holds for it; serialised by a lock.

    Only records queued since the last derivation are looked at, unless the app users changed (a new
    user may own past visits) or there was no derivation yet: then every record is.
    """
    result = LedgerResult()
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": LEDGER_LOCK})
        refresh_user_phones(conn)
        fingerprint = conn.execute(text(USERS_FINGERPRINT_SQL)).scalar_one()
        seen = conn.execute(text("SELECT users_fingerprint FROM loyalty.ledger_state WHERE id = 1")).scalar()
        conn.execute(
            text("CREATE TEMP TABLE ledger_candidates (company_id bigint, record_id bigint) ON COMMIT DROP")
        )
        conn.execute(text("CREATE TEMP TABLE appended_users (user_id bigint) ON COMMIT DROP"))
        # Taking the queue inside this transaction: if the derivation fails, the keys stay queued.
        # The DELETE takes only entries of loads committed before it started; the records are read by
        # later statements, which see those loads. A load committing meanwhile keeps its entries.
        result.records_considered = conn.execute(
            text("""
            WITH taken AS (DELETE FROM loyalty.ledger_queue RETURNING company_id, record_id)
            INSERT INTO ledger_candidates SELECT DISTINCT company_id, record_id FROM taken""")
        ).rowcount
        result.full = seen != fingerprint
        if not result.full:
            conn.execute(text("CREATE INDEX ON ledger_candidates (company_id, record_id)"))
            conn.execute(text("ANALYZE ledger_candidates"))
        for statement in _derive_sql(result.full):
            conn.execute(text(statement), {"rate": rate})
        if result.full:
            result.records_considered = conn.execute(text("SELECT count(*) FROM ledger_owners")).scalar_one()
        rows = conn.execute(text(APPEND_SQL), {"rate": rate, "run_id": run_id}).all()
        users = conn.execute(text("SELECT count(DISTINCT user_id) FROM appended_users")).scalar_one()
        conn.execute(
            text("""INSERT INTO loyalty.ledger_state (id, users_fingerprint, run_id) VALUES (1, :f, :r)
                    ON CONFLICT (id) DO UPDATE SET users_fingerprint = :f, run_id = :r, derived_at = now()"""),
            {"f": fingerprint, "r": run_id},
        )
    for kind, count, amount in rows:
        if kind == "accrual":
            result.accruals, result.points_accrued = count, result.points_accrued + amount
        elif kind == "reversal":
            result.reversals, result.points_reversed = count, result.points_reversed - amount
        else:
            result.adjustments = count
            if amount >= 0:
                result.points_accrued += amount
            else:
                result.points_reversed -= amount
    result.users_affected = users
    return result


def ledger_violations(conn: Connection, rate: Decimal) -> int:
    """Records whose ledger sum differs from what they are owed now (0 when the ledger is right)."""
    return conn.execute(
        text(f"""
            WITH owners AS ({OWNERS_SQL}),
            rates AS ({_first_rates()}),
            owed AS (
                SELECT o.company_id, o.record_id, CASE WHEN {COMPLETED_AND_OWNED} THEN {OWED} ELSE 0 END AS owed
                FROM owners o LEFT JOIN rates rate USING (company_id, record_id)
            ),
            held AS (
                SELECT company_id, record_id, sum(amount) AS held FROM loyalty.bonus_ledger
                WHERE {RECORD_KINDS} GROUP BY 1, 2
            )
            SELECT count(*) FROM owed FULL JOIN held USING (company_id, record_id)
            WHERE coalesce(owed, 0) <> coalesce(held, 0)
        """),
        {"rate": rate},
    ).scalar_one()


def ambiguous_matches(conn: Connection) -> int:
    """Completed visits whose client matches several app users (nothing is accrued for them)."""
    return conn.execute(
        text(f"SELECT count(*) FROM ({OWNERS_SQL}) o WHERE o.ambiguous AND {completed_visit('o')}")
    ).scalar_one()


def users_in_debt(conn: Connection, sample: int = 20) -> tuple[int, list[int]]:
    """Users whose balance is below zero (a visit reversed after its points were spent: the debt is
    recovered from their next accruals, docs/loyalty.md), and a few of their ids."""
    rows = conn.execute(
        text("""SELECT user_id, count(*) OVER () FROM loyalty.bonus_balances WHERE balance < 0
                ORDER BY user_id LIMIT :n"""),
        {"n": sample},
    ).all()
    return (rows[0][1] if rows else 0), [r[0] for r in rows]


def ledger_totals(conn: Connection) -> dict[str, int | float]:
    """Entries of the ledger, the points users hold now, and how many users hold any."""
    entries, outstanding, holders = conn.execute(
        text("""
            SELECT (SELECT count(*) FROM loyalty.bonus_ledger),
                   coalesce((SELECT sum(balance) FROM loyalty.bonus_balances), 0),
                   (SELECT count(*) FROM loyalty.bonus_balances WHERE balance > 0)
        """)
    ).one()
    return {
        "dagster/row_count": entries,
        "outstanding_points": float(outstanding),
        "users_with_points": holders,
    }
