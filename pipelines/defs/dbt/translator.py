"""How dbt nodes become Dagster assets: one key space per engine, groups by layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings


def dbt_layer(dbt_resource_props: Mapping[str, Any]) -> str:
    """The layer of a dbt node: the folder under models/ (`staging`, `intermediate`, `marts`).

    Taken from the node's path, not its schema, so a build into the `marts_next` shadow
    materializes the same assets as one into `marts`.
    """
    fqn = dbt_resource_props.get("fqn") or []
    return fqn[1] if len(fqn) > 2 else "models"


class ShopmartsDbtTranslator(DagsterDbtTranslator):
    """Asset keys prefixed with the engine: `postgres/staging/stg_shop__orders`,
    `clickhouse/marts/customer_segments`. A dbt source is the extract's raw table of the
    same engine (`postgres/raw/orders`), so lineage runs shop -> raw -> staging ->
    intermediate -> marts. Groups are the layers (`staging`, `intermediate`, `marts`: the
    model's folder); kinds are dbt plus the engine (dagster-dbt adds both).
    """

    def __init__(self, engine: str) -> None:
        super().__init__(DagsterDbtTranslatorSettings(enable_asset_checks=True))
        self.engine = engine

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        name = dbt_resource_props["name"]
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([self.engine, "raw", dbt_resource_props.get("identifier") or name])
        return dg.AssetKey([self.engine, dbt_layer(dbt_resource_props), name])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return "raw"
        return dbt_layer(dbt_resource_props)
