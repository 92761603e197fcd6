"""Work spread over a few threads, each on a connection of its own.

A gate's pass or a mart's fingerprint is one query on one core of its engine; one at a time
leaves the other cores idle. :func:`map_on_connections` runs such work a few at a time.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import TypeVar

Connection = TypeVar("Connection")
Item = TypeVar("Item")
Result = TypeVar("Result")


def map_on_connections(
    connect: Callable[[], AbstractContextManager[Connection]],
    work: Callable[[Connection, Item], Result],
    items: Sequence[Item],
    workers: int,
) -> list[Result]:
    """``work(connection, item)`` for every item, ``workers`` at a time, in the items' order.

    One connection per worker (``connect()``, closed at the end); a connection serves one
    item at a time. An exception in ``work`` is raised here, as ``map`` raises it.
    """
    if not items:
        return []
    with contextlib.ExitStack() as stack:
        free: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        for _ in range(min(workers, len(items))):
            free.put(stack.enter_context(connect()))

        def run(item: Item) -> Result:
            connection = free.get()
            try:
                return work(connection, item)
            finally:
                free.put(connection)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(run, items))
