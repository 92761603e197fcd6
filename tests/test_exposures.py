"""dbt knows the dashboards (exposures, in Dagster's lineage) and how fresh raw is (freshness)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from test_quality_gates import prepare_shop

from core.settings import Environment
from dashboards import queries
from pipelines.defs.dbt.connection import TARGETS, run_dbt

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("postgres", "clickhouse")


def marts_read_by_page(page: Path) -> set[str]:
    """The marts a dashboard page's queries read, from the queries themselves. Every page
    also reads `daily_sales` for the date bounds (dashboards/app.py)."""
    marts = {"daily_sales"}
    for name in set(re.findall(r"queries\.([A-Z_]+)", page.read_text())):
        query = getattr(queries, name)
        for text in (query.sql, query.clickhouse_sql or ""):
            marts |= set(re.findall(r"\bmarts\.(\w+)", text))
    return marts


@pytest.mark.fast
def test_every_dashboard_page_is_an_exposure_in_the_asset_graph() -> None:
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    exposures = {
        key: graph.get(key) for key in graph.get_all_asset_keys() if key.path[0] == "dashboards"
    }
    pages = sorted((ROOT / "dashboards" / "views").glob("*.py"))
    assert pages and {key.path[-1] for key in exposures} == {page.stem for page in pages}
    for page in pages:
        node = exposures[dg.AssetKey(["dashboards", page.stem])]
        expected = {dg.AssetKey([e, "marts", m]) for e in ENGINES for m in marts_read_by_page(page)}
        assert set(node.parent_keys) == expected, page.name
        # Real marts of the graph, built by the dbt assets; the exposure itself is not
        # materializable, it only carries the lineage on to what analysts see.
        for parent in node.parent_keys:
            assert graph.get(parent).is_materializable, parent
        assert not node.is_materializable
        assert node.group_name == "dashboards"
        assert str(node.metadata["url"].value).startswith("http://127.0.0.1:8501/")


@pytest.fixture(scope="module")
def refreshed_raw(environment: Environment) -> Environment:
    """A small shop with an hour of activity (so the triggers' audit_log has rows), and raw
    loaded from it by a full extract, as a refresh loads it. On ClickHouse the freshness
    is the newest row's load time, so an empty raw table (nothing ever loaded) is an error."""
    from ingest.extract.run import extract
    from ingest.shop.simulate import simulate_shop

    prepare_shop(environment)
    simulate_shop(environment.shop_url, hours=1, seed=5, progress=False)
    extract(environment, "full")
    return environment


def freshness(environment: Environment, tmp_path: Path) -> dict[str, dict[str, str]]:
    """`dbt source freshness` on both targets: {target: {table: status}}."""
    runs = run_dbt(environment, ["source", "freshness"], artifacts_dir=tmp_path)
    statuses = {}
    for target in TARGETS:
        results = json.loads((runs[target].target_path / "sources.json").read_text())["results"]
        statuses[target] = {r["unique_id"].split(".")[-1]: r["status"] for r in results}
    return statuses


def test_source_freshness_passes_after_a_refresh(
    refreshed_raw: Environment, tmp_path: Path
) -> None:
    statuses = freshness(refreshed_raw, tmp_path)
    for target in TARGETS:
        assert len(statuses[target]) == 11, statuses[target]
        assert set(statuses[target].values()) == {"pass"}, (target, statuses[target])


def test_source_freshness_errors_on_a_table_not_loaded_for_a_day(
    refreshed_raw: Environment, tmp_path: Path
) -> None:
    """The warehouse's freshness is the extract's record of the last load: a table whose
    last load is 30 hours old is an error, 3 hours old a warning."""
    update = (
        "UPDATE raw._watermarks SET loaded_at = loaded_at - %s::interval "
        "WHERE engine = 'postgres' AND table_name = %s"
    )
    with psycopg.connect(refreshed_raw.warehouse_url, autocommit=True) as conn:
        conn.execute(update, ("30 hours", "reviews"))
        conn.execute(update, ("3 hours", "promotions"))
        try:
            statuses = freshness(refreshed_raw, tmp_path)
        finally:
            conn.execute(update, ("-30 hours", "reviews"))
            conn.execute(update, ("-3 hours", "promotions"))
    assert statuses["postgres"]["reviews"] == "error"
    assert statuses["postgres"]["promotions"] == "warn"
    assert statuses["postgres"]["orders"] == "pass"
    assert set(statuses["clickhouse"].values()) == {"pass"}
