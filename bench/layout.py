"""How the code is laid out: lines per folder, the largest files and functions, import loops
between our own modules, and every import of a private Dagster API.

python -m bench.layout            # this working tree
python -m bench.layout --root DIR # another checkout (e.g. a `git worktree` of an older commit)

It reads the sources only (ast), imports nothing of ours, so it runs on any commit.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

FOLDERS = (
    "core",
    "clickhouse_endpoint",
    "pipelines",
    "ingest",
    "quality",
    "dashboards",
    "dbt_project",
    "bench",
    "tests",
)
CODE_SUFFIXES = {".py", ".sql", ".yml", ".yaml"}


def _python_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for folder in FOLDERS:
        if folder in {"bench", "tests", "dbt_project"}:
            continue
        base = root / folder
        if base.is_dir():
            files.extend(p for p in base.rglob("*.py") if "__pycache__" not in p.parts)
    return sorted(files)


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _lines(path: Path) -> int:
    return sum(1 for _ in path.open(encoding="utf-8", errors="replace"))


def lines_per_folder(root: Path) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for folder in FOLDERS:
        base = root / folder
        if not base.is_dir():
            continue
        counts: dict[str, int] = defaultdict(int)
        for path in base.rglob("*"):
            if path.is_file() and path.suffix in CODE_SUFFIXES and "__pycache__" not in path.parts:
                if "target" in path.relative_to(base).parts[:1] or "dbt_packages" in path.parts:
                    continue
                counts[path.suffix] += _lines(path)
        table[folder] = dict(counts)
    return table


def largest_definitions(root: Path, files: list[Path], top: int) -> list[tuple[int, str]]:
    """Top-level classes and functions, and methods, by their line span."""
    found: list[tuple[int, str]] = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = path.relative_to(root)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                span = (node.end_lineno or node.lineno) - node.lineno + 1
                kind = "class" if isinstance(node, ast.ClassDef) else "def"
                found.append((span, f"{rel}:{node.lineno} {kind} {node.name}"))
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        span = (item.end_lineno or item.lineno) - item.lineno + 1
                        found.append((span, f"{rel}:{item.lineno} def {node.name}.{item.name}"))
    found.sort(reverse=True)
    return found[:top]


def _imports(tree: ast.AST, module: str, is_package: bool) -> list[tuple[str, int, bool]]:
    """Every name imported anywhere in the file (module level and inside functions), each with
    its line and whether it is the statement's module (`from M import x` gives M and M.x)."""
    out: list[tuple[str, int, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno, True) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            out.append((name, node.lineno, True))
            out.extend((f"{name}.{alias.name}", node.lineno, False) for alias in node.names)
    return out


def import_graph(root: Path, files: list[Path]) -> tuple[dict[str, set[str]], list[str]]:
    modules = {_module_name(root, p): p for p in files}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    private: list[str] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, lineno, is_module in _imports(tree, module, path.name == "__init__.py"):
            if is_module and name.split(".")[0] in {"dagster", "dagster_dbt"} and "._" in name:
                private.append(f"{path.relative_to(root)}:{lineno} {name}")
            # the longest prefix that is one of our modules
            parts = name.split(".")
            for cut in range(len(parts), 0, -1):
                candidate = ".".join(parts[:cut])
                if candidate in modules and candidate != module:
                    graph[module].add(candidate)
                    break
    return graph, sorted(set(private))


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively: every group of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def package_arrows(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Which top-level packages import which."""
    arrows: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph.items():
        for target in targets:
            a, b = module.split(".")[0], target.split(".")[0]
            if a != b:
                arrows[a].add(b)
    return arrows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.layout", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    files = _python_files(root)

    print(f"layout of {root}")
    print("\nlines per folder (.py / .sql / .yml):")
    width = max(len(folder) for folder in FOLDERS)
    for folder, counts in lines_per_folder(root).items():
        yml = counts.get(".yml", 0) + counts.get(".yaml", 0)
        print(
            f"  {folder:<{width}} {counts.get('.py', 0):>7,} py {counts.get('.sql', 0):>6,} sql "
            f"{yml:>6,} yml"
        )
    print(f"\nlargest files (of {len(files)} Python modules):")
    for lines, path in sorted(((_lines(p), p) for p in files), reverse=True)[: args.top]:
        print(f"  {lines:>5}  {path.relative_to(root)}")
    print("\nlargest classes and functions (lines):")
    for span, where in largest_definitions(root, files, args.top):
        print(f"  {span:>5}  {where}")
    graph, private = import_graph(root, files)
    loops = strongly_connected(graph)
    print(f"\nimport loops between our modules: {len(loops)}")
    for group in loops:
        print(f"  {len(group)} modules: {', '.join(group)}")
    print("\npackage arrows (who imports whom):")
    for package, targets in sorted(package_arrows(graph).items()):
        print(f"  {package} -> {', '.join(sorted(targets))}")
    print(f"\nprivate Dagster imports: {len(private)}")
    for line in private:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
