"""One benchmark, an older commit against this tree, side by side in one run.

    .venv/bin/python -m bench.versus REF [--scale 20] [--repeat 2]

Checks REF out into a throwaway git worktree, installs it (`make setup`, from uv's cache),
then runs `bench.refresh` there and here on one shop, REF first, and sets the two reports
side by side: every Dagster step, the bare script, and the end-to-end walls of the nightly
and the hourly refresh, with the ratio this/REF (below 1: faster now). Use it to show a
change made nothing slower.

Both sides start from the same state: the shop is generated once (by this tree), the whole
state folder (both engines' data, Dagster's) is copied while the engines are stopped, and
restored before the second side. Each side then runs its nightly and simulates the same
seeded hours from the same shop, so the hourly figures compare the same rows (as long as
REF simulates hours as this tree does; the report says whether the rows matched).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _checkout(ref: str, parent: Path) -> tuple[Path, str]:
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    tree = parent / f"shopmarts-{sha[:10]}"
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--force", str(tree), sha],
        cwd=PROJECT_ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"installing {ref} ({sha[:10]}) in {tree}", flush=True)
    subprocess.run(["make", "-s", "setup"], cwd=tree, check=True, stdout=subprocess.DEVNULL)
    return tree, sha


def _run(tree: Path, home: Path, output: Path, args: argparse.Namespace) -> dict[str, Any]:
    environ = {k: v for k, v in os.environ.items() if k not in {"DAGSTER_HOME", "VIRTUAL_ENV"}}
    command = [
        str(tree / ".venv" / "bin" / "python"),
        "-m",
        "bench.refresh",
        "--scale",
        str(args.scale),
        "--seed",
        str(args.seed),
        "--repeat",
        str(args.repeat),
        "--home",
        str(home),
        "--output",
        str(output),
    ]
    subprocess.run(command, cwd=tree, env=environ, check=True)
    return json.loads(output.read_text())


def _generate(home: Path, args: argparse.Namespace) -> None:
    """The shop, once, by this tree's bench.refresh (engines stopped when it returns)."""
    environ = {k: v for k, v in os.environ.items() if k not in {"DAGSTER_HOME", "VIRTUAL_ENV"}}
    command = [
        sys.executable, "-m", "bench.refresh", "--scale", str(args.scale), "--seed",
        str(args.seed), "--home", str(home), "--generate-only",
    ]  # fmt: skip
    subprocess.run(command, cwd=PROJECT_ROOT, env=environ, check=True)


def _copy_state(source: Path, target: Path) -> None:
    """The state folder as files (the engines are stopped): sockets are not files."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("*.sock"))


def same_rows(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Whether both sides loaded the same rows, round by round (older reports lack them)."""
    then, now = before.get("rows_per_round"), after.get("rows_per_round")
    if not then or not now:
        return "rows per round: not reported by REF's bench.refresh"
    return "rows per round: " + ("the same on both sides" if then == now else f"{then} | {now}")


def _ratio(now: float, then: float) -> str:
    return f"{now / then:>7.2f}x" if then > 0 else f"{'':>8}"


def side_by_side(label: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    lines = []
    for mode in ("nightly", "hourly"):
        b, a = before[mode], after[mode]
        lines += [
            f"\n{mode} refresh, seconds ({label} | this tree)",
            f"{'':<32}{'bare':>17}{'':>9}{'dagster':>17}",
            f"{'step':<32}{'then':>8}{'now':>9}{'ratio':>9}{'then':>8}{'now':>9}{'ratio':>9}",
        ]
        for step in dict.fromkeys([*b["dagster"], *a["dagster"], *b["bare"], *a["bare"]]):
            bb, ab = b["bare"].get(step, 0.0), a["bare"].get(step, 0.0)
            bd, ad = b["dagster"].get(step, 0.0), a["dagster"].get(step, 0.0)
            bare = f"{bb:>8.2f}{ab:>9.2f}{_ratio(ab, bb)}"
            lines.append(f"{step:<32}{bare}{bd:>8.2f}{ad:>9.2f}{_ratio(ad, bd)}")
        lines.append(
            f"{'end to end (command wall)':<32}{b['bare_wall']:>8.2f}{a['bare_wall']:>9.2f}"
            f"{_ratio(a['bare_wall'], b['bare_wall'])}{b['wall']:>8.2f}{a['wall']:>9.2f}"
            f"{_ratio(a['wall'], b['wall'])}"
        )
        lines.append(
            f"rows loaded: {b['rows']:,} then, {a['rows']:,} now; "
            f"{a['rows'] / a['wall']:,.0f} rows/s end to end now"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.versus", description=__doc__.split("\n")[0]
    )
    parser.add_argument("ref", help="the older commit (a hash, a tag, a branch)")
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2, help="hourly rounds of each kind")
    parser.add_argument("--output", type=Path, help="also write both reports as JSON")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="shopmarts-versus-"))
    home = scratch / "home"
    snapshot = scratch / "home-with-the-shop"
    tree = None
    finished = False
    try:
        tree, sha = _checkout(args.ref, scratch)
        print(f"\n=== the shop at scale {args.scale:g}, once, for both sides", flush=True)
        _generate(home, args)
        _copy_state(home, snapshot)
        print(f"\n=== bench.refresh at {args.ref} ({sha[:10]})", flush=True)
        before = _run(tree, home, scratch / "before.json", args)
        _copy_state(snapshot, home)  # the second side starts from the same shop
        print("\n=== bench.refresh in this tree", flush=True)
        after = _run(PROJECT_ROOT, home, scratch / "after.json", args)
        label = f"{args.ref} {sha[:10]}"
        print(f"\nbench.versus, scale {args.scale:g}, one shop snapshot, {label} first:")
        print(side_by_side(label, before, after))
        print(same_rows(before, after))
        if args.output:
            args.output.write_text(json.dumps({"before": before, "after": after}, indent=2))
        finished = True
        return 0
    finally:
        if tree is not None:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)],
                cwd=PROJECT_ROOT,
                check=False,
            )
        if finished:
            shutil.rmtree(scratch, ignore_errors=True)
        else:  # what ran is kept: REF's report (before.json) need not be measured again
            print(f"bench.versus: stopped; the reports so far are in {scratch}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
