"""Dagster's entry point: merges the definitions of each concern in `pipelines/defs/`.

It holds no logic: extract (shop -> raw), dbt (staging and marts in both engines, parity),
quality (the blocking gates), publish, housekeeping (ANALYZE, docs) and the refresh jobs
with their schedules each export their own ``defs``.
"""

import dagster as dg

from pipelines.defs import dbt, extract, housekeeping, publish, quality, refresh
from pipelines.defs.freshness import with_freshness_policies

defs = with_freshness_policies(
    dg.Definitions.merge(
        extract.defs, dbt.defs, quality.defs, publish.defs, housekeeping.defs, refresh.defs
    )
)
