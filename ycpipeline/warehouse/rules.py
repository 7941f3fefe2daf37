"""Business rules over warehouse rows, written once in SQL and shared by the ledger, reports and marts."""

from __future__ import annotations


def completed_visit(alias: str = "") -> str:
    """SQL: the record is a completed visit (the client came, `attendance = 1`, and it is not deleted).

    `alias` is the table alias or name of a row of `yclients.records` (or of a query carrying its
    `attendance` and `deleted` columns); empty for an unqualified reference.
    """
    p = f"{alias}." if alias else ""
    return f"({p}attendance = 1 AND NOT {p}deleted)"
