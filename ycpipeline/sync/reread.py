"""Records re-read by id (`GET /record/{company_id}/{record_id}`), each answer checked against what was asked.

A window refresh re-reads the records it no longer lists, change capture the ones webhooks report
deleted. An answer that is no object, or one about another record (its `id` is not the id asked for)
or another company (its `company_id`, when sent, differs), is never written: merged by its own key it
would overwrite that other record with what may be this one's content, and read as "gone" it would mark
the record asked for deleted. It is refused with the reason, kept in `yclients.rejected_rows` (entity
`records`, keyed by the id asked for), and the record asked for stays as
stored: neither updated nor marked deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ycpipeline.client import YClientsClient
from ycpipeline.normalize.values import raw_json, show, to_int
from ycpipeline.validation.quarantine import Rejected


@dataclass
class Reread:
    """What re-reading records by id found: the records asked for, the ids gone, the answers refused."""

    found: list[dict[str, Any]] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)
    refused: list[Rejected] = field(default_factory=list)
    requests: int = 0


def answer_problems(answer: Any, company_id: int, record_id: int) -> list[str]:
    """Why a one-record answer is not the record asked for (empty when it is)."""
    if not isinstance(answer, dict):
        return [f"the answer {show(answer)} is not a record object (record {record_id} was asked for)"]
    problems = []
    if to_int(answer.get("id")) != record_id:
        problems.append(
            f"id: the answer is record {show(answer.get('id'))}, not record {record_id} asked for"
        )
    if answer.get("company_id") is not None and to_int(answer.get("company_id")) != company_id:
        problems.append(
            f"company_id: the answer is of company {show(answer.get('company_id'))}, "
            f"not company {company_id} asked for"
        )
    return problems


def reread_records(client: YClientsClient, company_id: int, record_ids: Iterable[int]) -> Reread:
    """Read each record by id (with its payments); sort the answers into found, gone and refused."""
    result = Reread()
    for record_id in record_ids:
        answer = client.get_record(company_id, record_id, include_finance_transactions=True)
        result.requests += 1
        if answer is None:
            result.gone.append(record_id)
            continue
        problems = answer_problems(answer, company_id, record_id)
        if problems:
            result.refused.append(Rejected("records", company_id, str(record_id), problems, raw_json(answer)))
        else:
            result.found.append(answer)
    return result
