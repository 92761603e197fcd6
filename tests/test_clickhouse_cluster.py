"""ClickHouse cluster mode: with CLICKHOUSE_CLUSTER set, every DDL runs ON CLUSTER on
replicated engines.

chDB runs no cluster (no remote_servers, no Keeper), so nothing here executes a cluster
statement: the statements the project generates in cluster mode are rendered and
checked, every DDL call site is checked to carry the cluster clause, and dbt's own
rendering of the profile and the project (dbt parse) is checked with the cluster set.
What only a real cluster can show (replication, EXCHANGE across nodes) is not run here.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
from pathlib import Path

import psycopg
import pytest

from core.clickhouse_cluster import (
    CLUSTER_VAR,
    clickhouse_cluster,
    on_cluster,
    table_engine,
)
from core.errors import ShopmartsError
from core.settings import Environment
from ingest.extract.catalog import discover_source_tables
from ingest.extract.options import ExtractOptions
from ingest.extract.raw_tables import clickhouse_table_ddl
from pipelines.defs.dbt.connection import DBT_PROJECT_DIR, dbt_env, dbt_executable
from pipelines.defs.refresh_log import clickhouse_refresh_log_ddl

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = "shopmarts"
REPLICATED = re.compile(
    r"ENGINE = Replicated\w*MergeTree\('/clickhouse/tables/\{uuid\}/\{shard\}', '\{replica\}'"
)


@pytest.mark.fast
def test_the_setting_names_the_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CLUSTER_VAR, raising=False)
    assert clickhouse_cluster() is None and on_cluster(None) == ""
    monkeypatch.setenv(CLUSTER_VAR, "  ")
    assert clickhouse_cluster() is None
    monkeypatch.setenv(CLUSTER_VAR, CLUSTER)
    assert clickhouse_cluster() == CLUSTER and on_cluster(CLUSTER) == " ON CLUSTER `shopmarts`"
    assert ExtractOptions().clickhouse_cluster == CLUSTER  # read when the options are made
    monkeypatch.setenv(CLUSTER_VAR, "shop marts; DROP")
    with pytest.raises(ShopmartsError, match="CLICKHOUSE_CLUSTER is not a ClickHouse cluster"):
        clickhouse_cluster()


PATH = "'/clickhouse/tables/{uuid}/{shard}', '{replica}'"


@pytest.mark.fast
@pytest.mark.fast
@pytest.mark.parametrize(
    ("engine", "replicated"),
    [
        ("MergeTree ORDER BY tuple()", f"ReplicatedMergeTree({PATH}) ORDER BY tuple()"),
        ("MergeTree() ORDER BY id", f"ReplicatedMergeTree({PATH}) ORDER BY id"),
        (
            "ReplacingMergeTree(`_loaded_at`) ORDER BY (`id`)",
            f"ReplicatedReplacingMergeTree({PATH}, `_loaded_at`) ORDER BY (`id`)",
        ),
        (
            "ReplacingMergeTree(version) ORDER BY run_id",
            f"ReplicatedReplacingMergeTree({PATH}, version) ORDER BY run_id",
        ),
        ("Memory", "Memory"),  # session scratch tables stay local
        (
            "ReplicatedMergeTree('/x/{shard}', '{replica}') ORDER BY id",
            "ReplicatedMergeTree('/x/{shard}', '{replica}') ORDER BY id",
        ),
    ],
)
def test_engines_become_replicated(engine: str, replicated: str) -> None:
    assert table_engine(engine, None) == engine
    assert table_engine(engine, CLUSTER) == replicated


@pytest.fixture(scope="module")
def source_tables(postgres_environment: Environment) -> dict:
    """The shop's tables as the extract discovers them (a small shop is made if none)."""
    with psycopg.connect(postgres_environment.shop_url) as conn:
        exists = conn.execute("SELECT to_regclass('public.orders') IS NOT NULL").fetchone()
    if not (exists and exists[0]):
        from test_quality_gates import prepare_shop

        prepare_shop(postgres_environment)
    with psycopg.connect(postgres_environment.shop_url) as conn:
        return discover_source_tables(conn)


def test_raw_tables_are_created_on_the_cluster_replicated(source_tables: dict) -> None:
    assert len(source_tables) == 11
    for name, source in source_tables.items():
        for table in (name, f"{name}__loading"):
            single = clickhouse_table_ddl("raw", table, source)
            assert "ON CLUSTER" not in single and "Replicated" not in single
            ddl = clickhouse_table_ddl("raw", table, source, CLUSTER)
            assert ddl.startswith(f"CREATE TABLE `raw`.`{table}` ON CLUSTER `shopmarts` (")
            assert REPLICATED.search(ddl), ddl
            # Everything else is the single server's statement.
            engine = single.split("ENGINE = ", 1)[1]
            assert ddl == single.replace(
                f"`{table}` (", f"`{table}` ON CLUSTER `shopmarts` (", 1
            ).replace(engine, table_engine(engine, CLUSTER))


@pytest.mark.fast
def test_refresh_log_is_created_on_the_cluster_replicated() -> None:
    database, table = clickhouse_refresh_log_ddl(CLUSTER)
    assert database == "CREATE DATABASE IF NOT EXISTS meta ON CLUSTER `shopmarts`"
    assert "CREATE TABLE IF NOT EXISTS meta.refresh_log ON CLUSTER `shopmarts` (" in table
    assert REPLICATED.search(table) and "', version) ORDER BY run_id" in table
    single_database, single_table = clickhouse_refresh_log_ddl(None)
    assert "ON CLUSTER" not in single_database + single_table
    assert "ENGINE = ReplacingMergeTree(version) ORDER BY run_id" in single_table


# Scratch tables local to one session on one node (Memory engine): not cluster DDL.
LOCAL_SCRATCH = {"keys_table"}
DDL = re.compile(r"^\s*(CREATE|DROP|EXCHANGE|RENAME|ALTER|TRUNCATE)\b", re.I)


def _clickhouse_ddl_calls(path: Path) -> list[tuple[int, str]]:
    """Every `client.command(...)`/`clickhouse.command(...)` whose SQL is a DDL statement
    written in place (an f-string or string), as (line, source)."""
    calls = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "command"):
            continue
        if not node.args or not isinstance(node.args[0], ast.JoinedStr | ast.Constant):
            continue
        text = ast.get_source_segment(path.read_text(), node.args[0]) or ""
        if DDL.match(text.lstrip("f").strip("\"'")):
            calls.append((node.lineno, text))
    return calls


@pytest.mark.parametrize(
    "module",
    [
        "ingest/extract/plan.py",
        "ingest/extract/clickhouse_load.py",
        "pipelines/defs/publish/marts.py",
        "pipelines/defs/refresh_log.py",
    ],
)
def test_every_clickhouse_ddl_call_carries_the_cluster(module: str) -> None:
    calls = _clickhouse_ddl_calls(ROOT / module)
    # refresh_log.py builds its statements in clickhouse_refresh_log_ddl (tested above).
    assert calls or module.endswith("refresh_log.py")
    for line, text in calls:
        if any(name in text for name in LOCAL_SCRATCH):
            continue
        assert "cluster" in text, f"{module}:{line} issues DDL without ON CLUSTER: {text}"
    # And the DDL built elsewhere is built with the cluster too.
    source = (ROOT / module).read_text()
    assert "on_cluster(" in source


def _dbt_parse(tmp_path: Path, environment: dict[str, str]) -> dict:
    result = subprocess.run(
        [
            dbt_executable(), "parse", "--no-partial-parse",
            "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target", "clickhouse", "--target-path", str(tmp_path),
            "--log-path", str(tmp_path),
        ],
        env=environment, cwd=DBT_PROJECT_DIR, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((tmp_path / "manifest.json").read_text())


def test_dbt_builds_replicated_marts_on_the_cluster(
    tmp_path: Path, environment: Environment
) -> None:
    base = {
        **os.environ,
        **dbt_env(environment),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    base.pop(CLUSTER_VAR, None)
    single = _dbt_parse(tmp_path / "single", base)
    clustered = _dbt_parse(tmp_path / "cluster", {**base, CLUSTER_VAR: CLUSTER})
    marts = [
        unique_id
        for unique_id, node in clustered["nodes"].items()
        if node["resource_type"] == "model" and node["fqn"][1] == "marts"
    ]
    assert len(marts) >= 7
    for unique_id in marts:
        assert single["nodes"][unique_id]["config"]["engine"] == "MergeTree()"
        assert clustered["nodes"][unique_id]["config"]["engine"] == (
            "ReplicatedMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}')"
        )


def test_dbt_profile_puts_every_relation_on_the_cluster(
    monkeypatch: pytest.MonkeyPatch, environment: Environment
) -> None:
    """dbt-clickhouse's own rendering of profiles.yml: `cluster` set, so its relations
    (databases, views, tables) are created ON CLUSTER."""
    from argparse import Namespace

    from dbt.adapters.clickhouse.relation import ClickHouseRelation
    from dbt.adapters.factory import load_plugin
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt.flags import set_from_args
    from dbt_common.context import set_invocation_context

    set_from_args(Namespace(), None)
    load_plugin("clickhouse")
    for name, value in dbt_env(environment).items():
        monkeypatch.setenv(name, value)
    for cluster, expected in ((None, False), (CLUSTER, True)):
        if cluster:
            monkeypatch.setenv(CLUSTER_VAR, cluster)
        else:
            monkeypatch.delenv(CLUSTER_VAR, raising=False)
        set_invocation_context(dict(os.environ))  # what env_var() reads
        profile = Profile.from_raw_profiles(
            read_profile(str(DBT_PROJECT_DIR)),
            "shopmarts",
            ProfileRenderer({}),
            target_override="clickhouse",
        )
        credentials = profile.credentials
        assert (credentials.cluster or None) == cluster
        assert credentials.cluster_mode is expected
        on = ClickHouseRelation.get_on_cluster(
            cluster=credentials.cluster or "", database_engine=credentials.database_engine
        )
        assert on is expected


@pytest.mark.fast
def test_the_analyst_user_is_created_on_the_cluster() -> None:
    from core.clickhouse_cluster import on_cluster
    from pipelines.engines.analyst import clickhouse_analyst_statements

    statements = clickhouse_analyst_statements(on_cluster(CLUSTER))
    assert statements and all("ON CLUSTER `shopmarts`" in statement for statement in statements)
    assert not any("ON CLUSTER" in statement for statement in clickhouse_analyst_statements(""))
