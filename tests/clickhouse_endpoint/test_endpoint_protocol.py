"""The protocol layer (:mod:`clickhouse_endpoint.protocol`, :mod:`clickhouse_endpoint.errors`),
no server needed: what a request's URL parameters and form fields ask for, content types,
and errors worded as ClickHouse words them."""

from __future__ import annotations

import pytest

from clickhouse_endpoint.errors import (
    INVALID_SESSION_TIMEOUT,
    NOT_IMPLEMENTED,
    STD_EXCEPTION,
    UNKNOWN_SETTING,
    ClickHouseError,
)
from clickhouse_endpoint.protocol import (
    DEFAULT_SESSION_TIMEOUT,
    MAX_SESSION_TIMEOUT,
    RequestOptions,
    content_type,
    parse_multipart,
)

pytestmark = pytest.mark.fast


def test_parameters_settings_and_bound_values_are_told_apart() -> None:
    options = RequestOptions()
    options.apply(
        [
            ("query", "SELECT {low:UInt32}"),
            ("database", "raw"),
            ("default_format", "JSONEachRow"),
            ("query_id", "q-1"),
            ("user", "default"),
            ("password", "secret"),
            ("session_id", "s-1"),
            ("session_timeout", "30"),
            ("session_check", "1"),
            ("close_session", "true"),
            ("param_low", "2"),
            ("max_threads", "3"),
            ("session_timezone", "UTC"),
            # Protocol parameters and HTTP-layer settings never reach chDB.
            ("client_protocol_version", "54460"),
            ("quota_key", ""),
            ("compress", "0"),
            ("enable_http_compression", "1"),
            ("send_progress_in_http_headers", "1"),
        ]
    )
    assert (options.query, options.database, options.default_format) == (
        "SELECT {low:UInt32}",
        "raw",
        "JSONEachRow",
    )
    assert (options.query_id, options.user, options.password) == ("q-1", "default", "secret")
    assert (options.session_id, options.session_timeout) == ("s-1", 30)
    assert options.session_check and options.close_session
    assert options.params == {"low": "2"}
    assert options.settings == {"max_threads": "3", "session_timezone": "UTC"}
    assert not options.analyst  # only authentication makes a request the analyst's


def test_defaults_blanks_and_later_values() -> None:
    options = RequestOptions()
    assert (options.default_format, options.session_timeout) == (
        "TabSeparated",
        DEFAULT_SESSION_TIMEOUT,
    )
    options.apply([("database", ""), ("default_format", ""), ("session_id", "")])
    assert (options.database, options.default_format, options.session_id) == (
        None,
        "TabSeparated",
        None,
    )
    # Header options come first, URL parameters after: the later value wins.
    options.apply([("max_threads", "1"), ("wait_end_of_query", "1")])
    options.apply([("max_threads", "2"), ("http_wait_end_of_query", "0")])
    assert options.settings == {"max_threads": "2"}
    assert not options.wait_end_of_query


@pytest.mark.parametrize(
    ("name", "value", "code", "message"),
    [
        ("session_timeout", "soon", INVALID_SESSION_TIMEOUT, "Invalid session timeout: 'soon'"),
        ("session_timeout", str(MAX_SESSION_TIMEOUT + 1), INVALID_SESSION_TIMEOUT, "larger than"),
        ("session_timeout", "-1", INVALID_SESSION_TIMEOUT, "larger than max_session_timeout"),
        ("compress", "1", NOT_IMPLEMENTED, "block compression"),
        ("decompress", "true", NOT_IMPLEMENTED, "block compression"),
        ("max threads", "1", UNKNOWN_SETTING, "Unknown setting 'max threads'"),
        ("1st", "1", UNKNOWN_SETTING, "Unknown setting '1st'"),
    ],
)
def test_bad_parameters_are_refused_with_clickhouse_codes(
    name: str, value: str, code: int, message: str
) -> None:
    with pytest.raises(ClickHouseError, match=message) as raised:
        RequestOptions().apply([(name, value)])
    assert raised.value.code == code
    assert raised.value.message.startswith(f"Code: {code}. DB::Exception: ")


def test_form_fields_are_read_and_external_tables_refused() -> None:
    boundary = "b0undary"
    ctype = f"multipart/form-data; boundary={boundary}"

    def part(headers: str, value: str) -> str:
        return f"--{boundary}\r\n{headers}\r\n\r\n{value}\r\n"

    body = (
        part('Content-Disposition: form-data; name="query"', "SELECT {v:String}")
        + part('Content-Disposition: form-data; name="param_v"', "é; 'quoted'")
        + f"--{boundary}--\r\n"
    ).encode()
    assert parse_multipart(body, ctype) == [
        ("query", "SELECT {v:String}"),
        ("param_v", "é; 'quoted'"),
    ]
    with_file = (
        part('Content-Disposition: form-data; name="t"; filename="t.csv"', "1,2")
        + f"--{boundary}--\r\n"
    ).encode()
    with pytest.raises(ClickHouseError, match="External data tables") as raised:
        parse_multipart(with_file, ctype)
    assert raised.value.code == NOT_IMPLEMENTED


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("Native", "application/octet-stream"),
        ("RowBinaryWithNamesAndTypes", "application/octet-stream"),
        ("Parquet", "application/octet-stream"),
        ("TabSeparated", "text/tab-separated-values; charset=UTF-8"),
        ("TSVWithNames", "text/tab-separated-values; charset=UTF-8"),
        ("CSV", "text/csv; charset=UTF-8; header=absent"),
        ("CSVWithNames", "text/csv; charset=UTF-8; header=present"),
        ("JSONEachRow", "application/json; charset=UTF-8"),
        ("NDJSON", "application/json; charset=UTF-8"),
        ("XML", "application/xml; charset=UTF-8"),
        ("Pretty", "text/plain; charset=UTF-8"),
    ],
)
def test_content_types(fmt: str, expected: str) -> None:
    assert content_type(fmt) == expected


def test_engine_errors_keep_their_code_and_lose_their_version() -> None:
    engine_text = (
        "Code: 60. DB::Exception: Unknown table expression identifier 'x'. "
        "(UNKNOWN_TABLE) (version 26.9.2.1)"
    )
    error = ClickHouseError.from_engine(RuntimeError(engine_text))
    assert error.code == 60
    assert error.message == engine_text.removesuffix(" (version 26.9.2.1)")
    assert error.body("26.9.2.1") == (engine_text + "\n").encode()
    assert ClickHouseError.from_engine(error) is error
    surprise = ClickHouseError.from_engine(KeyError("x"))
    assert surprise.code == STD_EXCEPTION
    assert surprise.message == "Code: 1001. DB::Exception: KeyError: 'x'. (STD_EXCEPTION)"
