"""Assets of the streams beside the records and the catalogue, one per declaration (`sync/streams/`):
service categories and payment accounts (nightly and with window refreshes), the nightly clients
snapshot, cash ledger, goods transactions and staff schedules, and the `client` webhook's refresh by id."""

from ycpipeline.defs.streams.factory import stream_asset
from ycpipeline.sync.streams import (
    CASH_LEDGER,
    CLIENT_CHANGES,
    CLIENTS,
    GOODS_TRANSACTIONS,
    PAYMENT_ACCOUNTS,
    SCHEDULES,
    SERVICE_CATEGORIES,
)

yclients_service_categories = stream_asset(SERVICE_CATEGORIES)
yclients_payment_accounts = stream_asset(PAYMENT_ACCOUNTS)
yclients_clients = stream_asset(CLIENTS)
yclients_client_changes = stream_asset(CLIENT_CHANGES)
yclients_cash_ledger = stream_asset(CASH_LEDGER)
yclients_goods_transactions = stream_asset(GOODS_TRANSACTIONS)
yclients_staff_schedules = stream_asset(SCHEDULES)
