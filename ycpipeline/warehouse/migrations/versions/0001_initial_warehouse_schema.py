"""initial warehouse schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 07:16:25.001908
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

BONUS_BALANCES_VIEW = """
CREATE OR REPLACE VIEW loyalty.bonus_balances AS
SELECT user_id,
       sum(amount) AS balance,
       sum(amount) FILTER (WHERE amount > 0) AS accrued_total,
       coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS reversed_total,
       max(created_at) AS last_entry_at
FROM loyalty.bonus_ledger
GROUP BY user_id
"""

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The app owns loyalty.app_users in production: create it only where it does not exist yet.
    if not sa.inspect(op.get_bind()).has_table("app_users", schema="loyalty"):
        _create_app_users()
    _create_pipeline_tables()
    op.execute(BONUS_BALANCES_VIEW)


def _create_app_users() -> None:
    op.create_table(
        "app_users",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("unique_code", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column(
            "created_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_app_users")),
        sa.UniqueConstraint("unique_code", name=op.f("uq_app_users_unique_code")),
        schema="loyalty",
    )


def _create_pipeline_tables() -> None:
    op.create_table(
        "bonus_ledger",
        sa.Column("entry_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("base_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("rate", sa.Numeric(precision=6, scale=4), nullable=False),
        sa.Column(
            "created_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('accrual', 'reversal', 'adjustment')", name=op.f("ck_bonus_ledger_kind_known")
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_bonus_ledger")),
        schema="loyalty",
    )
    op.create_index(
        op.f("ix_bonus_ledger_company_id_record_id"),
        "bonus_ledger",
        ["company_id", "record_id"],
        unique=False,
        schema="loyalty",
    )
    op.create_index(
        op.f("ix_bonus_ledger_user_id"), "bonus_ledger", ["user_id"], unique=False, schema="loyalty"
    )
    op.create_table(
        "record_services",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("service_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("cost", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("first_cost", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("discount", sa.Numeric(precision=7, scale=2), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("company_id", "record_id", "service_id", name=op.f("pk_record_services")),
        schema="yclients",
    )
    op.create_table(
        "records",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("starts_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.BigInteger(), nullable=True),
        sa.Column("client_id", sa.BigInteger(), nullable=True),
        sa.Column("client_name", sa.Text(), nullable=True),
        sa.Column("client_phone", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("attendance", sa.SmallInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("total_cost", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("changed_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("synced_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint("attendance IN (-1, 0, 1, 2)", name=op.f("ck_records_attendance_known")),
        sa.PrimaryKeyConstraint("company_id", "record_id", name=op.f("pk_records")),
        schema="yclients",
    )
    op.create_index(
        op.f("ix_records_client_phone"), "records", ["client_phone"], unique=False, schema="yclients"
    )
    op.create_index(
        op.f("ix_records_company_id_visit_date"),
        "records",
        ["company_id", "visit_date"],
        unique=False,
        schema="yclients",
    )
    op.create_index(op.f("ix_records_synced_at"), "records", ["synced_at"], unique=False, schema="yclients")
    op.create_table(
        "rejected_rows",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=True),
        sa.Column("source_key", sa.Text(), nullable=True),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column(
            "rejected_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_rows")),
        schema="yclients",
    )
    op.create_index(
        op.f("ix_rejected_rows_entity_rejected_at"),
        "rejected_rows",
        ["entity", "rejected_at"],
        unique=False,
        schema="yclients",
    )
    op.create_table(
        "services",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("service_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("price_min", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("price_max", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("booking_url", sa.Text(), nullable=True),
        sa.Column("removed_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("synced_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("company_id", "service_id", name=op.f("pk_services")),
        schema="yclients",
    )
    op.create_table(
        "staff",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("staff_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("specialization", sa.Text(), nullable=True),
        sa.Column("fired", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("booking_url", sa.Text(), nullable=True),
        sa.Column("removed_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("synced_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("company_id", "staff_id", name=op.f("pk_staff")),
        schema="yclients",
    )
    op.create_table(
        "sync_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=True),
        sa.Column("window_start", sa.Date(), nullable=True),
        sa.Column("window_end", sa.Date(), nullable=True),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "finished_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_log")),
        schema="yclients",
    )
    op.create_index(
        op.f("ix_sync_log_entity_finished_at"),
        "sync_log",
        ["entity", "finished_at"],
        unique=False,
        schema="yclients",
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS loyalty.bonus_balances")
    op.drop_index(op.f("ix_sync_log_entity_finished_at"), table_name="sync_log", schema="yclients")
    op.drop_table("sync_log", schema="yclients")
    op.drop_table("staff", schema="yclients")
    op.drop_table("services", schema="yclients")
    op.drop_index(op.f("ix_rejected_rows_entity_rejected_at"), table_name="rejected_rows", schema="yclients")
    op.drop_table("rejected_rows", schema="yclients")
    op.drop_index(op.f("ix_records_synced_at"), table_name="records", schema="yclients")
    op.drop_index(op.f("ix_records_company_id_visit_date"), table_name="records", schema="yclients")
    op.drop_index(op.f("ix_records_client_phone"), table_name="records", schema="yclients")
    op.drop_table("records", schema="yclients")
    op.drop_table("record_services", schema="yclients")
    op.drop_index(op.f("ix_bonus_ledger_user_id"), table_name="bonus_ledger", schema="loyalty")
    op.drop_index(op.f("ix_bonus_ledger_company_id_record_id"), table_name="bonus_ledger", schema="loyalty")
    op.drop_table("bonus_ledger", schema="loyalty")
