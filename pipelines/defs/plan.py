"""The refresh plan: what one refresh does, decided once from its mode.

A refresh is nightly or hourly. Everything else its steps need to know (which job runs it,
how the extract loads, which marts dbt rebuilds and the publish swaps in, where the shadow
is) follows from the mode through :func:`plan_for`, the one place that decides it.

The mode is carried in the run config once, as the `refresh_plan` resource's config
(`resources: refresh_plan: config: mode: nightly`): the jobs' default config, the schedules
and `shopmarts refresh` supply it, the Launchpad shows it, and every step reads the plan from
that resource instead of from tags, job names or its own op config. A run whose plan
contradicts its job (an hourly plan on the nightly job) fails as its first step (the
extract) starts, with one line saying so.
"""

# No `from __future__ import annotations`: Dagster reads the resource's annotations.
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import dagster as dg
from pydantic import Field, PrivateAttr

from core.errors import ShopmartsError
from core.vocabulary import HOURLY_MARTS, MARTS, PUBLISHED_SCHEMA, SHADOW_SCHEMA

RefreshMode = Literal["nightly", "hourly"]
MODES: tuple[RefreshMode, ...] = ("nightly", "hourly")
ExtractMode = Literal["full", "incremental"]

# The resource key the plan is configured under, in the run config and in the assets.
PLAN_RESOURCE_KEY = "refresh_plan"


@dataclass(frozen=True)
class RefreshPlan:
    """What one refresh does: made by :func:`plan_for`, never assembled by hand."""

    mode: RefreshMode
    job_name: str  # the job that runs this plan
    extract_mode: ExtractMode  # full: replace raw from one snapshot; incremental: upsert
    marts: tuple[str, ...]  # rebuilt into the shadow, gated, then published, in MARTS order
    shadow_schema: str  # where dbt builds and the gates validate (ClickHouse: database)
    published_schema: str  # where analysts read; the publish swaps the marts in here

    @property
    def incremental_marts(self) -> bool:
        """Whether dbt folds the change log into the intermediate aggregates (only the keys
        the new raw rows touch) or rebuilds them from raw (the nightly's reconciliation).

        Nothing tells dbt which: it reads it from the change log itself
        (`dbt_project/macros/incremental/fold.sql`). A full extract logs a full load of
        every table, so the build after it rebuilds from raw; an incremental extract logs
        the keys it changed, which the build folds in. The nightly and the hourly thus pass
        dbt the same vars and share one parse of the project (any change of vars makes dbt
        parse it all again: 4-5 s a target).
        """
        return self.extract_mode == "incremental"

    @property
    def marts_left_as_they_were(self) -> tuple[str, ...]:
        """The published marts this refresh does not touch."""
        return tuple(mart for mart in MARTS if mart not in self.marts)


def plan_for(mode: str) -> RefreshPlan:
    """The plan of a ``mode`` refresh (`nightly` or `hourly`)."""
    if mode == "nightly":
        return RefreshPlan(
            mode="nightly",
            job_name="nightly_refresh",
            extract_mode="full",  # reconciles hard deletes
            marts=MARTS,
            shadow_schema=SHADOW_SCHEMA,
            published_schema=PUBLISHED_SCHEMA,
        )
    if mode == "hourly":
        return RefreshPlan(
            mode="hourly",
            job_name="hourly_refresh",
            extract_mode="incremental",
            marts=HOURLY_MARTS,
            shadow_schema=SHADOW_SCHEMA,
            published_schema=PUBLISHED_SCHEMA,
        )
    raise ValueError(f"unknown refresh mode {mode!r}: expected one of {', '.join(MODES)}")


# Each refresh job's plan: what its default config supplies (see `plan_run_config`).
PLAN_OF_JOB: dict[str, RefreshPlan] = {plan.job_name: plan for plan in map(plan_for, MODES)}


def plan_run_config(mode: str) -> dict[str, Any]:
    """The run config that carries the plan of ``mode``: the resource's one field."""
    return {"resources": {PLAN_RESOURCE_KEY: {"config": {"mode": plan_for(mode).mode}}}}


def plan_in_run_config(run_config: Mapping[str, Any]) -> RefreshPlan | None:
    """The plan a run config carries, or None when it carries none."""
    resources = run_config.get("resources") or {}
    mode = ((resources.get(PLAN_RESOURCE_KEY) or {}).get("config") or {}).get("mode")
    return plan_for(str(mode)) if mode else None


def plan_of_run(run_config: Mapping[str, Any], job_name: str) -> RefreshPlan | None:
    """The plan a run ran with: its run config's, else the one its job's default config
    supplied (a run launched with an empty config gets its job's defaults)."""
    return plan_in_run_config(run_config) or PLAN_OF_JOB.get(job_name)


class PlanContradictsJob(ShopmartsError):
    """A run's plan is not its job's (an hourly plan on the nightly job)."""


def check_plan_fits_job(plan: RefreshPlan, job_name: str | None) -> None:
    """Refuse a plan that contradicts the refresh job running it; other jobs (a
    materialization launched from the asset graph, a test) may run either plan."""
    expected = PLAN_OF_JOB.get(job_name or "")
    if expected is not None and expected != plan:
        raise PlanContradictsJob(
            f"{job_name} runs the {expected.mode} plan, but its run config asks for the "
            f"{plan.mode} plan ({PLAN_RESOURCE_KEY}.config.mode: {plan.mode}): launch "
            f"{plan.job_name} for a {plan.mode} refresh"
        )


class RefreshPlanResource(dg.ConfigurableResource):
    """The refresh plan of this run, chosen by its mode; the steps read `.plan`."""

    mode: RefreshMode = Field(
        description=(
            "nightly: full extract, the intermediate aggregates and every mart rebuilt from "
            "raw and published; hourly: incremental extract, the aggregates updated for the "
            "keys the new rows touch, every mart rebuilt from them and published. Must be "
            "the job's own mode."
        )
    )

    # Why this run may not use the plan (it contradicts the job), found at initialization.
    _contradiction: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Note whether the plan contradicts the run's job. Raised here, Dagster would wrap
        the error in its own ("Error executing resource_fn ..."), and that line is what the
        CLI and the refresh log show; :attr:`plan` fails the step with ours instead."""
        run = context.run
        try:
            check_plan_fits_job(plan_for(self.mode), run.job_name if run is not None else None)
        except PlanContradictsJob as error:
            self._contradiction = str(error)

    @property
    def plan(self) -> RefreshPlan:
        """The plan of the configured mode. Each step reads it before doing anything: in a
        run whose plan contradicts its job, that fails the step, one line, not retried."""
        if self._contradiction is not None:
            raise dg.Failure(description=self._contradiction, allow_retries=False)
        return plan_for(self.mode)


# The one instance every concern's definitions bind (Definitions.merge wants the same
# object under one key); its mode comes from the run config, never from a default.
refresh_plan_resource = RefreshPlanResource.configure_at_launch()
