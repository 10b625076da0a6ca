"""`fulfil check` reads definitions only: it leaves the working directory as it found it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from fulfil.cli import main
from fulfil.engine.definition.loader import definition_files

SHIPPED = Path(__file__).parents[2] / "processes"
PLANTED = Path(__file__).parents[1] / "processes" / "checking"


def _definitions(folder: Path) -> list[Path]:
    return definition_files(folder)


@pytest.mark.parametrize("folder", [SHIPPED, PLANTED], ids=["shipped", "planted"])
def test_check_leaves_the_working_directory_unchanged(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking every process (sheets, mail and timers included) creates no file or folder."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    checked = 0
    for path in _definitions(folder):
        for extra in ([], ["--timing", "--json"]):
            result = runner.invoke(main, ["--processes", str(folder), "check", str(path), *extra])
            assert result.exit_code in (0, 1), (path.name, result.output)
        checked += 1
    assert checked > 0
    assert sorted(tmp_path.iterdir()) == []
