"""Nightly housekeeping: ANALYZE and the dbt docs, after publish."""

import dagster as dg

from pipelines.defs.housekeeping.assets import analyzed_warehouse, dbt_docs, docs_dir
from pipelines.defs.resources import STEP_RESOURCES

defs = dg.Definitions(
    assets=[analyzed_warehouse, dbt_docs],
    resources=STEP_RESOURCES,
)

__all__ = ["analyzed_warehouse", "dbt_docs", "defs", "docs_dir"]
