"""Benchmark the extract side by side with dlt, Sling, ingestr and the bare COPY floor.

    .venv/bin/python -m bench.extract --scale 20

Generates a shop at ``--scale`` in a throwaway SHOPMARTS_HOME (or uses the running
stack's shop with ``--existing``), then runs each method in its own child process
(so peak RSS is that method's alone, children included):

- ours: :func:`ingest.extract.run.extract`, full mode, into the warehouse, into
  ClickHouse, and into both in one run (one snapshot); then an incremental run with
  nothing changed (its fixed cost: the shop's counters, snapshot, drift checks, one
  index probe of every table's window of recent rows; every load skipped);
- dlt: the `sql_database` source with ``backend="pyarrow"``, into the postgres
  destination (csv loader files: dlt's COPY path) and, because dlt's ClickHouse
  destination speaks ClickHouse's native TCP protocol (clickhouse-driver) which the
  embedded HTTP-only endpoint does not offer, into dlt's filesystem destination as
  parquet, loaded into ClickHouse with `INSERT ... FORMAT Parquet` (time included);
- Sling (the `sling` package's Replication API running the binary the `sling-linux-amd64`
  wheel ships): every shop table, `full-refresh`, bulk loading on (its default: COPY into
  PostgreSQL); the free CLI runs one stream at a time (SLING_THREADS needs a Pro token),
  so two replications run at once with the tables dealt out, as our two workers; into
  ClickHouse over its HTTP interface (`http_url`), as ours;
- ingestr (the Go ingestr of the `ingestr` wheel, whose 1.x is no longer built on dlt):
  one `ingestr ingest` per table, two at a time, its default `replace` strategy and page
  size, `--no-load-timestamp` (no extra column: the same job as ours); into PostgreSQL
  directly; its ClickHouse destination speaks only the native TCP protocol, so, as for
  dlt, it writes one parquet file per table that is loaded with `INSERT ... FORMAT
  Parquet` (time included);
- floor: a bare psycopg `COPY ... TO STDOUT` read of the same tables, binary (what
  our warehouse path reads) and text (what our ClickHouse path reads), nothing written.

Every method runs ``--repeat`` times (default 3), in interleaved rounds so a noisy
moment of the machine falls on all of them alike; each keeps its fastest run (the
one least disturbed by the rest of the machine), and the table shows the slowest too.
The ratio to the floor is also given round by round (ours and the floor it is compared
with ran back to back), with the median of the rounds; so is each peer's time over ours.
Every peer copies every shop table whole (the same job as ours); its rows are counted in
its destination after its clock stops.

Prints rows, seconds, rows/s, peak RSS and the ratios; ``--output`` also writes JSON.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DLT_DATASET = "dlt_raw"
SLING_SCHEMA = "sling_raw"  # warehouse schema and ClickHouse database Sling loads into
INGESTR_SCHEMA = "ingestr_raw"
PEERS = ("dlt", "sling", "ingestr")
PEER_THREADS = 2  # tables loaded at once by the peers that can: as our ExtractOptions.workers

RUNS: tuple[tuple[str, str], ...] = (
    ("floor", "COPY binary"),
    ("floor", "COPY text"),
    ("ours", "postgres"),
    ("ours", "clickhouse"),
    ("ours", "both"),
    # Right after the full run, nothing changed: the cost of an hourly run's fixed work
    # (the shop's counters, snapshot, drift checks, one index probe of every table's
    # window of recent rows; see ingest.extract.probe).
    ("ours", "both, incremental"),
    ("dlt", "postgres"),
    ("dlt", "clickhouse"),
    ("sling", "postgres"),
    ("sling", "clickhouse"),
    ("ingestr", "postgres"),
    ("ingestr", "clickhouse"),
)


@dataclass
class Measurement:
    method: str
    engine: str
    rows: int
    seconds: float
    peak_rss_bytes: int
    note: str = ""
    error: str = ""
    slowest_seconds: float = 0.0  # of the repeats; seconds is the fastest
    runs: int = 1

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# -- the child side: one method, one engine ----------------------------------------------


def _source_tables(shop_url: str) -> list:
    import psycopg

    from ingest.extract.catalog import discover_source_tables

    with psycopg.connect(shop_url) as shop:
        return sorted(discover_source_tables(shop).values(), key=lambda table: table.name)


def run_floor(engine: str) -> tuple[int, str]:
    """Read every table with COPY TO STDOUT in one repeatable-read transaction; write nothing."""
    import psycopg
    from psycopg import sql

    from core.settings import get_environment

    environment = get_environment()
    binary = engine == "COPY binary"
    rows = 0
    with psycopg.connect(environment.shop_url, options="-c timezone=UTC") as shop:
        shop.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        for table in _source_tables(environment.shop_url):
            query = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT{}").format(
                sql.SQL(", ").join(map(sql.Identifier, table.column_names)),
                sql.Identifier("public", table.name),
                sql.SQL(" (FORMAT binary)" if binary else ""),
            )
            with shop.cursor() as cursor:
                with cursor.copy(query) as copy:
                    for _data in copy:
                        pass
                rows += cursor.rowcount
    return rows, "read only"


def run_ours(engine: str) -> tuple[int, str]:
    from core.settings import get_environment
    from ingest.extract.run import extract

    mode = "incremental" if engine.endswith("incremental") else "full"
    engines = ("postgres", "clickhouse") if engine.startswith("both") else (engine,)
    reports = extract(get_environment(), mode, engines=engines)  # type: ignore[arg-type]
    rows = sum(report.rows for report in reports)
    methods = sorted({report.method for report in reports})
    return rows, "; ".join(methods)


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg2://", 1).replace(
        "postgres://", "postgresql+psycopg2://", 1
    )


def _with_password(url: str) -> str:
    """dlt insists on a password; the embedded cluster trusts local users and ignores it."""
    parts = urlsplit(url)
    if parts.password or not parts.username:
        return url
    host = parts.netloc.split("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:unused@{host}"))


def _dlt_source(shop_url: str):  # noqa: ANN202 - dlt's DltSource
    from dlt.sources.sql_database import sql_database

    tables = [table.name for table in _source_tables(shop_url)]
    return sql_database(
        credentials=_sqlalchemy_url(shop_url),
        schema="public",
        table_names=tables,
        backend="pyarrow",
    )


def run_dlt(engine: str) -> tuple[int, str]:
    import dlt

    from core.settings import get_environment

    environment = get_environment()
    work = Path(tempfile.mkdtemp(prefix="bench-dlt-"))
    try:
        if engine == "postgres":
            pipeline = dlt.pipeline(
                pipeline_name="bench_extract_postgres",
                pipelines_dir=str(work / "pipelines"),
                destination=dlt.destinations.postgres(
                    credentials=_with_password(environment.warehouse_url)
                ),
                dataset_name=DLT_DATASET,
            )
            pipeline.run(
                _dlt_source(environment.shop_url),
                write_disposition="replace",
                loader_file_format="csv",
            )
            note = "sql_database(pyarrow) -> postgres destination (csv + COPY)"
        else:
            pipeline = dlt.pipeline(
                pipeline_name="bench_extract_clickhouse",
                pipelines_dir=str(work / "pipelines"),
                destination=dlt.destinations.filesystem(bucket_url=(work / "files").as_uri()),
                dataset_name=DLT_DATASET,
            )
            pipeline.run(
                _dlt_source(environment.shop_url),
                write_disposition="replace",
                loader_file_format="parquet",
            )
            _load_parquet_into_clickhouse(environment, work / "files" / DLT_DATASET)
            note = (
                "sql_database(pyarrow) -> filesystem parquet -> INSERT FORMAT Parquet "
                "(dlt's clickhouse destination needs the native TCP port)"
            )
        trace = pipeline.last_trace
        assert trace is not None and trace.last_normalize_info is not None
        counts = trace.last_normalize_info.row_counts
        rows = sum(count for name, count in counts.items() if not name.startswith("_dlt"))
        return rows, note
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _load_parquet_into_clickhouse(
    environment,  # noqa: ANN001
    folder: Path,
    database: str = DLT_DATASET,
    pattern: str = "{table}/*.parquet",
) -> None:
    """Load each shop table's parquet files (``pattern`` under ``folder``) into a fresh
    ClickHouse ``database``, into tables made like ours."""
    import clickhouse_connect

    from ingest.extract.raw_tables import clickhouse_table_ddl

    client = clickhouse_connect.get_client(
        dsn=environment.clickhouse_url, autogenerate_session_id=False, send_receive_timeout=3600
    )
    try:
        client.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
        client.command(f"CREATE DATABASE `{database}`")
        for table in _source_tables(environment.shop_url):
            client.command(clickhouse_table_ddl(database, table.name, table))
            for path in sorted(folder.glob(pattern.format(table=table.name))):
                with open(path, "rb") as data:
                    client.raw_insert(
                        f"`{database}`.`{table.name}`",
                        column_names=list(table.column_names),
                        insert_block=data,
                        fmt="Parquet",
                        settings={"input_format_skip_unknown_fields": 1},
                    )
    finally:
        client.close()


# -- Sling and ingestr -------------------------------------------------------------------


def _counted_rows(environment, engine: str, schema: str) -> Callable[[], int]:  # noqa: ANN001
    """Rows in ``schema``'s copies of the shop tables, counted once the peer's clock stopped
    (a table the peer did not make counts 0: Sling makes none for an empty stream)."""

    def count() -> int:
        tables = [table.name for table in _source_tables(environment.shop_url)]
        if engine == "postgres":
            import psycopg
            from psycopg import sql

            total = 0
            with psycopg.connect(environment.warehouse_url) as conn:
                for name in tables:
                    table = sql.Identifier(schema, name)
                    exists = conn.execute("SELECT to_regclass(%s)", (table.as_string(conn),))
                    if (exists.fetchone() or (None,))[0] is None:
                        continue
                    query = sql.SQL("SELECT count(*) FROM {}").format(table)
                    row = conn.execute(query).fetchone()
                    total += int(row[0]) if row else 0
            return total
        import clickhouse_connect

        client = clickhouse_connect.get_client(
            dsn=environment.clickhouse_url, autogenerate_session_id=False
        )
        try:
            return sum(
                int(str(client.command(f"SELECT count() FROM `{schema}`.`{name}`")))
                for name in tables
                if int(str(client.command(f"EXISTS TABLE `{schema}`.`{name}`")))
            )
        finally:
            client.close()

    return count


def _without_password(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without its password, and the environment that passes it (PGPASSWORD)."""
    from ingest.extract.copy import split_password

    bare, password = split_password(url)
    return bare, ({"PGPASSWORD": password} if password else {})


def _sling_binary() -> str:
    """The binary the platform wheel ships (the `sling` package would download one)."""
    import sling_linux_amd64  # the bench group installs it on linux x86-64

    folder = Path(sling_linux_amd64.__file__).parent / "bin"
    return str(next(folder.glob("sling-*")))


def run_sling(engine: str) -> tuple[int | Callable[[], int], str]:
    from core.settings import get_environment

    environment = get_environment()
    work = Path(tempfile.mkdtemp(prefix="bench-sling-"))
    os.environ.setdefault("SLING_BINARY", _sling_binary())
    from sling import Replication  # reads SLING_BINARY when imported

    shop_url, shop_env = _without_password(environment.shop_url)
    connections = {"SHOP": _with_sslmode(shop_url)}
    if engine == "postgres":
        warehouse_url, warehouse_env = _without_password(environment.warehouse_url)
        if warehouse_env != shop_env:
            raise SystemExit("bench: Sling needs one password for the shop and the warehouse")
        connections["TARGET"] = _with_sslmode(warehouse_url)
        # Made here: both replications would make it at once, and one would fail.
        import psycopg
        from psycopg import sql

        with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SLING_SCHEMA))
            )
    else:
        _create_clickhouse_database(environment, SLING_SCHEMA)
        parts = urlsplit(environment.clickhouse_url)
        connections["TARGET"] = json.dumps(
            {
                "type": "clickhouse",
                "host": parts.hostname,
                "database": SLING_SCHEMA,
                "user": parts.username or "default",
                "password": parts.password or "",
                "http_url": urlunsplit(parts._replace(path=f"/{SLING_SCHEMA}")),
            }
        )
    # The free CLI runs a replication's streams one by one (SLING_THREADS needs a Pro
    # token): two replications at once, the tables dealt out biggest first, do the work of
    # our two workers. The Python API writes every unset stream key as null, which
    # overrides the defaults: each stream spells its settings out.
    shares: list[list[str]] = [[] for _ in range(PEER_THREADS)]
    sizes = [0] * PEER_THREADS
    for table in sorted(_source_tables(environment.shop_url), key=lambda t: -t.estimated_bytes):
        share = sizes.index(min(sizes))
        shares[share].append(table.name)
        sizes[share] += table.estimated_bytes
    replications = [
        Replication(
            source="SHOP",
            target="TARGET",
            streams={
                f"public.{name}": {
                    "object": f"{SLING_SCHEMA}.{name}",
                    "mode": "full-refresh",
                    "target_options": {"use_bulk": True},
                }
                for name in names
            },
        )
        for names in shares
        if names
    ]
    environment_vars = {
        **os.environ,
        **shop_env,
        **connections,
        "SLING_HOME_DIR": str(work),
        "SLING_DISABLE_TELEMETRY": "true",
    }
    from concurrent.futures import ThreadPoolExecutor

    def run(replication: Replication) -> None:
        replication.run(return_output=True, env=dict(environment_vars))

    try:
        with ThreadPoolExecutor(PEER_THREADS) as pool:
            list(pool.map(run, replications))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    note = f"{PEER_THREADS} full-refresh replications at once (tables dealt out), bulk load" + (
        " (COPY)" if engine == "postgres" else ", ClickHouse over HTTP (http_url)"
    )
    return _counted_rows(environment, engine, SLING_SCHEMA), note


def _with_sslmode(url: str) -> str:
    """The Go peers try TLS first unless told; the embedded cluster has none."""
    if "sslmode=" in url or "127.0.0.1" not in url and "localhost" not in url:
        return url
    return url + ("&" if "?" in url else "?") + "sslmode=disable"


def _create_clickhouse_database(environment, database: str) -> None:  # noqa: ANN001
    import clickhouse_connect

    client = clickhouse_connect.get_client(
        dsn=environment.clickhouse_url, autogenerate_session_id=False
    )
    try:
        client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    finally:
        client.close()


def run_ingestr(engine: str) -> tuple[int | Callable[[], int], str]:
    from concurrent.futures import ThreadPoolExecutor

    from core.settings import get_environment

    environment = get_environment()
    ingestr = shutil.which("ingestr", path=str(Path(sys.executable).parent)) or "ingestr"
    work = Path(tempfile.mkdtemp(prefix="bench-ingestr-"))
    shop_url, shop_env = _without_password(environment.shop_url)
    tables = [table.name for table in _source_tables(environment.shop_url)]
    env = {**os.environ, **shop_env, "INGESTR_DISABLE_TELEMETRY": "true"}
    if engine == "postgres":
        warehouse_url, warehouse_env = _without_password(environment.warehouse_url)
        if warehouse_env != shop_env:
            raise SystemExit("bench: ingestr needs one password for the shop and the warehouse")

    def destination(table: str) -> tuple[str, str]:
        if engine == "postgres":
            return _with_sslmode(warehouse_url), f"{INGESTR_SCHEMA}.{table}"
        return f"parquet://{work / table}.parquet", table

    def ingest(table: str) -> None:
        dest_uri, dest_table = destination(table)
        done = subprocess.run(
            [
                ingestr,
                "ingest",
                f"--source-uri={_with_sslmode(shop_url)}",
                f"--source-table=public.{table}",
                f"--dest-uri={dest_uri}",
                f"--dest-table={dest_table}",
                "--yes",
                "--no-load-timestamp",
                "--progress=log",
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
            raise RuntimeError(f"ingestr failed on {table}: {' | '.join(last)}")

    try:
        with ThreadPoolExecutor(PEER_THREADS) as pool:
            list(pool.map(ingest, tables))
        if engine == "clickhouse":
            _load_parquet_into_clickhouse(environment, work, INGESTR_SCHEMA, "{table}.parquet")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    note = f"ingest per table, {PEER_THREADS} at a time, replace" + (
        " -> postgres"
        if engine == "postgres"
        else " -> parquet -> INSERT FORMAT Parquet (its clickhouse destination needs "
        "the native TCP port)"
    )
    return _counted_rows(environment, engine, INGESTR_SCHEMA), note


CHILD_RUNNERS: dict[str, Callable[[str], tuple[int | Callable[[], int], str]]] = {
    "floor": run_floor,
    "ours": run_ours,
    "dlt": run_dlt,
    "sling": run_sling,
    "ingestr": run_ingestr,
}


# Imported before the clock starts: each method is timed on its work, not on its imports.
CHILD_IMPORTS: dict[str, tuple[str, ...]] = {
    "floor": ("psycopg", "ingest.extract.catalog"),
    "ours": ("ingest.extract.run",),
    "dlt": ("dlt", "dlt.sources.sql_database", "clickhouse_connect"),
    "sling": ("sling_linux_amd64", "clickhouse_connect", "psycopg"),
    "ingestr": ("clickhouse_connect", "psycopg"),
}


def child_main(method: str, engine: str) -> None:
    for module in CHILD_IMPORTS[method]:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            raise SystemExit(
                f"{error}: the peers are in the bench dependency group "
                "(`make bench`, or `uv sync --group bench`)"
            ) from error
    started = time.perf_counter()
    rows, note = CHILD_RUNNERS[method](engine)
    seconds = time.perf_counter() - started
    if callable(rows):  # counted in the destination, off the clock
        rows = rows()
    print(
        json.dumps(
            {"rows": rows, "seconds": seconds, "self_peak_rss": _own_peak_rss(), "note": note}
        )
    )


def _own_peak_rss() -> int:
    """This process's peak RSS since exec (VmHWM). Not ru_maxrss: Linux carries that
    across exec, so a child would report its parent's peak from before the fork."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- the parent side: set up, run each child, watch its memory, report ----------------------


def measure(method: str, engine: str) -> Measurement:
    """Run one method in a child process; peak RSS is sampled over its whole process tree."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.extract", "--child", method, engine],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    stdout, stderr = child.communicate()
    if child.returncode != 0:
        # The last lines: a peer's own error comes before Python's traceback line.
        last = " | ".join(line.strip() for line in stderr.strip().splitlines()[-3:]) or "?"
        return Measurement(method, engine, 0, 0.0, peak, error=last[-400:])
    result = json.loads(stdout.strip().splitlines()[-1])
    peak = max(peak, int(result["self_peak_rss"]))
    return Measurement(
        method, engine, int(result["rows"]), float(result["seconds"]), peak, note=result["note"]
    )


def best_of(runs: list[Measurement]) -> Measurement:
    """The fastest of one method's runs, with the slowest's time and the number of runs;
    the first failure if any run failed."""
    failed = [m for m in runs if m.error]
    if failed:
        return failed[0]
    best = min(runs, key=lambda m: m.seconds)
    best.slowest_seconds = max(m.seconds for m in runs)
    best.peak_rss_bytes = max(m.peak_rss_bytes for m in runs)
    best.runs = len(runs)
    return best


FLOOR_FOR_ENGINE = {"postgres": "COPY binary", "clickhouse": "COPY text", "both": "COPY binary"}


def paired_ratios(runs: dict[tuple[str, str], list[Measurement]]) -> dict[str, list[float]]:
    """Per engine, ours over the floor within each round, per row loaded.

    The rounds run back to back, so each pair saw the same phase of the machine: the
    median of these ratios is steadier than the ratio of two fastest runs, which may
    come from different phases (this VM's speed drifts by more than the gap measured).
    """
    ratios: dict[str, list[float]] = {}
    for engine, floor_engine in FLOOR_FOR_ENGINE.items():
        ours, floor = runs.get(("ours", engine), []), runs.get(("floor", floor_engine), [])
        for mine, read in zip(ours, floor, strict=False):
            if mine.error or read.error or not mine.rows_per_second:
                continue
            ratios.setdefault(engine, []).append(read.rows_per_second / mine.rows_per_second)
    return ratios


def peer_ratios(runs: dict[tuple[str, str], list[Measurement]]) -> dict[str, list[float]]:
    """Per peer and engine ("sling postgres"), the peer's time over ours within each round
    (how many times faster ours was; they ran in the same round, so in the same phase of
    the machine)."""
    ratios: dict[str, list[float]] = {}
    for (method, engine), peer_runs in runs.items():
        if method not in PEERS:
            continue
        for peer, mine in zip(peer_runs, runs.get(("ours", engine), []), strict=False):
            if peer.error or mine.error or not mine.seconds:
                continue
            ratios.setdefault(f"{method} {engine}", []).append(peer.seconds / mine.seconds)
    return ratios


def report(
    measurements: list[Measurement],
    shop: str,
    paired: dict[str, list[float]] | None = None,
    peers: dict[str, list[float]] | None = None,
) -> str:
    ours = {m.engine: m for m in measurements if m.method == "ours" and not m.error}
    floor = {m.engine: m for m in measurements if m.method == "floor" and not m.error}
    paired = paired or {}
    ours_full = {engine: m for engine, m in ours.items() if engine in FLOOR_FOR_ENGINE}
    runs = max((m.runs for m in measurements), default=1)
    lines = [
        f"extract benchmark, {shop}, {psutil.cpu_count()} cores, "
        f"fastest of {runs} run{'s' if runs > 1 else ''} each",
        "",
        f"{'method':<6} {'engine':<11} {'rows':>11} {'seconds':>8} {'slowest':>8} "
        f"{'rows/s':>11} {'peak RSS':>9} {'vs ours':>8}",
    ]
    for m in measurements:
        if m.error:
            lines.append(f"{m.method:<6} {m.engine:<11} failed: {m.error}")
            continue
        reference = ours.get(m.engine)
        ratio = f"{m.seconds / reference.seconds:.2f}x" if reference else "-"
        lines.append(
            f"{m.method:<6} {m.engine:<11} {m.rows:>11,} {m.seconds:>8.2f} "
            f"{m.slowest_seconds:>8.2f} {m.rows_per_second:>11,.0f} "
            f"{m.peak_rss_bytes / 2**20:>7.0f}MB {ratio:>8}"
        )
    lines.append("")
    for engine, m in ours_full.items():
        reference = floor.get(FLOOR_FOR_ENGINE[engine])
        if reference:
            slower = m.seconds / reference.seconds
            # "both" loads every row twice: per row loaded it is also compared to one read.
            per_row = reference.rows_per_second / m.rows_per_second
            lines.append(
                f"ours {engine}: {slower:.2f}x the time of the floor ({FLOOR_FOR_ENGINE[engine]}"
                f" read once), {per_row:.2f}x per row loaded (target <= 1.5x)"
            )
            if len(paired.get(engine, ())) > 1:
                rounds = sorted(paired[engine])
                lines.append(
                    f"  per row, round by round: median {statistics.median(rounds):.2f}x"
                    f" (rounds: {', '.join(f'{r:.2f}' for r in rounds)})"
                )
    peers = peers or {}
    for m in measurements:
        if m.method in PEERS and not m.error and m.engine in ours:
            speedup = m.seconds / ours[m.engine].seconds
            line = f"ours {m.engine}: {speedup:.1f}x faster than {m.method} (fastest runs)"
            rounds = sorted(peers.get(f"{m.method} {m.engine}", ()))
            if rounds:
                line += (
                    f"; {m.method}/ours round by round: median {statistics.median(rounds):.2f}x"
                    f" (rounds: {', '.join(f'{r:.2f}' for r in rounds)})"
                )
            if m.rows != ours[m.engine].rows:
                line += f"; ROWS DIFFER: {m.method} {m.rows:,}, ours {ours[m.engine].rows:,}"
            lines.append(line)
    incremental = ours.get("both, incremental")
    if incremental:
        lines.append(
            f"ours incremental with nothing changed: {incremental.seconds:.2f}s "
            f"({incremental.note}: counters, snapshot, drift checks, one index probe per "
            "table; target <= 0.5 s)"
        )
    worst = max((m.peak_rss_bytes for m in ours.values()), default=0)
    lines.append(f"ours peak RSS: {worst / 2**20:.0f} MiB (target < 1024 MiB)")
    notes = sorted({f"{m.method} {m.engine}: {m.note}" for m in measurements if m.note})
    lines += ["", "how:", *(f"  {note}" for note in notes)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.extract", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--scale", type=float, default=1.0, help="shop scale to generate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--existing", action="store_true", help="use the running stack's shop; generate nothing"
    )
    parser.add_argument(
        "--methods", default="floor,ours,dlt,sling,ingestr", help="comma-separated subset"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each method (the fastest is kept)"
    )
    parser.add_argument("--output", type=Path, help="also write the measurements as JSON")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "ENGINE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(*args.child)
        return 0

    from pipelines import stack

    home = None
    if not args.existing:
        home = Path(tempfile.mkdtemp(prefix="shopmarts-bench-"))
        os.environ["SHOPMARTS_HOME"] = str(home)
        for variable in ("SHOP_DATABASE_URL", "WAREHOUSE_DATABASE_URL", "CLICKHOUSE_URL"):
            os.environ.pop(variable, None)
    try:
        if home is not None:
            print(f"starting the embedded engines in {home}", flush=True)
            stack.up(engines=("postgres", "clickhouse"))
            from core.settings import get_environment
            from ingest.shop.generate import generate_shop

            started = time.perf_counter()
            generate_shop(
                get_environment().shop_url,
                scale=args.scale,
                seed=args.seed,
                replace=True,
                progress=False,
            )
            seconds = time.perf_counter() - started
            print(f"generated the shop at scale {args.scale:g} in {seconds:.0f}s", flush=True)
        methods = set(args.methods.split(","))
        chosen = [(method, engine) for method, engine in RUNS if method in methods]
        runs: dict[tuple[str, str], list[Measurement]] = {key: [] for key in chosen}
        for round_number in range(1, args.repeat + 1):
            for method, engine in chosen:
                print(f"running {method} / {engine} ({round_number}/{args.repeat})", flush=True)
                measurement = measure(method, engine)
                runs[(method, engine)].append(measurement)
                print(
                    f"  {measurement.rows:,} rows in {measurement.seconds:.2f}s"
                    + (f" FAILED: {measurement.error}" if measurement.error else ""),
                    flush=True,
                )
        measurements = [best_of(runs[key]) for key in chosen]
        shop = "the running stack's shop" if args.existing else f"scale {args.scale:g}"
        paired = paired_ratios(runs)
        peers = peer_ratios(runs)
        text = report(measurements, shop, paired, peers)
        print("\n" + text)
        if args.output:
            args.output.write_text(
                json.dumps(
                    {
                        "scale": args.scale,
                        "measurements": [asdict(m) for m in measurements],
                        "per_row_ratio_by_round": paired,
                        "peer_over_ours_by_round": peers,
                    },
                    indent=2,
                )
            )
        return 0 if all(not m.error for m in measurements) else 1
    finally:
        if home is not None:
            stack.down()
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
