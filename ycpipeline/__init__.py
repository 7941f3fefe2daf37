"""ycpipeline: YClients → Postgres warehouse sync and loyalty bonus ledger, orchestrated by Dagster."""
