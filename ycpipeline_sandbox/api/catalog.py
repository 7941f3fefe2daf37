"""Services (yclientsru.apib:2929), staff (:4062) and service categories (:2636), each under its current
path and its legacy one (`/services/{id}`, `/staff/{id}`, `/service_categories/{id}`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ycpipeline_sandbox import envelopes
from ycpipeline_sandbox.api.common import API_PREFIX, admitted_company, list_answer, path_int
from ycpipeline_sandbox.personal import staff_with_personal_fields

if TYPE_CHECKING:
    from ycpipeline_sandbox.app import Sandbox

LEGACY_STAFF_FIELDS = (
    "id",
    "api_id",
    "name",
    "specialization",
    "position",
    "show_rating",
    "rating",
    "votes_count",
    "avatar",
    "avatar_big",
    "comments_count",
    "weight",
    "information",
    "hidden",
    "fired",
    "status",
    "image_group",
)


def legacy_staff(member: dict[str, Any]) -> dict[str, Any]:
    """A staff member as the legacy `/staff/{id}` answers: its fields, numbers as strings (yclientsru.apib:4185)."""
    return {
        key: str(member[key])
        if isinstance(member[key], int | float) and not isinstance(member[key], bool)
        else member[key]
        for key in LEGACY_STAFF_FIELDS
    }


def _int_filter(request: Request, name: str) -> int | Response | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.strip().isdigit():
        return envelopes.bad_filter(f"{name}: не целое число")
    return int(raw)


def routes(box: Sandbox) -> list[Route]:
    """Every catalogue route."""

    def collection(
        *,
        needs_user: bool,
        listing: Callable[[int, Request], list[dict[str, Any]] | Response],
        single: Callable[[int, int | None], dict[str, Any] | Response],
        item_param: str,
        current: bool,
    ) -> Callable[[Request], Any]:
        async def handler(request: Request) -> Response:
            company_id = await admitted_company(box, request, needs_user=needs_user)
            if isinstance(company_id, Response):
                return company_id
            if item_param in request.path_params:
                item_id = path_int(request, item_param)
                found = single(company_id, item_id)
                return found if isinstance(found, Response) else envelopes.success(found)
            items = listing(company_id, request)
            if isinstance(items, Response):
                return items
            # The current paths count their items in `meta`; the legacy ones send `meta: []`.
            return list_answer(box, items, {"total_count": len(items)} if current else None)

        return handler

    def services(company_id: int, request: Request) -> list[dict[str, Any]] | Response:
        staff_id, category_id = _int_filter(request, "staff_id"), _int_filter(request, "category_id")
        for given in (staff_id, category_id):
            if isinstance(given, Response):
                return given
        return [
            s
            for s in box.state.services(company_id)
            if (staff_id is None or any(int(m["id"]) == staff_id for m in s["staff"]))
            and (category_id is None or int(s["category_id"]) == category_id)
        ]

    def service(company_id: int, service_id: int | None) -> dict[str, Any] | Response:
        if service_id is None:
            return envelopes.failure(404, envelopes.SERVICE_MISSING)
        found = box.state.service(company_id, service_id)
        return found if found is not None else envelopes.failure(404, envelopes.SERVICE_NOT_FOUND)

    def staff(company_id: int, request: Request) -> list[dict[str, Any]]:
        members = box.state.staff(company_id)
        return [staff_with_personal_fields(m) for m in members] if box.config.personal_fields else members

    def staff_member(company_id: int, staff_id: int | None) -> dict[str, Any] | Response:
        if staff_id is None:
            return envelopes.failure(404, envelopes.STAFF_MISSING)
        found = box.state.staff_member(company_id, staff_id)
        if found is None:
            message = envelopes.STAFF_NOT_FOUND.format(staff_id=staff_id, company_id=company_id)
            return envelopes.failure(404, message)
        return staff_with_personal_fields(found) if box.config.personal_fields else found

    def legacy_staff_list(company_id: int, request: Request) -> list[dict[str, Any]]:
        return [legacy_staff(m) for m in box.state.staff(company_id)]

    def legacy_staff_member(company_id: int, staff_id: int | None) -> dict[str, Any] | Response:
        found = staff_member(company_id, staff_id)
        return found if isinstance(found, Response) else legacy_staff(found)

    def categories(company_id: int, request: Request) -> list[dict[str, Any]] | Response:
        staff_id = _int_filter(request, "staff_id")
        if isinstance(staff_id, Response):
            return staff_id
        return [
            c for c in box.state.service_categories(company_id) if staff_id is None or staff_id in c["staff"]
        ]

    def category(company_id: int, category_id: int | None) -> dict[str, Any] | Response:
        found = next((c for c in box.state.service_categories(company_id) if c["id"] == category_id), None)
        return found if found is not None else envelopes.failure(404, envelopes.CATEGORY_NOT_FOUND)

    p = API_PREFIX
    current_services = collection(
        needs_user=True, listing=services, single=service, item_param="service_id", current=True
    )
    legacy_services = collection(
        needs_user=True, listing=services, single=service, item_param="service_id", current=False
    )
    current_staff = collection(
        needs_user=False, listing=staff, single=staff_member, item_param="staff_id", current=True
    )
    old_staff = collection(
        needs_user=False,
        listing=legacy_staff_list,
        single=legacy_staff_member,
        item_param="staff_id",
        current=False,
    )
    current_categories = collection(
        needs_user=False, listing=categories, single=category, item_param="id", current=True
    )
    legacy_categories = collection(
        needs_user=False, listing=categories, single=category, item_param="id", current=False
    )
    return [
        Route(p + "/company/{company_id}/services", current_services),
        Route(p + "/company/{company_id}/services/{service_id}", current_services),
        Route(p + "/services/{company_id}", legacy_services),
        Route(p + "/services/{company_id}/{service_id}", legacy_services),
        Route(p + "/company/{company_id}/staff", current_staff),
        Route(p + "/company/{company_id}/staff/{staff_id}", current_staff),
        Route(p + "/staff/{company_id}", old_staff),
        Route(p + "/staff/{company_id}/{staff_id}", old_staff),
        Route(p + "/company/{company_id}/service_categories", current_categories),
        Route(p + "/company/{company_id}/service_categories/{id}", current_categories),
        Route(p + "/service_categories/{company_id}", legacy_categories),
        Route(p + "/service_categories/{company_id}/{id}", legacy_categories),
        Route(p + "/service_category/{company_id}/{id}", legacy_categories),
    ]
