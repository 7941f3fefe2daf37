"""Webhook events: the kinds YClients sends, the hooks-settings key that enables each, the body shape.

The body is `{"company_id", "resource", "resource_id", "status", "data"}` with `data` the API object
(yclientsru.apib:14666); the settings keys are those of `POST /hooks_settings` (yclientsru.apib:14683).
"""

from __future__ import annotations

import copy
from typing import Any, Literal

GoodsOperationKind = Literal[
    "goods_operations_sale",
    "goods_operations_receipt",
    "goods_operations_consumable",
    "goods_operations_stolen",
    "goods_operations_move",
]
EventStatus = Literal["create", "update", "delete"]

# resource → the hooks-settings flag that enables it (staff is `master`, the company is `salon`).
SETTINGS_KEY: dict[str, str] = {
    "company": "salon",
    "salon": "salon",
    "service_category": "service_category",
    "service": "service",
    "staff": "master",
    "good": "good",
    "client": "client",
    "record": "record",
    "goods_operations_sale": "goods_operations_sale",
    "goods_operations_receipt": "goods_operations_receipt",
    "goods_operations_consumable": "goods_operations_consumable",
    "goods_operations_stolen": "goods_operations_stolen",
    "goods_operations_move": "goods_operations_move",
    "finances_operation": "finances_operation",
}
SETTINGS_FLAGS = tuple(dict.fromkeys(SETTINGS_KEY.values()))

# Goods operation kinds: the document type id and title (yclientsru.apib:663; a move has no number there).
GOODS_OPERATION_TYPES: dict[str, tuple[int, str]] = {
    "goods_operations_sale": (1, "Продажа товара"),
    "goods_operations_consumable": (2, "Списание расходников"),
    "goods_operations_receipt": (3, "Приход товара"),
    "goods_operations_stolen": (4, "Списание товара"),
    "goods_operations_move": (0, "Перемещение товара"),
}


def default_hooks_settings() -> dict[str, Any]:
    """A company's settings before anyone configured them: no URL, nothing sent."""
    return {"urls": [], "active": 0, **dict.fromkeys(SETTINGS_FLAGS, 0)}


def make_event(
    company_id: int, resource: str, resource_id: int, status: EventStatus, data: dict[str, Any]
) -> dict[str, Any]:
    """One webhook body; `data` is copied so later changes to the object do not leak into it."""
    return {
        "company_id": company_id,
        "resource": resource,
        "resource_id": resource_id,
        "status": status,
        "data": copy.deepcopy(data),
    }
