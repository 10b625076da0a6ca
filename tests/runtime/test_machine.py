"""The adapter over `transitions`: which transition of a trigger runs, and what it refuses."""

from __future__ import annotations

import pytest
from fulfil.engine.runtime.machine import MachineAdapter, TransitionSpec


def adapter(ran: list[str]) -> MachineAdapter[int]:
    return MachineAdapter(
        ["a", "b", "c"],
        "a",
        [
            TransitionSpec("go", ("a",), "b", lambda n: n > 5, lambda n: ran.append("to b")),
            TransitionSpec("go", ("a",), "c", lambda n: n > 0, lambda n: ran.append("to c")),
        ],
    )


def test_the_first_transition_whose_condition_passes_runs() -> None:
    """Of two transitions of one trigger, the first allowed one moves and runs its action."""
    ran: list[str] = []
    assert adapter(ran).fire("a", "go", 3) == "c"
    assert adapter(ran).fire("a", "go", 9) == "b"
    assert ran == ["to c", "to b"]


def test_every_condition_refused_gives_none() -> None:
    """When every condition refuses, nothing runs and the result is None."""
    ran: list[str] = []
    assert adapter(ran).fire("a", "go", 0) is None
    assert ran == []


@pytest.mark.parametrize(("state", "trigger"), [("b", "go"), ("a", "stop")])
def test_a_trigger_without_transition_from_the_state_is_a_lookup_error(
    state: str, trigger: str
) -> None:
    """A trigger unknown, or without a transition from the state, raises LookupError."""
    with pytest.raises(LookupError, match=trigger):
        adapter([]).fire(state, trigger, 9)


def test_transitions_is_the_pinned_version() -> None:
    """The installed `transitions` is the exact version pyproject pins (machine.py uses its
    Transition.execute and EventData, which a new release may change)."""
    import re
    import tomllib
    from importlib.metadata import version
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    pins = [d for d in project["project"]["dependencies"] if d.startswith("transitions")]
    assert len(pins) == 1 and re.fullmatch(r"transitions==[0-9.]+", pins[0]), pins
    assert version("transitions") == pins[0].split("==")[1]
