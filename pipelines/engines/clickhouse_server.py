"""The embedded ClickHouse endpoint: chDB served over the ClickHouse HTTP interface.

Exactly one process may own a chDB data folder, so this process owns it and every
other process (clickhouse-connect, dbt-clickhouse, Dagster run workers) talks to it
over HTTP exactly as to a real ClickHouse server::

    python -m pipelines.engines.clickhouse_server --data-dir DIR --port PORT

It prints ``ready`` once it answers, and stops cleanly on SIGTERM/SIGINT. Ownership is
an exclusive ``flock`` on ``DIR/.owner.lock`` (holding the owner's pid): a second
server exits with code 3, a taken port with code 4, each with one line on stderr.

Design, briefly:

- One thread per HTTP connection (``ThreadingHTTPServer``). chDB releases the GIL
  while it works, and queries on different chDB connections run in parallel.
- A request without ``session_id`` gets a fresh chDB connection (opening one costs
  about 0.1 ms), so nothing it does (``SET``, ``USE``) can leak into another request.
- A ``session_id`` owns one chDB connection for its lifetime; one request at a time
  (``SESSION_IS_LOCKED`` otherwise), idle sessions expire after ``session_timeout``.
- Settings sent as URL parameters apply to that query only. On a session's
  connection they are applied with ``SET`` on top of the session's own values and
  reverted lazily: the next request changes only what differs, so a client that
  sends the same settings with every query (clickhouse-connect, dbt) pays nothing
  after its first query. ``SET`` and ``USE`` statements revert the overlay first, so
  they change the session's own state, as on a real server. (A ``readonly`` setting
  cannot be reverted, so such a query runs on a fresh connection instead.)
- The user ``analyst`` (:mod:`pipelines.engines.analyst`) is authenticated by password
  (``ANALYST_PASSWORD``) and may only read: chDB has no writable user directory, so this
  layer enforces the role. Its queries run on a fresh ``readonly=2`` connection in the
  database ``marts``; only SELECT statements pass, and only after ``EXPLAIN QUERY TREE``
  (unresolved, so nothing runs) shows that every table they name is in ``marts`` (or
  ``meta.refresh_log``, ``system.settings``, ``system.one``), that they call no table
  function and no function that reads other data (``dictGet``, ``joinGet``, ``file``).
  Any other user name keeps full access, as the embedded endpoint's owner.
- ``INSERT ... FORMAT <fmt>`` streams the (decompressed) body into
  ``Connection.send_insert`` piece by piece; SELECTs in formats whose blocks
  concatenate (Native, TSV, CSV, RowBinary, JSONEachRow, ...) stream out with chunked
  transfer encoding, or through a spooled temporary file under ``wait_end_of_query``.
"""

from __future__ import annotations

import argparse
import base64
import bz2
import contextlib
import errno
import fcntl
import hmac
import io
import json
import logging
import lzma
import os
import queue
import re
import secrets
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn, Protocol
from urllib.parse import parse_qsl, urlsplit

log = logging.getLogger("shopmarts.clickhouse_server")

EXIT_OWNED = 3
EXIT_PORT_IN_USE = 4

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

# Sizes: pieces read from the socket, pieces handed to chDB, spool before disk.
READ_PIECE = 4 << 20
INSERT_PIECE = 1 << 20
PREFETCH_PIECES = 4  # body pieces read ahead of chDB during an INSERT
DECOMPRESS_LIMIT = 16 << 20
SPOOL_IN_MEMORY = 32 << 20
MAX_URL = 1 << 20  # ClickHouse's http_max_uri_size
MAX_INSERT_HEAD = 16 << 20  # the INSERT statement before its data
MAX_QUERY = 256 << 20  # a whole non-INSERT query (real servers default to 256 KiB)

SESSION_LOCK_WAIT = 2.0
DEFAULT_SESSION_TIMEOUT = 60
MAX_SESSION_TIMEOUT = 3600
SHUTDOWN_GRACE = 10.0

# ClickHouse error codes this layer raises itself.
SYNTAX_ERROR = 62
NOT_IMPLEMENTED = 48
UNKNOWN_SETTING = 115
CANNOT_DECOMPRESS = 271
SESSION_NOT_FOUND = 372
SESSION_IS_LOCKED = 373
INVALID_SESSION_TIMEOUT = 374
READONLY = 164
ACCESS_DENIED = 497
AUTHENTICATION_FAILED = 516
STD_EXCEPTION = 1001
ERROR_NAMES = {
    READONLY: "READONLY",
    ACCESS_DENIED: "ACCESS_DENIED",
    AUTHENTICATION_FAILED: "AUTHENTICATION_FAILED",
    SYNTAX_ERROR: "SYNTAX_ERROR",
    NOT_IMPLEMENTED: "NOT_IMPLEMENTED",
    UNKNOWN_SETTING: "UNKNOWN_SETTING",
    CANNOT_DECOMPRESS: "CANNOT_DECOMPRESS",
    SESSION_NOT_FOUND: "SESSION_NOT_FOUND",
    SESSION_IS_LOCKED: "SESSION_IS_LOCKED",
    INVALID_SESSION_TIMEOUT: "INVALID_SESSION_TIMEOUT",
    STD_EXCEPTION: "STD_EXCEPTION",
}

# URL parameters that belong to the HTTP protocol, never settings.
PROTOCOL_PARAMETERS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "user",
        "password",
        "quota_key",
        "query_id",
        "session_id",
        "session_timeout",
        "session_check",
        "close_session",
        "compress",
        "decompress",
        "buffer_size",
        "wait_end_of_query",
        "client_protocol_version",
        "role",
        "stacktrace",
    }
)
# Real settings that only steer the HTTP layer; applying them to chDB is useless work.
HTTP_LAYER_SETTINGS = frozenset(
    {
        "enable_http_compression",
        "http_zlib_compression_level",
        "send_progress_in_http_headers",
        "http_headers_progress_interval_ms",
        "cancel_http_readonly_queries_on_client_close",
        "add_http_cors_header",
        "http_response_buffer_size",
        "http_wait_end_of_query",
        "http_native_compression_disable_checksumming_on_decompress",
    }
)
SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Formats whose per-block output concatenates into a valid whole (checked on chDB:
# JSON, *WithNames*, Pretty, Parquet, Arrow, Values, Vertical do not).
STREAMABLE_FORMATS = frozenset(
    name.lower()
    for name in (
        "Native",
        "TabSeparated",
        "TSV",
        "TabSeparatedRaw",
        "TSVRaw",
        "Raw",
        "CSV",
        "RowBinary",
        "JSONEachRow",
        "JSONLines",
        "NDJSON",
        "JSONCompactEachRow",
        "JSONStringsEachRow",
        "JSONCompactStringsEachRow",
        "TSKV",
        "LineAsString",
    )
)
BINARY_FORMAT_PREFIXES = (
    "native",
    "rowbinary",
    "parquet",
    "arrow",
    "orc",
    "avro",
    "protobuf",
    "msgpack",
    "capnproto",
    "npy",
    "bson",
)


# --------------------------------------------------------------------------- errors


class ClickHouseError(Exception):
    """An error reported to the client as ClickHouse reports it: code and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @classmethod
    def local(cls, code: int, text: str) -> ClickHouseError:
        """An error of this layer, worded like the engine's."""
        return cls(
            code, f"Code: {code}. DB::Exception: {text}. ({ERROR_NAMES.get(code, 'UNKNOWN')})"
        )

    @classmethod
    def from_engine(cls, exc: BaseException) -> ClickHouseError:
        """Parse chDB's error text (``Code: N. DB::Exception: ... (NAME)``)."""
        if isinstance(exc, ClickHouseError):
            return exc
        text = str(exc)
        start = text.find("Code: ")
        match = re.match(r"Code: (\d+)\.", text[start:]) if start >= 0 else None
        if match is None:
            return cls.local(STD_EXCEPTION, f"{type(exc).__name__}: {text}")
        message = re.sub(r"\s*\(version [^)]*\)\s*$", "", text[start:].strip())
        return cls(int(match.group(1)), message)

    def body(self, version: str) -> bytes:
        return f"{self.message} (version {version})\n".encode()


class StreamAborted(Exception):
    """The client went away; nothing more can be said to it."""


# --------------------------------------------------------------------------- SQL scanning

_TOKEN = re.compile(
    rb"""
      (?P<ws>\s+)
    | (?P<comment>--[^\n]*(?:\n|\Z)|\#[ !][^\n]*(?:\n|\Z)|/\*.*?\*/)
    | (?P<string>'(?:[^'\\]|\\.|'')*')
    | (?P<quoted>`(?:[^`\\]|\\.|``)*`|"(?:[^"\\]|\\.|"")*")
    | (?P<heredoc>\$(?P<tag>[A-Za-z0-9_]*)\$.*?\$(?P=tag)\$)
    | (?P<open>/\*|['`"]|\$[A-Za-z0-9_]*\$)
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<number>[0-9][A-Za-z0-9_.]*)
    | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


# Tokens that may continue in the next piece of the body when they end the buffer.
_OPEN_ENDED = frozenset({"word", "number", "comment", "ws", "string", "quoted", "heredoc"})


@dataclass(frozen=True)
class Token:
    kind: str
    start: int
    end: int
    text: bytes

    @property
    def keyword(self) -> str:
        return self.text.decode("ascii").upper() if self.kind == "word" else ""

    @property
    def name(self) -> str:
        """The identifier this token spells (bare or quoted)."""
        if self.kind == "quoted":
            return self.text[1:-1].decode("utf-8", "replace")
        return self.text.decode("utf-8", "replace")


class NeedMore(Exception):
    """The buffer ends inside the part of the statement being scanned."""


def tokens(buffer: bytes, start: int = 0, final: bool = True) -> Iterator[Token]:
    """Significant tokens (no whitespace or comments). Unless ``final``, raise NeedMore
    when a token may continue past the end of ``buffer``."""
    size = len(buffer)
    for match in _TOKEN.finditer(buffer, start):
        kind = match.lastgroup or "punct"
        if not final and match.end() == size and kind in _OPEN_ENDED:
            raise NeedMore
        if kind == "open":
            if final:
                raise ClickHouseError.local(SYNTAX_ERROR, "Unterminated quoted text or comment")
            raise NeedMore
        if kind in ("ws", "comment"):
            continue
        yield Token(kind, match.start(), match.end(), match.group())
    if not final:
        raise NeedMore


@dataclass(frozen=True)
class InsertHead:
    """Where the data of ``INSERT ... FORMAT <fmt>`` (or ``VALUES``) begins."""

    statement: str  # the INSERT without FORMAT: what ``send_insert`` takes
    input_format: str
    data_start: int


def scan_insert_head(buffer: bytes, final: bool) -> InsertHead | None:
    """For an INSERT carrying inline data, find where its data starts; None when the
    statement is not such an INSERT (a SELECT, an INSERT ... SELECT, ...)."""
    stream = tokens(buffer, 0, final)
    first = next(stream, None)
    if first is None or first.keyword != "INSERT":
        return None
    token = next(stream, None)
    if token is not None and token.keyword == "INTO":
        token = next(stream, None)
    is_function = token is not None and token.keyword == "FUNCTION"
    if token is not None and token.keyword in ("TABLE", "FUNCTION"):
        token = next(stream, None)
    if token is None:
        return None
    # The target: [db.]table, or a table function call; its name may be any word.
    token = next(stream, None)
    while token is not None and token.text == b".":
        next(stream, None)
        token = next(stream, None)
    depth = 0
    if is_function and token is not None and token.text == b"(":
        depth = 1
        token = next(stream, None)
    while token is not None:
        if token.text in (b"(", b"["):
            depth += 1
        elif token.text in (b")", b"]"):
            depth -= 1
        elif depth == 0 and (token.text == b";" or token.keyword in ("SELECT", "WITH", "FROM")):
            return None  # no inline data: INSERT ... SELECT, FROM INFILE, or nothing at all
        elif depth == 0 and token.keyword == "VALUES":
            statement = buffer[: token.start].decode("utf-8").strip()
            return InsertHead(statement, "Values", token.end)
        elif depth == 0 and token.keyword == "FORMAT":
            name = next(stream, None)
            if name is None or name.kind not in ("word", "quoted"):
                return None
            return InsertHead(
                buffer[: token.start].decode("utf-8").strip(),
                name.name,
                _data_start(buffer, name.end, final),
            )
        token = next(stream, None)
    return None


def _data_start(buffer: bytes, position: int, final: bool) -> int:
    """Data starts after the newline that follows the format name, if there is one
    (ClickHouse's rule), else after the blanks."""
    size = len(buffer)
    while position < size and buffer[position] in b" \t\f":
        position += 1
    if position < size and buffer[position] == ord("\r"):
        position += 1
    if position == size and not final:
        raise NeedMore
    if position < size and buffer[position] == ord("\n"):
        position += 1
    return position


@dataclass(frozen=True)
class Statement:
    """A whole (non-streamed) statement and what the protocol layer needs to know."""

    sql: str
    keyword: str  # first keyword, upper case ("(" for a parenthesised SELECT)
    output_format: str | None  # its trailing FORMAT clause, if any

    @property
    def streamable_kind(self) -> bool:
        return self.keyword in ("SELECT", "WITH", "(")

    @property
    def produces_result(self) -> bool:
        return self.keyword in (
            "SELECT",
            "WITH",
            "(",
            "SHOW",
            "DESCRIBE",
            "DESC",
            "EXISTS",
            "EXPLAIN",
            "CHECK",
            "WATCH",
            "KILL",
        )


def analyse_statement(buffer: bytes) -> Statement:
    """First keyword, trailing FORMAT clause; multi-statements are refused as on a real
    server."""
    try:
        sql = buffer.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ClickHouseError.local(SYNTAX_ERROR, f"Query is not valid UTF-8: {exc}") from None
    scan_all = b";" in buffer or re.search(rb"(?i)\bformat\b", buffer) is not None
    stream = tokens(buffer)
    all_tokens: list[Token] = []
    first = next(stream, None)
    if first is None:
        raise ClickHouseError.local(SYNTAX_ERROR, "Empty query")
    if scan_all:
        try:
            all_tokens = [first, *stream]
        except ClickHouseError:
            all_tokens = []  # text this scanner does not know ($$ strings...): the engine judges
    keyword = "(" if first.text == b"(" else first.keyword
    output_format: str | None = None
    depth = 0
    for index, token in enumerate(all_tokens):
        if token.text in (b"(", b"["):
            depth += 1
        elif token.text in (b")", b"]"):
            depth -= 1
        elif depth == 0 and token.text == b";":
            if index + 1 < len(all_tokens):
                raise ClickHouseError.local(SYNTAX_ERROR, "Multi-statements are not allowed")
        elif depth == 0 and token.keyword == "FORMAT" and index + 1 < len(all_tokens):
            name, rest = all_tokens[index + 1], all_tokens[index + 2 :]
            if name.kind in ("word", "quoted") and (
                not rest or rest[0].text == b";" or rest[0].keyword == "SETTINGS"
            ):
                output_format = name.name
    return Statement(sql, keyword, output_format)


# --------------------------------------------------------------------------- request bodies


class RequestBody:
    """The raw request body (Content-Length or chunked), read lazily in pieces."""

    def __init__(self, rfile: io.BufferedIOBase, headers: Any) -> None:
        self._rfile = rfile
        self._chunked = "chunked" in headers.get("Transfer-Encoding", "").lower()
        self._remaining = int(headers.get("Content-Length") or 0)
        self._chunk_left = 0
        self.finished = not self._chunked and self._remaining == 0

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self.finished:
            raise StopIteration
        if not self._chunked:
            piece = self._rfile.read(min(self._remaining, READ_PIECE))
            if not piece:
                raise StreamAborted("client closed the connection inside the request body")
            self._remaining -= len(piece)
            self.finished = self._remaining == 0
            return piece
        if self._chunk_left == 0:
            line = self._rfile.readline(1024)
            if not line.endswith(b"\n"):
                raise StreamAborted("malformed chunked request body")
            self._chunk_left = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if self._chunk_left == 0:
                while self._rfile.readline(65536) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                self.finished = True
                raise StopIteration
        piece = self._rfile.read(min(self._chunk_left, READ_PIECE))
        if not piece:
            raise StreamAborted("client closed the connection inside the request body")
        self._chunk_left -= len(piece)
        if self._chunk_left == 0:
            self._rfile.readline(16)  # CRLF after the chunk
        return piece

    def read_all(self, limit: int) -> bytes:
        data = bytearray()
        for piece in self:
            data += piece
            if len(data) > limit:
                raise ClickHouseError.local(SYNTAX_ERROR, "Max query size exceeded")
        return bytes(data)

    def drain(self) -> None:
        for _ in self:
            pass


class Prefetch:
    """Reads (and decompresses) an INSERT body in a thread while chDB, which releases
    the GIL, parses the previous piece. At most ``depth`` pieces wait in between."""

    _END = object()

    def __init__(self, pieces: Iterator[bytes], body: RequestBody, depth: int) -> None:
        self._pieces = pieces
        self._body = body
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="insert-prefetch", daemon=True)
        self._thread.start()

    def _offer(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        try:
            for piece in self._pieces:
                if not self._offer(piece):
                    self._body.drain()  # the INSERT failed: skip what is left of the body
                    return
            self._offer(self._END)
        except BaseException as exc:  # handed to the request thread, raised there
            self._offer(exc)

    def __iter__(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            yield item

    def close(self) -> None:
        """Stop reading ahead; returns once the reader is done with the request body."""
        self._stop.set()
        self._thread.join()


class _Decompressor(Protocol):
    eof: bool
    unused_data: bytes

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


def _frame_decompressor(encoding: str) -> Callable[[], Any] | None:
    """Factories for Content-Encodings whose decompressors follow the bz2 interface."""
    if encoding == "lz4":
        import lz4.frame

        return lz4.frame.LZ4FrameDecompressor
    if encoding == "zstd":
        if sys.version_info >= (3, 14):
            from compression import zstd  # type: ignore[import-not-found]
        else:
            from backports import zstd
        return zstd.ZstdDecompressor
    if encoding == "xz":
        return lzma.LZMADecompressor
    if encoding in ("bz2", "bzip2"):
        return bz2.BZ2Decompressor
    return None


def decompressed(pieces: Iterable[bytes], content_encoding: str) -> Iterator[bytes]:
    """Decode a request body per its Content-Encoding, streaming, frame after frame
    (clickhouse-connect sends one lz4 frame per insert block)."""
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity", "none"):
        yield from pieces
        return
    if encoding in ("gzip", "x-gzip", "deflate"):
        yield from _zlib_decompressed(pieces, 16 + zlib.MAX_WBITS if "gzip" in encoding else 15)
        return
    factory = _frame_decompressor(encoding)
    if factory is None:
        raise ClickHouseError.local(
            NOT_IMPLEMENTED, f"Content-Encoding {content_encoding!r} is not supported"
        )
    decompressor: _Decompressor = factory()
    started = False
    try:
        for piece in pieces:
            data = piece
            while data or started:
                started = True
                out = decompressor.decompress(data, DECOMPRESS_LIMIT)
                data = b""
                if out:
                    yield out
                if decompressor.eof:
                    data, decompressor, started = decompressor.unused_data, factory(), False
                elif getattr(decompressor, "needs_input", True):
                    break
    except (OSError, RuntimeError, ValueError, EOFError) as exc:
        if isinstance(exc, ClickHouseError):
            raise
        raise ClickHouseError.local(
            CANNOT_DECOMPRESS, f"Cannot decompress {encoding}: {exc}"
        ) from None
    if started:
        raise ClickHouseError.local(CANNOT_DECOMPRESS, f"Unexpected end of {encoding} stream")


def _zlib_decompressed(pieces: Iterable[bytes], wbits: int) -> Iterator[bytes]:
    decompressor = zlib.decompressobj(wbits)
    started = False
    try:
        for piece in pieces:
            data = piece
            while data:
                started = True
                out = decompressor.decompress(data, DECOMPRESS_LIMIT)
                data = decompressor.unconsumed_tail
                if out:
                    yield out
                if decompressor.eof:
                    data, decompressor, started = (
                        decompressor.unused_data,
                        zlib.decompressobj(wbits),
                        False,
                    )
        if started:
            tail = decompressor.flush()
            if tail:
                yield tail
            if not decompressor.eof:
                raise ClickHouseError.local(
                    CANNOT_DECOMPRESS, "Unexpected end of compressed stream"
                )
    except zlib.error as exc:
        raise ClickHouseError.local(CANNOT_DECOMPRESS, f"Cannot decompress: {exc}") from None


# --------------------------------------------------------------------------- request options


@dataclass
class RequestOptions:
    """What a request asks for, from URL parameters, form fields and headers."""

    query: str = ""
    database: str | None = None
    default_format: str = "TabSeparated"
    query_id: str = ""
    session_id: str | None = None
    session_timeout: int = DEFAULT_SESSION_TIMEOUT
    session_check: bool = False
    close_session: bool = False
    wait_end_of_query: bool = False
    settings: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    password: str | None = None
    analyst: bool = False  # authenticated as the analyst: read-only, marts only

    def apply(self, pairs: Iterable[tuple[str, str]]) -> None:
        for name, value in pairs:
            if name.startswith("param_"):
                self.params[name[len("param_") :]] = value
            elif name == "query":
                self.query = value
            elif name == "database":
                self.database = value or None
            elif name == "default_format":
                self.default_format = value or "TabSeparated"
            elif name == "query_id":
                self.query_id = value
            elif name == "user":
                self.user = value
            elif name == "password":
                self.password = value
            elif name == "session_id":
                self.session_id = value or None
            elif name == "session_timeout":
                try:
                    self.session_timeout = int(value)
                except ValueError:
                    raise ClickHouseError.local(
                        INVALID_SESSION_TIMEOUT, f"Invalid session timeout: '{value}'"
                    ) from None
                if not 0 <= self.session_timeout <= MAX_SESSION_TIMEOUT:
                    raise ClickHouseError.local(
                        INVALID_SESSION_TIMEOUT,
                        f"Session timeout '{value}' is larger than max_session_timeout: "
                        f"{MAX_SESSION_TIMEOUT}. Maximum session timeout could be modified in "
                        "configuration file",
                    )
            elif name == "session_check":
                self.session_check = value in ("1", "true")
            elif name == "close_session":
                self.close_session = value in ("1", "true")
            elif name in ("wait_end_of_query", "http_wait_end_of_query"):
                self.wait_end_of_query = value in ("1", "true")
            elif name in ("compress", "decompress") and value not in ("", "0", "false"):
                raise ClickHouseError.local(
                    NOT_IMPLEMENTED, f"'{name}=1' (ClickHouse block compression) is not supported"
                )
            elif name in PROTOCOL_PARAMETERS or name in HTTP_LAYER_SETTINGS:
                continue
            else:
                if not SETTING_NAME.match(name):
                    raise ClickHouseError.local(UNKNOWN_SETTING, f"Unknown setting '{name}'")
                self.settings[name] = value


def parse_multipart(body: bytes, content_type: str) -> list[tuple[str, str]]:
    """Form fields of a multipart/form-data body (clickhouse-connect sends the query and
    long bound parameters this way). Files (external tables) are not supported."""
    message = BytesParser(policy=HTTP_POLICY).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    fields: list[tuple[str, str]] = []
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if part.get_param("filename", header="content-disposition") is not None:
            raise ClickHouseError.local(NOT_IMPLEMENTED, "External data tables are not supported")
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8") if isinstance(payload, bytes) else str(payload or "")
        fields.append((str(name), text))
    return fields


# --------------------------------------------------------------------------- the analyst

ANALYST_USER = "analyst"
ANALYST_DATABASE = "marts"
ANALYST_KEYWORDS = frozenset({"SELECT", "WITH", "("})
# Relations outside `marts` the analyst may read: the refresh log (the dashboards'
# freshness banner), and what clickhouse-connect reads when it connects.
ANALYST_EXTRA_TABLES = frozenset(
    {("meta", "refresh_log"), ("system", "settings"), ("system", "one")}
)
# Functions that read data other than their arguments; table functions are refused whole.
ANALYST_FORBIDDEN_FUNCTIONS = frozenset({"file", "hascolumnintable", "getserversetting"})
ANALYST_FORBIDDEN_PREFIXES = ("dict", "joinget")


def _segments(line: str, marker: str) -> list[str]:
    """Every value following ``marker`` on an EXPLAIN line, up to the next field. Aliases
    are printed unescaped, so every candidate is checked, never just one."""
    return [piece.split(", ")[0] for piece in line.split(marker)[1:]]


def analyst_violations(tree: str, databases: Iterable[str]) -> list[str]:
    """What an (unresolved) ``EXPLAIN QUERY TREE`` shows the analyst may not read.

    Unqualified names resolve in `marts` (the analyst's only database) or to a CTE; a
    qualified name must be in `marts` or one of ANALYST_EXTRA_TABLES when its first part
    names a database (else it is a column of a table alias). Conservative on purpose:
    anything ambiguous is refused.
    """
    known = {name.lower() for name in databases}
    problems: list[str] = []
    for raw_line in tree.splitlines():
        line = raw_line.strip()
        if "TABLE_FUNCTION" in line:
            called = _segments(line, "table_function_name: ")
            problems.append(f"table function {called[-1] if called else '?'}()")
            continue
        if line.startswith("IDENTIFIER ") or line.startswith("TABLE "):
            marker = ", identifier: " if line.startswith("IDENTIFIER ") else "table_name: "
            for name in _segments(line, marker):
                parts = name.split(".")
                if len(parts) < 2 or parts[0].lower() not in known:
                    continue
                database = parts[0]
                if database == ANALYST_DATABASE:
                    continue
                if (database, parts[1]) in ANALYST_EXTRA_TABLES:
                    continue
                problems.append(f"{database}.{parts[1]}")
        if "function_name: " in line:
            for name in _segments(line, "function_name: "):
                lowered = name.lower()
                if lowered in ANALYST_FORBIDDEN_FUNCTIONS or lowered.startswith(
                    ANALYST_FORBIDDEN_PREFIXES
                ):
                    problems.append(f"function {name}()")
    return sorted(set(problems))


def strip_output_clause(statement: Statement) -> str:
    """The statement without its trailing ``FORMAT name`` (and what follows it), so that
    EXPLAIN answers in the format this layer reads. Only a FORMAT clause that
    :func:`analyse_statement` recognised is cut (a column named `format` stays)."""
    if statement.output_format is None:
        return statement.sql
    buffer = statement.sql.encode("utf-8")
    depth = 0
    cut = None
    try:
        for token in tokens(buffer):
            if token.text in (b"(", b"["):
                depth += 1
            elif token.text in (b")", b"]"):
                depth -= 1
            elif depth == 0 and token.keyword == "FORMAT":
                cut = token.start  # the last one at the top level is the clause
    except ClickHouseError:
        return statement.sql
    return statement.sql if cut is None else buffer[:cut].decode("utf-8")


def mentions_outfile(sql: str) -> bool:
    """``INTO OUTFILE`` writes a file on this machine, even under readonly."""
    try:
        return any(token.keyword == "OUTFILE" for token in tokens(sql.encode("utf-8")))
    except ClickHouseError:
        return True  # text the scanner cannot read: refuse rather than guess


# --------------------------------------------------------------------------- engine and sessions


def quote_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


class ConnectionState:
    """One chDB connection and the per-query overlay (settings, database) applied on it.

    ``persistent`` connections belong to a session: the overlay must never change what
    the session itself has set, so it is reverted (lazily, see module docstring)."""

    def __init__(self, connection: Any, persistent: bool) -> None:
        self.connection = connection
        self.persistent = persistent
        self.baseline: dict[str, str] = {}  # setting -> SQL to restore the session's value
        self.applied: dict[str, str] = {}  # setting -> value applied for the last query
        self.baseline_database: str | None = None  # None: not yet read
        self.database_override: str | None = None

    def query(self, sql: str, fmt: str = "TabSeparated") -> Any:
        try:
            return self.connection.query(sql, fmt)
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None

    def prepare(self, settings: dict[str, str], database: str | None, keyword: str) -> None:
        """Make the connection see the session's own state plus this query's overlay."""
        if keyword in ("SET", "USE"):
            # These change the session itself: run them on its own state.
            settings, database = {}, None
        wanted_database = database
        missing = (
            [name for name in settings if name not in self.baseline] if self.persistent else []
        )
        need_database = (
            self.persistent
            and wanted_database is not None
            and self.database_override is None
            and self.baseline_database is None
        )
        if missing or need_database:
            self._snapshot(missing)
        changes = [
            f"{name} = {self.baseline.get(name, 'DEFAULT')}"
            for name in self.applied
            if name not in settings
        ]
        changes += [
            f"{name} = {quote_literal(value)}"
            for name, value in settings.items()
            if self.applied.get(name) != value
        ]
        if changes:
            try:
                self.query("SET " + ", ".join(changes))
            except ClickHouseError:
                self._revert_settings_one_by_one(set(self.applied) | set(settings))
                raise
        self.applied = dict(settings)
        self._switch_database(wanted_database)

    def finish(self, keyword: str) -> None:
        """Forget what a SET or USE statement may have changed."""
        if keyword == "SET":
            self.baseline.clear()
        elif keyword == "USE":
            self.baseline_database = None
            self.database_override = None

    def _snapshot(self, names: list[str]) -> None:
        rows = "SELECT '' AS name, currentDatabase() AS value, 0 AS changed"
        if names:
            listed = ", ".join(quote_literal(name) for name in names)
            rows = (
                f"SELECT name, value, changed FROM system.settings WHERE name IN ({listed}) "
                f"UNION ALL {rows}"
            )
        result = self.query(rows, "JSONEachRow")
        for line in bytes(result.bytes()).splitlines():
            row = json.loads(line)
            if row["name"] == "":
                if self.database_override is None:
                    self.baseline_database = row["value"]
            else:
                value = row["value"]
                # Expression values come back quoted already (e.g. 'auto(4)').
                literal = (
                    value
                    if value[:1] == "'" == value[-1:] and len(value) > 1
                    else quote_literal(value)
                )
                self.baseline[row["name"]] = literal if row["changed"] else "DEFAULT"
        for name in names:
            self.baseline.setdefault(name, "DEFAULT")

    def _revert_settings_one_by_one(self, names: set[str]) -> None:
        for name in names:
            with contextlib.suppress(ClickHouseError):
                self.query(f"SET {name} = {self.baseline.get(name, 'DEFAULT')}")
        self.applied = {}

    def _switch_database(self, wanted: str | None) -> None:
        if wanted is not None:
            if wanted == self.database_override or (
                self.database_override is None and wanted == self.baseline_database
            ):
                return
            self.query(f"USE {quote_identifier(wanted)}")
            self.database_override = wanted
        elif self.database_override is not None:
            target = self.baseline_database or "default"
            try:
                self.query(f"USE {quote_identifier(target)}")
            except ClickHouseError:  # the session's database was dropped meanwhile
                self.query("USE default")
                self.baseline_database = "default"
            self.database_override = None


@dataclass
class Session:
    session_id: str
    state: ConnectionState
    timeout: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)
    closed: bool = False


class ServerStopping(Exception):
    pass


class Engine:
    """The chDB engine of this process, its sessions and its in-flight requests."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = str(data_dir)
        # Kept open for the lifetime of the server: the engine stops with its last connection.
        # Imported here, not at module level: importing chdb boots an in-memory engine.
        import chdb

        self._connect: Callable[[str], Any] = chdb.connect
        self.primary = chdb.connect(self.path)
        version_tz = bytes(
            self.primary.query("SELECT version(), timezone()", "TabSeparated").bytes()
        )
        self.version, self.timezone = version_tz.decode().strip().split("\t")
        self.display_name = socket.gethostname()
        from pipelines.engines.analyst import analyst_password

        self.analyst_password = analyst_password()
        self.sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self.stopping = False

    def connect(self, readonly: bool = False) -> Any:
        """A new chDB connection; ``readonly``: writes, DDL and changing `readonly` refused
        for its whole life (the setting is the connection's, not the engine's)."""
        try:
            return self._connect(f"file:{self.path}?readonly=2" if readonly else self.path)
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None

    def authenticate(self, options: RequestOptions) -> None:
        """Mark the analyst's requests; a wrong analyst password is refused. Other user
        names are the endpoint owner's, as before (it listens on loopback only)."""
        if options.user != ANALYST_USER:
            return
        if not hmac.compare_digest(
            (options.password or "").encode(), self.analyst_password.encode()
        ):
            raise ClickHouseError.local(
                AUTHENTICATION_FAILED,
                f"{ANALYST_USER}: Authentication failed: password is incorrect, or there is "
                "no user with such name",
            )
        options.analyst = True

    @contextlib.contextmanager
    def request_slot(self) -> Iterator[None]:
        with self._lock:
            if self.stopping:
                raise ServerStopping
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                self._idle.notify_all()

    @contextlib.contextmanager
    def lease(self, options: RequestOptions) -> Iterator[ConnectionState]:
        """The connection a request runs on: its session's, or a fresh one."""
        # readonly cannot be reverted once set, so such queries never touch a session.
        if options.analyst or options.session_id is None or "readonly" in options.settings:
            connection = self.connect(readonly=options.analyst)
            try:
                yield ConnectionState(connection, persistent=False)
            finally:
                connection.close()
            return
        session = self._acquire_session(options)
        try:
            session.timeout = options.session_timeout
            yield session.state
        finally:
            session.last_used = time.monotonic()
            if options.close_session:
                self._close_session(session)
            session.lock.release()

    def _acquire_session(self, options: RequestOptions) -> Session:
        session_id = options.session_id
        assert session_id is not None
        deadline = time.monotonic() + SESSION_LOCK_WAIT
        while True:
            with self._lock:
                session = self.sessions.get(session_id)
                if session is None:
                    if options.session_check:
                        raise ClickHouseError.local(
                            SESSION_NOT_FOUND, f"Session {session_id} not found"
                        )
                    session = Session(
                        session_id,
                        ConnectionState(self.connect(), persistent=True),
                        options.session_timeout,
                    )
                    self.sessions[session_id] = session
            if not session.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise ClickHouseError.local(
                    SESSION_IS_LOCKED, f"Session {session_id} is locked by a concurrent client"
                )
            if not session.closed:
                return session
            session.lock.release()  # expired while we waited: take a new one

    def _close_session(self, session: Session) -> None:
        with self._lock:
            if self.sessions.get(session.session_id) is session:
                del self.sessions[session.session_id]
        session.closed = True
        with contextlib.suppress(Exception):
            session.state.connection.close()

    def expire_sessions(self) -> None:
        now = time.monotonic()
        with self._lock:
            candidates = [s for s in self.sessions.values() if now - s.last_used > s.timeout]
        for session in candidates:
            if session.lock.acquire(blocking=False):
                try:
                    if time.monotonic() - session.last_used > session.timeout:
                        self._close_session(session)
                finally:
                    session.lock.release()

    def stop(self, grace: float) -> bool:
        """Refuse new requests, wait for running ones, close every connection.
        False when requests were still running after ``grace`` seconds."""
        deadline = time.monotonic() + grace
        with self._lock:
            self.stopping = True
            while self._in_flight and time.monotonic() < deadline:
                self._idle.wait(timeout=max(0.0, deadline - time.monotonic()))
            busy = self._in_flight > 0
        if busy:
            return False
        for session in list(self.sessions.values()):
            self._close_session(session)
        self.primary.close()
        return True


# --------------------------------------------------------------------------- responses


def content_type(fmt: str) -> str:
    lower = fmt.lower()
    if lower.startswith(BINARY_FORMAT_PREFIXES):
        return "application/octet-stream"
    if lower.startswith(("tabseparated", "tsv")):
        return "text/tab-separated-values; charset=UTF-8"
    if lower.startswith("csv"):
        header = "present" if "withnames" in lower else "absent"
        return f"text/csv; charset=UTF-8; header={header}"
    if lower.startswith(("json", "ndjson")):
        return "application/json; charset=UTF-8"
    if lower == "xml":
        return "application/xml; charset=UTF-8"
    return "text/plain; charset=UTF-8"


@dataclass
class Summary:
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


def _payload(result: Any) -> memoryview:
    """A chDB result's bytes without copying them."""
    view: memoryview = result.get_memview().view()
    return view


# --------------------------------------------------------------------------- HTTP handler


class EndpointServer(ThreadingHTTPServer):
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
    _raw_stream = False
    _exception_tag = ""

    def version_string(self) -> str:
        return self.server_version

    # -- http.server plumbing

    def handle_one_request(self) -> None:
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
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    # -- routing

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        if url.path in ("/ping", "/replicas_status"):
            self._drain_body()
            self._respond_plain(200, b"Ok.\n")
            return
        if url.path not in ("/", ""):
            self._drain_body()
            self._respond_plain(404, f"There is no handle {url.path}\n\nUse / or /ping.\n".encode())
            return
        pairs = parse_qsl(url.query, keep_blank_values=True)
        if self.command in ("GET", "HEAD") and not any(name == "query" for name, _ in pairs):
            self._respond_plain(200, b"Ok.\n")
            return
        engine = self.server.engine
        assert engine is not None
        try:
            with engine.request_slot():
                self._run_query(engine, pairs)
        except ServerStopping:
            self._drain_body()
            self.close_connection = True
            self._respond_plain(503, b"Server is shutting down\n")

    # -- queries

    def _run_query(self, engine: Engine, pairs: list[tuple[str, str]]) -> None:
        body = RequestBody(self.rfile, self.headers)
        options = RequestOptions()
        started = time.perf_counter()
        headers_sent = False

        def mark_sent() -> None:
            nonlocal headers_sent
            headers_sent = True

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
            engine.authenticate(options)
            stream = decompressed(pieces, self.headers.get("Content-Encoding", ""))
            self._execute(engine, options, body, stream, started, mark_sent)
        except (StreamAborted, ConnectionError, TimeoutError):
            raise
        except Exception as exc:
            error = ClickHouseError.from_engine(exc)
            if error.code == STD_EXCEPTION:
                log.exception("query %s failed inside the endpoint", options.query_id)
            if headers_sent:
                self._write_exception_in_stream(error, engine.version)
                return
            body.drain()
            self._respond_error(error, engine.version, options.query_id)

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
        """ClickHouse also takes a few options as headers (auth: see _credentials)."""
        mapping = {
            "X-ClickHouse-Database": "database",
            "X-ClickHouse-Format": "default_format",
            "X-ClickHouse-Query-Id": "query_id",
            "X-ClickHouse-Session-Id": "session_id",
        }
        return [
            (name, self.headers[header])
            for header, name in mapping.items()
            if header in self.headers
        ]

    def _execute(
        self,
        engine: Engine,
        options: RequestOptions,
        body: RequestBody,
        stream: Iterator[bytes],
        started: float,
        mark_sent: Callable[[], None],
    ) -> None:
        buffer = bytearray(options.query.encode("utf-8"))
        if buffer:
            buffer += b"\n"
        finished = False
        head: InsertHead | None = None
        while True:
            try:
                head = scan_insert_head(bytes(buffer), final=finished)
                break
            except NeedMore:
                piece = next(stream, None)
                if piece is None:
                    finished = True
                else:
                    buffer += piece
                if len(buffer) > MAX_INSERT_HEAD:
                    raise ClickHouseError.local(SYNTAX_ERROR, "Max query size exceeded") from None
        if head is not None and options.analyst:
            raise ClickHouseError.local(
                READONLY, f"{ANALYST_USER}: Cannot execute query in readonly mode (INSERT)"
            )
        if head is not None:
            data_prefix = bytes(buffer[head.data_start :])
            with engine.lease(options) as state:
                state.prepare(options.settings, options.database, "INSERT")
                summary = self._insert(state, head, data_prefix, stream, body)
            summary.elapsed = time.perf_counter() - started
            self._respond_empty(engine, options, summary)
            return
        for piece in stream:
            buffer += piece
            if len(buffer) > MAX_QUERY:
                raise ClickHouseError.local(SYNTAX_ERROR, "Max query size exceeded")
        statement = analyse_statement(bytes(buffer))
        fmt = statement.output_format or options.default_format
        if options.analyst:
            self._admit_analyst(statement, options)
        with engine.lease(options) as state:
            state.prepare(options.settings, options.database, statement.keyword)
            if options.analyst:
                self._check_analyst_reads(state, statement, options)
            try:
                if (
                    statement.produces_result
                    and statement.streamable_kind
                    and fmt.lower() in STREAMABLE_FORMATS
                ):
                    try:
                        self._stream_result(
                            engine, state, statement, fmt, options, started, mark_sent
                        )
                        return
                    except ClickHouseError as error:
                        # chDB streams plain SELECTs only; anything else runs whole.
                        if "Streaming query is not supported" not in error.message:
                            raise
                result = self._query(state, statement.sql, fmt, options.params)
            finally:
                state.finish(statement.keyword)
        summary = Summary(elapsed=time.perf_counter() - started)
        summary.add_result(result)
        payload = _payload(result)
        headers = self._common_headers(engine, options, summary)
        if statement.produces_result:
            headers += [("Content-Type", content_type(fmt)), ("X-ClickHouse-Format", fmt)]
        else:
            headers.append(("Content-Type", "text/plain; charset=UTF-8"))
        self._send_head(200, headers, length=len(payload))
        if self.command != "HEAD":
            self.wfile.write(payload)

    @staticmethod
    def _admit_analyst(statement: Statement, options: RequestOptions) -> None:
        """What the analyst may send at all: one SELECT, in `marts`, writing no file."""
        if statement.keyword not in ANALYST_KEYWORDS:
            raise ClickHouseError.local(
                READONLY,
                f"{ANALYST_USER}: Cannot execute query in readonly mode "
                f"({statement.keyword or 'statement'}); only SELECT is allowed",
            )
        if mentions_outfile(statement.sql):
            raise ClickHouseError.local(
                ACCESS_DENIED, f"{ANALYST_USER}: Not enough privileges (INTO OUTFILE)"
            )
        if options.database not in (None, ANALYST_DATABASE):
            raise ClickHouseError.local(
                ACCESS_DENIED,
                f"{ANALYST_USER}: Not enough privileges to use database {options.database}; "
                f"the analyst reads `{ANALYST_DATABASE}` only",
            )
        options.database = ANALYST_DATABASE
        options.session_id = None  # sessions hold read-write connections

    @staticmethod
    def _check_analyst_reads(
        state: ConnectionState, statement: Statement, options: RequestOptions
    ) -> None:
        """Refuse unless every table the query names is the analyst's to read."""
        explain = "EXPLAIN QUERY TREE run_passes = 0 " + strip_output_clause(statement)
        try:
            tree = state.connection.query(explain, "TabSeparatedRaw", params=options.params or None)
            databases = state.connection.query(
                "SELECT name FROM system.databases", "TabSeparatedRaw"
            )
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None
        names = bytes(databases.bytes()).decode().split()
        problems = analyst_violations(bytes(tree.bytes()).decode("utf-8", "replace"), names)
        if problems:
            raise ClickHouseError.local(
                ACCESS_DENIED,
                f"{ANALYST_USER}: Not enough privileges: the analyst may read `"
                f"{ANALYST_DATABASE}` only, not {', '.join(problems)}",
            )

    @staticmethod
    def _query(state: ConnectionState, sql: str, fmt: str, params: dict[str, str]) -> Any:
        try:
            return state.connection.query(sql, fmt, params=params or None)
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None

    def _insert(
        self,
        state: ConnectionState,
        head: InsertHead,
        prefix: bytes,
        stream: Iterator[bytes],
        body: RequestBody,
    ) -> Summary:
        try:
            inserter = state.connection.send_insert(head.statement, head.input_format)
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None
        pending = bytearray(prefix)
        prefetch = Prefetch(stream, body, PREFETCH_PIECES)
        try:
            for piece in prefetch:
                if not pending and len(piece) >= INSERT_PIECE:
                    inserter.append(piece)
                    continue
                pending += piece
                if len(pending) >= INSERT_PIECE:
                    inserter.append(bytes(pending))
                    pending.clear()
            if pending:
                inserter.append(bytes(pending))
            result = inserter.finish()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                inserter.cancel()
            if isinstance(exc, ClickHouseError | StreamAborted | ConnectionError):
                raise
            if isinstance(exc, Exception):
                raise ClickHouseError.from_engine(exc) from None
            raise
        finally:
            prefetch.close()
        return Summary(
            read_rows=result.rows_written,
            read_bytes=result.bytes_written,
            written_rows=result.rows_written,
            written_bytes=result.bytes_written,
        )

    def _stream_result(
        self,
        engine: Engine,
        state: ConnectionState,
        statement: Statement,
        fmt: str,
        options: RequestOptions,
        started: float,
        mark_sent: Callable[[], None],
    ) -> None:
        try:
            chunks = state.connection.send_query(statement.sql, fmt, params=options.params or None)
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None
        summary = Summary()
        try:
            # The first chunk comes before the headers, so early errors get a proper 500.
            first = self._next_chunk(chunks)
            if options.wait_end_of_query:
                self._send_spooled(engine, options, fmt, chunks, first, summary, started)
                return
            summary.elapsed = time.perf_counter() - started
            tag = secrets.token_hex(8)
            headers = self._common_headers(engine, options, summary)
            headers += [
                ("Content-Type", content_type(fmt)),
                ("X-ClickHouse-Format", fmt),
                ("X-ClickHouse-Exception-Tag", tag),
            ]
            self._exception_tag = tag
            self._send_head(200, headers, chunked=True)
            mark_sent()
            chunk = first
            while chunk is not None:
                if self.command != "HEAD":
                    self._write_chunk(_payload(chunk))
                chunk = self._next_chunk(chunks)
            self._end_chunks()
        finally:
            with contextlib.suppress(Exception):
                chunks.cancel()

    @staticmethod
    def _next_chunk(chunks: Any) -> Any:
        try:
            return chunks.fetch()
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None

    def _send_spooled(
        self,
        engine: Engine,
        options: RequestOptions,
        fmt: str,
        chunks: Any,
        first: Any,
        summary: Summary,
        started: float,
    ) -> None:
        """wait_end_of_query: the whole result first (spilling to disk), then the response,
        so that an error anywhere still gets an HTTP 500."""
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            chunk = first
            while chunk is not None:
                summary.add_result(chunk)
                spool.write(_payload(chunk))
                chunk = self._next_chunk(chunks)
            size = spool.tell()
            spool.seek(0)
            summary.elapsed = time.perf_counter() - started
            headers = self._common_headers(engine, options, summary)
            headers += [("Content-Type", content_type(fmt)), ("X-ClickHouse-Format", fmt)]
            self._send_head(200, headers, length=size)
            if self.command == "HEAD":
                return
            while piece := spool.read(READ_PIECE):
                self.wfile.write(piece)

    # -- response helpers

    def _common_headers(
        self, engine: Engine, options: RequestOptions, summary: Summary
    ) -> list[tuple[str, str]]:
        return [
            ("X-ClickHouse-Query-Id", options.query_id),
            ("X-ClickHouse-Timezone", options.settings.get("session_timezone") or engine.timezone),
            ("X-ClickHouse-Server-Display-Name", engine.display_name),
            ("X-ClickHouse-Summary", summary.header()),
        ]

    def _send_head(
        self,
        status: int,
        headers: list[tuple[str, str]],
        *,
        length: int | None = None,
        chunked: bool = False,
    ) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self._raw_stream = chunked and self.request_version != "HTTP/1.1"
        if self._raw_stream:
            # HTTP/1.0 has no chunked encoding: the body ends when the connection closes.
            self.close_connection = True
        elif chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length or 0))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _respond_plain(self, status: int, text: bytes) -> None:
        self._send_head(status, [("Content-Type", "text/plain; charset=UTF-8")], length=len(text))
        if self.command != "HEAD":
            self.wfile.write(text)

    def _respond_empty(self, engine: Engine, options: RequestOptions, summary: Summary) -> None:
        headers = self._common_headers(engine, options, summary)
        headers.append(("Content-Type", "text/plain; charset=UTF-8"))
        self._send_head(200, headers, length=0)

    def _respond_error(self, error: ClickHouseError, version: str, query_id: str) -> None:
        text = error.body(version)
        headers = [
            ("Content-Type", "text/plain; charset=UTF-8"),
            ("X-ClickHouse-Exception-Code", str(error.code)),
        ]
        if query_id:
            headers.append(("X-ClickHouse-Query-Id", query_id))
        self._send_head(500, headers, length=len(text))
        if self.command != "HEAD":
            self.wfile.write(text)

    def _write_chunk(self, data: bytes | memoryview) -> None:
        size = len(data)
        if not size:
            return
        if self._raw_stream:
            self.wfile.write(data)
        elif size < 65536:
            self.wfile.write(b"%X\r\n%s\r\n" % (size, bytes(data)))
        else:
            self.wfile.write(b"%X\r\n" % size)
            self.wfile.write(data)
            self.wfile.write(b"\r\n")

    def _end_chunks(self) -> None:
        if not self._raw_stream:
            self.wfile.write(b"0\r\n\r\n")

    def _write_exception_in_stream(self, error: ClickHouseError, version: str) -> None:
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
            self._end_chunks()
        except OSError:
            pass
        self.close_connection = True

    def _drain_body(self) -> None:
        RequestBody(self.rfile, self.headers).drain()


# --------------------------------------------------------------------------- process


class DataDirOwned(Exception):
    pass


def claim_data_dir(data_dir: Path) -> int:
    """Take the data folder's owner lock (exclusive, non-blocking) and record our pid.
    Returns the lock's file descriptor, held for the life of the process."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lock_path = data_dir / ".owner.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise DataDirOwned(owner) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def release_data_dir(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
    os.close(fd)


def _fail(message: str, code: int) -> NoReturn:
    print(f"shopmarts: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


def serve(data_dir: Path, port: int, host: str = "127.0.0.1") -> None:
    """Own ``data_dir`` with chDB and serve it on the ClickHouse HTTP interface until
    SIGTERM/SIGINT. Prints ``ready`` on stdout once it answers queries.

    Exits (SystemExit) with 3 when another live process owns the folder, 4 when the
    port is taken, 2 for a host that is not loopback."""
    if host not in LOOPBACK_HOSTS and not host.startswith("127."):
        _fail(f"the ClickHouse endpoint listens on loopback only, not on {host}", 2)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        # First thing: a SIGTERM while chDB starts up still ends in a clean stop.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    data_dir = data_dir.resolve()
    try:
        lock_fd = claim_data_dir(data_dir)
    except DataDirOwned as owned:
        _fail(f"ClickHouse data folder {data_dir} is owned by running process {owned}", EXIT_OWNED)
    try:
        try:
            server = EndpointServer((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                _fail(f"port {port} on {host} is already in use", EXIT_PORT_IN_USE)
            _fail(f"cannot listen on {host}:{port}: {exc.strerror}", 1)
        try:
            engine = Engine(data_dir)
        except Exception as exc:
            server.server_close()
            _fail(f"cannot open chDB in {data_dir}: {ClickHouseError.from_engine(exc).message}", 1)
        server.engine = engine
        _serve_until(server, engine, stop)
    finally:
        release_data_dir(lock_fd)


def _serve_until(server: EndpointServer, engine: Engine, stop: threading.Event) -> None:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    thread.daemon = True
    thread.start()
    if not stop.is_set():
        log.info(
            "chDB %s serving %s on http://%s:%d/",
            engine.version,
            engine.path,
            *server.server_address[:2],
        )
        print("ready", flush=True)
    while not stop.wait(1.0):
        engine.expire_sessions()
    log.info("stopping")
    server.shutdown()
    server.server_close()
    if not engine.stop(SHUTDOWN_GRACE):
        log.warning(
            "requests still running after %.0f s; exiting without closing chDB", SHUTDOWN_GRACE
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    log.info("stopped")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.engines.clickhouse_server",
        description="Serve a chDB data folder on the ClickHouse HTTP interface (loopback only).",
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="chDB data folder to own")
    parser.add_argument("--port", type=int, required=True, help="HTTP port")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    serve(args.data_dir, args.port, args.host)


if __name__ == "__main__":
    main()
