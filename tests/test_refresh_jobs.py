"""The refresh jobs end to end through Dagster, the run queue, the webserver and a browser.

One module-scoped stack with the Dagster daemon: `shopmarts refresh` submits to the queue,
the daemon launches the run, exactly as the schedules do.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
from browser import launch_chromium, stop, wait_for
from PIL import Image
from test_dbt_parse_state import reused_last_parse

from core.settings import Environment
from core.vocabulary import MARTS
from ingest.shop.generate import generate_shop
from ingest.shop.schema import SHOP_TABLES
from ingest.shop.simulate import simulate_shop
from pipelines import stack
from pipelines.defs.refresh.schedules import build_schedules
from pipelines.launch import follow_run, submit_refresh
from pipelines.query import run_query
from pipelines.runtime.dagster_processes import dagster_environment, stop_schedules, workspace_file
from quality.records import forget_good_counts

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = os.environ.get("SHOPMARTS_SCREENSHOT_DIR")


def refresh(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "refresh", "--mode", mode],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
    )  # fmt: skip


def rows(target: str, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(str(value) for value in row) for row in run_query(target, sql)[1]]


def dagster_instance() -> Any:
    """The stack's Dagster instance (its run launcher included), as the daemon has it."""
    from dagster import DagsterInstance

    os.environ["DAGSTER_HOME"] = dagster_environment()["DAGSTER_HOME"]
    return DagsterInstance.get()


def run_id_of(result: subprocess.CompletedProcess[str]) -> str:
    """The run id `shopmarts refresh` printed."""
    line = next(line for line in result.stdout.splitlines() if line.startswith("run "))
    return line.split()[1]


REFRESH_LOG_QUERIES = {
    "warehouse": (
        "SELECT status, gates_passed, detail, array_to_string(failing_expectations, ' | ') "
        "FROM meta.refresh_log WHERE run_id = '{run_id}'"
    ),
    "clickhouse": (
        "SELECT status, gates_passed, detail, arrayStringConcat(failing_expectations, ' | ') "
        "FROM meta.refresh_log FINAL WHERE run_id = '{run_id}'"
    ),
}


def refresh_log_rows(run_id: str, within: float = 120) -> dict[str, dict[str, str]]:
    """The run's refresh-log row in each engine, waiting for the daemon's sensor to write it
    (it is evaluated every few seconds)."""
    from pipelines.defs.refresh.sensors import SENSOR_INTERVAL_SECONDS

    assert within > 2 * SENSOR_INTERVAL_SECONDS
    found: dict[str, dict[str, str]] = {}
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for target, query in REFRESH_LOG_QUERIES.items():
            if target not in found:
                answer = rows(target, query.format(run_id=run_id))
                if answer:
                    status, passed, detail, failing = answer[0]
                    found[target] = {
                        "status": status,
                        "gates_passed": passed,
                        "detail": detail,
                        "failing_expectations": failing,
                    }
        if len(found) == len(REFRESH_LOG_QUERIES):
            return found
        time.sleep(1)
    raise AssertionError(f"no refresh-log row for run {run_id} after {within:.0f} s: {found}")


def mart_fingerprint(target: str, mart: str) -> list[tuple[Any, ...]]:
    return rows(target, f"SELECT * FROM marts.{mart} ORDER BY 1, 2")


FORKS_A_SLEEPER = """
import os, sys, time
from pipelines.runtime.executor import die_with_this_process
die_with_this_process()
child = os.fork()
if child == 0:
    time.sleep(120)
    os._exit(0)
print(child, flush=True)
time.sleep(120)
"""


def test_a_step_process_dies_with_the_run_worker_that_forked_it() -> None:
    """What the refresh executor sets up in each run worker: a forked step process gets
    SIGKILL when its run worker ends, even by SIGKILL, so no step runs on behind it."""
    worker = subprocess.Popen(
        [sys.executable, "-c", FORKS_A_SLEEPER], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert worker.stdout is not None
    step = psutil.Process(int(worker.stdout.readline()))
    assert step.is_running()
    worker.kill()
    worker.wait(10)
    step.wait(5)  # raises TimeoutExpired if it outlives its worker


@pytest.fixture(scope="module")
def refreshed(environment: Environment) -> Iterator[dict[str, Any]]:
    """A small shop, the daemon running, and a nightly refresh with an hourly queued behind it."""
    generate_shop(environment.shop_url, scale=0.03, seed=7, replace=True, progress=False)
    # A new shop, not a shrunken one: the raw gates' row-count baseline starts afresh.
    forget_good_counts(environment.warehouse_url)
    stack.up()  # adds the Dagster daemon to the engines of the session
    # The tests submit the refreshes they check; a scheduled hourly at :05 would queue one
    # among them (and, for the rest of the session, beside other modules' runs).
    stop_schedules([schedule.name for schedule in build_schedules()])
    nightly = submit_refresh("nightly")
    hourly = submit_refresh("hourly")  # submitted while the nightly one is queued or running
    results = {"nightly": follow_run(nightly, echo=lambda _: None)}
    results["hourly"] = follow_run(hourly, echo=lambda _: None)
    yield {"environment": environment, "results": results, "run_ids": (nightly, hourly)}


def test_nightly_then_hourly_publish_every_mart_in_both_engines(refreshed: dict) -> None:
    results = refreshed["results"]
    assert results["nightly"].ok, results["nightly"]
    assert results["hourly"].ok, results["hourly"]
    assert not results["nightly"].failed_checks and results["nightly"].passed_checks > 50
    for mart in MARTS:
        count = rows("warehouse", f"SELECT count(*) FROM marts.{mart}")
        assert count == rows("clickhouse", f"SELECT count() FROM marts.{mart}")
        assert int(count[0][0]) > 0, f"{mart} is empty"


def test_a_refresh_submitted_during_another_waits_in_the_queue(refreshed: dict) -> None:
    nightly_id, hourly_id = refreshed["run_ids"]
    with dagster_instance() as instance:
        nightly = instance.get_run_record_by_id(nightly_id)
        hourly = instance.get_run_record_by_id(hourly_id)
    assert nightly is not None and hourly is not None
    assert nightly.end_time is not None and hourly.start_time is not None
    # Submitted while the nightly was queued or running, started only after it ended. (Not
    # the hourly's `queued_seconds`: `follow_run` counts them from when it starts to follow
    # the run, after the nightly's end here, so they measure the queue's pick-up, 0.5 s.)
    assert hourly.create_timestamp.timestamp() < nightly.end_time, "submitted after the nightly"
    assert hourly.start_time >= nightly.end_time, "the hourly run overlapped the nightly one"


def test_hourly_refresh_publishes_new_days_and_every_mart(refreshed: dict) -> None:
    """The hourly folds the simulated hours into the aggregates and republishes every
    mart: new days in daily_sales, the RFM segments recomputed (parity: the run's gate)."""
    before_segments = {
        t: mart_fingerprint(t, "customer_segments") for t in ("warehouse", "clickhouse")
    }
    before_days = rows(
        "warehouse", "SELECT max(sales_date), sum(orders_count) FROM marts.daily_sales"
    )
    simulate_shop(refreshed["environment"].shop_url, hours=30, seed=3, progress=False)
    result = refresh("hourly")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok published_marts" in " ".join(result.stdout.split())
    for target in ("warehouse", "clickhouse"):
        after = rows(target, "SELECT max(sales_date), sum(orders_count) FROM marts.daily_sales")
        assert after[0][0] > before_days[0][0], f"{target}: no new day in daily_sales"
        assert int(after[0][1]) > int(before_days[0][1])
        # Rebuilt by the hourly refresh too: 30 hours of orders move customers' RFM.
        assert mart_fingerprint(target, "customer_segments") != before_segments[target]
    assert mart_fingerprint("warehouse", "daily_sales") == mart_fingerprint(
        "clickhouse", "daily_sales"
    )


def _finished_nodes(log: Path) -> dict[str, str]:
    """unique_id -> status of every node the newest dbt invocation in ``log`` (a run
    folder's `dbt.log`, JSON lines) finished."""
    events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    started = max(
        i for i, event in enumerate(events) if event["info"]["name"] == "MainReportVersion"
    )
    return {
        event["data"]["node_info"]["unique_id"]: event["data"]["node_info"]["node_status"]
        for event in events[started:]
        if event["info"]["name"] == "NodeFinished"
    }


def test_dbt_reparses_only_what_changed_and_keeps_few_run_folders(refreshed: dict) -> None:
    """Every refresh after the first seeds dbt with the last parse (no full re-parse), and
    the hourly build rebuilds its marts' intermediate models and leaves the staging tests to
    the nightly."""
    from pipelines.defs.dbt.assets import KEPT_DBT_RUNS, dbt_project
    from pipelines.defs.dbt.connection import dbt_runs_dir

    for target in ("postgres", "clickhouse"):
        runs_dir = dbt_runs_dir(target)
        assert (runs_dir / "partial_parse.msgpack").exists(), f"{target}: no parse state kept"
        runs = sorted(
            (path for path in runs_dir.iterdir() if path.is_dir()),
            key=lambda path: path.stat().st_mtime,
        )
        assert 2 <= len(runs) <= KEPT_DBT_RUNS, runs
        newest = runs[-1]  # the hourly refresh of the test above
        assert reused_last_parse(newest / "dbt.log"), f"{target}: the hourly run parsed again"
        # It wrote no JSON artifacts (only a build of the staging views reads them): what
        # it ran is in its log.
        assert (
            not (newest / "manifest.json").exists() and not (newest / "run_results.json").exists()
        )
        results = _finished_nodes(newest / "dbt.log")
        tests = [unique_id for unique_id in results if unique_id.startswith("test.")]
        # The marts carry no dbt data test (their rules are the mart gate's, in GX).
        assert not [test for test in tests if "daily_sales" in test], tests
        models = {unique_id for unique_id in results if unique_id.startswith("model.")}
        assert "model.shopmarts.int_sales__daily" in models, sorted(models)
        nodes = json.loads(dbt_project(target).manifest_path.read_text())["nodes"]
        on_staging = {
            unique_id
            for unique_id, node in nodes.items()
            if (node.get("attached_node") or "").startswith("model.shopmarts.stg_")
        }
        assert on_staging, "the manifest has no staging tests to leave out"
        assert not on_staging & set(tests), sorted(on_staging & set(tests))
        assert set(results.values()) <= {"success", "pass"}, results
        # The nightly built the staging views; the hourly left them as they were
        # (pipelines/defs/dbt/staging_state.py).
        assert not [model for model in models if ".stg_" in model], sorted(models)
        built_by = [set(_finished_nodes(run / "dbt.log")) for run in runs[:-1]]
        assert any(any(".stg_shop__orders" in node for node in nodes) for nodes in built_by)


def test_staging_is_rebuilt_when_a_view_is_missing_or_the_project_changed(
    refreshed: dict,
) -> None:
    """An incremental build leaves staging out only while the stamp of the last full
    build matches and every staging view exists."""
    from pipelines.defs.dbt.connection import dbt_runs_dir, project_fingerprint
    from pipelines.defs.dbt.staging_state import STAMP_FILE, staging_stamp, why_build_staging

    environment = refreshed["environment"]
    for target in ("postgres", "clickhouse"):
        runs_dir = dbt_runs_dir(target)
        stamp = staging_stamp(project_fingerprint(), target, environment)
        assert why_build_staging(runs_dir, stamp, environment, target) is None, target
        other = staging_stamp("another project", target, environment)
        why = why_build_staging(runs_dir, other, environment, target)
        assert why is not None and "another project" in why, (target, why)
    # A view gone (dropped by hand, say): staging is built again.
    runs_dir = dbt_runs_dir("postgres")
    stamp = staging_stamp(project_fingerprint(), "postgres", environment)
    with psycopg.connect(environment.warehouse_url, autocommit=True) as conn:
        conn.execute("ALTER VIEW staging.stg_shop__reviews RENAME TO stg_shop__reviews_away")
        try:
            why = why_build_staging(runs_dir, stamp, environment, "postgres")
            views = json.loads((runs_dir / STAMP_FILE).read_text())["views"]
            assert ["staging", "stg_shop__reviews"] in views
            assert why == f"1 of {len(views)} staging views missing", why
        finally:
            conn.execute("ALTER VIEW staging.stg_shop__reviews_away RENAME TO stg_shop__reviews")
    assert why_build_staging(runs_dir, stamp, environment, "postgres") is None


def run_worker(instance: Any, run_id: str) -> tuple[int, str]:
    """The pid of the run's worker, once the run is started, and the step it has reached."""
    from dagster import DagsterEventType

    from pipelines.runtime.run_launcher import run_worker_pid

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        steps = instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_START).records
        pid = run_worker_pid(run.tags)
        if pid is not None and steps:
            return pid, steps[-1].event_log_entry.step_key
        assert not run.is_finished, run.status
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} started no step in 300 s")


def finished_status(instance: Any, run_id: str, within: float) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run.is_finished:
            return run.status.value
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} still {run.status.value} after {within:.0f} s")


def test_run_workers_are_forks_of_the_warm_process_server(refreshed: dict) -> None:
    """Each run worker is `dagster api execute_run` forked from the stack's fork server, where
    Dagster, dagster-dbt and GX are imported already; its pid is in the run's tags. So is
    `shopmarts refresh` itself (the test above ran it), its output and exit code its own."""
    from core.settings import state_dir
    from pipelines.runtime.run_launcher import run_worker_pid

    log = (state_dir() / "forkserver.log").read_text()
    assert ": shopmarts refresh --mode hourly" in log
    with dagster_instance() as instance:
        for run_id in refreshed["run_ids"]:
            run = instance.get_run_by_id(run_id)
            assert run is not None
            pid = run_worker_pid(run.tags)
            assert f"pid {pid}: dagster api execute_run (run {run_id})" in log


def test_a_killed_run_worker_fails_its_run_and_the_next_refresh_runs(refreshed: dict) -> None:
    """SIGKILL of a run worker mid-run: its step processes die with it, run monitoring marks
    the run failed (not left started forever, holding the refresh queue), the published
    marts stay as they were, and the next refresh runs and publishes."""
    before = {t: mart_fingerprint(t, "daily_sales") for t in ("warehouse", "clickhouse")}
    run_id = submit_refresh("hourly")
    with dagster_instance() as instance:
        pid, step = run_worker(instance, run_id)
        steps = psutil.Process(pid).children()  # each step runs in a fork of the worker
        assert steps, "no step process under the run worker"
        os.kill(pid, signal.SIGKILL)
        _gone, alive = psutil.wait_procs(steps, timeout=15)
        assert not alive, f"step processes outlived their run worker: {alive}"
        assert finished_status(instance, run_id, within=90) == "FAILURE"
    after = {t: mart_fingerprint(t, "daily_sales") for t in ("warehouse", "clickhouse")}
    assert after == before, f"killed in {step}, the published marts changed"
    # The daemon's failure sensor gives the run its refresh-log row in both engines.
    for target, row in refresh_log_rows(run_id).items():
        assert row["status"] == "failed" and row["gates_passed"] in ("False", "false"), row
        assert "hourly_refresh failed before its gates decided" in row["detail"], (target, row)
    simulate_shop(refreshed["environment"].shop_url, hours=3, seed=5, progress=False)
    result = refresh("hourly")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok published_marts" in " ".join(result.stdout.split())


def test_terminating_a_run_interrupts_its_worker(refreshed: dict) -> None:
    """The UI's Terminate: the launcher signals the worker, Dagster interrupts the step under
    way and the run ends CANCELED, the published marts untouched."""
    before = mart_fingerprint("warehouse", "daily_sales")
    run_id = submit_refresh("hourly")
    with dagster_instance() as instance:
        pid, _step = run_worker(instance, run_id)
        assert instance.run_launcher.terminate(run_id)
        assert finished_status(instance, run_id, within=120) == "CANCELED"
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).wait(30)  # the worker itself ends too
    assert mart_fingerprint("warehouse", "daily_sales") == before
    for target, row in refresh_log_rows(run_id).items():
        assert row["status"] == "failed", (target, row)
        assert "hourly_refresh canceled before its gates decided" in row["detail"], (target, row)


def test_a_gate_failure_names_its_expectation_and_rows_in_the_cli_and_the_log(
    refreshed: dict,
) -> None:
    """An order dated three days ahead reaches raw by the hourly extract; the raw gates of
    both engines stop it. `shopmarts refresh` names the expectation, the engine and table,
    how many rows fail and the order's key; so does the refresh log; nothing is published."""
    shop_url = refreshed["environment"].shop_url
    before = {t: mart_fingerprint(t, "daily_sales") for t in ("warehouse", "clickhouse")}
    with psycopg.connect(shop_url, autocommit=True) as conn:
        order_id, order_date, created_at = conn.execute(
            "SELECT order_id, order_date, created_at FROM orders WHERE shipped_at IS NULL "
            "ORDER BY order_id DESC LIMIT 1"
        ).fetchone()
        # created_at >= order_date is a shop constraint: both move three days ahead.
        conn.execute(
            "UPDATE orders SET created_at = now() + interval '3 days', "
            "order_date = now() + interval '3 days' WHERE order_id = %s",
            (order_id,),
        )
        try:
            result = refresh("hourly")
        finally:
            conn.execute(
                "UPDATE orders SET order_date = %s, created_at = %s WHERE order_id = %s",
                (order_date, created_at, order_id),
            )
    assert result.returncode == 1, result.stdout + result.stderr
    rule = "orders.order_date.not_in_future"
    named = f"{rule}: 1 failing row, keys order_id={order_id}"
    for engine in ("postgres", "clickhouse"):
        check = f"FAILED check raw_suite on {engine}/raw/orders"
        assert check in result.stdout, result.stdout
        # The line under the failed check names the expectation, its rows and their keys.
        following = result.stdout.split(check, 1)[1].splitlines()[1].strip()
        assert following.startswith(named), following
        assert (
            f"shopmarts: step {engine}_raw_gate failed: The {engine} raw gate failed, "
            f"nothing is published: {engine} raw.orders: {named}"
        ) in result.stderr, result.stderr
    run_id = run_id_of(result)
    for target, row in refresh_log_rows(run_id).items():
        assert row["status"] == "gate_failed", (target, row)
        for engine in ("postgres", "clickhouse"):
            assert f"{engine} raw.orders: {named}" in row["failing_expectations"], (target, row)
    after = {t: mart_fingerprint(t, "daily_sales") for t in ("warehouse", "clickhouse")}
    assert after == before
    refreshed["gate_failed_run"] = run_id


def test_a_refresh_whose_extract_fails_is_logged_and_the_banner_says_so(refreshed: dict) -> None:
    """A shop column of a type the extract cannot copy fails the extract, before any gate:
    the failure sensor writes the run's `failed` row naming the step, the dashboards'
    banner shows it in both engines, and a gate's own row is left as the gate wrote it."""
    from test_dashboards import open_app

    from dashboards import data

    shop_url = refreshed["environment"].shop_url
    with psycopg.connect(shop_url, autocommit=True) as conn:
        conn.execute("DROP TYPE IF EXISTS test_mood CASCADE")
        conn.execute("CREATE TYPE test_mood AS (calm int, loud int)")
        conn.execute("ALTER TABLE reviews ADD COLUMN mood test_mood")
        try:
            result = refresh("hourly")
        finally:
            conn.execute("ALTER TABLE reviews DROP COLUMN mood")
            conn.execute("DROP TYPE test_mood")
    assert result.returncode == 1, result.stdout + result.stderr
    reason = "shop table reviews: column mood has user-defined type test_mood"
    assert f"shopmarts: step extract_raw failed: {reason}" in result.stderr, result.stderr
    run_id = run_id_of(result)
    for target, row in refresh_log_rows(run_id).items():
        assert row["status"] == "failed", (target, row)
        assert row["detail"].startswith(
            f"hourly_refresh failed before its gates decided: step extract_raw: {reason}"
        ), (target, row)
    for engine in ("postgres", "clickhouse"):
        data.clear_cache()
        app = open_app(engine)
        assert not app.exception, [e.value for e in app.exception]
        (banner,) = app.warning
        assert "failed before its gates decided, so it published nothing" in banner.value
        assert f"step extract_raw: {reason}" in banner.value, banner.value
    # The sensor has handled every run that ended before this one: the gate's row stands.
    gate_failed_run = refreshed.get("gate_failed_run")
    if gate_failed_run:
        for target, row in refresh_log_rows(gate_failed_run).items():
            assert row["status"] == "gate_failed", (target, row)


@pytest.fixture(scope="module")
def webserver(refreshed: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = stack.free_port()
    log = tmp_path_factory.mktemp("webserver") / "webserver.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-webserver")), "-h", "127.0.0.1",
             "-p", str(port), "-w", str(workspace_file())],
            cwd=ROOT, env=dagster_environment(), stdout=output, stderr=output,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_for(answers, 180, f"the Dagster webserver (log: {log})", every=1)
        yield url
    finally:
        stop(process)


ASSET_GRAPH_QUERY = """
{
  assetNodes {
    assetKey { path }
    dependencyKeys { path }
    groupName
    assetChecksOrError { ... on AssetChecks { checks { name blocking } } }
  }
}
"""


def graphql(url: str, query: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.load(response)
    assert "errors" not in answer, answer.get("errors")
    return answer["data"]


def test_lineage_runs_from_every_shop_table_through_raw_and_staging_to_every_mart(
    webserver: str,
) -> None:
    nodes = graphql(webserver, ASSET_GRAPH_QUERY)["assetNodes"]
    deps = {
        "/".join(node["assetKey"]["path"]): {"/".join(d["path"]) for d in node["dependencyKeys"]}
        for node in nodes
    }
    checks = {
        "/".join(node["assetKey"]["path"]): {
            check["name"]: check["blocking"]
            for check in (node.get("assetChecksOrError") or {}).get("checks", [])
        }
        for node in nodes
    }

    def upstream(key: str) -> set[str]:
        seen, todo = set(), [key]
        while todo:
            for parent in deps.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    for engine in ("postgres", "clickhouse"):
        for table in SHOP_TABLES:
            assert f"shop/{table}" in deps[f"{engine}/raw/{table}"]
            raw = f"{engine}/raw/{table}"
            assert any(checks[raw].values()), f"{raw} has no blocking check"
            assert raw in deps[f"{engine}/staging/stg_shop__{table}"]
        for mart in MARTS:
            key = f"{engine}/marts/{mart}"
            ancestors = upstream(key)
            assert any(a.startswith(f"{engine}/staging/") for a in ancestors), key
            assert any(a.startswith(f"{engine}/raw/") for a in ancestors), key
            assert any(a.startswith("shop/") for a in ancestors), key
            assert any(blocking for blocking in checks[key].values()), f"{key}: no blocking check"
    assert set(MARTS) <= {k.split("/")[-1] for k in upstream("published_marts")}


DISMISS_NEWSLETTER = (
    "[...document.querySelectorAll('button')].filter(b => b.innerText.trim() == 'Skip')"
    ".forEach(b => b.click())"
)


def screenshot_page(url: str, name: str, profile: Path, ready_text: str) -> bytes:
    """Load ``url`` until its text shows ``ready_text``, close Dagster's first-visit
    newsletter dialog, and take the screenshot."""
    with launch_chromium(profile, (1600, 1000)) as browser:
        browser.navigate(url)
        wait_for(
            lambda: ready_text in (browser.evaluate("document.body.innerText") or ""),
            90,
            f"{url} to show {ready_text!r}",
        )
        time.sleep(3)  # the graph lays itself out after its text is there
        browser.evaluate(DISMISS_NEWSLETTER)
        time.sleep(1)
        png = browser.screenshot()
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        (Path(SCREENSHOTS) / name).write_bytes(png)
    return png


def assert_not_blank(png: bytes) -> None:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 200, f"only {len(colours)} colours: nothing drawn?"


def test_lineage_and_run_pages_render_in_chromium(
    webserver: str, refreshed: dict, tmp_path: Path
) -> None:
    lineage = screenshot_page(
        f"{webserver}/assets/clickhouse/marts/daily_sales"
        "?view=lineage&lineageScope=upstream&lineageDepth=4",
        "lineage.png",
        tmp_path / "lineage-profile",
        "stg_shop__orders",
    )
    assert_not_blank(lineage)
    nightly_id = refreshed["run_ids"][0]
    run = screenshot_page(
        f"{webserver}/runs/{nightly_id}",
        "run.png",
        tmp_path / "run-profile",
        "published_marts",
    )
    assert_not_blank(run)
