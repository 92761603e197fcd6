"""When the refreshes run: nightly at 02:00, hourly at :05, in a configurable timezone."""

import os

import dagster as dg

from pipelines.defs.refresh.jobs import hourly_refresh, nightly_refresh, refresh_run_config

TIMEZONE_VAR = "SHOPMARTS_SCHEDULE_TIMEZONE"


def schedule_timezone() -> str:
    """IANA timezone of the schedules (`SHOPMARTS_SCHEDULE_TIMEZONE`, default UTC)."""
    return os.environ.get(TIMEZONE_VAR) or "UTC"


def build_schedules() -> list[dg.ScheduleDefinition]:
    timezone = schedule_timezone()
    return [
        dg.ScheduleDefinition(
            name="nightly_refresh_schedule",
            job=nightly_refresh,
            cron_schedule="0 2 * * *",
            # Explicit, so the run records its plan (the refresh-log sensors read it there).
            run_config=refresh_run_config("nightly"),
            execution_timezone=timezone,
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description="The full refresh, every night at 02:00.",
        ),
        dg.ScheduleDefinition(
            name="hourly_refresh_schedule",
            job=hourly_refresh,
            cron_schedule="5 * * * *",
            run_config=refresh_run_config("hourly"),
            execution_timezone=timezone,
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description="The incremental refresh, at five past every hour.",
        ),
    ]
