"""The functions and triggers of a migrated database are exactly those the `.sql` files define.

The migrations carry frozen copies of what they install (a migration must keep producing the database it
produced), so the readable definitions live in `.sql` files beside the package that owns the behaviour. A
database migrated to head is compared with them both ways: every function and trigger the database has must
be defined by a file, and every one a file defines must be in the database, with the same definition
(`pg_get_functiondef` / `pg_get_triggerdef`, white space aside). A change to a file then needs a migration of
its own, and a migration that changes a function or trigger needs the file changed with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from ycpipeline.warehouse.migrate import upgrade
from ycpipeline.warehouse.sql_files import read_sql
from ycpipeline_tests.support.databases import scratch_database

PACKAGE = Path(__file__).resolve().parents[2] / "ycpipeline"

# Every file that defines functions or triggers of the warehouse, as (package, file under its sql/).
DATABASE_CODE = (
    ("ycpipeline.loyalty", "wallet.sql"),
    ("ycpipeline.loyalty", "ledger_queue.sql"),
    ("ycpipeline.marts", "pending_triggers.sql"),
)

# The project's schemas: every one but Postgres' own (a schema a later migration creates is covered too).
# Functions an extension installed are the extension's, not the project's.
SCHEMAS = """
SELECT n.oid FROM pg_namespace n
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
"""
FUNCTIONS = f"""
SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid) FROM pg_proc p
WHERE p.pronamespace IN ({SCHEMAS}) AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
"""
TRIGGERS = f"""
SELECT quote_ident(t.tgname) || ' ON ' || t.tgrelid::regclass::text, pg_get_triggerdef(t.oid)
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE NOT t.tgisinternal AND c.relnamespace IN ({SCHEMAS})
"""


def _normalised(definition: str) -> str:
    return re.sub(r"\s+", " ", definition).strip()


def _definitions(conn: Connection) -> dict[str, str]:
    """Every function and trigger of the project's schemas: its name and its definition, white space aside."""
    found = {f"function {name}": _normalised(body) for name, body in conn.execute(text(FUNCTIONS))}
    found.update({f"trigger {name}": _normalised(body) for name, body in conn.execute(text(TRIGGERS))})
    return found


def _from_files(conn: Connection) -> dict[str, str]:
    """What the files define: in the migrated database, without its own functions and triggers (rolled back)."""
    for name in conn.execute(text(TRIGGERS)).scalars():
        conn.execute(text(f"DROP TRIGGER {name}"))
    for name in conn.execute(text(FUNCTIONS)).scalars():
        conn.execute(text(f"DROP FUNCTION {name}"))
    assert _definitions(conn) == {}
    for package, name in DATABASE_CODE:
        conn.execute(text(read_sql(package, name)))  # several statements: one script without parameters
    return _definitions(conn)


@pytest.fixture(scope="module")
def migrated(warehouse_url: str, worker_id: str) -> Iterator[Engine]:
    """A fresh database migrated to head (the session's warehouse may have been changed by other tests)."""
    with scratch_database(warehouse_url, f"ycp_sql_{worker_id}") as url:
        engine = create_engine(url)
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()


def test_the_migrated_functions_and_triggers_are_those_of_the_sql_files(migrated: Engine) -> None:
    with migrated.connect() as conn:
        in_database = _definitions(conn)
        in_files = _from_files(conn)
        conn.rollback()
    assert "function loyalty.queue_changed_records()" in in_database
    assert "trigger queue_ledger_entries_insert ON loyalty.bonus_ledger" in in_database
    missing_from_files = sorted(in_database.keys() - in_files.keys())
    missing_from_database = sorted(in_files.keys() - in_database.keys())
    assert (missing_from_files, missing_from_database) == ([], [])
    different = {
        name: (in_database[name], in_files[name])
        for name in in_database
        if in_database[name] != in_files[name]
    }
    assert different == {}


def test_a_body_that_differs_from_the_file_is_caught(migrated: Engine) -> None:
    with migrated.connect() as conn:
        conn.execute(
            text("""CREATE OR REPLACE FUNCTION marts.queue_cash_ledger_changes() RETURNS trigger
                    LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$""")
        )
        conn.execute(text("DROP TRIGGER queue_schedule_changes_delete ON yclients.staff_schedules"))
        in_database = _definitions(conn)
        in_files = _from_files(conn)
        conn.rollback()
    assert (
        in_database["function marts.queue_cash_ledger_changes()"]
        != in_files["function marts.queue_cash_ledger_changes()"]
    )
    assert in_files.keys() - in_database.keys() == {
        "trigger queue_schedule_changes_delete ON yclients.staff_schedules"
    }


def test_every_sql_file_that_defines_functions_or_triggers_is_compared() -> None:
    defining = re.compile(
        r"^\s*CREATE\s+(OR\s+REPLACE\s+)?(FUNCTION|PROCEDURE|TRIGGER)\b", re.IGNORECASE | re.MULTILINE
    )
    found = {
        (".".join(("ycpipeline", *path.relative_to(PACKAGE).parts[:-2])), path.name)
        for path in PACKAGE.rglob("*.sql")
        if defining.search(path.read_text("utf-8"))
    }
    assert found == set(DATABASE_CODE)
