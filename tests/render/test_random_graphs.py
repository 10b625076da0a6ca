"""Random valid process graphs: validation accepts them, and diagrams name every part."""

from __future__ import annotations

import re
from datetime import timedelta

from fulfil.engine.definition.validate.graph import graph_problems
from fulfil.engine.model import Expr, Process, State, Timer, Transition
from fulfil.engine.render import render_dot, render_mermaid
from fulfil.engine.render.mermaid import node_id
from hypothesis import given, settings
from hypothesis import strategies as st

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)


@st.composite
def valid_processes(draw: st.DrawFn) -> Process:
    """A process whose every state is reachable and can reach a terminal state.

    Non-terminal states come first, terminal ones last. A spanning edge from an earlier
    non-terminal state reaches each state; an edge to a later state leads every non-terminal
    state towards the end. Random extra edges follow; every transition has its own trigger.
    """
    names = draw(st.lists(NAMES, min_size=2, max_size=12, unique=True))
    terminals = draw(st.integers(1, max(1, len(names) - 1)))
    active = len(names) - terminals
    edges = [(draw(st.integers(0, min(i, active) - 1)), i) for i in range(1, len(names))]
    edges += [(i, draw(st.integers(i + 1, len(names) - 1))) for i in range(active)]
    edges += draw(
        st.lists(st.tuples(st.integers(0, active - 1), st.integers(0, len(names) - 1)), max_size=15)
    )
    triggers = draw(st.lists(NAMES, min_size=len(edges), max_size=len(edges), unique=True))
    guarded = draw(st.lists(st.booleans(), min_size=len(edges), max_size=len(edges)))
    timed = draw(st.lists(st.booleans(), min_size=len(edges), max_size=len(edges)))
    transitions = tuple(
        Transition(trigger, (names[a],), names[b], guard=Expr("1 < 2") if guard else None)
        for (a, b), trigger, guard in zip(edges, triggers, guarded, strict=True)
    )
    timers: dict[str, list[Timer]] = {}
    for (a, _), trigger, on in zip(edges, triggers, timed, strict=True):
        if on:
            timers.setdefault(names[a], []).append(
                Timer(f"timer_{trigger}", trigger, after=timedelta(days=1))
            )
    states = tuple(
        State(
            name,
            initial=i == 0,
            terminal=i >= active,
            timers=tuple(timers.get(name, ())),
        )
        for i, name in enumerate(names)
    )
    return Process(id="random", version=1, states=states, transitions=transitions)


def word(text: str, name: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) is not None


@settings(max_examples=150, deadline=None)
@given(valid_processes())
def test_random_valid_graphs_have_no_errors(process: Process) -> None:
    """Validation accepts every generated valid graph (warnings allowed)."""
    assert [p for p in graph_problems(process) if p.is_error] == []


@settings(max_examples=100, deadline=None)
@given(valid_processes())
def test_renderers_name_every_state_and_trigger(process: Process) -> None:
    """Mermaid and DOT name every state, and draw every transition with its trigger: DOT as an
    arrow, or inside the state's box for a transition to the same state."""
    mermaid, dot = render_mermaid(process), render_dot(process)
    lines = [line.strip() for line in dot.splitlines()]
    for state in process.states:
        assert word(mermaid, node_id(state.name))
        assert f'"{state.name}" [label=<' in dot
        assert f">{state.name}</FONT></B>" in dot
    for t in process.transitions:
        arrow = f"{node_id(t.sources[0])} --> {node_id(t.dest)} : "
        assert any(
            line.strip().startswith(arrow) and word(line, t.trigger)
            for line in mermaid.splitlines()
        )
        if t.dest == t.sources[0]:
            start = f'"{t.dest}" [label=<'
            found = [line for line in lines if line.startswith(start)]
            assert found and word(found[0].split("<HR/>")[1], t.trigger)
        else:
            start = f'"{t.sources[0]}" -> "{t.dest}" [label="'
            assert any(
                line.startswith(start) and word(line.replace("\\n", " "), t.trigger)
                for line in lines
            )
