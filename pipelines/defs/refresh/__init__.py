"""The refresh plan, the refresh jobs, their schedules, and the sensors that log every run
that ends.

Each refresh carries its plan (:mod:`pipelines.defs.plan`) in its run config, as
the `refresh_plan` resource's mode; every step reads it there.
"""

import dagster as dg

from pipelines.defs.plan import (
    PLAN_RESOURCE_KEY,
    RefreshPlan,
    RefreshPlanResource,
    plan_for,
    refresh_plan_resource,
)
from pipelines.defs.refresh.jobs import (
    REFRESH_TAG,
    hourly_refresh,
    nightly_refresh,
    refresh_run_config,
)
from pipelines.defs.refresh.schedules import build_schedules, schedule_timezone
from pipelines.defs.refresh.sensors import refresh_log_sensors
from pipelines.runtime.executor import forked_steps_executor

# Also the executor of what is launched from the UI ("Materialize"): steps forked, not spawned.
defs = dg.Definitions(
    jobs=[nightly_refresh, hourly_refresh],
    schedules=build_schedules(),
    sensors=refresh_log_sensors,
    executor=forked_steps_executor,
    resources={PLAN_RESOURCE_KEY: refresh_plan_resource},
)

__all__ = [
    "PLAN_RESOURCE_KEY",
    "REFRESH_TAG",
    "RefreshPlan",
    "RefreshPlanResource",
    "defs",
    "hourly_refresh",
    "nightly_refresh",
    "plan_for",
    "refresh_log_sensors",
    "refresh_plan_resource",
    "refresh_run_config",
    "schedule_timezone",
]
