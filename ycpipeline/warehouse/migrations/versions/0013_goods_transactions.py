"""goods transactions: goods sold, used and received

Revision ID: 0013
Revises: 0012

- `yclients.goods_transactions`: one row per goods transaction of `GET /storages/transactions/{company_id}`
  (yclientsru.apib:16054-16128), keyed by company and transaction, indexed by company and creation day and
  by company and record. Nothing is filled: the next nightly run reads the last GOODS_DAYS_BACK days, then
  every change since.
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


# Column descriptions the UI shows beside each column's type (frozen here: schema.py holds them too).
COMMENTS = [
    ("company_id", "The YClients company (salon) id"),
    ("transaction_id", "The goods transaction's id in YClients"),
    ("document_id", "The document (sale, delivery) it belongs to"),
    ("type_id", "The operation type's id (1: a sale, 3: an arrival, …)"),
    ("type_title", "The operation type's name, as the API sends it"),
    ("good_id", "The good's id"),
    ("good_title", "The good's name"),
    ("storage_id", "The storage the goods left or entered"),
    (
        "quantity",
        "The API's amount: negative when goods leave the storage (a sale), positive when they arrive",
    ),
    ("cost_per_unit", "The price of one unit"),
    ("cost", "The transaction's cost after its discount"),
    ("discount", "The discount, as sent (the description does not say percent or amount)"),
    ("record_id", "The record (visit) a sale belongs to; null when none (sent as 0)"),
    ("service_id", "The service a sale or use is tied to"),
    ("staff_id", "The staff member (the API's master)"),
    ("supplier_id", "The supplier of an arrival"),
    ("client_id", "The client of a sale (the API's clients object)"),
    ("created_at", "When the transaction was made"),
    ("created_on", "The day it was made, in the company's own time zone"),
    ("changed_at", "When YClients last changed it (last_change_date)"),
    ("synced_at", "When this pipeline last wrote the row"),
    ("raw", "The item as the API sent it"),
]


def upgrade() -> None:
    op.execute("""
        CREATE TABLE yclients.goods_transactions (
            company_id bigint NOT NULL,
            transaction_id bigint NOT NULL,
            document_id bigint,
            type_id bigint,
            type_title text,
            good_id bigint,
            good_title text,
            storage_id bigint,
            quantity numeric(14, 3),
            cost_per_unit numeric(12, 2),
            cost numeric(12, 2),
            discount numeric(12, 2),
            record_id bigint,
            service_id bigint,
            staff_id bigint,
            supplier_id bigint,
            client_id bigint,
            created_at timestamptz NOT NULL,
            created_on date NOT NULL,
            changed_at timestamptz,
            synced_at timestamptz NOT NULL,
            raw jsonb NOT NULL,
            CONSTRAINT pk_goods_transactions PRIMARY KEY (company_id, transaction_id)
        )""")
    op.execute(
        "CREATE INDEX ix_goods_transactions_company_id_created_on"
        " ON yclients.goods_transactions (company_id, created_on)"
    )
    op.execute(
        "CREATE INDEX ix_goods_transactions_company_id_record_id"
        " ON yclients.goods_transactions (company_id, record_id)"
    )
    for column, comment in COMMENTS:
        quoted = comment.replace("'", "''")
        op.execute(f"COMMENT ON COLUMN yclients.goods_transactions.{column} IS '{quoted}'")


def downgrade() -> None:
    op.execute("DROP TABLE yclients.goods_transactions")
