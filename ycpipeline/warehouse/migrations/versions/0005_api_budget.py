"""the shared YClients API budget: reserved send times and the pause after a 429

Revision ID: 0005
Revises: 0004

Every process that calls YClients from this deployment reserves its send times in
`yclients.api_budget_slots` (a sliding log per budget key) and respects `yclients.api_budget.paused_until`,
set after a 429. The log is UNLOGGED: it holds the last two minutes only, so losing it in a server crash
costs at most one window, and it saves WAL on every request.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TIMESTAMP

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_budget",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("paused_until", TIMESTAMP(timezone=True), nullable=True),
        sa.Column("updated_at", TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_api_budget")),
        schema="yclients",
    )
    op.create_table(
        "api_budget_slots",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("slot_at", TIMESTAMP(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_budget_slots")),
        schema="yclients",
        prefixes=["UNLOGGED"],
    )
    op.create_index(
        op.f("ix_api_budget_slots_key_slot_at"), "api_budget_slots", ["key", "slot_at"], schema="yclients"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_api_budget_slots_key_slot_at"), table_name="api_budget_slots", schema="yclients")
    op.drop_table("api_budget_slots", schema="yclients")
    op.drop_table("api_budget", schema="yclients")
