"""dbt assets: staging and marts in both engines, and the cross-engine parity check.

``defs`` is self-contained: `pipelines/definitions.py` merges it with the others. It
shares the extract's `shopmarts_environment` resource (the same instance), so the
merge sees one definition of it.
"""

import dagster as dg

from pipelines.defs.dbt.assets import (
    DbtBuildConfig,
    clickhouse_dbt_assets,
    dbt_project,
    dbt_resources,
    mart_names,
    marts_cross_engine_parity,
    postgres_dbt_assets,
)
from pipelines.defs.dbt.connection import dbt_env, dbt_environment
from pipelines.defs.dbt.exposures import load_exposure_specs
from pipelines.defs.dbt.translator import ShopmartsDbtTranslator
from pipelines.defs.resources import STEP_RESOURCES

defs = dg.Definitions(
    # The exposures are the same in both manifests: the dashboards' pages, once each.
    assets=[
        postgres_dbt_assets,
        clickhouse_dbt_assets,
        *load_exposure_specs(dbt_project("postgres").manifest_path),
    ],
    asset_checks=[marts_cross_engine_parity],
    resources={
        **dbt_resources(),
        **STEP_RESOURCES,
    },
)

__all__ = [
    "DbtBuildConfig",
    "ShopmartsDbtTranslator",
    "clickhouse_dbt_assets",
    "dbt_env",
    "dbt_environment",
    "dbt_project",
    "defs",
    "mart_names",
    "marts_cross_engine_parity",
    "postgres_dbt_assets",
]
