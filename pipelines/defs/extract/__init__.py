"""Extract assets: the shop's tables (external) and their raw copies in both engines.

``defs`` is self-contained: `pipelines/definitions.py` merges it with the others.
"""

import dagster as dg

from pipelines.defs.extract.assets import (
    ExtractConfig,
    extract_raw,
    raw_table_key,
    shop_table_key,
    shop_table_specs,
)
from pipelines.defs.extract.resources import ShopmartsEnvironment
from pipelines.defs.refresh.plan import PLAN_RESOURCE_KEY, refresh_plan_resource

defs = dg.Definitions(
    assets=[*shop_table_specs, extract_raw],
    resources={
        "shopmarts_environment": ShopmartsEnvironment(),
        PLAN_RESOURCE_KEY: refresh_plan_resource,
    },
)

__all__ = [
    "ExtractConfig",
    "ShopmartsEnvironment",
    "defs",
    "extract_raw",
    "raw_table_key",
    "shop_table_key",
]
