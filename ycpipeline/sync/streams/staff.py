"""Staff of a company (`GET /company/{id}/staff`, yclientsru.apib:4094): the whole list in one response,
with booking links for the app; fired and hidden flags kept. Staff the list no longer holds get
`removed_at`, only when the list is known whole."""

from __future__ import annotations

from ycpipeline.normalize.catalog import staff_row
from ycpipeline.sync.declaration import FLAG, ID, TEXT, UNLISTED, Spec, Stream, read_listing
from ycpipeline.validation.models import StaffRow
from ycpipeline.warehouse.schema import staff

STAFF = Stream(
    Spec("staff", staff, ("company_id", "staff_id"), StaffRow),
    asset="yclients_staff",
    fields={
        "id": ID,
        "name": TEXT,
        "specialization": TEXT,
        "fired": FLAG,
        "hidden": FLAG,
    },
    # Current answers add the first five to the description's fields (read when present).
    documented=frozenset(
        {
            "is_fired",
            "is_deleted",
            "dismissal_date",
            "dismissal_reason",
            "status",
            "api_id",
            "avatar",
            "avatar_big",
            "comments_count",
            "company_id",
            "image_group",
            "information",
            "position",
            "rating",
            "show_rating",
            "user_id",
            "votes_count",
            "weight",
            "bookable",
            "prepaid",
            "seance_step",
            "seance_search_step",
            "seance_search_start",
            "seance_search_finish",
            "schedule_till",
            "employee_id",
            "is_bookable",
            "is_online",
            "user",
        }
    ),
    read=lambda job: read_listing(
        lambda: job.client.staff_listing(job.company_id), f"staff of company {job.company_id}"
    ),
    row=lambda item, job: staff_row(
        item, job.company_id, job.now, job.options.booking_form_url, job.options.staff_link_template
    ),
    retire=UNLISTED,
    cadence="catalogue",
    domain="catalog",
    description="Staff of each company (yclients.staff), with booking links; fired and hidden flags kept. "
    "Full refresh per company.",
)
