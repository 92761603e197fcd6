"""Just enough of ClickHouse's SQL lexer for the protocol layer: where an INSERT's inline
data starts, what kind a statement is, its trailing FORMAT clause, and the refusal of
multi-statements. The engine parses everything else itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from clickhouse_endpoint.errors import SYNTAX_ERROR, ClickHouseError

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
