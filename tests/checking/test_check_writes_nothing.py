"""`fulfil check` reads definitions only: it writes no file, anywhere.

The command runs in this process under an audit hook (`sys.addaudithook`) that records every
attempt to write: an `open` for writing, a folder made, a file renamed, removed or linked, an
SQLite database opened. An attempt is caught wherever it would land, not only in the working
directory, and whatever the exploration reaches: what the explorer does with sheets, mail and
timers is computation over the definition, never input or output.

The quick profile checks every planted process fully, with the timing, and every shipped process
at depth 1 (the same code on less of the state space); the thorough one (`slow`) checks every
shipped process at its default depth, with and without the timing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fulfil.cli import main
from fulfil.engine.definition.loader import definition_files

SHIPPED = Path(__file__).parents[2] / "processes"
PLANTED = Path(__file__).parents[1] / "processes" / "checking"

_WRITING_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_WRITING_EVENTS = {
    "os.mkdir",
    "os.rename",
    "os.remove",
    "os.rmdir",
    "os.truncate",
    "os.link",
    "os.symlink",
    "os.chmod",
    "os.utime",
    "shutil.copyfile",
    "shutil.move",
    "shutil.rmtree",
}
_recording: list[str] | None = None  # the writes seen while a check runs


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _recording is None:
        return
    if event == "open":
        path, mode, flags = args
        if isinstance(path, int) or "__pycache__" in str(path):  # a descriptor; bytecode
            return
        writing = (
            any(c in mode for c in "wax+") if isinstance(mode, str) else flags & _WRITING_FLAGS
        )
        if writing:
            _recording.append(f"open {path} {mode or flags}")
    elif event == "sqlite3.connect":
        _recording.append(f"sqlite3.connect {args[0]}")
    elif event in _WRITING_EVENTS and "__pycache__" not in str(args[0]):
        _recording.append(f"{event} {args[0]}")


sys.addaudithook(_audit)  # a hook cannot be removed: it records only inside `no_writes`


@pytest.fixture
def no_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The writes attempted during the test (in an empty working directory), asserted none."""
    global _recording
    monkeypatch.chdir(tmp_path)
    seen: list[str] = []
    _recording = seen
    try:
        yield seen
    finally:
        _recording = None
    assert seen == []
    assert sorted(tmp_path.iterdir()) == []


def _check(folder: Path, path: Path, *extra: str) -> None:
    result = CliRunner().invoke(main, ["--processes", str(folder), "check", str(path), *extra])
    assert result.exit_code in (0, 1), (path.name, result.output)


def test_the_hook_sees_a_write(tmp_path: Path) -> None:
    """The recorder is not blind: a file written, a folder made and a database opened show."""
    global _recording
    seen: list[str] = []
    _recording = seen
    try:
        (tmp_path / "a.txt").write_text("x")
        (tmp_path / "b").mkdir()
        import sqlite3

        sqlite3.connect(tmp_path / "c.db").close()
        (tmp_path / "a.txt").read_text()  # reading is no write
    finally:
        _recording = None
    assert [line.split()[0] for line in seen] == ["open", "os.mkdir", "sqlite3.connect"]


@pytest.mark.parametrize(
    ("folder", "runs"),
    [
        (SHIPPED, [["--depth", "1"], ["--depth", "1", "--json"]]),
        (PLANTED, [[], ["--timing", "--json"]]),
    ],
    ids=["shipped", "planted"],
)
def test_check_writes_nothing(folder: Path, runs: list[list[str]], no_writes: list[str]) -> None:
    """Checking every process (sheets, mail and timers included) attempts no write; the timing
    (its paced search costs seconds on the shipped processes) on the planted ones."""
    paths = definition_files(folder)
    assert paths
    for path in paths:
        for extra in runs:
            _check(folder, path, *extra)


@pytest.mark.slow
def test_check_writes_nothing_at_full_depth(no_writes: list[str]) -> None:
    """The thorough profile: every shipped process at its default depth, with the timing."""
    for path in definition_files(SHIPPED):
        _check(SHIPPED, path)
        _check(SHIPPED, path, "--timing", "--json")
