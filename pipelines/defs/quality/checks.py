"""The gates as Dagster blocking asset checks.

- `<engine>_raw_gate`: the raw suites on `<engine>/raw/<table>`, after the extract and
  before dbt (dbt's assets depend on the raw tables, so a failed blocking check stops them).
  The tables and their rules are the configured source profile's
  (`quality/suites/profiles/`, the canonical shop's in `quality/suites/raw.py`).
- `<engine>_mart_gate`: the mart suites on the shadow marts (the run's plan's shadow,
  `marts_next`), after dbt and before the publish step (which depends on every mart).
- Cross-engine parity is the dbt module's `marts_cross_engine_parity` check.

A failing gate yields a failed check per failing table (metadata: each failing
expectation with its unexpected count and samples, the Data Docs page), records the
refresh as failed in `meta.refresh_log`, and fails its step with the failing
expectations named, so the run stops there and says why.

Great Expectations is imported when a gate runs, not when the definitions load: it costs
seconds, and every run worker loads the definitions.
"""

# No `from __future__ import annotations`: Dagster reads the config and resource
# annotations at definition time.
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence

import dagster as dg
from pydantic import Field

from core.settings import Environment
from core.vocabulary import (
    ENGINES,
    MART_CHECK_NAME,
    MARTS,
    RAW_CHECK_NAME,
)
from ingest.profiles import Profile
from pipelines.defs.environment import ShopmartsEnvironment
from pipelines.defs.extract.assets import SOURCE_PROFILE, raw_loads_of_run
from pipelines.defs.keys import mart_key, raw_key
from pipelines.defs.plan import RefreshPlan, RefreshPlanResource
from pipelines.runtime.docs_server import docs_url

# Cross-mart rules: the mart whose suite holds the rule -> the other mart it reads.
CROSS_MART_PARTNERS: dict[str, tuple[str, ...]] = {
    "customer_segments": ("customer_analytics",),
    "monthly_revenue": ("daily_sales",),
}


class RawGateConfig(dg.Config):
    """Tolerances of the raw suites."""

    future_tolerance_minutes: float = Field(
        default=60.0, description="How far past the gate's clock an order may be dated."
    )
    max_row_count_drop: float = Field(
        default=0.2,
        description="Largest share of rows a table may lose since the last load that passed.",
    )


def rebuilt_in_run(context: dg.AssetCheckExecutionContext, keys: Sequence[dg.AssetKey]) -> set:
    """The keys among ``keys`` materialized by this very run."""
    rebuilt = set()
    for key in keys:
        event = context.instance.get_latest_materialization_event(key)
        if event is not None and event.run_id == context.run.run_id:
            rebuilt.add(key)
    return rebuilt


def outcome_metadata(outcome, result) -> dict[str, dg.MetadataValue]:  # noqa: ANN001
    """What the UI shows for one suite: counts, identity, timings, Data Docs, failures."""
    metadata: dict[str, dg.MetadataValue] = {
        "relation": dg.MetadataValue.text(outcome.relation),
        "relation_identity": dg.MetadataValue.text(outcome.relation_identity or "missing"),
        "expectations_evaluated": dg.MetadataValue.int(outcome.evaluated),
        "expectations_failed": dg.MetadataValue.int(len(outcome.failures)),
        "gate_seconds": dg.MetadataValue.float(round(result.seconds, 3)),
    }
    if outcome.row_count is not None:
        metadata["rows"] = dg.MetadataValue.int(outcome.row_count)
    # Over http from the docs server: a browser will not open file:// from the UI's page.
    if page := docs_url(outcome.docs_url):
        metadata["data_docs"] = dg.MetadataValue.url(page)
    if index := docs_url(result.docs_url):
        metadata["data_docs_index"] = dg.MetadataValue.url(index)
    if outcome.failures:
        metadata["failing_expectations"] = dg.MetadataValue.json(
            [failure.as_dict() for failure in outcome.failures]
        )
        rows = [
            "| rule | type | failing rows | keys of failing rows | samples |",
            "|---|---|---|---|---|",
        ]
        for failure in outcome.failures:
            count = (
                f"{failure.unexpected_count:,}"
                if failure.unexpected_count is not None
                else (failure.error and "error") or f"observed {failure.observed}"
            )
            keys = "; ".join(failure.example_keys).replace("|", "\\|")
            samples = "; ".join(failure.samples[:3]).replace("|", "\\|")
            rows.append(
                f"| `{failure.rule}` | {failure.expectation_type} | {count} | {keys} | {samples} |"
            )
        metadata["failures"] = dg.MetadataValue.md("\n".join(rows))
    skipped = [rule for rule in result.skipped_rules if rule.startswith(f"{outcome.table}.")]
    if skipped:
        metadata["skipped_cross_mart_rules"] = dg.MetadataValue.text(
            ", ".join(skipped) + " (the other mart was not rebuilt in this run)"
        )
    return metadata


def report_gate(
    context: dg.AssetCheckExecutionContext,
    environment: Environment,
    plan: RefreshPlan,
    result,  # noqa: ANN001 - quality.results.GateResult, imported lazily
    check_name: str,
    key_for,  # noqa: ANN001 - table name -> asset key
    scopes: Mapping[str, str] | None = None,
) -> Iterator[dg.AssetCheckResult]:
    """Record the gate, yield one check result per suite, and fail the step if any failed.

    ``scopes``: for suites that read only some rows of their table, which ones."""
    from pipelines.defs.refresh_log import RefreshOutcome, record_refresh
    from quality import records

    records.record_gate(environment.warehouse_url, context.run.run_id, result)
    context.log.info(result.describe())
    for outcome in result.outcomes:
        metadata = outcome_metadata(outcome, result)
        metadata["validated_rows"] = dg.MetadataValue.text(
            (scopes or {}).get(outcome.table, "the whole table")
        )
        yield dg.AssetCheckResult(
            asset_key=key_for(outcome.table),
            check_name=check_name,
            passed=outcome.success,
            severity=dg.AssetCheckSeverity.ERROR,
            description=outcome.describe(),
            metadata=metadata,
        )
    if result.success:
        return
    gate = f"{result.engine} {result.gate}"
    # Each line: engine, relation, rule, how many rows fail it and the keys of a few.
    failing = result.failure_lines()
    record_refresh(
        environment,
        RefreshOutcome(
            run_id=context.run.run_id,
            mode=plan.mode,
            status="gate_failed",
            gates_failed=[gate],
            failing_expectations=failing,
            detail=f"{gate} gate failed: nothing published",
        ),
    )
    # The first line is what `shopmarts refresh` and the run's summary show: it names the
    # first failing expectation itself, not just the gate.
    more = f" (and {len(failing) - 1} more)" if len(failing) > 1 else ""
    raise dg.Failure(
        description=(
            f"The {gate} gate failed, nothing is published: {failing[0]}{more}\n{result.describe()}"
        ),
        metadata={
            "failing_rules": dg.MetadataValue.text(
                ", ".join(failure.rule for failure in result.failures)
            ),
            "failing_expectations": dg.MetadataValue.json(
                [
                    {"engine": result.engine, "relation": outcome.relation, **failure.as_dict()}
                    for outcome in result.outcomes
                    for failure in outcome.failures
                ]
            ),
            "data_docs_index": dg.MetadataValue.url(docs_url(result.docs_url) or ""),
        },
        allow_retries=False,
    )


def loaded_incrementally(
    context: dg.AssetCheckExecutionContext, engine: str, tables: Sequence[str]
) -> dict[str, tuple[str, dt.datetime]]:
    """Tables this run loaded incrementally into ``engine``: {table: (cursor column, lower
    bound)}, from the extract's materializations. The raw gate validates their rows from
    the bound on, the rows the load wrote; every other table is validated whole."""
    loads = raw_loads_of_run(context.instance, context.run.run_id)
    changed = {}
    for table in tables:
        metadata = loads.get(raw_key(engine, table), {})
        bound, cursor = metadata.get("lower_bound"), metadata.get("cursor_column")
        if not isinstance(bound, dg.TimestampMetadataValue) or cursor is None:
            continue
        # Kept as float seconds: a millisecond wider, so rounding never leaves a row out.
        since = dt.datetime.fromtimestamp(bound.value, dt.UTC)
        changed[table] = (str(cursor.value), since - dt.timedelta(milliseconds=1))
    return changed


def raw_gate(engine: str, profile: Profile = SOURCE_PROFILE) -> dg.AssetChecksDefinition:
    """The blocking raw gate of ``engine``: one check per raw table of source ``profile``
    (default: the configured one), run together.

    The suites are that profile's rule table (:func:`quality.suites.raw_suites`).
    """
    tables = profile.table_names

    @dg.multi_asset_check(
        name=f"{engine}_raw_gate",
        specs=[
            dg.AssetCheckSpec(
                RAW_CHECK_NAME,
                asset=raw_key(engine, table),
                blocking=True,
                description=(
                    f"Great Expectations suite `raw.{table}` (source profile "
                    f"`{profile.name}`): keys, references, ranges and sets, "
                    "identities, row count against the last good load."
                ),
            )
            for table in tables
        ],
        can_subset=True,
        description=f"Raw suites on {engine}: a failure stops the run before dbt.",
    )
    def _raw_gate(
        context: dg.AssetCheckExecutionContext,
        config: RawGateConfig,
        shopmarts_environment: ShopmartsEnvironment,
        refresh_plan: RefreshPlanResource,
    ) -> Iterator[dg.AssetCheckResult]:
        from quality.gate import run_raw_gate

        plan = refresh_plan.plan
        environment = shopmarts_environment.environment()
        selected = sorted(key.asset_key.path[-1] for key in context.selected_asset_check_keys)
        changed = loaded_incrementally(context, engine, selected)
        result = run_raw_gate(
            environment,
            engine,  # type: ignore[arg-type]
            selected,
            run_id=context.run.run_id,
            future_tolerance=dt.timedelta(minutes=config.future_tolerance_minutes),
            max_row_count_drop=config.max_row_count_drop,
            changed_since=changed,
            profile=profile.name,
        )
        scopes = {
            table: f"the rows this load wrote: {cursor} >= {since:%Y-%m-%d %H:%M:%S.%f} UTC "
            "(the row count is the whole table's)"
            for table, (cursor, since) in changed.items()
        }
        yield from report_gate(
            context,
            environment,
            plan,
            result,
            RAW_CHECK_NAME,
            lambda t: raw_key(engine, t),
            scopes,
        )

    return _raw_gate


def mart_gate(engine: str, marts: Sequence[str] = MARTS) -> dg.AssetChecksDefinition:
    """The blocking mart gate of ``engine``, on the shadow marts."""

    @dg.multi_asset_check(
        name=f"{engine}_mart_gate",
        specs=[
            dg.AssetCheckSpec(
                MART_CHECK_NAME,
                asset=mart_key(engine, mart),
                blocking=True,
                additional_deps=[mart_key(engine, p) for p in CROSS_MART_PARTNERS.get(mart, ())],
                description=(
                    f"Great Expectations suite `marts.{mart}` on the shadow: grain unique, "
                    "figures not negative, scores and sets, cross-mart identities."
                ),
            )
            for mart in marts
        ],
        can_subset=True,
        description=f"Mart suites on {engine}'s shadow marts: a failure stops the publish.",
    )
    def _mart_gate(
        context: dg.AssetCheckExecutionContext,
        shopmarts_environment: ShopmartsEnvironment,
        refresh_plan: RefreshPlanResource,
    ) -> Iterator[dg.AssetCheckResult]:
        from quality.gate import run_mart_gate

        plan = refresh_plan.plan
        environment = shopmarts_environment.environment()
        selected = sorted(key.asset_key.path[-1] for key in context.selected_asset_check_keys)
        rebuilt = {
            key.path[-1] for key in rebuilt_in_run(context, [mart_key(engine, m) for m in MARTS])
        }
        result = run_mart_gate(
            environment,
            engine,  # type: ignore[arg-type]
            selected,
            schema=plan.shadow_schema,
            rebuilt_together=rebuilt,
            run_id=context.run.run_id,
        )
        yield from report_gate(
            context,
            environment,
            plan,
            result,
            MART_CHECK_NAME,
            lambda m: mart_key(engine, m),
        )

    return _mart_gate


raw_gates: list[dg.AssetChecksDefinition] = [raw_gate(engine) for engine in ENGINES]
mart_gates: list[dg.AssetChecksDefinition] = [mart_gate(engine) for engine in ENGINES]
