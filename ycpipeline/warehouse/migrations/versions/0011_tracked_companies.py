"""the salons the pipeline syncs, kept in the warehouse

Revision ID: 0011
Revises: 0010

- `yclients.tracked_companies`: one row per company the pipeline syncs (`ycpipeline companies add`, or
  seeded from YCLIENTS_COMPANY_ID), with when and by what it was added, and `removed_at` once removed.
  A removed company keeps its rows in every table; it only stops being read. Companies that already
  have a watermark (an existing deployment) are seeded here, so nothing is re-read after the upgrade.
- Descriptions of the columns of `yclients.records` and `loyalty.bonus_ledger`.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


# Column descriptions the UI shows beside each column's type (frozen here: schema.py holds them too).
COMMENTS = [
    ("yclients.tracked_companies", "company_id", "The YClients company (salon) id"),
    ("yclients.tracked_companies", "added_at", "When it was added"),
    (
        "yclients.tracked_companies",
        "added_by",
        "What added it: settings (YCLIENTS_COMPANY_ID), cli, upgrade (it had a watermark)",
    ),
    ("yclients.tracked_companies", "removed_at", "Set by `ycpipeline companies remove`; null while synced"),
    ("yclients.records", "company_id", "The YClients company (salon) id"),
    ("yclients.records", "record_id", "The record's id in YClients"),
    ("yclients.records", "visit_date", "The visit's date in the company's own time zone"),
    ("yclients.records", "starts_at", "When the visit starts"),
    ("yclients.records", "duration_seconds", "The visit's length, seconds (the API's seance_length)"),
    ("yclients.records", "staff_id", "Who serves it (yclients.staff); null or 0 when nobody is assigned"),
    (
        "yclients.records",
        "client_id",
        "The client in YClients (yclients.clients); null for a record without a client",
    ),
    ("yclients.records", "client_name", "The client's name as the record gives it"),
    (
        "yclients.records",
        "client_phone",
        "The client's phone in E.164 (+7…), null when missing or unreadable",
    ),
    ("yclients.records", "comment", "The record's comment"),
    (
        "yclients.records",
        "attendance",
        "2 client confirmed, 1 client came, 0 waiting, -1 client did not come",
    ),
    (
        "yclients.records",
        "deleted",
        "Cancelled or removed in YClients, or vanished from the API (re-read by id)",
    ),
    ("yclients.records", "total_cost", "The services' cost after discount, summed"),
    ("yclients.records", "created_at", "When the record was created in YClients"),
    (
        "yclients.records",
        "changed_at",
        "The API's last change time of the record (what change capture follows)",
    ),
    ("yclients.records", "synced_at", "When the pipeline last wrote the row"),
    ("yclients.records", "raw", "The record as the API sent it (personal data cut out)"),
    ("yclients.records", "visit_id", "The visit the record belongs to (several records can share one)"),
    ("yclients.records", "visit_attendance", "The visit's attendance (same codes as attendance)"),
    ("yclients.records", "confirmed", "1 when the client confirmed the record"),
    ("yclients.records", "online", "True when the client booked online"),
    ("yclients.records", "paid_full", "1 when the record is fully paid"),
    (
        "yclients.records",
        "payment_status",
        "0 not paid, 1 paid, 2-4 a season ticket's automatic payment (paid, failed, pending)",
    ),
    ("yclients.records", "prepaid", "True when the record takes a prepayment"),
    ("yclients.records", "prepaid_confirmed", "True when the prepayment was made"),
    ("yclients.records", "created_user_id", "The YClients user who created the record"),
    ("yclients.records", "master_request", "True when the client asked for this staff member"),
    ("yclients.records", "activity_id", "The group event the record belongs to, if any"),
    ("yclients.records", "api_id", "The id an integration gave the record"),
    ("yclients.records", "from_url", "The page the online booking came from"),
    ("yclients.records", "record_labels", "The record's labels: [{id, title}], in the API's order"),
    ("loyalty.bonus_ledger", "entry_id", "The entry's id (append-only)"),
    (
        "loyalty.bonus_ledger",
        "company_id",
        "The company whose points the entry moves (null for holds and releases)",
    ),
    ("loyalty.bonus_ledger", "record_id", "The record an accrual, reversal or adjustment is for"),
    ("loyalty.bonus_ledger", "user_id", "The app's user (loyalty.app_users) whose points move"),
    (
        "loyalty.bonus_ledger",
        "kind",
        "accrual, reversal, adjustment, spend, hold, capture, release or expiry",
    ),
    (
        "loyalty.bonus_ledger",
        "amount",
        "Points added (positive) or taken (negative); a user's balance is the sum",
    ),
    ("loyalty.bonus_ledger", "base_amount", "What the points were computed from: the visit's cost"),
    ("loyalty.bonus_ledger", "rate", "The bonus rate applied (BONUS_RATE at the time)"),
    ("loyalty.bonus_ledger", "created_at", "When the entry was written"),
    ("loyalty.bonus_ledger", "run_id", "The Dagster run that wrote it, if any"),
    (
        "loyalty.bonus_ledger",
        "external_id",
        "The app's id of a spend or hold (a capture or release repeats its hold's)",
    ),
    ("loyalty.bonus_ledger", "hold_amount", "The points a hold reserves"),
    ("loyalty.bonus_ledger", "expires_at", "When a hold releases itself"),
    ("loyalty.bonus_ledger", "lot_record_id", "The record whose points an expiry took"),
]


def upgrade() -> None:
    op.execute("""
        CREATE TABLE yclients.tracked_companies (
            company_id bigint NOT NULL,
            added_at timestamptz NOT NULL DEFAULT now(),
            added_by text NOT NULL,
            removed_at timestamptz,
            CONSTRAINT pk_tracked_companies PRIMARY KEY (company_id),
            CONSTRAINT ck_tracked_companies_id CHECK (company_id > 0)
        )""")
    op.execute("""
        INSERT INTO yclients.tracked_companies (company_id, added_by)
        SELECT DISTINCT company_id, 'upgrade' FROM yclients.sync_state
        WHERE stream = 'records' AND watermark IS NOT NULL AND company_id > 0
        ON CONFLICT DO NOTHING""")
    for table, column, comment in COMMENTS:
        quoted = comment.replace("'", "''")
        op.execute(f"COMMENT ON COLUMN {table}.{column} IS '{quoted}'")


def downgrade() -> None:
    for table, column, _ in COMMENTS:
        if table != "yclients.tracked_companies":
            op.execute(f"COMMENT ON COLUMN {table}.{column} IS NULL")
    op.execute("DROP TABLE yclients.tracked_companies")
