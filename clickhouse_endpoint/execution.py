"""Running one request's statement on chDB: an INSERT fed from the body as it arrives, a
SELECT streamed out in chunks (or spooled under ``wait_end_of_query``), anything else run
whole. The analyst's policy is asked before anything runs."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from clickhouse_endpoint import analyst
from clickhouse_endpoint.bodies import Prefetch, RequestBody
from clickhouse_endpoint.engine import Engine
from clickhouse_endpoint.errors import SYNTAX_ERROR, ClickHouseError, StreamAborted
from clickhouse_endpoint.protocol import (
    INSERT_PIECE,
    MAX_INSERT_HEAD,
    MAX_QUERY,
    PREFETCH_PIECES,
    READ_PIECE,
    SPOOL_IN_MEMORY,
    STREAMABLE_FORMATS,
    RequestOptions,
    content_type,
)
from clickhouse_endpoint.responses import Response, Summary, payload
from clickhouse_endpoint.sessions import ConnectionState
from clickhouse_endpoint.statements import (
    InsertHead,
    NeedMore,
    Statement,
    analyse_statement,
    scan_insert_head,
)


def execute(
    engine: Engine,
    options: RequestOptions,
    body: RequestBody,
    stream: Iterator[bytes],
    response: Response,
    started: float,
) -> None:
    """Run the statement of the URL's ``query`` and the (decompressed) body ``stream``,
    and answer it on ``response``."""
    buffer = bytearray(options.query.encode("utf-8"))
    if buffer:
        buffer += b"\n"  # URL query and body are one statement, joined by a newline
    head = _read_insert_head(buffer, stream)
    if head is not None:
        analyst.refuse_insert(options)
        data_prefix = bytes(buffer[head.data_start :])
        with engine.lease(options) as state:
            state.prepare(options.settings, options.database, "INSERT")
            summary = _insert(state, head, data_prefix, stream, body)
        summary.elapsed = time.perf_counter() - started
        response.empty(engine, options, summary)
        return
    for piece in stream:
        buffer += piece
        if len(buffer) > MAX_QUERY:
            raise ClickHouseError.local(SYNTAX_ERROR, "Max query size exceeded")
    statement = analyse_statement(bytes(buffer))
    _run_statement(engine, options, statement, response, started)


def _read_insert_head(buffer: bytearray, stream: Iterator[bytes]) -> InsertHead | None:
    """Read from ``stream`` into ``buffer`` until it is known whether the statement is an
    INSERT with inline data, and where that data starts."""
    finished = False
    while True:
        try:
            return scan_insert_head(bytes(buffer), final=finished)
        except NeedMore:
            piece = next(stream, None)
            if piece is None:
                finished = True
            else:
                buffer += piece
            if len(buffer) > MAX_INSERT_HEAD:
                raise ClickHouseError.local(SYNTAX_ERROR, "Max query size exceeded") from None


def _run_statement(
    engine: Engine,
    options: RequestOptions,
    statement: Statement,
    response: Response,
    started: float,
) -> None:
    fmt = statement.output_format or options.default_format
    if options.analyst:
        analyst.admit(statement, options)
    with engine.lease(options) as state:
        state.prepare(options.settings, options.database, statement.keyword)
        if options.analyst:
            analyst.check_reads(state, statement, options)
        try:
            if (
                statement.produces_result
                and statement.streamable_kind
                and fmt.lower() in STREAMABLE_FORMATS
            ):
                try:
                    _stream_result(engine, state, statement, fmt, options, response, started)
                    return
                except ClickHouseError as error:
                    # chDB streams plain SELECTs only; anything else runs whole.
                    if "Streaming query is not supported" not in error.message:
                        raise
            result = _query(state, statement.sql, fmt, options.params)
        finally:
            state.finish(statement.keyword)
    summary = Summary(elapsed=time.perf_counter() - started)
    summary.add_result(result)
    data = payload(result)
    headers = response.common_headers(engine, options, summary)
    if statement.produces_result:
        headers += [("Content-Type", content_type(fmt)), ("X-ClickHouse-Format", fmt)]
    else:
        headers.append(("Content-Type", "text/plain; charset=UTF-8"))
    response.send_head(200, headers, length=len(data))
    response.write(data)


def _query(state: ConnectionState, sql: str, fmt: str, params: dict[str, str]) -> Any:
    try:
        return state.connection.query(sql, fmt, params=params or None)
    except Exception as exc:
        raise ClickHouseError.from_engine(exc) from None


def _insert(
    state: ConnectionState,
    head: InsertHead,
    prefix: bytes,
    stream: Iterator[bytes],
    body: RequestBody,
) -> Summary:
    """Feed the body to ``send_insert`` in pieces of about INSERT_PIECE bytes, read ahead
    by a thread while chDB parses."""
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
    engine: Engine,
    state: ConnectionState,
    statement: Statement,
    fmt: str,
    options: RequestOptions,
    response: Response,
    started: float,
) -> None:
    try:
        chunks = state.connection.send_query(statement.sql, fmt, params=options.params or None)
    except Exception as exc:
        raise ClickHouseError.from_engine(exc) from None
    summary = Summary()
    try:
        # The first chunk comes before the headers, so early errors get a proper 500.
        first = _next_chunk(chunks)
        if options.wait_end_of_query:
            _send_spooled(engine, options, fmt, chunks, first, summary, response, started)
            return
        summary.elapsed = time.perf_counter() - started
        response.start_stream(response.common_headers(engine, options, summary), fmt)
        chunk = first
        while chunk is not None:
            response.write_chunk(payload(chunk))
            chunk = _next_chunk(chunks)
        response.end_stream()
    finally:
        with contextlib.suppress(Exception):
            chunks.cancel()


def _next_chunk(chunks: Any) -> Any:
    try:
        return chunks.fetch()
    except Exception as exc:
        raise ClickHouseError.from_engine(exc) from None


def _send_spooled(
    engine: Engine,
    options: RequestOptions,
    fmt: str,
    chunks: Any,
    first: Any,
    summary: Summary,
    response: Response,
    started: float,
) -> None:
    """wait_end_of_query: the whole result first (spilling to disk), then the response,
    so that an error anywhere still gets an HTTP 500."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        chunk = first
        while chunk is not None:
            summary.add_result(chunk)
            spool.write(payload(chunk))
            chunk = _next_chunk(chunks)
        size = spool.tell()
        spool.seek(0)
        summary.elapsed = time.perf_counter() - started
        headers = response.common_headers(engine, options, summary)
        headers += [("Content-Type", content_type(fmt)), ("X-ClickHouse-Format", fmt)]
        response.send_head(200, headers, length=size)
        if response.head_only:
            return
        while piece := spool.read(READ_PIECE):
            response.write(piece)
