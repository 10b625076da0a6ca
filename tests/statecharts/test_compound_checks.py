"""Load-time checks of compound states: each problem located at what to change."""

from __future__ import annotations

import pytest
from fulfil.engine.definition.loader import load_text
from fulfil.engine.errors import DefinitionError, Problem

BASE = """\
id: nest
version: 1
roles:
  agent: {}
fields:
  ok: {type: bool, default: false}
states:
  open:
    initial: true
    states:
      first:
        initial: true
      second: {}
  done:
    terminal: true
transitions:
  - {trigger: next, source: first, dest: second}
  - {trigger: finish, source: open, dest: done}
"""


def errors(text: str) -> list[Problem]:
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "nest.yaml")
    return [p for p in caught.value.problems if p.is_error]


def where(problem: Problem) -> tuple[int, int]:
    return (problem.location.line, problem.location.column)


def test_the_base_loads_without_problems() -> None:
    """The fixture every case below changes is valid and warns about nothing."""
    warnings = load_text(BASE, "nest.yaml").warnings
    assert [w.message for w in warnings if "never used" not in w.message] == []


def test_a_compound_state_without_an_initial_state_is_located_with_its_states() -> None:
    """No child marked initial: the error is at the compound state and names its states."""
    found = errors(BASE.replace("      first:\n        initial: true\n", "      first: {}\n"))
    problem = next(p for p in found if "has no initial state" in p.message)
    assert where(problem) == (8, 3)
    assert "mark one of its states `initial: true`: first, second" in problem.hint


def test_a_transition_to_a_compound_state_without_initial_is_located_at_its_dest() -> None:
    """`dest: open` when `open` has no initial state: the error is at the dest value."""
    text = BASE.replace("      first:\n        initial: true\n", "      first: {}\n")
    text += "  - {trigger: again, source: second, dest: open}\n"
    problem = next(p for p in errors(text) if "goes to compound state 'open'" in p.message)
    assert where(problem) == (18, 44)


def test_a_second_initial_state_in_a_compound_state_is_refused() -> None:
    """Two children marked initial: the second is the error."""
    text = BASE.replace("      second: {}\n", "      second: {initial: true}\n")
    problem = next(p for p in errors(text) if "second initial state of 'open'" in p.message)
    assert problem.location.line == 13


def test_an_unreachable_state_inside_a_compound_state_is_located() -> None:
    """Without `next`, `second` cannot be reached: the error is at its key."""
    text = BASE.replace("  - {trigger: next, source: first, dest: second}\n", "")
    problem = next(p for p in errors(text) if "cannot be reached" in p.message)
    assert (where(problem), "'second'" in problem.message) == ((13, 7), True)


def test_a_trap_inside_a_compound_state_is_located() -> None:
    """`finish` written on `first` only: `second` can never end."""
    text = BASE.replace("source: open, dest: done", "source: first, dest: done")
    problem = next(p for p in errors(text) if "is a trap" in p.message)
    assert where(problem) == (13, 7)


def test_inner_and_inherited_transitions_guarded_differently_warn() -> None:
    """An inner `finish` guarded `ok` and the inherited one guarded `not ok` may overlap:
    a warning at the inner one, naming where the other is written."""
    text = BASE.replace(
        "  - {trigger: finish, source: open, dest: done}\n",
        "  - {trigger: finish, source: open, dest: done, guard: 'not ok'}\n"
        "  - {trigger: finish, source: second, dest: first, guard: ok}\n",
    )
    warnings = load_text(text, "nest.yaml").warnings
    problem = next(p for p in warnings if "overlaps the one it inherits" in p.message)
    assert problem.location.line == 19
    assert "from 'open'" in problem.message


def test_an_inner_transition_replacing_an_inherited_one_is_not_a_problem() -> None:
    """An unguarded inner `finish` replaces `open`'s in `second`: nothing to report."""
    text = BASE + "  - {trigger: finish, source: second, dest: first}\n"
    warnings = load_text(text, "nest.yaml").warnings
    assert [w.message for w in warnings if "never used" not in w.message] == []


def test_a_misspelt_key_inside_a_nested_state_gets_a_did_you_mean() -> None:
    """The schema reaches into compound states: `intial` is located with its fix."""
    problem = errors(BASE.replace("        initial: true\n", "        intial: true\n"))[0]
    assert where(problem) == (12, 9)
    assert "did you mean 'initial'" in str(problem)


def test_an_unknown_state_suggests_a_compound_state() -> None:
    """`source: opn` is unknown; the compound state `open` is suggested."""
    problem = errors(BASE.replace("source: open,", "source: opn,"))[0]
    assert "unknown state 'opn'" in problem.message and "open" in problem.hint


@pytest.mark.parametrize("key", ["terminal: true", "sla: {due: 1d, owner: agent}"])
def test_keys_of_plain_states_are_refused_on_a_compound_state(key: str) -> None:
    """A compound state cannot be terminal or carry an SLA: put it on its states."""
    text = BASE.replace(
        "    initial: true\n    states:", f"    initial: true\n    {key}\n    states:"
    )
    problem = next(p for p in errors(text) if "applies to plain states" in p.message)
    assert problem.location.line == 10


def test_a_compound_timer_must_be_handled_in_every_state_inside() -> None:
    """`open`'s timer fires `remind`, which only `first` handles: located at its trigger."""
    text = (
        BASE.replace(
            "    initial: true\n    states:",
            "    initial: true\n    timers:\n      - {name: remind, after: 1d, trigger: remind}\n"
            "    states:",
        )
        + "  - {trigger: remind, source: first, dest: second}\n"
    )
    problem = next(p for p in errors(text) if "timer 'remind' of compound state" in p.message)
    assert "'second'" in problem.message and problem.location.line == 11


def test_state_names_are_unique_across_levels() -> None:
    """A nested state named like a top-level one is refused at the second."""
    problem = errors(BASE.replace("      second: {}\n", "      done: {}\n"))[0]
    assert "declared twice" in problem.message
