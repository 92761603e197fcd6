"""Dagster assets of the extract: the shop's tables, and their raw copies in both engines.

One multi-asset materializes every `postgres/raw/<table>` and `clickhouse/raw/<table>`
selected in a run, so all of them come from one snapshot of the shop. The shop's
tables are external assets (`shop/<table>`): lineage starts there.

The tables are those of the configured source profile (`SHOPMARTS_SOURCE_PROFILE`,
`ingest/profiles/`): the UI shows the shop's real tables, and dbt's sources of that
profile (`shop_<profile>`) map onto the same `<engine>/raw/<table>` keys, so lineage
runs from them to the marts. Asset keys are fixed when the definitions load, so the
profile is read then: the code server serves one profile's graph.
"""

# No `from __future__ import annotations`: Dagster reads the config and resource
# annotations at definition time.
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Literal

import dagster as dg
import psycopg
from clickhouse_connect.driver.exceptions import OperationalError as ClickHouseOperationalError

from core.errors import ShopmartsError
from core.vocabulary import ENGINES, Engine
from ingest.extract.options import ExtractOptions
from ingest.extract.report import LoadReport
from ingest.extract.run import extract_loads
from ingest.profiles import Profile, configured_profile
from pipelines.defs.environment import ShopmartsEnvironment
from pipelines.defs.keys import raw_key, shop_table_key
from pipelines.defs.plan import RefreshPlanResource

_ENGINE_NAMES = {"postgres": "the warehouse (PostgreSQL schema `raw`)", "clickhouse": "ClickHouse"}


class ExtractConfig(dg.Config):
    """How a run extracts. Whether it loads `full` (replaces raw, reconciles hard deletes)
    or `incremental` (upserts rows whose updated_at passed the stored watermark) is the
    run's plan's (the `refresh_plan` resource)."""

    safety_margin_minutes: float = 5.0
    workers: int = 2
    clickhouse_method: Literal["stream", "pull"] = "stream"
    # A connection error is retried 3 times, after this many seconds, then 3x, then 7x
    # (exponential backoff, with jitter); any other error fails the extract at once.
    retry_delay_seconds: float = 10.0


def profile_shop_table_specs(profile: Profile) -> list[dg.AssetSpec]:
    """`shop/<table>` of every table of ``profile``'s shop schema, in its load order."""
    return [
        dg.AssetSpec(
            key=shop_table_key(table),
            group_name="shop",
            kinds={"postgres"},
            description=(
                f"The shop's `public.{table}` table (source profile `{profile.name}`, seed "
                f"{profile.seed}: {profile.shop}): the source, written by the shop."
            ),
        )
        for table in profile.table_names
    ]


def profile_raw_table_specs(profile: Profile) -> list[dg.AssetSpec]:
    """`<engine>/raw/<table>` of every table of ``profile``, each fed by its shop table."""
    return [
        dg.AssetSpec(
            key=raw_key(engine, table),
            deps=[shop_table_key(table)],
            group_name="raw",
            kinds={engine},
            description=(
                f"`raw.{table}` in {_ENGINE_NAMES[engine]}: the shop's `{table}` with the "
                "same columns, loaded by the extract (full: replaced from one snapshot; "
                "incremental: rows past the watermark upserted)."
                + (" Read with FINAL: one row per primary key." if engine == "clickhouse" else "")
            ),
        )
        for engine in ENGINES
        for table in profile.table_names
    ]


# The extract itself reads the tables' columns, types and keys from the shop's catalog at
# run time; the profile says which tables there are.
SOURCE_PROFILE: Profile = configured_profile()
shop_table_specs: list[dg.AssetSpec] = profile_shop_table_specs(SOURCE_PROFILE)


def raw_loads_of_run(
    instance: dg.DagsterInstance, run_id: str
) -> dict[dg.AssetKey, Mapping[str, dg.MetadataValue]]:
    """The metadata (:func:`load_metadata`) of every raw table the run loaded, by asset key;
    the last load where a retried step loaded a table twice. One read of the event log."""
    loads: dict[dg.AssetKey, Mapping[str, dg.MetadataValue]] = {}
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    for record in records:
        materialization = record.event_log_entry.asset_materialization
        if materialization and materialization.asset_key.path[1:2] == ["raw"]:
            loads[materialization.asset_key] = materialization.metadata
    return loads


def load_metadata(report: LoadReport) -> dict[str, dg.MetadataValue]:
    """What the UI shows for one load: rows, bytes, duration, watermark, how."""
    metadata: dict[str, dg.MetadataValue] = {
        "rows": dg.MetadataValue.int(report.rows),
        "bytes": dg.MetadataValue.int(report.bytes),
        "duration_seconds": dg.MetadataValue.float(round(report.seconds, 3)),
        "mode": dg.MetadataValue.text(report.mode),
        "reason": dg.MetadataValue.text(report.reason),
        "method": dg.MetadataValue.text(report.method),
        "cursor_column": dg.MetadataValue.text(report.cursor_column or "none"),
        "watermark": (
            dg.MetadataValue.timestamp(report.watermark)
            if report.watermark
            else dg.MetadataValue.text("none: reloaded whole every run")
        ),
    }
    if report.deleted is not None:
        metadata["rows_deleted"] = dg.MetadataValue.int(report.deleted)
    if report.lower_bound is not None:
        metadata["lower_bound"] = dg.MetadataValue.timestamp(report.lower_bound)
    if report.mode == "full":
        metadata["dagster/row_count"] = dg.MetadataValue.int(report.rows)
    return metadata


def extract_raw_asset(profile: Profile) -> dg.AssetsDefinition:
    """The extract's multi-asset over ``profile``'s tables (`<engine>/raw/<table>`)."""

    @dg.multi_asset(
        name="extract_raw",
        specs=profile_raw_table_specs(profile),
        can_subset=True,
        description=(
            "Extract the selected shop tables into raw, in both engines, from one snapshot "
            f"(source profile `{profile.name}`)."
        ),
    )
    def _extract_raw(
        context: dg.AssetExecutionContext,
        config: ExtractConfig,
        shopmarts_environment: ShopmartsEnvironment,
        refresh_plan: RefreshPlanResource,
    ) -> Iterator[dg.MaterializeResult]:
        yield from extract_selected(context, config, shopmarts_environment, refresh_plan)

    return _extract_raw


def extract_selected(
    context: dg.AssetExecutionContext,
    config: ExtractConfig,
    shopmarts_environment: ShopmartsEnvironment,
    refresh_plan: RefreshPlanResource,
) -> Iterator[dg.MaterializeResult]:
    """Load the run's selected raw tables (the plan's mode) and report each load."""
    plan = refresh_plan.plan  # first: a plan contradicting the job stops the run here
    targets: list[tuple[str, Engine]] = []
    for key in context.selected_asset_keys:
        engine, _raw, table = key.path
        targets.append((table, engine))  # type: ignore[arg-type]
    options = ExtractOptions(
        raw_schema=shopmarts_environment.raw_schema,
        safety_margin=timedelta(minutes=config.safety_margin_minutes),
        workers=config.workers,
        clickhouse_method=config.clickhouse_method,
    )
    try:
        reports = extract_loads(
            shopmarts_environment.environment(),
            plan.extract_mode,
            targets,
            options=options,
        )
    except (psycopg.OperationalError, ClickHouseOperationalError, OSError) as error:
        # Transient: Dagster runs the op again after a backoff. Raised here rather than set as
        # the op's retry policy, which Dagster also applies to interrupts: a run terminated
        # during the extract would be retried instead of cancelled.
        backoff = dg.RetryPolicy(
            max_retries=3,
            delay=config.retry_delay_seconds,
            backoff=dg.Backoff.EXPONENTIAL,
            jitter=dg.Jitter.PLUS_MINUS,
        )
        raise dg.RetryRequested(
            max_retries=backoff.max_retries,
            seconds_to_wait=backoff.calculate_delay(context.retry_number + 1),
        ) from error
    except ShopmartsError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error
    except Exception as error:
        raise dg.Failure(
            description=f"extract failed: {type(error).__name__}: {error}", allow_retries=False
        ) from error
    for report in reports:
        context.log.info(
            f"{report.engine}/raw/{report.table}: {report.mode} ({report.reason}), "
            f"{report.rows} rows in {report.seconds:.2f}s"
        )
        yield dg.MaterializeResult(
            asset_key=raw_key(report.engine, report.table), metadata=load_metadata(report)
        )


extract_raw: dg.AssetsDefinition = extract_raw_asset(SOURCE_PROFILE)
