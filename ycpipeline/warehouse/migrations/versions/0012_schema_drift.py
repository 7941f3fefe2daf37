"""schema drift: fields the API added, dropped or retyped, recorded

Revision ID: 0012
Revises: 0011

- `yclients.schema_drift`: one row per company, stream, top-level field and change (`added`, `dropped`,
  `retyped`) a read found against the fields the stream declares, with the kinds seen and declared, a short
  example, when and by which runs it was first and last seen, and `resolved_at` once a later whole read no
  longer sees it. Nothing is filled: drift is recorded from the next read on.
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


# Column descriptions the UI shows beside each column's type (frozen here: schema.py holds them too).
COMMENTS = [
    ("yclients.schema_drift", "company_id", "The YClients company (salon) id"),
    ("yclients.schema_drift", "stream", "The stream whose items were read (records, services…)"),
    (
        "yclients.schema_drift",
        "field",
        "The item's top-level field (cleaned of NUL and lone surrogates, ≤ 200 characters)",
    ),
    (
        "yclients.schema_drift",
        "change",
        "added (undeclared), dropped (in no item of a read) or retyped (an undeclared kind)",
    ),
    (
        "yclients.schema_drift",
        "kinds",
        "JSON kinds seen by the latest read that saw it, comma-separated; empty when dropped",
    ),
    (
        "yclients.schema_drift",
        "expected",
        "The JSON kinds the stream declares, comma-separated; empty when added",
    ),
    (
        "yclients.schema_drift",
        "example",
        "A short repr of one value (≤ 200 characters, no personal field); empty when dropped",
    ),
    ("yclients.schema_drift", "first_seen_at", "When a read first saw the drift"),
    ("yclients.schema_drift", "last_seen_at", "When a read last saw the drift"),
    ("yclients.schema_drift", "seen_count", "How many reads saw the drift"),
    ("yclients.schema_drift", "first_run_id", "The Dagster run whose read first saw it"),
    ("yclients.schema_drift", "last_run_id", "The Dagster run whose read last saw it"),
    (
        "yclients.schema_drift",
        "resolved_at",
        "When a later whole read no longer saw it; null while open (a sighting reopens it)",
    ),
]


def upgrade() -> None:
    op.execute("""
        CREATE TABLE yclients.schema_drift (
            company_id bigint NOT NULL,
            stream text NOT NULL,
            field text NOT NULL,
            change text NOT NULL,
            kinds text NOT NULL,
            expected text NOT NULL,
            example text NOT NULL,
            first_seen_at timestamptz NOT NULL DEFAULT now(),
            last_seen_at timestamptz NOT NULL,
            seen_count bigint NOT NULL DEFAULT 1,
            first_run_id text,
            last_run_id text,
            resolved_at timestamptz,
            CONSTRAINT pk_schema_drift PRIMARY KEY (company_id, stream, field, change),
            CONSTRAINT ck_schema_drift_change_known CHECK (change IN ('added', 'dropped', 'retyped'))
        )""")
    for table, column, comment in COMMENTS:
        quoted = comment.replace("'", "''")
        op.execute(f"COMMENT ON COLUMN {table}.{column} IS '{quoted}'")


def downgrade() -> None:
    op.execute("DROP TABLE yclients.schema_drift")
