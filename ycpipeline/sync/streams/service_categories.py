"""Service categories of a company (`GET /company/{id}/service_categories`, yclientsru.apib:2667): the whole
list in one response, read with the catalogue's extras nightly and with every window refresh. Categories
no longer listed get `removed_at`."""

from __future__ import annotations

from ycpipeline.normalize.streams import service_category_row
from ycpipeline.sync.declaration import ID, OPTIONAL_ID, TEXT, UNLISTED, Spec, Stream, read_listing
from ycpipeline.validation.streams import ServiceCategoryRow
from ycpipeline.warehouse.schema import service_categories

SERVICE_CATEGORIES = Stream(
    Spec(
        "service_categories",
        service_categories,
        ("company_id", "category_id"),
        ServiceCategoryRow,
    ),
    asset="yclients_service_categories",
    fields={"id": ID, "title": TEXT, "salon_service_id": OPTIONAL_ID},
    documented=frozenset({"api_id", "weight", "staff"}),
    read=lambda job: read_listing(
        lambda: job.client.service_categories_listing(job.company_id),
        f"service categories of company {job.company_id}",
    ),
    row=lambda item, job: service_category_row(item, job.company_id, job.now),
    retire=UNLISTED,
    cadence="nightly",
    domain="catalog",
    description="Service categories of each company (yclients.service_categories, GET /company/{id}/"
    "service_categories, yclientsru.apib:2667): one request per company, nightly and with window refreshes; "
    "categories no longer listed get `removed_at`.",
)
