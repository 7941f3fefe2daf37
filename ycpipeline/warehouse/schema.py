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
    Column("company_id", BigInteger, primary_key=True, comment="The YClients company (salon) id"),
    Column("record_id", BigInteger, primary_key=True, comment="The record's id in YClients"),
    Column("visit_date", Date, nullable=False, comment="The visit's date in the company's own time zone"),
    Column("starts_at", TimestampTZ, nullable=False, comment="When the visit starts"),
    Column(
        "duration_seconds",
        Integer,
        nullable=False,
        comment="The visit's length, seconds (the API's seance_length)",
    ),
    Column(
        "staff_id", BigInteger, comment="Who serves it (yclients.staff); null or 0 when nobody is assigned"
    ),
    Column(
        "client_id",
        BigInteger,
        comment="The client in YClients (yclients.clients); null for a record without a client",
    ),
    Column("client_name", Text, comment="The client's name as the record gives it"),
    Column(
        "client_phone", Text, comment="The client's phone in E.164 (+7…), null when missing or unreadable"
    ),
    Column("comment", Text, nullable=False, server_default="", comment="The record's comment"),
    Column(
        "attendance",
        SmallInteger,
        nullable=False,
        comment="2 client confirmed, 1 client came, 0 waiting, -1 client did not come",
    ),
    Column(
        "deleted",
        Boolean,
        nullable=False,
        comment="Cancelled or removed in YClients, or vanished from the API (re-read by id)",
    ),
    Column("total_cost", Money, nullable=False, comment="The services' cost after discount, summed"),
    Column("created_at", TimestampTZ, comment="When the record was created in YClients"),
    Column(
        "changed_at",
        TimestampTZ,
        comment="The API's last change time of the record (what change capture follows)",
    ),
    Column("synced_at", TimestampTZ, nullable=False, comment="When the pipeline last wrote the row"),
    Column("raw", JSONB, nullable=False, comment="The record as the API sent it (personal data cut out)"),
    # Fields a data team reads, beside `raw` (migration 0006; the record of yclientsru.apib:5351-5377, 5466-5642).
    Column("visit_id", BigInteger, comment="The visit the record belongs to (several records can share one)"),
    Column("visit_attendance", SmallInteger, comment="The visit's attendance (same codes as attendance)"),
    Column("confirmed", SmallInteger, comment="1 when the client confirmed the record"),
    Column("online", Boolean, comment="True when the client booked online"),
    Column("paid_full", SmallInteger, comment="1 when the record is fully paid"),
    # Not in the description; the OpenAPI models (PyPI yclients 0.1.1, RecordsCompanyidResponseDataTypes-
    # DataItem) give 0 not paid, 1 paid, 2-4 automatic payment by a season ticket (paid, failed, pending).
    Column(
        "payment_status",
        SmallInteger,
        comment="0 not paid, 1 paid, 2-4 a season ticket's automatic payment (paid, failed, pending)",
    ),
    Column("prepaid", Boolean, comment="True when the record takes a prepayment"),
    Column("prepaid_confirmed", Boolean, comment="True when the prepayment was made"),
    Column("created_user_id", BigInteger, comment="The YClients user who created the record"),
    Column("master_request", Boolean, comment="True when the client asked for this staff member"),
    Column("activity_id", BigInteger, comment="The group event the record belongs to, if any"),
    Column("api_id", Text, comment="The id an integration gave the record"),
    Column("from_url", Text, comment="The page the online booking came from"),
    # [{"id": 67345, "title": "…"}, …]: the labels' ids and titles, in the API's order.
    Column("record_labels", JSONB, comment="The record's labels: [{id, title}], in the API's order"),
    CheckConstraint("attendance IN (-1, 0, 1, 2)", name="attendance_known"),
    CheckConstraint("visit_attendance IN (-1, 0, 1, 2)", name="visit_attendance_known"),
    Index(None, "company_id", "visit_date"),
    Index(None, "client_phone"),
    # The marts read a client's records (migration 0009).
    Index(None, "company_id", "client_id"),
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

# The salons the pipeline syncs (`ycpipeline companies`); a removed one keeps its rows elsewhere.
tracked_companies = Table(
    "tracked_companies",
    metadata,
    Column("company_id", BigInteger, primary_key=True, comment="The YClients company (salon) id"),
    Column("added_at", TimestampTZ, nullable=False, server_default=func.now(), comment="When it was added"),
    Column(
        "added_by",
        Text,
        nullable=False,
        comment="What added it: settings (YCLIENTS_COMPANY_ID), cli, upgrade (it had a watermark)",
    ),
    Column("removed_at", TimestampTZ, comment="Set by `ycpipeline companies remove`; null while synced"),
    CheckConstraint("company_id > 0", name="id"),
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
    Column("entry_id", BigInteger, Identity(), primary_key=True, comment="The entry's id (append-only)"),
    # Every entry but a hold or a release names the company whose points it moves; record entries
    # (accrual, reversal, adjustment) also the record (docs/loyalty.md).
    Column(
        "company_id",
        BigInteger,
        comment="The company whose points the entry moves (null for holds and releases)",
    ),
    Column("record_id", BigInteger, comment="The record an accrual, reversal or adjustment is for"),
    Column(
        "user_id", BigInteger, nullable=False, comment="The app's user (loyalty.app_users) whose points move"
    ),
    Column(
        "kind",
        Text,
        nullable=False,
        comment="accrual, reversal, adjustment, spend, hold, capture, release or expiry",
    ),
    Column(
        "amount",
        Money,
        nullable=False,
        comment="Points added (positive) or taken (negative); a user's balance is the sum",
    ),
    Column("base_amount", Money, comment="What the points were computed from: the visit's cost"),
    Column("rate", Numeric(6, 4), comment="The bonus rate applied (BONUS_RATE at the time)"),
    Column(
        "created_at",
        TimestampTZ,
        nullable=False,
        server_default=func.now(),
        comment="When the entry was written",
    ),
    Column("run_id", Text, comment="The Dagster run that wrote it, if any"),
    # The app's id of a spend or hold (captures and releases repeat the hold's).
    Column(
        "external_id",
        Text,
        comment="The app's id of a spend or hold (a capture or release repeats its hold's)",
    ),
    # A hold's reserved points and when it releases itself.
    Column("hold_amount", Money, comment="The points a hold reserves"),
    Column("expires_at", TimestampTZ, comment="When a hold releases itself"),
    # The record whose lot an expiry took (record_id stays the records' own: their entries sum to what
    # they are owed).
    Column("lot_record_id", BigInteger, comment="The record whose points an expiry took"),
    CheckConstraint(
        "kind IN ('accrual', 'reversal', 'adjustment', 'spend', 'hold', 'capture', 'release', 'expiry')",
        name="kind_known",
    ),
    # Migration 0010's ck_bonus_ledger_shape_fits_kind says which columns each kind fills.
    Index(None, "company_id", "record_id"),
    Index(None, "user_id"),
    Index(
        None,
        "external_id",
        "kind",
        "company_id",
        unique=True,
        postgresql_nulls_not_distinct=True,
        postgresql_where=text("external_id IS NOT NULL"),
    ),
    schema="loyalty",
)

# The expiry rule the pipeline applies, for the app to read (loyalty.expiring_points): one row.
bonus_policy = Table(
    "bonus_policy",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("expiry_months", Integer, nullable=False),
    Column("notice_days", Integer, nullable=False),
    Column("updated_at", TimestampTZ, nullable=False, server_default=func.now()),
    CheckConstraint("id = 1", name="one_row"),
    CheckConstraint("expiry_months >= 0 AND notice_days >= 0", name="not_negative"),
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

# --- Streams beside the records and the marts built on them (migration 0009) ---------------------------
# Service categories (yclientsru.apib:2636-2660), read with the catalogue.
service_categories = Table(
    "service_categories",
    metadata,
    Column("company_id", BigInteger, primary_key=True),
    Column("category_id", BigInteger, primary_key=True),
    Column("title", Text, nullable=False),
    Column("weight", Integer),
    Column("api_id", Text),
    Column("removed_at", TimestampTZ),
    Column("synced_at", TimestampTZ, nullable=False),
    Column("raw", JSONB, nullable=False),
    schema="yclients",
)

# Cash desks and accounts (yclientsru.apib:9357-9366): `account_type` as the API sends it (0 cash,
# 1 cashless), `kind` its reading ('cash', 'cashless', or 'other' for a type the description does not list).
payment_accounts = Table(
    "payment_accounts",
    metadata,
    Column("company_id", BigInteger, primary_key=True),
    Column("account_id", BigInteger, primary_key=True),
    Column("title", Text, nullable=False),
    Column("account_type", SmallInteger),
    Column("kind", Text, nullable=False),
    Column("comment", Text),
    Column("removed_at", TimestampTZ),
    Column("synced_at", TimestampTZ, nullable=False),
    Column("raw", JSONB, nullable=False),
    CheckConstraint("kind IN ('cash', 'cashless', 'other')", name="kind_known"),
    schema="yclients",
)

# The payments of a record, as `include_finance_transactions=1` lists them on the records calls
# (yclientsru.apib:5453, 6112-6140); replaced per record like its service lines.
record_payments = Table(
    "record_payments",
    metadata,
    Column("company_id", BigInteger, primary_key=True),
    Column("transaction_id", BigInteger, primary_key=True),
    Column("record_id", BigInteger, nullable=False),
    Column("document_id", BigInteger),
    Column("paid_at", TimestampTZ, nullable=False),
    Column("amount", Money, nullable=False),
    Column("account_id", BigInteger),
    Column("expense_id", BigInteger),
    Column("client_id", BigInteger),
    Column("synced_at", TimestampTZ, nullable=False),
    Column("raw", JSONB, nullable=False),
    Index(None, "company_id", "record_id"),
    schema="yclients",
)

# The cash ledger: `GET /transactions/{company_id}` (yclientsru.apib:12357-12475), by transaction date.
finance_transactions = Table(
    "finance_transactions",
    metadata,
    Column("company_id", BigInteger, primary_key=True),
    Column("transaction_id", BigInteger, primary_key=True),
    Column("document_id", BigInteger),
    Column("made_at", TimestampTZ, nullable=False),
    Column("made_on", Date, nullable=False),
    Column("amount", Money, nullable=False),
    Column("account_id", BigInteger),
    Column("expense_id", BigInteger),
    Column("expense_title", Text),
    Column("client_id", BigInteger),
    Column("staff_id", BigInteger),
    Column("supplier_id", BigInteger),
    Column("comment", Text),
    Column("changed_at", TimestampTZ),
    Column("removed_at", TimestampTZ),
    Column("synced_at", TimestampTZ, nullable=False),
    Column("raw", JSONB, nullable=False),
    Index(None, "company_id", "made_on"),
    schema="yclients",
)

# Goods sold, used and received: `GET /storages/transactions/{company_id}` (yclientsru.apib:16054-16128),
# read by change time after a first read by creation date (sync/streams/goods_transactions.py).
goods_transactions = Table(
    "goods_transactions",
    metadata,
    Column("company_id", BigInteger, primary_key=True, comment="The YClients company (salon) id"),
    Column("transaction_id", BigInteger, primary_key=True, comment="The goods transaction's id in YClients"),
    Column("document_id", BigInteger, comment="The document (sale, delivery) it belongs to"),
    Column("type_id", BigInteger, comment="The operation type's id (1: a sale, 3: an arrival, …)"),
    Column("type_title", Text, comment="The operation type's name, as the API sends it"),
    Column("good_id", BigInteger, comment="The good's id"),
    Column("good_title", Text, comment="The good's name"),
    Column("storage_id", BigInteger, comment="The storage the goods left or entered"),
    Column(
        "quantity",
        Numeric(14, 3),
        comment="The API's amount: negative when goods leave the storage (a sale), positive when they arrive",
    ),
    Column("cost_per_unit", Money, comment="The price of one unit"),
    Column("cost", Money, comment="The transaction's cost after its discount"),
    Column(
        "discount", Money, comment="The discount, as sent (the description does not say percent or amount)"
    ),
    Column(
        "record_id", BigInteger, comment="The record (visit) a sale belongs to; null when none (sent as 0)"
    ),
    Column("service_id", BigInteger, comment="The service a sale or use is tied to"),
    Column("staff_id", BigInteger, comment="The staff member (the API's master)"),
    Column("supplier_id", BigInteger, comment="The supplier of an arrival"),
    Column("client_id", BigInteger, comment="The client of a sale (the API's clients object)"),
    Column("created_at", TimestampTZ, nullable=False, comment="When the transaction was made"),
    Column("created_on", Date, nullable=False, comment="The day it was made, in the company's own time zone"),
    Column("changed_at", TimestampTZ, comment="When YClients last changed it (last_change_date)"),
    Column("synced_at", TimestampTZ, nullable=False, comment="When this pipeline last wrote the row"),
    Column("raw", JSONB, nullable=False, comment="The item as the API sent it"),
    Index(None, "company_id", "created_on"),
    Index(None, "company_id", "record_id"),
    schema="yclients",
)

# Clients from the clients search (yclientsru.apib:4504-4700, fields :201-233), a nightly snapshot.
clients = Table(
    "clients",
    metadata,
    Column("company_id", BigInteger, primary_key=True),
    Column("client_id", BigInteger, primary_key=True),
    Column("name", Text),
    Column("phone", Text),
    Column("email", Text),
    Column("discount", Numeric(7, 2)),
    Column("first_visit_date", Date),
    Column("last_visit_date", Date),
    Column("visits_count", Integer),
    Column("sold_amount", Money),
    Column("removed_at", TimestampTZ),
    Column("synced_at", TimestampTZ, nullable=False),
    Column("raw", JSONB, nullable=False),
    Index(None, "phone"),
    schema="yclients",
)

# Working intervals per staff member and day; busy intervals where the API gives them.
staff_schedules = Table(
    "staff_schedules",
    metadata,
    Column("company_id", BigInteger, primary_key=True),
    Column("staff_id", BigInteger, primary_key=True),
    Column("work_date", Date, primary_key=True),
    Column("is_working", Boolean, nullable=False),
    Column("slots", JSONB, nullable=False),
    Column("scheduled_minutes", Integer, nullable=False),
    Column("busy_intervals", JSONB),
    Column("busy_minutes", Integer),
    Column("synced_at", TimestampTZ, nullable=False),
    Column("raw", JSONB, nullable=False),
    schema="yclients",
)

# Keys whose mart rows must be rebuilt, appended by triggers on the tables the marts read (one entry per
# changing statement; a refresh deletes the entries its snapshot sees, as the ledger queue works).
marts_pending = Table(
    "pending",
    metadata,
    Column("entry_id", BigInteger, Identity(), primary_key=True),
    Column("mart", Text, nullable=False),
    Column("company_id", BigInteger, nullable=False),
    Column("day", Date),
    Column("client_id", BigInteger),
    Index(None, "mart"),
    schema="marts",
)

branch_daily = Table(
    "branch_daily",
    metadata,
    Column("company_id", BigInteger, primary_key=True),
    Column("date", Date, primary_key=True),
    Column("records", Integer, nullable=False, comment="records of the day, cancelled ones included"),
    Column("done_visits", Integer, nullable=False, comment="completed visits: attendance 1, not deleted"),
    Column("clients_served", Integer, nullable=False, comment="distinct clients of the completed visits"),
    Column("service_revenue", Money, nullable=False, comment="Σ the completed visits' services' cost"),
    Column("paid_total", Money, nullable=False, comment="Σ the payments of the day's visits"),
    Column("paid_cash", Money, nullable=False),
    Column("paid_cashless", Money, nullable=False),
    Column(
        "paid_other", Money, nullable=False, comment="accounts of an unknown type or not in the catalogue"
    ),
    Column("average_check", Money, comment="service revenue ÷ completed visits; null without one"),
    Column("no_shows", Integer, nullable=False),
    Column("no_show_rate", Numeric(6, 4), comment="no-shows ÷ (completed visits + no-shows)"),
    Column("cancellations", Integer, nullable=False),
    Column("cancellation_rate", Numeric(6, 4), comment="cancelled (deleted) records ÷ records"),
    Column("online_visits", Integer, nullable=False),
    Column("online_share", Numeric(6, 4), comment="online bookings ÷ records not cancelled"),
    Column(
        "new_client_visits", Integer, nullable=False, comment="completed visits that are a client's first"
    ),
    Column("cash_in", Money, nullable=False, comment="Σ positive amounts of the cash ledger that day"),
    Column("cash_out", Money, nullable=False, comment="Σ negative amounts of the cash ledger that day (≤ 0)"),
    Column("refreshed_at", TimestampTZ, nullable=False),
    schema="marts",
)

staff_utilization_daily = Table(
    "staff_utilization_daily",
    metadata,
    Column("company_id", BigInteger, primary_key=True),
    Column("staff_id", BigInteger, primary_key=True),
    Column("date", Date, primary_key=True),
    Column("scheduled_minutes", Integer, nullable=False, comment="working intervals of the schedule"),
    Column("booked_minutes", Integer, nullable=False, comment="Σ durations of records not cancelled"),
    Column("done_minutes", Integer, nullable=False, comment="Σ durations of completed visits"),
    Column("occupancy", Numeric(12, 4), comment="booked ÷ scheduled; null when nothing was scheduled"),
    Column("revenue", Money, nullable=False, comment="Σ the completed visits' services' cost"),
    Column("revenue_per_scheduled_hour", Money, comment="revenue ÷ scheduled hours"),
    Column("api_busy_minutes", Integer, comment="busy intervals as the schedule endpoint reports them"),
    Column("refreshed_at", TimestampTZ, nullable=False),
    schema="marts",
)

client_lifecycle = Table(
    "client_lifecycle",
    metadata,
    Column("company_id", BigInteger, primary_key=True),
    Column("client_id", BigInteger, primary_key=True),
    Column("first_visit", Date, nullable=False, comment="first completed visit"),
    Column("last_visit", Date, nullable=False, comment="latest completed visit"),
    Column("visits", Integer, nullable=False, comment="completed visits"),
    Column("revenue", Money, nullable=False, comment="Σ the completed visits' services' cost"),
    Column("paid", Money, nullable=False, comment="Σ the payments of the client's records"),
    Column("no_shows", Integer, nullable=False),
    Column("bonus_balance", Money, nullable=False, comment="Σ the ledger for the client's records"),
    Column("first_visit_cohort", Date, nullable=False, comment="month of the first completed visit"),
    Column("as_of", Date, nullable=False, comment="the company's date the status was computed for"),
    Column("days_since_last_visit", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("refreshed_at", TimestampTZ, nullable=False),
    CheckConstraint("status IN ('new', 'returning', 'active', 'lost')", name="status_known"),
    schema="marts",
)

loyalty_liability = Table(
    "loyalty_liability",
    metadata,
    Column("company_id", BigInteger, primary_key=True),
    Column("date", Date, primary_key=True),
    Column("accrued", Money, nullable=False, comment="points accrued that day (positive record entries)"),
    Column(
        "reversed", Money, nullable=False, comment="points taken back that day (negative record entries, ≥ 0)"
    ),
    Column("outstanding", Money, nullable=False, comment="Σ of the ledger up to the end of that day"),
    Column("outstanding_roubles", Money, nullable=False, comment="outstanding × the rouble value of a point"),
    Column("refreshed_at", TimestampTZ, nullable=False),
    Column("opening", Money, nullable=False, comment="outstanding at the end of the day before"),
    Column("spent", Money, nullable=False, comment="points spent that day (spends and captured holds, ≥ 0)"),
    Column("expired", Money, nullable=False, comment="points expired that day (≥ 0)"),
    Column(
        "closing",
        Money,
        nullable=False,
        comment="opening + accrued − reversed − spent − expired (= outstanding)",
    ),
    Column(
        "redemption_rate",
        Numeric(6, 4),
        nullable=False,
        comment="expected share of outstanding points to be spent (docs/loyalty.md)",
    ),
    Column("liability_roubles", Money, nullable=False, comment="closing × point value × redemption_rate"),
    schema="marts",
)

# Fields the API added, dropped or retyped against what a stream declares (validation/drift.py): one row
# per company, stream, field and change, reported by the `…_schema_drift` checks; a load never waits on it.
schema_drift = Table(
    "schema_drift",
    metadata,
    Column("company_id", BigInteger, primary_key=True, comment="The YClients company (salon) id"),
    Column("stream", Text, primary_key=True, comment="The stream whose items were read (records, services…)"),
    Column(
        "field",
        Text,
        primary_key=True,
        comment="The item's top-level field (cleaned of NUL and lone surrogates, ≤ 200 characters)",
    ),
    Column(
        "change",
        Text,
        primary_key=True,
        comment="added (undeclared), dropped (in no item of a read) or retyped (an undeclared kind)",
    ),
    Column(
        "kinds",
        Text,
        nullable=False,
        comment="JSON kinds seen by the latest read that saw it, comma-separated; empty when dropped",
    ),
    Column(
        "expected",
        Text,
        nullable=False,
        comment="The JSON kinds the stream declares, comma-separated; empty when added",
    ),
    Column(
        "example",
        Text,
        nullable=False,
        comment="A short repr of one value (≤ 200 characters, no personal field); empty when dropped",
    ),
    Column(
        "first_seen_at",
        TimestampTZ,
        nullable=False,
        server_default=func.now(),
        comment="When a read first saw the drift",
    ),
    Column("last_seen_at", TimestampTZ, nullable=False, comment="When a read last saw the drift"),
    Column(
        "seen_count", BigInteger, nullable=False, server_default="1", comment="How many reads saw the drift"
    ),
    Column("first_run_id", Text, comment="The Dagster run whose read first saw it"),
    Column("last_run_id", Text, comment="The Dagster run whose read last saw it"),
    Column(
        "resolved_at",
        TimestampTZ,
        comment="When a later whole read no longer saw it; null while open (a sighting reopens it)",
    ),
    CheckConstraint("change IN ('added', 'dropped', 'retyped')", name="change_known"),
    schema="yclients",
)
