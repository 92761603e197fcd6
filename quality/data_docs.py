"""GX Data Docs of the gates: one static site per gate and engine, built from an
ephemeral GX context (nothing shared on disk but the HTML, so gates may run in parallel).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import time
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.data_context.types.resource_identifiers import (
    ValidationResultIdentifier,
)

from core.settings import state_dir
from core.vocabulary import Engine

log = logging.getLogger(__name__)

DOCS_RETENTION = dt.timedelta(days=7)


def docs_dir(gate: str, engine: Engine) -> Path:
    """Where the Data Docs site of one gate on one engine is built."""
    return state_dir() / "gx" / "data_docs" / f"{gate}_{engine}"


def ephemeral_context(site: Path) -> Any:
    """An in-memory GX context whose only file output is the Data Docs site at ``site``."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={
            "local_site": {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(site),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def build_docs(context: Any, keys: list[ValidationResultIdentifier]) -> None:
    """Build the pages of these validation results (a failure is logged: docs are a view)."""
    if not keys:
        return
    try:
        context.build_data_docs(resource_identifiers=keys)
    except Exception as error:  # noqa: BLE001 - docs are a view; the gate's verdict stands
        log.warning("Data Docs could not be built: %s", error)


def page_url(context: Any, key: ValidationResultIdentifier) -> str | None:
    """The URL of one validation result's page, if the site has it."""
    with contextlib.suppress(Exception):
        sites = context.get_docs_sites_urls(resource_identifier=key)
        if sites:
            return str(sites[0]["site_url"])
    return None


def prune_docs(site: Path) -> None:
    """Drop validation pages older than the retention: each run adds its own."""
    validations = site / "validations"
    if not validations.is_dir():
        return
    cutoff = time.time() - DOCS_RETENTION.total_seconds()
    for path in sorted(validations.rglob("*"), reverse=True):
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
