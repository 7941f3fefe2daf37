"""The app's `loyalty.app_users`, as the ledger reads it: its shape verified, its phones normalised.

The app owns the table: the pipeline never writes to it. Phones are normalised into the pipeline's own
`loyalty.app_user_phones` with the very function that normalises the records' phones
(`normalize.values.to_e164`), so a user stored as `8 (916) 000-00-01` matches a record's
`+79160000001`, and the derivation stays one set-based SQL statement over both tables. A second
implementation of the rules in SQL could drift from the first; normalising at match time in Python would
take the matching out of SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from ycpipeline.normalize.values import to_e164

# Named here too, where its callers (the CLI, the tests) have always found it; migration 0006 raises it as well.
from ycpipeline.warehouse.migrate import AppUsersMismatchError as AppUsersMismatchError
from ycpipeline.warehouse.schema import app_user_phones
from ycpipeline.warehouse.upsert import copy_rows, create_stage

# What the app's users are, as one value: the ledger re-derives in full when it changes, and the UI's
# observation of `app_users` reports it as the table's data version.
USERS_FINGERPRINT_SQL = """
SELECT md5(coalesce(string_agg(user_id || ':' || coalesce(upper(unique_code), '') || ':' || coalesce(phone, ''),
                               ',' ORDER BY user_id), ''))
FROM loyalty.app_users
"""

TABLE = "loyalty.app_users"
INTEGER_TYPES = ("smallint", "integer", "bigint")
TEXT_TYPES = ("text", "character varying", "citext")


@dataclass(frozen=True)
class _Expected:
    accepted: tuple[str, ...]  # the types the ledger can read the column as
    suggested: str
    add: str  # the statement that adds the column when it is missing


EXPECTED = {
    "user_id": _Expected(
        INTEGER_TYPES, "bigint", f"ALTER TABLE {TABLE} ADD COLUMN user_id bigint PRIMARY KEY"
    ),
    "unique_code": _Expected(TEXT_TYPES, "text", f"ALTER TABLE {TABLE} ADD COLUMN unique_code text UNIQUE"),
    "phone": _Expected(TEXT_TYPES, "text", f"ALTER TABLE {TABLE} ADD COLUMN phone text"),
}


def app_users_problems(conn: Connection) -> list[str]:
    """What keeps the ledger from reading `loyalty.app_users` (empty when nothing does), each with a fix."""
    if conn.execute(text("SELECT to_regclass(:t)"), {"t": TABLE}).scalar() is None:
        return [f"{TABLE} does not exist (run `ycpipeline db upgrade`, which creates it)"]
    types: dict[str, str] = dict(
        conn.execute(
            text("""
            SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a
            WHERE a.attrelid = to_regclass(:t) AND a.attnum > 0 AND NOT a.attisdropped"""),
            {"t": TABLE},
        ).all()
    )
    problems = []
    for column, expected in EXPECTED.items():
        found = types.get(column)
        if found is None:
            problems.append(f"{TABLE} has no column {column} ({expected.add})")
        elif found not in expected.accepted:
            problems.append(
                f"{TABLE}.{column} is {found}, the ledger reads it as {' or '.join(expected.accepted)} "
                f"(ALTER TABLE {TABLE} ALTER COLUMN {column} TYPE {expected.suggested})"
            )
    if "user_id" in types and not _user_id_is_a_key(conn):
        problems.append(
            f"{TABLE}.user_id is neither its primary key nor unique (ALTER TABLE {TABLE} ADD PRIMARY KEY (user_id))"
        )
    return problems


def _user_id_is_a_key(conn: Connection) -> bool:
    """A primary key or unique index on exactly (user_id), usable by every row (not partial)."""
    return bool(
        conn.execute(
            text("""
            SELECT EXISTS (
                SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                WHERE i.indrelid = to_regclass(:t) AND i.indisunique AND i.indnatts = 1
                  AND i.indpred IS NULL AND a.attname = 'user_id')"""),
            {"t": TABLE},
        ).scalar()
    )


def verify_app_users(conn: Connection) -> None:
    """Raise `AppUsersMismatchError` naming every change `loyalty.app_users` needs, if any.

    Migration 0006 runs a frozen copy of this check as it was then: a change here does not reach it.
    """
    problems = app_users_problems(conn)
    if problems:
        raise AppUsersMismatchError(
            "loyalty.app_users is not in the shape the ledger reads: " + "; ".join(problems)
        )


@dataclass
class PhoneRefresh:
    """What one refresh of `loyalty.app_user_phones` changed."""

    normalised: int = 0
    removed: int = 0


def refresh_user_phones(conn: Connection) -> PhoneRefresh:
    """Bring `loyalty.app_user_phones` in step with the app users: only new or changed phones are parsed."""
    changed = conn.execute(
        text("""
        SELECT u.user_id, u.phone FROM loyalty.app_users u
        LEFT JOIN loyalty.app_user_phones p ON p.user_id = u.user_id
        WHERE p.user_id IS NULL OR p.phone IS DISTINCT FROM u.phone""")
    ).all()
    result = PhoneRefresh()
    if changed:
        stage = create_stage(conn, app_user_phones)
        result.normalised = copy_rows(
            conn,
            stage,
            ["user_id", "phone", "phone_e164"],
            ((user_id, phone, to_e164(phone)) for user_id, phone in changed),
        )
        conn.execute(
            text(f"""
            INSERT INTO loyalty.app_user_phones (user_id, phone, phone_e164)
            SELECT user_id, phone, phone_e164 FROM {stage}
            ON CONFLICT (user_id) DO UPDATE SET phone = EXCLUDED.phone, phone_e164 = EXCLUDED.phone_e164""")
        )
    result.removed = conn.execute(
        text("""
        DELETE FROM loyalty.app_user_phones p
        WHERE NOT EXISTS (SELECT 1 FROM loyalty.app_users u WHERE u.user_id = p.user_id)""")
    ).rowcount
    return result


def unusable_phones(conn: Connection, sample: int = 20) -> tuple[int, list[int]]:
    """App users with a phone that is not blank yet not a number (as of the last refresh), and a few ids."""
    rows = conn.execute(
        text("""
        SELECT user_id, count(*) OVER () FROM loyalty.app_user_phones
        WHERE phone_e164 IS NULL AND btrim(coalesce(phone, '')) <> ''
        ORDER BY user_id LIMIT :n"""),
        {"n": sample},
    ).all()
    return (rows[0][1] if rows else 0), [r[0] for r in rows]


def app_users_observation(conn: Connection) -> tuple[dict[str, int], str]:
    """Users of the app's table, those with a code, and the content's fingerprint (its data version)."""
    users, with_code = conn.execute(text("SELECT count(*), count(unique_code) FROM loyalty.app_users")).one()
    fingerprint: str = conn.execute(text(USERS_FINGERPRINT_SQL)).scalar_one()
    return {"dagster/row_count": users, "users_with_code": with_code}, fingerprint
