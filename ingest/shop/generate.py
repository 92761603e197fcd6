"""`shopmarts generate`: the shop's schema, filled with a realistic and reproducible history.

Everything happens in one transaction, so a failure leaves the shop as it was:
drop (with ``replace``) and create the tables, stream every table through binary COPY
while a producer thread generates the next chunk, then add keys, indexes and triggers
and commit. The same scale, seed and end date always give byte-identical rows.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import psycopg
from psycopg import sql

from core.errors import ShopmartsError
from core.settings import redact
from ingest.profiles import (
    CANONICAL_SCHEMA,
    DEFAULT_PROFILE,
    Profile,
    every_profile_table,
    get_profile,
)
from ingest.profiles import profile_sections as load_profile_sections
from ingest.shop.calendar import DEFAULT_END_DATE, Timeline, to_datetime
from ingest.shop.copy import COPY_HEADER, COPY_TRAILER, CopyBatch
from ingest.shop.dimensions import (
    ShopPlan,
    categories,
    customer_batches,
    customer_facts,
    product_batches,
    product_facts,
    promotions,
)
from ingest.shop.orders import OrderHistory, inventory_batch
from ingest.shop.profile_sync import fill_target, move_serial_sequences
from ingest.shop.progress import Progress
from ingest.shop.schema import SHOP_TABLES, connect, reset_identities, schema_sections, table_rows

MAX_SCALE = 1000.0
QUEUE_DEPTH = 4  # chunks generated ahead of the server: bounds memory
LOCK_TIMEOUT = "10s"
# Every trigger function any profile's schema creates in the shop.
PROFILE_FUNCTIONS = ("shop_set_updated_at()", "shop_audit_row()", "update_updated_at()")


@dataclass
class TableLoad:
    """What loading one table took."""

    rows: int = 0
    bytes: int = 0
    produce_seconds: float = 0.0  # generating and encoding its rows (producer thread)
    copy_seconds: float = 0.0  # sending them through COPY until the server took them


@dataclass
class GenerateReport:
    """Rows per table and where the time went."""

    scale: float
    seed: int
    end_date: date
    tables: dict[str, TableLoad] = field(default_factory=dict)
    load_seconds: float = 0.0
    analyze_seconds: float = 0.0
    finish_seconds: float = 0.0  # keys, indexes, triggers and commit
    total_seconds: float = 0.0
    steps: list[tuple[str, float]] = field(default_factory=list)  # DDL statement, seconds
    profile: str = DEFAULT_PROFILE
    # Non-canonical profiles: rows written into each of the profile's tables, and the time
    # the INSERT ... SELECT statements from the scratch canonical shop took.
    profile_rows: dict[str, int] = field(default_factory=dict)
    fill_seconds: float = 0.0
    # Non-canonical profiles: the canonical shop's keys, indexes, foreign keys and triggers
    # in its own schema (load and analyze are counted above).
    canonical_finish_seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(load.rows for load in self.tables.values())

    def lines(self) -> list[str]:
        start = self.end_date.replace(year=self.end_date.year - 3)
        # The canonical line stays as it always was; another profile is named in it.
        named = "" if self.profile == DEFAULT_PROFILE else f" (profile {self.profile})"
        out = [
            f"shop generated{named}: scale {self.scale:g}, seed {self.seed}, "
            f"orders from {start} to {self.end_date} (exclusive)",
            f"{'table':<20}{'rows':>12}{'MiB':>9}{'generate s':>12}{'copy s':>9}",
        ]
        for table, load in self.tables.items():
            out.append(
                f"{table:<20}{load.rows:>12,}{load.bytes / 2**20:>9.1f}"
                f"{load.produce_seconds:>12.2f}{load.copy_seconds:>9.2f}"
            )
        if self.profile_rows:
            out.append(
                f"written through profile {self.profile} in {self.fill_seconds:.1f} s (the "
                f"canonical shop kept in schema {CANONICAL_SCHEMA}: keys, indexes, triggers "
                f"{self.canonical_finish_seconds:.1f} s):"
            )
            out.extend(f"{table:<24}{rows:>12,}" for table, rows in self.profile_rows.items())
        rate = self.total_rows / self.total_seconds if self.total_seconds else 0.0
        out.append(
            f"{self.total_rows:,} rows in {self.total_seconds:.1f} s ({rate:,.0f} rows/s): "
            f"load {self.load_seconds:.1f} s, analyze {self.analyze_seconds:.1f} s, "
            f"keys+indexes+triggers+commit {self.finish_seconds:.1f} s"
        )
        return out


def shop_batches(plan: ShopPlan) -> Iterator[CopyBatch]:
    """Every row of the generated shop as binary COPY batches, parents first."""
    category_facts, category_batch = categories(plan)
    yield category_batch
    products = product_facts(plan, category_facts)
    yield from product_batches(plan, products, category_facts)
    customers = customer_facts(plan)
    yield from customer_batches(plan, customers)
    promotion_facts, promotion_batch = promotions(plan)
    yield promotion_batch
    history = OrderHistory(plan, category_facts, customers, products, promotion_facts)
    yield from history.batches()
    yield inventory_batch(plan, products, history)


def make_plan(scale: float, seed: int, end_date: date | None = None) -> ShopPlan:
    """Validate the arguments (one clear error each) and fix the shop's sizes and dates."""
    if not math.isfinite(scale) or scale <= 0:
        raise ShopmartsError(f"--scale must be a positive number, got {scale:g}")
    if scale > MAX_SCALE:
        raise ShopmartsError(f"--scale must be at most {MAX_SCALE:g}, got {scale:g}")
    if seed < 0:
        raise ShopmartsError(f"--seed must be zero or positive, got {seed}")
    end_date = end_date or DEFAULT_END_DATE
    today = datetime.now(UTC).date()
    if end_date > today:
        # updated_at of simulated changes comes from the wall clock; history after it
        # would make the incremental extract's watermark run ahead of time.
        raise ShopmartsError(f"--end-date must not be in the future, got {end_date}")
    return ShopPlan(scale=scale, seed=seed, timeline=Timeline.ending(end_date))


def generate_shop(
    shop_url: str,
    *,
    scale: float,
    seed: int,
    replace: bool,
    progress: bool,
    end_date: date | None = None,
    profile: str = DEFAULT_PROFILE,
) -> GenerateReport:
    """Create the shop's schema in ``shop_url`` and fill it (see the module docstring).

    Refuses a shop that holds data unless ``replace``; then the old tables (of any profile)
    are dropped in the same transaction that loads the new ones. A non-canonical
    ``profile`` gets the same logical shop written through its own schema.
    """
    chosen = get_profile(profile)
    plan = make_plan(scale, seed, end_date)
    report = GenerateReport(
        scale=scale,
        seed=seed,
        end_date=to_datetime(plan.timeline.end).date(),
        profile=chosen.name,
    )
    shown = Progress(progress)
    started = time.perf_counter()
    with connect(shop_url) as conn:
        try:
            with conn.transaction():
                conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(LOCK_TIMEOUT))
                # Room for the hash joins that validate the foreign keys.
                conn.execute("SET LOCAL work_mem = '256MB'")
                occupied = [table for table, rows in table_rows(conn).items() if rows]
                occupied += [t for t in _occupied_profile_tables(conn) if t not in occupied]
                if occupied and not replace:
                    raise ShopmartsError(
                        f"the shop at {redact(shop_url)} already has data "
                        f"({', '.join(occupied[:4])}{', ...' if len(occupied) > 4 else ''}); "
                        "pass --replace to drop it and generate a new one"
                    )
                # Whatever profile the shop held before goes too (its tables may share names
                # with this one's but not shapes), and the canonical shop it was written from.
                _drop_every_profile(conn, shown, report)
                if chosen.name == DEFAULT_PROFILE:
                    finish_started = _generate_canonical(conn, plan, report, shown)
                else:
                    finish_started = _generate_through_profile(conn, plan, chosen, report, shown)
            report.finish_seconds = time.perf_counter() - finish_started
        except psycopg.errors.LockNotAvailable as error:
            raise ShopmartsError(
                f"the shop at {redact(shop_url)} is in use (no lock within {LOCK_TIMEOUT}); "
                "stop what reads it and try again"
            ) from error
        except psycopg.Error as error:
            first_line = (
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            )
            raise ShopmartsError(
                f"generating the shop failed, nothing changed: {first_line}"
            ) from error
    report.total_seconds = time.perf_counter() - started
    shown.done(f"shop generated: {report.total_rows:,} rows")
    return report


def _load_and_analyze(
    conn: psycopg.Connection, plan: ShopPlan, report: GenerateReport, shown: Progress
) -> None:
    """COPY every canonical table into the schema first on the search path, then ANALYZE
    them: validating the foreign keys (or filling a profile's tables) is a join the planner
    must plan well (a hash join, not millions of index probes)."""
    load_started = time.perf_counter()
    _load(conn, plan, report, shown)
    report.load_seconds = time.perf_counter() - load_started
    analyze_started = time.perf_counter()
    for table in SHOP_TABLES:
        shown.update(f"analyze {table}")
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
    report.analyze_seconds = time.perf_counter() - analyze_started


def _generate_canonical(
    conn: psycopg.Connection, plan: ShopPlan, report: GenerateReport, shown: Progress
) -> float:
    """The canonical shop (schema.sql) in the current schema; returns when finishing began."""
    _run_section(conn, "drop", shown, report)
    _run_section(conn, "tables", shown, report)
    _load_and_analyze(conn, plan, report, shown)
    finish_started = time.perf_counter()
    reset_identities(conn)
    _run_section(conn, "keys", shown, report)
    _run_section(conn, "indexes", shown, report)
    # Every referencing column is indexed and COPY FREEZE left the heap all-visible:
    # merging two index-only scans validates a key 3-5x cheaper than a hash join.
    conn.execute("SET LOCAL enable_hashjoin = off")
    _run_section(conn, "foreign_keys", shown, report)
    conn.execute("SET LOCAL enable_hashjoin TO DEFAULT")
    _run_section(conn, "triggers", shown, report)
    return finish_started


def _occupied_profile_tables(conn: psycopg.Connection) -> list[str]:
    """Tables of any profile in the shop's schema that hold rows."""
    present = [
        row[0]
        for row in conn.execute(
            "SELECT c.relname FROM pg_class AS c"
            " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'"
            " AND c.relname = ANY(%s) ORDER BY c.relname",
            (list(every_profile_table()),),
        )
    ]
    query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {})")
    return [
        t for t in present if conn.execute(query.format(sql.Identifier(t))).fetchone() == (True,)
    ]


def _drop_every_profile(conn: psycopg.Connection, shown: Progress, report: GenerateReport) -> None:
    """Drop the tables and trigger functions of every profile, in one statement each, and
    the schema a profile keeps its canonical shop in.

    One DROP for all of them: the foreign keys between a profile's tables never block it,
    whichever profile the shop held.
    """
    tables = sql.SQL(", ").join(sql.Identifier(t) for t in every_profile_table())
    functions = ", ".join(PROFILE_FUNCTIONS)
    for statement in (
        sql.SQL("DROP TABLE IF EXISTS {}").format(tables),
        sql.SQL(f"DROP FUNCTION IF EXISTS {functions}"),  # type: ignore[arg-type]
        sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(CANONICAL_SCHEMA)),
    ):
        began = time.perf_counter()
        shown.update("drop the tables of every profile")
        conn.execute(statement)
        report.steps.append(("drop every profile", time.perf_counter() - began))


def _generate_through_profile(
    conn: psycopg.Connection,
    plan: ShopPlan,
    profile: Profile,
    report: GenerateReport,
    shown: Progress,
) -> float:
    """The canonical shop into schema ``shopmarts_canonical``, then INSERT ... SELECT
    through ``profile``.

    The canonical generator is the one source of the logical shop: every profile gets the
    same customers, orders, lines and amounts, written in its own tables and spellings by
    its fill.sql (set-based, one statement per table). The canonical shop stays, whole
    (keys, indexes, triggers: `simulate` advances it with the canonical simulator and syncs
    the profile's tables from it, :mod:`ingest.shop.profile_sync`); the extract reads only
    ``public``. Returns when finishing the profile's tables (keys, indexes, ...) began.
    """
    sections = load_profile_sections(profile.name)
    canonical = sql.Identifier(CANONICAL_SCHEMA)
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(canonical))
    # The canonical DDL and COPY name their tables unqualified: they land in its own schema.
    search_path = conn.execute("SELECT current_setting('search_path')").fetchone()
    conn.execute(sql.SQL("SET LOCAL search_path = {}").format(canonical))
    canonical_finish_started = _generate_canonical(conn, plan, report, shown)
    report.canonical_finish_seconds = time.perf_counter() - canonical_finish_started
    conn.execute(
        "SELECT set_config('search_path', %s, true)", (search_path[0] if search_path else "",)
    )
    _run_section(conn, "drop", shown, report, sections)
    _run_section(conn, "tables", shown, report, sections)
    fill_started = time.perf_counter()
    for number, statement in enumerate(sections["fill"], 1):
        target = fill_target(statement)
        shown.update(f"fill {number}/{len(sections['fill'])}: {target}")
        began = time.perf_counter()
        cursor = conn.execute(statement)
        report.steps.append((f"fill {target}", time.perf_counter() - began))
        report.profile_rows[target] = report.profile_rows.get(target, 0) + max(cursor.rowcount, 0)
    report.fill_seconds = time.perf_counter() - fill_started
    analyze_started = time.perf_counter()
    for table in profile.table_names:
        shown.update(f"analyze {table}")
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
    report.analyze_seconds += time.perf_counter() - analyze_started  # canonical's, then these
    finish_started = time.perf_counter()
    move_serial_sequences(conn, profile)
    _run_section(conn, "keys", shown, report, sections)
    _run_section(conn, "indexes", shown, report, sections)
    _run_section(conn, "foreign_keys", shown, report, sections)
    _run_section(conn, "triggers", shown, report, sections)
    return finish_started


def _run_section(
    conn: psycopg.Connection,
    section: str,
    shown: Progress,
    report: GenerateReport,
    sections: dict[str, list[str]] | None = None,
) -> None:
    statements = (sections or schema_sections())[section]
    for number, statement in enumerate(statements, 1):
        title = " ".join(statement.split())[:90]
        shown.update(f"{section} {number}/{len(statements)}: {title[:60]}")
        began = time.perf_counter()
        conn.execute(statement)
        report.steps.append((title, time.perf_counter() - began))


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


def _load(
    conn: psycopg.Connection, plan: ShopPlan, report: GenerateReport, shown: Progress
) -> None:
    """COPY every batch while a producer thread generates the next ones."""
    for table in SHOP_TABLES:
        report.tables[table] = TableLoad()
    batches: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DEPTH)
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            source = shop_batches(plan)
            while True:
                began = time.perf_counter()
                batch = next(source, None)
                if batch is None:
                    break
                report.tables[batch.table].produce_seconds += time.perf_counter() - began
                if not hand_over(batch):
                    return
            hand_over(_DONE)
        except BaseException as error:  # handed to the consumer, which re-raises it
            hand_over(_Failed(error))

    producer = threading.Thread(target=produce, name="shop-generator", daemon=True)
    producer.start()
    try:
        with conn.cursor() as cursor:
            while True:
                item = batches.get()
                if item is _DONE:
                    break
                if isinstance(item, _Failed):
                    raise item.error
                assert isinstance(item, CopyBatch)
                began = time.perf_counter()
                with cursor.copy(item.statement()) as copy:
                    copy.write(COPY_HEADER)
                    copy.write(item.data)
                    copy.write(COPY_TRAILER)
                load = report.tables[item.table]
                load.copy_seconds += time.perf_counter() - began
                load.rows += item.rows
                load.bytes += len(item.data)
                orders = report.tables["orders"].rows
                shown.update(
                    f"loading {item.table}: {load.rows:,} rows; "
                    f"orders {orders:,}/{plan.orders:,} ({100 * orders / plan.orders:.0f}%)"
                )
    finally:
        stop.set()
        producer.join()
    for table, load in report.tables.items():
        if load.rows:
            shown.done(f"loaded {table}: {load.rows:,} rows")
