"""The engines the extract reads and writes, as a Dagster resource."""

from __future__ import annotations

import dataclasses

import dagster as dg

from core.settings import Environment, get_environment


class ShopmartsEnvironment(dg.ConfigurableResource):
    """Where the shop, the warehouse and ClickHouse are.

    Unset URLs come from :func:`~core.settings.get_environment` when the
    resource is used (env vars, else the embedded stack), never at import time.
    """

    shop_url: str | None = None
    warehouse_url: str | None = None
    clickhouse_url: str | None = None
    raw_schema: str = "raw"  # warehouse schema and ClickHouse database of the raw layer

    def environment(self) -> Environment:
        if self.shop_url and self.warehouse_url and self.clickhouse_url:
            return Environment(
                shop_url=self.shop_url,
                warehouse_url=self.warehouse_url,
                clickhouse_url=self.clickhouse_url,
                embedded_postgres=False,
                embedded_clickhouse=False,
            )
        found = get_environment()
        return dataclasses.replace(
            found,
            shop_url=self.shop_url or found.shop_url,
            warehouse_url=self.warehouse_url or found.warehouse_url,
            clickhouse_url=self.clickhouse_url or found.clickhouse_url,
        )
