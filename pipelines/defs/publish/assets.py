"""The publish step as a Dagster asset: `published_marts`.

It depends on every mart of both engines, so it runs after dbt and only if every blocking
check on those marts passed (the mart gates and cross-engine parity). It publishes exactly
the marts of the run's plan (the `refresh_plan` resource). Before moving anything it
checks, again, what it is about to publish:

- that this run rebuilt every mart of the plan, in both engines (a mart rebuilt in one
  engine only would leave the engines different; a mart not rebuilt would publish a stale
  shadow: refused);
- for each, a passing mart gate in each engine for this run, whose recorded identity is
  still the shadow relation's (nothing rebuilt since), and a passing parity check of
  this run on the shadow;

then swaps exactly those marts in (see :mod:`pipelines.defs.publish.marts`) and writes the
refresh log. Marts outside the plan stay published as they were.
"""

# No `from __future__ import annotations`: Dagster reads the resource annotations.
from collections.abc import Mapping

import dagster as dg
import psycopg

from core.vocabulary import ENGINES, MARTS, PARITY_CHECK_NAME, Engine
from pipelines.defs.environment import ShopmartsEnvironment
from pipelines.defs.keys import PUBLISHED_MARTS_KEY, mart_key
from pipelines.defs.plan import RefreshPlan, RefreshPlanResource
from pipelines.defs.publish.marts import PublishError, publish_marts
from pipelines.defs.refresh_log import RefreshOutcome, record_refresh
from pipelines.engines.analyst import ensure_postgres_analyst


def unbuilt_marts(plan: RefreshPlan, rebuilt: Mapping[Engine, list[str]]) -> list[str]:
    """Why the plan's marts cannot all be published, given the marts this run ``rebuilt``
    in each engine: each one not rebuilt in both (none when it rebuilt them all)."""
    lopsided = [m for m in plan.marts if (m in rebuilt["postgres"]) != (m in rebuilt["clickhouse"])]
    missing = [m for m in plan.marts if not any(m in rebuilt[engine] for engine in ENGINES)]
    problems = []
    if lopsided:
        problems.append(
            f"rebuilt in one engine only: {', '.join(lopsided)} (both engines must publish "
            "the same marts)"
        )
    if missing:
        problems.append(
            f"not rebuilt by this run: {', '.join(missing)} (the {plan.mode} plan publishes "
            f"{', '.join(plan.marts)})"
        )
    return problems


def marts_rebuilt_in_run(
    context: dg.AssetExecutionContext, marts: tuple[str, ...] = MARTS
) -> dict[Engine, list[str]]:
    """{engine: the marts of ``engine`` materialized by this very run}, from one read of
    the run's materializations."""
    records = context.instance.get_records_for_run(
        context.run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    materialized = {
        record.event_log_entry.dagster_event.asset_key
        for record in records
        if record.event_log_entry.dagster_event is not None
    }
    return {
        engine: [mart for mart in marts if mart_key(engine, mart) in materialized]
        for engine in ENGINES
    }


def validated_identities(
    context: dg.AssetExecutionContext, warehouse_url: str, marts: list[str]
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """{engine: {mart: identity}} the mart gates of this run passed, and what is missing."""
    from quality import records

    passed = {
        (record.engine, record.subject): record.relation_identity
        for record in records.gate_records(warehouse_url, context.run.run_id)
        if record.gate == "marts" and record.passed and record.relation_identity
    }
    expected: dict[str, dict[str, str]] = {engine: {} for engine in ENGINES}
    problems = []
    for mart in marts:
        for engine in ENGINES:
            identity = passed.get((engine, mart))
            if identity is None:
                problems.append(f"{engine} {mart}: no passing mart gate in this run")
            else:
                expected[engine][mart] = identity
    # This run's own parity evaluations: the instance's "latest execution" of a check can
    # belong to a run queued behind this one (its planned checks are recorded at submit).
    parity_passed: dict[str, bool] = {}
    evaluations = context.instance.get_records_for_run(
        context.run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    for event_record in evaluations:
        event = event_record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event else None
        if evaluation is not None and evaluation.check_name == PARITY_CHECK_NAME:
            mart = evaluation.asset_key.path[-1]  # one evaluation on each engine's mart
            parity_passed[mart] = parity_passed.get(mart, True) and evaluation.passed
    for mart in marts:
        if mart not in parity_passed:
            problems.append(f"{mart}: no cross-engine parity check in this run")
        elif not parity_passed[mart]:
            problems.append(f"{mart}: cross-engine parity did not pass")
    # Parity compared the plan's shadow: it read the same `refresh_plan` as dbt and the gates.
    return expected, problems


@dg.asset(
    key=PUBLISHED_MARTS_KEY,
    deps=[mart_key(engine, mart) for engine in ENGINES for mart in MARTS],
    group_name="publish",
    kinds={"postgres", "clickhouse"},
    description=(
        "The marts analysts read (`marts` in both engines): the validated shadow marts of "
        "the run's refresh plan, swapped in atomically (Postgres: one transaction; "
        "ClickHouse: EXCHANGE TABLES). Runs only when every gate passed."
    ),
)
def published_marts(
    context: dg.AssetExecutionContext,
    shopmarts_environment: ShopmartsEnvironment,
    refresh_plan: RefreshPlanResource,
) -> dg.MaterializeResult:
    environment = shopmarts_environment.environment()
    plan = refresh_plan.plan

    def refuse(reason: str) -> dg.Failure:
        record_refresh(
            environment,
            RefreshOutcome(
                run_id=context.run.run_id,
                mode=plan.mode,
                status="publish_failed",
                gates_failed=["publish"],
                failing_expectations=[reason],
                detail=f"publish refused: {reason}",
            ),
        )
        return dg.Failure(description=f"Nothing published: {reason}", allow_retries=False)

    rebuilt = marts_rebuilt_in_run(context, plan.marts)
    if not any(rebuilt.values()):
        # Materialized on its own (from the asset graph): no shadow of this run to publish.
        context.log.info("This run rebuilt none of the plan's marts: nothing to publish.")
        return dg.MaterializeResult(metadata={"marts_published": dg.MetadataValue.text("none")})
    marts = list(plan.marts)
    problems = unbuilt_marts(plan, rebuilt)
    expected, unvalidated = validated_identities(context, environment.warehouse_url, marts)
    if problems or unvalidated:
        raise refuse("; ".join(problems + unvalidated))
    try:
        report = publish_marts(environment, marts, expected=expected)
    except PublishError as error:
        raise refuse(str(error)) from error
    record_refresh(
        environment,
        RefreshOutcome(
            run_id=context.run.run_id,
            mode=plan.mode,
            status="published",
            marts_published=report.published,
            publish_seconds=report.postgres.seconds + report.clickhouse.seconds,
            detail=(
                f"postgres swap {report.postgres.seconds * 1000:.1f} ms "
                f"({report.postgres.attempts} attempt(s)); clickhouse exchange "
                f"{report.clickhouse.seconds * 1000:.1f} ms"
            ),
        ),
    )
    # The refresh log may have just been created: the analyst reads it (freshness banner).
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        ensure_postgres_analyst(conn, manage_role=False)
    untouched = plan.marts_left_as_they_were
    context.log.info(
        f"Published {', '.join(report.published)}; left as they were: "
        f"{', '.join(untouched) or 'none'}"
    )
    return dg.MaterializeResult(
        metadata={
            "marts_published": dg.MetadataValue.text(", ".join(report.published)),
            "marts_left_as_they_were": dg.MetadataValue.text(", ".join(untouched) or "none"),
            "postgres_swap_ms": dg.MetadataValue.float(round(report.postgres.seconds * 1000, 2)),
            "postgres_attempts": dg.MetadataValue.int(report.postgres.attempts),
            "postgres_total_seconds": dg.MetadataValue.float(
                round(report.postgres.total_seconds, 3)
            ),
            "clickhouse_exchange_ms": dg.MetadataValue.float(
                round(report.clickhouse.seconds * 1000, 2)
            ),
            "clickhouse_total_seconds": dg.MetadataValue.float(
                round(report.clickhouse.total_seconds, 3)
            ),
            "mode": dg.MetadataValue.text(plan.mode),
        }
    )
