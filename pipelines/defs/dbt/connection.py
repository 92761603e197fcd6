"""The environment variables `dbt_project/profiles.yml` reads, from the engines' URLs.

The embedded engines pick their ports at start-up, so the profile cannot hold them:
every connection detail comes through ``env_var()``, and :func:`dbt_env` turns an
:class:`~core.settings.Environment` into those variables. :func:`run_dbt`
runs the dbt CLI with them outside Dagster (tests, benchmarks).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from core.settings import PROJECT_ROOT, Environment, source_profile_name, state_dir
from core.vocabulary import ENGINES

DBT_PROJECT_DIR: Path = PROJECT_ROOT / "dbt_project"
TARGETS: tuple[str, ...] = ENGINES  # one dbt target per engine, named after it
TARGET_DIR_VAR = "SHOPMARTS_DBT_TARGET_DIR"
# A folder's saved parse state, and the fingerprint of the project it parsed.
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
PARSE_FINGERPRINT_FILE = "partial_parse.fingerprint"
# What dbt writes into the project folder: not part of what it parses.
_NOT_PARSED = {"target", "logs", "dbt_packages", "__pycache__"}


def project_fingerprint() -> str:
    """Every file dbt parses (path, size, modification time), the source profile and the
    dbt version: equal fingerprints mean a parse would read exactly the same project."""
    digest = hashlib.sha256()
    digest.update(f"{source_profile_name()}|{importlib.metadata.version('dbt-core')}".encode())
    for path in sorted(DBT_PROJECT_DIR.rglob("*")):
        relative = path.relative_to(DBT_PROJECT_DIR)
        if relative.parts[0] in _NOT_PARSED or not path.is_file():
            continue
        stat = path.stat()
        digest.update(f"|{relative}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def seed_parse_state(runs_dir: Path) -> str:
    """Keep the parse state in ``runs_dir`` (the last refresh's, or the last :func:`run_dbt`'s
    on that folder) only if the project is the one it parsed.

    dbt-core 1.11's partial parsing mishandles same-named models of which one is enabled
    (each source profile's staging, `dbt_project/README.md`): when a disabled one changes, the
    enabled one drops out of the manifest. So partial parsing is used only when nothing
    changed since the last parse; any change to the project means one full parse.
    """
    seed = runs_dir / PARTIAL_PARSE_FILE
    kept = runs_dir / PARSE_FINGERPRINT_FILE
    fingerprint = project_fingerprint()
    if seed.exists() and (not kept.exists() or kept.read_text() != fingerprint):
        seed.unlink(missing_ok=True)
    return fingerprint


def dbt_target_root() -> Path:
    """Where the parsed manifests (`<root>/<target>`, `<root>/<profile>/<target>`) and the
    artifacts of :func:`run_dbt` go: `dbt_project/target`, or ``SHOPMARTS_DBT_TARGET_DIR``
    (the test suite's parallel workers give each its own, so none reads another's)."""
    return Path(os.environ.get(TARGET_DIR_VAR) or DBT_PROJECT_DIR / "target").resolve()


def dbt_runs_dir(target: str) -> Path:
    """Where the dbt invocations of refreshes on ``target`` write their artifacts and logs.

    dagster-dbt gives each invocation its own folder below ``DBT_TARGET_PATH`` and seeds
    it with that path's `partial_parse.msgpack`, so dbt re-parses only what changed since
    the last refresh instead of the whole project.
    """
    return state_dir() / "dbt" / target


def postgres_env(url: str) -> dict[str, str]:
    """Variables of the `postgres` target from a libpq URL (postgresql://user:pass@host:port/db)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return {
        "SHOPMARTS_PG_HOST": parts.hostname or "127.0.0.1",
        "SHOPMARTS_PG_PORT": str(parts.port or 5432),
        "SHOPMARTS_PG_USER": unquote(parts.username or "postgres"),
        "SHOPMARTS_PG_PASSWORD": unquote(parts.password or ""),
        "SHOPMARTS_PG_DBNAME": unquote(parts.path.lstrip("/")) or "warehouse",
        "SHOPMARTS_PG_SSLMODE": query.get("sslmode", ["prefer"])[0],
    }


def clickhouse_env(url: str) -> dict[str, str]:
    """Variables of the `clickhouse` target from an HTTP URL (http[s]://user:pass@host:port/)."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    return {
        "SHOPMARTS_CH_HOST": parts.hostname or "127.0.0.1",
        "SHOPMARTS_CH_PORT": str(parts.port or (8443 if secure else 8123)),
        "SHOPMARTS_CH_USER": unquote(parts.username or "default"),
        "SHOPMARTS_CH_PASSWORD": unquote(parts.password or ""),
        "SHOPMARTS_CH_SECURE": "true" if secure else "false",
    }


def dbt_env(environment: Environment) -> dict[str, str]:
    """Every variable `profiles.yml` reads, for both targets, pointing at ``environment``."""
    return {**postgres_env(environment.warehouse_url), **clickhouse_env(environment.clickhouse_url)}


@contextlib.contextmanager
def dbt_environment(environment: Environment, **extra: str) -> Iterator[Mapping[str, str]]:
    """Set :func:`dbt_env` (and ``extra``) in ``os.environ`` for the block, then restore
    what was there.

    dagster-dbt builds the dbt subprocess's environment (and its own adapter handle)
    from ``os.environ`` when ``DbtCliResource.cli`` is called, so the variables must be
    in place for that call and while its events stream.
    """
    variables = {**dbt_env(environment), **extra}
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield variables
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def dbt_executable() -> str:
    """`shopmarts-dbt` (dbt through the stack's fork server, or dbt itself) beside this
    interpreter; else the `dbt` beside it or on PATH."""
    forked = Path(sys.executable).with_name("shopmarts-dbt")
    if forked.exists():
        return str(forked)
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


@dataclass(frozen=True)
class DbtRun:
    """One finished dbt command against one target."""

    target: str
    args: tuple[str, ...]
    returncode: int
    output: str
    target_path: Path
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def artifact(self, name: str = "run_results.json") -> dict[str, Any]:
        """A JSON artifact of the run (run_results.json, manifest.json, catalog.json)."""
        return json.loads((self.target_path / name).read_text())

    def node_seconds(self, prefix: str = "model.") -> dict[str, float]:
        """Execution seconds of each node whose unique_id starts with ``prefix``, by name."""
        return {
            result["unique_id"].split(".")[-1]: float(result["execution_time"])
            for result in self.artifact()["results"]
            if result["unique_id"].startswith(prefix)
        }


def run_dbt(
    environment: Environment,
    args: Sequence[str],
    *,
    targets: Sequence[str] = TARGETS,
    artifacts_dir: Path | None = None,
) -> dict[str, DbtRun]:
    """Run ``dbt <args>`` against each of ``targets`` at the same time; wait for all.

    Each target writes its artifacts and logs to ``artifacts_dir/<target>`` (default:
    :func:`dbt_target_root`/`adhoc`/`<target>`), so the two manifests never overwrite each
    other, nor the pipeline's own (`<root>/<target>`, `assets.dbt_project`): a run with
    other vars (a sandbox's `schema_prefix`) would leave there a manifest naming other
    schemas, which the pipeline would then take as fresh. dbt reuses the last parse made
    on the folder while the project and the vars are the ones it parsed.
    """
    root = artifacts_dir or dbt_target_root() / "adhoc"
    env = {**os.environ, **dbt_env(environment), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    # dbt parses only what changed since the last run on the folder, if the project is the
    # one that run parsed (:func:`seed_parse_state`); a change of vars is a full parse.
    parse = [] if {"--partial-parse", "--no-partial-parse"} & set(args) else ["--partial-parse"]
    started: dict[str, tuple[subprocess.Popen[str], Path, float]] = {}
    fingerprints: dict[str, str] = {}
    for target in targets:
        target_path = (root / target).resolve()
        target_path.mkdir(parents=True, exist_ok=True)
        fingerprints[target] = seed_parse_state(target_path)
        command = [
            dbt_executable(),
            *args,
            *parse,
            "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target", target,
            "--target-path", str(target_path),
            "--log-path", str(target_path),
        ]  # fmt: skip
        process = subprocess.Popen(
            command,
            cwd=DBT_PROJECT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started[target] = (process, target_path, time.perf_counter())
    runs = {}
    for target, (process, target_path, began) in started.items():
        output, _ = process.communicate()
        if (target_path / PARTIAL_PARSE_FILE).exists():
            (target_path / PARSE_FINGERPRINT_FILE).write_text(fingerprints[target])
        runs[target] = DbtRun(
            target=target,
            args=tuple(args),
            returncode=process.returncode,
            output=output,
            target_path=target_path,
            seconds=time.perf_counter() - began,
        )
    return runs
