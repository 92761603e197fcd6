"""The environment variables `dbt_project/profiles.yml` reads, from the engines' URLs.

The embedded engines pick their ports at start-up, so the profile cannot hold them:
every connection detail comes through ``env_var()``, and :func:`dbt_env` turns an
:class:`~pipelines.engines.settings.Environment` into those variables.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from pipelines.engines.settings import PROJECT_ROOT, Environment

DBT_PROJECT_DIR: Path = PROJECT_ROOT / "dbt_project"
TARGETS: tuple[str, ...] = ("postgres", "clickhouse")


def postgres_env(url: str) -> dict[str, str]:
    """Variables of the `postgres` target from a libpq URL (postgresql://user:pass@host:port/db)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return {
        "SHOPMARTS_PG_HOST": parts.hostname or "127.0.0.1",
        "SHOPMARTS_PG_PORT": str(parts.port or 5432),
        "SHOPMARTS_PG_USER": unquote(parts.username or "postgres"),
        "SHOPMARTS_PG_PASSWORD": unquote(parts.password or ""),
        "SHOPMARTS_PG_DBNAME": unquote(parts.path.lstrip("/")) or "warehouse",
        "SHOPMARTS_PG_SSLMODE": query.get("sslmode", ["prefer"])[0],
    }


def clickhouse_env(url: str) -> dict[str, str]:
    """Variables of the `clickhouse` target from an HTTP URL (http[s]://user:pass@host:port/)."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    return {
        "SHOPMARTS_CH_HOST": parts.hostname or "127.0.0.1",
        "SHOPMARTS_CH_PORT": str(parts.port or (8443 if secure else 8123)),
        "SHOPMARTS_CH_USER": unquote(parts.username or "default"),
        "SHOPMARTS_CH_PASSWORD": unquote(parts.password or ""),
        "SHOPMARTS_CH_SECURE": "true" if secure else "false",
    }


def dbt_env(environment: Environment) -> dict[str, str]:
    """Every variable `profiles.yml` reads, for both targets, pointing at ``environment``."""
    return {**postgres_env(environment.warehouse_url), **clickhouse_env(environment.clickhouse_url)}


@contextlib.contextmanager
def dbt_environment(environment: Environment) -> Iterator[Mapping[str, str]]:
    """Set :func:`dbt_env` in ``os.environ`` for the block, then restore what was there.

    dagster-dbt builds the dbt subprocess's environment (and its own adapter handle)
    from ``os.environ`` when ``DbtCliResource.cli`` is called, so the variables must be
    in place for that call; the subprocess keeps its copy after the block ends.
    """
    variables = dbt_env(environment)
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield variables
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
