"""The refresh plan: one value per mode, carried in the run config, read by every step.

- each mode's plan: its job, extract mode, marts, shadow;
- what a run of each job gets from the job's default config (the Launchpad's, and that of
  a run launched with an empty config);
- a run config that contradicts its job fails its first step with one clear line;
- the publish swaps in exactly the plan's marts, through the real assets and engines.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import dagster as dg
import pytest
from test_quality_gates import Pipeline, ensure_published, failure_messages

from core.settings import Environment
from core.vocabulary import HOURLY_MARTS, MARTS, PUBLISHED_SCHEMA, REFRESH_TAG, SHADOW_SCHEMA
from pipelines.defs.plan import (
    MODES,
    PLAN_OF_JOB,
    PlanContradictsJob,
    check_plan_fits_job,
    plan_for,
    plan_in_run_config,
    plan_of_run,
)
from pipelines.defs.publish.marts import mart_fingerprints
from pipelines.defs.refresh.jobs import refresh_run_config
from pipelines.defs.refresh_log import latest_refreshes
from pipelines.runtime.step_failures import step_failure_message


@pytest.mark.fast
def test_each_mode_makes_its_plan() -> None:
    nightly, hourly = plan_for("nightly"), plan_for("hourly")
    assert (nightly.job_name, nightly.extract_mode, nightly.marts) == (
        "nightly_refresh",
        "full",
        MARTS,
    )
    assert (hourly.job_name, hourly.extract_mode, hourly.marts) == (
        "hourly_refresh",
        "incremental",
        HOURLY_MARTS,
    )
    for plan in (nightly, hourly):
        assert (plan.shadow_schema, plan.published_schema) == (SHADOW_SCHEMA, PUBLISHED_SCHEMA)
        assert set(plan.marts) | set(plan.marts_left_as_they_were) == set(MARTS)
    assert hourly.marts_left_as_they_were == tuple(m for m in MARTS if m not in HOURLY_MARTS)
    assert plan_for("nightly") == nightly  # a value: made again, equal
    with pytest.raises(ValueError, match="unknown refresh mode 'weekly'"):
        plan_for("weekly")
    with pytest.raises(dataclasses.FrozenInstanceError):
        nightly.mode = "hourly"  # type: ignore[misc]  # frozen


@pytest.mark.fast
@pytest.mark.parametrize("mode", MODES)
def test_the_launchpad_default_of_each_job_is_its_plan(mode: str) -> None:
    """The job's default config carries its plan, once; a run launched with an empty
    config (or the Launchpad's default) resolves to it, and nothing else configures the
    extract mode or the marts' schema."""
    from pipelines.definitions import defs

    plan = plan_for(mode)
    job = defs.resolve_job_def(plan.job_name)
    assert job.run_config == refresh_run_config(mode)
    assert plan_in_run_config(job.run_config or {}) == plan
    resolved = dg.validate_run_config(job, {})
    assert resolved["resources"]["refresh_plan"]["config"] == {"mode": mode}
    assert plan_in_run_config(resolved) == plan
    # The per-op settings the plan replaced are gone from the steps' config.
    ops = {op: (given or {}).get("config") or {} for op, given in resolved["ops"].items()}
    assert "mode" not in ops["extract_raw"]
    assert not [op for op, config in ops.items() if "marts_schema" in config]
    # The sensors' reading of a run launched with an empty config: its job's plan.
    assert plan_of_run({}, plan.job_name) == plan
    assert plan_of_run(refresh_run_config("hourly"), plan.job_name) == plan_for("hourly")
    # The tag stays for the run queue's concurrency limit.
    assert job.tags[REFRESH_TAG] == mode
    assert PLAN_OF_JOB[plan.job_name] == plan


@pytest.mark.fast
def test_a_plan_contradicting_its_job_is_refused_in_one_line() -> None:
    check_plan_fits_job(plan_for("hourly"), "hourly_refresh")
    check_plan_fits_job(plan_for("hourly"), "__ASSET_JOB")  # launched from the asset graph
    with pytest.raises(PlanContradictsJob) as refused:
        check_plan_fits_job(plan_for("hourly"), "nightly_refresh")
    line = str(refused.value)
    assert "\n" not in line
    assert line.startswith("nightly_refresh runs the nightly plan, but its run config asks for")
    assert "launch hourly_refresh for a hourly refresh" in line


def test_a_run_whose_config_contradicts_its_job_fails_at_its_first_step() -> None:
    """The nightly job launched with the hourly plan: the extract, its first step, fails as
    it starts (before touching any engine), naming the contradiction in its first line."""
    from pipelines.definitions import defs

    job = defs.resolve_job_def("nightly_refresh")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            run_config=refresh_run_config("hourly"),
            instance=instance,
            raise_on_error=False,
            # Only the first step: the others would be skipped behind it anyway.
            asset_selection=[dg.AssetKey(["postgres", "raw", "orders"])],
        )
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert [e.step_key for e in failures] == ["extract_raw"]
    # What `shopmarts refresh`, the run's page and the refresh log show of the step.
    line = step_failure_message(failures[0].step_failure_data)
    assert line == (
        "nightly_refresh runs the nightly plan, but its run config asks for the hourly plan "
        "(refresh_plan.config.mode: hourly): launch hourly_refresh for a hourly refresh"
    )
    # It stopped there: nothing was loaded.
    assert not result.get_asset_materialization_events()


@pytest.fixture(scope="module")
def pipeline(environment: Environment) -> Pipeline:
    return Pipeline(environment)


def test_publish_swaps_in_exactly_the_plans_marts(
    environment: Environment, pipeline: Pipeline
) -> None:
    """Every mart rebuilt, gated and compared in the shadow, but the run's plan is the
    hourly one: the hourly marts are published, the others stay exactly as they were."""
    ensure_published(environment, pipeline)
    before = mart_fingerprints(environment)
    # With the hourly plan's own extract: raw as the shop is now, whatever earlier tests of
    # the session did to the shop (a fault restored in the shop stays in raw until a load).
    result = pipeline.run(extract="incremental", marts=MARTS, mode="hourly")
    assert result.success, failure_messages(result)
    after = mart_fingerprints(environment)
    changed = {mart for (_engine, mart), print_ in after.items() if print_ != before[_engine, mart]}
    assert changed == set(HOURLY_MARTS), changed
    published = result.asset_materializations_for_node("published_marts")
    metadata: Mapping[str, Any] = published[0].metadata
    assert metadata["marts_published"].value == ", ".join(sorted(HOURLY_MARTS))
    assert metadata["mode"].value == "hourly"
    latest = latest_refreshes(environment, 1)[0]
    assert latest["run_id"] == result.run_id and latest["mode"] == "hourly"
    assert sorted(latest["marts_published"]) == sorted(HOURLY_MARTS)  # type: ignore[arg-type]


def test_the_failure_sensor_logs_the_plan_of_the_failed_runs_config() -> None:
    """The refresh log's row of a run that failed before its gates names the mode of the
    plan in the run's config (here: the hourly plan the nightly job refused)."""
    from pipelines.definitions import defs
    from pipelines.defs.refresh.sensors import ended_run_outcome

    job = defs.resolve_job_def("nightly_refresh")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            run_config=refresh_run_config("hourly"),
            instance=instance,
            raise_on_error=False,
            asset_selection=[dg.AssetKey(["postgres", "raw", "orders"])],
        )
        run = instance.get_run_by_id(result.run_id)
        assert run is not None
        (failure,) = [
            e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE
        ]
        context = dg.build_run_status_sensor_context(
            sensor_name="refresh_failure_to_refresh_log",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=run,
        )
        outcome = ended_run_outcome(context, "failed")
    assert outcome.mode == "hourly" and outcome.status == "failed"
    assert outcome.detail.startswith("nightly_refresh failed before its gates decided: step ")
    assert "runs the nightly plan, but its run config asks for the hourly plan" in outcome.detail


@pytest.mark.fast
@pytest.mark.parametrize("mode", MODES)
def test_the_parity_waits_for_both_dbt_steps_not_for_the_mart_gates(mode: str) -> None:
    """Each engine's lane ends with its mart gate; the parity needs both engines' marts
    built, not validated, so it runs beside the gates. The publish waits for all three."""
    from pipelines.definitions import defs

    job = defs.resolve_job_def(plan_for(mode).job_name)
    structure = job.graph.dependency_structure

    def upstream(step: str) -> set[str]:
        return {
            handle.node_name
            for handles in structure.input_to_upstream_outputs_for_node(step).values()
            for handle in handles
        }

    assert upstream("marts_cross_engine_parity") == {"dbt_postgres", "dbt_clickhouse"}
    assert {
        "marts_cross_engine_parity",
        "postgres_mart_gate",
        "clickhouse_mart_gate",
    } <= upstream("published_marts")
