"""The sandbox's live data: generated history plus the changes made since, each announced to listeners.

Records are generated per day on demand (`generator`); a change keeps a full copy of the record it
touches, so generated days stay reproducible and memory grows only with edits. Every change to a
record bumps its `last_change_date` (a deletion only when `config.delete_bumps_change_time`), and every
change emits one webhook event per object it touches.

One part per job, each owning its own data: `chain` (the salons, their zones and "today", the clock),
`listeners` (who hears of changes, the webhook settings), `catalogue` (company, services, categories,
goods, cash desks), `staff` (members and schedules), `clients` (client cards), `records` (the records
served: by day, by change time, by id, payments), `record_changes` (edits, payments, bookings) and
`goods_transactions` (the goods sold in visits and delivered by suppliers, and their edits).
"""

from __future__ import annotations

from ycpipeline_sandbox import generator as gen
from ycpipeline_sandbox.config import SandboxConfig
from ycpipeline_sandbox.state.catalogue import Catalogue
from ycpipeline_sandbox.state.chain import parse_change_time
from ycpipeline_sandbox.state.goods_transactions import GoodsTransactions
from ycpipeline_sandbox.state.listeners import WebhookListener
from ycpipeline_sandbox.state.record_changes import RecordChanges
from ycpipeline_sandbox.state.records import visit_day
from ycpipeline_sandbox.state.staff import Staff

__all__ = ["SandboxState", "WebhookListener", "parse_change_time", "visit_day"]


class SandboxState(RecordChanges, GoodsTransactions, Catalogue, Staff):
    """A salon chain whose records are generated per day on demand and can be changed.

    `companies` is any number ≥ 1 (ids from 235564 up, mixed time zones); `days_back`/`days_ahead`
    bound the generated history around each company's `anchor`.
    """

    # Each part sets up its own data; `chain` first, as every other part reads the salons.
    def __init__(
        self,
        params: gen.GenerationParams | None = None,
        *,
        companies: int = 1,
        days_back: int = 120,
        days_ahead: int = 35,
        config: SandboxConfig | None = None,
    ) -> None:
        self._init_chain(
            params, companies=companies, days_back=days_back, days_ahead=days_ahead, config=config
        )
        self._init_listeners()
        self._init_catalogue()
        self._init_staff()
        self._init_clients()
        self._init_records()
        self._init_record_changes()
        self._init_goods_transactions()
