"""Goods sold, used and received, `GET /storages/transactions/{company_id}` (yclientsru.apib:16054-16128),
by change capture.

The first read of a company takes the transactions created in the last GOODS_DAYS_BACK days (`start_date`/
`end_date`); every later read asks for those changed or created since the last whole read (`changed_after`,
documented at :16065), whatever their date, an hour early (`OVERLAP`) for clock skew and late commits. The
watermark (`yclients.sync_state`, stream `goods_transactions`) moves to the read's start only after a whole
read, in the load's transaction: a read cut short, a feed that moved while paged
(`declaration.read_settled`) or a failed load is read again from the same point. Loads of one salon's stream take turns (`sync.loader`).

UNCERTAIN: the description does not say which date `start_date`/`end_date` filter on; the first read
takes what they return without quarantining rows created outside them (storing one more is harmless,
refusing one would lose it for good behind the watermark).

Nothing retires: a change feed lists only what changed, and the description says nothing of how a deleted
transaction shows (UNCERTAIN), so a deleted one keeps its last row.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Connection

from ycpipeline.normalize.streams import goods_transaction_row
from ycpipeline.sync.declaration import (
    ID,
    NEVER,
    NUMBER,
    OBJECT,
    OPTIONAL_ID,
    TEXT,
    CompanyRead,
    Read,
    Spec,
    Stream,
    read_settled,
)
from ycpipeline.sync.state import changed_after_value, read_state, write_state
from ycpipeline.validation.streams import GoodsTransactionRow
from ycpipeline.warehouse.schema import goods_transactions

STREAM = "goods_transactions"
OVERLAP = timedelta(hours=1)


def _read(job: CompanyRead) -> Read:
    what = f"goods transactions of company {job.company_id}"
    with job.engine.connect() as conn:
        watermark = read_state(conn, STREAM, job.company_id).watermark
    if watermark is None:
        start, end = job.today - timedelta(days=job.options.goods_days_back), job.today
        read = read_settled(
            lambda: job.client.goods_transactions_listing(job.company_id, start=start, end=end),
            f"{what} ({start}..{end})",
            (start, end),
        )
        read.notes["read"] = "first, by creation date"
        return read
    after = changed_after_value(watermark, job.tz, OVERLAP)
    read = read_settled(
        lambda: job.client.goods_transactions_listing(job.company_id, changed_after=after),
        f"{what} changed after {after.isoformat()}",
    )
    read.notes["changed_after"] = after.isoformat()
    return read


def _move_watermark(conn: Connection, job: CompanyRead, read: Read) -> None:
    """After a whole read that did not move while read, the next one starts from this read's start."""
    if read.complete and "feed" not in read.notes:
        write_state(conn, job.company_id, STREAM, watermark=job.now)


GOODS_TRANSACTIONS = Stream(
    Spec(
        STREAM,
        goods_transactions,
        ("company_id", "transaction_id"),
        GoodsTransactionRow,
    ),
    asset="yclients_goods_transactions",
    fields={
        "id": ID,
        "document_id": OPTIONAL_ID,
        "type_id": OPTIONAL_ID,
        "type": TEXT,
        "good": OBJECT,
        "storage": OBJECT,
        "amount": NUMBER,
        "cost_per_unit": NUMBER,
        "cost": NUMBER,
        "discount": NUMBER,
        "record_id": OPTIONAL_ID,
        "service": OBJECT,
        "master": OBJECT,
        "supplier": OBJECT,
        "clients": OBJECT,
        "create_date": TEXT,
        "last_change_date": TEXT,
    },
    documented=frozenset({"unit", "operation_unit_type"}),
    read=_read,
    row=lambda item, job: goods_transaction_row(item, job.company_id, job.tz, job.now),
    retire=NEVER,
    after_merge=_move_watermark,
    cadence="nightly",
    domain="goods",
    description="Goods sold, used and received by each company (yclients.goods_transactions, GET "
    "/storages/transactions/{id}, yclientsru.apib:16054): nightly, the first time the last GOODS_DAYS_BACK "
    "days by creation date, then every transaction changed or created since the last whole read.",
)
