"""ledger queue without lost changes, record and staff columns, app users' phones

Revision ID: 0006
Revises: 0005

1. The ledger queue becomes append-only. Migration 0003 queued a changed record with
`INSERT … ON CONFLICT DO NOTHING`: when the key was already queued, a load added nothing and took no
lock, so a derivation could take the old queue entry, read the record as it was before the load
committed, and leave no entry behind for the change (the ledger kept 50.00 instead of 100.00).
Now every statement that changes records appends its own entries (no key, so no conflict). A
derivation deletes only the entries its snapshot sees, that is entries of committed loads, and reads
the records in later statements, whose snapshots see those loads. An entry of a load that commits later
is invisible to that DELETE and stays for the next derivation. Loads only add entries and a
derivation deletes only committed ones, so neither waits for the other.

2. The record fields a data team reads become columns of `yclients.records`, and staff deletion and
firing columns of `yclients.staff`; existing rows are filled from `raw` (a value the rules of
`normalize/` would reject stays null here; the next load of that record quarantines it with the reason).

3. `loyalty.app_user_phones`: the app users' phones in E.164, kept by the ledger derivation.

4. An existing `loyalty.app_users` (owned by the app) is verified first: a shape the ledger cannot read
stops the migration with what to change (a frozen copy of `loyalty.app_users.verify_app_users` as of this
revision, below: the migration must check what it checked then, whatever the live code becomes).
"""

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Connection, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

from ycpipeline.warehouse.migrate import AppUsersMismatchError

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

QUEUE_APPEND = """
CREATE OR REPLACE FUNCTION loyalty.queue_changed_records() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO loyalty.ledger_queue (company_id, record_id)
    SELECT DISTINCT company_id, record_id FROM changed_rows;
    RETURN NULL;
END $$"""

QUEUE_UPSERT = """
CREATE OR REPLACE FUNCTION loyalty.queue_changed_records() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO loyalty.ledger_queue (company_id, record_id)
    SELECT DISTINCT company_id, record_id FROM changed_rows
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$"""


RECORD_COLUMNS: list[tuple[str, TypeEngine[Any]]] = [
    ("visit_id", sa.BigInteger()),
    ("visit_attendance", sa.SmallInteger()),
    ("confirmed", sa.SmallInteger()),
    ("online", sa.Boolean()),
    ("paid_full", sa.SmallInteger()),
    ("payment_status", sa.SmallInteger()),
    ("prepaid", sa.Boolean()),
    ("prepaid_confirmed", sa.Boolean()),
    ("created_user_id", sa.BigInteger()),
    ("master_request", sa.Boolean()),
    ("activity_id", sa.BigInteger()),
    ("api_id", sa.Text()),
    ("from_url", sa.Text()),
    ("record_labels", postgresql.JSONB(astext_type=sa.Text())),
]
STAFF_COLUMNS: list[tuple[str, TypeEngine[Any]]] = [
    ("dismissal_date", sa.Date()),
    ("dismissal_reason", sa.Text()),
    ("status", sa.Integer()),
]


def _integer(key: str, digits: int) -> str:
    """`raw->key` as an integer when it is one (number or numeric string), else null."""
    return (
        f"CASE WHEN jsonb_typeof(raw->'{key}') IN ('number', 'string') "
        f"AND btrim(raw->>'{key}') ~ '^-?[0-9]{{1,{digits}}}$' THEN btrim(raw->>'{key}')::bigint END"
    )


def _flag(key: str) -> str:
    """`raw->key` as a number used as a flag: true/false as 1/0, else as `_integer` reads it."""
    return f"CASE WHEN jsonb_typeof(raw->'{key}') = 'boolean' THEN (raw->>'{key}')::boolean::int ELSE {_integer(key, 4)} END"


def _boolean(key: str) -> str:
    """`raw->key` as a boolean when it is one (true/false, 1/0, "1"/"0"), else null."""
    return (
        f"CASE lower(btrim(raw->>'{key}')) WHEN 'true' THEN true WHEN '1' THEN true "
        "WHEN 'false' THEN false WHEN '0' THEN false END"
    )


def _text(key: str) -> str:
    """`raw->key` as text when it is a non-empty string or a number, else null."""
    return f"CASE WHEN jsonb_typeof(raw->'{key}') IN ('string', 'number') THEN nullif(raw->>'{key}', '') END"


RECORD_BACKFILL = f"""
UPDATE yclients.records SET
    visit_id = {_integer("visit_id", 18)},
    visit_attendance = CASE WHEN raw->>'visit_attendance' IN ('-1', '0', '1', '2')
                            THEN (raw->>'visit_attendance')::smallint END,
    confirmed = {_flag("confirmed")},
    online = {_boolean("online")},
    paid_full = {_flag("paid_full")},
    payment_status = {_flag("payment_status")},
    prepaid = {_boolean("prepaid")},
    prepaid_confirmed = {_boolean("prepaid_confirmed")},
    created_user_id = {_integer("created_user_id", 18)},
    master_request = {_boolean("master_request")},
    activity_id = {_integer("activity_id", 18)},
    api_id = {_text("api_id")},
    from_url = {_text("from_url")},
    record_labels = CASE
        WHEN jsonb_typeof(raw->'record_labels') = 'array' THEN (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'id', CASE WHEN btrim(l->>'id') ~ '^[0-9]{{1,18}}$' THEN btrim(l->>'id')::bigint END,
                       'title', l->>'title') ORDER BY n), '[]')
            FROM jsonb_array_elements(raw->'record_labels') WITH ORDINALITY AS e(l, n)
            WHERE jsonb_typeof(l) = 'object')
        WHEN raw->'record_labels' = '{{}}' THEN '[]' END
"""

# A cast that yields null instead of failing, for dates written by hand (2026-13-45, 0000-00-00).
TRY_DATE = """
CREATE OR REPLACE FUNCTION pg_temp.try_date(value text) RETURNS date LANGUAGE plpgsql AS $$
BEGIN
    RETURN value::date;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$"""

STAFF_BACKFILL = f"""
UPDATE yclients.staff SET
    deleted = coalesce({_boolean("is_deleted")}, {_boolean("deleted")}, false)
              OR coalesce({_integer("status", 9)} = 1, false),
    dismissal_date = CASE WHEN btrim(raw->>'dismissal_date') ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}'
                          THEN pg_temp.try_date(left(btrim(raw->>'dismissal_date'), 10)) END,
    dismissal_reason = {_text("dismissal_reason")},
    status = {_integer("status", 9)}
"""


def upgrade() -> None:
    _verify_app_users(op.get_bind())
    _append_only_queue()
    _record_columns()
    _staff_columns()
    op.create_table(
        "app_user_phones",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("phone_e164", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_app_user_phones")),
        schema="loyalty",
    )
    op.create_index(
        op.f("ix_app_user_phones_phone_e164"), "app_user_phones", ["phone_e164"], schema="loyalty"
    )


def downgrade() -> None:
    op.drop_table("app_user_phones", schema="loyalty")
    for name, _ in reversed(STAFF_COLUMNS):
        op.drop_column("staff", name, schema="yclients")
    op.drop_column("staff", "deleted", schema="yclients")
    op.drop_constraint(op.f("ck_records_visit_attendance_known"), "records", schema="yclients")
    for name, _ in reversed(RECORD_COLUMNS):
        op.drop_column("records", name, schema="yclients")
    _keyed_queue()


def _record_columns() -> None:
    for name, sql_type in RECORD_COLUMNS:
        op.add_column("records", sa.Column(name, sql_type, nullable=True), schema="yclients")
    # The new columns mean nothing to the ledger: filling them must not queue every record for it.
    op.execute("ALTER TABLE yclients.records DISABLE TRIGGER records_update_queue_for_ledger")
    op.execute(RECORD_BACKFILL)
    op.execute("ALTER TABLE yclients.records ENABLE TRIGGER records_update_queue_for_ledger")
    op.create_check_constraint(
        op.f("ck_records_visit_attendance_known"),
        "records",
        "visit_attendance IN (-1, 0, 1, 2)",
        schema="yclients",
    )


def _staff_columns() -> None:
    op.add_column(
        "staff",
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        schema="yclients",
    )
    for name, sql_type in STAFF_COLUMNS:
        op.add_column("staff", sa.Column(name, sql_type, nullable=True), schema="yclients")
    op.execute(TRY_DATE)
    op.execute(STAFF_BACKFILL)


def _append_only_queue() -> None:
    op.execute("ALTER TABLE loyalty.ledger_queue DROP CONSTRAINT pk_ledger_queue")
    op.execute("ALTER TABLE loyalty.ledger_queue ADD COLUMN entry_id bigint GENERATED BY DEFAULT AS IDENTITY")
    op.execute("ALTER TABLE loyalty.ledger_queue ADD CONSTRAINT pk_ledger_queue PRIMARY KEY (entry_id)")
    op.execute(QUEUE_APPEND)


def _keyed_queue() -> None:
    op.execute("""
        DELETE FROM loyalty.ledger_queue q USING loyalty.ledger_queue o
        WHERE q.company_id = o.company_id AND q.record_id = o.record_id AND q.entry_id > o.entry_id""")
    op.execute("ALTER TABLE loyalty.ledger_queue DROP CONSTRAINT pk_ledger_queue")
    op.execute("ALTER TABLE loyalty.ledger_queue DROP COLUMN entry_id")
    op.execute(
        "ALTER TABLE loyalty.ledger_queue ADD CONSTRAINT pk_ledger_queue PRIMARY KEY (company_id, record_id)"
    )
    op.execute(QUEUE_UPSERT)


# A frozen copy of ycpipeline/loyalty/app_users.py's verify_app_users as of this revision.
APP_USERS = "loyalty.app_users"
INTEGER_TYPES = ("smallint", "integer", "bigint")
TEXT_TYPES = ("text", "character varying", "citext")


@dataclass(frozen=True)
class _Expected:
    accepted: tuple[str, ...]  # the types the ledger can read the column as
    suggested: str
    add: str  # the statement that adds the column when it is missing


EXPECTED = {
    "user_id": _Expected(
        INTEGER_TYPES, "bigint", f"ALTER TABLE {APP_USERS} ADD COLUMN user_id bigint PRIMARY KEY"
    ),
    "unique_code": _Expected(
        TEXT_TYPES, "text", f"ALTER TABLE {APP_USERS} ADD COLUMN unique_code text UNIQUE"
    ),
    "phone": _Expected(TEXT_TYPES, "text", f"ALTER TABLE {APP_USERS} ADD COLUMN phone text"),
}


def _app_users_problems(conn: Connection) -> list[str]:
    if conn.execute(text("SELECT to_regclass(:t)"), {"t": APP_USERS}).scalar() is None:
        return [f"{APP_USERS} does not exist (run `ycpipeline db upgrade`, which creates it)"]
    types: dict[str, str] = dict(
        conn.execute(
            text("""
            SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a
            WHERE a.attrelid = to_regclass(:t) AND a.attnum > 0 AND NOT a.attisdropped"""),
            {"t": APP_USERS},
        ).all()
    )
    problems = []
    for column, expected in EXPECTED.items():
        found = types.get(column)
        if found is None:
            problems.append(f"{APP_USERS} has no column {column} ({expected.add})")
        elif found not in expected.accepted:
            problems.append(
                f"{APP_USERS}.{column} is {found}, the ledger reads it as {' or '.join(expected.accepted)} "
                f"(ALTER TABLE {APP_USERS} ALTER COLUMN {column} TYPE {expected.suggested})"
            )
    if "user_id" in types and not _user_id_is_a_key(conn):
        problems.append(
            f"{APP_USERS}.user_id is neither its primary key nor unique "
            f"(ALTER TABLE {APP_USERS} ADD PRIMARY KEY (user_id))"
        )
    return problems


def _user_id_is_a_key(conn: Connection) -> bool:
    return bool(
        conn.execute(
            text("""
            SELECT EXISTS (
                SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                WHERE i.indrelid = to_regclass(:t) AND i.indisunique AND i.indnatts = 1
                  AND i.indpred IS NULL AND a.attname = 'user_id')"""),
            {"t": APP_USERS},
        ).scalar()
    )


def _verify_app_users(conn: Connection) -> None:
    problems = _app_users_problems(conn)
    if problems:
        raise AppUsersMismatchError(
            "loyalty.app_users is not in the shape the ledger reads: " + "; ".join(problems)
        )
