"""The source side of shopmarts, two products that do not know each other.

- :mod:`ingest.shop`: the transactional shop database. Its schema, a generator that fills
  it with a reproducible history, and a simulator that keeps it changing.
- :mod:`ingest.extract`: copies any shop's tables into ``raw`` in the warehouse and in
  ClickHouse, full or incremental, from one snapshot. It reads the shop through the
  PostgreSQL catalog, never through the shop package's code.
- :mod:`ingest.profiles`: shared. The shop generator writes each profile's schema; the
  extract's callers (pipelines) and dbt read its table lists.

Arrows: ``shop -> profiles`` (profiles borrows :mod:`ingest.shop.schema`'s DDL parser,
imported inside the function that needs it), ``extract -> core`` only; never ``shop <->
extract``. Nothing here imports ``pipelines`` or ``dashboards``.
"""
