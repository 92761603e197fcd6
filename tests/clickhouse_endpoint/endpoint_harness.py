"""The embedded ClickHouse endpoint driven as a real server: a subprocess on a free port,
started as stack.py starts it, spoken to with clickhouse-connect and plain HTTP."""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.client import Client

REPO = Path(__file__).resolve().parents[2]
OWNERSHIP_EXIT = 3
PORT_IN_USE_EXIT = 4


@dataclass
class Endpoint:
    """A running endpoint process, its port and its data folder."""

    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path

    def client(self, **kwargs: Any) -> Client:
        """A clickhouse-connect client as the endpoint's owner (user ``default``)."""
        return clickhouse_connect.get_client(
            host="127.0.0.1", port=self.port, username="default", password="", **kwargs
        )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def launch(data_dir: Path, port: int, log: Path | None = None) -> subprocess.Popen[bytes]:
    """The endpoint as stack.py starts it; output to ``log``, or to pipes when None."""
    output = log.open("ab") if log is not None else subprocess.PIPE
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "clickhouse_endpoint",
                "--data-dir",
                str(data_dir),
                "--port",
                str(port),
            ],
            cwd=REPO,
            stdout=output,
            stderr=subprocess.STDOUT if log is not None else subprocess.PIPE,
        )
    finally:
        if log is not None and not isinstance(output, int):
            output.close()


def start_endpoint(data_dir: Path, port: int | None = None) -> Endpoint:
    """Launch an endpoint on ``data_dir`` and wait until it answers /ping."""
    port = port or free_port()
    log = data_dir.parent / f"endpoint-{port}.log"
    process = launch(data_dir, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"endpoint exited: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
            status, body, _ = http_request(port, "GET", "/ping")
            if status == 200 and body == b"Ok.\n":
                return Endpoint(process, port, data_dir)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("endpoint did not answer /ping within 60 s")


def stop_endpoint(endpoint: Endpoint) -> int:
    """SIGTERM, then the exit code (killed if it does not stop within 30 s)."""
    endpoint.process.send_signal(signal.SIGTERM)
    try:
        return endpoint.process.wait(timeout=30)
    finally:
        if endpoint.process.poll() is None:
            endpoint.process.kill()


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | list[bytes] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, dict[str, str]]:
    """One raw HTTP exchange; a list body is sent with chunked transfer encoding."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        if isinstance(body, list):
            connection.putrequest(method, path)
            for name, value in (headers or {}).items():
                connection.putheader(name, value)
            connection.putheader("Transfer-Encoding", "chunked")
            connection.endheaders()
            for piece in body:
                connection.send(b"%X\r\n%s\r\n" % (len(piece), piece))
            connection.send(b"0\r\n\r\n")
        else:
            connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        connection.close()


def url(**params: str) -> str:
    """A request path with ``params`` as its URL parameters."""
    return "/?" + urllib.parse.urlencode(params)
