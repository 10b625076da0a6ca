"""The checking and testing tools on a process with compound states."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from fulfil.cli import main
from fulfil.engine.checking import explore, timing
from fulfil.engine.loader import load_file
from fulfil.engine.testing.machine import process_state_machine
from fulfil.engine.testing.strategies import clock_advances, event_sequences
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

DESK = Path(__file__).parents[1] / "processes" / "statecharts" / "desk.yaml"


def test_check_explores_a_compound_process_as_the_runtime_runs_it() -> None:
    """`fulfil check` finds nothing in `desk`: inner transitions win without an overlap, and
    `open`'s digest timer fires although `working`'s nudge moves the instance inside `open`."""
    report = explore(load_file(DESK).process, depth=8)
    assert [f.kind for f in report.findings] == []
    assert report.configurations > 0


def test_check_command_runs_on_a_compound_process() -> None:
    """The CLI's `check` exits 0 on it."""
    result = CliRunner().invoke(main, ["check", str(DESK)])
    assert result.exit_code == 0, result.output
    assert "no findings" in result.output


def test_timing_reads_compound_processes() -> None:
    """The timing analysis runs on a compound process without failing."""
    timing(load_file(DESK).process)


def test_state_machine_factory_keeps_the_engine_promises_on_compound_states() -> None:
    """Random starts, fires and clock moves on `desk` break no engine property."""
    machine = process_state_machine(DESK)
    run_state_machine_as_test(machine, settings=settings(max_examples=15))


@settings(max_examples=10)
@given(data=st.data())
def test_strategies_draw_for_compound_processes(data: st.DataObject) -> None:
    """Event sequences and clock moves (with the compound states' timers) are drawn."""
    process = load_file(DESK).process
    assert data.draw(event_sequences(process, max_len=5)) is not None
    assert data.draw(clock_advances(process)) is not None
