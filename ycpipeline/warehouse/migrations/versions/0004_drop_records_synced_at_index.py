"""drop the index on records.synced_at

Revision ID: 0004
Revises: 0003

The ledger reads its queue, not `synced_at`; the index only slowed every load down.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_records_synced_at", table_name="records", schema="yclients")


def downgrade() -> None:
    op.create_index("ix_records_synced_at", "records", ["synced_at"], schema="yclients")
