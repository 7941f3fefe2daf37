"""The companies and their catalogue: the company object, services and their categories, goods and their
stock operations, cash desks; each read as the API lists it, each change announced."""

from __future__ import annotations

import copy
import itertools
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from ycpipeline_sandbox import bodies, salon
from ycpipeline_sandbox import generator as gen
from ycpipeline_sandbox.events import GoodsOperationKind
from ycpipeline_sandbox.state.listeners import Listeners


class Catalogue(Listeners):
    """The company objects and catalogues of the chain, as generated plus the changes made since."""

    def _init_catalogue(self) -> None:
        self._services = {cid: copy.deepcopy(s.services) for cid, s in self.salons.items()}
        self._categories = {
            cid: salon.service_categories(self.params.seed, s.index) for cid, s in self.salons.items()
        }
        self._goods = {cid: copy.deepcopy(s.goods) for cid, s in self.salons.items()}
        self._company_changes: dict[int, dict[str, Any]] = defaultdict(dict)
        self._removed_services: dict[int, set[int]] = defaultdict(set)
        self._operation_ids = itertools.count(518_000_000)

    def company(self, company_id: int, *, for_booking: bool = False) -> dict[str, Any] | None:
        """The company object (`forBooking=1` adds the booking fields), or None for an unknown id."""
        shop = self.salons.get(company_id)
        if shop is None:
            return None
        next_slot = None
        if for_booking:
            tomorrow = datetime.combine(self.anchor(company_id) + timedelta(days=1), datetime.min.time())
            next_slot = gen.local_text(tomorrow.replace(hour=10))
        data = salon.company_object(
            shop.index, timezone_form=self.config.company_timezone, next_slot=next_slot
        )
        with self._lock:
            data.update(copy.deepcopy(self._company_changes.get(company_id, {})))
        return data

    def services(self, company_id: int) -> list[dict[str, Any]]:
        """Services currently listed by the API."""
        with self._lock:
            removed = self._removed_services[company_id]
            return [copy.deepcopy(s) for s in self._services[company_id] if int(s["id"]) not in removed]

    def service(self, company_id: int, service_id: int) -> dict[str, Any] | None:
        """One listed service, or None."""
        return next((s for s in self.services(company_id) if int(s["id"]) == service_id), None)

    def service_categories(self, company_id: int) -> list[dict[str, Any]]:
        """The company's service categories."""
        with self._lock:
            return copy.deepcopy(self._categories[company_id])

    def goods(self, company_id: int) -> list[dict[str, Any]]:
        """The company's goods."""
        with self._lock:
            return copy.deepcopy(self._goods[company_id])

    def accounts(self, company_id: int) -> list[dict[str, Any]]:
        """The company's cash desks and accounts."""
        return copy.deepcopy(self.salons[company_id].accounts)

    # -- changes ---------------------------------------------------------------------------------------

    def update_company(self, company_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of the company object (e.g. `title`, `phone`)."""
        with self._lock:
            self._company_changes[company_id].update(copy.deepcopy(fields))
            company = self.company(company_id)
        assert company is not None
        self._emit(company_id, "company", company_id, "update", company)
        return company

    def update_service(self, company_id: int, service_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of a service (e.g. `title`, `price_min`)."""
        with self._lock:
            found = next(s for s in self._services[company_id] if int(s["id"]) == service_id)
            found.update(copy.deepcopy(fields))
            service = copy.deepcopy(found)
        self._emit(company_id, "service", service_id, "update", service)
        return service

    def rename_service(self, company_id: int, service_id: int, title: str) -> None:
        """Change a service's title."""
        self.update_service(company_id, service_id, title=title)

    def remove_service(self, company_id: int, service_id: int) -> None:
        """Stop listing a service (as when it is deleted in YClients)."""
        with self._lock:
            self._removed_services[company_id].add(service_id)
            service = next(s for s in self._services[company_id] if int(s["id"]) == service_id)
        self._emit(company_id, "service", service_id, "delete", service)

    def restore_service(self, company_id: int, service_id: int) -> None:
        """List a removed service again."""
        with self._lock:
            self._removed_services[company_id].discard(service_id)
            service = next(s for s in self._services[company_id] if int(s["id"]) == service_id)
        self._emit(company_id, "service", service_id, "update", service)

    def update_service_category(self, company_id: int, category_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of a service category (e.g. `title`)."""
        with self._lock:
            found = next(c for c in self._categories[company_id] if c["id"] == category_id)
            found.update(copy.deepcopy(fields))
            category = copy.deepcopy(found)
        self._emit(company_id, "service_category", category_id, "update", category)
        return category

    def update_good(self, company_id: int, good_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of a good (e.g. `cost`)."""
        with self._lock:
            found = next(g for g in self._goods[company_id] if g["good_id"] == good_id)
            found.update(copy.deepcopy(fields))
            found["last_change_date"] = gen.fmt_offset(self._change_time(company_id, None), colon=False)
            good = copy.deepcopy(found)
        self._emit(company_id, "good", good_id, "update", good)
        return good

    def goods_operation(
        self, company_id: int, kind: GoodsOperationKind, good_id: int, amount: float, *, comment: str = ""
    ) -> list[dict[str, Any]]:
        """A stock operation on a good: sale, receipt, consumable or goods write-off, or a move (two
        operations on one document: out of one storage, into another). Returns the operations' data."""
        with self._lock:
            good = copy.deepcopy(next(g for g in self._goods[company_id] if g["good_id"] == good_id))
        when = self._change_time(company_id, None)
        operations = bodies.goods_operations(kind, good, amount, when, self._operation_ids, comment=comment)
        for operation in operations:
            self._emit(company_id, kind, operation["id"], "create", operation)
        return operations
