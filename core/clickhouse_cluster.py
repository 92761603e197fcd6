"""ClickHouse cluster mode: every DDL the project issues runs ON CLUSTER, on replicated tables.

One setting, `CLICKHOUSE_CLUSTER`, names a cluster of the ClickHouse server's
`remote_servers` (docker-compose's cluster profile defines `shopmarts`). Unset (the
default, and the only choice with chDB, which runs no cluster), nothing changes. Set:

- databases, tables, EXCHANGE / RENAME / DROP get `ON CLUSTER <name>`, so every node
  holds the same objects (with the same UUIDs: Atomic databases);
- every MergeTree-family engine becomes its Replicated twin, its replicas registered in
  Keeper at ``/clickhouse/tables/{uuid}/{shard}`` as ``{replica}`` (the nodes' macros).
  The path follows the table's UUID, not its name, so a table renamed or exchanged
  keeps its replicas and a new table of the old name never collides with it;
- dbt does the same for the models through the profile's `cluster` option and the
  replicated engine of `dbt_project.yml`.

Writes and reads go through the node of `CLICKHOUSE_URL`: the tables are replicated
across the replicas of its shard, not sharded (there are no Distributed tables).
"""

from __future__ import annotations

import os
import re

from core.errors import ShopmartsError

CLUSTER_VAR = "CLICKHOUSE_CLUSTER"
# Keeper path and replica name of every replicated table (ClickHouse expands the macros
# when it creates the table on each node; {uuid} needs ON CLUSTER creation in an Atomic
# database, which gives every replica the same UUID).
REPLICA_PATH = "/clickhouse/tables/{uuid}/{shard}"
REPLICA_NAME = "{replica}"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_ENGINE = re.compile(
    r"\s*(?P<family>[A-Za-z]*MergeTree)(?:\s*\((?P<args>[^()]*)\))?(?P<rest>.*)", re.S
)


def clickhouse_cluster() -> str | None:
    """The cluster every DDL runs on, from `CLICKHOUSE_CLUSTER`; None when unset or empty."""
    name = os.environ.get(CLUSTER_VAR, "").strip()
    if not name:
        return None
    if not _NAME.fullmatch(name):
        raise ShopmartsError(
            f"{CLUSTER_VAR} is not a ClickHouse cluster name (letters, digits, _ . -): {name!r}"
        )
    return name


def on_cluster(cluster: str | None) -> str:
    """` ON CLUSTER `name`` for a DDL statement, or nothing without a cluster."""
    if not cluster:
        return ""
    return " ON CLUSTER `" + cluster.replace("`", "\\`") + "`"


def table_engine(engine: str, cluster: str | None) -> str:
    """``engine`` (a MergeTree-family clause, settings and ORDER BY included) as its
    Replicated twin on a cluster; unchanged without one, or for other engines (Memory)."""
    if not cluster:
        return engine
    match = _ENGINE.fullmatch(engine)
    if match is None or match["family"].startswith("Replicated"):
        return engine
    arguments = [f"'{REPLICA_PATH}'", f"'{REPLICA_NAME}'"]
    if match["args"] and match["args"].strip():
        arguments.append(match["args"].strip())
    return f"Replicated{match['family']}({', '.join(arguments)}){match['rest']}"
