"""The shape of a YClients webhook event, cleaned and split into what the queue accepts and refuses.

The documented fields are `company_id`, `resource`, `resource_id`, `status` and `data`
(yclientsru.apib:14655-14661); nothing documents an event id, so events are kept one row each and
identified by the database.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ycpipeline.normalize.personal import without_personal
from ycpipeline.validation.sqltypes import BIGINT_MAX

MAX_DEPTH = 64  # nesting of a body's JSON; YClients objects are a few levels deep
# The resources YClients sends events for (yclientsru.apib:14638-14652, 14680-14696). The settings call
# the company `salon` and staff `master`; events are documented with `company` and `staff`, and both
# spellings are taken.
# A `client` event refreshes that client (yclients.clients) beside the change capture of its company.
SYNCED_RESOURCES = frozenset(
    {"record", "service", "service_category", "staff", "master", "company", "salon", "client"}
)
KNOWN_RESOURCES = SYNCED_RESOURCES | {
    "good",
    "goods_operations_sale",
    "goods_operations_receipt",
    "goods_operations_consumable",
    "goods_operations_stolen",
    "goods_operations_move",
    "finances_operation",
}


class WebhookEvent(BaseModel):
    """One event: `{"company_id", "resource", "resource_id", "status", "data"}`; other fields are kept."""

    model_config = ConfigDict(extra="allow")

    company_id: int
    resource: str = Field(min_length=1, max_length=100)
    resource_id: int
    status: Literal["create", "update", "delete"]
    data: Any = None


@dataclass(frozen=True)
class AcceptedEvent:
    """An event for the queue: `pending`, or `ignored` at once when its resource is unknown."""

    company_id: int
    resource: str
    resource_id: int
    action: str
    body: dict[str, Any]
    body_hash: str
    status: Literal["pending", "ignored"] = "pending"
    reason: str | None = None


@dataclass(frozen=True)
class RefusedEvent:
    """An event of a list that cannot be queued (an id out of range), kept with the reason."""

    position: int
    reason: str
    body: dict[str, Any]
    company_id: int | None
    source_key: str | None


@dataclass
class ParsedBody:
    """What a request body holds: events to queue and events refused one by one."""

    accepted: list[AcceptedEvent] = field(default_factory=list)
    refused: list[RefusedEvent] = field(default_factory=list)


def _clean_text(text: str) -> str:
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (half an emoji, `\ud83d`) cannot be stored: each becomes U+FFFD.
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def clean(value: Any) -> Any:
    """The JSON value with NUL characters removed and lone surrogates replaced by U+FFFD, in every
    string: keys and values, at any depth (Postgres text and jsonb can hold neither)."""
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, dict):
        return {_clean_text(str(k)): clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """True when `value` nests more than `limit` levels (checked without recursion)."""
    level: list[Any] = [value]
    for _ in range(limit + 1):
        level = [
            child
            for node in level
            if isinstance(node, (dict, list))
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return False
    return True


def body_hash(body: Any) -> str:
    """A stable hash of an event's content: the same event delivered twice hashes the same."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _out_of_range(event: WebhookEvent) -> list[str]:
    return [
        f"{name} {value} is out of range (1 … 2^63−1)"
        for name, value in (("company_id", event.company_id), ("resource_id", event.resource_id))
        if not 0 < value <= BIGINT_MAX
    ]


def parse_body(body: Any) -> tuple[ParsedBody | None, str | None]:
    """Split one event or a list of them; returns (parsed, None), or (None, reason) for a body to refuse.

    A body is refused whole when an event lacks a field or has one of the wrong type (the sender is
    broken); an id out of range refuses that event only, so it never fails the others of its list.
    """
    if _deeper_than(body, MAX_DEPTH):
        return None, f"body nests deeper than {MAX_DEPTH} levels"
    items = body if isinstance(body, list) else [body]
    if not items:
        return None, "empty list of events"
    parsed = ParsedBody()
    for position, item in enumerate(items):
        # Stored bodies keep what the event sent, minus the personal fields of the deny-list.
        cleaned = without_personal(clean(item))
        try:
            event = WebhookEvent.model_validate(cleaned)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()
            )
            return None, f"event {position}: {problems}"
        out_of_range = _out_of_range(event)
        if out_of_range:
            parsed.refused.append(
                RefusedEvent(
                    position,
                    "; ".join(out_of_range),
                    cleaned,
                    event.company_id if 0 < event.company_id <= BIGINT_MAX else None,
                    str(event.resource_id)[:40],
                )
            )
            continue
        known = event.resource in KNOWN_RESOURCES
        parsed.accepted.append(
            AcceptedEvent(
                company_id=event.company_id,
                resource=event.resource,
                resource_id=event.resource_id,
                action=event.status,
                body=cleaned,
                body_hash=body_hash(cleaned),
                status="pending" if known else "ignored",
                reason=None if known else f"unknown resource {event.resource!r}",
            )
        )
    return parsed, None
