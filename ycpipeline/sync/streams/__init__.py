"""One module per stream, each holding its declaration (`sync.declaration.Stream`); `STREAMS` lists them
all. The records, with their passes, change capture and payments, are loaded by `sync.records` and
`sync.changes`."""

from ycpipeline.sync.streams.cash_ledger import CASH_LEDGER
from ycpipeline.sync.streams.clients import CLIENT_CHANGES, CLIENTS
from ycpipeline.sync.streams.goods_transactions import GOODS_TRANSACTIONS
from ycpipeline.sync.streams.payment_accounts import PAYMENT_ACCOUNTS
from ycpipeline.sync.streams.service_categories import SERVICE_CATEGORIES
from ycpipeline.sync.streams.services import SERVICES
from ycpipeline.sync.streams.staff import STAFF
from ycpipeline.sync.streams.staff_schedules import SCHEDULES

STREAMS = (
    SERVICES,
    STAFF,
    SERVICE_CATEGORIES,
    PAYMENT_ACCOUNTS,
    CLIENTS,
    CLIENT_CHANGES,
    CASH_LEDGER,
    GOODS_TRANSACTIONS,
    SCHEDULES,
)
