"""Nightly housekeeping after publish: raw's planner statistics, and the analysts' docs."""

# No `from __future__ import annotations`: Dagster reads the resource annotations.
import time
from collections.abc import Sequence

import dagster as dg
import psycopg

from core.errors import ShopmartsError
from core.settings import state_dir
from pipelines.defs.dbt.connection import TARGETS, run_dbt
from pipelines.defs.environment import ShopmartsEnvironment
from pipelines.defs.keys import ANALYZED_KEY, DBT_DOCS_KEY, PUBLISHED_MARTS_KEY
from pipelines.runtime.docs_server import docs_url

ANALYZED_SCHEMAS = ("raw",)


def docs_dir(target: str) -> str:
    """Where the static dbt docs site of ``target`` is written (under the state folder)."""
    return str(state_dir() / "docs" / target)


def analyze_warehouse(warehouse_url: str, schemas: Sequence[str] = ANALYZED_SCHEMAS) -> int:
    """ANALYZE every table and materialized view of ``schemas``; how many."""
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        relations = conn.execute(
            """
            SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'm')
            ORDER BY 1
            """,
            {"schemas": list(schemas)},
        ).fetchall()
        for (relation,) in relations:
            conn.execute(f"ANALYZE {relation}")
    return len(relations)


@dg.asset(
    key=ANALYZED_KEY,
    deps=[PUBLISHED_MARTS_KEY],
    group_name="housekeeping",
    kinds={"postgres"},
    description="ANALYZE of the warehouse's raw tables after the nightly's full load, so "
    "the planner knows tonight's row counts. The marts need none here: each build analyzes "
    "the view it wrote, and the statistics move with it when it is published. The hourly "
    "has no such step: its few changed raw rows are autovacuum's to follow.",
)
def analyzed_warehouse(
    context: dg.AssetExecutionContext, shopmarts_environment: ShopmartsEnvironment
) -> dg.MaterializeResult:
    started = time.perf_counter()
    relations = analyze_warehouse(shopmarts_environment.environment().warehouse_url)
    seconds = time.perf_counter() - started
    context.log.info(f"analyzed {relations} relations in {seconds:.2f}s")
    return dg.MaterializeResult(
        metadata={
            "relations": dg.MetadataValue.int(relations),
            "duration_seconds": dg.MetadataValue.float(round(seconds, 3)),
        }
    )


@dg.asset(
    key=DBT_DOCS_KEY,
    deps=[PUBLISHED_MARTS_KEY],
    group_name="housekeeping",
    kinds={"dbt"},
    description="The dbt docs site of each engine (every mart and column described for "
    "analysts), generated from the published marts as a single static page.",
)
def dbt_docs(
    context: dg.AssetExecutionContext, shopmarts_environment: ShopmartsEnvironment
) -> dg.MaterializeResult:
    from pathlib import Path

    runs = run_dbt(
        shopmarts_environment.environment(),
        ["docs", "generate", "--static"],
        artifacts_dir=Path(docs_dir("postgres")).parent,
    )
    failed = [target for target, run in runs.items() if not run.ok]
    if failed:
        tail = "\n".join(runs[failed[0]].output.strip().splitlines()[-5:])
        raise ShopmartsError(f"dbt docs generate failed for {', '.join(failed)}:\n{tail}")
    metadata: dict[str, dg.MetadataValue] = {}
    for target in TARGETS:
        page = Path(docs_dir(target)) / "static_index.html"
        # Over http from the docs server where there is one (the UI cannot open file://).
        link = docs_url(page) or ""
        metadata[f"{target}_docs"] = (
            dg.MetadataValue.url(link)
            if link.startswith("http")
            else dg.MetadataValue.path(str(page))
        )
        metadata[f"{target}_seconds"] = dg.MetadataValue.float(round(runs[target].seconds, 2))
    context.log.info(
        "dbt docs: " + ", ".join(str(v.value) for k, v in metadata.items() if k.endswith("_docs"))
    )
    return dg.MaterializeResult(metadata=metadata)
