"""Benchmark the extract side by side with dlt and with the bare COPY floor.

    .venv/bin/python -m bench.extract --scale 20

Generates a shop at ``--scale`` in a throwaway SHOPMARTS_HOME (or uses the running
stack's shop with ``--existing``), then runs each method in its own child process
(so peak RSS is that method's alone, children included):

- ours: :func:`ingest.extract.extract`, full mode, into the warehouse, into
  ClickHouse, and into both in one run (one snapshot); then an incremental run with
  nothing changed (its fixed cost: snapshot, drift checks, key scans for deletes);
- dlt: the `sql_database` source with ``backend="pyarrow"``, into the postgres
  destination (csv loader files: dlt's COPY path) and, because dlt's ClickHouse
  destination speaks ClickHouse's native TCP protocol (clickhouse-driver) which the
  embedded HTTP-only endpoint does not offer, into dlt's filesystem destination as
  parquet, loaded into ClickHouse with `INSERT ... FORMAT Parquet` (time included);
- floor: a bare psycopg `COPY ... TO STDOUT` read of the same tables, binary (what
  our warehouse path reads) and text (what our ClickHouse path reads), nothing written.

Every method runs ``--repeat`` times (default 3), in interleaved rounds so a noisy
moment of the machine falls on all of them alike; each keeps its fastest run (the
one least disturbed by the rest of the machine), and the table shows the slowest too.
The ratio to the floor is also given round by round (ours and the floor it is compared
with ran back to back), with the median of the rounds.

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

RUNS: tuple[tuple[str, str], ...] = (
    ("floor", "COPY binary"),
    ("floor", "COPY text"),
    ("ours", "postgres"),
    ("ours", "clickhouse"),
    ("ours", "both"),
    # Right after the full run, nothing changed: the cost of an hourly run's fixed work
    # (snapshot, drift checks, and the key scans that find hard deletes).
    ("ours", "both, incremental"),
    ("dlt", "postgres"),
    ("dlt", "clickhouse"),
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

    from ingest.extract_catalog import discover_source_tables

    with psycopg.connect(shop_url) as shop:
        return sorted(discover_source_tables(shop).values(), key=lambda table: table.name)


def run_floor(engine: str) -> tuple[int, str]:
    """Read every table with COPY TO STDOUT in one repeatable-read transaction; write nothing."""
    import psycopg
    from psycopg import sql

    from pipelines.engines.settings import get_environment

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
    from ingest.extract import extract
    from pipelines.engines.settings import get_environment

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

    from pipelines.engines.settings import get_environment

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


def _load_parquet_into_clickhouse(environment, folder: Path) -> None:  # noqa: ANN001
    import clickhouse_connect

    from ingest.extract import clickhouse_table_ddl

    client = clickhouse_connect.get_client(
        dsn=environment.clickhouse_url, autogenerate_session_id=False, send_receive_timeout=3600
    )
    try:
        client.command(f"DROP DATABASE IF EXISTS `{DLT_DATASET}` SYNC")
        client.command(f"CREATE DATABASE `{DLT_DATASET}`")
        for table in _source_tables(environment.shop_url):
            client.command(clickhouse_table_ddl(DLT_DATASET, table.name, table))
            for path in sorted((folder / table.name).glob("*.parquet")):
                with open(path, "rb") as data:
                    client.raw_insert(
                        f"`{DLT_DATASET}`.`{table.name}`",
                        column_names=list(table.column_names),
                        insert_block=data,
                        fmt="Parquet",
                        settings={"input_format_skip_unknown_fields": 1},
                    )
    finally:
        client.close()


CHILD_RUNNERS: dict[str, Callable[[str], tuple[int, str]]] = {
    "floor": run_floor,
    "ours": run_ours,
    "dlt": run_dlt,
}


# Imported before the clock starts: each method is timed on its work, not on its imports.
CHILD_IMPORTS: dict[str, tuple[str, ...]] = {
    "floor": ("psycopg", "ingest.extract_catalog"),
    "ours": ("ingest.extract",),
    "dlt": ("dlt", "dlt.sources.sql_database", "clickhouse_connect"),
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
        last = (stderr.strip().splitlines() or ["?"])[-1]
        return Measurement(method, engine, 0, 0.0, peak, error=last[:300])
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


def report(
    measurements: list[Measurement], shop: str, paired: dict[str, list[float]] | None = None
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
    for m in measurements:
        if m.method == "dlt" and not m.error and m.engine in ours:
            speedup = m.seconds / ours[m.engine].seconds
            lines.append(f"ours {m.engine}: {speedup:.1f}x faster than dlt (target >= 2x)")
    incremental = ours.get("both, incremental")
    if incremental:
        lines.append(
            f"ours incremental with nothing changed: {incremental.seconds:.2f}s "
            "(snapshot, drift checks, key scans for hard deletes)"
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
    parser.add_argument("--methods", default="floor,ours,dlt", help="comma-separated subset")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each method (the fastest is kept)"
    )
    parser.add_argument("--output", type=Path, help="also write the measurements as JSON")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "ENGINE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(*args.child)
        return 0

    from pipelines.engines import stack

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
            from ingest.generate import generate_shop
            from pipelines.engines.settings import get_environment

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
        text = report(measurements, shop, paired)
        print("\n" + text)
        if args.output:
            args.output.write_text(
                json.dumps(
                    {
                        "scale": args.scale,
                        "measurements": [asdict(m) for m in measurements],
                        "per_row_ratio_by_round": paired,
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
