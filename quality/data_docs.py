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
import jinja2
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.data_context.types.resource_identifiers import (
    ValidationResultIdentifier,
)
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView

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
                "site_index_builder": {
                    "class_name": "DefaultSiteIndexBuilder",
                    "view": {"module_name": __name__, "class_name": "CachedIndexPageView"},
                },
                "site_section_builders": {
                    section: {"view": {"module_name": __name__, "class_name": "CachedPageView"}}
                    for section in ("expectations", "validations", "profiling")
                },
            }
        },
    )
    return gx.get_context(project_config=config, mode="ephemeral")


_BYTECODE_CACHE: jinja2.BytecodeCache | None = None


def _bytecode_cache() -> jinja2.BytecodeCache:
    """Compiled Data Docs templates, shared by every gate's process: GX makes a new Jinja
    environment per page kind and build, and compiling its templates took about a second
    of each gate (more than the one pass's queries)."""
    global _BYTECODE_CACHE  # noqa: PLW0603 - one cache per process, made on first use
    if _BYTECODE_CACHE is None:
        directory = state_dir() / "gx" / "jinja_cache"
        directory.mkdir(parents=True, exist_ok=True)
        _BYTECODE_CACHE = jinja2.FileSystemBytecodeCache(str(directory))
    return _BYTECODE_CACHE


class CachedPageView(DefaultJinjaPageView):
    """GX's page view, its templates compiled once (see :func:`_bytecode_cache`)."""

    def __init__(
        self, custom_styles_directory: str | None = None, custom_views_directory: str | None = None
    ) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        self.env.bytecode_cache = _bytecode_cache()


class CachedIndexPageView(DefaultJinjaIndexPageView):
    """GX's index page view, its templates compiled once (see :func:`_bytecode_cache`)."""

    def __init__(
        self, custom_styles_directory: str | None = None, custom_views_directory: str | None = None
    ) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        self.env.bytecode_cache = _bytecode_cache()


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
