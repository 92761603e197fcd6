"""The shop: the transactional PostgreSQL database the pipeline reads, made and kept busy.

``schema.sql`` is its DDL; :mod:`~ingest.shop.generate` fills it with a reproducible history
(one transaction, binary COPY), :mod:`~ingest.shop.simulate` keeps it changing hour by hour
with plain DML. The other modules are their parts: the calendar, the dimensions, the order
history, binary COPY encoding, the cross-table invariants and the vocabulary.

Imports ``core`` and ``ingest.profiles``; never ``ingest.extract`` (the extract reads any
shop through its catalog, so the shop must not depend on how it is read).
"""
