"""Split rows into valid ones and rejected ones (with reasons).

A row is rejected for what normalisation found (its `problems`), for a value its column's SQL type cannot
store (`validation.sqltypes`), and for what the pandera model's domain rules refuse; every reason is kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors
from sqlalchemy import Table

from ycpipeline.validation.sqltypes import BIGINT_MAX, ColumnFit, misfits, table_fits

INT_COLUMNS = (
    "service_id",
    "staff_id",
    "record_id",
    "category_id",
    "duration_seconds",
    "attendance",
    "visit_attendance",
    "client_id",
    "visit_id",
    "created_user_id",
    "activity_id",
)


@dataclass
class Rejected:
    """A row that failed validation, ready for `yclients.rejected_rows`."""

    entity: str
    company_id: int | None
    source_key: str | None
    reasons: list[str]
    raw: str | None


def rejected_ids(rejected: Sequence[Rejected]) -> list[int]:
    """The source keys of rejected rows that could be ids of stored rows (digits that fit bigint)."""
    ids = (int(r.source_key) for r in rejected if r.source_key and r.source_key.isdigit())
    return [i for i in ids if i <= BIGINT_MAX]


@dataclass
class ValidationOutcome:
    """Valid rows (positions into the input) and the rejected ones."""

    valid_positions: list[int]
    rejected: list[Rejected] = field(default_factory=list)


def to_frame(rows: list[dict[str, Any]], only: Sequence[str] | None = None) -> pd.DataFrame:
    """Rows → a DataFrame with nullable integer columns, everything else kept as Python objects."""
    columns: dict[str, Any] = {}
    for column in only or [c for c in (rows[0] if rows else ()) if c != "problems"]:
        values = [row[column] for row in rows]
        if column in INT_COLUMNS:
            columns[column] = pd.array(
                [v if isinstance(v, int) and abs(v) < 2**63 else None for v in values], dtype="Int64"
            )
        elif all(isinstance(v, bool) for v in values):
            columns[column] = pd.array(values, dtype=bool)
        else:
            columns[column] = pd.array(values, dtype=object)
    return pd.DataFrame(columns)


@cache
def _fits(table: Table) -> list[ColumnFit]:
    return table_fits(table)


def validate_rows(
    rows: list[dict[str, Any]],
    model: type[pa.DataFrameModel] | pa.DataFrameSchema,
    *,
    entity: str,
    key: str,
    columns: Sequence[str] | None = None,
    table: Table | None = None,
) -> ValidationOutcome:
    """Validate lazily, collecting every failed check per row as a readable reason.

    `columns` limits the model's frame to what it checks (building the frame is most of the cost); a
    schema (`validation.streams.stream_rules`) checks only the columns it names, so they are its default.
    `table`, when given, has every value checked against its column's type.
    """
    if not rows:
        return ValidationOutcome([])
    reasons: dict[int, list[str]] = defaultdict(list)
    fits = _fits(table) if table is not None else []
    for i, row in enumerate(rows):
        found = [*row.get("problems", ()), *misfits(row, fits)]
        if found:
            reasons[i].extend(found)
    if columns is None and isinstance(model, pa.DataFrameSchema):
        columns = list(model.columns)
    frame = to_frame(rows, columns)
    try:
        model.validate(frame, lazy=True)
        cases = None
    except SchemaErrors as errors:
        cases = errors.failure_cases
    for case in () if cases is None else cases.itertuples(index=False):
        index = case.index
        if index is None or pd.isna(index):
            raise ValueError(f"{entity}: the frame itself failed validation: {case.check} on {case.column}")
        # Frame-wide checks name every column: report them once, by the check's own name.
        reason = (
            str(case.check) if case.schema_context == "DataFrameSchema" else f"{case.column}: {case.check}"
        )
        if reason not in reasons[int(index)]:
            reasons[int(index)].append(reason)
    rejected = [
        Rejected(
            entity=entity,
            company_id=rows[i].get("company_id"),
            source_key=str(rows[i][key]) if rows[i].get(key) is not None else None,
            reasons=reasons[i],
            raw=rows[i].get("raw"),
        )
        for i in sorted(reasons)
    ]
    return ValidationOutcome([i for i in range(len(rows)) if i not in reasons], rejected)
