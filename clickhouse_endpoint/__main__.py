"""``python -m clickhouse_endpoint --data-dir DIR --port PORT``: serve a chDB data folder
on the ClickHouse HTTP interface (see :mod:`clickhouse_endpoint`)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from clickhouse_endpoint.server import serve


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until stopped (exit codes: see ``serve``)."""
    parser = argparse.ArgumentParser(
        prog="python -m clickhouse_endpoint",
        description="Serve a chDB data folder on the ClickHouse HTTP interface (loopback only).",
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="chDB data folder to own")
    parser.add_argument("--port", type=int, required=True, help="HTTP port")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    serve(args.data_dir, args.port, args.host)


if __name__ == "__main__":
    main()
