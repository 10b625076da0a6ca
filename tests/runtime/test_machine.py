"""The adapter over `transitions`: which transition of a trigger runs, and what it refuses."""

from __future__ import annotations

import pytest
from fulfil.engine.runtime.machine import MachineAdapter, TransitionSpec
from hypothesis import given, settings
from hypothesis import strategies as st
from transitions import Machine, MachineError


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
    """The installed `transitions` is the exact version pyproject pins (machine.py reads its
    `Machine.events` and runs transitions as its `Transition.execute` does, which a new
    release may change)."""
    import re
    import tomllib
    from importlib.metadata import version
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    pins = [d for d in project["project"]["dependencies"] if d.startswith("transitions")]
    assert len(pins) == 1 and re.fullmatch(r"transitions==[0-9.]+", pins[0]), pins
    assert version("transitions") == pins[0].split("==")[1]


class _Model:
    state: str


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["go", "back", "stay"]),
            st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=2, unique=True),
            st.sampled_from(["a", "b", "c", None]),
            st.integers(min_value=0, max_value=9),
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from(["go", "back", "stay", "none"]),
    st.integers(min_value=0, max_value=9),
)
def test_a_fire_does_what_the_library_does(
    rows: list[tuple[str, list[str], str | None, int]], state: str, trigger: str, n: int
) -> None:
    """The adapter takes the transition, ends in the state and runs the actions the library's
    own `Event.trigger` does on a model of the same machine (internal ones included)."""
    ran: list[int] = []
    seen: list[int] = []
    specs = [
        TransitionSpec(
            name,
            tuple(sources),
            dest,
            lambda ctx, at_least=at_least, i=i: bool(seen.append(i)) or ctx >= at_least,
            lambda ctx, i=i: ran.append(i),
        )
        for i, (name, sources, dest, at_least) in enumerate(rows)
    ]
    ours = MachineAdapter(["a", "b", "c"], "a", specs)
    try:
        got: object = ours.fire(state, trigger, n)
    except LookupError:
        got = LookupError
    ours_ran, ours_seen = list(ran), list(seen)
    ran.clear()
    seen.clear()
    library = Machine(
        model=None,
        states=["a", "b", "c"],
        initial="a",
        transitions=[
            {
                "trigger": s.trigger,
                "source": list(s.sources),
                "dest": s.dest,
                "conditions": [lambda event, c=s.condition: c(event.kwargs["ctx"])],
                "after": [lambda event, a=s.action: a(event.kwargs["ctx"])],
            }
            for s in specs
        ],
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
    )
    model = _Model()
    library.add_model(model, initial=state)
    try:
        taken = model.trigger(trigger, ctx=n)
        expected: object = model.state if taken else None
    except (AttributeError, MachineError):
        expected = LookupError
    assert (got, ours_ran, ours_seen) == (expected, ran, seen)
