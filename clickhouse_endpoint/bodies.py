"""Request bodies: read lazily (Content-Length or chunked), decompressed per their
Content-Encoding as they stream, and read ahead of chDB during an INSERT."""

from __future__ import annotations

import bz2
import io
import lzma
import queue
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from clickhouse_endpoint.errors import (
    CANNOT_DECOMPRESS,
    NOT_IMPLEMENTED,
    SYNTAX_ERROR,
    ClickHouseError,
    StreamAborted,
)
from clickhouse_endpoint.protocol import DECOMPRESS_LIMIT, READ_PIECE


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
