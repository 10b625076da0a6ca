"""Run every benchmark under bench/ in turn (what `make bench` does).

Each script prints its own figures as ratios against a baseline measured in the same run.
`python bench/run_all.py validate runtime` runs only the scripts whose names contain a word
(`statecharts`: compound states against their flattened equivalent).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main(words: list[str]) -> int:
    here = Path(__file__).parent
    scripts = sorted(here.glob("bench_*.py"))
    chosen = [s for s in scripts if not words or any(w in s.stem for w in words)]
    failed = 0
    for script in chosen:
        print(f"== {script.name}", flush=True)
        failed += subprocess.run([sys.executable, str(script)], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
