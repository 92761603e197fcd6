"""The code's layout holds: Dagster's private API behind one module, no import loop, and the
layers of `pipelines` importing downwards only. Read from the sources (ast), importing nothing.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

from core.settings import PROJECT_ROOT

# Every Python folder of ours; the application's packages are the ones whose imports form
# the graph (bench and tests sit outside it, importing anything).
OUR_FOLDERS = ("core", "ingest", "quality", "pipelines", "dashboards", "bench", "tests")
PACKAGES = ("core", "ingest", "quality", "pipelines", "dashboards")
DAGSTER_PRIVATE = "pipelines/runtime/dagster_private.py"

# The layers of `pipelines`, top first: a module may import its own layer and those below.
PIPELINES_LAYERS: tuple[tuple[str, ...], ...] = (
    ("pipelines.cli",),
    ("pipelines.launch", "pipelines.stack", "pipelines.query"),
    ("pipelines.definitions", "pipelines.defs"),
    ("pipelines.runtime", "pipelines.engines"),
)


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


def _import_graph() -> dict[str, set[str]]:
    """Our modules and, for each, the modules of ours it imports."""
    paths = {_module_name(path): path for path in _python_files(PACKAGES)}
    graph: dict[str, set[str]] = {module: set() for module in paths}
    for module, path in paths.items():
        for name, _line in _imported_names(path):
            parts = name.split(".")
            for cut in range(len(parts), 0, -1):  # the longest prefix that is a module of ours
                candidate = ".".join(parts[:cut])
                if candidate in graph:
                    if candidate != module:
                        graph[module].add(candidate)
                    break
    return graph


def _a_loop(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop (its modules in order, the first repeated at the end), or None."""
    done: set[str] = set()  # modules from which no loop is reachable

    def search(module: str, path: list[str]) -> list[str] | None:
        for target in sorted(graph[module]):
            if target in path:
                return [*path[path.index(target) :], target]
            if target not in done:
                found = search(target, [*path, target])
                if found:
                    return found
        done.add(module)
        return None

    for start in sorted(graph):
        if start not in done:
            found = search(start, [start])
            if found:
                return found
    return None


def _layer(module: str) -> int | None:
    for rank, prefixes in enumerate(PIPELINES_LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return rank
    return None


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


def test_no_import_loop_between_our_modules() -> None:
    """Modules that import each other can only be understood, tested and moved together."""
    loop = _a_loop(_import_graph())
    assert loop is None, "import loop: " + " -> ".join(loop or [])


def test_pipelines_layers_import_downwards_only() -> None:
    """`cli` on top; the commands it runs (launch, stack, query); the definitions; the runtime
    and the engines at the bottom (then `core`): a lower layer never imports a higher one."""
    upward = []
    for module, targets in sorted(_import_graph().items()):
        rank = _layer(module)
        if rank is None:
            continue
        for target in sorted(targets):
            target_rank = _layer(target)
            if target_rank is not None and target_rank < rank:
                upward.append(f"{module} imports {target}")
    assert upward == []


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


def test_the_loop_search_finds_a_loop() -> None:
    """The loop search above reports a loop when there is one, however deep."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert _a_loop(graph) == ["a", "b", "c", "a"]
    assert _a_loop({"a": {"b"}, "b": {"c"}, "c": set()}) is None
