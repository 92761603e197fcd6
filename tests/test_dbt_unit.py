"""The dbt unit tests (a hand-made shop whose marts were computed by hand) pass on both
engines, and the one RFM rules table agrees with what analysts read in the docs."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from core.settings import Environment
from ingest.extract.run import extract
from ingest.shop.generate import generate_shop
from pipelines.defs.dbt.connection import DBT_PROJECT_DIR, TARGETS, run_dbt
from quality.suites.marts import mart_suites

pytestmark = pytest.mark.fast

# The unit tests run in a sandbox (unit_staging, unit_marts): dbt needs their inputs'
# relations to exist for the column types, and must not touch the real schemas.
SANDBOX = ["--vars", "{schema_prefix: unit_}"]
UNIT_TESTS = 24


@pytest.fixture(scope="module")
def sandbox(environment: Environment, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Raw tables in both engines (a tiny shop if there are none yet) and empty staging
    and intermediate relations in the sandbox schemas."""
    with psycopg.connect(environment.warehouse_url) as conn:
        row = conn.execute("select to_regclass('raw.orders') is not null").fetchone()
        has_raw = bool(row and row[0])
    if not has_raw:
        generate_shop(environment.shop_url, scale=0.01, seed=3, replace=True, progress=False)
        extract(environment, mode="full")
    artifacts = tmp_path_factory.mktemp("dbt-unit")
    runs = run_dbt(
        environment,
        ["run", "--select", "staging", "intermediate", "--empty", *SANDBOX],
        artifacts_dir=artifacts,
    )
    for run in runs.values():
        assert run.ok, run.output[-3000:]
    return artifacts


def test_hand_made_shop_unit_tests_pass_on_both_engines(
    environment: Environment, sandbox: Path
) -> None:
    runs = run_dbt(
        environment, ["test", "--select", "test_type:unit", *SANDBOX], artifacts_dir=sandbox
    )
    for target in TARGETS:
        run = runs[target]
        assert run.ok, f"unit tests failed on {target}:\n{run.output[-6000:]}"
        results = run.artifact()["results"]
        assert len(results) == UNIT_TESTS, target
        assert {result["status"] for result in results} == {"pass"}, target


def _macro_rules() -> list[tuple[str, tuple[int, int], tuple[int, int]]]:
    text = (DBT_PROJECT_DIR / "macros" / "rfm_segments.sql").read_text()
    pattern = r"'segment': '([^']+)',\s*'r': \[(\d), (\d)\],\s*'fm': \[(\d), (\d)\]"
    return [
        (segment, (int(r_low), int(r_high)), (int(fm_low), int(fm_high)))
        for segment, r_low, r_high, fm_low, fm_high in re.findall(pattern, text)
    ]


def _scores(cell: str) -> tuple[int, int]:
    numbers = [int(number) for number in re.findall(r"\d", cell)]
    return numbers[0], numbers[-1]


def test_the_documented_rfm_table_is_the_one_the_mart_uses() -> None:
    rules = _macro_rules()
    assert len(rules) == 11
    docs = (DBT_PROJECT_DIR / "models" / "marts" / "_marts__docs.md").read_text()
    block = docs.split("{% docs rfm_segment_rules %}")[1].split("{% enddocs %}")[0]
    documented = [
        (cells[0], _scores(cells[1]), _scores(cells[2]))
        for line in block.splitlines()
        if line.startswith("|") and not line.startswith("|--") and "segment" not in line
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    ]
    assert documented == rules
    # The mart gate accepts exactly these segments (its rule customer_segments.segment.known).
    [suite] = mart_suites("postgres", marts=["customer_segments"])
    [known] = [e for e in suite.expectations if e.meta["rule"] == "customer_segments.segment.known"]
    assert list(known.value_set) == [name for name, _, _ in rules]


def test_the_rfm_rules_tile_the_score_grid() -> None:
    """Every (r, fm) cell of the 5 x 5 grid belongs to exactly one segment."""
    rules = _macro_rules()
    for r in range(1, 6):
        for fm in range(1, 6):
            owners = [
                name for name, (r_low, r_high), (fm_low, fm_high) in rules
                if r_low <= r <= r_high and fm_low <= fm <= fm_high
            ]  # fmt: skip
            assert len(owners) == 1, (r, fm, owners)


def test_every_retired_mart_data_test_is_a_rule_of_the_mart_gate() -> None:
    """dbt_project/README.md names, for each dbt data test the marts no longer carry, the
    GX rules of the mart gate that check it; each of them exists, in both engines."""
    readme = (DBT_PROJECT_DIR / "README.md").read_text()
    table = readme.split("### Retired dbt data tests and the rules that check them now")[1]
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in table.splitlines()
        if line.startswith("| `")
    ]
    assert len(rows) == 125
    for engine in ("postgres", "clickhouse"):
        rules = {rule for suite in mart_suites(engine) for rule in suite.rules}
        for retired, _what, named in rows:
            named_rules = re.findall(r"`([^`]+)`", named)
            assert named_rules, retired
            assert set(named_rules) <= rules, (engine, retired, set(named_rules) - rules)


def test_lineage_runs_through_the_intermediate_layer() -> None:
    """In Dagster's asset graph the intermediate models sit between staging and the marts,
    in a group of their own, in both engines; no mart reads a staging order table."""
    import dagster as dg

    from core.vocabulary import MARTS
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    for engine in TARGETS:
        recognized = graph.get(dg.AssetKey([engine, "intermediate", "int_orders__recognized"]))
        assert recognized.group_name == "intermediate"
        assert dg.AssetKey([engine, "staging", "stg_shop__orders"]) in recognized.parent_keys
        for mart in MARTS:
            parents = graph.get(dg.AssetKey([engine, "marts", mart])).parent_keys
            layers = {key.path[1] for key in parents}
            assert "intermediate" in layers, (engine, mart, parents)
            assert dg.AssetKey([engine, "staging", "stg_shop__order_items"]) not in parents
