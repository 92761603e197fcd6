"""The asset keys every part of the graph names, in one place: `shop/<table>`,
`<engine>/raw/<table>`, `<engine>/marts/<mart>`, and the steps after the marts."""

from __future__ import annotations

import dagster as dg

from core.vocabulary import ENGINES, RAW_SCHEMA

PUBLISHED_MARTS_KEY = dg.AssetKey("published_marts")
ANALYZED_KEY = dg.AssetKey(["postgres", "analyzed"])
DBT_DOCS_KEY = dg.AssetKey(["dbt_docs"])


def shop_table_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["shop", table])


def raw_key(engine: str, table: str) -> dg.AssetKey:
    return dg.AssetKey([engine, RAW_SCHEMA, table])


def mart_key(engine: str, mart: str) -> dg.AssetKey:
    return dg.AssetKey([engine, "marts", mart])


def mart_keys(marts: tuple[str, ...]) -> list[dg.AssetKey]:
    """Every engine's key of each of ``marts``."""
    return [mart_key(engine, mart) for engine in ENGINES for mart in marts]
