"""Benchmark `shopmarts generate`: generation + load against the bare COPY floor.

    .venv/bin/python -m bench.generate --scale 20 --rss-scales 5

Starts the embedded PostgreSQL in a throwaway SHOPMARTS_HOME (``--existing`` uses the
running stack or SHOP_DATABASE_URL instead, and replaces that shop), then runs each step
in its own child process, so peak RSS is that step's alone:

- encode: generate every row and encode it as binary COPY, writing the bytes to a spool
  file per table; no database (what generation alone costs);
- floor: a bare COPY of those same bytes into freshly created tables (same transaction,
  same FREEZE), nothing generated and no keys or indexes (what loading alone costs);
- generate: :func:`ingest.shop.generate.generate_shop` end to end (generation overlapped
  with COPY, then statistics, keys, indexes and triggers, and the commit);
- generate at each ``--rss-scales``: peak RSS only, to show memory does not grow with
  the scale.

Prints rows, seconds and rows/s per table and per step, peak RSS, CPU seconds of the
client and of the server, and the ratios to the floor; ``--output`` also writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit, urlunsplit

import psutil

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 90.0
FLOOR_DATABASE = "bench_generate_floor"
WRITE_BLOCK = 1 << 20


@dataclass
class Step:
    """One measured step (a child process)."""

    name: str
    scale: float
    seconds: float = 0.0
    rows: int = 0
    peak_rss_bytes: int = 0
    client_cpu_seconds: float = 0.0
    server_cpu_seconds: float = 0.0
    tables: dict[str, dict[str, float]] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)


def _database_url(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _server_cpu_seconds(shop_url: str) -> float:
    """CPU time of the PostgreSQL server: the postmaster and its (live and reaped) children.

    Only meaningful when the server runs on this machine; 0 when it cannot be seen.
    """
    import psycopg

    try:
        with psycopg.connect(shop_url) as conn:
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()
        postmaster = psutil.Process(backend[0]).parent() if backend else None
    except (psycopg.Error, psutil.Error):
        return 0.0
    if postmaster is None:
        return 0.0
    time.sleep(1.0)  # let the backends of closed connections exit and be reaped
    times = postmaster.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in postmaster.children():
        try:
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
        except psutil.Error:
            continue
    return total


def _client_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_bytes() -> int:
    """This process's peak RSS: VmHWM (ru_maxrss would include the parent's, kept over exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


# -- the steps, each run in a child process ---------------------------------------------------


def step_encode(scale: float, seed: int, spool: Path) -> Step:
    """Generate and encode every row, append each table's rows to its spool file."""
    from ingest.shop.generate import make_plan, shop_batches

    step = Step("encode (no database)", scale)
    plan = make_plan(scale, seed)
    spool.mkdir(parents=True, exist_ok=True)
    files: dict[str, BinaryIO] = {}
    started = time.perf_counter()
    source = shop_batches(plan)
    while True:
        began = time.perf_counter()
        batch = next(source, None)
        if batch is None:
            break
        table = step.tables.setdefault(batch.table, {"rows": 0, "seconds": 0.0, "bytes": 0})
        table["seconds"] += time.perf_counter() - began
        table["rows"] += batch.rows
        table["bytes"] += len(batch.data)
        if batch.table not in files:
            files[batch.table] = (spool / f"{batch.table}.bin").open("wb")
        files[batch.table].write(batch.data)
        (spool / f"{batch.table}.columns").write_text(",".join(batch.columns))
    for handle in files.values():
        handle.close()
    step.seconds = time.perf_counter() - started
    step.rows = sum(int(t["rows"]) for t in step.tables.values())
    return step


def step_floor(shop_url: str, scale: float, spool: Path) -> Step:
    """Bare COPY of the spooled bytes into tables created in the same transaction."""
    import psycopg
    from psycopg import sql

    from ingest.shop.copy import COPY_HEADER, COPY_TRAILER
    from ingest.shop.schema import schema_sections

    admin_url = _database_url(shop_url, "postgres")
    floor_url = _database_url(shop_url, FLOOR_DATABASE)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        name = sql.Identifier(FLOOR_DATABASE)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    step = Step("floor: bare COPY of the same bytes", scale)
    server_before = _server_cpu_seconds(shop_url)
    started = time.perf_counter()
    try:
        with psycopg.connect(floor_url) as conn, conn.transaction():
            for statement in schema_sections()["tables"]:
                conn.execute(statement)
            with conn.cursor() as cursor:
                for data_file in sorted(spool.glob("*.bin")):
                    table = data_file.stem
                    columns = (spool / f"{table}.columns").read_text()
                    began = time.perf_counter()
                    with (
                        data_file.open("rb") as source,
                        cursor.copy(
                            f"COPY {table} ({columns}) FROM STDIN (FORMAT binary, FREEZE)"
                        ) as copy,
                    ):
                        copy.write(COPY_HEADER)
                        while block := source.read(WRITE_BLOCK):
                            copy.write(block)
                        copy.write(COPY_TRAILER)
                    rows = cursor.rowcount
                    step.tables[table] = {
                        "rows": rows,
                        "seconds": time.perf_counter() - began,
                        "bytes": data_file.stat().st_size,
                    }
        step.seconds = time.perf_counter() - started
        step.server_cpu_seconds = _server_cpu_seconds(shop_url) - server_before
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            name = sql.Identifier(FLOOR_DATABASE)
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
    step.rows = sum(int(t["rows"]) for t in step.tables.values())
    return step


def step_generate(shop_url: str, scale: float, seed: int) -> Step:
    from ingest.shop.generate import generate_shop

    step = Step("generate (end to end)", scale)
    server_before = _server_cpu_seconds(shop_url)
    report = generate_shop(shop_url, scale=scale, seed=seed, replace=True, progress=False)
    step.server_cpu_seconds = _server_cpu_seconds(shop_url) - server_before
    step.seconds = report.total_seconds
    step.rows = report.total_rows
    step.phases = {
        "load (generation overlapped with COPY)": report.load_seconds,
        "statistics (ANALYZE)": report.analyze_seconds,
        "keys, indexes, triggers, commit": report.finish_seconds,
    }
    for table, load in report.tables.items():
        if load.rows:
            step.tables[table] = {
                "rows": load.rows,
                "bytes": load.bytes,
                "generate_seconds": load.produce_seconds,
                "copy_seconds": load.copy_seconds,
            }
    slowest = sorted(report.steps, key=lambda item: -item[1])[:5]
    step.phases |= {f"  slowest DDL: {title[:60]}": seconds for title, seconds in slowest}
    return step


def child_main(kind: str, scale: float, seed: int, spool: Path) -> None:
    from core.settings import get_environment

    client_before = _client_cpu_seconds()
    if kind == "encode":
        step = step_encode(scale, seed, spool)
    else:
        shop_url = get_environment(require_running=False).shop_url
        step = (
            step_floor(shop_url, scale, spool)
            if kind == "floor"
            else step_generate(shop_url, scale, seed)
        )
    step.client_cpu_seconds = _client_cpu_seconds() - client_before
    step.peak_rss_bytes = _peak_rss_bytes()
    print(json.dumps(asdict(step)))


def run_child(kind: str, scale: float, seed: int, spool: Path) -> Step:
    command = [
        sys.executable, "-m", "bench.generate", "--child", kind,
        "--scale", str(scale), "--seed", str(seed), "--spool", str(spool),
    ]  # fmt: skip
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{kind} at scale {scale:g} failed:\n{result.stderr.strip()}")
    return Step(**json.loads(result.stdout.strip().splitlines()[-1]))


# -- report ----------------------------------------------------------------------------------


def _rate(rows: float, seconds: float) -> str:
    return f"{rows / seconds:>12,.0f}" if seconds else f"{'-':>12}"


def report(steps: list[Step], scale: float, rss: list[Step]) -> str:
    encode, floor, generate = steps
    lines = [f"generate + load at scale {scale:g}", ""]
    header = f"{'table':<20}{'rows':>12}{'MiB':>8}{'encode s':>10}{'floor s':>9}"
    lines.append(header + f"{'generate s':>12}{'copy s':>9}{'rows/s':>12}")
    for table, load in generate.tables.items():
        encoded = encode.tables.get(table, {})
        floored = floor.tables.get(table, {})
        end_to_end = load["generate_seconds"] + load["copy_seconds"]
        lines.append(
            f"{table:<20}{int(load['rows']):>12,}{load['bytes'] / 2**20:>8.1f}"
            f"{encoded.get('seconds', 0.0):>10.2f}{floored.get('seconds', 0.0):>9.2f}"
            f"{load['generate_seconds']:>12.2f}{load['copy_seconds']:>9.2f}"
            f"{_rate(load['rows'], end_to_end)}"
        )
    lines += [
        "",
        f"{'step':<40}{'seconds':>9}{'rows/s':>12}{'peak RSS':>11}{'CPU client/server s':>22}",
    ]
    for step in steps:
        lines.append(
            f"{step.name:<40}{step.seconds:>9.1f}{_rate(step.rows, step.seconds)}"
            f"{step.peak_rss_bytes / 2**20:>7.0f} MiB"
            f"{step.client_cpu_seconds:>12.1f} / {step.server_cpu_seconds:<7.1f}"
        )
    for phase, seconds in generate.phases.items():
        lines.append(f"  {phase:<38}{seconds:>9.1f}")
    load_seconds = generate.phases["load (generation overlapped with COPY)"]
    lines += [
        "",
        f"generation overhead: generate's load phase / floor COPY = "
        f"{load_seconds / floor.seconds:.2f}x; end to end / floor COPY = "
        f"{generate.seconds / floor.seconds:.2f}x",
        f"encode alone / floor COPY = {encode.seconds / floor.seconds:.2f}x "
        "(both run at once in generate, on two cores)",
    ]
    if rss:
        by_scale = ", ".join(
            f"scale {step.scale:g}: {step.peak_rss_bytes / 2**20:.0f} MiB" for step in rss
        )
        lines.append(f"peak RSS of generate by scale: {by_scale}")
    verdict = "PASS" if generate.seconds <= TARGET_SECONDS else "MISS"
    lines.append(
        f"target scale 20 in <= {TARGET_SECONDS:.0f} s: {verdict} at scale {scale:g} "
        f"({generate.seconds:.1f} s, {generate.rows:,} rows, "
        f"{generate.rows / generate.seconds:,.0f} rows/s)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--scale", type=float, default=20.0, help="shop scale to generate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--rss-scales", default="", help="comma-separated extra scales: peak RSS of generate"
    )
    parser.add_argument(
        "--existing",
        action="store_true",
        help="use the running stack's (or SHOP_DATABASE_URL's) shop: it gets REPLACED",
    )
    parser.add_argument("--output", type=Path, help="also write the measurements as JSON")
    parser.add_argument("--child", choices=("encode", "floor", "generate"), help=argparse.SUPPRESS)
    parser.add_argument("--spool", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child, args.scale, args.seed, args.spool)
        return 0

    from pipelines import stack

    home = None
    if not args.existing:
        home = Path(tempfile.mkdtemp(prefix="shopmarts-bench-generate-"))
        os.environ["SHOPMARTS_HOME"] = str(home)
        for variable in ("SHOP_DATABASE_URL", "WAREHOUSE_DATABASE_URL", "CLICKHOUSE_URL"):
            os.environ.pop(variable, None)
    spool = Path(tempfile.mkdtemp(prefix="shopmarts-bench-spool-"))
    try:
        if home is not None:
            print(f"starting the embedded PostgreSQL in {home}", flush=True)
            stack.up(engines=("postgres",))
        steps = []
        for kind in ("encode", "floor", "generate"):
            print(f"running {kind} at scale {args.scale:g} ...", flush=True)
            steps.append(run_child(kind, args.scale, args.seed, spool))
            print(f"  {steps[-1].rows:,} rows in {steps[-1].seconds:.1f} s", flush=True)
            if kind == "floor":
                shutil.rmtree(spool, ignore_errors=True)
        rss = []
        for extra in filter(None, args.rss_scales.split(",")):
            print(f"running generate at scale {float(extra):g} for its peak RSS ...", flush=True)
            rss.append(run_child("generate", float(extra), args.seed, spool))
        rss = sorted([*rss, steps[2]], key=lambda step: step.scale) if rss else []
        print("\n" + report(steps, args.scale, rss))
        if args.output:
            args.output.write_text(
                json.dumps({"scale": args.scale, "steps": [asdict(s) for s in [*steps, *rss]]})
            )
        return 0
    finally:
        shutil.rmtree(spool, ignore_errors=True)
        if home is not None:
            stack.down()
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
