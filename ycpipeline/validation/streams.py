"""pandera models of the streams beside the records: the domain rules a row must satisfy to be loaded.

Column types (bigint ids, numeric(12,2) money, text without NUL) are checked against the tables
themselves by `validation.quarantine.validate_rows(table=…)`; these models add what the types cannot say.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from ycpipeline.normalize.streams import MINUTES_PER_DAY
from ycpipeline.validation.models import EARLIEST_VISIT, LATEST_VISIT
from ycpipeline.validation.sqltypes import BIGINT_MAX


def _is_id(value: object) -> bool:
    # Id columns arrive as nullable Int64 (numpy integers) or as Python objects (`quarantine.to_frame`).
    return (
        isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 < int(value) <= BIGINT_MAX
    )


def _positive_ids(series: pd.Series) -> pd.Series:
    return series.map(_is_id, na_action=None)


def _dates_in_range(series: pd.Series, *, nullable: bool) -> pd.Series:
    return series.map(
        lambda v: (nullable and v is None) or (isinstance(v, date) and EARLIEST_VISIT <= v <= LATEST_VISIT)
    )


def _moments_in_range(series: pd.Series) -> pd.Series:
    # A payment dated in 1900 or 9999 is a broken value, not a payment: the same bounds as a visit's date.
    return series.map(lambda v: isinstance(v, datetime) and EARLIEST_VISIT <= v.date() <= LATEST_VISIT)


def _non_empty_text(series: pd.Series) -> pd.Series:
    return series.map(lambda v: isinstance(v, str) and bool(v.strip()))


class _StreamRow(pa.DataFrameModel):
    """What every stream model shares: other columns pass through, values are coerced to the fields."""

    class Config:
        strict = False
        coerce = True


class ServiceCategoryRow(_StreamRow):
    """A row of `yclients.service_categories`."""

    category_id: Series[object]
    title: Series[object]

    @pa.check("category_id", name="an id > 0")
    def _id(cls, series: pd.Series) -> pd.Series:
        return _positive_ids(series)

    @pa.check("title", name="non-empty text")
    def _title(cls, series: pd.Series) -> pd.Series:
        return _non_empty_text(series)


class PaymentAccountRow(_StreamRow):
    """A row of `yclients.payment_accounts`."""

    account_id: Series[object]
    title: Series[object]

    @pa.check("account_id", name="an id > 0")
    def _id(cls, series: pd.Series) -> pd.Series:
        return _positive_ids(series)

    @pa.check("title", name="non-empty text")
    def _title(cls, series: pd.Series) -> pd.Series:
        return _non_empty_text(series)


class PaymentRow(_StreamRow):
    """A row of `yclients.record_payments` (amounts keep their sign: a refund is negative)."""

    transaction_id: Series[object]
    record_id: Series[object]
    paid_at: Series[object] = pa.Field(nullable=False)

    @pa.check("transaction_id", name="an id > 0")
    def _id(cls, series: pd.Series) -> pd.Series:
        return _positive_ids(series)

    @pa.check("record_id", name="an id > 0")
    def _record(cls, series: pd.Series) -> pd.Series:
        return _positive_ids(series)

    @pa.check("paid_at", name=f"a moment between {EARLIEST_VISIT} and {LATEST_VISIT}")
    def _paid_at(cls, series: pd.Series) -> pd.Series:
        return _moments_in_range(series)


class CashTransactionRow(_StreamRow):
    """A row of `yclients.finance_transactions`."""

    transaction_id: Series[object]
    made_on: Series[object]

    @pa.check("transaction_id", name="an id > 0")
    def _id(cls, series: pd.Series) -> pd.Series:
        return _positive_ids(series)

    @pa.check("made_on", name=f"a date between {EARLIEST_VISIT} and {LATEST_VISIT}")
    def _day(cls, series: pd.Series) -> pd.Series:
        return _dates_in_range(series, nullable=False)


class GoodsTransactionRow(_StreamRow):
    """A row of `yclients.goods_transactions`."""

    transaction_id: Series[object]
    created_on: Series[object]

    @pa.check("transaction_id", name="an id > 0")
    def _id(cls, series: pd.Series) -> pd.Series:
        return _positive_ids(series)

    @pa.check("created_on", name=f"a date between {EARLIEST_VISIT} and {LATEST_VISIT}")
    def _day(cls, series: pd.Series) -> pd.Series:
        return _dates_in_range(series, nullable=False)


class ClientRow(_StreamRow):
    """A row of `yclients.clients`."""

    client_id: Series[object]
    first_visit_date: Series[object] = pa.Field(nullable=True)
    last_visit_date: Series[object] = pa.Field(nullable=True)

    @pa.check("client_id", name="an id > 0")
    def _id(cls, series: pd.Series) -> pd.Series:
        return _positive_ids(series)

    @pa.check("first_visit_date", name=f"a date between {EARLIEST_VISIT} and {LATEST_VISIT}, or none")
    def _first(cls, series: pd.Series) -> pd.Series:
        return _dates_in_range(series, nullable=True)

    @pa.check("last_visit_date", name=f"a date between {EARLIEST_VISIT} and {LATEST_VISIT}, or none")
    def _last(cls, series: pd.Series) -> pd.Series:
        return _dates_in_range(series, nullable=True)


class StaffScheduleRow(_StreamRow):
    """A row of `yclients.staff_schedules`: a day holds at most 24 hours of work."""

    staff_id: Series[object]
    work_date: Series[object]
    scheduled_minutes: Series[object]

    @pa.check("staff_id", name="an id > 0")
    def _id(cls, series: pd.Series) -> pd.Series:
        return _positive_ids(series)

    @pa.check("work_date", name=f"a date between {EARLIEST_VISIT} and {LATEST_VISIT}")
    def _day(cls, series: pd.Series) -> pd.Series:
        return _dates_in_range(series, nullable=False)

    @pa.check("scheduled_minutes", name=f"0 to {MINUTES_PER_DAY} minutes of work a day")
    def _minutes(cls, series: pd.Series) -> pd.Series:
        return series.map(lambda v: isinstance(v, (int, np.integer)) and 0 <= int(v) <= MINUTES_PER_DAY)
