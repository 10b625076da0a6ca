"""`fulfil test` with CliRunner: output lines, summary and exit codes (0, 1, 2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fulfil.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "processes" / "scenarios"
FAILING = """\
process: ticket
scenarios:
  - name: passes
    steps:
      - start: {data: {customer_email: a@example.com}}
      - expect: {state: open}
  - name: fails on the state
    steps:
      - start: {data: {customer_email: a@example.com}}
      - expect: {state: solved}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(FIXTURES / "ticket.yaml", tmp_path / "ticket.yaml")
    return tmp_path


def fulfil(*args: str, processes: Path = FIXTURES) -> Result:
    return CliRunner().invoke(main, ["--processes", str(processes), "test", *args])


def test_default_runs_the_processes_folder() -> None:
    """Without paths every scenario file of --processes runs; all pass: exit 0."""
    result = fulfil()
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "PASS ticket :: a ticket is nudged, taken and solved",
        "1 passed, 0 failed",
    ]


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_failing_scenario_exits_1_with_the_step(folder: Path, store: str) -> None:
    """A failing scenario prints FAIL with its step, expected and found; exit 1."""
    path = folder / "ticket.scenarios.yaml"
    path.write_text(FAILING, encoding="utf-8")
    result = fulfil("--db", store, str(path))
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        "PASS ticket :: passes",
        "FAIL ticket :: fails on the state",
        f"  {path}:10:9: step 2",
        "    - expect: {state: solved}",
        "  expected: state == solved",
        "  found:    state == open",
        "1 passed, 1 failed",
    ]


def test_select_runs_matching_scenarios_only(folder: Path) -> None:
    """-k runs only the scenarios whose name contains the text."""
    (folder / "ticket.scenarios.yaml").write_text(FAILING, encoding="utf-8")
    result = fulfil("-k", "PASSES", str(folder))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "1 passed, 0 failed"


def test_malformed_file_exits_2_with_location(folder: Path) -> None:
    """A malformed file is reported FILE:LINE:COL and the run exits 2."""
    path = folder / "bad.scenarios.yaml"
    path.write_text(FAILING.replace("- expect: {state: open}", "- advance: soon"), "utf-8")
    result = fulfil(str(path))
    assert result.exit_code == 2, result.output
    assert f"ERROR {path}" in result.output
    assert f"{path}:6:18: error: bad duration 'soon'" in result.output
    assert result.output.splitlines()[-1] == "0 passed, 0 failed, 1 file with errors"


def test_unknown_process_exits_2_at_the_process_key(folder: Path) -> None:
    """A scenario file naming a process its folder lacks is located at `process`."""
    path = folder / "x.scenarios.yaml"
    path.write_text(FAILING.replace("process: ticket", "process: tikcet"), "utf-8")
    result = fulfil(str(path))
    assert result.exit_code == 2, result.output
    assert f"{path}:1:10: error: no process 'tikcet' in {folder} (did you mean 'ticket'?)" in (
        result.output
    )


def test_missing_path_exits_2() -> None:
    """A path that does not exist is a usage error (exit 2, message on stderr)."""
    result = fulfil("nowhere.scenarios.yaml")
    assert result.exit_code == 2
    assert "no such file or folder: nowhere.scenarios.yaml" in result.output


def test_folder_without_scenarios_exits_2(tmp_path: Path) -> None:
    """A folder holding no scenario file is a usage error."""
    result = fulfil(str(tmp_path))
    assert result.exit_code == 2
    assert "no *.scenarios.yaml files in" in result.output
