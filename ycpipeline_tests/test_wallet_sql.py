"""The wallet's views and functions in a migrated database are exactly those of ycpipeline/loyalty/sql/wallet.sql:
migration 0010 carries a frozen copy, and a change to the file needs a migration of its own."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

from ycpipeline.loyalty.wallet import wallet_sql

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
