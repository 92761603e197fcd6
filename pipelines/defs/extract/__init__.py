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

defs = dg.Definitions(
    assets=[*shop_table_specs, extract_raw],
    resources={"shopmarts_environment": ShopmartsEnvironment()},
)

__all__ = [
    "ExtractConfig",
    "ShopmartsEnvironment",
    "defs",
    "extract_raw",
    "raw_table_key",
    "shop_table_key",
]
