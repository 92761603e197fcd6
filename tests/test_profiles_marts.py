"""One logical shop through every profile's schema gives the canonical shop's marts.

The canonical shop and each profile's shop are generated with the same scale, seed and
end date (the same rows, written through each schema), extracted into raw schemas of
their own (`raw_canonical`, `raw_<profile>`), and built by dbt into sandboxes
(`eqcanonical_marts`, `eq<profile>_marts`) on both engines; the canonical build is made
once and shared. Each mart of the profile then equals the canonical mart row for row, on
the columns the profile carries, with the canonical keys written as the profile writes
them (`md5('<entity>:' || id)::uuid`, or the same integers for serial keys); the columns
it cannot carry (its declared `NOT_CARRIED`, what the mart gate expects) are NULL in
every row, and the marts it cannot fill are empty.

The same build is each profile's dbt build test: `dbt build` (staging's data tests: the
mapping's contract) and the profile's unit tests pass on both engines
(`tests/test_profiles_dbt.py` parses every profile).

Ties: a rank or quintile splits equal values by key, and UUID keys order differently
from the canonical integers, so for those columns the test compares which values got
which rank or score (the multiset of (score, value) pairs), not which key.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import clickhouse_connect
import psycopg
import pytest
from psycopg import sql
from test_profiles_dbt import assert_ok, load_profile_raw, profile_vars
from test_shop_generate import private_databases

from core.settings import Environment
from core.vocabulary import MARTS
from ingest.profiles import PROFILES
from pipelines.defs.dbt.connection import TARGETS, run_dbt
from quality.suites.profiles import PROFILE_NOT_CARRIED

Rows = list[dict[str, Any]]

# Key columns of the marts and the entity whose canonical id they hold.
KEY_ENTITIES = {
    "customer_id": "customer",
    "product_id": "product",
    "category_id": "category",
    "promotion_id": "promotion",
}
# Each mart's grain (its rows' identity) once keys are translated.
GRAIN = {
    "customer_analytics": ("customer_id",),
    "customer_segments": ("customer_id",),
    "product_performance": ("product_id",),
    "daily_sales": ("sales_date",),
    "monthly_revenue": ("month_start",),
    "category_performance": ("category_id",),
    "inventory_status": ("product_id", "warehouse_code"),
    "promotion_performance": ("promotion_id",),
}
# Columns decided by a tie-break on the key: compared as (column, value) multisets.
TIE_BROKEN = {
    "customer_segments": {
        "r_score": "recency_days",
        "f_score": "frequency",
        "m_score": "monetary",
    },
    "product_performance": {"revenue_rank": "revenue"},
}
# Derived from the tie-broken scores per customer: follow from the pairs above.
TIE_DERIVED = {"customer_segments": {"rfm_score", "segment"}}

# Per profile: the marts compared row for row with the canonical ones. The columns a
# profile cannot carry come from its declaration (NOT_CARRIED in
# quality/suites/profiles/<profile>.py, what the mart gate expects): NULL in every row of
# its marts, and every other column equal to the canonical. A mart left out differs by
# design and says why; its NULL columns are still checked, and what it must keep is
# checked by its own rule (SHAPED below).
COMPARED: dict[str, tuple[str, ...]] = {
    "solemate": MARTS,
    "techally": tuple(m for m in MARTS if m != "promotion_performance"),  # no promotions
    # One stock location per product (inventory_status: WH-ALL), no promotions.
    "modestwear": tuple(m for m in MARTS if m not in ("inventory_status", "promotion_performance")),
    # And one category for everything (category_performance: `uncategorized`).
    "minimal": tuple(
        m
        for m in MARTS
        if m not in ("category_performance", "inventory_status", "promotion_performance")
    ),
}
# Columns holding a documented constant instead: the minimal shop's one category, and a
# count of nothing, which is 0. daily_sales shows a day without discounts as 0 (its
# coalesce for quiet days), so the discounts a shop does not keep read 0.
DOCUMENTED: dict[str, dict[str, dict[str, Any]]] = {
    "minimal": {
        "product_performance": {"category_name": "Uncategorized", "review_count": 0},
        "daily_sales": {"discount_total": Decimal("0.00")},
    },
    "modestwear": {
        "product_performance": {"review_count": 0},
        "daily_sales": {"discount_total": Decimal("0.00")},
    },
}


def not_carried_columns(profile: str, mart: str) -> set[str]:
    """The columns of ``mart`` the profile declares it cannot carry."""
    return set(PROFILE_NOT_CARRIED[profile].of(mart))


def profile_key(entity: str, key: Any) -> str:
    """A canonical id as a UUID profile writes it: md5('<entity>:' || id)::uuid, as text."""
    return str(uuid.UUID(hashlib.md5(f"{entity}:{key}".encode()).hexdigest()))


def postgres_rows(url: str, schema: str, mart: str) -> Rows:
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(sql.SQL("select * from {}").format(sql.Identifier(schema, mart)))
        names = [column.name for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def clickhouse_rows(url: str, database: str, mart: str) -> Rows:
    client = clickhouse_connect.get_client(dsn=url)
    try:
        result = client.query(f"select * from `{database}`.`{mart}`")
        return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]
    finally:
        client.close()


def uses_uuid_keys(profile: str) -> bool:
    return PROFILES[profile].tables[0].key_type == "uuid"


def normalized(rows: Rows, canonical: bool, uuid_keys: bool = True) -> Rows:
    """Keys as text; the canonical ones written as the profile writes them (its UUIDs, or
    the same integers for a serial-keyed profile)."""
    out = []
    for row in rows:
        row = dict(row)
        for column, entity in KEY_ENTITIES.items():
            if column in row and row[column] is not None:
                key = row[column]
                row[column] = profile_key(entity, key) if canonical and uuid_keys else str(key)
        out.append(row)
    return out


def assert_not_carried(mart: str, actual: Rows, not_carried: set[str]) -> None:
    """The columns the profile cannot carry are NULL in every row (never invented)."""
    assert not not_carried or actual, f"{mart}: no row to show its NULL columns"
    for row in actual:
        for column in not_carried:
            assert row[column] is None, (mart, column, row)


def compare_mart(
    mart: str,
    expected: Rows,
    actual: Rows,
    not_carried: set[str],
    documented: dict[str, Any],
) -> None:
    """``actual`` (the profile's mart) equals ``expected`` (the canonical one) on the
    carried columns; the columns it cannot carry are NULL in it, the documented ones
    hold their constant."""
    assert len(actual) == len(expected) > 0, mart
    assert_not_carried(mart, actual, not_carried)
    for row in actual:
        for column, value in documented.items():
            assert row[column] == value, (mart, column, row)
    ties = TIE_BROKEN.get(mart, {})
    skipped = not_carried | set(documented) | set(ties) | TIE_DERIVED.get(mart, set())

    def keyed(rows: Rows) -> dict[tuple[Any, ...], dict[str, Any]]:
        return {
            tuple(row[column] for column in GRAIN[mart]): {
                column: value for column, value in row.items() if column not in skipped
            }
            for row in rows
        }

    expected_rows, actual_rows = keyed(expected), keyed(actual)
    assert actual_rows.keys() == expected_rows.keys(), mart
    different = [key for key in expected_rows if expected_rows[key] != actual_rows[key]]
    assert not different, (
        f"{mart}: {len(different)} rows differ, e.g. {different[0]}: "
        f"canonical {expected_rows[different[0]]} != profile {actual_rows[different[0]]}"
    )
    for score, value in ties.items():
        pairs = Counter((row[score], row[value]) for row in expected)
        assert Counter((row[score], row[value]) for row in actual) == pairs, (mart, score)


def one_stock_location(expected: Rows, actual: Rows) -> None:
    """inventory_status of a shop with one stock figure per product: one row per product
    at `WH-ALL`, holding the units on hand of all the canonical warehouses (the canonical
    shop has no row for a product it stocks nowhere)."""
    on_hand: Counter[str] = Counter()
    for row in expected:
        on_hand[row["product_id"]] += row["quantity_on_hand"]
    assert {row["warehouse_code"] for row in actual} == {"WH-ALL"}
    # Every product has its row (0 on hand where the canonical shop stocks it nowhere).
    assert {row["product_id"]: row["quantity_on_hand"] for row in actual} == {
        row["product_id"]: on_hand.get(row["product_id"], 0) for row in actual
    }
    assert set(on_hand) <= {row["product_id"] for row in actual}


def one_category(expected: Rows, actual: Rows) -> None:
    """category_performance of a shop without categories: the one documented category,
    top level, holding every product and all the shop's sales (the canonical top-level
    categories' together)."""
    assert [(row["category_name"], row["parent_category_name"]) for row in actual] == [
        ("Uncategorized", None)
    ]
    top = [row for row in expected if row["parent_category_name"] is None]
    for column in ("products_count", "units_sold", "revenue"):
        assert actual[0][column] == sum(row[column] for row in top), column
    assert actual[0]["revenue_share"] == 1


# Marts left out of the row-for-row comparison by design, and what they must hold instead
# (a mart not named here and not compared is one the profile leaves empty).
SHAPED: dict[str, dict[str, Callable[[Rows, Rows], None]]] = {
    "modestwear": {"inventory_status": one_stock_location},
    "minimal": {"inventory_status": one_stock_location, "category_performance": one_category},
}


@pytest.fixture(scope="module")
def create_database(environment: Environment) -> Iterator[Callable[[str], str]]:
    with private_databases(environment.shop_url) as create:
        yield create


def build_marts(
    environment: Environment,
    create: Callable[[str], str],
    profile: str,
    artifacts: Path,
    command: str = "run",
) -> str:
    """The profile's shop loaded and its marts built on both engines (``command``: dbt
    ``run``, or ``build`` with the models' data tests); the sandbox prefix. dbt's
    artifacts go to ``artifacts`` (never the pipeline's target folder)."""
    raw_schema = load_profile_raw(environment, create, profile)
    prefix = f"eq{profile}_"
    variables = profile_vars(profile, raw_schema, prefix)
    runs = run_dbt(
        environment,
        [command, "--select", "staging", "intermediate", "marts", *variables],
        artifacts_dir=artifacts,
    )
    assert_ok(runs, f"dbt {command} ({profile})")
    return prefix


@pytest.fixture(scope="module")
def canonical_prefix(
    environment: Environment,
    create_database: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """The one canonical reference build every profile is compared with."""
    return build_marts(
        environment, create_database, "canonical", tmp_path_factory.mktemp("eq-canonical")
    )


@pytest.mark.fast
def test_every_profile_is_compared() -> None:
    assert set(COMPARED) == set(PROFILES) - {"canonical"} == set(PROFILE_NOT_CARRIED)
    for profile, compared in COMPARED.items():
        declared = PROFILE_NOT_CARRIED[profile]
        left_out = set(MARTS) - set(compared)
        assert left_out == set(SHAPED.get(profile, {})) | declared.empty_marts, profile


@pytest.mark.parametrize("profile", sorted(COMPARED))
def test_profile_builds_and_its_marts_equal_the_canonical_marts_on_both_engines(
    profile: str,
    environment: Environment,
    create_database: Callable[[str], str],
    canonical_prefix: str,
    tmp_path: Path,
) -> None:
    """One build per profile serves both: dbt's build (models, and staging's data tests:
    the profile's mapping holds canonical keys and values) and its unit tests (its
    mapping rules) pass on both engines, and its marts equal the canonical ones."""
    prefix = build_marts(environment, create_database, profile, tmp_path, command="build")
    variables = profile_vars(profile, f"raw_{profile}", prefix)
    runs = run_dbt(
        environment,
        ["test", "--select", f"test_type:unit,staging.{profile}", *variables],
        artifacts_dir=tmp_path,
    )
    assert_ok(runs, f"unit tests ({profile})")
    for target in TARGETS:
        results = runs[target].artifact()["results"]
        assert results and {result["status"] for result in results} == {"pass"}, target
    # Staging keeps the shop's own keys (the marts' are compared below).
    with psycopg.connect(environment.warehouse_url) as conn:
        key_type = conn.execute(
            "select data_type from information_schema.columns"
            " where table_schema = %s and table_name = 'stg_shop__orders'"
            " and column_name = 'order_id'",
            (f"{prefix}staging",),
        ).fetchone()
    assert key_type == (("uuid",) if uses_uuid_keys(profile) else ("bigint",))

    declared = PROFILE_NOT_CARRIED[profile]
    for mart in MARTS:
        not_carried = not_carried_columns(profile, mart)
        for read, url in (
            (postgres_rows, environment.warehouse_url),
            (clickhouse_rows, environment.clickhouse_url),
        ):
            actual = normalized(read(url, f"{prefix}marts", mart), canonical=False)
            if mart in declared.empty_marts:
                assert actual == [], (profile, mart)
                continue
            expected = normalized(
                read(url, f"{canonical_prefix}marts", mart),
                canonical=True,
                uuid_keys=uses_uuid_keys(profile),
            )
            if mart in COMPARED[profile]:
                documented = DOCUMENTED.get(profile, {}).get(mart, {})
                compare_mart(mart, expected, actual, not_carried, documented)
            else:
                assert_not_carried(mart, actual, not_carried)
                SHAPED[profile][mart](expected, actual)
