"""dbt assets: the staging views and the marts, built by dbt in the warehouse and in ClickHouse.

One dbt project, two targets: a `DbtProject` per target (its own target path, so one
manifest never overwrites the other), an `@dbt_assets` per target, and a blocking
asset check proving the two engines' marts identical.
"""

# No `from __future__ import annotations`: Dagster reads the config and resource
# annotations at definition time.
import functools
import importlib.metadata
import json
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets
from packaging import version
from pydantic import Field

from core.settings import source_profile_name
from core.vocabulary import ENGINES, PARITY_CHECK_NAME
from ingest.profiles import DEFAULT_PROFILE
from pipelines.defs.dbt.connection import (
    DBT_PROJECT_DIR,
    PARSE_FINGERPRINT_FILE,
    PARTIAL_PARSE_FILE,
    TARGETS,
    dbt_environment,
    dbt_executable,
    dbt_runs_dir,
    dbt_target_root,
    seed_parse_state,
)
from pipelines.defs.dbt.staging_state import (
    STAGING_EXCLUSION,
    forget_staging_built,
    record_staging_built,
    staging_stamp,
    staging_views,
    why_build_staging,
)
from pipelines.defs.dbt.translator import ShopmartsDbtTranslator, dbt_layer
from pipelines.defs.environment import ShopmartsEnvironment
from pipelines.defs.keys import mart_key
from pipelines.defs.plan import PLAN_RESOURCE_KEY, RefreshPlan, RefreshPlanResource
from pipelines.defs.resources import ENVIRONMENT_RESOURCE_KEY
from quality.parity import MartParity, check_parity


@functools.cache
def dbt_project(target: str) -> DbtProject:
    """The dbt project as built for ``target`` (`postgres` or `clickhouse`), prepared once.

    A missing manifest, or one older than a file of the project (a model, an exposure,
    a macro edited since), is made with `dbt parse` (no connection needed); under
    `dagster dev` it is re-parsed so edits show up. Each source profile enables its own
    staging and sources, so another profile than the canonical one keeps its manifest
    apart (`target/<profile>/<target>`): switching profiles never re-parses the other's.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown dbt target {target!r}: expected one of {', '.join(TARGETS)}")
    profile = source_profile_name()
    root = dbt_target_root()
    project = DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        target=target,
        target_path=root / target if profile == DEFAULT_PROFILE else root / profile / target,
    )
    if manifest_is_stale(project.manifest_path, profile) or project.preparer.using_dagster_dev():
        resource = DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
        resource.cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project


def manifest_is_stale(manifest: Path, profile: str) -> bool:
    """Whether ``manifest`` is missing, older than a source file of the dbt project, or
    parsed for another source profile than ``profile``."""
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "tests"):
        sources += [path for path in (DBT_PROJECT_DIR / folder).rglob("*") if path.is_file()]
    if any(path.stat().st_mtime > built for path in sources if path.exists()):
        return True
    # Each profile enables its own staging and sources (`shop`, `shop_<profile>`): the
    # assets' lineage from the profile's raw tables needs the manifest of that profile.
    expected = "shop" if profile == DEFAULT_PROFILE else f"shop_{profile}"
    parsed = json.loads(manifest.read_text()).get("sources", {})
    return any(source.get("source_name") != expected for source in parsed.values())


def mart_names(target: str = "clickhouse") -> list[str]:
    """The marts (models under models/marts) of the project, from the manifest."""
    manifest = json.loads(dbt_project(target).manifest_path.read_text())
    return sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and dbt_layer(node) == "marts"
    )


class DbtBuildConfig(dg.Config):
    """What a dbt build of a refresh computes as of (where it builds is the run's plan)."""

    as_of_date: str = Field(
        default="",
        description="As-of date (YYYY-MM-DD) of recency and 30-day figures; empty: the day "
        "after the newest order.",
    )


def dbt_build_args(marts_schema: str, as_of_date: str = "") -> list[str]:
    """`dbt build` of the marts into ``marts_schema`` (a refresh: its plan's shadow), with
    the run's vars. Unit tests are left to the test suite (CI): a refresh runs the models
    and their data tests only. The same for the nightly and the hourly: whether the
    intermediate aggregates fold the change log in, dbt reads from the log
    (:attr:`RefreshPlan.incremental_marts`)."""
    variables: dict[str, str] = {"marts_schema": marts_schema}
    if as_of_date:
        variables["as_of_date"] = as_of_date
    # --partial-parse: the project turns partial parsing off for hand runs (dbt_project.yml
    # says why); a refresh re-parses only when the project changed (see `seed_parse_state`).
    return [
        "build",
        "--partial-parse",
        "--vars",
        json.dumps(variables),
        "--exclude-resource-type",
        "unit_test",
    ]


class ShopmartsDbtCliResource(DbtCliResource):
    """dagster-dbt's CLI resource, without a `dbt --version` in every run.

    dagster-dbt learns the dbt version by running `dbt --version`, which imports all of
    dbt and asks PyPI for the newest release: seconds per run worker, and a network call
    a refresh has no use for. The dbt beside this interpreter is the installed dbt-core.
    """

    @functools.cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable).parent == Path(sys.executable).parent:
            return version.parse(importlib.metadata.version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        """No dbt adapter in the step's own process.

        dagster-dbt opens one (loading the profile and the project, registering the
        adapter: 0.5-1.3 s per dbt step, measured) only for `fetch_row_counts` and
        `fetch_column_metadata`, which the refresh uses neither of; dbt itself runs in its
        own process. With no adapter, dagster-dbt skips those fetches.
        """
        return None


# Run folders (artifacts and logs of one dbt invocation) kept per target; older ones go.
KEPT_DBT_RUNS = 10


def keep_parse_state(runs_dir: Path, finished: Path, fingerprint: str) -> None:
    """Make ``finished``'s parse state, of the project ``fingerprint`` names, the next run's
    seed; drop all but the newest runs."""
    parsed = finished / PARTIAL_PARSE_FILE
    if parsed.exists():
        staged = runs_dir / f".{PARTIAL_PARSE_FILE}.{os.getpid()}"
        shutil.copyfile(parsed, staged)
        (runs_dir / PARSE_FINGERPRINT_FILE).write_text(fingerprint)
        staged.replace(runs_dir / PARTIAL_PARSE_FILE)
    runs = sorted(
        (path for path in runs_dir.iterdir() if path.is_dir()),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    for old in runs[KEPT_DBT_RUNS:]:
        shutil.rmtree(old, ignore_errors=True)


def _build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    target: str,
    environment: ShopmartsEnvironment,
    plan: RefreshPlan,
    config: DbtBuildConfig,
) -> Iterator:
    runs_dir = dbt_runs_dir(target)
    runs_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = seed_parse_state(runs_dir)
    engines = environment.environment()
    args = dbt_build_args(plan.shadow_schema, config.as_of_date)
    # An incremental build leaves the staging views alone when the last full build made
    # them from this very project on this server and they all exist (staging_state.py).
    stamp = staging_stamp(fingerprint, target, engines)
    why = why_build_staging(runs_dir, stamp, engines, target)
    keep_staging = plan.incremental_marts and why is None
    if keep_staging:
        # No JSON artifacts either: only a build of the staging views reads them
        # (`_built_staging`); dbt writes manifest.json twice, plus the graph and
        # run_results (0.4 s of CPU a build, as much as its smaller models).
        args += [*STAGING_EXCLUSION, "--no-write-json"]
        context.log.info("staging views unchanged since their last build: left out of dbt")
    else:
        if plan.incremental_marts:
            context.log.info(f"staging views built again: {why}")
        forget_staging_built(runs_dir)
    # dagster-dbt hands os.environ to dbt (and to its own adapter handle), so the
    # connection variables stay set while the invocation streams its events.
    with dbt_environment(engines, DBT_TARGET_PATH=str(runs_dir)):
        invocation = dbt.cli(args, context=context)
        # Not `.fetch_row_counts()`: dagster-dbt then hands the events through a thread
        # pool whose reader polls `Future.done()` in a loop without sleeping, holding the
        # GIL and a core for the whole build (10 CPU-seconds of a 30 s hourly refresh on
        # 2 cores). Each mart gate's check reports the mart's rows (metadata `rows`).
        yield from invocation.stream()
    keep_parse_state(runs_dir, invocation.target_path, fingerprint)
    if not keep_staging:
        built = _built_staging(invocation.target_path)
        if built:
            record_staging_built(runs_dir, stamp, built)


def _built_staging(run_folder: Path) -> list[tuple[str, str]]:
    """The staging views (schema, name) the finished build in ``run_folder`` made, if it
    built every staging model of its manifest successfully; else none."""
    results = json.loads((run_folder / "run_results.json").read_text())["results"]
    built = {
        result["unique_id"].split(".")[-1]
        for result in results
        if result["unique_id"].startswith("model.") and result["status"] == "success"
    }
    views = staging_views(run_folder / "manifest.json")
    return views if {name for _, name in views} <= built else []


# What each engine's dbt assets build, as the op's description in the UI.
_BUILDS = {
    "postgres": "Staging views and marts (materialized views) in the warehouse PostgreSQL.",
    "clickhouse": "Staging views and marts (MergeTree tables) in ClickHouse.",
}


def engine_dbt_assets(target: str, manifest: Path | None = None) -> dg.AssetsDefinition:
    """The `@dbt_assets` of one engine (`dbt_<target>`), from the project's manifest or, for
    another source profile's lineage, from ``manifest``. The dbt CLI resource is
    `dbt_<target>` (:func:`dbt_resources`)."""
    project = dbt_project(target)
    resource_key = f"dbt_{target}"

    def build(context: dg.AssetExecutionContext, config: DbtBuildConfig) -> Iterator:
        yield from _build(
            context,
            getattr(context.resources, resource_key),
            target,
            getattr(context.resources, ENVIRONMENT_RESOURCE_KEY),
            getattr(context.resources, PLAN_RESOURCE_KEY).plan,
            config,
        )

    build.__doc__ = _BUILDS[target]
    return dbt_assets(
        manifest=manifest or project.manifest_path,
        project=project if manifest is None else None,
        dagster_dbt_translator=ShopmartsDbtTranslator(target),
        name=f"dbt_{target}",
        required_resource_keys={resource_key, ENVIRONMENT_RESOURCE_KEY, PLAN_RESOURCE_KEY},
    )(build)


postgres_dbt_assets = engine_dbt_assets("postgres")
clickhouse_dbt_assets = engine_dbt_assets("clickhouse")


def dbt_resources() -> dict[str, DbtCliResource]:
    """The dbt CLI resources the two `@dbt_assets` require, one per target."""
    executable = dbt_executable()
    return {
        f"dbt_{target}": ShopmartsDbtCliResource(
            # dagster-dbt takes a DbtProject here (its manifest and target path come along);
            # the field is typed as the folder only.
            project_dir=dbt_project(target),  # type: ignore[arg-type]
            dbt_executable=executable,
        )
        for target in TARGETS
    }


def parity_check_specs(marts: Sequence[str]) -> list[dg.AssetCheckSpec]:
    """The parity check of each mart, on both engines' assets.

    On both, not on one with the other as an extra dependency: Dagster holds a step back
    until the blocking checks of every asset it depends on have run, except the assets it
    checks itself. So the parity starts as soon as both dbt steps end, beside the two mart
    gates, not after the gate of the engine it only depended on.
    """
    return [
        dg.AssetCheckSpec(
            PARITY_CHECK_NAME,
            asset=mart_key(engine, mart),
            blocking=True,
            description=(
                f"`{mart}` holds the same rows in ClickHouse as in the warehouse: same "
                "columns and types, and every row equal (integers, dates, decimals, text "
                "exactly)."
            ),
        )
        for mart in marts
        for engine in ENGINES
    ]


def parity_metadata(result: MartParity) -> dict[str, dg.MetadataValue]:
    metadata: dict[str, dg.MetadataValue] = {
        "warehouse_rows": dg.MetadataValue.int(result.warehouse_rows or 0),
        "clickhouse_rows": dg.MetadataValue.int(result.clickhouse_rows or 0),
        "differing_rows": dg.MetadataValue.int(result.differing_rows),
        "grain": dg.MetadataValue.text(", ".join(result.grain) or "-"),
        "method": dg.MetadataValue.text(result.method or "-"),
        "duration_seconds": dg.MetadataValue.float(round(result.seconds, 3)),
    }
    if not result.passed:
        metadata["first_differences"] = dg.MetadataValue.md(
            "\n".join(f"- {line.strip()}" for line in result.describe().splitlines())
        )
    return metadata


@dg.multi_asset_check(
    specs=parity_check_specs(mart_names()),
    can_subset=True,
    name="marts_cross_engine_parity",
)
def marts_cross_engine_parity(
    context: dg.AssetCheckExecutionContext,
    shopmarts_environment: ShopmartsEnvironment,
    refresh_plan: RefreshPlanResource,
) -> Iterator[dg.AssetCheckResult]:
    """Compare the selected marts between the two engines, row for row, in the plan's shadow."""
    plan = refresh_plan.plan
    selected = context.selected_asset_check_keys
    marts = sorted({key.asset_key.path[-1] for key in selected})
    report = check_parity(
        shopmarts_environment.environment(), schema=plan.shadow_schema, marts=marts
    )
    context.log.info(report.summary())
    for result in report.marts:
        for engine in ENGINES:
            key = mart_key(engine, result.mart)
            if dg.AssetCheckKey(key, PARITY_CHECK_NAME) not in selected:
                continue
            yield dg.AssetCheckResult(
                asset_key=key,
                check_name=PARITY_CHECK_NAME,
                passed=result.passed,
                severity=dg.AssetCheckSeverity.ERROR,
                description=result.describe(),
                metadata=parity_metadata(result),
            )
