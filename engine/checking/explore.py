"""Bounded exhaustive exploration of a process definition, breadth first.

A configuration is (state, canonical field values, pending timers of the state); see
`engine.checking.abstraction` for how values are kept finite. From each configuration the
explorer fires every trigger the state handles, with every data drawn for the fields its
transitions' guards and `requires` read (and with no data), as each group of roles that the
transitions tell apart; and it lets the next pending timer fire. Guards, actions and timers run
through the runtime's compiled process (`engine.runtime.compiled`), so they mean exactly what
they mean when an instance runs: the first transition (in declared order) whose role,
`requires` and guard pass is the one that fires.

Triggers the process's own timers and fulfilment lists fire are the engine's alone, as at run
time; the triggers a request's rules fire stand for its tasks (which are not explored) and are
fired as by people.

Breadth first, the first path found to a configuration is a shortest one, and so is every
finding's scenario. Configurations reached at different times are merged (the clock is not
part of a configuration); the path kept is the first one found.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ..definition.firing import clock_fired
from ..errors import ExecutionError, Location, Problem
from ..expressions import CompiledExpr, ExprType, compile_expr, compile_template
from ..model import (
    AUTOMATIC,
    AppendLine,
    AppendRow,
    CreateJob,
    Notify,
    Process,
    RecordActivity,
    SetField,
    StartProcess,
    Timer,
    Transition,
)
from ..runtime.compiled import CompiledProcess, CompiledTransition
from ..runtime.step import Step, builtins
from ..runtime.timers import CompiledTimer, schedule_timer
from ..store.base import InstanceRecord
from .abstraction import CLOCK, Abstraction
from .findings import Findings
from .report import AUTO_DEPTH, MAX_AUTO_DEPTH, CheckReport
from .scenario import ACTOR, Event
from .timing import dominated_timers

__all__ = ["AUTO_DEPTH", "MAX_AUTO_DEPTH", "MAX_CONFIGURATIONS", "Node", "explore"]

MAX_CONFIGURATIONS = 200_000  # a safety stop; the shipped processes stay far below it

# (state, the fields' canonical values, the pending timers, the phase of the recurring ones)
Config = tuple[str, tuple[Any, ...], frozenset[str], tuple[tuple[str, timedelta], ...]]


@dataclass(frozen=True)
class Node:
    """A configuration reached, with the shortest path's last event and clock."""

    config: Config
    parent: int | None
    event: Event
    depth: int
    now: datetime
    dues: Mapping[str, datetime]  # pending timer -> due time, on this path


@dataclass(frozen=True)
class _Clock:
    """A timer of a state, or its batch step (which fires its trigger at each occurrence)."""

    name: str
    trigger: str
    data: Mapping[str, Any]
    compiled: CompiledTimer
    loc: Location


class Explorer:
    """One exploration of one process; `run` fills `nodes`, `edges` and `findings`."""

    def __init__(self, process: Process, depth: int) -> None:
        self.process = process
        self.depth = depth
        # Only the process's own clocks fire as the engine here: the request's rules and emits
        # stand for tasks the explorer does not run, so people may fire their triggers.
        self.cp = CompiledProcess(process, clock_fired(process))
        self.ab = Abstraction.of(process)
        self.names = [f.name for f in process.fields]
        self.nodes: list[Node] = []
        self.index: dict[Config, int] = {}
        self.edges: list[set[int]] = []
        self.expanded: list[bool] = []
        self.fired: set[int] = set()
        self.timers_fired: set[tuple[str, str]] = set()
        self.first_in: dict[str, int] = {}
        self.findings = Findings(self)
        self.queue: deque[int] = deque()
        self.frontier: list[int] = []  # reached at the depth, not expanded
        self.record = InstanceRecord(
            "check", process.id, process.version, process.initial.name, {}, CLOCK, CLOCK, CLOCK
        )
        self.invariants: list[tuple[str, CompiledExpr]] = [
            (inv.name, compile_expr(inv.expr, self.cp.env, expect=ExprType.BOOL))
            for inv in process.invariants
        ]
        self.owners: dict[tuple[str, str], str] = {}  # (state, timer) -> the state declaring it
        self.clocks = {s.name: self._clocks(s.name) for s in process.states}
        self._handlers: dict[tuple[str, str], list[tuple[int, CompiledTransition]]] = {}
        self._data: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._roles: dict[tuple[str, str], list[str | None]] = {}
        self.position = {n: i for i, n in enumerate(self.names)}
        self.reads = [
            action_reads(process, ct.transition, self.cp.env) for ct in self.cp.transitions
        ]
        self._effects: dict[tuple[Any, ...], tuple[tuple[int, Any], ...] | str] = {}
        self._enabled: dict[tuple[Any, ...], tuple[int, ...] | Problem] = {}
        self._guard_reads: dict[tuple[str, str], tuple[str, ...]] = {}

    def _clocks(self, state: str) -> dict[str, _Clock]:
        spec = self.process.find_state(state)
        assert spec is not None
        out: dict[str, _Clock] = {}
        # the timers of the state and of the compound states around it
        for owner, ct in self.cp.timers_around(state):
            declared = self.process.find_state(owner) or self.process.find_compound(owner)
            if declared is None or ct.timer not in declared.timers:
                continue  # the engine's SLA notices: they change nothing
            self.owners[(state, ct.timer.name)] = owner
            out[ct.timer.name] = _Clock(
                ct.timer.name,
                ct.timer.trigger,
                self.cp.codec.check(dict(ct.timer.data)),
                ct,
                ct.timer.loc,
            )
        if spec.batch is not None:
            timer = Timer("batch", spec.batch.trigger, every=spec.batch.every, loc=spec.batch.loc)
            out["batch"] = _Clock("batch", timer.trigger, {}, CompiledTimer(timer), timer.loc)
        return out

    # -- lookups, cached per (state, trigger) ---------------------------------------------------
    def handlers(self, state: str, trigger: str) -> list[tuple[int, CompiledTransition]]:
        """The compiled transitions of `trigger` from `state`, with their index, in order."""
        key = (state, trigger)
        if key not in self._handlers:
            found = [
                (i, ct)
                for i, ct in enumerate(self.cp.transitions)
                if ct.transition.trigger == trigger and state in ct.transition.sources
            ]
            # inner transitions first, then those inherited from compound states (the runtime's
            # order, `Process.transitions_from`)
            depth = self.process.depth_of
            self._handlers[key] = sorted(found, key=lambda item: depth(item[1].transition, state))
        return self._handlers[key]

    def _data_for(self, state: str, trigger: str) -> list[dict[str, Any]]:
        key = (state, trigger)
        if key not in self._data:
            read: set[str] = set()
            accepted: set[str] = set()
            for _, ct in self.handlers(state, trigger):
                read.update(ct.transition.requires)
                accepted.update(self.process.accepts(ct.transition))
                if ct.guard is not None:
                    read |= ct.guard.names
            # what the trigger's data may set (the engine refuses any other field), among the
            # fields it reads or some guard decides on (a credit flag given at submission)
            wanted = (read | self.ab.control) & accepted
            self._data[key] = self.ab.combinations(self.ab.drawable(wanted))
        return self._data[key]

    def _roles_for(self, state: str, trigger: str) -> list[str | None]:
        """One role per group of roles the transitions treat alike (None: no roles declared)."""
        key = (state, trigger)
        if key not in self._roles:
            declared = [r.name for r in self.process.roles]
            cts = [ct for _, ct in self.handlers(state, trigger)]
            if not declared:
                self._roles[key] = [None]
            elif any(ct.guard and ct.guard.names & {"role", "actor"} for ct in cts):
                self._roles[key] = list(declared)
            else:
                groups: dict[tuple[bool, ...], str] = {}
                for role in declared:
                    sign = tuple(
                        not ct.transition.roles or role in ct.transition.roles for ct in cts
                    )
                    if any(sign):
                        groups.setdefault(sign, role)
                self._roles[key] = list(groups.values())
        return self._roles[key]

    def values_of(self, node: Node) -> dict[str, Any]:
        """The typed field values of a node's configuration."""
        return self.ab.values(dict(zip(self.names, node.config[1], strict=True)))

    # -- the search -----------------------------------------------------------------------------
    def run(self) -> None:
        """Explore breadth first from every start, up to `depth` events after the start."""
        self._starts()
        self._search()

    def _search(self) -> None:
        while self.queue and len(self.nodes) < MAX_CONFIGURATIONS:
            nid = self.queue.popleft()
            if self.nodes[nid].depth < self.depth:
                self._expand(nid)
            else:
                self.frontier.append(nid)  # `deepen` goes on from here

    def deepen(self, depth: int) -> None:
        """Go on to `depth` events, from the configurations left at the previous depth: the
        same search as a run to `depth` from the start, without doing it again."""
        self.depth = depth
        self.queue.extend(self.frontier)
        self.frontier.clear()
        self._search()

    def unfired(self) -> bool:
        """Whether a transition, or a timer that is not always pre-empted, has not fired yet."""
        if len(self.fired) < len(self.cp.transitions):
            return True
        dominated = {(d.state, d.timer.name) for d in dominated_timers(self.process)}
        return any(
            (state, name) not in self.timers_fired and (state, name) not in dominated
            for state, clocks in self.clocks.items()
            for name in clocks
        )

    def _starts(self) -> None:
        initial = self.process.initial
        required = [f.name for f in self.process.fields if f.required]
        control = self.ab.drawable(self.ab.control & set(self.process.start_accepts))
        fixed = {n: self.ab.domains[n][0] for n in required if n not in control}
        role = initial.owner or next((r.name for r in self.process.roles), None)
        drawn = self.ab.combinations(control, required=[n for n in required if n in control])
        for data in drawn:
            given = {**self.ab.values(fixed), **data}
            values = self.cp.codec.initial(given)
            variables = {**values, **builtins(initial.name, CLOCK, ACTOR, role)}
            event = Event("start", data=given, role=role)
            dues = self._enter(None, initial.name, variables, CLOCK, {}, event, None)
            canon = tuple(self.ab.canon(n, values.get(n)) for n in self.names)
            self._add(None, initial.name, canon, dues, event, CLOCK)

    def _expand(self, nid: int) -> None:
        node = self.nodes[nid]
        self.expanded[nid] = True
        state = node.config[0]
        if state in self.cp.terminal:
            return
        if state in self.cp.automatic_from:
            # as the runtime does: an automatic transition whose guard holds is taken at once,
            # before time passes or anyone acts
            event = Event("fire", AUTOMATIC, {}, None)
            if self._fire(nid, event, node.now, internal=True) == "moved":
                return
        # Timers first: of two equally short paths, the one where time passes instead of
        # someone firing the timer's trigger by hand is the one a process owner expects.
        if node.dues:
            first = min(node.dues.values())
            for name, due in node.dues.items():
                if due == first:
                    self._tick(nid, name, due)
        if self._people_wait(nid):
            return
        for trigger in self.cp.hand_triggers_from.get(state, ()):
            for data in self._data_for(state, trigger):
                for role in self._roles_for(state, trigger):
                    event = Event("fire", trigger, data, role)
                    self._fire(nid, event, node.now, internal=False)

    def _people_wait(self, nid: int) -> bool:
        """Whether nobody acts in this configuration before its due timers fire.

        Here: right after a timer, when the same tick fires the next one at once.
        """
        node = self.nodes[nid]
        if not node.dues or node.event.kind != "timer":
            return False
        return min(node.dues.values()) <= node.now

    def _tick(self, nid: int, name: str, due: datetime) -> None:
        node = self.nodes[nid]
        state = node.config[0]
        clock = self.clocks[state][name]
        at = max(node.now, due)
        event = Event("timer", name, clock.data, advance=at - node.now)
        self.timers_fired.add((state, name))
        if clock.compiled.unless is not None:
            try:
                # read on the instance's fields, as at run time (not the timer's data)
                variables = {**self.values_of(node), **builtins(state, at, ACTOR, None)}
                spent = clock.compiled.spent(variables)
            except ExecutionError as exc:
                self.findings.error(nid, event, clock.compiled.unless.loc, str(exc))
                return
            if spent:  # as the runtime does: nothing happens, a recurring timer waits again
                dues = {k: v for k, v in node.dues.items() if k != name}
                again = (
                    schedule_timer(clock.compiled, {}, at) if clock.compiled.timer.every else None
                )
                if again is not None:
                    dues[name] = again
                self._add(nid, state, node.config[1], dues, event, at)
                return
        if self._fire(nid, event, at, internal=True, trigger=clock.trigger) == "refused":
            dues = {k: v for k, v in node.dues.items() if k != name}
            self._add(nid, state, node.config[1], dues, event, at)

    def _read(self, node: Node, event: Event, at: datetime, name: str) -> Any:
        """The (hashable) value an expression reads as `name` when `event` fires in `node`."""
        if name in event.data:
            return _hashable(event.data[name])
        position = self.position.get(name)
        if position is not None:
            return node.config[1][position]
        special = {"state": node.config[0], "now": at, "today": at.date(), "role": event.role}
        return special.get(name, ACTOR)

    def _variables(self, node: Node, event: Event, at: datetime) -> dict[str, Any]:
        state = node.config[0]
        return {**self.values_of(node), **event.data, **builtins(state, at, ACTOR, event.role)}

    def _fire(
        self, nid: int, event: Event, at: datetime, *, internal: bool, trigger: str | None = None
    ) -> str:
        """Fire one event; "moved", "refused" or "error" (an expression failed)."""
        node = self.nodes[nid]
        state = node.config[0]
        handlers = self.handlers(state, trigger or event.name)
        reads = self._guard_reads.get((state, trigger or event.name))
        if reads is None:
            reads = self._guard_reads[(state, trigger or event.name)] = guard_reads(handlers)
        key = (state, trigger or event.name, event.role, internal)
        key += tuple(self._read(node, event, at, n) for n in reads)
        enabled = self._enabled.get(key)
        if enabled is None:
            enabled = self._enabled[key] = self._allowed(node, event, at, internal, handlers)
        if isinstance(enabled, Problem):
            self.findings.error(nid, event, enabled.location, enabled.message)
            return "error"
        if not enabled:
            return "refused"
        chosen = [self.cp.transitions[i] for i in enabled]
        self._overlaps(nid, event, chosen, state)
        index, ct = enabled[0], chosen[0]
        effect = self._effect(index, ct, node, event, at, internal)
        if isinstance(effect, str):
            self.findings.error(nid, event, ct.transition.loc, effect)
            return "error"
        self.fired.add(index)
        canon = list(node.config[1])
        for name, value in event.data.items():
            canon[self.position[name]] = self.ab.canon(name, value)
        for position, value in effect:
            canon[position] = value
        dest = ct.transition.target(state)
        after = tuple(canon)
        dues: dict[str, datetime] = {}
        if ct.transition.internal:
            dues = self._stay(state, node, event, at)
            self._rearm_idle(state, None, dues, node, event, at)
        elif self.process.compounds:
            dues = self._move(ct, node, event, at, after, nid)
            _, entries = self.cp.moves(ct.transition, state)
            self._rearm_idle(dest, set(entries), dues, node, event, at)
        elif self.clocks[dest]:
            entered = {
                **self.ab.values(dict(zip(self.names, after, strict=True))),
                **builtins(dest, at, ACTOR, event.role),
            }
            dues = self._enter(state, dest, entered, at, node.dues, event, nid)
        self._add(nid, dest, after, dues, event, at)
        return "moved"

    def _overlaps(
        self, nid: int, event: Event, chosen: list[CompiledTransition], state: str
    ) -> None:
        """Report transitions enabled together with the one taken, at its level: an inner
        transition taking priority over an inherited one is meant (validation warns where
        both are guarded differently)."""
        level = self.process.depth_of(chosen[0].transition, state)
        for other in chosen[1:]:
            if self.process.depth_of(other.transition, state) == level:
                self.findings.overlap(nid, event, chosen[0], other, state)

    def _move(
        self,
        ct: CompiledTransition,
        node: Node,
        event: Event,
        at: datetime,
        after: tuple[Any, ...],
        nid: int,
    ) -> dict[str, datetime]:
        """The timers after a transition of a process with compound states: those of the
        states it leaves are cancelled, those of the states it enters armed, the others run on."""
        state = node.config[0]
        dest = ct.transition.target(state)
        exits, entries = self.cp.moves(ct.transition, state)
        dues = {n: d for n, d in node.dues.items() if self.owners.get((state, n)) not in exits}
        entered = {
            **self.ab.values(dict(zip(self.names, after, strict=True))),
            **builtins(dest, at, ACTOR, event.role),
        }
        again = set(exits) & set(entries)
        kept = {n: d for n, d in node.dues.items() if self.owners.get((state, n)) in again}
        dues.update(self._enter(state, dest, entered, at, kept, event, nid, set(entries)))
        if event.kind == "timer" and self.owners.get((state, event.name)) not in exits:
            # the timer that fired it belongs to a compound state the move stays in: it is
            # spent, and a recurring one is armed for its next time (as the runtime does)
            self._spend(dues, state, event.name, entered, at)
        return dues

    def _allowed(
        self,
        node: Node,
        event: Event,
        at: datetime,
        internal: bool,
        handlers: list[tuple[int, CompiledTransition]],
    ) -> tuple[int, ...] | Problem:
        """The indexes of the transitions whose role, `requires` and guard pass, in order.

        A guard that fails gives a Problem (its location, the message) instead.
        """
        variables = self._variables(node, event, at)
        enabled: list[int] = []
        for index, ct in handlers:
            step = Step(self.cp, self.record, variables, ACTOR, event.role, at, internal)
            try:
                if ct.allows(step):
                    enabled.append(index)
            except ExecutionError as exc:
                return Problem(ct.transition.loc, str(exc))
        return tuple(enabled)

    def _effect(
        self,
        index: int,
        ct: CompiledTransition,
        node: Node,
        event: Event,
        at: datetime,
        internal: bool,
    ) -> tuple[tuple[int, Any], ...] | str:
        """What the transition's actions change (position, canonical value), or an error.

        Actions are run once per distinct value of what they read: the result is the same
        for every configuration that agrees on it (their texts and notices are not kept).
        """
        key = (index, *(self._read(node, event, at, n) for n in self.reads[index]))
        record = self.record
        if self.cp.has_entry_exit:  # what runs depends on the states left and entered
            key += (node.config[0],)
            record = replace(record, state=node.config[0])
        found = self._effects.get(key)
        if found is None:
            variables = self._variables(node, event, at)
            step = Step(self.cp, record, dict(variables), ACTOR, event.role, at, internal)
            try:
                ct.run(step)
            except ExecutionError as exc:
                found = str(exc)
            else:
                found = tuple(
                    (i, self.ab.canon(n, step.vars.get(n)))
                    for i, n in enumerate(self.names)
                    if step.vars.get(n) is not variables.get(n)
                )
            self._effects[key] = found
        return found

    def _rearm_idle(
        self,
        dest: str,
        entries: set[str] | None,
        dues: dict[str, datetime],
        node: Node,
        event: Event,
        at: datetime,
    ) -> None:
        """As the runtime's executor does: a step arms the `idle` timers of the states the
        instance stays in afresh (those pending, and the one that fired it)."""
        for name, clock in self.clocks[dest].items():
            if clock.compiled.timer.idle is None:
                continue
            if entries is not None and self.owners.get((dest, name)) in entries:
                continue  # entered by this step: armed on entry
            fired = event.kind == "timer" and event.name == name
            if name in node.dues or fired:
                due = schedule_timer(clock.compiled, {}, at)
                if due is not None:
                    dues[name] = due

    def _stay(self, state: str, node: Node, event: Event, at: datetime) -> dict[str, datetime]:
        """The timers after an internal transition, as the runtime's executor keeps them: all
        run on but the one that fired it, which is armed again when it recurs."""
        dues = dict(node.dues)
        if event.kind == "timer":
            self._spend(dues, state, event.name, {}, at)
        return dues

    def _spend(
        self,
        dues: dict[str, datetime],
        state: str,
        name: str,
        variables: Mapping[str, Any],
        at: datetime,
    ) -> None:
        """The timer `name` of `state` fired: it is spent, and a recurring one is armed for
        its next time (as the runtime does)."""
        dues.pop(name, None)
        clock = self.clocks[state].get(name)
        if clock is not None and clock.compiled.timer.every is not None:
            due = schedule_timer(clock.compiled, variables, at)
            if due is not None:
                dues[name] = due

    def _enter(
        self,
        source: str | None,
        dest: str,
        variables: Mapping[str, Any],
        now: datetime,
        old: Mapping[str, datetime],
        event: Event,
        nid: int | None,
        entries: set[str] | None = None,
    ) -> dict[str, datetime]:
        """The timers `dest` schedules on entry, as the runtime's executor does; with
        `entries`, only those of the states entered (`old`: those of states re-entered)."""
        pending = set(old) if source == dest or (entries is not None and old) else None
        dues: dict[str, datetime] = {}
        for name, clock in self.clocks[dest].items():
            if entries is not None and self.owners.get((dest, name)) not in entries:
                continue
            try:
                due = schedule_timer(clock.compiled, variables, now)
            except ExecutionError as exc:
                self.findings.error(nid, event, clock.loc, str(exc))
                continue
            if due is None:
                continue
            stale = clock.compiled.at is not None and due <= now
            if pending is not None and stale and name not in pending:
                continue
            dues[name] = due
        return dues

    def _add(
        self,
        parent: int | None,
        state: str,
        canon: tuple[Any, ...],
        dues: dict[str, datetime],
        event: Event,
        now: datetime,
    ) -> None:
        config = self.config(state, canon, dues)
        nid = self.index.get(config)
        if nid is None:
            nid = len(self.nodes)
            depth = 0 if parent is None else self.nodes[parent].depth + 1
            self.nodes.append(Node(config, parent, event, depth, now, dues))
            self.index[config] = nid
            self.edges.append(set())
            self.expanded.append(False)
            self.first_in.setdefault(state, nid)
            self.queue.append(nid)
            self._check_invariants(nid)
        if parent is not None:
            self.edges[parent].add(nid)

    def config(self, state: str, canon: tuple[Any, ...], dues: Mapping[str, datetime]) -> Config:
        """A configuration: what the instance holds and which timers are pending.

        When a timer fires is left out (time has no end), except between recurring timers
        of different periods: a weekly and a monthly timer keep coming due in turn, so their
        offset tells how many weeks are left before the month's, and without it the weekly
        firing would lead back to a configuration already seen and the monthly never fire.
        """
        clocks = self.clocks[state]
        recurring = [(name, due) for name, due in dues.items() if clocks[name].compiled.timer.every]
        phase: tuple[tuple[str, timedelta], ...] = ()
        if len(recurring) > 1:
            first = min(due for _, due in recurring)
            phase = tuple(sorted((name, due - first) for name, due in recurring))
        return (state, canon, frozenset(dues), phase)

    def _check_invariants(self, nid: int) -> None:
        node = self.nodes[nid]
        variables = {**self.values_of(node), **builtins(node.config[0], node.now, ACTOR, None)}
        for name, expr in self.invariants:
            try:
                holds = expr.evaluate(variables) is True
            except ExecutionError as exc:
                self.findings.error(nid, None, expr.loc, str(exc))
                continue
            if not holds:
                self.findings.invariant(nid, name, expr)

    def path(self, nid: int | None) -> list[Event]:
        """The events of the shortest path to a node, start first."""
        events: list[Event] = []
        while nid is not None:
            node = self.nodes[nid]
            events.append(node.event)
            nid = node.parent
        return events[::-1]


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def guard_reads(handlers: list[tuple[int, CompiledTransition]]) -> tuple[str, ...]:
    """The names the roles, `requires` and guards of some transitions read."""
    names = {"role"}
    for _, ct in handlers:
        names.update(ct.transition.requires)
        if ct.guard is not None:
            names |= ct.guard.names
    return tuple(sorted(names))


def action_reads(
    process: Process, transition: Transition, env: Mapping[str, ExprType]
) -> tuple[str, ...]:
    """The names a transition's actions read (their expressions and templates), and those of
    the entry and exit actions it may run."""
    names: set[str] = set()
    states = process.all_states()
    entry_exit = tuple(a for s in states for a in (*s.on_enter, *s.on_exit))
    for action in (*transition.actions, *entry_exit):
        if isinstance(action, SetField):
            names |= compile_expr(action.value, env).names
        elif isinstance(action, AppendLine):
            names |= compile_template(action.line, env).names
        elif isinstance(action, RecordActivity):
            names |= compile_expr(action.outcome, env).names if action.outcome else set()
            names |= compile_template(action.note, env).names if action.note else set()
        elif isinstance(action, Notify):
            names |= compile_template(action.subject, env).names
            names |= compile_template(action.body, env).names
        elif isinstance(action, AppendRow):
            for _, template in action.columns:
                names |= compile_template(template, env).names
        elif isinstance(action, CreateJob):
            for _, expr in action.payload:
                names |= compile_expr(expr, env).names
        elif isinstance(action, StartProcess):
            for _, expr in action.data:
                names |= compile_expr(expr, env).names
    return tuple(sorted(names))


def explore(process: Process, *, depth: int | None = 8) -> CheckReport:
    """Explore every configuration of `process` reachable within `depth` events of a start.

    Args:
        process: a loaded process definition.
        depth: how many events (fires and timer firings) after the start to explore; None
            chooses it from the process: from `AUTO_DEPTH` on, one more event at a time while
            some transition or timer has not fired yet, up to `MAX_AUTO_DEPTH` (a process whose
            main path is longer than 8 events is covered without being told its length).

    Returns:
        The report: invariant violations, expressions failing at run time, configurations that
        cannot reach a terminal state, overlapping guards, transitions and timers that never
        fire; each with the shortest scenario showing it.
    """
    began = time.perf_counter()
    explorer = Explorer(process, AUTO_DEPTH if depth is None else depth)
    explorer.run()
    while (
        depth is None
        and explorer.depth < MAX_AUTO_DEPTH
        and explorer.frontier
        and len(explorer.nodes) < MAX_CONFIGURATIONS
        and explorer.unfired()
    ):
        explorer.deepen(explorer.depth + 1)
    findings = explorer.findings.finish()
    exhausted = not any(
        not done and node.config[0] not in explorer.cp.terminal
        for node, done in zip(explorer.nodes, explorer.expanded, strict=True)
    )
    return CheckReport(
        process.id,
        process.source_file,
        explorer.depth,
        len(explorer.nodes),
        exhausted,
        time.perf_counter() - began,
        tuple(findings),
        chosen=depth is None,
    )
