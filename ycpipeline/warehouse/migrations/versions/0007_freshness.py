"""change-capture watermark and company time zones

Revision ID: 0007
Revises: 0004

- `yclients.sync_state`: per company and stream, the change-capture watermark (every change up to it is
  in the warehouse) and the last reconciliation.
- `yclients.companies`: the company objects (time zone above all), so a tick need not ask for them.
"""

from alembic import op

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE yclients.sync_state (
            company_id bigint NOT NULL,
            stream text NOT NULL,
            watermark timestamptz,
            last_reconciled_at timestamptz,
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_sync_state PRIMARY KEY (company_id, stream)
        )""")
    op.execute("""
        CREATE TABLE yclients.companies (
            company_id bigint NOT NULL,
            title text,
            timezone_name text,
            utc_offset text,
            raw jsonb NOT NULL,
            synced_at timestamptz NOT NULL,
            CONSTRAINT pk_companies PRIMARY KEY (company_id)
        )""")


def downgrade() -> None:
    op.execute("DROP TABLE yclients.companies")
    op.execute("DROP TABLE yclients.sync_state")
