"""`process_problems`: every expression, template and reference of a model is checked."""

from __future__ import annotations

import pytest
from fulfil.engine.definition.loader import load_text
from fulfil.engine.errors import DefinitionError

BASE = """\
id: mini
version: 1
fields:
  note: {type: text}
  due_on: {type: date}
states:
  open:
    initial: true
  done: {terminal: true}
transitions:
  - trigger: finish
    source: open
    dest: done
    actions:
      - append: {field: note, line: "done {due_on}"}
"""


def _errors(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "m.yaml")
    return [f"{p.location}: {p.message}" for p in caught.value.errors]


def test_invariants_must_be_boolean() -> None:
    """An invariant is type-checked as a bool at its value."""
    text = BASE + 'invariants:\n  has_note: "len(note)"\n'
    assert _errors(text) == ["m.yaml:17:14: the expression must be a bool, but it is an int"]


def test_task_data_expressions_are_checked() -> None:
    """Task data are expressions over the parent's fields, so unknown names are errors."""
    text = BASE + "tasks:\n  t: {process: mini, data: {note: nte}}\n"
    assert _errors(text) == ["m.yaml:17:35: unknown name 'nte'"]


def test_notify_templates_are_checked() -> None:
    """Subject and body holes name known fields."""
    text = BASE + '      - notify: {to: [note], subject: "{du_on}", body: "{due_on}"}\n'
    assert _errors(text) == ["m.yaml:16:41: unknown name 'du_on'"]


def test_a_valid_timer_at_expression_loads() -> None:
    """`at` may compute a date from a date field."""
    timer = '    timers:\n      - {at: "due_on - days(1)", trigger: finish}\n'
    process = load_text(BASE.replace("    initial: true\n", "    initial: true\n" + timer)).process
    assert process.states[0].timers[0].at is not None


def test_problems_are_sorted_and_unique() -> None:
    """Two mistakes come out in document order, each once."""
    text = BASE.replace('"done {due_on}"', '"{x} {y}"')
    assert _errors(text) == ["m.yaml:15:39: unknown name 'x'", "m.yaml:15:43: unknown name 'y'"]


def test_repeated_expressions_are_judged_at_every_place() -> None:
    """A text fine in one role (a template hole) is still type-checked as a guard, and a
    repeated bad guard is reported at each of its places."""
    guarded = "    dest: done\n    guard: due_on\n"
    text = BASE.replace("    dest: done\n", guarded) + (
        "  - {trigger: close, source: open, dest: done, guard: due_on}\n"
        '  - {trigger: keep, source: open, dest: done, guard: "due_on != none"}\n'
        '  - {trigger: keep2, source: open, dest: done, guard: "due_on != none"}\n'
    )
    assert _errors(text) == [
        "m.yaml:14:12: the expression must be a bool, but it is a date",
        "m.yaml:17:55: the expression must be a bool, but it is a date",
    ]
