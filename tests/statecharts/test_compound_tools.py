"""The checking and testing tools on a process with compound states."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from fulfil.cli import main
from fulfil.engine.checking import explore, timing
from fulfil.engine.definition.loader import load_file, load_text
from fulfil.engine.testing.stateful import process_state_machine
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


ROTA = """
id: rota
version: 1
roles:
  lead: {title: Lead}
fields:
  note: {type: text}
states:
  running:
    initial: true
    timers:
      - {name: swap, WHEN, trigger: swap}
    states:
      day:
        initial: true
      night: {}
  done:
    terminal: true
transitions:
  - {trigger: swap, source: day, dest: night}
  - {trigger: swap, source: night, dest: day}
  - {trigger: finish, source: night, dest: done, roles: [lead]}
"""


def test_check_takes_a_compound_states_timer_as_spent_after_an_inner_move() -> None:
    """A recurring timer of a compound state moving the instance between the states inside it
    is armed for its next time, as the runtime does: people act after it, and it moves the
    instance back. (It stayed due at the time it fired: the checker waited on it forever.)"""
    when = "every: {every: daily, at: '09:00'}"
    report = explore(load_text(ROTA.replace("WHEN", when), "rota.yaml").process)
    assert [f.lines()[0] for f in report.findings] == []


def test_check_takes_a_compound_states_one_shot_timer_as_fired_after_an_inner_move() -> None:
    """A one-shot timer of a compound state fires once: after it, people act (no trap), and
    the move back it would make a second time never happens."""
    report = explore(load_text(ROTA.replace("WHEN", "after: 1d"), "rota.yaml").process)
    (finding,) = report.findings
    assert finding.kind == "never_fires"
    assert finding.message.startswith("'swap' from night to 'day' never fires")
