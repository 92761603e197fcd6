"""What goes back on the wire: the status line and ClickHouse's headers, whole bodies,
chunked result streams, and an error inside a stream already under way."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from clickhouse_endpoint.engine import Engine
from clickhouse_endpoint.errors import ClickHouseError
from clickhouse_endpoint.protocol import RequestOptions, content_type


@dataclass
class Summary:
    """The X-ClickHouse-Summary of one query: rows and bytes read, written and returned."""

    read_rows: int = 0
    read_bytes: int = 0
    written_rows: int = 0
    written_bytes: int = 0
    result_rows: int = 0
    result_bytes: int = 0
    elapsed: float = 0.0

    def add_result(self, result: Any) -> None:
        """Add one chDB result (or streamed chunk) to the totals."""
        self.read_rows += result.storage_rows_read()
        self.read_bytes += result.storage_bytes_read()
        self.written_rows += result.rows_written()
        self.written_bytes += result.bytes_written()
        self.result_rows += result.rows_read()
        self.result_bytes += result.bytes_read()

    def header(self) -> str:
        """The header's value: JSON with every figure as a string, as ClickHouse sends it."""
        return json.dumps(
            {
                "read_rows": str(self.read_rows),
                "read_bytes": str(self.read_bytes),
                "written_rows": str(self.written_rows),
                "written_bytes": str(self.written_bytes),
                "total_rows_to_read": str(self.read_rows),
                "result_rows": str(self.result_rows),
                "result_bytes": str(self.result_bytes),
                "elapsed_ns": str(int(self.elapsed * 1e9)),
            },
            separators=(",", ":"),
        )


def payload(result: Any) -> memoryview:
    """A chDB result's bytes without copying them."""
    view: memoryview = result.get_memview().view()
    return view


class Response:
    """The response to one request, written on the handler's connection.

    A HEAD request gets the same headers and no body. Once a chunked stream has started
    (``headers_sent``), an error can only be written into the body."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self._handler = handler
        self.head_only = handler.command == "HEAD"
        self.headers_sent = False  # a chunked stream is under way
        self._raw_stream = False
        self._exception_tag = ""

    def common_headers(
        self, engine: Engine, options: RequestOptions, summary: Summary
    ) -> list[tuple[str, str]]:
        """The headers every query's answer carries."""
        return [
            ("X-ClickHouse-Query-Id", options.query_id),
            ("X-ClickHouse-Timezone", options.settings.get("session_timezone") or engine.timezone),
            ("X-ClickHouse-Server-Display-Name", engine.display_name),
            ("X-ClickHouse-Summary", summary.header()),
        ]

    def send_head(
        self,
        status: int,
        headers: list[tuple[str, str]],
        *,
        length: int | None = None,
        chunked: bool = False,
    ) -> None:
        """Status line and headers; the body follows with ``length`` bytes, or chunked."""
        handler = self._handler
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        self._raw_stream = chunked and handler.request_version != "HTTP/1.1"
        if self._raw_stream:
            # HTTP/1.0 has no chunked encoding: the body ends when the connection closes.
            handler.close_connection = True
        elif chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Content-Length", str(length or 0))
        if handler.close_connection:
            handler.send_header("Connection", "close")
        handler.end_headers()

    def write(self, data: bytes | memoryview) -> None:
        """Body bytes after :meth:`send_head` with a length (none for HEAD)."""
        if not self.head_only:
            self._handler.wfile.write(data)

    def plain(self, status: int, text: bytes) -> None:
        """A whole plain-text answer (ping, 404, shutting down)."""
        self.send_head(status, [("Content-Type", "text/plain; charset=UTF-8")], length=len(text))
        self.write(text)

    def empty(self, engine: Engine, options: RequestOptions, summary: Summary) -> None:
        """The answer to a statement without a result (an INSERT): headers only."""
        headers = self.common_headers(engine, options, summary)
        headers.append(("Content-Type", "text/plain; charset=UTF-8"))
        self.send_head(200, headers, length=0)

    def error(self, error: ClickHouseError, version: str, query_id: str) -> None:
        """An HTTP 500 carrying the error's code and text."""
        text = error.body(version)
        headers = [
            ("Content-Type", "text/plain; charset=UTF-8"),
            ("X-ClickHouse-Exception-Code", str(error.code)),
        ]
        if query_id:
            headers.append(("X-ClickHouse-Query-Id", query_id))
        self.send_head(500, headers, length=len(text))
        self.write(text)

    def start_stream(self, headers: list[tuple[str, str]], fmt: str) -> None:
        """Headers of a streamed result; its exception tag goes with them."""
        tag = secrets.token_hex(8)
        headers = [
            *headers,
            ("Content-Type", content_type(fmt)),
            ("X-ClickHouse-Format", fmt),
            ("X-ClickHouse-Exception-Tag", tag),
        ]
        self._exception_tag = tag
        self.send_head(200, headers, chunked=True)
        self.headers_sent = True

    def write_chunk(self, data: bytes | memoryview) -> None:
        """One piece of a streamed body (none for HEAD, nothing for no bytes)."""
        size = len(data)
        if not size or self.head_only:
            return
        self._write_chunk(data)

    def _write_chunk(self, data: bytes | memoryview) -> None:
        wfile = self._handler.wfile
        size = len(data)
        if not size:
            return
        if self._raw_stream:
            wfile.write(data)
        elif size < 65536:
            wfile.write(b"%X\r\n%s\r\n" % (size, bytes(data)))
        else:
            wfile.write(b"%X\r\n" % size)
            wfile.write(data)
            wfile.write(b"\r\n")

    def end_stream(self) -> None:
        """The end of a streamed body."""
        if not self._raw_stream:
            self._handler.wfile.write(b"0\r\n\r\n")

    def exception_in_stream(self, error: ClickHouseError, version: str) -> None:
        """After the headers went out, an error can only be written into the body, in
        the tagged block clickhouse-connect (and ClickHouse >= 25.11) understand."""
        tag = self._exception_tag
        message = error.body(version)
        block = b"__exception__\r\n%s\r\n%s%d %s\r\n__exception__\r\n" % (
            tag.encode(),
            message,
            len(message),
            tag.encode(),
        )
        try:
            self._write_chunk(block)
            self.end_stream()
        except OSError:
            pass
        self._handler.close_connection = True
