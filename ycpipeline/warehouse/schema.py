"""The warehouse tables (SQLAlchemy Core). Names and meanings follow the warehouse contract."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    Table,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "pk": "pk_%(table_name)s",
    }
)
Money = Numeric(12, 2)
TimestampTZ = TIMESTAMP(timezone=True)

services = Table(
    "services",
    metadata,
    Column("company_id", BigInteger, primary_key=True),
    Column("service_id", BigInteger, primary_key=True),
    Column("title", Text, nullable=False),
    Column("category_id", BigInteger),
    Column("price_min", Money),
    Column("price_max", Money),
    Column("active", Boolean, nullable=False),
    Column("booking_url", Text),
    Column("removed_at", TimestampTZ),
    Column("synced_at", TimestampTZ, nullable=False),
    Column("raw", JSONB, nullable=False),
    schema="yclients",
)

staff = Table(
    "staff",
    metadata,
    Column("company_id", BigInteger, primary_key=True),
    Column("staff_id", BigInteger, primary_key=True),
    Column("name", Text, nullable=False),
    Column("specialization", Text),
    Column("fired", Boolean, nullable=False),
    Column("hidden", Boolean, nullable=False),
    Column("booking_url", Text),
    Column("removed_at", TimestampTZ),
    Column("synced_at", TimestampTZ, nullable=False),
    Column("raw", JSONB, nullable=False),
    # Deletion and firing as the API reports them (migration 0006): `is_deleted`, `dismissal_date`,
    # `dismissal_reason` are not in the official description (yclientsru.apib:4066-4086 has `fired`,
    # `status`, `hidden`); they come from current payloads seen in public client code. `deleted` is
    # `is_deleted` or `status` 1 (the OpenAPI: 1 deleted).
    Column("deleted", Boolean, nullable=False, server_default=false()),
    Column("dismissal_date", Date),
    Column("dismissal_reason", Text),
    Column("status", Integer),
    schema="yclients",
)

records = Table(
    "records",
    metadata,
    Column("company_id", BigInteger, primary_key=True),
    Column("record_id", BigInteger, primary_key=True),
    Column("visit_date", Date, nullable=False),
    Column("starts_at", TimestampTZ, nullable=False),
    Column("duration_seconds", Integer, nullable=False),
    Column("staff_id", BigInteger),
    Column("client_id", BigInteger),
    Column("client_name", Text),
    Column("client_phone", Text),
    Column("comment", Text, nullable=False, server_default=""),
    Column("attendance", SmallInteger, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("total_cost", Money, nullable=False),
    Column("created_at", TimestampTZ),
    Column("changed_at", TimestampTZ),
    Column("synced_at", TimestampTZ, nullable=False),
    Column("raw", JSONB, nullable=False),
    # Fields a data team reads, beside `raw` (migration 0006; the record of yclientsru.apib:5351-5377, 5466-5642).
    Column("visit_id", BigInteger),
    Column("visit_attendance", SmallInteger),
    Column("confirmed", SmallInteger),
    Column("online", Boolean),
    Column("paid_full", SmallInteger),
    # Not in the description; the OpenAPI models (PyPI yclients 0.1.1, RecordsCompanyidResponseDataTypes-
    # DataItem) give 0 not paid, 1 paid, 2-4 automatic payment by a season ticket (paid, failed, pending).
    Column("payment_status", SmallInteger),
    Column("prepaid", Boolean),
    Column("prepaid_confirmed", Boolean),
    Column("created_user_id", BigInteger),
    Column("master_request", Boolean),
    Column("activity_id", BigInteger),
    Column("api_id", Text),
    Column("from_url", Text),
    # [{"id": 67345, "title": "…"}, …]: the labels' ids and titles, in the API's order.
    Column("record_labels", JSONB),
    CheckConstraint("attendance IN (-1, 0, 1, 2)", name="attendance_known"),
    CheckConstraint("visit_attendance IN (-1, 0, 1, 2)", name="visit_attendance_known"),
    Index(None, "company_id", "visit_date"),
    Index(None, "client_phone"),
    schema="yclients",
)

record_services = Table(
    "record_services",
    metadata,
    Column("company_id", BigInteger, primary_key=True),
    Column("record_id", BigInteger, primary_key=True),
    Column("service_id", BigInteger, primary_key=True),
    Column("title", Text),
    Column("cost", Money, nullable=False),
    Column("first_cost", Money),
    Column("discount", Numeric(7, 2)),
    Column("amount", Integer, nullable=False),
    schema="yclients",
)

rejected_rows = Table(
    "rejected_rows",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("entity", Text, nullable=False),
    Column("company_id", BigInteger),
    Column("source_key", Text),
    Column("reasons", JSONB, nullable=False),
    Column("raw", JSONB),
    Column("run_id", Text),
    Column("rejected_at", TimestampTZ, nullable=False, server_default=func.now()),
    Index(None, "entity", "rejected_at"),
    schema="yclients",
)

# Not in the contract's list: our own log of finished loads, read by `check-booking-sync`.
sync_log = Table(
    "sync_log",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("entity", Text, nullable=False),
    Column("company_id", BigInteger),
    Column("window_start", Date),
    Column("window_end", Date),
    Column("run_id", Text),
    Column("counts", JSONB, nullable=False),
    Column("finished_at", TimestampTZ, nullable=False, server_default=func.now()),
    Index(None, "entity", "finished_at"),
    schema="yclients",
)

# The durable webhook queue: one row per accepted event, `pending` until a run that covers it succeeded.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("received_at", TimestampTZ, nullable=False, server_default=func.now()),
    Column("company_id", BigInteger, nullable=False),
    Column("resource", Text, nullable=False),
    Column("resource_id", BigInteger, nullable=False),
    Column("action", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("reason", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("run_id", Text),
    Column("body", JSONB, nullable=False),
    Column("body_hash", Text, nullable=False),
    Column("batch_id", Text),
    Column("claimed_at", TimestampTZ),
    Column("next_attempt_at", TimestampTZ, nullable=False, server_default=func.now()),
    Column("processed_at", TimestampTZ),
    CheckConstraint("status IN ('pending', 'done', 'ignored', 'failed')", name="status_known"),
    CheckConstraint("action IN ('create', 'update', 'delete')", name="action_known"),
    Index(
        "ix_webhook_events_ready",
        "next_attempt_at",
        "id",
        postgresql_where=text("status IN ('pending', 'failed') AND batch_id IS NULL"),
    ),
    Index("ix_webhook_events_batch_id", "batch_id", postgresql_where=text("batch_id IS NOT NULL")),
    Index(
        "ix_webhook_events_processed_at",
        "processed_at",
        postgresql_where=text("status IN ('done', 'ignored')"),
    ),
    schema="yclients",
)

# Change capture: per company and stream, every change up to `watermark` is in the warehouse.
sync_state = Table(
    "sync_state",
    metadata,
    Column("company_id", BigInteger, primary_key=True),
    Column("stream", Text, primary_key=True),
    Column("watermark", TimestampTZ),
    Column("last_reconciled_at", TimestampTZ),
    Column("updated_at", TimestampTZ, nullable=False, server_default=func.now()),
    schema="yclients",
)

# Not in the contract's list: the company objects, read for their time zone.
companies = Table(
    "companies",
    metadata,
    Column("company_id", BigInteger, primary_key=True),
    Column("title", Text),
    Column("timezone_name", Text),
    Column("utc_offset", Text),
    Column("raw", JSONB, nullable=False),
    Column("synced_at", TimestampTZ, nullable=False),
    schema="yclients",
)

# Not in the contract's list: the YClients API budget shared by every process (ycpipeline.client.budget).
api_budget = Table(
    "api_budget",
    metadata,
    Column("key", Text, primary_key=True),
    Column("paused_until", TimestampTZ),
    Column("updated_at", TimestampTZ, nullable=False, server_default=func.now()),
    schema="yclients",
)

api_budget_slots = Table(
    "api_budget_slots",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("key", Text, nullable=False),
    Column("slot_at", TimestampTZ, nullable=False),
    Index(None, "key", "slot_at"),
    schema="yclients",
    prefixes=["UNLOGGED"],
)

app_users = Table(
    "app_users",
    metadata,
    Column("user_id", BigInteger, primary_key=True),
    Column("unique_code", Text, unique=True),
    Column("phone", Text),
    Column("created_at", TimestampTZ, nullable=False, server_default=func.now()),
    schema="loyalty",
)

# The app users' phones in E.164, normalised by the pipeline with the rules of the records' phones
# (normalize.values.to_e164). The app's own table is never written to.
app_user_phones = Table(
    "app_user_phones",
    metadata,
    Column("user_id", BigInteger, primary_key=True),
    Column("phone", Text),
    Column("phone_e164", Text),
    Index(None, "phone_e164"),
    schema="loyalty",
)

bonus_ledger = Table(
    "bonus_ledger",
    metadata,
    Column("entry_id", BigInteger, Identity(), primary_key=True),
    Column("company_id", BigInteger, nullable=False),
    Column("record_id", BigInteger, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("amount", Money, nullable=False),
    Column("base_amount", Money, nullable=False),
    Column("rate", Numeric(6, 4), nullable=False),
    Column("created_at", TimestampTZ, nullable=False, server_default=func.now()),
    Column("run_id", Text),
    CheckConstraint("kind IN ('accrual', 'reversal', 'adjustment')", name="kind_known"),
    Index(None, "company_id", "record_id"),
    Index(None, "user_id"),
    schema="loyalty",
)

# Keys of records changed since the last derivation, appended by triggers on yclients.records: one
# entry per changing statement, never merged, so no load ever waits for or is lost to a derivation.
ledger_queue = Table(
    "ledger_queue",
    metadata,
    Column("entry_id", BigInteger, Identity(), primary_key=True),
    Column("company_id", BigInteger, nullable=False),
    Column("record_id", BigInteger, nullable=False),
    schema="loyalty",
)

# The app users as the last derivation saw them: when they change, every record is re-derived.
ledger_state = Table(
    "ledger_state",
    metadata,
    Column("id", SmallInteger, CheckConstraint("id = 1", name="single_row"), primary_key=True),
    Column("users_fingerprint", Text, nullable=False),
    Column("derived_at", TimestampTZ, nullable=False, server_default=func.now()),
    Column("run_id", Text),
    schema="loyalty",
)
