"""Whether an incremental refresh may leave the staging views as they are.

Staging is views over raw, and a view only changes when its SQL does: the extract keeps
raw's tables (TRUNCATE and upsert, never DROP), so a view built once stays valid. A build
that made every staging view stamps the target's runs folder with what it built from:
the project's fingerprint (every file dbt parses, the source profile, the dbt version),
the engine it built in, and the views it made (as that build's own manifest names them).
An incremental refresh leaves staging out of its dbt build when the stamp matches and
every one of those views exists in the engine. Anything else (an edited model, another
profile, another server, a view dropped by hand, no stamp yet) and the build includes
staging, as the nightly always does, and stamps again: the next run recovers by itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from core.clients import clickhouse_client
from core.settings import Environment
from pipelines.defs.dbt.translator import dbt_layer

STAMP_FILE = "staging.stamp"
# The dbt selection an incremental build adds to leave staging out.
STAGING_EXCLUSION = ("--exclude", "path:models/staging")


def staging_stamp(fingerprint: str, target: str, environment: Environment) -> dict[str, str]:
    """What a staging build of ``target`` was made from: the project and the server."""
    url = environment.warehouse_url if target == "postgres" else environment.clickhouse_url
    parts = urlsplit(url)
    return {
        "project": fingerprint,
        "target": target,
        "server": f"{parts.hostname}:{parts.port}{parts.path}",
    }


def staging_views(manifest_path: Path) -> list[tuple[str, str]]:
    """(schema, name) of every staging model the manifest enables."""
    nodes = json.loads(manifest_path.read_text())["nodes"].values()
    return sorted(
        (node["schema"], node.get("alias") or node["name"])
        for node in nodes
        if node["resource_type"] == "model" and dbt_layer(node) == "staging"
    )


def _missing_views(environment: Environment, target: str, views: list[tuple[str, str]]) -> int:
    schemas = [schema for schema, _ in views]
    names = [name for _, name in views]
    if target == "postgres":
        with psycopg.connect(environment.warehouse_url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM unnest(%s::text[], %s::text[]) AS wanted(nspname, relname)"
                " WHERE NOT EXISTS (SELECT FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = wanted.nspname AND c.relname = wanted.relname"
                " AND c.relkind = 'v')",
                (schemas, names),
            ).fetchone()
        return int(row[0]) if row else len(views)
    with clickhouse_client(environment.clickhouse_url) as client:
        found = client.command(
            "SELECT count() FROM system.tables WHERE engine = 'View'"
            " AND (database, name) IN (SELECT arrayJoin(arrayZip({schemas:Array(String)},"
            " {names:Array(String)})))",
            parameters={"schemas": schemas, "names": names},
        )
    return len(views) - int(str(found))


def why_build_staging(
    runs_dir: Path, stamp: dict[str, str], environment: Environment, target: str
) -> str | None:
    """Why staging must be built again (no stamp, another project or server, views
    missing), or None: it was last built from ``stamp`` and every view it made exists."""
    marker = runs_dir / STAMP_FILE
    if not marker.exists():
        return "no full build has stamped staging yet"
    try:
        recorded = json.loads(marker.read_text())
        views = [(str(schema), str(name)) for schema, name in recorded["views"]]
    except (ValueError, KeyError, TypeError):
        return f"unreadable stamp {marker}"
    if recorded.get("stamp") != stamp:
        return f"staging was built from another project or server ({recorded.get('stamp')})"
    if not views:
        return "the stamped build made no staging view"
    missing = _missing_views(environment, target, views)
    return f"{missing} of {len(views)} staging views missing" if missing else None


def record_staging_built(
    runs_dir: Path, stamp: dict[str, str], views: list[tuple[str, str]]
) -> None:
    """Stamp ``runs_dir``: staging (``views``, as the build named them) was just built
    from ``stamp``."""
    staged = runs_dir / f".{STAMP_FILE}.tmp"
    staged.write_text(json.dumps({"stamp": stamp, "views": views}))
    staged.replace(runs_dir / STAMP_FILE)


def forget_staging_built(runs_dir: Path) -> None:
    """Drop the stamp: the next build includes staging."""
    (runs_dir / STAMP_FILE).unlink(missing_ok=True)
