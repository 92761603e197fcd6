"""Where the engines are: embedded under the state folder, or real servers from env vars.

One function, :func:`get_environment`, decides. Nothing here runs at import time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from core.errors import ShopmartsError

PROJECT_ROOT = Path(__file__).resolve().parents[1]

SHOP_URL_VAR = "SHOP_DATABASE_URL"
WAREHOUSE_URL_VAR = "WAREHOUSE_DATABASE_URL"
CLICKHOUSE_URL_VAR = "CLICKHOUSE_URL"
ENV_FILE_VAR = "SHOPMARTS_ENV_FILE"


def state_dir() -> Path:
    """The one ignored folder holding all embedded state (`SHOPMARTS_HOME` moves it)."""
    return Path(os.environ.get("SHOPMARTS_HOME") or PROJECT_ROOT / ".shopmarts").resolve()


def env_file() -> Path:
    """The `.env` file the command line reads: `SHOPMARTS_ENV_FILE`, else the project's."""
    return Path(os.environ.get(ENV_FILE_VAR) or PROJECT_ROOT / ".env")


def load_env_file() -> Path | None:
    """Put the variables of :func:`env_file` into ``os.environ``; returns the file, or None
    when there is none. A variable already set in the real environment wins over the file,
    so one command can still override a setting (``CLICKHOUSE_URL=... shopmarts status``).
    """
    from dotenv import dotenv_values  # python-dotenv: quoting, `export`, comments, escapes

    path = env_file()
    if not path.exists():
        if os.environ.get(ENV_FILE_VAR):
            raise ShopmartsError(f"{ENV_FILE_VAR} names a file that does not exist: {path}")
        return None
    if path.is_dir():
        raise ShopmartsError(f"{path} is a folder, not a .env file")
    for name, value in dotenv_values(path).items():
        if value is not None:
            os.environ.setdefault(name, value)
    return path


def stack_file() -> Path:
    """The file `shopmarts up` writes with the embedded engines' ports and pids."""
    return state_dir() / "stack.json"


def read_stack() -> dict:
    """The embedded stack's last recorded state, or an empty dict when never started."""
    try:
        return json.loads(stack_file().read_text())
    except FileNotFoundError:
        return {}


def validate_postgres_url(url: str, variable: str) -> str:
    """Check a libpq URL enough to reject typos with a clear message."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise ShopmartsError(
            f"{variable} is not a PostgreSQL URL (expected postgresql://user:pass@host:port/db): "
            f"{redact(url)}"
        )
    try:
        parts.port  # noqa: B018 - raises on a non-numeric port
    except ValueError as error:
        raise ShopmartsError(f"{variable} has a bad port: {redact(url)}") from error
    if not parts.path.strip("/"):
        raise ShopmartsError(f"{variable} names no database: {redact(url)}")
    return url


def validate_clickhouse_url(url: str, variable: str = CLICKHOUSE_URL_VAR) -> str:
    """Check a ClickHouse HTTP URL (http[s]://user:pass@host:port/)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ShopmartsError(
            f"{variable} is not a ClickHouse HTTP URL (expected http[s]://user:pass@host:port/): "
            f"{redact(url)}"
        )
    try:
        parts.port  # noqa: B018
    except ValueError as error:
        raise ShopmartsError(f"{variable} has a bad port: {redact(url)}") from error
    return url


def redact(url: str) -> str:
    """The URL with its password replaced, safe to print or log."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


@dataclass(frozen=True)
class Environment:
    """Connection URLs of the three engines, and whether each is the embedded one."""

    shop_url: str
    warehouse_url: str
    clickhouse_url: str
    embedded_postgres: bool
    embedded_clickhouse: bool

    @property
    def fully_external(self) -> bool:
        return not (self.embedded_postgres or self.embedded_clickhouse)


def embedded_postgres_url(database: str, port: int) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


def embedded_clickhouse_url(port: int) -> str:
    return f"http://default:@127.0.0.1:{port}/"


def get_environment(require_running: bool = True) -> Environment:
    """Decide where every engine is: env vars win, otherwise the embedded stack.

    With ``require_running`` the embedded engines must have been started by
    `shopmarts up`; the error says so instead of failing later on a connection.
    """
    shop = os.environ.get(SHOP_URL_VAR)
    warehouse = os.environ.get(WAREHOUSE_URL_VAR)
    clickhouse = os.environ.get(CLICKHOUSE_URL_VAR)
    if shop:
        validate_postgres_url(shop, SHOP_URL_VAR)
    if warehouse:
        validate_postgres_url(warehouse, WAREHOUSE_URL_VAR)
    if clickhouse:
        validate_clickhouse_url(clickhouse)

    stack = read_stack() if not (shop and warehouse and clickhouse) else {}
    postgres_port = stack.get("postgres", {}).get("port")
    clickhouse_port = stack.get("clickhouse", {}).get("port")
    needs_postgres = not (shop and warehouse)
    if require_running and needs_postgres and not postgres_port:
        raise ShopmartsError(
            "the embedded PostgreSQL is not set up: run `shopmarts up` "
            f"(or set {SHOP_URL_VAR} and {WAREHOUSE_URL_VAR})"
        )
    if require_running and not clickhouse and not clickhouse_port:
        raise ShopmartsError(
            "the embedded ClickHouse is not set up: run `shopmarts up` "
            f"(or set {CLICKHOUSE_URL_VAR})"
        )
    return Environment(
        shop_url=shop or embedded_postgres_url("shop", postgres_port or 0),
        warehouse_url=warehouse or embedded_postgres_url("warehouse", postgres_port or 0),
        clickhouse_url=clickhouse or embedded_clickhouse_url(clickhouse_port or 0),
        embedded_postgres=needs_postgres,
        embedded_clickhouse=not clickhouse,
    )


SOURCE_PROFILE_VAR = "SHOPMARTS_SOURCE_PROFILE"


def source_profile_name() -> str:
    """The shop's source profile (SHOPMARTS_SOURCE_PROFILE, default ``canonical``)."""
    return (os.environ.get(SOURCE_PROFILE_VAR) or "canonical").strip().lower()


ANALYST_PASSWORD_VAR = "ANALYST_PASSWORD"
EMBEDDED_DEFAULT_PASSWORD = "analyst"  # noqa: S105 - the documented local-only default


def analyst_password() -> str:
    """The analyst's password: `ANALYST_PASSWORD`, else the embedded default (the embedded
    engines listen on 127.0.0.1 only)."""
    return os.environ.get(ANALYST_PASSWORD_VAR) or EMBEDDED_DEFAULT_PASSWORD
