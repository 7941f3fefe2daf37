"""Cash desks and accounts of a company (`GET /accounts/{id}`, yclientsru.apib:9357): the whole list in one
response, nightly and with every window refresh. Accounts no longer listed get `removed_at`."""

from __future__ import annotations

from ycpipeline.normalize.streams import payment_account_row
from ycpipeline.sync.declaration import ID, OPTIONAL_ID, TEXT, UNLISTED, Spec, Stream, read_listing
from ycpipeline.validation.streams import PaymentAccountRow
from ycpipeline.warehouse.schema import payment_accounts

PAYMENT_ACCOUNTS = Stream(
    Spec(
        "payment_accounts",
        payment_accounts,
        ("company_id", "account_id"),
        PaymentAccountRow,
    ),
    asset="yclients_payment_accounts",
    fields={"id": ID, "title": TEXT, "type": OPTIONAL_ID, "comment": TEXT},
    documented=frozenset({"is_cash", "is_default", "company_id", "balance", "is_deleted", "salon_id"}),
    read=lambda job: read_listing(
        lambda: job.client.accounts_listing(job.company_id), f"accounts of company {job.company_id}"
    ),
    row=lambda item, job: payment_account_row(item, job.company_id, job.now),
    retire=UNLISTED,
    cadence="nightly",
    domain="catalog",
    description="Cash desks and accounts of each company (yclients.payment_accounts, GET /accounts/{id}, "
    "yclientsru.apib:9357): `kind` cash or cashless as the API's `type` says. One request per company, "
    "nightly and with window refreshes.",
)
