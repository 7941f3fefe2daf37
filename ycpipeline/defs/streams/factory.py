"""The one asset factory: a per-company asset from a stream's declaration (`sync.declaration.Stream`).

Its group and freshness follow the stream's cadence; its description, table metadata, checks and tags
come from the declaration; its body loads each company of the run with `sync.loader.load_stream` under the
one error policy (`defs.per_company`).
"""

import dagster as dg
from pydantic import Field

from ycpipeline.defs.drift_checks import drift_check_spec
from ycpipeline.defs.metadata import (
    FRESH_WITHIN_A_DAY,
    KINDS,
    OWNERS,
    company_check_specs,
    markdown_table,
    table_metadata,
)
from ycpipeline.defs.partitions import company_partitions
from ycpipeline.defs.per_company import Outcome, materialize_companies
from ycpipeline.defs.resources import WarehouseResource, YClientsResource
from ycpipeline.defs.streams.resources import StreamsResource
from ycpipeline.sync.declaration import Stream
from ycpipeline.sync.loader import StreamResult, load_stream

CATALOG_GROUP = "yclients_catalog"
STREAMS_GROUP = "yclients_streams"


class NamedIdsConfig(dg.Config):
    """What a webhook batch asks to re-read, per company id (the clients' refresh by id)."""

    ids: dict[str, list[int]] = Field(default_factory=dict, description="Per company id, the ids to re-read")


def stream_asset(stream: Stream) -> dg.AssetsDefinition:
    """The per-company asset of `stream`: the catalogue's (daily, fresh within a day) in `yclients_catalog`,
    the others in `yclients_streams`; a webhook stream reads the ids its run config names."""
    catalogue = stream.cadence == "catalogue"

    @dg.asset(
        name=stream.asset,
        group_name=CATALOG_GROUP if catalogue else STREAMS_GROUP,
        kinds=KINDS,
        owners=OWNERS,
        partitions_def=company_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        tags={"source": "yclients", "domain": stream.domain, "cadence": stream.cadence},
        description=stream.description,
        metadata=table_metadata(stream.spec.table),
        freshness_policy=FRESH_WITHIN_A_DAY if catalogue else None,
        deps=list(stream.deps),
        check_specs=[
            *company_check_specs(stream.name, stream.asset, stream.name if catalogue else "rows"),
            drift_check_spec(stream.name, stream.asset),
        ],
    )
    def load(
        context: dg.AssetExecutionContext,
        config: NamedIdsConfig,
        yclients: YClientsResource,
        warehouse: WarehouseResource,
        streams: StreamsResource,
    ) -> Outcome:
        client, engine, options = yclients.client(), warehouse.engine(), streams.options()
        named = {int(company): ids for company, ids in config.ids.items() if ids}
        loaded: list[StreamResult] = []

        def one(company_id: int) -> StreamResult:
            wanted = named.get(company_id, ()) if stream.cadence == "webhook" else ()
            result = load_stream(
                stream, client, engine, company_id, options, run_id=context.run.run_id, wanted=wanted
            )
            loaded.append(result)
            return result

        yield from materialize_companies(
            context,
            asset=stream.asset,
            prefix=stream.name,
            table=stream.spec.table,
            engine=engine,
            client=client,
            load=one,
            extra=lambda: {"preview": markdown_table([row for r in loaded for row in r.preview][:5])},
            drift_of=stream.spec.entity,
        )

    return load
