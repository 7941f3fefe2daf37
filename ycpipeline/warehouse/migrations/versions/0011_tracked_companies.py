"""the salons the pipeline syncs, kept in the warehouse

Revision ID: 0011
Revises: 0010

- `yclients.tracked_companies`: one row per company the pipeline syncs (`ycpipeline companies add`, or
  seeded from YCLIENTS_COMPANY_ID), with when and by what it was added, and `removed_at` once removed.
  A removed company keeps its rows in every table; it only stops being read. Companies that already
  have a watermark (an existing deployment) are seeded here, so nothing is re-read after the upgrade.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


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
        SELECT DISTINCT company_id, 'upgrade' FROM yclients.sync_state WHERE company_id > 0
        ON CONFLICT DO NOTHING""")


def downgrade() -> None:
    op.execute("DROP TABLE yclients.tracked_companies")
