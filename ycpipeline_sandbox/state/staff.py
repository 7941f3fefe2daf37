"""The staff of each company: the list the API serves (deleted and fired members included), their work
schedules, and changes to a member."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

from ycpipeline_sandbox import salon
from ycpipeline_sandbox.state.listeners import Listeners


class Staff(Listeners):
    """The chain's staff and their schedules."""

    def _init_staff(self) -> None:
        self._staff = {cid: copy.deepcopy(s.staff) for cid, s in self.salons.items()}

    def staff(self, company_id: int) -> list[dict[str, Any]]:
        """Staff as the API lists them, deleted and fired ones included (with their flags)."""
        with self._lock:
            return copy.deepcopy(self._staff[company_id])

    def staff_member(self, company_id: int, staff_id: int) -> dict[str, Any] | None:
        """One staff member, or None."""
        return next((s for s in self.staff(company_id) if s["id"] == staff_id), None)

    def schedule(self, company_id: int, staff_id: int, start: date, end: date) -> list[dict[str, Any]] | None:
        """`GET /schedule/…` data (yclientsru.apib:7497): each day of [start, end] with its working slots
        (none after a dismissal or a deletion), or None for an unknown staff member."""
        with self._lock:
            ordinal = next((n for n, m in enumerate(self._staff[company_id]) if m["id"] == staff_id), None)
            if ordinal is None:
                return None
            member = copy.deepcopy(self._staff[company_id][ordinal])
        left = date.fromisoformat(member["dismissal_date"]) if member.get("dismissal_date") else None
        days = []
        day = start
        while day <= end:
            slots = () if member["is_deleted"] or (left and day > left) else salon.shift(ordinal, day)
            days.append(
                {
                    "date": day.isoformat(),
                    "is_working": 1 if slots else 0,
                    "slots": [{"from": a, "to": b} for a, b in slots],
                }
            )
            day += timedelta(days=1)
        return days

    def update_staff(self, company_id: int, staff_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of a staff member; `fired=1` or `is_deleted=True` keep their twin fields in step
        (`is_fired`/`dismissal_date`, `status`), and a deletion is announced as `delete`."""
        if fields.get("fired"):
            fields = {"is_fired": True, "dismissal_date": self.anchor(company_id).isoformat(), **fields}
        if fields.get("is_deleted"):
            fields = {"status": 1, **fields}
        with self._lock:
            found = next(s for s in self._staff[company_id] if s["id"] == staff_id)
            found.update(copy.deepcopy(fields))
            member = copy.deepcopy(found)
        self._emit(company_id, "staff", staff_id, "delete" if member["is_deleted"] else "update", member)
        return member
