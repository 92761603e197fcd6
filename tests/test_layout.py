"""The code's layout holds: Dagster's private API behind one module (read from the sources,
ast), and import-linter's contracts: the layers, and no import loop anywhere.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT

pytestmark = pytest.mark.fast

# Every Python folder of ours, bench and tests too.
OUR_FOLDERS = (
    "core",
    "clickhouse_endpoint",
    "ingest",
    "quality",
    "pipelines",
    "dashboards",
    "bench",
    "tests",
)
DAGSTER_PRIVATE = "pipelines/runtime/dagster_private.py"


def _python_files(folders: tuple[str, ...]) -> Iterator[Path]:
    for folder in folders:
        yield from sorted(
            path
            for path in (PROJECT_ROOT / folder).rglob("*.py")
            if "__pycache__" not in path.parts
        )


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_names(path: Path) -> Iterator[tuple[str, int]]:
    """Every module a file of ours imports, anywhere in it, with the line."""
    source = path.read_text(encoding="utf-8")
    yield from _imports_in(source, _module_name(path), path.name == "__init__.py")


def _imports_in(source: str, module: str, is_package: bool) -> Iterator[tuple[str, int]]:
    """Every module ``source`` imports, anywhere in it (functions too), with the line; `from M
    import x` gives M and M.x (x may be a module). `importlib.import_module("M")` counts."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against this module's package
                package = module.split(".")
                package = package if is_package else package[:-1]
                package = package[: len(package) - (node.level - 1)]
                name = ".".join([*package, node.module] if node.module else package)
            else:
                name = node.module or ""
            yield name, node.lineno
            yield from ((f"{name}.{alias.name}", node.lineno) for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value, node.lineno


def test_only_dagster_private_imports_dagster_private_api() -> None:
    """Dagster's private API (`dagster._*`) changes without notice between releases: one
    module holds every use of it, so an upgrade is checked in one place."""
    offenders: dict[str, str] = {}  # "path:line" -> the module imported there
    for path in _python_files(OUR_FOLDERS):
        where = path.relative_to(PROJECT_ROOT).as_posix()
        if where == DAGSTER_PRIVATE:
            continue
        for name, line in _imported_names(path):
            if name.split(".")[0].startswith("dagster") and "._" in name:
                offenders.setdefault(f"{where}:{line}", name)
    listed = [f"{where} imports {name}" for where, name in sorted(offenders.items())]
    assert listed == [], "import it through pipelines.runtime.dagster_private:\n" + "\n".join(
        listed
    )
    assert (PROJECT_ROOT / DAGSTER_PRIVATE).is_file()


def test_the_scan_sees_every_kind_of_import() -> None:
    """The scans here find imports in functions, `from` and relative imports, and
    `import_module` calls: a private import cannot hide from them."""
    source = (
        "import importlib\n"
        "from dagster._core.launcher import RunLauncher\n"
        "def later():\n"
        "    import dagster._grpc.client\n"
        "    from .forkserver import fork\n"
        "    return importlib.import_module('dagster._cli')\n"
    )
    names = {name for name, _line in _imports_in(source, "pipelines.runtime.sample", False)}
    assert {
        "dagster._core.launcher",
        "dagster._core.launcher.RunLauncher",
        "dagster._grpc.client",
        "pipelines.runtime.forkserver",
        "dagster._cli",
    } <= names


def test_the_fork_server_finds_the_cli_by_name() -> None:
    """The fork server runs `shopmarts` from the CLI module it names, never importing it: the
    CLI imports the runtime, not the other way round."""
    import click

    from pipelines.runtime import forkserver

    cli = importlib.import_module(forkserver.SHOPMARTS_CLI_MODULE)
    assert isinstance(cli.main, click.Group)
    assert "pipelines.cli" not in {
        name.removesuffix(".main") for name, _line in _imported_names(Path(forkserver.__file__))
    }


def test_the_import_contracts_hold() -> None:
    """import-linter's contracts (pyproject.toml, [tool.importlinter]; `make lint` runs them
    too): dashboards over pipelines over ingest | quality | the ClickHouse endpoint over core,
    the layers inside pipelines, and no import loop between sibling modules at any depth."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout


def test_every_import_in_the_benchmarks_resolves() -> None:
    """The benchmarks import our code inside their functions (each runs alone, as a fresh
    interpreter): a module or name that moved would otherwise surface mid-benchmark."""
    broken = []
    for path in _python_files(("bench",)):
        module = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            if node.module.split(".")[0] not in {"core", "ingest", "quality", "pipelines"}:
                continue
            imported = importlib.import_module(node.module)
            for alias in node.names:
                if not hasattr(imported, alias.name):
                    try:
                        importlib.import_module(f"{node.module}.{alias.name}")
                    except ImportError:
                        broken.append(f"{module}:{node.lineno} {node.module}.{alias.name}")
    assert broken == []
