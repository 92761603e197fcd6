"""The ClickHouse HTTP interface as this endpoint speaks it: limits, URL parameters and
settings (:class:`RequestOptions`), form fields, output formats and their content types."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY

from clickhouse_endpoint.errors import (
    INVALID_SESSION_TIMEOUT,
    NOT_IMPLEMENTED,
    UNKNOWN_SETTING,
    ClickHouseError,
)

# Sizes: pieces read from the socket, pieces handed to chDB, spool before disk.
READ_PIECE = 4 << 20
INSERT_PIECE = 1 << 20
PREFETCH_PIECES = 4  # body pieces read ahead of chDB during an INSERT
DECOMPRESS_LIMIT = 16 << 20
SPOOL_IN_MEMORY = 32 << 20
MAX_URL = 1 << 20  # ClickHouse's http_max_uri_size
MAX_INSERT_HEAD = 16 << 20  # the INSERT statement before its data
MAX_QUERY = 256 << 20  # a whole non-INSERT query (real servers default to 256 KiB)

# Sessions (seconds): what a client may ask for with session_timeout.
DEFAULT_SESSION_TIMEOUT = 60
MAX_SESSION_TIMEOUT = 3600

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


def content_type(fmt: str) -> str:
    """The Content-Type of a result in ``fmt``, as ClickHouse sends it."""
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
        """Take URL parameters, form fields or header options; later pairs win. What is
        neither a protocol parameter nor an HTTP-layer setting is a query setting."""
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
