"""Knobs of the sandbox: tokens, limits, paging, and the behaviours the official description leaves open."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ycpipeline_sandbox.tokens import (
    DEFAULT_PARTNER_TOKEN,
    DEFAULT_USER_LOGIN,
    DEFAULT_USER_PASSWORD,
    DEFAULT_USER_TOKEN,
)

ServedRoute = Literal["records", "record", "transactions", "goods_transactions"]


@dataclass(frozen=True)
class CompanyStatus:
    """How one company of a chain answers every request, while the others answer normally.

    `status` 401, 402, 403, 404 or 5xx; `message` defaults to the documented one for the status
    (402/403: "Необходимо продлить лицензию в филиале с id: …"); `envelope="error_code"` answers in the
    `{"error_code", "error_message"}` shape instead of `{"success": false, …}`.
    """

    status: int
    message: str | None = None
    envelope: Literal["v2", "error_code"] = "v2"


@dataclass
class SandboxConfig:
    """Knobs of the sandbox server; change them at run time with `Sandbox.reconfigure`."""

    partner_token: str = DEFAULT_PARTNER_TOKEN
    user_token: str = DEFAULT_USER_TOKEN
    user_login: str = DEFAULT_USER_LOGIN
    user_password: str = DEFAULT_USER_PASSWORD
    # The largest `count` honoured on /records (undocumented in the description: examples use 50 and 300).
    page_size_cap: int = 300
    # Per listing ("records", "transactions", "goods_transactions", "clients"), a page cap of its own:
    # without one, /records, /transactions and /storages/transactions cap at `page_size_cap`, the clients
    # search at its documented 200.
    listing_page_caps: dict[str, int] = field(default_factory=dict)
    rate_per_second: int | None = 5
    rate_per_minute: int | None = 200
    send_retry_after: bool = True
    latency: float = 0.0
    # How an offset-less `changed_after`/`changed_before` is read: the company's local time or UTC.
    changed_after_reading: Literal["local", "utc"] = "local"
    # Whether deleting a record bumps its `last_change_date` (every other change does).
    delete_bumps_change_time: bool = True
    # Per-company answers (401/402/403/404/5xx) for a chain where one company fails.
    company_status: dict[int, CompanyStatus] = field(default_factory=dict)
    # An empty list answered as `success: false` + "Не найдено" with this HTTP status (None: `data: []`).
    empty_list_status: int | None = None
    # The company object's `timezone`: the zone name (the description's example) or the hours offset.
    company_timezone: Literal["name", "offset"] = "name"
    # Whether `GET /company/{id}/staff/schedule` (not in the official description) is served; False: 404.
    company_staff_schedule: bool = True
    # The `resource` of company webhooks: "company" (the description) or "salon" (its settings key).
    company_webhook_resource: Literal["company", "salon"] = "company"
    # Fields replaced in objects as served, by route and object id: "records" (`GET /records/{company_id}`
    # lists), "record" (the one-record answer `GET /record/{company_id}/{record_id}`), "transactions"
    # (`GET /transactions/{company_id}` lists), "goods_transactions" (`GET /storages/transactions/…`
    # lists). Hostile values in a sound page (a `datetime` at the calendar's edge), or a one-record answer
    # about another record than the one asked for.
    served_fields: dict[ServedRoute, dict[int, dict[str, Any]]] = field(default_factory=dict)
    # Whether staff and client objects carry the personal fields third-party client schemas show
    # (passport, tax and insurance numbers, birth dates), which the warehouse must not keep.
    personal_fields: bool = False

    def served(self, route: ServedRoute, obj: dict[str, Any]) -> dict[str, Any]:
        """`obj` as `route` serves it: with the fields `served_fields` replaces for its id, if any."""
        by_id = self.served_fields.get(route)
        if not by_id:
            return obj
        # Ids are served as numbers or numeric strings (and hostile ones as anything): compare their text.
        changes = next((c for i, c in by_id.items() if str(i) == str(obj.get("id"))), None)
        return {**obj, **changes} if changes else obj

    def page_cap(self, listing: str, default: int | None = None) -> int:
        """The largest page `listing` serves (`listing_page_caps`, else `default` or `page_size_cap`)."""
        return self.listing_page_caps.get(listing, self.page_size_cap if default is None else default)
