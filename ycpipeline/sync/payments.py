"""A record's payments, riding on the records calls (`include_finance_transactions=1`): no request of their own.

The records stager hands each chunk's raw records here: their `finance_transactions` become rows of
`yclients.record_payments`, staged beside the records and merged with them; each staged record's stored
payments are then made exactly the staged ones (a payment the API stopped listing is deleted), except
payments quarantined this time, whose stored version is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, text

from ycpipeline.normalize.streams import record_payment_rows
from ycpipeline.normalize.values import to_int
from ycpipeline.validation.quarantine import Rejected, rejected_ids, validate_rows
from ycpipeline.validation.streams import PaymentRow
from ycpipeline.warehouse.schema import record_payments
from ycpipeline.warehouse.upsert import copy_rows, create_stage, merge_stage

ENTITY = "record_payments"
FIELD = "finance_transactions"
COLUMNS = [c.name for c in record_payments.columns]
COMPARE = [c for c in COLUMNS if c not in ("company_id", "transaction_id", "synced_at")]


def without_payments(raw: Any) -> Any:
    """The record as stored in `yclients.records.raw`: its payments live in `record_payments.raw`, so a new
    payment does not rewrite the record (nor queue it for the ledger)."""
    if isinstance(raw, dict) and FIELD in raw:
        return {k: v for k, v in raw.items() if k != FIELD}
    return raw


@dataclass
class PaymentsStage:
    """The staging tables of one records load: the payments, and the records whose payments were listed."""

    conn: Connection
    company_id: int
    tz: tzinfo
    synced_at: datetime
    stage: str = ""
    listed: str = ""

    def __post_init__(self) -> None:
        self.stage = create_stage(self.conn, record_payments)
        self.listed = f"{self.stage}_listed"
        self.conn.execute(
            text(f"CREATE TEMP TABLE {self.listed} (record_id bigint PRIMARY KEY) ON COMMIT DROP")
        )

    def add(self, raw_records: Sequence[Any]) -> list[Rejected]:
        """Stage the payments of valid records (`raw_records` as the API sent them); returns the rejected."""
        rows: list[dict[str, Any]] = []
        listed: set[int] = set()
        for raw in raw_records:
            record_id = to_int(raw.get("id")) if isinstance(raw, dict) else None
            payments = record_payment_rows(raw, self.company_id, record_id, self.tz, self.synced_at)
            if payments is None or record_id is None:
                continue
            listed.add(record_id)
            rows.extend(payments)
        outcome = validate_rows(rows, PaymentRow, entity=ENTITY, key="transaction_id", table=record_payments)
        copy_rows(
            self.conn, self.stage, COLUMNS, ([rows[i][c] for c in COLUMNS] for i in outcome.valid_positions)
        )
        copy_rows(self.conn, self.listed, ["record_id"], ((r,) for r in sorted(listed)))
        return outcome.rejected

    def merge(self, rejected: Sequence[Rejected]) -> None:
        """Upsert the staged payments, delete what the listed records no longer hold (but the `rejected`
        payments of this load, whose stored version stays), empty the stage."""
        merge_stage(
            self.conn, record_payments, self.stage, keys=["company_id", "transaction_id"], compare=COMPARE
        )
        self.conn.execute(
            text(f"""
                DELETE FROM yclients.record_payments p
                USING {self.listed} l
                WHERE p.company_id = :c AND p.record_id = l.record_id
                  AND NOT EXISTS (SELECT 1 FROM {self.stage} s WHERE s.transaction_id = p.transaction_id)
                  AND NOT (p.transaction_id = ANY(:kept))
            """),
            {"c": self.company_id, "kept": rejected_ids([r for r in rejected if r.entity == ENTITY])},
        )
        self.conn.execute(text(f"TRUNCATE {self.stage}, {self.listed}"))
