"""The shape of a YClients webhook event, and its content hash (YClients sends no event id)."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Resource = Literal[
    "company",
    "service_category",
    "service",
    "staff",
    "client",
    "record",
    "goods_operation",
    "finances_operation",
]


class WebhookEvent(BaseModel):
    """One event: `{"company_id", "resource", "resource_id", "status", "data"}`; unknown fields kept."""

    model_config = ConfigDict(extra="allow")

    company_id: int = Field(gt=0)
    resource: Resource
    resource_id: int = Field(ge=0)
    status: Literal["create", "update", "delete"]
    data: dict[str, Any] | list[Any] | None = None


def parse_events(body: Any) -> tuple[list[dict[str, Any]], str | None]:
    """Validate a single event or a list of them; returns (events, None) or ([], reason)."""
    items = body if isinstance(body, list) else [body]
    if not items:
        return [], "empty list of events"
    events = []
    for n, item in enumerate(items):
        try:
            events.append(WebhookEvent.model_validate(item).model_dump(mode="json"))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()
            )
            return [], f"event {n}: {problems}"
    return events, None


def event_hash(event: dict[str, Any]) -> str:
    """A stable hash of an event's content: the same event delivered twice hashes the same."""
    return hashlib.sha256(json.dumps(event, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
