"""Extract assets: the shop's tables (external) and their raw copies in both engines.

``defs`` is self-contained: `pipelines/definitions.py` merges it with the others.
"""

import dagster as dg

from pipelines.defs.extract.assets import (
    ExtractConfig,
    extract_raw,
    shop_table_specs,
)
from pipelines.defs.resources import STEP_RESOURCES

defs = dg.Definitions(
    assets=[*shop_table_specs, extract_raw],
    resources=STEP_RESOURCES,
)

__all__ = [
    "ExtractConfig",
    "defs",
    "extract_raw",
]
