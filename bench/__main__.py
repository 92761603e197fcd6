"""`make bench`: every benchmark at scale 20, one after the other, each side by side with its peer.

python -m bench                 # all of them
python -m bench generate marts  # a subset
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = {
    "generate": ["--scale", "20"],
    "extract": ["--scale", "20"],
    "marts": ["--scale", "20"],
    "refresh": ["--scale", "20"],
    "dashboards": ["--scale", "20"],
}


def main(argv: list[str]) -> int:
    chosen = argv or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"bench: unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    failed = []
    for name in chosen:
        print(f"\n=== bench.{name} {' '.join(BENCHMARKS[name])}", flush=True)
        code = subprocess.call([sys.executable, "-m", f"bench.{name}", *BENCHMARKS[name]])
        if code:
            failed.append(name)
    if failed:
        print(f"\nbench: failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
