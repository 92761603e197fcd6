"""Ad-hoc SQL against one engine, for `shopmarts query`. Starts nothing."""

from __future__ import annotations

from typing import Any

from core.errors import ShopmartsError
from core.settings import get_environment, redact


def run_query(
    target: str, sql: str, *, as_analyst: bool = False
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of ``sql`` on ``target`` (warehouse, clickhouse or shop);
    ``as_analyst``: connected as the read-only `analyst` role."""
    from pipelines.engines.analyst import as_analyst as analyst_url

    environment = get_environment()
    if target == "clickhouse":
        url = environment.clickhouse_url
        return _clickhouse(analyst_url(url) if as_analyst else url, sql)
    url = environment.warehouse_url if target == "warehouse" else environment.shop_url
    return _postgres(analyst_url(url) if as_analyst else url, sql, target)


def _postgres(url: str, sql: str, target: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    import psycopg

    try:
        conn = psycopg.connect(url, connect_timeout=3)
    except psycopg.OperationalError as error:
        raise ShopmartsError(
            f"the {target} database at {redact(url)} is down or unreachable "
            "(start the embedded engines with `shopmarts up`)"
        ) from error
    with conn:
        try:
            cursor = conn.execute(sql)
        except psycopg.Error as error:
            raise ShopmartsError(f"{target}: {str(error).strip().splitlines()[0]}") from error
        if cursor.description is None:
            return ["status"], [(cursor.statusmessage,)]
        return [column.name for column in cursor.description], cursor.fetchall()


def _clickhouse(url: str, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    import clickhouse_connect
    from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

    try:
        client = clickhouse_connect.get_client(dsn=url, connect_timeout=3)
    except (OperationalError, OSError) as error:
        raise ShopmartsError(
            f"ClickHouse at {redact(url)} is down or unreachable "
            "(start the embedded engines with `shopmarts up`)"
        ) from error
    except DatabaseError as error:
        raise ShopmartsError(f"clickhouse: {str(error).strip().splitlines()[0]}") from error
    try:
        result = client.query(sql)
    except DatabaseError as error:
        raise ShopmartsError(f"clickhouse: {str(error).strip().splitlines()[0]}") from error
    finally:
        client.close()
    return list(result.column_names), [tuple(row) for row in result.result_rows]
