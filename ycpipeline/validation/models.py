"""pandera models of the normalised rows: what a row must satisfy to be loaded."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

MAX_MONEY = Decimal("9999999999.99")  # numeric(12,2)
EARLIEST_VISIT = date(2000, 1, 1)
LATEST_VISIT = date(2100, 12, 31)
MAX_DURATION_SECONDS = 7 * 24 * 3600


def _money_ok(series: pd.Series, *, nullable: bool) -> pd.Series:
    return series.map(lambda v: (nullable and v is None) or (isinstance(v, Decimal) and 0 <= v <= MAX_MONEY))


class ServiceRow(pa.DataFrameModel):
    """A row of `yclients.services`."""

    service_id: Series[pd.Int64Dtype] = pa.Field(gt=0, nullable=False)
    title: Series[object] = pa.Field(nullable=False)
    active: Series[object] = pa.Field(nullable=False, isin=[True, False])

    @pa.check("title", name="non-empty text")
    def _title(cls, series: pd.Series) -> pd.Series:
        return series.map(lambda v: isinstance(v, str) and bool(v.strip()))

    @pa.dataframe_check(name="prices are money ≥ 0 (price_min, price_max)")
    def _prices(cls, df: pd.DataFrame) -> pd.Series:
        return (
            _money_ok(df["price_min"], nullable=True)
            & _money_ok(df["price_max"], nullable=True)
            & df["prices_ok"]
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
    "deleted",
    "staff_id",
    "lines_ok",
    "total_cost",
)


class RecordRow(pa.DataFrameModel):
    """A row of `yclients.records` (with `lines_ok` telling whether its service lines parsed)."""

    record_id: Series[pd.Int64Dtype] = pa.Field(gt=0, nullable=False)
    starts_at: Series[object] = pa.Field(nullable=False)
    visit_date: Series[object] = pa.Field(nullable=False)
    duration_seconds: Series[pd.Int64Dtype] = pa.Field(ge=0, le=MAX_DURATION_SECONDS, nullable=False)
    attendance: Series[pd.Int64Dtype] = pa.Field(isin=[-1, 0, 1, 2], nullable=False)
    deleted: Series[object] = pa.Field(nullable=False, isin=[True, False])
    staff_id: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    lines_ok: Series[bool] = pa.Field(isin=[True])

    @pa.check("visit_date", name=f"visit date between {EARLIEST_VISIT} and {LATEST_VISIT}")
    def _visit_date(cls, series: pd.Series) -> pd.Series:
        return series.map(lambda v: isinstance(v, date) and EARLIEST_VISIT <= v <= LATEST_VISIT)

    @pa.dataframe_check(name="total_cost is money ≥ 0 and every service line has cost ≥ 0 and amount ≥ 1")
    def _costs(cls, df: pd.DataFrame) -> pd.Series:
        return _money_ok(df["total_cost"], nullable=False) & df["lines_ok"]

    class Config:
        strict = False
        coerce = True
