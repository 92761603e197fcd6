"""The extract: the shop's tables into ``raw`` in the warehouse and ClickHouse.

:mod:`~ingest.extract.run` is the entry point (``extract``, ``extract_loads``); the other
modules are its parts: the catalog of the shop's tables, the snapshot COPY reader,
schema drift between the shop and raw, and the probe that tells an incremental run which
tables nothing was written to (:mod:`~ingest.extract.probe`: those are not loaded).

Imports ``core`` only; never ``ingest.shop``: the extract reads whatever shop the catalog
finds, generated or real (its callers pick tables from ``ingest.profiles``).
"""
