"""The HTTP request handler: routing, request options (URL, form fields, headers),
credentials; the statement itself runs in :mod:`clickhouse_endpoint.execution`."""

from __future__ import annotations

import base64
import logging
import socket
import time
import uuid
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from clickhouse_endpoint import analyst
from clickhouse_endpoint.bodies import RequestBody, decompressed
from clickhouse_endpoint.engine import Engine, ServerStopping
from clickhouse_endpoint.errors import (
    AUTHENTICATION_FAILED,
    STD_EXCEPTION,
    ClickHouseError,
    StreamAborted,
)
from clickhouse_endpoint.execution import execute
from clickhouse_endpoint.protocol import MAX_QUERY, MAX_URL, RequestOptions, parse_multipart
from clickhouse_endpoint.responses import Response

log = logging.getLogger("shopmarts.clickhouse_endpoint")

# Options ClickHouse also takes as headers (credentials: see EndpointHandler._credentials).
HEADER_OPTIONS = {
    "X-ClickHouse-Database": "database",
    "X-ClickHouse-Format": "default_format",
    "X-ClickHouse-Query-Id": "query_id",
    "X-ClickHouse-Session-Id": "session_id",
}


class EndpointServer(ThreadingHTTPServer):
    """One thread per connection; ``engine`` is set once chDB has opened."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int]) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, EndpointHandler)
        self.engine: Engine | None = None


class EndpointHandler(BaseHTTPRequestHandler):
    """The ClickHouse HTTP interface, as far as clickhouse-connect and dbt use it."""

    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes: without TCP_NODELAY each small
    # response waits ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    server_version = "shopmarts-chdb"
    sys_version = ""
    server: EndpointServer

    def version_string(self) -> str:
        """The Server header: no Python version."""
        return self.server_version

    # -- http.server plumbing

    def handle_one_request(self) -> None:
        """As the stdlib's, with ClickHouse's longer URLs; a client that goes away
        ends the connection quietly."""
        # The stdlib caps the request line at 64 KiB; ClickHouse accepts 1 MiB URLs.
        try:
            self.raw_requestline = self.rfile.readline(MAX_URL + 1)
            if len(self.raw_requestline) > MAX_URL:
                self.requestline = self.request_version = self.command = ""
                self.send_error(414)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            method = getattr(self, "do_" + self.command, None)
            if method is None:
                self.send_error(501, f"Unsupported method ({self.command!r})")
                return
            method()
            self.wfile.flush()
        except (TimeoutError, ConnectionError, StreamAborted) as exc:
            log.debug("connection dropped: %s", exc)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Requests go to the debug log (``--verbose``), not to stderr."""
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        """A query in the URL, or a health check."""
        self._dispatch()

    def do_POST(self) -> None:
        """A query in the URL and/or the body."""
        self._dispatch()

    def do_HEAD(self) -> None:
        """As GET, headers only."""
        self._dispatch()

    # -- routing

    def _dispatch(self) -> None:
        response = Response(self)
        url = urlsplit(self.path)
        if url.path in ("/ping", "/replicas_status"):
            self._drain_body()
            response.plain(200, b"Ok.\n")
            return
        if url.path not in ("/", ""):
            self._drain_body()
            response.plain(404, f"There is no handle {url.path}\n\nUse / or /ping.\n".encode())
            return
        pairs = parse_qsl(url.query, keep_blank_values=True)
        if self.command in ("GET", "HEAD") and not any(name == "query" for name, _ in pairs):
            response.plain(200, b"Ok.\n")
            return
        engine = self.server.engine
        assert engine is not None
        try:
            with engine.request_slot():
                self._run_query(engine, pairs, response)
        except ServerStopping:
            self._drain_body()
            self.close_connection = True
            response.plain(503, b"Server is shutting down\n")

    def _run_query(self, engine: Engine, pairs: list[tuple[str, str]], response: Response) -> None:
        body = RequestBody(self.rfile, self.headers)
        options = RequestOptions()
        started = time.perf_counter()
        try:
            options.apply(self._header_options())
            options.apply(pairs)
            ctype = self.headers.get("Content-Type", "")
            pieces: Iterable[bytes] = body
            if ctype.lower().startswith("multipart/form-data"):
                options.apply(parse_multipart(body.read_all(MAX_QUERY), ctype))
                pieces = iter(())
            options.query_id = options.query_id or str(uuid.uuid4())
            self._credentials(options)
            analyst.authenticate(options, engine.analyst_password)
            stream = decompressed(pieces, self.headers.get("Content-Encoding", ""))
            execute(engine, options, body, stream, response, started)
        except (StreamAborted, ConnectionError, TimeoutError):
            raise
        except Exception as exc:
            error = ClickHouseError.from_engine(exc)
            if error.code == STD_EXCEPTION:
                log.exception("query %s failed inside the endpoint", options.query_id)
            if response.headers_sent:
                response.exception_in_stream(error, engine.version)
                return
            body.drain()
            response.error(error, engine.version, options.query_id)

    def _credentials(self, options: RequestOptions) -> None:
        """User and password as ClickHouse takes them: URL parameters, X-ClickHouse-User
        and X-ClickHouse-Key headers, or HTTP basic authentication."""
        if options.user is None and "X-ClickHouse-User" in self.headers:
            options.user = self.headers["X-ClickHouse-User"]
            options.password = self.headers.get("X-ClickHouse-Key", "")
        authorization = self.headers.get("Authorization", "")
        if options.user is None and authorization[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(authorization[6:].strip()).decode("utf-8")
            except ValueError:
                raise ClickHouseError.local(
                    AUTHENTICATION_FAILED, "Malformed basic authentication header"
                ) from None
            options.user, _, options.password = decoded.partition(":")

    def _header_options(self) -> list[tuple[str, str]]:
        return [
            (name, self.headers[header])
            for header, name in HEADER_OPTIONS.items()
            if header in self.headers
        ]

    def _drain_body(self) -> None:
        RequestBody(self.rfile, self.headers).drain()
