"""The two refresh jobs: what each selects and how it configures the steps.

Both build the marts into the shadow (`marts_next`), gate them there and publish only
what passed. What each step does is the job's refresh plan, in its default run config
(:mod:`pipelines.defs.plan`). They carry the `shopmarts/refresh` tag, which the
instance's queued run coordinator limits to one run at a time: a refresh never overlaps
another. Nothing else reads the tag.
"""

from typing import Any

import dagster as dg

from core.vocabulary import ENGINES, REFRESH_TAG
from pipelines.defs.keys import ANALYZED_KEY, DBT_DOCS_KEY, mart_keys
from pipelines.defs.plan import plan_for, plan_run_config
from pipelines.runtime.executor import forked_steps_executor

NIGHTLY = plan_for("nightly")
HOURLY = plan_for("hourly")


def refresh_run_config(mode: str) -> dict[str, Any]:
    """Run config of a ``mode`` refresh: its plan, carried once (the `refresh_plan`
    resource's mode); every step reads the extract mode, the marts and the shadow there."""
    return plan_run_config(mode)


STAGING = dg.AssetSelection.key_prefixes(
    *[[engine, layer] for engine in ENGINES for layer in ("staging", "intermediate")]
)
# The staging and intermediate models are in the job too: they carry the dependency on
# raw, so dbt never runs before the extract; the intermediate aggregates fold the hour's
# changes in, and `int_changes__folded` (read by no mart) moves their watermark. The
# staging views themselves are left out of the dbt build while the last full build made
# them from the same project (pipelines/defs/dbt/staging_state.py).
# Their dbt tests are not: they restate, on views over raw, the keys and references the
# raw gate has just validated, and each is a full scan plus events; the nightly runs them.
HOURLY_MARTS_WITH_STAGING = (
    dg.AssetSelection.assets(*mart_keys(HOURLY.marts))
    | (dg.AssetSelection.assets(*mart_keys(HOURLY.marts)).upstream() & STAGING).without_checks()
    | STAGING.without_checks()
)
RAW = dg.AssetSelection.key_prefixes(*[[engine, "raw"] for engine in ENGINES])
PUBLISH = dg.AssetSelection.assets("published_marts")

nightly_refresh = dg.define_asset_job(
    name=NIGHTLY.job_name,
    description=(
        "Full refresh: every shop table extracted whole from one snapshot (hard deletes "
        "reconciled), raw gates, every mart rebuilt in both engines into the shadow, mart "
        "gates and parity, atomic publish, ANALYZE, dbt docs."
    ),
    selection=(
        RAW
        | dg.AssetSelection.key_prefixes(
            *[
                [engine, layer]
                for engine in ENGINES
                for layer in ("staging", "intermediate", "marts")
            ]
        )
        | PUBLISH
        | dg.AssetSelection.assets(ANALYZED_KEY, DBT_DOCS_KEY)
    ),
    # The Launchpad's default: the nightly plan. The tag is for the run queue only.
    config=refresh_run_config(NIGHTLY.mode),
    tags={REFRESH_TAG: NIGHTLY.mode},
    executor_def=forked_steps_executor,
)

hourly_refresh = dg.define_asset_job(
    name=HOURLY.job_name,
    description=(
        "Incremental refresh: rows changed since the stored watermark, raw gates, the "
        "intermediate aggregates updated for the keys those rows touch, every mart "
        "rebuilt from them in both engines into the shadow, gates and parity, atomic "
        "publish."
    ),
    # No ANALYZE step: the marts' builds analyzed them; raw changed by a few rows.
    selection=RAW | HOURLY_MARTS_WITH_STAGING | PUBLISH,
    config=refresh_run_config(HOURLY.mode),
    tags={REFRESH_TAG: HOURLY.mode},
    executor_def=forked_steps_executor,
)
