"""Alembic environment: runs migrations on the connection or URL handed in by `warehouse.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, text

from ycpipeline.warehouse.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    # Schemas first: the version table lives in `yclients`.
    connection.execute(text("CREATE SCHEMA IF NOT EXISTS yclients"))
    connection.execute(text("CREATE SCHEMA IF NOT EXISTS loyalty"))
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema="yclients",
        include_schemas=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        # Two processes upgrading at once (compose start-up, parallel tests) must not race.
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('ycpipeline.migrations'))"))
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url given to the migrations")
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
