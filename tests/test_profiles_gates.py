"""Raw gates per source profile, and a profile's nightly refresh through Dagster.

Fast layer: each profile's raw rule table (`quality/suites/profiles/`) covers exactly its
shop's tables, restates its seed's keys, unique constraints, foreign keys and status sets
(read from `ingest/profiles/<profile>/schema.sql`), names only the schema's columns; the
extract's assets and the raw gates are keyed by the profile's tables. Then (a dbt parse
per profile) `pipelines.definitions` loads for every profile, in a process of its own
with SHOPMARTS_SOURCE_PROFILE set.

The engine layer's pieces live here too, used by `tests/test_profiles_refresh.py`, which
runs every profile's nightly and hourly through the real Dagster assets (`ProfileRun`)
and then loads each profile's faults of its own kind (`PROFILE_FAULTS`: a status outside
its enum, an orphan key, a variant without a product) into raw, stopped by their named
expectations in both engines with the published marts unchanged; for the minimal shop
also an invented cost stopped by its `not_carried` rule and the dashboards rendered over
its published marts (`assert_invented_cost_is_stopped`, `assert_dashboards_render`).
"""

# No `from __future__ import annotations`: Dagster reads the annotations of the dbt assets
# defined below at definition time.
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest

from core.clients import clickhouse_client
from core.settings import PROJECT_ROOT, SOURCE_PROFILE_VAR, Environment
from core.vocabulary import ENGINES, MARTS
from ingest.profiles import PROFILES, Profile, get_profile
from pipelines.defs.extract.assets import (
    extract_raw_asset,
    profile_raw_table_specs,
    profile_shop_table_specs,
)
from pipelines.defs.keys import mart_key, raw_key, shop_table_key
from pipelines.defs.quality.checks import MART_CHECK_NAME, RAW_CHECK_NAME, raw_gate
from pipelines.defs.resources import STEP_RESOURCES
from quality.suites import raw_suites
from quality.suites.raw import raw_rule_table
from quality.suites.rules import InSet, Key, References, Rule, Unique

OTHER_PROFILES = tuple(name for name in PROFILES if name != "canonical")


# --- the rule tables against each seed's schema -------------------------------------------


def schema_sections(profile: str) -> dict[str, str]:
    """The profile's schema.sql by section (`-- section: <name>`)."""
    text = get_profile(profile).schema_file.read_text()
    parts = re.split(r"^-- section: (\w+)\s*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def table_blocks(profile: str) -> dict[str, str]:
    """Each CREATE TABLE's body, by table."""
    tables = schema_sections(profile)["tables"]
    return dict(re.findall(r"CREATE TABLE (\w+) \((.*?)\n\);", tables, flags=re.S))


def table_columns(profile: str) -> dict[str, set[str]]:
    columns = {}
    for table, body in table_blocks(profile).items():
        names = re.findall(r"^\s+(\w+)\s+[A-Za-z]", body, flags=re.M)
        columns[table] = {name for name in names if name not in ("CONSTRAINT",)}
    return columns


def alter_statements(profile: str, section: str) -> list[tuple[str, str]]:
    """(table, statement) of every ALTER TABLE of a section."""
    statements = schema_sections(profile)[section].split(";")
    found = []
    for statement in statements:
        match = re.search(r"ALTER TABLE (\w+)", statement)
        if match:
            found.append((match.group(1), statement))
    return found


def rules_of(profile: str, kind: type) -> list[tuple[str, Any]]:
    return [
        (table, rule)
        for table, rules in raw_rule_table(profile).rules.items()
        for rule in rules
        if isinstance(rule, kind)
    ]


def rule_columns(rule: Rule) -> set[str]:
    """The columns of its own table a rule names."""
    names: set[str] = set()
    for attribute in ("column", "larger", "smaller"):
        if isinstance(getattr(rule, attribute, None), str):
            names.add(getattr(rule, attribute))
    names.update(getattr(rule, "columns", ()))
    return names


@pytest.mark.fast
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_has_a_rule_table_over_exactly_its_tables(profile: str) -> None:
    table = raw_rule_table(profile)
    if profile == "canonical":
        assert set(table.rules) == set(PROFILES[profile].table_names)
    else:  # in the profile's load order, parents first
        assert tuple(table.rules) == PROFILES[profile].table_names
    assert table.never_empty and table.never_empty <= set(table.rules)


@pytest.mark.fast
@pytest.mark.parametrize("profile", OTHER_PROFILES)
def test_profile_rules_name_only_the_seed_schemas_columns(profile: str) -> None:
    columns = table_columns(profile)
    assert set(columns) == set(PROFILES[profile].table_names)
    for table, rules in raw_rule_table(profile).rules.items():
        for rule in rules:
            assert rule_columns(rule) <= columns[table], (table, rule)
            if isinstance(rule, References):
                assert rule.parent_column in columns[rule.parent], (table, rule)


@pytest.mark.fast
@pytest.mark.parametrize("profile", OTHER_PROFILES)
def test_profile_keys_are_the_registrys_primary_keys(profile: str) -> None:
    for table, rules in raw_rule_table(profile).rules.items():
        keys = [rule for rule in rules if isinstance(rule, Key)]
        assert len(keys) == 1 and rules[0] is keys[0], table  # the key names the rows
        assert keys[0].columns == PROFILES[profile].table(table).primary_key, table


@pytest.mark.fast
@pytest.mark.parametrize("profile", OTHER_PROFILES)
def test_every_foreign_key_of_the_seed_is_a_reference_rule(profile: str) -> None:
    expected = set()
    for table, statement in alter_statements(profile, "foreign_keys"):
        for column, parent, parent_column in re.findall(
            r"FOREIGN KEY \((\w+)\) REFERENCES (\w+)\s*\((\w+)\)", statement
        ):
            expected.add((table, column, parent, parent_column))
    assert expected
    written = {
        (table, rule.column, rule.parent, rule.parent_column)
        for table, rule in rules_of(profile, References)
    }
    assert written == expected


@pytest.mark.fast
@pytest.mark.parametrize("profile", OTHER_PROFILES)
def test_every_unique_constraint_of_the_seed_is_a_unique_rule(profile: str) -> None:
    expected = set()
    for table, statement in alter_statements(profile, "keys"):
        for columns in re.findall(r"UNIQUE \(([^)]*)\)", statement):
            expected.add((table, tuple(c.strip() for c in columns.split(","))))
    for table, columns in re.findall(
        r"CREATE UNIQUE INDEX \w+ ON (\w+) \(([^)]*)\)", schema_sections(profile)["indexes"]
    ):
        expected.add((table, tuple(c.strip() for c in columns.split(","))))
    written = {(table, rule.columns) for table, rule in rules_of(profile, Unique)}
    assert expected <= written, expected - written


@pytest.mark.fast
@pytest.mark.parametrize("profile", OTHER_PROFILES)
def test_status_sets_are_the_seeds_checks_spelled_as_the_seed_spells_them(profile: str) -> None:
    checks = {}
    for table, body in table_blocks(profile).items():
        for column, values in re.findall(r"CHECK \((\w+) IN\s*\(([^)]*)\)", body, flags=re.S):
            checks[table, column] = set(re.findall(r"'([^']*)'", values))
    assert checks
    written = {
        (table, rule.column): set(rule.values)  # type: ignore[arg-type]
        for table, rule in rules_of(profile, InSet)
    }
    assert written == checks


@pytest.mark.fast
def test_status_spelling_differs_by_profile() -> None:
    def statuses(profile: str, table: str) -> set[str]:
        rules = raw_rule_table(profile).rules[table]
        return next(set(r.values) for r in rules if isinstance(r, InSet) and r.column == "status")  # type: ignore[arg-type]

    assert statuses("solemate", "orders") >= {"PENDING", "SHIPPED", "REFUNDED"}
    assert statuses("modestwear", "orders_order") == {
        "pending",
        "paid",
        "shipped",
        "delivered",
        "cancelled",
    }
    assert statuses("minimal", "orders") == {
        "pending",
        "processing",
        "shipped",
        "delivered",
        "cancelled",
    }
    assert statuses("techally", "payments") == {
        "pending",
        "processing",
        "completed",
        "failed",
        "refunded",
    }


@pytest.mark.fast
def test_raw_suites_follow_the_configured_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SOURCE_PROFILE_VAR, "solemate")
    suites = raw_suites("postgres")
    assert [s.relation.name for s in suites] == list(PROFILES["solemate"].table_names)
    rules = {rule for suite in suites for rule in suite.rules}
    for rule in (
        "orders.status.known",
        "order_items.variant_id.references_product_variants",
        "product_variants.product_id.references_products",
        "reviews.rating.between_1_and_5",
        "orders.total.identity",
        "orders.created_at.not_in_future",
        "users.row_count.no_sharp_drop",
    ):
        assert rule in rules, rule
    # Told which, the configured one does not matter.
    assert {s.relation.name for s in raw_suites("clickhouse", profile="minimal")} == set(
        PROFILES["minimal"].table_names
    )
    monkeypatch.setenv(SOURCE_PROFILE_VAR, "nosuchshop")
    with pytest.raises(ValueError, match="nosuchshop"):
        raw_suites("postgres")


@pytest.mark.fast
@pytest.mark.parametrize("profile", OTHER_PROFILES)
def test_mart_suites_expect_what_the_profile_cannot_carry_to_be_null(profile: str) -> None:
    """The profile's mart suites: the canonical ones, less every expectation reading a
    column it declares not carried, plus `<column>.not_carried` for each (and
    `rows.not_carried` for a mart it leaves empty); the canonical suites are MART_RULES."""
    from quality.suites.marts import MART_RULES, mart_suites, reads_column
    from quality.suites.profiles import PROFILE_NOT_CARRIED
    from quality.suites.suite import rule_of

    declared = PROFILE_NOT_CARRIED[profile]
    assert set(declared.columns) | declared.empty_marts <= set(MARTS)
    for engine in ENGINES:
        canonical = {s.name: s for s in mart_suites(engine, profile="canonical")}
        for suite in mart_suites(engine, profile=profile):
            mart = suite.relation.name
            columns = declared.of(mart)
            added = {f"{mart}.{c}.not_carried" for c in columns}
            if mart in declared.empty_marts:
                added.add(f"{mart}.rows.not_carried")
            kept = [
                e
                for e in canonical[suite.name].expectations
                if not any(reads_column(e, c) for c in columns)
            ]
            assert suite.rules == [*(rule_of(e) for e in kept), *sorted(added)], mart
            assert len(kept) < len(canonical[suite.name].expectations) or not columns, mart
    # What the gate reads follows the configured profile.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SOURCE_PROFILE_VAR, profile)
        configured = [s.rules for s in mart_suites("postgres")]
    assert configured == [s.rules for s in mart_suites("postgres", profile=profile)]
    assert len(MART_RULES) == len(configured)


# --- the Dagster side, per profile ------------------------------------------------------


@pytest.mark.fast
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_extract_and_raw_gates_are_keyed_by_the_profiles_tables(profile: str) -> None:
    chosen = PROFILES[profile]
    defs = dg.Definitions(
        assets=[*profile_shop_table_specs(chosen), extract_raw_asset(chosen)],
        asset_checks=[raw_gate(engine, chosen) for engine in ENGINES],
        resources=STEP_RESOURCES,
    )
    graph = defs.resolve_asset_graph()
    raw = {raw_key(engine, table) for engine in ENGINES for table in chosen.table_names}
    shop = {shop_table_key(table) for table in chosen.table_names}
    assert set(graph.get_all_asset_keys()) == raw | shop
    for engine in ENGINES:
        for table in chosen.table_names:
            assert graph.get(raw_key(engine, table)).parent_keys == {shop_table_key(table)}
    checks = {(key.asset_key, key.name) for key in graph.asset_check_keys}
    assert checks == {(key, RAW_CHECK_NAME) for key in raw}
    assert len(profile_raw_table_specs(chosen)) == len(raw)


LOAD_DEFINITIONS = """
import json
from pipelines.definitions import defs
graph = defs.resolve_asset_graph()
keys = [key.to_user_string() for key in graph.get_all_asset_keys()]
deps = {
    key.to_user_string(): sorted(p.to_user_string() for p in graph.get(key).parent_keys)
    for key in graph.get_all_asset_keys()
}
checks = sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys)
print(json.dumps({"keys": keys, "deps": deps, "checks": checks}))
"""


# The canonical shop and one other (UUID keys, variants): the other profiles' asset specs and
# raw gates are checked without loading the definitions (the fast tests above), and their
# dbt parse by tests/test_profiles_dbt.py.
@pytest.mark.parametrize("profile", ["canonical", "solemate"])
def test_definitions_load_for_a_profile(profile: str, environment: Environment) -> None:
    """`pipelines.definitions` loads with SHOPMARTS_SOURCE_PROFILE naming ``profile``: the
    shop and raw assets are its tables, the raw gates check them, and dbt's staging reads
    them (the manifest is the profile's, `dbt_project/target/<profile>/<target>`), so
    lineage runs from them to the marts. Not in the fast layer: it needs the profile's
    parsed manifests (the tests' one parse of each profile: the load finds them fresh)."""
    from test_profiles_dbt import profile_manifests

    profile_manifests(environment, profile)
    variables = {**os.environ, SOURCE_PROFILE_VAR: profile}
    done = subprocess.run(
        [sys.executable, "-c", LOAD_DEFINITIONS],
        cwd=PROJECT_ROOT,
        env=variables,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    tables = PROFILES[profile].table_names
    keys = set(loaded["keys"])
    assert {f"shop/{table}" for table in tables} <= keys
    raw = {f"{engine}/raw/{table}" for engine in ENGINES for table in tables}
    assert {key for key in keys if "/raw/" in key} == raw
    assert {f"{key}:{RAW_CHECK_NAME}" for key in raw} <= set(loaded["checks"])
    # Staging reads the profile's raw tables, and nothing else raw.
    for engine in ENGINES:
        staged = {
            parent
            for key, parents in loaded["deps"].items()
            if key.startswith(f"{engine}/staging/")
            for parent in parents
            if "/raw/" in parent
        }
        assert staged and staged <= raw, (engine, staged)
        for mart in MARTS:
            assert f"{engine}/marts/{mart}" in keys


# --- a profile's nightly through Dagster, against the real engines ----------------------

SCALE = 0.01  # 100 customers, 500 orders: every status occurs, a refresh takes seconds
SEED = 11


@dataclass(frozen=True)
class LoadFault:
    """A fault of the profile's own kind, loaded into raw (the shop's constraints forbid
    it) in both engines: one row of ``table`` gets ``values`` (column -> SQL expression per
    engine), and ``rule`` must stop it."""

    name: str
    rule: str
    table: str
    values: Mapping[str, tuple[str, str]]  # column -> (PostgreSQL SQL, ClickHouse SQL)


ORPHAN = "00000000-0000-4000-8000-00000000dead"  # names no row of any table


def orphan(column: str) -> dict[str, tuple[str, str]]:
    return {column: (f"'{ORPHAN}'::uuid", f"toUUID('{ORPHAN}')")}


def text(column: str, value: str) -> dict[str, tuple[str, str]]:
    return {column: (f"'{value}'", f"'{value}'")}


# Per profile: its faults (each a kind the profile has: its status spelling, its UUIDs,
# its variants).
PROFILE_FAULTS: dict[str, tuple[LoadFault, ...]] = {
    "solemate": (
        # The canonical spelling is not SoleMate's: its statuses are upper case.
        LoadFault(
            "status outside its enum", "orders.status.known", "orders", text("status", "shipped")
        ),
        LoadFault(
            "order line of an unknown variant",
            "order_items.variant_id.references_product_variants",
            "order_items",
            orphan("variant_id"),
        ),
        LoadFault(
            "variant without a product",
            "product_variants.product_id.references_products",
            "product_variants",
            orphan("product_id"),
        ),
    ),
    # ModestWear: Django's serial keys, lower-case statuses, lines per variant.
    "modestwear": (
        LoadFault(
            "status outside its enum",
            "orders_order.status.known",
            "orders_order",
            text("status", "PAID"),
        ),
        LoadFault(
            "variant without a product",
            "catalog_productvariant.product_id.references_catalog_product",
            "catalog_productvariant",
            {"product_id": ("999999999", "999999999")},
        ),
    ),
    # TechAlly: upper-case order statuses beside lower-case payment statuses, UUID keys.
    "techally": (
        LoadFault(
            "order status spelled as its payments spell theirs",
            "orders.status.known",
            "orders",
            text("status", "shipped"),
        ),
        LoadFault(
            "payment status spelled as its orders spell theirs",
            "payments.status.known",
            "payments",
            text("status", "COMPLETED"),
        ),
        LoadFault(
            "order line of an unknown product",
            "order_items.product_id.references_products",
            "order_items",
            orphan("product_id"),
        ),
    ),
    # The minimal shop: lower-case statuses of its own (no `returned`), UUID lines naming
    # products directly. Its marts leave NULL what the shop cannot carry (NOT_CARRIED in
    # quality/suites/profiles/minimal.py); the mart gate expects them so.
    "minimal": (
        LoadFault(
            "status outside its enum",
            "orders.status.known",
            "orders",
            text("status", "returned"),
        ),
        LoadFault(
            "order line of an unknown product",
            "order_items.product_id.references_products",
            "order_items",
            orphan("product_id"),
        ),
    ),
}


def corrupt_raw(environment: Environment, fault: LoadFault) -> str:
    """Change one row of raw.<table> in both engines, as a bad load would have; its key
    (as text: UUID or serial)."""
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        row = conn.execute(f"SELECT min(id::text) FROM raw.{fault.table}").fetchone()
        assert row and row[0], fault.table
        key = str(row[0])
        assignments = ", ".join(f"{c} = {pg}" for c, (pg, _) in fault.values.items())
        conn.execute(f"UPDATE raw.{fault.table} SET {assignments} WHERE id::text = %s", (key,))
    with clickhouse_client(environment.clickhouse_url) as client:
        # ReplacingMergeTree: a newer version of the row replaces it under FINAL.
        replaced = ", ".join(f"{ch} AS {c}" for c, (_, ch) in fault.values.items())
        client.command(
            f"INSERT INTO raw.{fault.table} SELECT * REPLACE ({replaced}, now64(6) AS _loaded_at) "
            f"FROM raw.{fault.table} FINAL WHERE toString(id) = %(key)s",
            parameters={"key": key},
        )
    return key


def drop_raw(environment: Environment, tables: set[str]) -> None:
    """Drop raw tables in both engines, and in PostgreSQL what reads them (staging and
    intermediate views, shadow and published marts: materialized views).

    Another profile's raw tables may share a name and not a type (UUID keys where the
    canonical shop has bigints): the extract refuses to retype a raw table (drift), and
    PostgreSQL refuses to retype a view's column in place (dbt's view materialization),
    so the layers are built afresh, as on a new warehouse.
    """
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        for table in sorted(tables):
            conn.execute(f"DROP TABLE IF EXISTS raw.{table} CASCADE")
        # Staging views that read no raw table (a profile without audit log selects an
        # empty one) have a profile's types too.
        views = conn.execute(
            "SELECT schemaname, viewname FROM pg_views "
            "WHERE schemaname IN ('staging', 'intermediate')"
        ).fetchall()
        for schema, view in views:
            conn.execute(f'DROP VIEW IF EXISTS "{schema}"."{view}" CASCADE')
    with clickhouse_client(environment.clickhouse_url) as client:
        for table in sorted(tables):
            client.command(f"DROP TABLE IF EXISTS raw.{table}")


EVERY_TABLE = {table for profile in PROFILES.values() for table in profile.table_names}


@pytest.fixture(scope="module")
def canonical_restored(environment: Environment) -> Iterator[None]:
    """After the module: the session's canonical shop, raw and published marts back, as
    `tests/test_quality_gates.py::ensure_published` leaves them (other modules rely on
    them), and no raw table of another profile left behind."""
    yield
    from test_quality_gates import Pipeline, failure_messages, prepare_shop

    from quality import records

    drop_raw(environment, EVERY_TABLE)
    with psycopg.connect(environment.shop_url, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass('public.customers') IS NOT NULL").fetchone()
    if row and row[0]:
        records.forget_good_counts(environment.warehouse_url)
    else:
        prepare_shop(environment)
    result = Pipeline(environment).run()
    assert result.success, failure_messages(result)


@dataclass
class ProfileRun:
    """The nightly's steps for one profile: its extract, its raw gates and dbt's assets
    from its own manifest, on a shop database of its own."""

    environment: Environment
    profile: Profile
    shop_url: str
    manifests: Mapping[str, Path]
    dbt: list[dg.AssetsDefinition] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.dbt = profile_dbt_assets(self.manifests)

    def pipeline(self) -> Any:
        from test_quality_gates import Pipeline

        run = self

        @dataclass
        class ProfilePipeline(Pipeline):
            def resources(self) -> dict[str, Any]:
                from pipelines.defs.environment import ShopmartsEnvironment

                return {
                    **super().resources(),
                    "shopmarts_environment": ShopmartsEnvironment(
                        shop_url=run.shop_url,
                        warehouse_url=run.environment.warehouse_url,
                        clickhouse_url=run.environment.clickhouse_url,
                    ),
                }

            def definitions(self) -> list[Any]:  # type: ignore[override]
                from pipelines.defs.dbt.assets import marts_cross_engine_parity
                from pipelines.defs.publish.assets import published_marts
                from pipelines.defs.quality.checks import mart_gates

                return [
                    extract_raw_asset(run.profile),
                    *run.dbt,
                    published_marts,
                    marts_cross_engine_parity,
                    *[raw_gate(engine, run.profile) for engine in ENGINES],
                    *mart_gates,
                ]

            def selection(self, extract: str | None, marts: Any) -> dg.AssetSelection:  # type: ignore[override]
                from pipelines.defs.publish.assets import PARITY_CHECK_NAME, published_marts

                tables = run.profile.table_names
                raw = [raw_key(engine, table) for engine in ENGINES for table in tables]
                built = [mart_key(engine, mart) for engine in ENGINES for mart in marts]
                gates = [dg.AssetCheckKey(key, RAW_CHECK_NAME) for key in raw]
                gates += [dg.AssetCheckKey(key, MART_CHECK_NAME) for key in built]
                gates += [dg.AssetCheckKey(key, PARITY_CHECK_NAME) for key in built]
                selected = (
                    dg.AssetSelection.assets(*built, published_marts)
                    | dg.AssetSelection.groups("staging", "intermediate")
                ).without_checks() | dg.AssetSelection.checks(*gates)
                if extract:
                    selected = selected | dg.AssetSelection.assets(*raw).without_checks()
                return selected

        return ProfilePipeline(self.environment)


def profile_dbt_assets(manifests: Mapping[str, Path]) -> list[dg.AssetsDefinition]:
    """The two engines' dbt assets as `pipelines/defs/dbt/assets.py` makes them, from the
    profile's manifests: their sources are the profile's raw tables."""
    from pipelines.defs.dbt.assets import engine_dbt_assets

    return [engine_dbt_assets(target, manifests[target]) for target in ("postgres", "clickhouse")]


INVENTED = "pmarts_invented"  # a scratch schema (ClickHouse: database) of one mart


def assert_invented_cost_is_stopped(environment: Environment) -> None:
    """The published product_performance copied with one product given a cost the minimal
    shop does not keep (its revenue): the mart gate stops it by
    `product_performance.cost_of_goods.not_carried`, and by nothing else, in both engines."""
    from quality.gate import run_mart_gate

    pick = "(SELECT product_id FROM marts.product_performance ORDER BY product_id LIMIT 1)"
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {INVENTED} CASCADE")
        conn.execute(f"CREATE SCHEMA {INVENTED}")
        conn.execute(
            f"CREATE TABLE {INVENTED}.product_performance AS "
            "SELECT * FROM marts.product_performance"
        )
        conn.execute(
            f"UPDATE {INVENTED}.product_performance SET cost_of_goods = revenue "
            f"WHERE product_id = {pick}"
        )
    with clickhouse_client(environment.clickhouse_url) as client:
        client.command(f"DROP DATABASE IF EXISTS {INVENTED}")
        client.command(f"CREATE DATABASE {INVENTED}")
        client.command(
            f"CREATE TABLE {INVENTED}.product_performance ENGINE = MergeTree ORDER BY tuple() "
            "AS SELECT * REPLACE (if(product_id = "
            "(SELECT min(product_id) FROM marts.product_performance), revenue, cost_of_goods) "
            "AS cost_of_goods) FROM marts.product_performance"
        )
    try:
        for engine in ENGINES:
            result = run_mart_gate(
                environment, engine, marts=["product_performance"], schema=INVENTED
            )
            failures = {f.rule: f.unexpected_count for f in result.failures}
            assert failures == {"product_performance.cost_of_goods.not_carried": 1}, (
                engine,
                failures,
            )
    finally:
        with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {INVENTED} CASCADE")
        with clickhouse_client(environment.clickhouse_url) as client:
            client.command(f"DROP DATABASE IF EXISTS {INVENTED}")


def assert_dashboards_render(environment: Environment) -> None:
    """Every dashboard page renders over the minimal shop's published marts on both
    engines (Streamlit's AppTest, as tests/test_dashboards.py drives it): no exception, no
    error box, its charts drawn, and the columns the shop cannot carry said to be not
    carried rather than shown as numbers."""
    from test_dashboards import PAGES, assert_clean, charts, open_app

    from dashboards import data
    from dashboards.formatting import NOT_CARRIED

    for engine in ENGINES:
        for page, (title, _chart_count) in PAGES.items():
            data.clear_cache()
            app = open_app(engine, page)
            assert_clean(app)
            assert [t.value for t in app.title] == [title], (engine, page)
            shown = " ".join(
                str(element.value) for element in (*app.caption, *app.info, *app.markdown)
            )
            if page in NOT_CARRIED_PAGES:
                assert NOT_CARRIED in shown, (engine, page, shown[:2000])
            if page != "views/promotions.py":  # the shop has no promotions: a message
                assert charts(app), (engine, page)


# Pages showing a column the minimal shop cannot carry: tier (segments), costs and
# margins (products), reserved units (inventory).
NOT_CARRIED_PAGES = {"views/segments.py", "views/products.py", "views/inventory.py"}
