"""Knobs of the sandbox: tokens, limits, paging, and the behaviours the official description leaves open."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ycpipeline.sandbox.tokens import (
    DEFAULT_PARTNER_TOKEN,
    DEFAULT_USER_LOGIN,
    DEFAULT_USER_PASSWORD,
    DEFAULT_USER_TOKEN,
)


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
    # Per listing ("records", "transactions", "clients"), a page cap of its own: without one, /records
    # and /transactions cap at `page_size_cap`, the clients search at its documented 200.
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

    def page_cap(self, listing: str, default: int | None = None) -> int:
        """The largest page `listing` serves (`listing_page_caps`, else `default` or `page_size_cap`)."""
        return self.listing_page_caps.get(listing, self.page_size_cap if default is None else default)
