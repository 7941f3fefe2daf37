"""The clients: each company's client cards (generated from the chain's people) and changes to them, which
the records show from then on."""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

from ycpipeline_sandbox import generator as gen
from ycpipeline_sandbox import salon
from ycpipeline_sandbox.state.listeners import Listeners


class Clients(Listeners):
    """The client cards and their changes."""

    def _init_clients(self) -> None:
        self._client_changes: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)

    def client(self, company_id: int, client_id: int) -> dict[str, Any] | None:
        """`GET /client/{company_id}/{id}` data (yclientsru.apib:5065), or None for an unknown client."""
        index = client_id - gen.client_id(self.company_indexes[company_id], self.people[0])
        if not 0 <= index < len(self.people):
            return None
        data = salon.client_card(self.people[index], client_id)
        with self._lock:
            data.update(copy.deepcopy(self._client_changes[company_id].get(client_id, {})))
        return data

    def update_client(self, company_id: int, client_id: int, **fields: Any) -> dict[str, Any]:
        """Change a client's card (e.g. `name`, `phone`): records show the new values from now on."""
        if self.client(company_id, client_id) is None:
            raise KeyError(f"client {client_id} of company {company_id} does not exist")
        with self._lock:
            self._client_changes[company_id].setdefault(client_id, {}).update(copy.deepcopy(fields))
            when = self._change_time(company_id, None)
            self._client_changes[company_id][client_id]["last_change_date"] = gen.fmt_offset(
                when, colon=False
            )
        client = self.client(company_id, client_id)
        assert client is not None
        self._emit(company_id, "client", client_id, "update", client)
        return client

    def _with_client_changes(self, company_id: int, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        changes = self._client_changes.get(company_id)
        if not changes:
            return records
        result = []
        for record in records:
            client = record.get("client")
            key = client.get("id") if isinstance(client, dict) else None
            change = changes.get(key) if isinstance(key, int) else None
            if change and isinstance(client, dict):
                fields = {k: v for k, v in change.items() if k in client}
                record = {**record, "client": {**client, **fields}}
            result.append(record)
        return result
