"""pandera schemas of the streams beside the records: the domain rules a row must satisfy to be loaded.

Column types (bigint ids, numeric(12,2) money, text without NUL) are checked against the tables
themselves by `validation.quarantine.validate_rows(table=…)`; these schemas add what the types cannot say,
each built by `stream_rules` from the columns it checks and the rule each follows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime

import numpy as np
import pandas as pd
import pandera.pandas as pa

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


Rule = tuple[str, Callable[[pd.Series], pd.Series]]

POSITIVE_ID: Rule = ("an id > 0", _positive_ids)
NON_EMPTY_TEXT: Rule = ("non-empty text", _non_empty_text)
DAY: Rule = (
    f"a date between {EARLIEST_VISIT} and {LATEST_VISIT}",
    lambda series: _dates_in_range(series, nullable=False),
)
DAY_OR_NONE: Rule = (
    f"a date between {EARLIEST_VISIT} and {LATEST_VISIT}, or none",
    lambda series: _dates_in_range(series, nullable=True),
)
MOMENT: Rule = (f"a moment between {EARLIEST_VISIT} and {LATEST_VISIT}", _moments_in_range)
MINUTES_OF_A_DAY: Rule = (
    f"0 to {MINUTES_PER_DAY} minutes of work a day",
    lambda series: series.map(lambda v: isinstance(v, (int, np.integer)) and 0 <= int(v) <= MINUTES_PER_DAY),
)


def _column(rule: Rule) -> pa.Column:
    name, check = rule
    return pa.Column(object, checks=pa.Check(check, name=name), nullable=rule is DAY_OR_NONE)


def stream_rules(table: str, rules: Mapping[str, Rule]) -> pa.DataFrameSchema:
    """The schema of a table's rows: each named column follows its rule (null only where the rule allows
    none); other columns pass through, as the table's own types check them."""
    return pa.DataFrameSchema(
        {column: _column(rule) for column, rule in rules.items()},
        name=f"a row of {table}",
        strict=False,
        coerce=True,
    )


ServiceCategoryRow = stream_rules(
    "yclients.service_categories", {"category_id": POSITIVE_ID, "title": NON_EMPTY_TEXT}
)
PaymentAccountRow = stream_rules(
    "yclients.payment_accounts", {"account_id": POSITIVE_ID, "title": NON_EMPTY_TEXT}
)
# Amounts keep their sign: a refund is negative.
PaymentRow = stream_rules(
    "yclients.record_payments", {"transaction_id": POSITIVE_ID, "record_id": POSITIVE_ID, "paid_at": MOMENT}
)
CashTransactionRow = stream_rules(
    "yclients.finance_transactions", {"transaction_id": POSITIVE_ID, "made_on": DAY}
)
GoodsTransactionRow = stream_rules(
    "yclients.goods_transactions", {"transaction_id": POSITIVE_ID, "created_on": DAY}
)
ClientRow = stream_rules(
    "yclients.clients",
    {"client_id": POSITIVE_ID, "first_visit_date": DAY_OR_NONE, "last_visit_date": DAY_OR_NONE},
)
# A day holds at most 24 hours of work.
StaffScheduleRow = stream_rules(
    "yclients.staff_schedules",
    {"staff_id": POSITIVE_ID, "work_date": DAY, "scheduled_minutes": MINUTES_OF_A_DAY},
)
