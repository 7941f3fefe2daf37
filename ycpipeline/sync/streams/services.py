"""Services of a company (`GET /company/{id}/services`, yclientsru.apib:2968): the whole list in one
response, with booking links for the app. Services the list no longer holds get `removed_at`, only when the
list is known whole (its distinct ids reach its `total_count`)."""

from __future__ import annotations

from ycpipeline.normalize.catalog import service_row
from ycpipeline.sync.declaration import (
    FLAG,
    ID,
    NUMBER,
    OPTIONAL_ID,
    TEXT,
    UNLISTED,
    Spec,
    Stream,
    read_listing,
)
from ycpipeline.validation.models import ServiceRow
from ycpipeline.warehouse.schema import services

SERVICES = Stream(
    Spec("services", services, ("company_id", "service_id"), ServiceRow),
    asset="yclients_services",
    fields={
        "id": ID,
        "title": TEXT,
        "category_id": OPTIONAL_ID,
        "price_min": NUMBER,
        "price_max": NUMBER,
        "active": FLAG | {"null"},
    },
    documented=frozenset(
        {
            "salon_service_id",
            "api_id",
            "weight",
            "staff",
            "comment",
            "discount",
            "image_group",
            "booking_title",
            "prepaid",
            "service_type",
            "is_multi",
            "seance_length",
            "abonement_restriction",
            "tax_variant",
            "vat_id",
            "is_chain",
            "is_online",
            "is_composite",
            "resources",
            "online_invoicing_status",
            "price_prepaid_amount",
            "price_prepaid_percent",
        }
    ),
    read=lambda job: read_listing(
        lambda: job.client.services_listing(job.company_id), f"services of company {job.company_id}"
    ),
    row=lambda item, job: service_row(
        item, job.company_id, job.now, job.options.booking_form_url, job.options.service_link_template
    ),
    retire=UNLISTED,
    cadence="catalogue",
    domain="catalog",
    description="Services of each company (yclients.services), with booking links; services the API no "
    "longer lists get `removed_at`. Full refresh per company.",
)
