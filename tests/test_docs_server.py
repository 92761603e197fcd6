"""The docs server: a gate's Data Docs link in Dagster's check metadata opens over http.

The embedded stack's docs server is started as `shopmarts up` starts it; a small shop is
extracted and its raw gate runs through the real Dagster assets; the check's metadata
must carry an http link to the docs server, and headless Chromium must open that page
(and the gate's index) and find the suite in it. The server must serve the two docs
sites and nothing else of the state folder.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from browser import launch_chromium, wait_for
from test_quality_gates import prepare_shop

from core.settings import Environment, read_stack, state_dir
from core.vocabulary import RAW_TABLES
from pipelines import stack as engine_stack
from pipelines.defs.environment import ShopmartsEnvironment
from pipelines.defs.extract.assets import extract_raw
from pipelines.defs.keys import raw_key
from pipelines.defs.plan import RefreshPlanResource
from pipelines.defs.quality.checks import RAW_CHECK_NAME, raw_gates
from pipelines.runtime.docs_server import docs_base_url, docs_url

WINDOW = (1280, 900)
PAGE_STATE = """(() => ({
  protocol: location.protocol, ready: document.readyState, title: document.title,
  text: document.body ? document.body.innerText : '', html: document.documentElement.outerHTML,
}))()"""


@pytest.fixture(scope="module")
def docs_server(environment: Environment) -> Iterator[str]:
    """The stack's docs server, started by `up` like the engines (idempotent)."""
    engine_stack.up(engines=("docs",))
    again = engine_stack.up(engines=("docs",))  # a second `up` reuses it
    assert again["docs_server"] == read_stack()["docs_server"]
    base = docs_base_url()
    assert base == f"http://127.0.0.1:{again['docs_server']['port']}/"
    yield base


@pytest.fixture(scope="module")
def gate_evaluations(
    environment: Environment, docs_server: str
) -> dict[dg.AssetKey, dg.AssetCheckEvaluation]:
    """A small shop extracted and the Postgres raw gate run, through Dagster."""
    prepare_shop(environment)
    raw = [raw_key(engine, table) for engine in ("postgres", "clickhouse") for table in RAW_TABLES]
    checks = [dg.AssetCheckKey(raw_key("postgres", t), RAW_CHECK_NAME) for t in RAW_TABLES]
    result = dg.materialize(
        [extract_raw, *raw_gates],
        selection=dg.AssetSelection.assets(*raw).without_checks()
        | dg.AssetSelection.checks(*checks),
        resources={
            "shopmarts_environment": ShopmartsEnvironment(
                shop_url=environment.shop_url,
                warehouse_url=environment.warehouse_url,
                clickhouse_url=environment.clickhouse_url,
            ),
            "refresh_plan": RefreshPlanResource(mode="nightly"),  # a full extract
        },
    )
    assert result.success
    return {e.asset_key: e for e in result.get_asset_check_evaluations()}


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, ""


def test_check_metadata_links_data_docs_over_http(
    gate_evaluations: dict[dg.AssetKey, dg.AssetCheckEvaluation], docs_server: str
) -> None:
    evaluation = gate_evaluations[raw_key("postgres", "orders")]
    page = str(evaluation.metadata["data_docs"].value)
    index = str(evaluation.metadata["data_docs_index"].value)
    for link in (page, index):
        assert link.startswith(docs_server + "gx/raw_postgres/"), link
    status, body = fetch(page)
    assert status == 200 and "raw.orders" in body


def test_data_docs_link_opens_in_chromium(
    gate_evaluations: dict[dg.AssetKey, dg.AssetCheckEvaluation],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    evaluation = gate_evaluations[raw_key("postgres", "orders")]
    page = str(evaluation.metadata["data_docs"].value)
    index = str(evaluation.metadata["data_docs_index"].value)
    # The suite's page shows its name as text. The index draws its table with
    # bootstrap-table from a CDN, which this offline machine cannot reach: there the
    # suites are looked for in the document Chromium loaded.
    with launch_chromium(tmp_path_factory.mktemp("chromium-docs"), WINDOW) as browser:
        for url, expected, where in (
            (page, "raw.orders", "text"),
            (index, "raw.customers", "html"),
        ):
            browser.navigate(url)

            def loaded(url: str = url, expected: str = expected, where: str = where) -> dict | None:
                state = browser.evaluate(PAGE_STATE)  # None while the page is replaced
                done = state and state["ready"] == "complete" and expected in state[where]
                return state if done else None

            state = wait_for(loaded, 30, f"{url} to show {expected}")
            assert state["protocol"] == "http:", state
        png = browser.screenshot()
    assert len(png) > 10_000  # a drawn page, not a blank or an error page


def test_dbt_docs_are_served_and_linked(docs_server: str) -> None:
    site = state_dir() / "docs" / "postgres"
    site.mkdir(parents=True, exist_ok=True)
    (site / "static_index.html").write_text("<html><body>dbt docs of shopmarts</body></html>")
    link = docs_url(site / "static_index.html")
    assert link == docs_server + "dbt/postgres/static_index.html"
    assert fetch(link) == (200, "<html><body>dbt docs of shopmarts</body></html>")
    status, listing = fetch(docs_server)
    assert status == 200 and "dbt/postgres/static_index.html" in listing


def test_docs_server_serves_nothing_else_of_the_state_folder(docs_server: str) -> None:
    assert (state_dir() / "stack.json").exists()
    for path in ("stack.json", "gx/../stack.json", "gx/%2e%2e/%2e%2e/stack.json", "postgres/"):
        assert fetch(docs_server + path)[0] == 404, path
    assert fetch(docs_server + "ping") == (200, "Ok.\n")
    assert docs_url(state_dir() / "stack.json") is None


def test_status_shows_the_docs_server(docs_server: str) -> None:
    rows = {row.name: row for row in engine_stack.status()}
    docs = rows["Docs server"]
    assert docs.healthy and docs.url == docs_server
    assert json.loads((state_dir() / "stack.json").read_text())["docs_server"]["pid"] == docs.pid


def test_an_explicit_docs_url_wins(monkeypatch: pytest.MonkeyPatch, docs_server: str) -> None:
    """Compose: the pipeline links the address browsers reach, not its own loopback."""
    monkeypatch.setenv("SHOPMARTS_DOCS_URL", "http://localhost:8080")
    page = state_dir() / "gx" / "data_docs" / "raw_postgres" / "index.html"
    assert docs_url(page.as_uri()) == "http://localhost:8080/gx/raw_postgres/index.html"
    assert docs_url(Path("/elsewhere/index.html")) is None
