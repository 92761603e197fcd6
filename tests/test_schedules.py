"""The schedules ask for the right job at the right times, in the configured timezone."""

from __future__ import annotations

import importlib
from datetime import datetime
from itertools import islice
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from pipelines.defs.plan import plan_in_run_config
from pipelines.defs.refresh import schedules as schedules_module
from pipelines.defs.refresh.jobs import REFRESH_TAG, refresh_run_config
from pipelines.runtime.dagster_private import cron_string_iterator

pytestmark = pytest.mark.fast


def fire_times(schedule: dg.ScheduleDefinition, start: datetime, count: int) -> list[datetime]:
    times = cron_string_iterator(
        start.timestamp(), schedule.cron_schedule, schedule.execution_timezone
    )
    return list(islice(times, count))


def by_name() -> dict[str, dg.ScheduleDefinition]:
    return {schedule.name: schedule for schedule in schedules_module.build_schedules()}


def test_nightly_runs_at_two_and_hourly_at_five_past() -> None:
    start = datetime(2026, 11, 21, 0, 30, tzinfo=ZoneInfo("UTC"))
    nightly = by_name()["nightly_refresh_schedule"]
    hourly = by_name()["hourly_refresh_schedule"]
    assert nightly.job_name == "nightly_refresh" and hourly.job_name == "hourly_refresh"
    assert [t.strftime("%d %H:%M") for t in fire_times(nightly, start, 3)] == [
        "21 02:00",
        "22 02:00",
        "23 02:00",
    ]
    assert [t.strftime("%H:%M") for t in fire_times(hourly, start, 4)] == [
        "01:05",
        "02:05",
        "03:05",
        "04:05",
    ]


@pytest.mark.parametrize(
    ("name", "mode"),
    [("nightly_refresh_schedule", "nightly"), ("hourly_refresh_schedule", "hourly")],
)
def test_run_requests_carry_the_job_config_and_the_refresh_tag(name: str, mode: str) -> None:
    schedule = by_name()[name]
    when = datetime(2026, 11, 21, 2, 0, tzinfo=ZoneInfo("UTC"))
    with dg.build_schedule_context(scheduled_execution_time=when) as context:
        requests = schedule.evaluate_tick(context).run_requests
    assert requests is not None and len(requests) == 1
    request = requests[0]
    assert request.run_config == refresh_run_config(mode)
    plan = plan_in_run_config(request.run_config)
    assert plan is not None
    extract_mode = plan.extract_mode
    assert extract_mode == ("full" if mode == "nightly" else "incremental")
    job = schedule.job
    assert job.tags[REFRESH_TAG] == mode


def test_timezone_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPMARTS_SCHEDULE_TIMEZONE", "Europe/Berlin")
    importlib.reload(schedules_module)
    nightly = by_name()["nightly_refresh_schedule"]
    assert nightly.execution_timezone == "Europe/Berlin"
    start = datetime(2026, 11, 21, 0, 0, tzinfo=ZoneInfo("UTC"))
    first = fire_times(nightly, start, 1)[0]
    # 02:00 in Berlin is 01:00 UTC in November.
    assert first.astimezone(ZoneInfo("UTC")).strftime("%H:%M") == "01:00"


def test_hourly_runs_mart_checks_but_leaves_staging_tests_to_the_nightly() -> None:
    from core.vocabulary import MARTS
    from pipelines.definitions import defs
    from pipelines.defs.plan import plan_for

    graph = defs.resolve_asset_graph()

    def checks_of(job_name: str) -> set[dg.AssetCheckKey]:
        job = defs.resolve_job_def(job_name)
        return set(job.asset_layer.asset_graph.asset_check_keys) & set(graph.asset_check_keys)

    nightly, hourly = checks_of("nightly_refresh"), checks_of("hourly_refresh")
    layer = lambda key: key.asset_key.path[1] if len(key.asset_key.path) > 2 else ""  # noqa: E731
    assert {layer(key) for key in nightly} >= {"raw", "staging", "marts"}
    assert {layer(key) for key in hourly} == {"raw", "marts"}
    hourly_marts = {key.asset_key.path[2] for key in hourly if layer(key) == "marts"}
    # Every mart: the hourly folds the hour's changes into the aggregates and rebuilds all.
    assert hourly_marts == set(plan_for("hourly").marts) == set(MARTS)
