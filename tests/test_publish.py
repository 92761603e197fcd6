"""Publishing: atomic, never blocking readers for more than a moment, safe against SIGKILL.

Refreshes go through the same Dagster assets as tests/test_quality_gates.py
(`Pipeline`); the ones being read or killed run in a child process (as a run worker
would) while this process reads, kills or inspects:

- a reader queries every published mart of both engines in a loop during a nightly
  refresh: no error, every read sees each mart wholly old or wholly new (in PostgreSQL all
  marts together: one transaction swaps them), no read takes a second;
- a run SIGKILLed during publish leaves every mart wholly old or wholly new, and the next
  run (an hourly one) completes normally and publishes only its marts;
- publishes killed at random moments, down to the ClickHouse exchange, never leave a
  mart missing or half swapped.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from test_quality_gates import HOURLY_MARTS, SEED, Pipeline, ensure_published, failure_messages

from core.clients import clickhouse_client
from core.settings import Environment
from core.vocabulary import MARTS, SHADOW_SCHEMA
from pipelines.defs.publish.marts import mart_fingerprints
from pipelines.defs.refresh_log import latest_refreshes

TESTS_DIR = Path(__file__).resolve().parent
MAX_READ_SECONDS = 1.0

# A refresh in a child process: `python -c RUNNER '{"extract": ..., "marts": [...], ...}'`.
RUNNER = textwrap.dedent(
    f"""
    import json, sys
    sys.path.insert(0, {str(TESTS_DIR)!r})
    from test_quality_gates import Pipeline, failure_messages
    from core.settings import get_environment
    args = json.loads(sys.argv[1])
    result = Pipeline(get_environment()).run(**args)
    print("RESULT " + json.dumps({{"success": result.success, "run_id": result.run_id,
                                  "failure": failure_messages(result)}}), flush=True)
    sys.exit(0 if result.success else 1)
    """
)


@dataclass
class Refresh:
    """A refresh running in a child process, its output going to a file (a pipe nobody
    reads would fill up and stall it)."""

    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_refresh(
    tmp_path: Path, *, extract: str | None, marts: tuple[str, ...], mode: str
) -> Refresh:
    arguments = json.dumps({"extract": extract, "marts": list(marts), "mode": mode})
    log = tmp_path / f"refresh-{mode}-{time.monotonic_ns()}.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", RUNNER, arguments],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: dbt's children die with it
            cwd=TESTS_DIR.parent,
        )
    return Refresh(process, log)


def finish(refresh: Refresh, timeout: float = 900) -> dict[str, Any]:
    refresh.process.wait(timeout)
    output = refresh.output()
    line = next((ln for ln in output.splitlines() if ln.startswith("RESULT ")), None)
    assert line is not None, output[-3000:]
    return json.loads(line.removeprefix("RESULT "))


def simulate(environment: Environment, hours: float, seed: int) -> None:
    """Shop activity, so the next refresh changes every mart."""
    from ingest.shop.simulate import simulate_shop

    simulate_shop(environment.shop_url, hours=hours, seed=seed, progress=False)


def content(fingerprints: Mapping[tuple[str, str], Any]) -> dict[tuple[str, str], tuple[int, str]]:
    return {key: value.content for key, value in fingerprints.items() if value is not None}


@pytest.fixture(scope="module")
def pipeline(environment: Environment) -> Pipeline:
    return Pipeline(environment)


@pytest.fixture(scope="module")
def published(environment: Environment, pipeline: Pipeline) -> None:
    ensure_published(environment, pipeline)


# --- readers during a nightly refresh ---------------------------------------------------

POSTGRES_READ = " UNION ALL ".join(
    f"SELECT '{mart}', count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
    f"FROM marts.{mart} AS t"
    for mart in MARTS
)
CLICKHOUSE_READ = " UNION ALL ".join(
    f"SELECT '{mart}', count(), toString(sum(cityHash64(*))) FROM marts.{mart}" for mart in MARTS
)


@dataclass
class Reader:
    """Reads every published mart of one engine, one statement per read, until stopped."""

    engine: str
    environment: Environment
    reads: list[tuple[float, dict[str, tuple[int, str]]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            if self.engine == "postgres":
                with psycopg.connect(self.environment.warehouse_url, autocommit=True) as conn:
                    while not self.stop.is_set():
                        self._timed(lambda: conn.execute(POSTGRES_READ).fetchall())
            else:
                with clickhouse_client(self.environment.clickhouse_url) as client:
                    while not self.stop.is_set():
                        self._timed(lambda: client.query(CLICKHOUSE_READ).result_rows)
        except Exception as error:  # noqa: BLE001 - reported by the test
            self.errors.append(f"{type(error).__name__}: {error}")

    def _timed(self, read: Any) -> None:
        started = time.perf_counter()
        try:
            rows = read()
        except Exception as error:  # noqa: BLE001 - every failed read is a finding
            self.errors.append(f"{type(error).__name__}: {error}")
            time.sleep(0.05)
            return
        seconds = time.perf_counter() - started
        self.reads.append((seconds, {mart: (int(n), str(s)) for mart, n, s in rows}))
        time.sleep(0.01)


def test_readers_never_wait_or_see_a_mixed_state(
    environment: Environment, published: None, tmp_path: Path
) -> None:
    simulate(environment, hours=36, seed=SEED + 1)
    before = content(mart_fingerprints(environment))
    readers = [Reader(engine, environment) for engine in ("postgres", "clickhouse")]
    threads = [threading.Thread(target=reader.run, daemon=True) for reader in readers]
    for thread in threads:
        thread.start()
    refresh = start_refresh(tmp_path, extract="full", marts=MARTS, mode="nightly")
    try:
        outcome = finish(refresh)
        time.sleep(0.5)  # a few reads of the new state
    finally:
        for reader in readers:
            reader.stop.set()
        for thread in threads:
            thread.join(30)
    assert outcome["success"], outcome["failure"]
    after = content(mart_fingerprints(environment))
    changed = [key for key in before if before[key] != after[key]]
    assert len(changed) == 2 * len(MARTS), f"the refresh left marts unchanged: {changed}"

    for reader in readers:
        assert not reader.errors, reader.errors[:3]
        assert len(reader.reads) > 10, len(reader.reads)
        slowest = max(seconds for seconds, _ in reader.reads)
        assert slowest < MAX_READ_SECONDS, f"{reader.engine}: a read took {slowest:.3f}s"
        states = []
        for _seconds, observed in reader.reads:
            per_mart = {}
            for mart, value in observed.items():
                old, new = before[reader.engine, mart], after[reader.engine, mart]
                assert value in (old, new), f"{reader.engine} {mart}: a state neither old nor new"
                per_mart[mart] = "new" if value == new else "old"
            states.append(per_mart)
            if reader.engine == "postgres":
                # One transaction swaps every mart: one statement sees all old or all new.
                assert len(set(per_mart.values())) == 1, per_mart
        assert all(s == "old" for s in states[0].values()), "the first read was not old"
        assert all(s == "new" for s in states[-1].values()), "the last read was not new"
        print(
            f"{reader.engine}: {len(reader.reads)} reads, slowest {slowest * 1000:.0f} ms, "
            f"median {sorted(s for s, _ in reader.reads)[len(reader.reads) // 2] * 1000:.0f} ms"
        )
    latest = latest_refreshes(environment, 1)[0]
    assert latest["run_id"] == outcome["run_id"] and latest["status"] == "published"
    assert sorted(latest["marts_published"]) == sorted(MARTS)


# --- SIGKILL during publish, then the next run ------------------------------------------


@pytest.fixture
def blocked_mart(environment: Environment) -> Iterator[psycopg.Connection]:
    """An analyst's open transaction holding `marts.daily_sales`: publish must wait for it."""
    conn = psycopg.connect(environment.warehouse_url)
    conn.execute("SELECT count(*) FROM marts.daily_sales").fetchone()
    yield conn
    conn.rollback()
    conn.close()


def publish_in_progress(conn: psycopg.Connection) -> bool:
    """The publish step's swap is under way: its DROP of the published marts is waiting."""
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND query LIKE 'DROP MATERIALIZED VIEW \"marts\".%'"
    ).fetchone()
    return bool(row and row[0])


def test_sigkill_during_publish_then_next_run_completes(
    environment: Environment,
    pipeline: Pipeline,
    published: None,
    blocked_mart: psycopg.Connection,
    tmp_path: Path,
) -> None:
    simulate(environment, hours=12, seed=SEED + 2)
    before = mart_fingerprints(environment)
    refresh = start_refresh(tmp_path, extract="incremental", marts=HOURLY_MARTS, mode="hourly")
    deadline = time.monotonic() + 600
    with psycopg.connect(environment.warehouse_url, autocommit=True) as watcher:
        while not publish_in_progress(watcher):
            assert refresh.process.poll() is None, refresh.output()[-3000:]
            assert time.monotonic() < deadline, "the refresh never reached its publish step"
            time.sleep(0.02)
    time.sleep(random.uniform(0.1, 0.6))  # somewhere in the lock-wait / retry loop
    os.killpg(refresh.process.pid, signal.SIGKILL)
    refresh.process.wait(30)
    blocked_mart.rollback()  # the analyst's query ends

    # PostgreSQL rolled the killed transaction back; ClickHouse was never reached.
    assert mart_fingerprints(environment) == before
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        leftover = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
            "AND query LIKE 'DROP MATERIALIZED VIEW%%'"
        ).fetchone()
    assert leftover == (0,)

    # The next run, an hourly one, completes and publishes only its marts.
    simulate(environment, hours=2, seed=SEED + 3)
    hourly = pipeline.run(extract="incremental", marts=HOURLY_MARTS, mode="hourly")
    assert hourly.success, failure_messages(hourly)
    # In that order: extract, raw gates, dbt, mart gates and parity, publish.
    starts = [e.step_key for e in hourly.all_events if e.event_type_value == "STEP_START"]
    order = {step: position for position, step in enumerate(starts)}
    for engine in ("postgres", "clickhouse"):
        assert order["extract_raw"] < order[f"{engine}_raw_gate"] < order[f"dbt_{engine}"]
        assert order[f"dbt_{engine}"] < order[f"{engine}_mart_gate"] < order["published_marts"]
    assert order["marts_cross_engine_parity"] < order["published_marts"]
    after = mart_fingerprints(environment)
    for engine in ("postgres", "clickhouse"):
        for mart in MARTS:
            old, new = before[engine, mart], after[engine, mart]
            assert new is not None
            if mart in HOURLY_MARTS:
                assert new.identity != old.identity, (engine, mart)
            else:
                assert new == old, f"{engine} {mart} changed in an hourly run"
    latest = latest_refreshes(environment, 1)[0]
    assert latest["run_id"] == hourly.run_id
    assert latest["mode"] == "hourly" and latest["status"] == "published"
    assert sorted(latest["marts_published"]) == sorted(HOURLY_MARTS)


# --- publishes killed at random moments -------------------------------------------------

PUBLISH_ONLY = textwrap.dedent(
    """
    import sys, time
    from pipelines.defs.publish.marts import publish_marts
    from core.settings import get_environment
    environment = get_environment()
    print("START", flush=True)
    started = time.perf_counter()
    publish_marts(environment, sys.argv[1].split(","))
    print(f"DONE {time.perf_counter() - started:.4f}", flush=True)
    """
)
KILL_MARTS = ("customer_analytics", "monthly_revenue", "category_performance")


def drop_postgres_relation(conn: psycopg.Connection, schema: str, name: str) -> None:
    """Drop schema.name whatever it is (a publish may have left a table or a view)."""
    kind = conn.execute(
        "SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        (schema, name),
    ).fetchone()
    if kind:
        what = {"m": "MATERIALIZED VIEW", "v": "VIEW"}.get(kind[0], "TABLE")
        conn.execute(f"DROP {what} {schema}.{name}")


def build_shadow_copies(environment: Environment) -> dict[tuple[str, str], tuple[int, str]]:
    """New relations (new identities) with the published marts' rows, in the shadow."""
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SHADOW_SCHEMA}")
        for mart in KILL_MARTS:
            drop_postgres_relation(conn, SHADOW_SCHEMA, mart)
            # A table: a materialized view over marts.X would depend on what it replaces.
            conn.execute(f"CREATE TABLE {SHADOW_SCHEMA}.{mart} AS SELECT * FROM marts.{mart}")
    with clickhouse_client(environment.clickhouse_url) as client:
        client.command(f"CREATE DATABASE IF NOT EXISTS {SHADOW_SCHEMA}")
        for mart in KILL_MARTS:
            client.command(f"DROP TABLE IF EXISTS {SHADOW_SCHEMA}.{mart}")
            client.command(
                f"CREATE TABLE {SHADOW_SCHEMA}.{mart} AS marts.{mart}",
            )
            client.command(f"INSERT INTO {SHADOW_SCHEMA}.{mart} SELECT * FROM marts.{mart}")
    shadow = mart_fingerprints(environment, SHADOW_SCHEMA, KILL_MARTS)
    return {key: value.identity for key, value in shadow.items() if value}


def test_publish_killed_at_random_moments_leaves_every_mart_whole(
    environment: Environment, published: None
) -> None:
    rng = random.Random(SEED)
    # Calibrate: how long a whole publish takes in a child process.
    build_shadow_copies(environment)
    probe = subprocess.run(
        [sys.executable, "-c", PUBLISH_ONLY, ",".join(KILL_MARTS)],
        capture_output=True,
        text=True,
        cwd=TESTS_DIR.parent,
        check=True,
    )
    publish_seconds = float(probe.stdout.split("DONE ")[1])
    outcomes = []
    for _trial in range(6):
        before = mart_fingerprints(environment, marts=KILL_MARTS)
        shadow_ids = build_shadow_copies(environment)
        process = subprocess.Popen(
            [sys.executable, "-c", PUBLISH_ONLY, ",".join(KILL_MARTS)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=TESTS_DIR.parent,
            start_new_session=True,
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "START"
        time.sleep(rng.uniform(0, publish_seconds * 1.2))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
        after = mart_fingerprints(environment, marts=KILL_MARTS)
        states = []
        for key, now in after.items():
            assert now is not None, f"{key} is missing after the kill"
            assert now.content == before[key].content, key  # same rows, old or new
            if now.identity == before[key].identity:
                states.append("old")
            else:
                assert now.identity == shadow_ids[key], f"{key}: neither old nor new"
                states.append("new")
        engine_states = {
            engine: {s for (e, _), s in zip(after, states, strict=True) if e == engine}
            for engine in ("postgres", "clickhouse")
        }
        # PostgreSQL swaps all marts in one transaction.
        assert len(engine_states["postgres"]) == 1, engine_states
        outcomes.append(engine_states)
    # Clean up the shadow copies an interrupted publish left behind.
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        for mart in KILL_MARTS:
            drop_postgres_relation(conn, SHADOW_SCHEMA, mart)
    with clickhouse_client(environment.clickhouse_url) as client:
        for mart in KILL_MARTS:
            client.command(f"DROP TABLE IF EXISTS {SHADOW_SCHEMA}.{mart}")
    print(f"publish takes {publish_seconds * 1000:.0f} ms in a child; kill outcomes: {outcomes}")
