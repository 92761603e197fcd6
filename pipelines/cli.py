"""The `shopmarts` command line: one front door to the engines, the shop and the refreshes."""

from __future__ import annotations

import csv
import os
import sys
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from core.errors import ShopmartsError


def _human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def clear_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a ShopmartsError into one line on stderr and exit status 1."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ShopmartsError as error:
            click.echo(f"shopmarts: {error}", err=True)
            sys.exit(1)

    return wrapper


class OneLineErrorsGroup(click.Group):
    """Usage errors (unknown option, bad value) as one line naming what is wrong, exit 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        kwargs.setdefault("prog_name", "shopmarts")
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.Abort:
            click.echo("shopmarts: aborted", err=True)
            sys.exit(1)
        except click.UsageError as error:
            if type(error).__name__ == "NoArgsIsHelpError" and error.ctx is not None:
                click.echo(error.ctx.get_help())
                sys.exit(0)
            where = error.ctx.command_path if error.ctx else "shopmarts"
            click.echo(f"{where}: {error.format_message()} (see --help)", err=True)
            sys.exit(2)
        except click.ClickException as error:
            click.echo(f"shopmarts: {error.format_message()}", err=True)
            sys.exit(error.exit_code)


# Every option's value is checked when it is parsed: a bad one is refused in one line
# naming the option, before anything starts.
PORT = click.IntRange(1, 65535)
POSITIVE = click.FloatRange(min=0, min_open=True)
SEED = click.IntRange(min=0)


@click.group(cls=OneLineErrorsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    package_name="shopmarts", prog_name="shopmarts", message="%(prog)s %(version)s"
)
@clear_errors
def main() -> None:
    """shopmarts: e-commerce analytics marts on PostgreSQL and ClickHouse.

    Embedded engines by default; set SHOP_DATABASE_URL, WAREHOUSE_DATABASE_URL
    and CLICKHOUSE_URL to use real servers instead, in the environment or in the
    project's `.env` (SHOPMARTS_ENV_FILE names another; the environment wins).
    """
    from core.settings import load_env_file

    # Before any subcommand: every process `up` starts inherits these variables too.
    load_env_file()


@main.command()
@clear_errors
def up() -> None:
    """Start the embedded engines (idempotent) and print their URLs."""
    from core.settings import get_environment, redact
    from pipelines import stack

    stack.up(report=click.echo)
    environment = get_environment()
    click.echo(f"shop       {redact(environment.shop_url)}")
    click.echo(f"warehouse  {redact(environment.warehouse_url)}")
    click.echo(f"clickhouse {redact(environment.clickhouse_url)}")
    from pipelines.runtime.docs_server import docs_base_url

    if docs := docs_base_url():
        click.echo(f"docs       {docs}  (GX Data Docs, dbt docs)")
    click.echo("Dagster UI: `shopmarts ui` (http://127.0.0.1:3000); dashboards: `make dashboards`")


@main.command()
@clear_errors
def down() -> None:
    """Stop the embedded engines; the data stays for the next `up`."""
    from pipelines import stack

    stopped = stack.down()
    click.echo("stopped " + ", ".join(stopped) if stopped else "nothing was running")


@main.command()
@clear_errors
def status() -> None:
    """Show each engine's version, URL, data size and health."""
    from pipelines import stack

    rows = stack.status()
    for row in rows:
        health = "up" if row.healthy else f"DOWN ({row.detail})" if row.detail else "DOWN"
        pid = f" pid {row.pid}" if row.pid else ""
        click.echo(
            f"{row.name:<22} {health:<6} {row.version:<12} {_human_bytes(row.data_bytes):>10}  "
            f"{row.url}{pid}"
        )
    from ingest.profiles import configured_profile

    profile = configured_profile()
    click.echo(f"{'Source profile':<22} {profile.name} (seed {profile.seed}: {profile.shop})")
    if not all(row.healthy for row in rows):
        sys.exit(1)


@main.command()
@click.option(
    "--scale",
    type=POSITIVE,
    default=1.0,
    show_default=True,
    help="Size of the shop, > 0; 1 = 10,000 customers and 50,000 orders.",
)
@click.option("--seed", type=SEED, default=42, show_default=True, help="Random seed (>= 0).")
@click.option("--replace", is_flag=True, help="Drop and recreate a non-empty shop.")
@click.option(
    "--end-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Day the three-year order history ends (exclusive)  [default: 2026-11-01]",
)
@click.option(
    "--profile",
    default=None,
    help="Source profile (shop schema): canonical, modestwear, techally, minimal, solemate  "
    "[default: SHOPMARTS_SOURCE_PROFILE, else canonical]",
)
@clear_errors
def generate(scale: float, seed: int, replace: bool, end_date: Any, profile: str | None) -> None:
    """Create the shop's schema and fill it with realistic data (COPY, deterministic)."""
    from core.settings import source_profile_name
    from ingest.profiles import configured_profile, get_profile
    from ingest.shop.generate import generate_shop
    from ingest.shop.schema import configured_shop_url

    report = generate_shop(
        configured_shop_url(),
        scale=scale,
        seed=seed,
        replace=replace,
        progress=True,
        end_date=end_date.date() if end_date else None,
        profile=(get_profile(profile.strip().lower()) if profile else configured_profile()).name,
    )
    click.echo("\n".join(report.lines()))
    if report.profile != source_profile_name():  # the pipeline reads what the variable names
        click.echo(f"note: set SHOPMARTS_SOURCE_PROFILE={report.profile} for the pipeline")


@main.command()
@click.option(
    "--hours", type=POSITIVE, required=True, help="How many hours of activity to add (> 0)."
)
@click.option("--seed", type=SEED, default=None, help="Random seed (default: from the clock).")
@click.option(
    "--intensity",
    type=POSITIVE,
    default=1.0,
    show_default=True,
    help="Multiplies the shop's recent rates of orders, signups and changes.",
)
@clear_errors
def simulate(hours: float, seed: int | None, intensity: float) -> None:
    """Advance the shop through plain DML: orders, status changes, stock moves, deletes."""
    from ingest.shop.schema import configured_shop_url
    from ingest.shop.simulate import simulate_shop

    report = simulate_shop(
        configured_shop_url(),
        hours=hours,
        seed=seed,
        progress=True,
        intensity=intensity,
    )
    click.echo("\n".join(report.lines()))


@main.command()
@click.option(
    "--mode",
    type=click.Choice(["nightly", "hourly"]),
    required=True,
    help="nightly: full extract and every mart; hourly: incremental extract, the hourly marts.",
)
@clear_errors
def refresh(mode: str) -> None:
    """Run the nightly or hourly refresh job through Dagster's run queue, step by step."""
    _as_fork_of_the_stack(["refresh", "--mode", mode])
    result = _run_refresh(mode)
    if not result.ok:
        sys.exit(1)


def _as_fork_of_the_stack(argv: list[str]) -> None:
    """Run this command as a fork of the running stack's fork server, where Dagster is
    imported already (2 s of every refresh on 2 cores); returns when none answers."""
    from pipelines.runtime.dagster_processes import forkserver_socket
    from pipelines.runtime.forkserver import FORKED_VAR, fork

    if os.environ.get(FORKED_VAR):
        return
    forked = fork("shopmarts", argv, path=str(forkserver_socket()))
    if forked is not None:
        forked.become()


def _run_refresh(mode: str) -> Any:
    from pipelines import stack
    from pipelines.launch import JOB_FOR_MODE, follow_run, submit_refresh

    stack.up()
    click.echo(f"{JOB_FOR_MODE[mode]}: submitting to Dagster's run queue")
    run_id = submit_refresh(mode)
    click.echo(f"run {run_id} (Dagster UI: http://127.0.0.1:3000/runs/{run_id})")
    result = follow_run(run_id, echo=click.echo)
    checks = f"{result.passed_checks} checks passed"
    if result.failed_checks:
        checks += f", {len(result.failed_checks)} failed: " + "; ".join(result.failed_checks)
    click.echo(
        f"{result.job_name} {result.status.lower()} in {result.seconds:.1f} s "
        f"(queued {result.queued_seconds:.1f} s); {checks}"
    )
    for step in result.steps.values():
        if step.ok is False:
            click.echo(f"shopmarts: step {step.key} failed: {step.error}", err=True)
    return result


@main.command()
@click.option(
    "--target",
    type=click.Choice(["warehouse", "clickhouse", "shop"]),
    default="warehouse",
    show_default=True,
)
@click.option(
    "--as-analyst",
    is_flag=True,
    help="Connect as the read-only `analyst` role (password: ANALYST_PASSWORD): the marts "
    "answer, unqualified too; raw, the shop and writes are refused.",
)
@click.argument("sql")
@clear_errors
def query(target: str, sql: str, as_analyst: bool) -> None:
    """Run SQL on one engine and print the result as CSV with a header. Starts nothing."""
    from pipelines.query import run_query

    columns, rows = run_query(target, sql, as_analyst=as_analyst)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)


@main.command()
@click.option(
    "--scale",
    type=POSITIVE,
    default=1.0,
    show_default=True,
    help="Size of the shop generated when the shop is empty (> 0).",
)
@clear_errors
def demo(scale: float) -> None:
    """The first experience: engines up, a shop generated, the nightly refresh, a summary."""
    from core.settings import get_environment, redact
    from ingest.shop.generate import generate_shop
    from ingest.shop.schema import connect, table_rows
    from pipelines import stack

    started = time.perf_counter()
    click.echo("1/3 starting the embedded engines and the Dagster daemon")
    stack.up(report=lambda line: click.echo(f"    {line}"))
    environment = get_environment()
    with connect(environment.shop_url) as conn:
        empty = not any(table_rows(conn).values())
    if empty:
        click.echo(f"2/3 generating the shop at scale {scale:g}")
        generate_shop(environment.shop_url, scale=scale, seed=42, replace=False, progress=True)
    else:
        click.echo(
            "2/3 the shop already holds data: using it (`shopmarts generate --replace`"
            " starts afresh)"
        )
    click.echo("3/3 the nightly refresh, through Dagster")
    result = _run_refresh("nightly")
    click.echo("")
    click.echo(_demo_summary(environment, result, time.perf_counter() - started))
    click.echo("")
    click.echo("Where to look next:")
    click.echo("  make ui           Dagster UI, lineage and run history: http://127.0.0.1:3000")
    click.echo("  make dashboards   the analysts' dashboards: http://127.0.0.1:8501")
    click.echo(
        "  .venv/bin/shopmarts query --target clickhouse "
        '"SELECT segment, count() FROM marts.customer_segments GROUP BY segment"'
    )
    click.echo(
        "  .venv/bin/shopmarts simulate --hours 2 && .venv/bin/shopmarts refresh --mode hourly"
    )
    click.echo(
        f"  warehouse: {redact(environment.warehouse_url)}   "
        f"ClickHouse: {redact(environment.clickhouse_url)}"
    )
    if not result.ok:
        sys.exit(1)


def _demo_summary(environment: Any, result: Any, seconds: float) -> str:
    """Row counts of the published marts in both engines, gate results and step timings."""
    from core.vocabulary import MARTS
    from pipelines.query import run_query

    lines = [f"{'mart':<22}{'warehouse':>12}{'clickhouse':>12}"]
    for mart in MARTS:
        counts = []
        for target in ("warehouse", "clickhouse"):
            try:
                counts.append(
                    f"{run_query(target, f'SELECT count(*) FROM marts.{mart}')[1][0][0]:,}"
                )
            except ShopmartsError:
                counts.append("-")
        lines.append(f"{mart:<22}{counts[0]:>12}{counts[1]:>12}")
    gates = f"{result.passed_checks} checks passed"
    if result.failed_checks:
        gates += f", {len(result.failed_checks)} FAILED: " + "; ".join(result.failed_checks)
    lines.append(f"gates: {gates}")
    lines += [f"  - {line}" for line in result.failing_expectations]
    steps = ", ".join(
        f"{step.key} {step.seconds:.1f}s" for step in result.steps.values() if step.seconds
    )
    lines.append(f"steps: {steps}")
    lines.append(
        f"demo took {seconds:.0f} s; nightly_refresh {result.status.lower()} "
        f"in {result.seconds:.1f} s"
    )
    return "\n".join(lines)


@main.command()
@click.option("--port", type=PORT, default=3000, show_default=True, help="1-65535.")
@clear_errors
def ui(port: int) -> None:
    """Start the Dagster UI (lineage, checks, runs) on 127.0.0.1; the daemon runs via `up`."""
    import os
    import subprocess

    from core.settings import PROJECT_ROOT
    from pipelines import stack
    from pipelines.runtime.dagster_processes import dagster_environment, workspace_file

    if not stack.port_is_free(port):
        raise ShopmartsError(f"port {port} on 127.0.0.1 is already in use (Dagster UI)")
    stack.up(report=click.echo)
    click.echo(
        f"Dagster UI on http://127.0.0.1:{port} (Ctrl-C stops it; the daemon keeps "
        "running until `shopmarts down`)"
    )
    webserver = os.path.join(os.path.dirname(sys.executable), "dagster-webserver")
    command = [webserver, "-h", "127.0.0.1", "-p", str(port), "-w", str(workspace_file())]
    try:
        sys.exit(subprocess.call(command, cwd=PROJECT_ROOT, env=dagster_environment()))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
