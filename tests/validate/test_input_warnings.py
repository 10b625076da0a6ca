"""Load-time checks of `input:`: the warning about a field changed after a guard decided on it."""

from __future__ import annotations

from fulfil.engine.loader import load_text

BASE = """
id: chain
version: 1
roles:
  clerk: {}
  approver: {}
fields:
  credit: {type: bool, default: false}
  note: {type: string}
states:
  draft: {initial: true}
  review: {}
  finance: {}
  done: {terminal: true}
transitions:
  - trigger: submit
    source: draft
    dest: review
    input: [credit]
    roles: [clerk]
  - trigger: approve
    source: review
    dest: finance
    guard: "credit"
    roles: [approver]
  - trigger: approve
    source: review
    dest: done
    guard: "not credit"
    roles: [approver]
  - trigger: finish
    source: finance
    dest: done
    input: [NOTE]
    roles: [approver]
"""


def _warnings(text: str) -> list[str]:
    warnings = load_text(text, "chain.yaml").warnings
    return [f"{w.location.line}: {w.message}" for w in warnings if "may set" in w.message]


def test_a_field_set_for_good_after_a_guard_decided_on_it_is_warned_at_the_input() -> None:
    """Finance's step may clear the credit that sent the request to Finance: a warning there."""
    [warning] = _warnings(BASE.replace("NOTE", "credit"))
    assert warning.startswith("34: 'finish' may set 'credit' after the guard of 'approve'")


def test_no_warning_when_the_decision_is_taken_again_afterwards() -> None:
    """A change before resubmitting (the guard decides again) or of another field is fine."""
    assert _warnings(BASE.replace("NOTE", "note")) == []
    looping = BASE.replace("NOTE", "credit").replace(
        "  - trigger: finish\n    source: finance\n    dest: done",
        "  - trigger: finish\n    source: finance\n    dest: draft",
    )
    assert _warnings(looping) == []
