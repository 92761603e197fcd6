"""Nightly housekeeping: ANALYZE and the dbt docs, after publish."""

import dagster as dg

from pipelines.defs.extract import defs as extract_defs
from pipelines.defs.housekeeping.assets import analyzed_warehouse, dbt_docs, docs_dir

defs = dg.Definitions(
    assets=[analyzed_warehouse, dbt_docs],
    resources={"shopmarts_environment": (extract_defs.resources or {})["shopmarts_environment"]},
)

__all__ = ["analyzed_warehouse", "dbt_docs", "defs", "docs_dir"]
