"""Paced timing: how long a cadence takes when people act only when a timer tells them to.

The timer-only analysis (timing.py) follows timer edges alone, so a cadence whose steps are
people's actions (call, log the failed call, wait for the reminder) stops at the first reminder.
The paced reading runs the explorer's configurations (state, abstract field values, pending
timers; explore.py) under one rule: people act at once, but never in a configuration with a
pending one-shot timer: such a state is left only when its timer fires (nobody pre-empts the
reminder; they act when reminded). A recurring timer (`every`, a batch step) does not hold
people back. Human actions cost nothing; a timer firing costs its `after` duration; an `at`
timer, a recurrence or business time adds a term saying what it depends on.

Data is part of a configuration, so a loop bounded by a counter (facebook_access's
in_progress <-> waiting_next_call, bounded by `attempt`) is finite. The origins of a state are
the configurations where a person's action (or the start) *first* enters it on a paced path
from the start: for facebook_access, waiting_next_call is first entered with attempt 1 (the
first failed call), so its escalation comes 14 days later.

For each origin state and each terminal or escalation state (reached only after a timer, or
named or with a status containing "escalat") `paced` reports the shortest time (Dijkstra) and
the longest (over the acyclic part; unbounded when a timer cycle can delay the arrival).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..model import Process
from .explore import MAX_CONFIGURATIONS, Config, Explorer
from .scenario import Event
from .timing import Reach, Span, _leg_time

__all__ = ["PacedReach", "PacedReport", "paced"]

PACED_MEANING = (
    "paced (people act at once but wait for a pending timer; from a state's first entry)"
)


@dataclass(frozen=True)
class _Edge:
    """One paced step to `child`: a person's action (`timer` is "") or a timer firing."""

    child: int
    timer: str
    fixed: timedelta
    term: str


class _PacedExplorer(Explorer):
    """The explorer, expanding only paced successors and keeping every edge with its event."""

    def __init__(self, process: Process) -> None:
        super().__init__(process, depth=MAX_CONFIGURATIONS)
        self.out: list[list[_Edge]] = []
        self._known: set[tuple[int, int, str]] = set()  # (parent, child, timer): edges kept

    def config(self, state: str, canon: tuple[Any, ...], dues: Mapping[str, Any]) -> Config:
        """Without the phase of recurring timers: this search has no depth to stop it, and the
        phases of a weekly and a monthly timer would not repeat for years."""
        return (state, canon, frozenset(dues), ())

    def _people_wait(self, nid: int) -> bool:
        """Whether a one-shot timer is pending: people wait for it (the paced reading)."""
        node = self.nodes[nid]
        clocks = self.clocks[node.config[0]]
        return any(clocks[name].compiled.timer.every is None for name in node.dues)

    def _add(
        self,
        parent: int | None,
        state: str,
        canon: tuple[Any, ...],
        dues: dict[str, Any],
        event: Event,
        now: Any,
    ) -> None:
        super()._add(parent, state, canon, dues, event, now)
        while len(self.out) < len(self.nodes):
            self.out.append([])
        if parent is None:
            return
        child = self.index[self.config(state, canon, dues)]
        timer_name = event.name if event.kind == "timer" else ""
        if (parent, child, timer_name) in self._known:
            return  # many data draws lead to the same configuration: one edge does
        self._known.add((parent, child, timer_name))
        if event.kind != "timer":
            self.out[parent].append(_Edge(child, "", timedelta(0), ""))
            return
        timer = self.clocks[self.nodes[parent].config[0]][event.name].compiled.timer
        fixed, term = _leg_time(timer)
        if not term:
            fixed = event.advance  # what is left of it when other timers fired first
        self.out[parent].append(_Edge(child, event.name, fixed, term))


_Arc = tuple[int, _Edge]  # (parent, edge)


def _key(span: Span) -> tuple[timedelta, int]:
    return span.fixed, len(span.terms)


def _extend(span: Span, edge: _Edge) -> Span:
    if not edge.timer:
        return span
    terms = (*span.terms, edge.term) if edge.term else span.terms
    return Span(span.fixed + edge.fixed, terms, (*span.via, edge.timer))


@dataclass(frozen=True)
class PacedReach(Reach):
    """From the first entry of `origin`, `target` is first reached in `shortest` to `longest`.

    The fields are `Reach`'s; `longest` is None when a cycle through a timer can delay the
    arrival without bound (JSON says "unbounded").
    """

    def text(self) -> str:
        """E.g. `paced: waiting_next_call -> escalated: 14 days (shortest), 14 days (longest)`."""
        longest = "unbounded" if self.longest is None else self.longest.text()
        kind = " (terminal)" if self.terminal else ""
        return (
            f"paced: {self.origin} -> {self.target}{kind}: {self.shortest.text()} (shortest), "
            f"{longest} (longest)"
        )

    def to_json(self) -> dict[str, Any]:
        """`Reach.to_json`, with "unbounded" for a longest time that has no bound."""
        entry = super().to_json()
        if self.longest is None:
            entry["longest"] = "unbounded"
        return entry


@dataclass(frozen=True)
class PacedReport:
    """The result of `paced`; `complete` is False when the configuration limit was hit."""

    process: str
    reaches: tuple[PacedReach, ...]
    complete: bool = True

    def lines(self) -> list[str]:
        """The report as text lines, the first saying what "paced" means."""
        out = [f"  {PACED_MEANING}:"]
        out.extend(f"    {reach.text()}" for reach in self.reaches)
        if not self.reaches:
            out.append("    no terminal or escalation state is reached")
        if not self.complete:
            out.append(f"    (stopped at {MAX_CONFIGURATIONS} configurations: figures are partial)")
        return out

    def to_json(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "meaning": PACED_MEANING,
            "complete": self.complete,
            "reaches": [r.to_json() for r in self.reaches],
        }


class _Graph:
    """The paced configuration graph of one process, and the searches over it."""

    def __init__(self, explorer: _PacedExplorer) -> None:
        self.ex = explorer
        self.state = [node.config[0] for node in explorer.nodes]
        self.starts = [i for i, node in enumerate(explorer.nodes) if node.parent is None]

    def first_entries(self, state: str, *, by_anyone: bool) -> list[int]:
        """The configurations where a path from the start first enters `state`."""
        found = [i for i in self.starts if self.state[i] == state]
        seen = set(self.starts)
        todo = [i for i in self.starts if self.state[i] != state]
        while todo:
            for edge in self.ex.out[todo.pop()]:
                if self.state[edge.child] == state:
                    if by_anyone or not edge.timer:
                        found.append(edge.child)
                elif edge.child not in seen:
                    seen.add(edge.child)
                    todo.append(edge.child)
        return sorted(set(found))

    def reach(self, sources: Iterable[int], *, humans_only: bool = False) -> set[int]:
        """The configurations reachable from `sources` (by people's actions alone if asked)."""
        seen = set(sources)
        todo = list(seen)
        while todo:
            for edge in self.ex.out[todo.pop()]:
                if edge.child not in seen and not (humans_only and edge.timer):
                    seen.add(edge.child)
                    todo.append(edge.child)
        return seen

    def shortest(self, sources: Sequence[int]) -> dict[str, Span]:
        """Dijkstra: the earliest arrival in every state from `sources`."""
        best: dict[int, Span] = {}
        count = itertools.count()
        heap = [(_key(Span(timedelta(0))), 0, next(count), s, Span(timedelta(0))) for s in sources]
        while heap:
            _, _, _, nid, span = heapq.heappop(heap)
            if nid in best:
                continue
            best[nid] = span
            for edge in self.ex.out[nid]:
                if edge.child not in best:
                    longer = _extend(span, edge)
                    entry = (_key(longer), len(longer.via), next(count), edge.child, longer)
                    heapq.heappush(heap, entry)
        arrival: dict[str, Span] = {}
        for nid, span in best.items():
            known = arrival.get(self.state[nid])
            if known is None or (_key(span), len(span.via)) < (_key(known), len(known.via)):
                arrival[self.state[nid]] = span
        return arrival

    def region(self, sources: Sequence[int], target: str) -> tuple[set[int], list[_Arc]]:
        """The configurations on a path from `sources` to a first arrival in `target`, and the
        edges between them (none leave a `target` configuration)."""
        edges: list[_Arc] = []
        seen, todo = set(sources), list(sources)
        while todo:
            nid = todo.pop()
            if self.state[nid] == target:
                continue  # the first arrival ends the path
            for edge in self.ex.out[nid]:
                edges.append((nid, edge))
                if edge.child not in seen:
                    seen.add(edge.child)
                    todo.append(edge.child)
        back: dict[int, list[int]] = {}
        for nid, edge in edges:
            back.setdefault(edge.child, []).append(nid)
        useful = {n for n in seen if self.state[n] == target}
        todo = list(useful)
        while todo:
            for parent in back.get(todo.pop(), ()):
                if parent not in useful:
                    useful.add(parent)
                    todo.append(parent)
        return useful, [(a, e) for a, e in edges if a in useful and e.child in useful]

    def longest(self, sources: Sequence[int], target: str) -> Span | None:
        """The latest first arrival in `target` from `sources`; None when unbounded."""
        useful, kept = self.region(sources, target)
        member, order = _components(useful, kept)
        if any(member[a] == member[e.child] and e.timer for a, e in kept):
            return None  # a timer cycle that can still reach the target
        out: dict[int, list[tuple[int, _Edge]]] = {}
        for a, e in kept:
            if member[a] != member[e.child]:
                out.setdefault(member[a], []).append((member[e.child], e))
        best: dict[int, Span] = {member[s]: Span(timedelta(0)) for s in sources if s in useful}
        for component in order:
            span = best.get(component)
            if span is None:
                continue
            for child, edge in out.get(component, ()):
                longer = _extend(span, edge)
                known = best.get(child)
                if known is None or _key(longer) > _key(known):
                    best[child] = longer
        ends = [best[member[n]] for n in useful if self.state[n] == target and member[n] in best]
        return max(ends, key=_key) if ends else None


def _components(nodes: set[int], edges: list[_Arc]) -> tuple[dict[int, int], list[int]]:
    """Strongly connected components (Tarjan, iterative): node -> component, and the
    components in topological order (every edge goes from an earlier to a later one)."""
    succ: dict[int, list[int]] = {}
    for a, e in edges:
        succ.setdefault(a, []).append(e.child)
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    member: dict[int, int] = {}
    stack: list[int] = []
    finished: list[int] = []  # components in reverse topological order
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ.get(root, ())))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            nid, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(succ.get(child, ()))))
                elif child not in member:
                    low[nid] = min(low[nid], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[nid])
            if low[nid] == index[nid]:
                while True:
                    top = stack.pop()
                    member[top] = nid
                    if top == nid:
                        break
                finished.append(nid)
    return member, finished[::-1]


def _escalation(process: Process, name: str) -> bool:
    state = process.find_state(name)
    status = (state.status or "") if state is not None else ""
    return "escalat" in name.lower() or "escalat" in status.lower()


def paced(process: Process, *, start: Sequence[str] | None = None) -> PacedReport:
    """Shortest and longest paced times from each origin to each terminal or escalation state.

    Args:
        process: the process definition.
        start: the states to measure from (from their first entry by anyone); default: the
            initial state and every state a person's action enters.

    Returns:
        One reach per (origin state, target state), origins and targets in declared order.
    """
    explorer = _PacedExplorer(process)
    explorer.run()
    graph = _Graph(explorer)
    terminal = {s.name for s in process.states if s.terminal}
    reaches: list[PacedReach] = []
    names = [s.name for s in process.states]
    for origin in names if start is None else start:
        sources = graph.first_entries(origin, by_anyone=start is not None)
        if not sources:
            continue
        arrival = graph.shortest(sources)
        by_people = {graph.state[n] for n in graph.reach(sources, humans_only=True)}
        for target in names:
            if target == origin or target not in arrival:
                continue
            if target not in terminal and target in by_people and not _escalation(process, target):
                continue
            longest = graph.longest(sources, target)
            reach = PacedReach(origin, target, target in terminal, arrival[target], longest)
            reaches.append(reach)
    complete = len(explorer.nodes) < MAX_CONFIGURATIONS
    return PacedReport(process.id, tuple(reaches), complete)
