"""Headless Chromium driven over the DevTools protocol, for the tests that look at pages."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from websockets.sync.client import ClientConnection, connect

CHROMIUM_MISSING = (
    "Chromium is missing: the browser tests need `chromium` on PATH. `make test` installs "
    "it where it may (root, or sudo without a password); else run `sudo apt-get install "
    "chromium` (Debian/Ubuntu) and run the tests again"
)


def chromium() -> str:
    """Debian's Chromium; missing is a failure naming what to install, never a skip."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(CHROMIUM_MISSING, pytrace=False)
    return path


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.25) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Browser:
    """One headless Chromium tab."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self._next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        self._connection.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._connection.recv(timeout=30))
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def screenshot(self) -> bytes:
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])


B = TypeVar("B", bound="Browser")


@contextlib.contextmanager
def launch_chromium(
    profile: Path, window: tuple[int, int], browser_class: type[B] | None = None
) -> Iterator[B]:
    """Start headless Chromium with its profile and temporary files in ``profile``; yield
    its tab as ``browser_class`` (a :class:`Browser` subclass knowing its pages)."""
    profile.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="chromium-")
    (profile / "DevToolsActivePort").unlink(missing_ok=True)  # a previous Chromium's
    process = subprocess.Popen(
        [
            chromium(), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", f"--user-data-dir={profile}",
            f"--window-size={window[0]},{window[1]}", "--hide-scrollbars",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Chromium's temporary files in a short folder of their own, removed afterwards
        # (a long TMPDIR makes its singleton socket path too long for Unix sockets).
        env={**os.environ, "TMPDIR": scratch},
    )  # fmt: skip
    try:
        port_file = profile / "DevToolsActivePort"
        wait_for(lambda: port_file.exists() and port_file.read_text().strip(), 30, "Chromium")
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as answer:
            targets = json.load(answer)
        page = next(target for target in targets if target["type"] == "page")
        with connect(page["webSocketDebuggerUrl"], max_size=None) as connection:
            browser = (browser_class or Browser)(connection)
            browser.call("Page.enable")
            browser.call(
                "Emulation.setDeviceMetricsOverride",
                width=window[0],
                height=window[1],
                deviceScaleFactor=1,
                mobile=False,
            )
            yield browser  # type: ignore[misc]
    finally:
        stop(process)
        shutil.rmtree(scratch, ignore_errors=True)


def stop(process: subprocess.Popen) -> None:
    """Terminate a server the tests started; kill it if it is still there after 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
