"""One logical shop through another profile's schema gives the canonical shop's marts.

The canonical shop and a profile's shop are generated with the same scale, seed and end
date (the same rows, written through each schema), extracted into raw schemas of their
own (`raw_canonical`, `raw_<profile>`), and built by dbt into sandboxes
(`eqcanonical_marts`, `eq<profile>_marts`) on both engines. Each mart of the profile then
equals the canonical mart row for row, on the columns the profile carries, with the
canonical keys written as the profile writes them (`md5('<entity>:' || id)::uuid`).

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
from pipelines.defs.dbt.connection import run_dbt

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

# Per profile: the marts compared, and in each the columns the profile cannot carry
# (NULL in its marts; its README's list). Marts left out are not comparable by design,
# and say why.
COMPARED: dict[str, dict[str, set[str]]] = {
    "solemate": {
        "customer_analytics": {"tier"},
        "customer_segments": {"tier"},
        "product_performance": set(),
        "daily_sales": set(),
        "monthly_revenue": set(),
        "category_performance": set(),
        "inventory_status": set(),
        "promotion_performance": set(),
    },
    # The minimal shop: one category for everything (category_performance), one stock
    # figure per product (inventory_status) and no promotions: those marts differ by
    # design (ingest/profiles/minimal/README.md).
    "minimal": {
        "customer_analytics": {"tier", "is_active"},
        "customer_segments": {"tier", "is_active"},
        "product_performance": {
            "avg_rating",
            "is_active",
            "cost_of_goods",
            "gross_margin",
            "gross_margin_pct",
        },
        "daily_sales": set(),
        "monthly_revenue": set(),
    },
}
# Columns holding a documented constant instead (the minimal shop's one category,
DOCUMENTED: dict[str, dict[str, dict[str, Any]]] = {
    # and a count of nothing, which is 0).
    # and a count of nothing, which is 0). daily_sales shows a day without discounts as 0
    # (its coalesce for quiet days), so the discounts the minimal shop does not keep read 0.
    "minimal": {
        "product_performance": {"category_name": "Uncategorized", "review_count": 0},
        "daily_sales": {"discount_total": Decimal("0.00")},
    },
}


def profile_key(entity: str, key: Any) -> str:
    """A canonical id as the profile writes it: md5('<entity>:' || id)::uuid, as text."""
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


def normalized(rows: Rows, canonical: bool) -> Rows:
    """Keys as text; the canonical ones translated into the profile's UUIDs."""
    out = []
    for row in rows:
        row = dict(row)
        for column, entity in KEY_ENTITIES.items():
            if column in row and row[column] is not None:
                key = row[column]
                row[column] = profile_key(entity, key) if canonical else str(key)
        out.append(row)
    return out


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
    assert len(actual) == len(expected) > 0 or mart == "promotion_performance", mart
    for row in actual:
        for column in not_carried:
            assert row[column] is None, (mart, column, row)
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


@pytest.fixture(scope="module")
def create_database(environment: Environment) -> Iterator[Callable[[str], str]]:
    with private_databases(environment.shop_url) as create:
        yield create


def build_marts(
    environment: Environment, create: Callable[[str], str], profile: str, artifacts: Path
) -> str:
    """The profile's shop loaded and its marts built on both engines; the sandbox prefix.
    dbt's artifacts go to ``artifacts`` (never the pipeline's target folder)."""
    raw_schema = load_profile_raw(environment, create, profile)
    prefix = f"eq{profile}_"
    variables = profile_vars(profile, raw_schema, prefix)
    runs = run_dbt(
        environment,
        ["run", "--select", "staging", "intermediate", "marts", *variables],
        artifacts_dir=artifacts,
    )
    assert_ok(runs, f"dbt run ({profile})")
    return prefix


@pytest.fixture(scope="module")
def canonical_prefix(
    environment: Environment,
    create_database: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    return build_marts(
        environment, create_database, "canonical", tmp_path_factory.mktemp("eq-canonical")
    )


@pytest.mark.parametrize("profile", sorted(COMPARED))
def test_profile_marts_equal_the_canonical_marts_on_both_engines(
    profile: str,
    environment: Environment,
    create_database: Callable[[str], str],
    canonical_prefix: str,
    tmp_path: Path,
) -> None:
    prefix = build_marts(environment, create_database, profile, tmp_path)
    for mart, not_carried in COMPARED[profile].items():
        for read, url in (
            (postgres_rows, environment.warehouse_url),
            (clickhouse_rows, environment.clickhouse_url),
        ):
            expected = normalized(read(url, f"{canonical_prefix}marts", mart), canonical=True)
            actual = normalized(read(url, f"{prefix}marts", mart), canonical=False)
            documented = DOCUMENTED.get(profile, {}).get(mart, {})
            compare_mart(mart, expected, actual, not_carried, documented)
