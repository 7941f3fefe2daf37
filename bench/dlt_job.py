"""The small job done by dlt's `rest_api` source, as a data team would configure it for YClients records.

python bench/dlt_job.py API_URL POSTGRES_URL START END COMPANY WORKDIR  (run by bench/small_job.py)
"""

from __future__ import annotations

import sys

import dlt
from dlt.sources.rest_api import rest_api_source

from ycpipeline.client.http import ACCEPT_V2
from ycpipeline_sandbox import DEFAULT_PARTNER_TOKEN, DEFAULT_USER_TOKEN

if __name__ == "__main__":
    api, url, start, end, company, workdir = sys.argv[1:7]
    source = rest_api_source(
        {
            "client": {
                "base_url": api.rstrip("/") + "/",
                "headers": {
                    "Accept": ACCEPT_V2,
                    "Authorization": f"Bearer {DEFAULT_PARTNER_TOKEN}, User {DEFAULT_USER_TOKEN}",
                },
                # total_count counts records, not pages: page until an empty page.
                "paginator": {
                    "type": "page_number",
                    "base_page": 1,
                    "page_param": "page",
                    "total_path": None,
                },
            },
            "resources": [
                {
                    "name": "records",
                    "primary_key": "id",
                    "write_disposition": "merge",
                    "endpoint": {
                        "path": f"records/{company}",
                        "params": {"start_date": start, "end_date": end, "count": 200, "with_deleted": 1},
                        "data_selector": "data",
                    },
                }
            ],
        }
    )
    pipeline = dlt.pipeline(
        pipeline_name="bench_small_job",
        destination=dlt.destinations.postgres(credentials=url),
        dataset_name="dlt_bench",
        pipelines_dir=workdir,
    )
    print(pipeline.run(source))
