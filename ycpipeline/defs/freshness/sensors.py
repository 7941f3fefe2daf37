"""The webhook sensor: inbox events → one run per tick for the partitions they touch."""

import json
import logging
from datetime import date

import dagster as dg
from sqlalchemy import text

from ycpipeline.client import YClientsError
from ycpipeline.defs.freshness.planning import TRIGGER_TAG
from ycpipeline.defs.jobs import catalog_job, sync_job
from ycpipeline.defs.partitions import partition_key, range_tags
from ycpipeline.defs.resources import WarehouseResource, YClientsResource
from ycpipeline.settings import load_settings
from ycpipeline.webhooks.events import event_hash
from ycpipeline.webhooks.inbox import Inbox
from ycpipeline.webhooks.planner import Plan, plan_batch


def _stored_dates(warehouse: WarehouseResource, refs: list[tuple[int, int]]) -> dict[tuple[int, int], date]:
    if not refs:
        return {}
    with warehouse.engine().connect() as conn:
        rows = conn.execute(
            text("""SELECT r.company_id, r.record_id, r.visit_date FROM yclients.records r
                    JOIN unnest(CAST(:c AS bigint[]), CAST(:r AS bigint[])) AS k(company_id, record_id)
                      USING (company_id, record_id)"""),
            {"c": [c for c, _ in refs], "r": [r for _, r in refs]},
        ).all()
    return {(c, r): d for c, r, d in rows}


def _api_dates(
    yclients: YClientsResource, refs: list[tuple[int, int]], log: logging.Logger
) -> dict[tuple[int, int], date]:
    found: dict[tuple[int, int], date] = {}
    for company, record in refs[:50]:  # keep the tick bounded
        try:
            data = yclients.client().get_record(company, record)
        except YClientsError as exc:
            log.warning(f"could not read record {record}: {exc}")
            continue
        if data and isinstance(data.get("datetime"), str):
            found[(company, record)] = date.fromisoformat(data["datetime"][:10])
    return found


def _audit(warehouse: WarehouseResource, plan: Plan) -> None:
    with warehouse.engine().begin() as conn:
        conn.execute(
            text("""INSERT INTO yclients.webhook_events
                    (event_hash, inbox_name, company_id, resource, resource_id, status, body, run_key)
                    VALUES (:h, :n, :c, :res, :rid, :s, CAST(:b AS jsonb), :k) ON CONFLICT (event_hash) DO NOTHING"""),
            [
                {
                    "h": event_hash(e),
                    "n": name,
                    "c": e["company_id"],
                    "res": e["resource"],
                    "rid": e["resource_id"],
                    "s": e["status"],
                    "b": json.dumps(e, ensure_ascii=False),
                    "k": plan.run_key,
                }
                for name, e in plan.events
            ],
        )


def run_request_for(plan: Plan) -> dg.RunRequest | None:
    """The single run covering a batch: records (with the catalogue and ledger) or the catalogue alone."""
    tags = {TRIGGER_TAG: "webhook"}
    span = plan.date_range()
    if span is not None:
        first_company, last_company, first_day, last_day = span
        tags |= range_tags(partition_key(first_company, first_day), partition_key(last_company, last_day))
        return dg.RunRequest(run_key=plan.run_key, job_name=sync_job.name, tags=tags)
    if plan.catalog:
        return dg.RunRequest(run_key=plan.run_key, job_name=catalog_job.name, tags=tags)
    return None


@dg.sensor(
    name="yclients_webhook_sensor",
    jobs=[sync_job, catalog_job],
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Reads YClients webhook events from the inbox and requests one run per tick for the "
    "record dates (new and previous) and the catalogue they touch. The run key comes from the events' "
    "content, so replayed events start nothing.",
)
def yclients_webhook_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, yclients: YClientsResource
) -> dg.SensorResult | dg.SkipReason:
    """Plan the inbox's new events; archive them once the tick that requested their run is committed."""
    settings = load_settings()
    if not settings.yclients_enabled:
        return dg.SkipReason("YCLIENTS_ENABLED is false")
    inbox = Inbox(settings.yclients_webhook_inbox).ensure()
    cursor = json.loads(context.cursor) if context.cursor else {}
    if cursor.get("last"):
        # The previous tick's run request is committed together with this cursor: its events are done.
        inbox.archive_through(cursor["last"])
    plan = plan_batch(
        inbox,
        cursor.get("last"),
        lambda refs: _stored_dates(warehouse, refs),
        lambda refs: _api_dates(yclients, refs, context.log),
    )
    if plan.last_name is None:
        return dg.SkipReason("no new webhook events")
    new_cursor = json.dumps({"last": plan.last_name})
    request = run_request_for(plan)
    if plan.events:
        _audit(warehouse, plan)
    if request is None:
        return dg.SensorResult(
            skip_reason=f"{len(plan.events)} events need no refresh ({plan.quarantined} quarantined)",
            cursor=new_cursor,
        )
    context.log.info(f"{len(plan.events)} events → {request.job_name} {request.tags}")
    return dg.SensorResult(run_requests=[request], cursor=new_cursor)
