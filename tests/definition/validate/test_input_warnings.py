"""Load-time checks of `input:`: the warning about a field changed after a guard decided on it."""

from __future__ import annotations

import re

from fulfil.engine.definition.loader import load_text
from fulfil.engine.definition.validate.inputs import guard_reads
from fulfil.engine.errors import DefinitionError
from fulfil.engine.model import Process
from hypothesis import assume, given, settings
from hypothesis import strategies as st

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


def _naive_warnings(process: Process) -> set[tuple[str, str, str]]:
    """The rule read literally, one search per question: (decided, other, field) triples."""

    def reach(starts: set[str]) -> set[str]:
        seen, todo = set(starts), list(starts)
        while todo:
            state = todo.pop()
            for t in process.transitions_from(state):
                after = t.target(state)
                if after not in seen:
                    seen.add(after)
                    todo.append(after)
        return seen

    found = set()
    for decided in process.transitions:
        fields = guard_reads(process, decided)
        later = reach({decided.target(s) for s in decided.sources})
        for other in process.transitions:
            if other.trigger == decided.trigger:
                continue
            for_good = any(
                not reach({other.target(s)}) & set(decided.sources)
                for s in later.intersection(other.sources)
            )
            for name in other.input:
                if for_good and name in fields and name not in guard_reads(process, other):
                    found.add((decided.trigger, other.trigger, name))
    return found


@st.composite
def _random_process(draw: st.DrawFn) -> str:
    states = draw(st.integers(3, 8))
    lines = [
        "id: rnd",
        "version: 1",
        "roles: {clerk: {}}",
        "fields: {a: {type: bool, default: false}, b: {type: bool, default: false}}",
        "states:",
        "  s0: {initial: true}",
        *(f"  s{n}: {{}}" for n in range(1, states)),
        "  end: {terminal: true}",
        "transitions:",
        f"  - {{trigger: t_end, source: s{states - 1}, dest: end, roles: [clerk]}}",
    ]
    for n in range(1, states):  # a chain keeps every state reachable
        lines.append(f"  - {{trigger: t_chain{n}, source: s{n - 1}, dest: s{n}, roles: [clerk]}}")
    for n in range(draw(st.integers(0, 10))):
        source = draw(st.integers(0, states - 1))
        dest = draw(st.sampled_from([*(f"s{k}" for k in range(states)), "end"]))
        guard = draw(st.sampled_from(["", "a", "b", "a and b"]))
        given = draw(st.sampled_from(["[]", "[a]", "[b]", "[a, b]"]))
        extra = f", guard: '{guard}'" if guard else ""
        lines.append(
            f"  - {{trigger: t{n}, source: s{source}, dest: {dest}, input: {given}, "
            f"roles: [clerk]{extra}}}"
        )
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None)
@given(_random_process())
def test_the_warning_follows_the_rule_read_literally(text: str) -> None:
    """The warnings found through the components' reach sets are those a search per question
    finds, on random graphs with guards and inputs."""
    try:
        loaded = load_text(text, "rnd.yaml")
    except DefinitionError:
        assume(False)
        return
    pattern = re.compile(r"'(\w+)' may set '(\w+)' after the guard of '(\w+)'")
    warned = {
        (m.group(3), m.group(1), m.group(2))  # (decided, other, field)
        for w in loaded.warnings
        if (m := pattern.match(w.message))
    }
    assert warned == _naive_warnings(loaded.process)
