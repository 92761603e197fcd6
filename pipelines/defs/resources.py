"""The resources every step of a refresh reads, made once: where the engines are
(`shopmarts_environment`) and the run's refresh plan (`refresh_plan`, set at launch).

Each package's ``defs`` names these same objects, so merging the packages' definitions never
meets two resources under one key.
"""

from __future__ import annotations

from typing import Any

from pipelines.defs.environment import ShopmartsEnvironment
from pipelines.defs.plan import PLAN_RESOURCE_KEY, refresh_plan_resource

ENVIRONMENT_RESOURCE_KEY = "shopmarts_environment"

STEP_RESOURCES: dict[str, Any] = {
    ENVIRONMENT_RESOURCE_KEY: ShopmartsEnvironment(),
    PLAN_RESOURCE_KEY: refresh_plan_resource,
}
