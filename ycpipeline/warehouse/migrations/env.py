"""Alembic environment: runs migrations on the connection or URL handed in by `warehouse.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from ycpipeline.warehouse.schema import metadata

config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
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
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
