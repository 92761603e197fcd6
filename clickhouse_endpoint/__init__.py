"""The embedded ClickHouse endpoint: chDB served over the ClickHouse HTTP interface.

Exactly one process may own a chDB data folder, so this process owns it and every
other process (clickhouse-connect, dbt-clickhouse, Dagster run workers) talks to it
over HTTP exactly as to a real ClickHouse server::

    python -m clickhouse_endpoint --data-dir DIR --port PORT

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
- The user ``analyst`` (:mod:`clickhouse_endpoint.analyst`) is authenticated by password
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
- chDB's allocator (jemalloc) hands freed pages back to the system after 0.2 s, not
  ClickHouse's 5 s (``JE_MALLOC_CONF``, unless set): a 20M-row load at scale 100 held
  2.1-2.2 GiB with 5 s, 1.7 GiB with 0.2 s.

The modules, one reason to change each: :mod:`~clickhouse_endpoint.errors` (ClickHouse
error codes and texts), :mod:`~clickhouse_endpoint.protocol` (URL parameters, settings,
formats, limits), :mod:`~clickhouse_endpoint.statements` (the tokenizer: INSERT heads,
statement kinds, FORMAT clauses), :mod:`~clickhouse_endpoint.bodies` (request bodies and
their Content-Encoding), :mod:`~clickhouse_endpoint.sessions` (a chDB connection and the
per-query overlay), :mod:`~clickhouse_endpoint.engine` (the one chDB engine, its sessions
and its lock), :mod:`~clickhouse_endpoint.analyst` (the analyst's policy),
:mod:`~clickhouse_endpoint.execution` (running one statement),
:mod:`~clickhouse_endpoint.responses` (what goes back on the wire),
:mod:`~clickhouse_endpoint.handler` (the HTTP request handler),
:mod:`~clickhouse_endpoint.server` (the process: data folder ownership, signals) and
``__main__`` (the command line). Nothing here imports chDB until a server starts, and
nothing of the project but :mod:`core`.
"""
