"""Publishing: the validated shadow marts swapped into `marts`, and the refresh log.

``defs`` is self-contained: `pipelines/definitions.py` merges it with the others.
"""

import dagster as dg

from pipelines.defs.extract import defs as extract_defs
from pipelines.defs.publish.assets import PUBLISHED_MARTS_KEY, published_marts
from pipelines.defs.publish.marts import PublishError, PublishOptions, publish_marts
from pipelines.defs.publish.refresh_log import RefreshOutcome, record_refresh
from pipelines.defs.refresh.plan import PLAN_RESOURCE_KEY, refresh_plan_resource

defs = dg.Definitions(
    assets=[published_marts],
    resources={
        "shopmarts_environment": (extract_defs.resources or {})["shopmarts_environment"],
        PLAN_RESOURCE_KEY: refresh_plan_resource,
    },
)

__all__ = [
    "PUBLISHED_MARTS_KEY",
    "PublishError",
    "PublishOptions",
    "RefreshOutcome",
    "defs",
    "publish_marts",
    "published_marts",
    "record_refresh",
]
