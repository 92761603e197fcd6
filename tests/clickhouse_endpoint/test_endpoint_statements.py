"""The statement scanner (:mod:`clickhouse_endpoint.statements`), no server needed: where
an INSERT's data starts, statement kinds and FORMAT clauses."""

from __future__ import annotations

import pytest

from clickhouse_endpoint.statements import NeedMore, analyse_statement, scan_insert_head

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
