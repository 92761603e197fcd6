"""Quality gates as blocking Dagster asset checks: raw suites and mart suites, both engines.

``defs`` is self-contained: `pipelines/definitions.py` merges it with the others. The
cross-engine parity check lives with the dbt assets (`pipelines/defs/dbt`).
"""

import dagster as dg

from pipelines.defs.quality.checks import (
    MART_CHECK_NAME,
    RAW_CHECK_NAME,
    RawGateConfig,
    mart_gate,
    mart_gates,
    raw_gate,
    raw_gates,
)
from pipelines.defs.resources import STEP_RESOURCES

defs = dg.Definitions(
    asset_checks=[*raw_gates, *mart_gates],
    resources=STEP_RESOURCES,
)

__all__ = [
    "MART_CHECK_NAME",
    "RAW_CHECK_NAME",
    "RawGateConfig",
    "defs",
    "mart_gate",
    "mart_gates",
    "raw_gate",
    "raw_gates",
]
