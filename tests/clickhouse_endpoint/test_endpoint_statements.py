"""The statement scanner (:mod:`clickhouse_endpoint.statements`), no server needed: where
an INSERT's data starts, statement kinds and FORMAT clauses."""

from __future__ import annotations

import pytest

from clickhouse_endpoint.errors import SYNTAX_ERROR, ClickHouseError
from clickhouse_endpoint.statements import (
    NeedMore,
    analyse_statement,
    mentions_outfile,
    scan_insert_head,
    strip_output_clause,
    tokens,
)

pytestmark = pytest.mark.fast

INSERT_HEADS = [
    # (request start, statement for send_insert, input format, data that follows)
    (
        b"INSERT INTO t (a, b) FORMAT Native\n\x01\x02",
        "INSERT INTO t (a, b)",
        "Native",
        b"\x01\x02",
    ),
    (b"insert into format format CSV 1,2\n", "insert into format", "CSV", b"1,2\n"),
    (
        b"/* dbt */ INSERT INTO db.`t 1` VALUES (1, 'x')",
        "/* dbt */ INSERT INTO db.`t 1`",
        "Values",
        b" (1, 'x')",
    ),
    (
        b"INSERT INTO t SETTINGS s = 'FORMAT x' FORMAT TSV\r\n1",
        "INSERT INTO t SETTINGS s = 'FORMAT x'",
        "TSV",
        b"1",
    ),
    (
        b"INSERT INTO FUNCTION file('a.csv', 'CSV', 'format String') FORMAT CSV\nz",
        "INSERT INTO FUNCTION file('a.csv', 'CSV', 'format String')",
        "CSV",
        b"z",
    ),
]


@pytest.mark.parametrize(("head", "statement", "input_format", "data"), INSERT_HEADS)
def test_the_insert_head_is_found_before_its_data(
    head: bytes, statement: str, input_format: str, data: bytes
) -> None:
    found = scan_insert_head(head, final=True)
    assert found is not None
    assert (found.statement, found.input_format) == (statement, input_format)
    assert head[found.data_start :] == data


def test_statements_without_inline_data_and_partial_heads() -> None:
    assert scan_insert_head(b"INSERT INTO t SELECT * FROM s FORMAT Native", final=True) is None
    assert scan_insert_head(b"SELECT 1 FORMAT Native", final=True) is None
    with pytest.raises(NeedMore):  # the body may still hold the rest of the statement
        scan_insert_head(b"INSERT INTO t FORMAT Nat", final=False)
    with pytest.raises(NeedMore):
        scan_insert_head(b"INSERT INTO t SETTINGS x = 'a", final=False)
    select = analyse_statement(b"SELECT format, 'FORMAT JSON' FROM t FORMAT JSONEachRow;")
    assert (select.keyword, select.output_format) == ("SELECT", "JSONEachRow")
    assert analyse_statement(b"-- hi\n(SELECT 1)").keyword == "("
    assert analyse_statement(b"SELECT format FROM t").output_format is None
    quoted = analyse_statement(b"ALTER TABLE t MODIFY COMMENT $c$a; b's FORMAT JSON$c$")
    assert (quoted.keyword, quoted.output_format) == ("ALTER", None)


def significant(sql: bytes) -> list[tuple[str, bytes]]:
    return [(token.kind, token.text) for token in tokens(sql)]


def test_the_tokenizer_skips_blanks_and_comments_and_keeps_quoted_text_whole() -> None:
    sql = (
        b"SELECT /* a; 'b */ 'it''s; -- x', `db``1`.\"t\" -- tail ;\n# also a comment\n$q$;$q$ 1e5;"
    )
    assert significant(sql) == [
        ("word", b"SELECT"),
        ("string", b"'it''s; -- x'"),
        ("punct", b","),
        ("quoted", b"`db``1`"),
        ("punct", b"."),
        ("quoted", b'"t"'),
        ("heredoc", b"$q$;$q$"),
        ("number", b"1e5"),
        ("punct", b";"),
    ]
    word, quoted = next(tokens(b"format")), list(tokens(b"`my table`"))[0]
    assert (word.keyword, word.name) == ("FORMAT", "format")
    assert (quoted.keyword, quoted.name) == ("", "my table")


@pytest.mark.parametrize("text", [b"SELECT 'open", b"SELECT `open", b"SELECT /* open", b"$a$ x"])
def test_unterminated_text_is_a_syntax_error_or_needs_more(text: bytes) -> None:
    with pytest.raises(ClickHouseError) as raised:
        list(tokens(text))
    assert raised.value.code == SYNTAX_ERROR
    with pytest.raises(NeedMore):  # a body still arriving may close it
        list(tokens(text, final=False))


def test_a_partial_buffer_needs_more_until_a_token_is_certainly_complete() -> None:
    stream = tokens(b"INSERT INTO t", final=False)
    assert next(stream).keyword == "INSERT"
    assert next(stream).keyword == "INTO"
    with pytest.raises(NeedMore):  # `t` may continue in the next piece
        next(stream)


def test_multi_statements_are_refused_and_one_trailing_semicolon_is_not() -> None:
    assert analyse_statement(b"SELECT 1;").keyword == "SELECT"
    assert analyse_statement(b"SELECT ';' AS a, (1; 2)").keyword == "SELECT"
    for text, message in [
        (b"SELECT 1; SELECT 2", "Multi-statements are not allowed"),
        (b"  -- nothing\n", "Empty query"),
        (b"SELECT '\xff'", "Query is not valid UTF-8"),
    ]:
        with pytest.raises(ClickHouseError, match=message) as raised:
            analyse_statement(text)
        assert raised.value.code == SYNTAX_ERROR


@pytest.mark.parametrize(
    ("sql", "keyword", "output_format", "produces_result", "streamable"),
    [
        (b"select 1 FORMAT Native", "SELECT", "Native", True, True),
        (b"WITH 1 AS a SELECT a FORMAT `CSV` SETTINGS max_threads = 1", "WITH", "CSV", True, True),
        (b"SHOW TABLES", "SHOW", None, True, False),
        (b"EXISTS TABLE t", "EXISTS", None, True, False),
        (b"CREATE TABLE t (format String) ENGINE = Memory", "CREATE", None, False, False),
        (b"SELECT * FROM format(CSV, '1')", "SELECT", None, True, True),
        (b"SELECT 1 FORMAT JSON x", "SELECT", None, True, True),  # not a trailing clause
    ],
)
def test_statement_kind_and_trailing_format(
    sql: bytes,
    keyword: str,
    output_format: str | None,
    produces_result: bool,
    streamable: bool,
) -> None:
    statement = analyse_statement(sql)
    assert (statement.keyword, statement.output_format) == (keyword, output_format)
    assert (statement.produces_result, statement.streamable_kind) == (produces_result, streamable)


def test_the_output_clause_is_cut_for_explain_and_outfile_is_seen() -> None:
    cut = strip_output_clause(analyse_statement(b"SELECT format FROM t FORMAT CSV"))
    assert cut == "SELECT format FROM t "
    kept = analyse_statement(b"SELECT (SELECT 1 FORMAT TSV) AS format")
    assert strip_output_clause(kept) == "SELECT (SELECT 1 FORMAT TSV) AS format"
    assert mentions_outfile("SELECT 1 INTO OUTFILE 'x.csv'")
    assert not mentions_outfile("SELECT 'INTO OUTFILE' AS outfile_name")
    assert mentions_outfile("SELECT 'unterminated")  # unreadable: refused, not guessed
