"""Schema drift: what `detect` finds in a read, how `yclients.schema_drift` keeps it (against a real
Postgres), migration 0012 both ways, and the WARN check the assets report it with."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, inspect, text

from ycpipeline.defs.drift_checks import SHOWN_DRIFTS, drift_check_result, drift_check_spec
from ycpipeline.validation.drift import (
    EXAMPLE_LIMIT,
    PERSONAL_EXAMPLE,
    FieldDrift,
    detect,
    json_kind,
    open_drifts,
    record,
    resolve_absent,
)
from ycpipeline.warehouse.migrate import alembic_config, upgrade
from ycpipeline_tests.support.databases import scratch_database

COMPANY = 235564
OTHER = 235565
DECLARED = {
    "id": frozenset({"int"}),
    "title": frozenset({"string"}),
    "comment": frozenset({"string", "null"}),
    "deleted": frozenset({"bool"}),
}


@pytest.fixture
def warehouse(engine: Engine) -> Engine:
    """The test warehouse with no drift recorded (conftest's list of tables predates this one)."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE yclients.schema_drift"))
    return engine


def _rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT * FROM yclients.schema_drift ORDER BY field, change")))


def test_json_kind_tells_booleans_from_integers() -> None:
    values: list[Any] = [None, True, False, 0, 7, 1.5, "7", [], {}]
    assert [json_kind(v) for v in values] == [
        "null",
        "bool",
        "bool",
        "int",
        "int",
        "number",
        "string",
        "array",
        "object",
    ]


def test_a_read_that_matches_its_declaration_has_no_drift() -> None:
    items = [
        {"id": 1, "title": "Стрижка", "comment": None, "deleted": False},
        {"id": 2, "title": "Укладка", "comment": "", "deleted": True},
    ]
    assert detect("services", DECLARED, items) == []


def test_detect_finds_added_dropped_and_retyped_fields_in_field_order() -> None:
    items: list[Any] = [
        {"id": 1, "title": "a", "comment": None, "price": 100},
        {"id": True, "title": None, "comment": "x", "price": "100.5"},
        "not an object",  # ignored: only objects have fields
        None,
    ]
    assert detect("services", DECLARED, items) == [
        FieldDrift("services", "deleted", "dropped", "", "bool", ""),
        FieldDrift("services", "id", "retyped", "bool,int", "int", "True"),
        FieldDrift("services", "price", "added", "int,string", "", "100"),
        FieldDrift("services", "title", "retyped", "null,string", "string", "None"),
    ]


def test_a_field_present_in_some_items_only_is_not_dropped() -> None:
    items = [{"id": 1, "title": "a", "deleted": False}, {"id": 2, "title": "b", "comment": None}]
    assert detect("services", DECLARED, items) == []


@pytest.mark.parametrize("items", [[], ["no", "objects", 1, None]], ids=["empty", "no-dicts"])
def test_a_read_of_no_object_drops_nothing(items: list[Any]) -> None:
    assert detect("services", DECLARED, items) == []


def test_a_declared_kind_json_kind_never_returns_is_refused() -> None:
    with pytest.raises(ValueError, match="integer is no JSON kind"):
        detect("services", {"id": frozenset({"integer"})}, [])


def test_examples_are_short_and_never_the_whole_item_or_a_personal_value() -> None:
    huge = "x" * 10_000
    item = {
        "id": 1,
        "title": "a",
        "comment": None,
        "deleted": False,
        "blob": huge,
        "passport": "4510 123456",
        "employee": {"name": "Анна", "inn": "770123456789", "nested": list(range(1000))},
    }
    drifts = {d.field: d for d in detect("staff", DECLARED, [item])}
    assert set(drifts) == {"blob", "passport", "employee"}
    assert len(drifts["blob"].example) <= EXAMPLE_LIMIT and drifts["blob"].example.startswith("'xxx")
    assert drifts["passport"].example == PERSONAL_EXAMPLE
    assert "770123456789" not in drifts["employee"].example and "Анна" in drifts["employee"].example
    assert all(len(d.example) <= EXAMPLE_LIMIT for d in drifts.values())


def test_record_is_idempotent_and_counts_only_new_drifts(warehouse: Engine) -> None:
    drifts = detect(
        "records", DECLARED, [{"id": "7", "title": "a", "comment": None, "deleted": False, "x": 1}]
    )
    assert [(d.field, d.change) for d in drifts] == [("id", "retyped"), ("x", "added")]
    with warehouse.begin() as conn:
        assert record(conn, COMPANY, drifts, "run-1") == 2
    first = _rows(warehouse)
    time.sleep(0.01)
    with warehouse.begin() as conn:
        assert record(conn, COMPANY, drifts, "run-2") == 0
    second = _rows(warehouse)
    assert [(r.field, r.change, r.seen_count) for r in first] == [("id", "retyped", 1), ("x", "added", 1)]
    assert [(r.field, r.change, r.seen_count) for r in second] == [("id", "retyped", 2), ("x", "added", 2)]
    for before, after in zip(first, second, strict=True):
        assert after.first_seen_at == before.first_seen_at
        assert after.last_seen_at > before.last_seen_at
        assert (after.first_run_id, after.last_run_id) == ("run-1", "run-2")
        assert after.resolved_at is None
    assert second[0].kinds == "string" and second[0].expected == "int" and second[0].example == "'7'"
    with warehouse.begin() as conn:  # another company's sighting is its own row
        assert record(conn, OTHER, drifts[:1], None) == 1
        assert record(conn, OTHER, [], None) == 0


def test_nul_lone_surrogates_and_long_values_are_stored_safely(warehouse: Engine) -> None:
    item = {
        "id": 1,
        "title": "a",
        "comment": None,
        "deleted": False,
        "nul\x00key": "a\x00b",
        "half_emoji": "\ud83d tail",
        "long": "€" * 10_000,
    }
    drifts = detect("records", DECLARED, [item])
    # Written straight, as a loader with its own examples might: NUL and a surrogate in every text column.
    drifts.append(
        FieldDrift("records", "raw\x00\udcff" + "f" * 500, "added", "string", "", "\x00\ud800" * 300)
    )
    with warehouse.begin() as conn:
        assert record(conn, COMPANY, drifts, "run-\x00") == 4
    rows = _rows(warehouse)
    assert len(rows) == 4
    for row in rows:
        for value in (row.field, row.example, row.kinds, row.expected):
            assert "\x00" not in value and len(value) <= EXAMPLE_LIMIT
            value.encode("utf-8")  # no lone surrogate left
    by_field = {r.field: r for r in rows}
    assert by_field["nulkey"].example == repr("a\x00b")  # escaped by repr: readable, storable
    assert by_field["half_emoji"].example == repr("\ud83d tail")
    long = by_field["long"].example  # the value's head and tail, 10 kB cut to at most EXAMPLE_LIMIT
    assert long.startswith("'€€€") and "..." in long and long.endswith("€'") and len(long) <= EXAMPLE_LIMIT
    raw_field = next(f for f in by_field if f.startswith("raw"))
    assert raw_field.startswith("raw\ufffdf") and len(raw_field) <= 200
    assert rows[0].last_run_id == "run-"


def test_resolve_absent_closes_what_the_latest_read_no_longer_sees(warehouse: Engine) -> None:
    old = detect("records", DECLARED, [{"id": 1, "title": 5, "comment": None, "deleted": False, "x": 1}])
    with warehouse.begin() as conn:
        record(conn, COMPANY, old, "run-1")
        record(conn, OTHER, old, "run-1")
        record(conn, COMPANY, [FieldDrift("services", "x", "added", "int", "", "1")], "run-1")
    now = detect("records", DECLARED, [{"id": 1, "title": "t", "comment": None, "deleted": False, "x": 1}])
    assert [(d.field, d.change) for d in now] == [("x", "added")]
    with warehouse.begin() as conn:
        assert resolve_absent(conn, COMPANY, "records", now) == 1
        assert resolve_absent(conn, COMPANY, "records", now) == 0
        still = open_drifts(conn, company_ids=[COMPANY])
        assert [(d["stream"], d["field"], d["change"]) for d in still] == [
            ("records", "x", "added"),
            ("services", "x", "added"),
        ]
        assert len(open_drifts(conn, "records", [OTHER])) == 2  # another company's drifts stay open
        assert open_drifts(conn, "records", []) == []
    with warehouse.begin() as conn:  # seen again: open again, not new
        assert record(conn, COMPANY, old, "run-3") == 0
        reopened = [d for d in open_drifts(conn, "records", [COMPANY]) if d["field"] == "title"]
    assert reopened[0]["seen_count"] == 2 and reopened[0]["last_run_id"] == "run-3"
    with warehouse.begin() as conn:  # a whole read without drift closes every drift of the stream
        assert resolve_absent(conn, COMPANY, "records", []) == 2
        assert [d["stream"] for d in open_drifts(conn, company_ids=[COMPANY])] == ["services"]


def test_a_dropped_field_that_comes_back_is_resolved(warehouse: Engine) -> None:
    declared = {"id": frozenset({"int"}), "gone": frozenset({"string"})}
    with warehouse.begin() as conn:
        record(conn, COMPANY, detect("clients", declared, [{"id": 1}]), None)
        assert [d["change"] for d in open_drifts(conn, "clients")] == ["dropped"]
        back = detect("clients", declared, [{"id": 1, "gone": "here"}])
        assert back == []
        assert resolve_absent(conn, COMPANY, "clients", back) == 1
        assert open_drifts(conn, "clients") == []


@pytest.fixture
def blank(warehouse_url: str, worker_id: str) -> Iterator[Engine]:
    """An empty database of its own (the migration is tested from scratch)."""
    with scratch_database(warehouse_url, f"ycp_drift_{worker_id}") as url:
        engine = create_engine(url)
        yield engine
        engine.dispose()


def test_0012_creates_the_table_with_described_columns_and_drops_it(blank: Engine) -> None:
    upgrade(blank, "0011")
    assert not inspect(blank).has_table("schema_drift", schema="yclients")
    upgrade(blank, "0012")
    columns = {c["name"]: c for c in inspect(blank).get_columns("schema_drift", schema="yclients")}
    assert list(columns) == [
        "company_id",
        "stream",
        "field",
        "change",
        "kinds",
        "expected",
        "example",
        "first_seen_at",
        "last_seen_at",
        "seen_count",
        "first_run_id",
        "last_run_id",
        "resolved_at",
    ]
    assert all(c["comment"] for c in columns.values())
    assert columns["resolved_at"]["nullable"] and not columns["last_seen_at"]["nullable"]
    with blank.begin() as conn, pytest.raises(Exception, match="ck_schema_drift_change_known"):
        conn.execute(
            text("""INSERT INTO yclients.schema_drift
                    (company_id, stream, field, change, kinds, expected, example, last_seen_at)
                    VALUES (1, 's', 'f', 'renamed', '', '', '', now())""")
        )
    config = alembic_config()
    with blank.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0011")
    assert not inspect(blank).has_table("schema_drift", schema="yclients")
    upgrade(blank)
    assert inspect(blank).has_table("schema_drift", schema="yclients")


def test_the_check_passes_without_drift_and_warns_with_it(warehouse: Engine) -> None:
    spec = drift_check_spec("records", "yclients_records")
    assert spec.name == "records_schema_drift" and spec.asset_key == dg.AssetKey("yclients_records")
    clean = drift_check_result(warehouse, "records", "yclients_records", "records", [COMPANY])
    assert clean.passed and clean.severity == dg.AssetCheckSeverity.WARN
    assert clean.metadata["open_drifts"].value == 0 and clean.metadata["drifts"].value == []

    declared = {f"f{i:02}": frozenset({"int"}) for i in range(25)}
    retyped = detect("records", declared, [{f"f{i:02}": "text" for i in range(25)}])
    with warehouse.begin() as conn:
        record(conn, COMPANY, retyped, "run-1")
        record(conn, OTHER, retyped[:1], "run-1")
    result = drift_check_result(warehouse, "records", "yclients_records", "records", [COMPANY])
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert result.check_name == "records_schema_drift"
    assert result.asset_key == dg.AssetKey("yclients_records")
    assert result.metadata["open_drifts"].value == 25
    shown = result.metadata["drifts"].value
    assert isinstance(shown, list) and len(shown) == SHOWN_DRIFTS
    assert shown[0]["field"] == "f00" and shown[0]["company_id"] == COMPANY
    assert set(shown[0]) == {
        "company_id",
        "stream",
        "field",
        "change",
        "kinds",
        "expected",
        "example",
        "first_seen_at",
    }
    assert (shown[0]["change"], shown[0]["kinds"], shown[0]["expected"], shown[0]["example"]) == (
        "retyped",
        "string",
        "int",
        "'text'",
    )
    assert isinstance(shown[0]["first_seen_at"], str)
    assert result.description and "company 235564: f00 retyped" in result.description
    with warehouse.connect() as conn:  # a connection works as well; another stream has none
        assert drift_check_result(conn, "services", "yclients_services", "services", [COMPANY]).passed
        other = drift_check_result(conn, "records", "yclients_records", None, [OTHER])
    assert other.metadata["open_drifts"].value == 1


def test_detect_over_a_large_read_is_one_cheap_pass() -> None:
    declared = {f"field_{i:02}": frozenset({"int", "string", "null"}) for i in range(40)}
    items = [
        {f"field_{i:02}": (n if i % 3 == 0 else (f"v{n}" if i % 3 == 1 else None)) for i in range(40)}
        for n in range(100_000)
    ]
    items[-1]["field_new"] = True
    started = time.perf_counter()
    drifts = detect("records", declared, items)
    elapsed = time.perf_counter() - started
    print(f"\ndetect over 100,000 items of 40 fields: {elapsed:.3f} s")
    assert [(d.field, d.change) for d in drifts] == [("field_new", "added")]
