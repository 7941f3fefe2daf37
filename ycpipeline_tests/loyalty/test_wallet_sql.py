"""The wallet's views and functions in a migrated database are exactly those of ycpipeline/loyalty/sql/wallet.sql:
migration 0010 carries a frozen copy, and a change to the file needs a migration of its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from ycpipeline.loyalty import wallet
from ycpipeline.loyalty.wallet import wallet_sql
from ycpipeline.warehouse.migrate import alembic_config, upgrade
from ycpipeline_tests.support.databases import scratch_database

DEFINITIONS = """
SELECT 'function ' || p.oid::regprocedure::text, pg_get_functiondef(p.oid)
FROM pg_proc p WHERE p.pronamespace = 'loyalty'::regnamespace
UNION ALL
SELECT 'view ' || c.relname, pg_get_viewdef(c.oid)
FROM pg_class c WHERE c.relnamespace = 'loyalty'::regnamespace AND c.relkind = 'v'
"""


def _definitions(conn: Connection) -> dict[str, str]:
    return {name: body for name, body in conn.execute(text(DEFINITIONS))}


def test_the_migrated_wallet_is_the_wallet_sql_file(engine: Engine) -> None:
    with engine.connect() as conn:
        migrated = _definitions(conn)
        conn.execute(text(wallet_sql()))  # CREATE OR REPLACE: a changed body replaces the migrated one
        from_file = _definitions(conn)
        conn.rollback()
    assert "function loyalty.spend_points(bigint,numeric,text)" in migrated
    assert "view expiring_points" in migrated
    assert from_file == migrated


def _migrate(engine: Engine, revision: str, down: bool = False) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def test_0010_goes_back_to_0009_and_refuses_to_drop_the_apps_movements(
    warehouse_url: str, worker_id: str
) -> None:
    with scratch_database(warehouse_url, f"ycp_0010_{worker_id}") as url:
        engine = create_engine(url)
        try:
            upgrade(engine)
            with engine.begin() as conn:
                conn.execute(
                    text("""INSERT INTO loyalty.bonus_ledger (company_id, record_id, user_id, kind, amount,
                                                              base_amount, rate)
                            VALUES (1, 10, 7, 'accrual', 50, 1000, 0.05)""")
                )
                wallet.hold(conn, 7, Decimal("5.00"), "basket-1", datetime.now(UTC) + timedelta(minutes=5))
            with pytest.raises(DBAPIError, match="cannot store"):
                _migrate(engine, "0009", down=True)
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM loyalty.bonus_ledger WHERE kind <> 'accrual'"))
            _migrate(engine, "0009", down=True)
            with engine.connect() as conn:
                row = conn.execute(text("SELECT user_id, balance FROM loyalty.bonus_balances")).one()
            assert tuple(row) == (7, Decimal("50.00"))
            _migrate(engine, "head")
            with engine.begin() as conn:
                assert wallet.spend(conn, 7, Decimal("20.00"), "order-1") > 0
        finally:
            engine.dispose()
