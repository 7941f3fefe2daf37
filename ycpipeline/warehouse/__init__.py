"""The warehouse: tables, migrations, the staged upsert and an embedded Postgres for the demo and tests."""
