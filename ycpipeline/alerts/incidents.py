"""Incidents: each alerted once while it lasts, and once more when it ends.

An incident is a key (e.g. `check:records_companies_ok:235564`) with the alert that opened it.
Each observation says which incidents hold now within its scope; `track` compares that with the open
ones and says which to announce and which have ended. The open incidents travel as JSON in a sensor's
cursor (or Dagster's key-value store), so a restarted daemon neither repeats nor forgets them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ycpipeline.alerts.messages import Alert


@dataclass(frozen=True)
class Incident:
    """An open incident: the alert that announced it, and when."""

    alert: Alert
    opened_at: str

    def to_json(self) -> str:
        """The incident as JSON (for a cursor or a key-value store)."""
        return json.dumps({"alert": self.alert.payload(), "opened_at": self.opened_at})

    @classmethod
    def from_json(cls, text: str) -> Incident:
        """The incident back from `to_json()`."""
        data = json.loads(text)
        return cls(Alert.from_payload(data["alert"]), data["opened_at"])


@dataclass
class Changes:
    """What one observation changes: alerts to send (openings, then recoveries) and the open incidents."""

    opened: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    still_open: dict[str, Incident] = field(default_factory=dict)

    @property
    def to_send(self) -> list[Alert]:
        """Every message this observation calls for."""
        return [*self.opened, *self.resolved]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def track(
    open_incidents: Mapping[str, Incident],
    observed: Mapping[str, Alert],
    in_scope: Callable[[str], bool] = lambda key: True,
    *,
    now: str | None = None,
) -> Changes:
    """Compare the open incidents with what holds now.

    `observed`: the incidents that hold now, by key. `in_scope`: which open keys this observation can
    speak for (a run that covered one company says nothing of another's incident); those it cannot
    stay open untouched.
    """
    opened_at = now or _now()
    changes = Changes()
    for key, incident in open_incidents.items():
        if key in observed or not in_scope(key):
            changes.still_open[key] = incident
        else:
            changes.resolved.append(incident.alert.recovered(incident.opened_at))
    for key, alert in observed.items():
        if key not in open_incidents:
            changes.opened.append(alert)
            changes.still_open[key] = Incident(alert, opened_at)
    return changes


def to_state(incidents: Mapping[str, Incident]) -> dict[str, Any]:
    """Open incidents as a JSON-ready document (a sensor's cursor holds it)."""
    return {key: json.loads(incident.to_json()) for key, incident in sorted(incidents.items())}


def from_state(state: Mapping[str, Any]) -> dict[str, Incident]:
    """Open incidents back from `to_state()`."""
    return {key: Incident.from_json(json.dumps(value)) for key, value in state.items()}
