"""The auditor page's rules section: in plain words, who may fire each trigger, what its data
may change, what must be recorded before a state is left, and which steps cannot be skipped.

Everything is derived from the model, so the words cannot drift from what the engine enforces:
what the engine fires itself from `firing.engine_fired` (the runtime's own computation), roles
from `roles`, data from `input` and `requires`, conditions from guards, and the steps
that cannot be skipped from the state graph (a state every path from the start to a terminal
state goes through: its dominators, networkx).
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

import networkx as nx

from ..definition.firing import engine_fired
from ..model import Process, Transition

__all__ = ["rules_section", "unskippable"]


def _graph(process: Process) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(s.name for s in process.states)
    for t in process.transitions:
        for source in t.sources:
            if t.dest is not None and t.dest != source:
                graph.add_edge(source, t.dest)
    return graph


def unskippable(process: Process) -> dict[str, list[str]]:
    """Terminal state -> the states every path from the start to it goes through, in order."""
    graph = _graph(process)
    start = process.initial.name
    idom = nx.immediate_dominators(graph, start)
    out: dict[str, list[str]] = {}
    for state in process.states:
        if not state.terminal or state.name not in idom:
            continue
        chain, node = [], idom[state.name]
        while node != start:
            chain.append(node)
            node = idom[node]
        out[state.name] = list(reversed(chain))
    return out


def _who(t: Transition, engine: dict[str, str]) -> str:
    by_engine = engine.get(t.trigger)
    if t.roles:
        people = "by hand: " + ", ".join(f"<code>{escape(r)}</code>" for r in t.roles)
        return people + (f"; also {escape(by_engine)}" if by_engine else "")
    if by_engine:
        return f"by {escape(by_engine)} only"
    return "any role of the process"


def _may_change(process: Process, t: Transition) -> str:
    accepts = process.accepts(t)
    if not accepts:
        return "nothing (any data is refused)"
    return ", ".join(f"<code>{escape(n)}</code>" for n in accepts)


def _when(process: Process, t: Transition) -> str:
    parts = []
    if t.requires:
        names = ", ".join(f"<code>{escape(n)}</code>" for n in t.requires)
        parts.append(f"only once {names} {'is' if len(t.requires) == 1 else 'are'} recorded")
    if t.guard is not None:
        parts.append(f"only when <code>{escape(t.guard.source)}</code>")
    return "; ".join(parts) or "always"


def _state_name(process: Process, name: str) -> str:
    state = process.find_state(name)
    shown = f" ({escape(state.status)})" if state is not None and state.status else ""
    return f"<code>{escape(name)}</code>{shown}"


def rules_section(process: Process, family: Iterable[Process] = ()) -> str:
    """The `Rules` section: one line per transition, then the steps that cannot be skipped.

    `family` is the catalog the process runs in: its requests' rules and emits fire some of its
    triggers too (`firing.engine_fired`, the computation the engine refuses people by).
    """
    engine = engine_fired(process, family)
    rows = []
    for t in process.transitions:
        sources = ", ".join(escape(s) for s in t.sources)
        to = "stays" if t.dest is None else f"to {escape(t.dest)}"
        rows.append(
            f"<li><code>{escape(t.trigger)}</code> (from {sources}, {to}): fired "
            f"{_who(t, engine)}; its data may change {_may_change(process, t)}; "
            f"{_when(process, t)}.</li>"
        )
    start = process.start_accepts
    start_line = (
        "<li><code>start</code>: its data may set "
        + (", ".join(f"<code>{escape(n)}</code>" for n in start) or "nothing")
        + ".</li>"
    )
    steps = []
    for terminal, chain in unskippable(process).items():
        through = " → ".join(_state_name(process, s) for s in chain) or "no step in between"
        steps.append(f"<li>to reach {_state_name(process, terminal)}: {through}</li>")
    read_only = [f.name for f in process.fields if f.name not in process.settable()]
    kept = ", ".join(f"<code>{escape(n)}</code>" for n in read_only) or "none"
    return "\n".join(
        [
            '<div class="rules">',
            "<h3>Rules</h3>",
            "<p>Who may fire each trigger, what its data may change, and when it may fire. "
            "The engine refuses anything else, and records the refusal.</p>",
            "<ul>",
            start_line,
            *rows,
            "</ul>",
            f"<p>Set only by the process itself (read-only to people): {kept}.</p>",
            "<p>Steps that cannot be skipped (every path goes through them):</p>",
            "<ul>",
            *steps,
            "</ul>",
            "</div>",
        ]
    )
