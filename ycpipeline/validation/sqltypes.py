"""Whether a value fits its warehouse column, with the bounds read from the column's SQLAlchemy type.

`warehouse/schema.py` is the one place that says a column is `bigint` or `numeric(12,2)`; the checks
here are derived from it, so a row that passes them cannot overflow COPY or the merge. Domain rules
(an attendance of -1…2, a cost ≥ 0) are the pandera models' job, not this module's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Boolean, Column, Date, DateTime, Integer, Numeric, String, Table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import BigInteger, SmallInteger, TypeEngine

from ycpipeline.normalize.values import show

# Postgres text cannot hold NUL, and UTF-8 cannot encode a lone surrogate.
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")
# jsonb refuses the escape \u0000 (an odd number of backslashes before u0000).
_JSON_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


_INTEGER_TYPES = ((SmallInteger, "smallint", 16), (BigInteger, "bigint", 64), (Integer, "integer", 32))
# The largest id a bigint column holds: every id of the API is stored in one.
BIGINT_MAX = 2**63 - 1


def integer_range(sql_type: TypeEngine[Any]) -> tuple[str, int, int] | None:
    """(name, min, max) of an integer column type, or None for other types."""
    for kind, name, bits in _INTEGER_TYPES:  # SmallInteger and BigInteger are Integers: test them first
        if isinstance(sql_type, kind):
            return name, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return None


def fits_numeric(value: Any, precision: int, scale: int) -> bool:
    """Whether `numeric(precision, scale)` stores `value` exactly: no digit below the scale, none too many."""
    return _numeric_fit(precision, scale)(value)


def _numeric_fit(precision: int, scale: int) -> Callable[[Any], bool]:
    quantum = Decimal(1).scaleb(-scale)
    integer_digits = precision - scale

    def fits(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            return False
        amount = value if isinstance(value, Decimal) else Decimal(value)
        # adjusted(): the exponent of the leading digit, so |amount| < 10**integer_digits.
        if not amount.is_finite() or (amount and amount.adjusted() >= integer_digits):
            return False
        try:
            return amount.quantize(quantum) == amount
        except InvalidOperation:
            return False

    return fits


def storable_text(value: Any) -> bool:
    """A string Postgres `text` stores as it is: no NUL, and UTF-8 can encode it (no lone surrogate)."""
    if not isinstance(value, str) or "\x00" in value:
        return False
    if value.isascii():
        return True
    try:  # faster than a regular expression over long Cyrillic text
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable_json(value: Any) -> bool:
    """JSON text `jsonb` stores: storable text without the escape of NUL, which jsonb refuses."""
    return storable_text(value) and ("\\u0000" not in value or _JSON_NUL_ESCAPE.search(value) is None)


@dataclass(frozen=True)
class ColumnFit:
    """What a column accepts: its SQL type's name, nullability and a test of one non-null value."""

    name: str
    sql: str
    nullable: bool
    accepts: Callable[[Any], bool]

    def problem(self, value: Any) -> str | None:
        """Why `value` cannot be stored in this column, or None when it can."""
        if value is None:
            return None if self.nullable else f"{self.name}: missing, the column is NOT NULL"
        if self.accepts(value):
            return None
        if isinstance(value, str) and _UNSTORABLE_TEXT.search(value):
            return (
                f"{self.name}: {show(value)} holds a NUL or a lone surrogate, which {self.sql} cannot store"
            )
        return f"{self.name}: {show(value)} does not fit {self.sql}"


def _accepts(sql_type: TypeEngine[Any]) -> tuple[str, Callable[[Any], bool]]:
    integer = integer_range(sql_type)
    if integer is not None:
        name, low, high = integer
        return name, lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high
    if isinstance(sql_type, Numeric):
        precision, scale = sql_type.precision, sql_type.scale
        if precision is None or scale is None:
            raise TypeError(f"numeric without precision and scale has no bounds: {sql_type!r}")
        return f"numeric({precision},{scale})", _numeric_fit(precision, scale)
    if isinstance(sql_type, Boolean):
        return "boolean", lambda v: isinstance(v, bool)
    if isinstance(sql_type, DateTime):
        return "timestamptz", lambda v: isinstance(v, datetime) and v.tzinfo is not None
    if isinstance(sql_type, Date):
        return "date", lambda v: isinstance(v, date) and not isinstance(v, datetime)
    if isinstance(sql_type, JSONB):
        # Values are JSON text made by normalize.values (raw_json and the like).
        return "jsonb", storable_json
    if isinstance(sql_type, String):  # Text is a String
        length = sql_type.length
        if length is None:
            return "text", storable_text
        return f"varchar({length})", lambda v: storable_text(v) and len(v) <= length
    raise TypeError(f"no fit rule for the column type {sql_type!r}")


def column_fit(column: Column[Any]) -> ColumnFit:
    """The fit rule of one column, from its type and nullability."""
    sql, accepts = _accepts(column.type)
    return ColumnFit(column.name, sql, bool(column.nullable), accepts)


def table_fits(table: Table, only: Iterable[str] | None = None) -> list[ColumnFit]:
    """Fit rules for the columns of `table` (or only the named ones)."""
    names = set(only) if only is not None else None
    return [column_fit(c) for c in table.columns if names is None or c.name in names]


def misfits(row: dict[str, Any], fits: Iterable[ColumnFit], prefix: str = "") -> list[str]:
    """Why the values of `row` cannot be stored, one reason per column that does not fit."""
    reasons = []
    for fit in fits:  # the hot path of every load: the common cases first, without a call
        value = row.get(fit.name)
        if (value is None and fit.nullable) or (value is not None and fit.accepts(value)):
            continue
        reason = fit.problem(value)
        if reason is not None:
            reasons.append(prefix + reason)
    return reasons
