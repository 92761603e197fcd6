"""The dashboards in a real browser: `streamlit run` as a subprocess, headless Chromium.

Chromium's own ``--screenshot`` flag fires before Streamlit's websocket has delivered
the page, so the test drives Chromium over the DevTools protocol instead (with the
``websockets`` package Streamlit itself depends on): open each page, wait until every
chart has drawn, then take the screenshot and check it shows drawn charts.

Set ``SHOPMARTS_SCREENSHOT_DIR`` to keep the screenshots (the README's comes from here).
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import Browser, launch_chromium, stop, wait_for
from PIL import Image
from test_dashboards import publish_hand_made_shop, shop_of_our_own

from core.settings import Environment

ROOT = Path(__file__).resolve().parents[1]
# url path -> (title, charts drawn)
PAGES = {
    "": ("Overview", 1),
    "trends": ("Revenue trends", 4),
    "segments": ("RFM segments", 4),
    "products": ("Products & categories", 2),
    "inventory": ("Inventory alerts", 2),
    "promotions": ("Promotions", 2),
}
WINDOW = (1400, 1000)

# What the page looks like right now: charts present and drawn, a run in progress, errors.
PAGE_STATE = """(() => ({
  title: document.querySelector('h1')?.innerText ?? null,
  charts: document.querySelectorAll('[data-testid="stVegaLiteChart"]').length,
  drawn: document.querySelectorAll(
    '[data-testid="stVegaLiteChart"] svg.marks, [data-testid="stVegaLiteChart"] canvas').length,
  boxes: [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].map(e => {
    const r = e.getBoundingClientRect();
    return [Math.round(r.left), Math.round(r.top), Math.round(r.right), Math.round(r.bottom)];
  }),
  running: !!document.querySelector('[data-testid="stStatusWidget"]'),
  exceptions: document.querySelectorAll('[data-testid="stException"]').length,
  errors: [...document.querySelectorAll('[data-testid="stAlertContentError"]')]
    .map(e => e.innerText),
}))()"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def published_shop(environment: Environment) -> Iterator[Environment]:
    """The hand-made marts, and no refresh log: whatever ran before on this stack (a
    refused publish's banner) sets nothing above the charts. Put back afterwards."""
    with shop_of_our_own(
        environment, lambda: publish_hand_made_shop(environment), tag="browser"
    ) as environment:
        yield environment


@pytest.fixture(scope="module")
def dashboards_url(
    published_shop: Environment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`streamlit run dashboards/app.py` on a free port, as `make dashboards` starts it."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    log = log_path.open("w+b")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "dashboards/app.py",
            "--server.address", "127.0.0.1",
            "--server.port", str(port),
            "--server.headless", "true",
            "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "minimal",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if process.poll() is not None:
            log.seek(0)
            raise AssertionError(f"streamlit exited: {log.read().decode(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_for(healthy, 60, "streamlit to answer")
        yield url
    finally:
        stop(process)
        log.close()


class DashboardBrowser(Browser):
    """The shared DevTools tab, knowing when a Streamlit page has drawn its charts."""

    def state(self) -> dict[str, Any]:
        return self.evaluate(PAGE_STATE)

    def open(self, url: str, charts: int, timeout: float = 45) -> dict[str, Any]:
        """Load ``url`` and wait until ``charts`` charts have drawn and nothing runs."""
        self.navigate(url)
        seen: list[dict[str, Any]] = []

        def settled() -> dict[str, Any] | None:
            state = self.state()
            if state["exceptions"] or state["errors"]:
                return state
            seen.append(state)
            done = state["charts"] >= charts and state["drawn"] >= charts and not state["running"]
            # Three identical looks in a row: the page has stopped changing.
            return state if done and len(seen) >= 3 and seen[-3] == seen[-2] == state else None

        return wait_for(settled, timeout, f"{url} to draw {charts} charts")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardBrowser]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    with launch_chromium(profile, WINDOW, DashboardBrowser) as tab:
        yield tab


def assert_drawn(png: bytes, boxes: list[list[int]]) -> None:
    """The screenshot is a page, not a blank, and each chart in view has coloured marks."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == WINDOW
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 500, f"only {len(colours)} colours: nothing drawn?"
    background = max(count for count, _ in colours)
    assert background < 0.9 * image.width * image.height, "the page is mostly blank"
    visible = [box for box in boxes if box[1] < WINDOW[1] - 100 and box[3] > box[1]]
    assert visible, "no chart in view"
    for left, top, right, bottom in visible:
        chart = image.crop((left, top, right, min(bottom, WINDOW[1])))
        pixels = chart.getcolors(maxcolors=1 << 20) or []
        assert len(pixels) > 50, f"chart at {left},{top} has {len(pixels)} colours: not drawn"
        # Marks are coloured: blue revenue, orange averages, status colours; axes are grey.
        marks = sum(count for count, (r, g, b) in pixels if max(r, g, b) - min(r, g, b) > 30)
        area = chart.width * chart.height
        assert marks > 0.02 * area, f"chart at {left},{top}: no coloured marks"


def keep(name: str, png: bytes, tmp_path: Path) -> Path:
    path = tmp_path / name
    path.write_bytes(png)
    wanted = os.environ.get("SHOPMARTS_SCREENSHOT_DIR")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(wanted) / name)
    return path


@pytest.mark.parametrize("engine", ["postgres", "clickhouse"])
@pytest.mark.parametrize("page", list(PAGES))
def test_pages_draw_their_charts_in_chromium(
    dashboards_url: str, browser: DashboardBrowser, tmp_path: Path, page: str, engine: str
) -> None:
    title, charts = PAGES[page]
    state = browser.open(f"{dashboards_url}/{page}?engine={engine}", charts)
    assert not state["exceptions"] and not state["errors"], state
    assert state["title"] == title
    assert state["drawn"] == charts
    png = browser.screenshot()
    path = keep(f"{page or 'overview'}-{engine}.png", png, tmp_path)
    assert_drawn(path.read_bytes(), state["boxes"])
