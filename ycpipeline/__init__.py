"""ycpipeline: YClients → Postgres warehouse sync and loyalty bonus ledger, orchestrated by Dagster."""

from ycpipeline import redaction

redaction.install()
