"""Time what `fulfil lsp` does on a keystroke, against loading the same text in the same run.

On each change the server checks the whole document (`diagnose`: `load_text` plus reading the
ids of the folder's files) and reads its names (`outline`); a completion or a hover then reads
the line. Baseline: `load_text` of the same text, what `fulfil validate` does per file. Medians
of 7 runs, for the three largest shipped processes. Usage:

    .venv/bin/python bench/bench_lsp.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fulfil.engine.definition.loader import definition_files, load_text
from fulfil.engine.lsp.diagnostics import FolderCache, diagnose
from fulfil.engine.lsp.features import complete, hover
from fulfil.engine.lsp.outline import outline
from fulfil.engine.lsp.positions import Position

ROOT = Path(__file__).resolve().parents[1]
RUNS = 7


def median(action: Callable[[], Any]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(label: str, text: str, path: Path) -> None:
    cache = FolderCache()
    baseline = median(lambda: load_text(text, str(path)))
    names = outline(text)
    assert names is not None
    line = next(i for i, row in enumerate(text.splitlines()) if row.strip().startswith("dest:"))
    at = Position(line, text.splitlines()[line].index("dest:") + 6)
    rows = [
        ("diagnose (a change)", median(lambda: diagnose(text, path, cache))),
        ("outline (a change)", median(lambda: outline(text))),
        ("complete after dest:", median(lambda: complete(text, at, names))),
        ("hover on a dest", median(lambda: hover(text, at, names))),
    ]
    print(f"{label}: {len(text.splitlines())} lines; load_text (baseline) {baseline * 1000:.1f} ms")
    for name, seconds in rows:
        print(f"  {name:24} {seconds * 1000:8.2f} ms  {seconds / baseline:6.2f}x load_text")


def main() -> int:
    files = sorted(definition_files(ROOT / "processes"), key=lambda p: -p.stat().st_size)
    for path in files[:3]:
        measure(path.name, path.read_text(encoding="utf-8"), path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
