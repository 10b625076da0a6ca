"""Time the graph checks on a generated process of 1,000 states and 5,000 transitions.

Prints, for the same edges in the same run: building the bare networkx MultiDiGraph (the
baseline), `graph_problems`, the Mermaid and DOT renderers, and the whole path of a YAML text
through `engine.definition.loader.load_text` (parse, schema, model, every check). Usage:

    .venv/bin/python bench/bench_graph.py [STATES] [TRANSITIONS]
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta

import networkx as nx
from fulfil.engine.definition.validate.graph import graph_problems
from fulfil.engine.model import Expr, Process, State, Timer, Transition
from fulfil.engine.render import render_dot, render_mermaid


def generate(states: int, transitions: int, seed: int = 7) -> Process:
    """A valid process: a chain from the initial state to a terminal one, plus random edges."""
    rng = random.Random(seed)
    names = [f"s{i}" for i in range(states)]
    edges = [(i, i + 1) for i in range(states - 1)]
    while len(edges) < transitions:
        edges.append((rng.randrange(states - 1), rng.randrange(states)))
    moves = tuple(
        Transition(f"t{n}", (names[a],), names[b], guard=Expr("1 < 2") if n % 3 else None)
        for n, (a, b) in enumerate(edges)
    )
    timers = {
        a: Timer(f"timer{a}", f"t{n}", after=timedelta(days=1))
        for n, (a, _) in enumerate(edges)
        if n % 10 == 0
    }
    built = tuple(
        State(
            name,
            initial=i == 0,
            terminal=i == states - 1,
            timers=(timers[i],) if i in timers else (),
        )
        for i, name in enumerate(names)
    )
    return Process(id="bench", version=1, states=built, transitions=moves)


def to_yaml(process: Process) -> str:
    """The same process as YAML text for the loader."""
    lines = ["id: bench", "version: 1", "states:"]
    for state in process.states:
        lines.append(f"  {state.name}:")
        lines.append(f"    initial: {str(state.initial).lower()}")
        lines.append(f"    terminal: {str(state.terminal).lower()}")
        if state.timers:
            timer = state.timers[0]
            lines.append(
                f"    timers: [{{name: {timer.name}, after: 1d, trigger: {timer.trigger}}}]"
            )
    lines.append("transitions:")
    for move in process.transitions:
        guard = f", guard: '{move.guard.source}'" if move.guard else ""
        lines.append(
            f"  - {{trigger: {move.trigger}, source: {move.sources[0]}, dest: {move.dest}{guard}}}"
        )
    return "\n".join(lines) + "\n"


def bare_graph(process: Process) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(s.name for s in process.states)
    graph.add_edges_from((t.sources[0], t.dest) for t in process.transitions)
    return graph


def best(func: Callable[[], object], runs: int = 5) -> tuple[float, float]:
    """(best, median) wall time of several runs, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times)


def main() -> None:
    states = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    transitions = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    process = generate(states, transitions)
    errors = [p for p in graph_problems(process) if p.is_error]
    assert not errors, errors[:3]
    print(f"{states} states, {transitions} transitions")
    rows: list[tuple[str, Callable[[], object]]] = [
        ("bare networkx MultiDiGraph (baseline)", lambda: bare_graph(process)),
        ("graph_problems", lambda: graph_problems(process)),
        ("render_mermaid", lambda: render_mermaid(process)),
        ("render_dot", lambda: render_dot(process)),
    ]
    try:
        from fulfil.engine.definition.loader import load_text

        text = to_yaml(process)
        rows.append(("load_text (YAML -> schema -> model -> all checks)", lambda: load_text(text)))
    except ImportError:  # the loader is optional for this benchmark
        pass
    for label, func in rows:
        low, median = best(func, runs=3 if label.startswith("load_text") else 5)
        print(f"  {label:<52} best {low:8.1f} ms   median {median:8.1f} ms")


if __name__ == "__main__":
    main()
