"""Publishing: the validated shadow marts swapped into `marts`, and the refresh log.

``defs`` is self-contained: `pipelines/definitions.py` merges it with the others.
"""

import dagster as dg

from pipelines.defs.publish.assets import published_marts
from pipelines.defs.publish.marts import PublishError, PublishOptions, publish_marts
from pipelines.defs.refresh_log import RefreshOutcome, record_refresh
from pipelines.defs.resources import STEP_RESOURCES

defs = dg.Definitions(
    assets=[published_marts],
    resources=STEP_RESOURCES,
)

__all__ = [
    "PublishError",
    "PublishOptions",
    "RefreshOutcome",
    "defs",
    "publish_marts",
    "published_marts",
    "record_refresh",
]
