"""Schema drift: the top-level fields of the API's items against the fields each stream declares.

A stream declares the fields of an item it reads with the JSON kinds each may have. `detect` compares one
read's items with that declaration: a field the API added, one it dropped (absent from every item of a
read), one it retyped (a kind not declared; null is a kind). `record` keeps each drift in
`yclients.schema_drift`, `resolve_absent` closes those a later whole read no longer sees, and `open_drifts`
lists what is still open for the asset check. Drift never changes what loads: it is only reported.
"""

from __future__ import annotations

import numbers
import reprlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, text

from ycpipeline.normalize.personal import is_denied, without_personal
from ycpipeline.normalize.values import clean_text

Change = Literal["added", "dropped", "retyped"]
# The JSON kinds, as `json_kind` names them.
KINDS = ("null", "bool", "int", "number", "string", "array", "object")
ANY_KIND = frozenset(KINDS)
# The longest example and field name stored: enough to recognise a value, never a whole item.
EXAMPLE_LIMIT = 200
FIELD_LIMIT = 200
# Shown instead of the value of a field of the personal deny-list (normalize/personal.py).
PERSONAL_EXAMPLE = "<personal field: value not kept>"

# The exact types a JSON parser returns; anything else (subclasses, Decimal) goes through isinstance.
_KIND_OF_TYPE: dict[type, str] = {
    type(None): "null",
    bool: "bool",
    int: "int",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def _short_repr() -> reprlib.Repr:
    # Bounded at every level, so a huge nested value costs no more than its first few elements.
    shown = reprlib.Repr()
    shown.maxlevel = 3
    shown.maxdict = shown.maxlist = shown.maxtuple = shown.maxset = 10
    shown.maxstring = shown.maxlong = shown.maxother = EXAMPLE_LIMIT
    return shown


_REPR = _short_repr()


@dataclass(frozen=True)
class FieldDrift:
    """One field of one stream that differs from its declaration in a read."""

    stream: str
    field: str
    change: Change
    # The kinds the read saw, sorted and comma-separated ("int,string"); "" when dropped.
    kinds: str
    # The declared kinds, sorted and comma-separated; "" when added.
    expected: str
    # A short repr of one value of the drift (of an undeclared kind when retyped); "" when dropped.
    example: str


def json_kind(value: Any) -> str:
    """The JSON kind of a parsed value: null, bool, int, number (float), string, array or object.

    Booleans are tested before integers (`True` is an `int` in Python). A value no JSON parser returns
    counts as a string, as `json.dumps(default=str)` would write it.
    """
    kind = _KIND_OF_TYPE.get(type(value))
    if kind is not None:
        return kind
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, numbers.Number):  # Decimal (parse_float=Decimal), float subclasses
        return "number"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return "string"


def example(value: Any) -> str:
    """A short, printable repr of one value (at most EXAMPLE_LIMIT characters; NUL and lone surrogates
    escaped, personal fields cut out of nested objects)."""
    if isinstance(value, (dict, list)):
        value = without_personal(value)
    try:
        shown = _REPR.repr(value)
    except ValueError:  # an int too long for str() (sys.get_int_max_str_digits)
        shown = f"<int of {value.bit_length()} bits>" if isinstance(value, int) else "<unprintable>"
    return shown if len(shown) <= EXAMPLE_LIMIT else shown[: EXAMPLE_LIMIT - 1] + "…"


def _joined(kinds: Iterable[str]) -> str:
    return ",".join(sorted(kinds))


def detect(stream: str, expected: Mapping[str, frozenset[str]], items: Iterable[Any]) -> list[FieldDrift]:
    """The drifts of one read of `stream` against its declared fields (`expected`: field → JSON kinds),
    sorted by field.

    Only dict items count. A field is "added" when some item has it undeclared, "retyped" when some item
    has a kind its declaration lacks (null included), "dropped" when no item of a read of at least one
    item has it (an empty read proves nothing). The kinds are those of `json_kind`: a field that may be
    `5` or `5.5` declares both "int" and "number". A declaration naming another kind is a ValueError.
    """
    unknown = {kind for kinds in expected.values() for kind in kinds}.difference(KINDS)
    if unknown:
        raise ValueError(
            f"{stream}: {', '.join(sorted(unknown))} is no JSON kind (one of {', '.join(KINDS)})"
        )
    # Per field, the first value of each Python type seen: one dict lookup and one membership test per
    # field and item, and the examples come out of the same pass.
    seen: dict[Any, dict[type, Any]] = {}
    read_any = False
    for item in items:
        if not isinstance(item, dict):
            continue
        read_any = True
        for key, value in item.items():
            kind_of = type(value)
            firsts = seen.get(key)
            if firsts is None:
                seen[key] = {kind_of: value}
            elif kind_of not in firsts:
                firsts[kind_of] = value
    drifts: list[FieldDrift] = []
    for key, firsts in seen.items():
        # The first value of each kind, in the order the kinds were first seen.
        by_kind: dict[str, Any] = {}
        for value in firsts.values():
            by_kind.setdefault(json_kind(value), value)
        declared = expected.get(key) if isinstance(key, str) else None
        if declared is None:
            change: Change = "added"
            shown = next(iter(by_kind.values()))
        else:
            undeclared = [kind for kind in by_kind if kind not in declared]
            if not undeclared:
                continue
            change = "retyped"
            shown = by_kind[undeclared[0]]
        field = key if isinstance(key, str) else str(key)
        drifts.append(
            FieldDrift(
                stream=stream,
                field=field,
                change=change,
                kinds=_joined(by_kind),
                expected="" if declared is None else _joined(declared),
                example=PERSONAL_EXAMPLE if is_denied(field) else example(shown),
            )
        )
    if read_any:
        drifts.extend(
            FieldDrift(stream, field, "dropped", "", _joined(kinds), "")
            for field, kinds in expected.items()
            if field not in seen
        )
    return sorted(drifts, key=lambda d: (d.field, d.change))


def _stored(value: str, limit: int) -> str:
    """Text `text` columns take: NUL removed, lone surrogates replaced, cut to `limit` characters."""
    value = clean_text(value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _rows(drifts: Sequence[FieldDrift]) -> dict[tuple[str, str, str], FieldDrift]:
    """The drifts as stored, one per key (two fields equal once cleaned and cut are one row)."""
    rows: dict[tuple[str, str, str], FieldDrift] = {}
    for d in drifts:
        stored = FieldDrift(
            stream=_stored(d.stream, FIELD_LIMIT),
            field=_stored(d.field, FIELD_LIMIT),
            change=d.change,
            kinds=_stored(d.kinds, EXAMPLE_LIMIT),
            expected=_stored(d.expected, EXAMPLE_LIMIT),
            example=_stored(d.example, EXAMPLE_LIMIT),
        )
        rows.setdefault((stored.stream, stored.field, stored.change), stored)
    return rows


class DriftWatch:
    """The schema drift of one read against a declaration, seen batch by batch (the records arrive in
    chunks of pages): `fields` it reads (added, dropped or retyped count) and fields it knows from the
    description but does not read (`documented`: any kind, and their absence is no drift)."""

    def __init__(self, stream: str, fields: Mapping[str, frozenset[str]], documented: Iterable[str]) -> None:
        self.stream = stream
        self._fields = fields
        self._expected = {**dict.fromkeys(documented, ANY_KIND), **fields}
        self._found: dict[tuple[str, str], FieldDrift] = {}
        self._seen: set[Any] = set()
        self._read_any = False

    def see(self, items: Iterable[Any]) -> None:
        """Take one batch of the read's items."""
        objects = [item for item in items if isinstance(item, dict)]
        if not objects:
            return
        self._read_any = True
        for drift in detect(self.stream, self._expected, objects):
            if drift.change != "dropped":  # judged over the whole read, in `drifts`
                self._found.setdefault((drift.field, drift.change), drift)
        for item in objects:
            self._seen.update(item)

    def drifts(self) -> list[FieldDrift]:
        """The read's drifts so far, sorted by field: a read field is dropped when no item carried it."""
        dropped = [
            FieldDrift(self.stream, field, "dropped", "", _joined(kinds), "")
            for field, kinds in self._fields.items()
            if self._read_any and field not in self._seen
        ]
        return sorted([*self._found.values(), *dropped], key=lambda d: (d.field, d.change))


def detect_declared(
    stream: str, fields: Mapping[str, frozenset[str]], documented: Iterable[str], items: Iterable[Any]
) -> list[FieldDrift]:
    """The drifts of one read held whole (`DriftWatch` of one batch)."""
    watch = DriftWatch(stream, fields, documented)
    watch.see(items)
    return watch.drifts()


def record(conn: Connection, company_id: int, drifts: Sequence[FieldDrift], run_id: str | None) -> int:
    """Upsert the drifts of one read of one company into `yclients.schema_drift`; returns how many were
    never seen before (new rows). A drift seen again counts once more, takes this read's kinds and example,
    and is open again if it had been resolved."""
    rows = list(_rows(drifts).values())
    if not rows:
        return 0
    inserted = conn.execute(
        text("""
            INSERT INTO yclients.schema_drift AS d
                (company_id, stream, field, change, kinds, expected, example,
                 last_seen_at, seen_count, first_run_id, last_run_id)
            SELECT :company_id, r.stream, r.field, r.change, r.kinds, r.expected, r.example,
                   now(), 1, :run_id, :run_id
            FROM unnest(CAST(:streams AS text[]), CAST(:fields AS text[]), CAST(:changes AS text[]),
                        CAST(:kinds AS text[]), CAST(:expected AS text[]), CAST(:examples AS text[]))
                AS r (stream, field, change, kinds, expected, example)
            ON CONFLICT (company_id, stream, field, change) DO UPDATE
                SET kinds = excluded.kinds, expected = excluded.expected, example = excluded.example,
                    last_seen_at = excluded.last_seen_at, seen_count = d.seen_count + 1,
                    last_run_id = excluded.last_run_id, resolved_at = NULL
            -- xmax is 0 only on a row this statement inserted (an updated one carries its locker)
            RETURNING d.xmax = 0
        """),
        {
            "company_id": company_id,
            "run_id": None if run_id is None else clean_text(run_id),
            "streams": [r.stream for r in rows],
            "fields": [r.field for r in rows],
            "changes": [r.change for r in rows],
            "kinds": [r.kinds for r in rows],
            "expected": [r.expected for r in rows],
            "examples": [r.example for r in rows],
        },
    ).scalars()
    return sum(1 for new in inserted if new)


def resolve_absent(conn: Connection, company_id: int, stream: str, current: Sequence[FieldDrift]) -> int:
    """Mark resolved the open drifts of `stream` and the company that `current` (the drifts of the latest
    whole read) no longer has; returns how many. Call it after a whole read only: a partial or empty read
    would resolve drifts it merely did not meet."""
    stream = _stored(stream, FIELD_LIMIT)
    kept = [(field, change) for of, field, change in _rows(current) if of == stream]
    return conn.execute(
        text("""
            UPDATE yclients.schema_drift
            SET resolved_at = now()
            WHERE company_id = :company_id AND stream = :stream AND resolved_at IS NULL
              AND (field, change) NOT IN (
                  SELECT * FROM unnest(CAST(:fields AS text[]), CAST(:changes AS text[]))
              )
        """),
        {
            "company_id": company_id,
            "stream": stream,
            "fields": [field for field, _ in kept],
            "changes": [change for _, change in kept],
        },
    ).rowcount


def open_drifts(
    conn: Connection, stream: str | None = None, company_ids: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """The drifts not resolved, of `stream` (every stream when None) and `company_ids` (every company when
    None), ordered by company, stream, field and change: every column but `resolved_at`."""
    rows = conn.execute(
        text("""
            SELECT company_id, stream, field, change, kinds, expected, example, first_seen_at,
                   last_seen_at, seen_count, first_run_id, last_run_id
            FROM yclients.schema_drift
            WHERE resolved_at IS NULL
              AND (CAST(:stream AS text) IS NULL OR stream = :stream)
              AND (CAST(:company_ids AS bigint[]) IS NULL OR company_id = ANY(CAST(:company_ids AS bigint[])))
            ORDER BY company_id, stream, field, change
        """),
        {"stream": stream, "company_ids": None if company_ids is None else list(company_ids)},
    ).mappings()
    return [dict(row) for row in rows]
