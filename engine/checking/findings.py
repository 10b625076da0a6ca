"""Turning what the explorer saw into findings, each with its shortest scenario.

Overlaps, invariant violations and failing expressions are recorded while the explorer runs
(the first one recorded is the shortest, since it explores breadth first). Traps, transitions
that never fire and timers that never fire need the whole explored graph: `Findings.finish`
derives them at the end.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import networkx as nx

from ..errors import Location
from ..expressions import CompiledExpr
from ..runtime.compiled import CompiledTransition
from .report import KINDS, Finding
from .scenario import Event, scenario
from .timing import dominated_timers

if TYPE_CHECKING:
    from .explore import Explorer

__all__ = ["Findings"]


def _shown(values: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {n: values.get(n) for n in sorted(set(names)) if n in values}


def _text(values: Mapping[str, Any]) -> str:
    def one(value: Any) -> str:
        if value is None:
            return "unset"
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return ", ".join(f"{k}={one(v)}" for k, v in values.items())


def _label(ct: CompiledTransition) -> str:
    guard = f"guard `{ct.guard.source}`" if ct.guard is not None else "no guard"
    loc = ct.transition.loc
    return f"the one at line {loc.line} ({guard})"


class Findings:
    """The findings of one exploration, one per problem (the first found is kept)."""

    def __init__(self, explorer: Explorer) -> None:
        self.ex = explorer
        self.found: dict[tuple[Any, ...], Finding] = {}

    def _scenario(
        self, nid: int | None, event: Event | None, name: str, expect: Mapping[str, Any]
    ) -> dict[str, Any]:
        events = self.ex.path(nid) + ([event] if event is not None else [])
        return scenario(name, events, expect)

    def _keep(self, key: tuple[Any, ...], make: Any) -> None:
        if key not in self.found:
            self.found[key] = make()

    # -- recorded while exploring -----------------------------------------------------------
    def error(self, nid: int | None, event: Event | None, loc: Location, message: str) -> None:
        """An expression or action failed: the runtime would refuse this event."""
        state = self.ex.nodes[nid].config[0] if nid is not None else self.ex.process.initial.name
        what = event.describe() if event is not None else "an invariant"
        self._keep(
            ("error", loc, message),
            lambda: Finding(
                "error",
                f"in state '{state}': {message}",
                loc,
                self._scenario(nid, event, f"{what} fails in {state}", {}),
            ),
        )

    def overlap(
        self,
        nid: int,
        event: Event,
        first: CompiledTransition,
        other: CompiledTransition,
        state: str,
    ) -> None:
        """Two transitions of one trigger are enabled for the same configuration and data."""
        key = ("guard_overlap", first.transition.loc, other.transition.loc)
        if key in self.found:
            return
        values = {**self.ex.values_of(self.ex.nodes[nid]), **event.data}
        read = (first.guard.names if first.guard else frozenset()) | (
            other.guard.names if other.guard else frozenset()
        )
        shown = _shown(values, read)
        trigger = first.transition.trigger
        message = (
            f"'{trigger}' from state '{state}' enables two transitions at once"
            + (f" when {_text(shown)}" if shown else "")
            + f": {_label(first)} and {_label(other)}; the first declared fires, going to "
            f"'{first.transition.target(state)}' instead of '{other.transition.target(state)}'"
        )
        name = f"{trigger} in {state} enables two transitions"
        expect = {"state": first.transition.target(state)}
        self.found[key] = Finding(
            "guard_overlap", message, other.transition.loc, self._scenario(nid, event, name, expect)
        )

    def invariant(self, nid: int, name: str, expr: CompiledExpr) -> None:
        """An invariant is false in a reachable configuration."""
        if ("invariant", name) in self.found:
            return
        node = self.ex.nodes[nid]
        shown = _shown(self.ex.values_of(node), expr.names)
        state = node.config[0]
        message = f"invariant '{name}' (`{expr.source}`) is false in state '{state}'" + (
            f" with {_text(shown)}" if shown else ""
        )
        expect: dict[str, Any] = {"state": state}
        if shown:
            expect["fields"] = shown
        made = self._scenario(nid, None, f"invariant {name} is broken", expect)
        self.found[("invariant", name)] = Finding("invariant", message, expr.loc, made)

    # -- derived from the whole graph ---------------------------------------------------------
    def finish(self) -> list[Finding]:
        """Every finding, traps and never-firing transitions and timers included, sorted."""
        self._traps()
        self._silent_transitions()
        self._silent_timers()
        order = {kind: i for i, kind in enumerate(KINDS)}
        return sorted(self.found.values(), key=lambda f: (order[f.kind], f.location))

    def _within(self) -> str:
        return "" if self._exhausted() else f" within {self.ex.depth} events"

    def _exhausted(self) -> bool:
        ex = self.ex
        return all(
            done or node.config[0] in ex.cp.terminal
            for node, done in zip(ex.nodes, ex.expanded, strict=True)
        )

    def _good(self) -> list[bool]:
        """Nodes that reach a terminal or waiting state, or the unexplored frontier."""
        ex = self.ex
        good = []
        for node, done in zip(ex.nodes, ex.expanded, strict=True):
            spec = ex.process.find_state(node.config[0])
            good.append(not done or spec is None or spec.terminal or spec.waiting)
        preds: list[list[int]] = [[] for _ in ex.nodes]
        for source, targets in enumerate(ex.edges):
            for target in targets:
                preds[target].append(source)
        todo = deque(i for i, ok in enumerate(good) if ok)
        while todo:
            for source in preds[todo.popleft()]:
                if not good[source]:
                    good[source] = True
                    todo.append(source)
        return good

    def _exit_fields(self, state: str) -> set[str]:
        names: set[str] = set()
        for _, ct in (
            pair
            for trigger in self.ex.cp.triggers_from.get(state, ())
            for pair in self.ex.handlers(state, trigger)
        ):
            names.update(ct.transition.requires)
            if ct.guard is not None:
                names |= ct.guard.names
        return names

    def _culprits(self, good: list[bool]) -> set[str]:
        """The states where instances end up stuck (a closed group of trapped configurations).

        A state that is doomed only because every way leads on to such a state is not one.
        """
        graph = nx.DiGraph()
        for nid, ok in enumerate(good):
            if not ok:
                graph.add_node(nid)
                graph.add_edges_from((nid, t) for t in self.ex.edges[nid])
        groups = nx.condensation(graph)
        return {
            self.ex.nodes[nid].config[0]
            for group in groups
            if groups.out_degree(group) == 0
            for nid in groups.nodes[group]["members"]
        }

    def _traps(self) -> None:
        ex = self.ex
        good = self._good()
        culprits = self._culprits(good)
        reported: set[str] = set()
        for nid, ok in enumerate(good):
            state = ex.nodes[nid].config[0]
            if ok or state in reported or state not in culprits:
                continue
            reported.add(state)
            spec = ex.process.find_state(state)
            assert spec is not None
            shown = _shown(ex.values_of(ex.nodes[nid]), self._exit_fields(state))
            message = f"no terminal state can be reached from state '{state}'" + (
                f" with {_text(shown)}" if shown else ""
            )
            message += ": every way out is refused or leads back (mark it `waiting: true` if "
            message += "it may wait forever)"
            expect: dict[str, Any] = {"state": state}
            if shown:
                expect["fields"] = shown
            made = self._scenario(nid, None, f"stuck in {state}", expect)
            self.found[("trap", state)] = Finding("trap", message, spec.loc, made)

    def _silent_transitions(self) -> None:
        ex = self.ex
        for index, ct in enumerate(ex.cp.transitions):
            if index in ex.fired:
                continue
            t = ct.transition
            reached = [s for s in t.sources if s in ex.first_in]
            to = f"to '{t.dest}'" if t.dest is not None else "(internal)"
            head = f"'{t.trigger}' from {'/'.join(t.sources)} {to} never fires"
            if not reached:
                why = f"{head}{self._within()}: its source state is never reached"
                made = None
            else:
                why = (
                    f"{head}{self._within()}: in every configuration reached in "
                    f"'{reached[0]}' its roles, `requires` or guard refuse it, or an earlier "
                    f"transition of '{t.trigger}' fires instead"
                )
                made = self._scenario(
                    ex.first_in[reached[0]], None, f"{t.trigger} never fires", {"state": reached[0]}
                )
            self.found[("never_fires", index)] = Finding("never_fires", why, t.loc, made)

    def _silent_timers(self) -> None:
        ex = self.ex
        dominated = {(d.state, d.timer.name): d for d in dominated_timers(ex.process)}
        # a compound state's timer runs in every state inside it: it fires if it fired in one
        owned = {(ex.owners.get(key, key[0]), key[1]) for key in ex.timers_fired}
        told: set[tuple[str, str]] = set()
        for state, clocks in ex.clocks.items():
            for name, clock in clocks.items():
                owner = ex.owners.get((state, name), state)
                if (state, name) in ex.timers_fired or (owner, name) in owned:
                    continue
                if owner != state:
                    if (owner, name) in told:
                        continue
                    told.add((owner, name))
                head = f"timer '{name}' of state '{owner}' never fires{self._within()}"
                made = None
                if (state, name) in dominated:
                    why = dominated[(state, name)].message()
                elif state not in ex.first_in:
                    why = f"{head}: the state is never reached"
                else:
                    scheduled = any(
                        name in node.dues for node in ex.nodes if node.config[0] == state
                    )
                    why = head + (
                        ": the state is always left before it is due"
                        if scheduled
                        else ": it is never scheduled (its `at` reads unset fields)"
                    )
                if state in ex.first_in:
                    made = self._scenario(
                        ex.first_in[state], None, f"timer {name} never fires", {"state": state}
                    )
                self.found[("timer_never_fires", state, name)] = Finding(
                    "timer_never_fires", why, clock.loc, made
                )
