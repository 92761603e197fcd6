"""Quality gates as blocking Dagster asset checks: raw suites and mart suites, both engines.

``defs`` is self-contained: `pipelines/definitions.py` merges it with the others. The
cross-engine parity check lives with the dbt assets (`pipelines/defs/dbt`).
"""

import dagster as dg

from pipelines.defs.extract import defs as extract_defs
from pipelines.defs.quality.checks import (
    MART_CHECK_NAME,
    RAW_CHECK_NAME,
    MartGateConfig,
    RawGateConfig,
    mart_gate,
    mart_gates,
    raw_gate,
    raw_gates,
)

defs = dg.Definitions(
    asset_checks=[*raw_gates, *mart_gates],
    resources={"shopmarts_environment": (extract_defs.resources or {})["shopmarts_environment"]},
)

__all__ = [
    "MART_CHECK_NAME",
    "RAW_CHECK_NAME",
    "MartGateConfig",
    "RawGateConfig",
    "defs",
    "mart_gate",
    "mart_gates",
    "raw_gate",
    "raw_gates",
]
