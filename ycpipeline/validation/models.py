"""pandera models of the normalised rows: the domain rules a row must satisfy to be loaded.

Whether each value fits its column's SQL type (an id beyond bigint, a cost beyond numeric(12,2), text
with NUL) is checked apart, against the table itself (`validation.sqltypes`), so the bounds are written
once, in `warehouse/schema.py`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from ycpipeline.validation.sqltypes import misfits, table_fits
from ycpipeline.warehouse.schema import record_services

EARLIEST_VISIT = date(2000, 1, 1)
LATEST_VISIT = date(2100, 12, 31)
MAX_DURATION_SECONDS = 7 * 24 * 3600
ATTENDANCE = [-1, 0, 1, 2]  # yclientsru.apib:5369, the same scale for visit_attendance (:2120)
MAX_DISCOUNT_PERCENT = Decimal(100)  # a percentage: first_cost 9000, discount 50, cost 4500 (:5704)


def _money_not_negative(series: pd.Series, *, nullable: bool) -> pd.Series:
    return series.map(lambda v: (nullable and v is None) or (isinstance(v, Decimal) and v >= 0))


class ServiceRow(pa.DataFrameModel):
    """A row of `yclients.services`."""

    service_id: Series[pd.Int64Dtype] = pa.Field(gt=0, nullable=False)
    category_id: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    title: Series[object] = pa.Field(nullable=False)
    active: Series[object] = pa.Field(nullable=False, isin=[True, False])

    @pa.check("title", name="non-empty text")
    def _title(cls, series: pd.Series) -> pd.Series:
        return series.map(lambda v: isinstance(v, str) and bool(v.strip()))

    @pa.dataframe_check(name="prices are money ≥ 0 (price_min, price_max)")
    def _prices(cls, df: pd.DataFrame) -> pd.Series:
        return _money_not_negative(df["price_min"], nullable=True) & _money_not_negative(
            df["price_max"], nullable=True
        )

    class Config:
        strict = False
        coerce = True


class StaffRow(pa.DataFrameModel):
    """A row of `yclients.staff`."""

    staff_id: Series[pd.Int64Dtype] = pa.Field(gt=0, nullable=False)
    name: Series[object] = pa.Field(nullable=False)
    fired: Series[object] = pa.Field(nullable=False, isin=[True, False])
    hidden: Series[object] = pa.Field(nullable=False, isin=[True, False])
    deleted: Series[object] = pa.Field(nullable=False, isin=[True, False])

    class Config:
        strict = False
        coerce = True


# What RecordRow looks at: validating these columns only keeps the hot path lean.
RECORD_CHECKED_COLUMNS = (
    "record_id",
    "starts_at",
    "visit_date",
    "duration_seconds",
    "attendance",
    "visit_attendance",
    "deleted",
    "staff_id",
    "client_id",
    "visit_id",
    "created_user_id",
    "activity_id",
    "total_cost",
)


class RecordRow(pa.DataFrameModel):
    """A row of `yclients.records`."""

    record_id: Series[pd.Int64Dtype] = pa.Field(gt=0, nullable=False)
    starts_at: Series[object] = pa.Field(nullable=False)
    visit_date: Series[object] = pa.Field(nullable=False)
    duration_seconds: Series[pd.Int64Dtype] = pa.Field(ge=0, le=MAX_DURATION_SECONDS, nullable=False)
    attendance: Series[pd.Int64Dtype] = pa.Field(isin=ATTENDANCE, nullable=False)
    visit_attendance: Series[pd.Int64Dtype] = pa.Field(isin=ATTENDANCE, nullable=True)
    deleted: Series[object] = pa.Field(nullable=False, isin=[True, False])
    staff_id: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    client_id: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    visit_id: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    created_user_id: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    activity_id: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    total_cost: Series[object] = pa.Field(nullable=False)

    @pa.check("visit_date", name=f"visit date between {EARLIEST_VISIT} and {LATEST_VISIT}")
    def _visit_date(cls, series: pd.Series) -> pd.Series:
        return series.map(lambda v: isinstance(v, date) and EARLIEST_VISIT <= v <= LATEST_VISIT)

    @pa.check("total_cost", name="money ≥ 0 (the sum of the service lines' cost)")
    def _total_cost(cls, series: pd.Series) -> pd.Series:
        return _money_not_negative(series, nullable=False)

    class Config:
        strict = False
        coerce = True


# The record's own key is checked on the record; a line adds its service and its amounts.
LINE_FITS = table_fits(
    record_services,
    only=[c.name for c in record_services.columns if c.name not in ("company_id", "record_id")],
)


def service_line_problems(lines: list[dict[str, Any]]) -> list[str]:
    """Why a record's service lines cannot be loaded: domain rules and `record_services` column types."""
    problems = []
    for line in lines:
        label = f"services[id {line['service_id']}]"
        if line["cost"] < 0:
            problems.append(f"{label}.cost: {line['cost']} is negative")
        if line["amount"] < 1:
            problems.append(f"{label}.amount: {line['amount']} is not a quantity ≥ 1")
        if line["first_cost"] is not None and line["first_cost"] < 0:
            problems.append(f"{label}.first_cost: {line['first_cost']} is negative")
        discount = line["discount"]
        if discount is not None and not 0 <= discount <= MAX_DISCOUNT_PERCENT:
            problems.append(f"{label}.discount: {discount} is not a percentage 0…100")
        problems.extend(misfits(line, LINE_FITS, prefix=f"{label}."))
    return problems
