"""A profile's tables synced from the canonical shop kept beside them, through its fill.sql.

A shop database of a non-canonical profile holds two things: the profile's own tables in
``public`` (what the extract reads) and the canonical shop they were written from, in
schema ``shopmarts_canonical`` (:data:`~ingest.profiles.CANONICAL_SCHEMA`). `simulate`
advances the canonical shop with the canonical simulator, then :func:`sync_profile` brings
the profile's tables to exactly what ``fill.sql`` makes of it now:

1. every fill statement runs into a temporary table of its target's filled columns (the
   same set-based ``INSERT ... SELECT`` that `generate` ran, so the same rows);
2. per table, children first: DELETE the rows whose key is gone (hard deletes stay real
   deletes in the profile);
3. per table, parents first: UPDATE the rows whose filled columns differ
   (``IS DISTINCT FROM`` on the row), INSERT the keys that are new.

Only changed rows are written, so the profile's ``updated_at`` triggers fire for them
alone, and a second sync changes nothing. A trigger-kept ``updated_at`` is not compared:
it is when the profile's row last changed (the sync's ``now()``, in the simulate
transaction the simulated hours' own), the incremental extract's cursor. Every other
filled column equals what fill.sql makes of the canonical shop; columns a fill statement
does not name keep what their defaults gave them on insert.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from core.errors import ShopmartsError
from ingest.profiles import Profile, ProfileTable, profile_sections

# The schema the profile's tables live in: the one the extract reads.
PROFILE_SCHEMA = "public"
# `INSERT INTO <table> (<columns>)`, the first of a fill statement (after its WITH, if any).
_FILL_TARGET = re.compile(r"\bINSERT\s+INTO\s+(\w+)\s*\(([^)]*)\)", re.IGNORECASE)
# Types without an equality operator are compared by a type that has one.
_COMPARED_AS = {"json": "jsonb", "xml": "text", "point": "text"}


@dataclass
class TableSync:
    """What one table's sync did."""

    deleted: int = 0
    updated: int = 0
    inserted: int = 0

    @property
    def changed(self) -> int:
        return self.deleted + self.updated + self.inserted


@dataclass
class SyncReport:
    """Per profile table, rows deleted, updated and inserted; where the time went."""

    profile: str
    tables: dict[str, TableSync] = field(default_factory=dict)
    fill_seconds: float = 0.0  # the fill statements into the temporary tables
    apply_seconds: float = 0.0  # the DELETEs, UPDATEs and INSERTs
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [
            f"profile {self.profile} synced from the canonical shop in {self.seconds:.1f} s "
            f"(fill {self.fill_seconds:.1f} s, apply {self.apply_seconds:.1f} s)"
        ]
        for table, done in self.tables.items():
            if done.changed:
                out.append(
                    f"  {table:<24}delete {done.deleted:,}, update {done.updated:,}, "
                    f"insert {done.inserted:,}"
                )
        return out


def fill_target(statement: str) -> str:
    """The table a fill statement inserts into."""
    return _fill_columns(statement)[0]


def _fill_columns(statement: str) -> tuple[str, tuple[str, ...]]:
    match = _FILL_TARGET.search(statement)
    if match is None:
        raise ShopmartsError(
            "a fill statement must be `INSERT INTO <table> (<columns>) SELECT ...`; got: "
            + " ".join(statement.split())[:80]
        )
    columns = tuple(column.strip() for column in match.group(2).split(","))
    return match.group(1), columns


def fill_plan(profile: Profile) -> dict[str, tuple[tuple[str, ...], list[str]]]:
    """Per filled table, in the profile's load order: its filled columns and statements.

    Raises ShopmartsError when a statement fills a table the registry does not list, or
    two statements of one table name different columns (the sync compares one shape).
    """
    plan: dict[str, tuple[tuple[str, ...], list[str]]] = {}
    for statement in profile_sections(profile.name)["fill"]:
        table, columns = _fill_columns(statement)
        profile.table(table)  # a clear error for a table the registry does not know
        known = plan.setdefault(table, (columns, []))
        if known[0] != columns:
            raise ShopmartsError(
                f"profile {profile.name!r}: fill.sql fills {table} twice with different "
                f"columns ({', '.join(known[0])} / {', '.join(columns)})"
            )
        known[1].append(statement)
    order = profile.table_names
    return dict(sorted(plan.items(), key=lambda item: order.index(item[0])))


def _staging(table: str) -> sql.Identifier:
    return sql.Identifier(f"_sync_{table}")


def sync_profile(conn: psycopg.Connection, profile: Profile) -> SyncReport:
    """Make ``profile``'s tables what its fill.sql makes of the canonical shop now.

    Runs in the caller's transaction (see the module docstring); the temporary tables
    are dropped at its commit.
    """
    started = time.perf_counter()
    report = SyncReport(profile.name)
    plan = fill_plan(profile)
    conn.execute("SET LOCAL work_mem = '256MB'")  # hash joins of whole tables
    for table, (columns, statements) in plan.items():
        staged = _staging(table)
        conn.execute(
            sql.SQL(
                "CREATE TEMPORARY TABLE {staged} ON COMMIT DROP AS "
                "SELECT {columns} FROM {table} WITH NO DATA"
            ).format(
                staged=staged,
                columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
                table=sql.Identifier(PROFILE_SCHEMA, table),
            )
        )
        for statement in statements:
            # The same statement, aimed at the temporary table (only its first INSERT INTO).
            aimed = _FILL_TARGET.sub(
                lambda m: f"INSERT INTO pg_temp._sync_{m.group(1)} ({m.group(2)})",
                statement,
                count=1,
            )
            conn.execute(aimed)
        conn.execute(sql.SQL("ANALYZE {}").format(staged))
    report.fill_seconds = time.perf_counter() - started

    applied = time.perf_counter()
    tables = {table: profile.table(table) for table in plan}
    report.tables = {table: TableSync() for table in plan}
    for table in reversed(list(plan)):  # children first: no foreign key is left dangling
        report.tables[table].deleted = _delete_gone(conn, tables[table])
    for table, (columns, _) in plan.items():  # parents first: every reference exists
        done = report.tables[table]
        types = _column_types(conn, table)
        done.updated = _update_changed(conn, tables[table], columns, types)
        done.inserted = _insert_new(conn, tables[table], columns)
    move_serial_sequences(conn, profile)
    report.apply_seconds = time.perf_counter() - applied
    report.seconds = time.perf_counter() - started
    return report


def _key_match(spec: ProfileTable, left: str, right: str) -> sql.Composable:
    return sql.SQL(" AND ").join(
        sql.SQL("{}.{} = {}.{}").format(
            sql.Identifier(left), sql.Identifier(key), sql.Identifier(right), sql.Identifier(key)
        )
        for key in spec.primary_key
    )


def _delete_gone(conn: psycopg.Connection, spec: ProfileTable) -> int:
    cursor = conn.execute(
        sql.SQL(
            "DELETE FROM {table} AS t WHERE NOT EXISTS (SELECT FROM {staged} AS n WHERE {match})"
        ).format(
            table=sql.Identifier(PROFILE_SCHEMA, spec.name),
            staged=_staging(spec.name),
            match=_key_match(spec, "n", "t"),
        )
    )
    return cursor.rowcount


def _column_types(conn: psycopg.Connection, table: str) -> dict[str, str]:
    return dict(
        conn.execute(
            "SELECT a.attname::text, t.typname::text FROM pg_attribute AS a"
            " JOIN pg_type AS t ON t.oid = a.atttypid"
            " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
            (f"{PROFILE_SCHEMA}.{table}",),
        ).fetchall()
    )


def _update_changed(
    conn: psycopg.Connection, spec: ProfileTable, columns: tuple[str, ...], types: dict[str, str]
) -> int:
    # A trigger-kept updated_at says when the profile's row last changed, which need not be
    # when its canonical source did (a user's last login moves with a new order, the
    # customer row does not): compared, it would differ again after every sync. The
    # trigger sets it on every row this UPDATE changes.
    kept_by_trigger = ("updated_at",) if spec.updated_at else ()
    changing = [c for c in columns if c not in spec.primary_key and c not in kept_by_trigger]
    if not changing:
        return 0

    def compared(alias: str) -> sql.Composable:
        values = []
        for column in changing:
            value = sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(column))
            cast = _COMPARED_AS.get(types.get(column, ""))
            values.append(sql.SQL("{}::{}").format(value, sql.SQL(cast)) if cast else value)
        return sql.SQL("ROW({})").format(sql.SQL(", ").join(values))

    cursor = conn.execute(
        sql.SQL(
            "UPDATE {table} AS t SET ({targets}) = ROW({values}) FROM {staged} AS n "
            "WHERE {match} AND {old} IS DISTINCT FROM {new}"
        ).format(
            table=sql.Identifier(PROFILE_SCHEMA, spec.name),
            targets=sql.SQL(", ").join(map(sql.Identifier, changing)),
            values=sql.SQL(", ").join(
                sql.SQL("n.{}").format(sql.Identifier(column)) for column in changing
            ),
            staged=_staging(spec.name),
            match=_key_match(spec, "t", "n"),
            old=compared("t"),
            new=compared("n"),
        )
    )
    return cursor.rowcount


def _insert_new(conn: psycopg.Connection, spec: ProfileTable, columns: tuple[str, ...]) -> int:
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    cursor = conn.execute(
        sql.SQL(
            "INSERT INTO {table} ({names}) SELECT {names} FROM {staged} AS n "
            "WHERE NOT EXISTS (SELECT FROM {table} AS t WHERE {match})"
        ).format(
            table=sql.Identifier(PROFILE_SCHEMA, spec.name),
            names=names,
            staged=_staging(spec.name),
            match=_key_match(spec, "t", "n"),
        )
    )
    return cursor.rowcount


def move_serial_sequences(conn: psycopg.Connection, profile: Profile) -> None:
    """Move each serial key's sequence past the ids: the fill inserts explicit ids."""
    for spec in profile.tables:
        if spec.key_type != "serial":
            continue
        conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({name}, {column}), "
                "coalesce(max({key}), 0) + 1, false) FROM {table}"
            ).format(
                name=sql.Literal(spec.name),
                column=sql.Literal(spec.primary_key[0]),
                key=sql.Identifier(spec.primary_key[0]),
                table=sql.Identifier(spec.name),
            )
        )
