"""The properties `engine.testing.stateful` checks, as plain functions over store snapshots.

Each function returns a list of problems (one sentence each; empty: the property holds), so the
state machine can report all of them with the scenario that led there. They read the store
through read-only transactions and the runtime's compiled process; they never write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from ..errors import DataError, ExecutionError
from ..expressions import CompiledExpr, ExprType, compile_expr, field_types
from ..messages.addresses import address_problem
from ..model import FieldType, Process, Transition
from ..runtime.compiled import CompiledProcess
from ..runtime.step import Step, builtins
from ..runtime.tasks import outcome_of, task_instance_id
from ..store.base import EventRecord, InstanceRecord, OutboxRecord, Store, TimerRecord

__all__ = [
    "World",
    "change_problems",
    "compile_invariants",
    "enabled_transitions",
    "invariant_problems",
    "overlap_problem",
    "refusal_problems",
    "release_problems",
    "snapshot",
    "state_problems",
    "timer_overlaps",
    "timer_problems",
    "type_problems",
]

MOVES = ("transition", "timer")  # the kinds of events that move an instance
Compiled = Callable[[InstanceRecord], CompiledProcess]


@dataclass(frozen=True)
class World:
    """Everything the engine stored, as one read transaction saw it."""

    instances: dict[str, InstanceRecord]
    events: dict[str, list[EventRecord]]
    timers: dict[str, list[TimerRecord]]
    outbox: list[OutboxRecord]


def snapshot(store: Store) -> World:
    """Read every instance, its history and timers, and the outbox."""
    with store.transaction(write=False) as tx:
        ids = sorted(tx.instance_ids())
        instances = {i: r for i in ids if (r := tx.get_instance(i)) is not None}
        return World(
            instances,
            {i: tx.events(i) for i in instances},
            {i: tx.timers(i) for i in instances},
            tx.outbox(),
        )


def _moment(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


# --- refusals and changes ---------------------------------------------------------------------


def refusal_problems(before: World, after: World, target: str | None, audited: bool) -> list[str]:
    """A refused call changed nothing; a role refusal only audits one `refused` event.

    Args:
        before: the world before the call.
        after: the world after it was refused.
        target: the instance the call named (None for a start).
        audited: the refusal was a role refusal, which the engine records in history.
    """
    problems: list[str] = []
    if set(after.instances) != set(before.instances):
        added = sorted(set(after.instances) - set(before.instances))
        problems.append(f"a refused call stored instances {added}")
    for iid, old in before.instances.items():
        new = after.instances.get(iid)
        events, old_events = after.events.get(iid, []), before.events[iid]
        if audited and iid == target and new is not None:
            if len(events) != len(old_events) + 1 or events[-1].kind != "refused":
                problems.append(f"the role refusal on {iid} is not audited by one `refused` event")
            new = replace(new, rev=old.rev, seq=old.seq, head=old.head)
            events = events[: len(old_events)]
        if new != old:
            problems.append(f"a refused call changed instance {iid}: {old} became {new}")
        if events != old_events:
            problems.append(f"a refused call changed the history of {iid}")
        if after.timers.get(iid) != before.timers[iid]:
            problems.append(f"a refused call changed the timers of {iid}")
    if after.outbox != before.outbox:
        problems.append("a refused call changed the outbox")
    return problems


def change_problems(before: World, after: World) -> list[str]:
    """History is append-only, and every change of an instance's state or data has its event."""
    problems: list[str] = []
    for iid, record in after.instances.items():
        events = after.events[iid]
        if not events or events[0].kind != "start":
            problems.append(f"{iid} has no start event")
        old = before.instances.get(iid)
        if old is None:
            continue
        old_events = before.events[iid]
        if events[: len(old_events)] != old_events:
            problems.append(f"the history of {iid} was rewritten, not appended to")
        changed = (record.state, record.data) != (old.state, old.data)
        if changed and len(events) <= len(old_events):
            problems.append(
                f"{iid} changed ({old.state} -> {record.state}, data {old.data} -> "
                f"{record.data}) without a history event"
            )
    for iid in before.instances:
        if iid not in after.instances:
            problems.append(f"instance {iid} disappeared")
    return problems


def state_problems(world: World, compiled: Compiled) -> list[str]:
    """Every instance is in a declared state, and none moved after reaching a terminal one."""
    problems: list[str] = []
    for iid, record in world.instances.items():
        cp = compiled(record)
        if cp.process.find_state(record.state) is None:
            problems.append(f"{iid} is in '{record.state}', which {cp.process.id} does not declare")
        closed: EventRecord | None = None
        for event in world.events[iid]:
            if event.kind not in MOVES or event.dest is None:
                continue
            if closed is not None:
                problems.append(
                    f"{iid} left terminal state '{closed.dest}' (event {closed.seq}) by "
                    f"'{event.trigger}' to '{event.dest}' (event {event.seq})"
                )
                break
            if event.dest in cp.terminal:
                closed = event
    return problems


# --- data ---------------------------------------------------------------------------------------


def _fits(kind: FieldType, values: tuple[str, ...], value: Any) -> bool:
    checks: dict[FieldType, Callable[[Any], bool]] = {
        FieldType.STRING: lambda v: isinstance(v, str),
        FieldType.EMAIL: lambda v: address_problem(v) is None,
        FieldType.TEXT: lambda v: isinstance(v, str),
        FieldType.INT: lambda v: isinstance(v, int) and not isinstance(v, bool),
        FieldType.BOOL: lambda v: isinstance(v, bool),
        FieldType.ENUM: lambda v: isinstance(v, str) and v in values,
        FieldType.LIST: lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
        FieldType.DATE: lambda v: isinstance(v, str) and _is_date(v),
        FieldType.DATETIME: lambda v: (m := _moment(v)) is not None and m.tzinfo is not None,
    }
    return checks[kind](value)


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def type_problems(process: Process, record: InstanceRecord) -> list[str]:
    """The stored data has exactly the declared fields, each of its type, required ones set."""
    problems: list[str] = []
    declared = {f.name for f in process.fields}
    extra = sorted(set(record.data) - declared)
    if extra:
        problems.append(f"{record.id} stores undeclared fields {extra}")
    for spec in process.fields:
        value = record.data.get(spec.name)
        if value is None:
            if spec.required:
                problems.append(f"{record.id}: required field '{spec.name}' is unset")
            continue
        if not _fits(spec.type, spec.values, value):
            problems.append(f"{record.id}: field '{spec.name}' ({spec.type.value}) holds {value!r}")
    return problems


def compile_invariants(process: Process) -> list[tuple[str, CompiledExpr]]:
    """The process's `invariants:`, compiled against its fields and the builtins."""
    env = field_types(process)
    return [
        (inv.name, compile_expr(inv.expr, env, expect=ExprType.BOOL)) for inv in process.invariants
    ]


def invariant_problems(
    invariants: Iterable[tuple[str, CompiledExpr]],
    cp: CompiledProcess,
    record: InstanceRecord,
    now: datetime,
) -> list[str]:
    """The user's invariants that do not hold (or cannot be evaluated) on an instance."""
    variables = {**cp.codec.decode(record.data), **builtins(record.state, now, "system", None)}
    problems: list[str] = []
    for name, expr in invariants:
        try:
            holds = expr.evaluate(variables)
        except ExecutionError as exc:
            problems.append(f"{record.id}: invariant '{name}' cannot be evaluated: {exc}")
            continue
        if holds is not True:
            shown = {k: v for k, v in record.data.items() if k in expr.names}
            problems.append(
                f"{record.id}: invariant '{name}' (`{expr.source}`) is false in state "
                f"'{record.state}' with {shown}"
            )
    return problems


# --- guards -------------------------------------------------------------------------------------


def enabled_transitions(
    cp: CompiledProcess,
    record: InstanceRecord,
    trigger: str,
    data: Mapping[str, Any] | None,
    *,
    actor: str,
    role: str | None,
    now: datetime,
    internal: bool = False,
) -> list[Transition]:
    """The transitions of `trigger` from the instance's state whose role, requires and guard
    all pass for this data, evaluated exactly as the runtime does (`CompiledTransition.allows`).
    `internal` firings (timers, rules, emits) skip the role check, as in the runtime.
    """
    try:
        given = cp.codec.check(data)
    except DataError:
        return []
    variables = {**cp.codec.decode(record.data), **given}
    variables.update(builtins(record.state, now, actor, role))
    passing: list[Transition] = []
    for ct in cp.transitions:
        t = ct.transition
        if t.trigger != trigger or record.state not in t.sources:
            continue
        step = Step(cp, record, dict(variables), actor, role, now, internal)
        try:
            allowed = ct.allows(step)
        except ExecutionError:
            allowed = False
        if allowed:
            passing.append(t)
    if cp.process.compounds and passing:
        # the innermost level enabled takes priority over what the state inherits
        depth = cp.process.depth_of
        level = min(depth(t, record.state) for t in passing)
        passing = [t for t in passing if depth(t, record.state) == level]
    return passing


def overlap_problem(enabled: list[Transition], trigger: str, state: str, how: str) -> list[str]:
    """The problem of more than one transition enabled by one firing (`how`: data, role)."""
    if len(enabled) < 2:
        return []
    where = ", ".join(f"-> {t.dest} ({t.loc})" for t in enabled)
    return [
        f"{len(enabled)} transitions of '{trigger}' from '{state}' are enabled at once "
        f"{how}: {where}"
    ]


def timer_overlaps(world: World, compiled: Compiled, now: datetime) -> list[str]:
    """Overlapping guards for the first timer each instance will fire by `now`."""
    problems: list[str] = []
    for iid, timers in world.timers.items():
        due = sorted((t for t in timers if t.due_at <= now), key=lambda t: (t.due_at, t.id or 0))
        record = world.instances[iid]
        if not due or due[0].state != record.state:
            continue
        timer = due[0]
        cp = compiled(record)
        enabled = enabled_transitions(
            cp,
            record,
            timer.trigger,
            timer.data,
            actor="timer",
            role=None,
            now=timer.due_at,
            internal=True,
        )
        problems += overlap_problem(enabled, timer.trigger, record.state, f"by timer {timer.name}")
    return problems


# --- timers -------------------------------------------------------------------------------------


def _fires(event: EventRecord, timer: TimerRecord) -> bool:
    if event.detail.get("timer") != timer.name:
        return False
    if event.kind == "refused":  # a firing the process refused: claimed once, recorded
        return event.actor == "timer"
    return _moment(event.detail.get("due_at")) == timer.due_at


def timer_problems(before: World, after: World, now: datetime) -> list[str]:
    """After a tick at `now`: each timer due by then fired once unless its state was left
    first, none fired twice, and no pending timer is due any more."""
    problems: list[str] = []
    for iid, timers in before.timers.items():
        new_events = after.events.get(iid, [])[len(before.events[iid]) :]
        for timer in timers:
            firings = [e for e in new_events if _fires(e, timer)]
            if len(firings) > 1:
                seqs = [e.seq for e in firings]
                problems.append(f"timer '{timer.name}' of {iid} fired {len(firings)} times {seqs}")
            if firings or timer.due_at > now:
                continue
            # a compound state's timer is left with any state inside it (if it is still
            # pending, the check below reports it)
            left = any(
                e.kind in MOVES
                and (e.source == timer.state or timer.state in e.detail.get("exited", ()))
                for e in new_events
            )
            if not left:
                problems.append(
                    f"timer '{timer.name}' of {iid}, due {timer.due_at.isoformat()} in "
                    f"'{timer.state}', did not fire by {now.isoformat()} and the state was not left"
                )
    for iid, timers in after.timers.items():
        for timer in timers:
            if timer.due_at <= now:
                problems.append(
                    f"timer '{timer.name}' of {iid}, due {timer.due_at.isoformat()}, is still "
                    f"pending after the tick at {now.isoformat()}"
                )
    return problems


# --- requests and their tasks ---------------------------------------------------------------------


def _completed_at(world: World, iid: str, compiled: Compiled) -> datetime | None:
    """When a task instance reached a terminal state whose outcome is `succeeded`."""
    record = world.instances.get(iid)
    if record is None:
        return None
    cp = compiled(record)
    for event in world.events[iid]:
        if event.kind in MOVES and event.dest and outcome_of(cp, event.dest) == "succeeded":
            return event.at
    return None


def _by_people(event: EventRecord) -> bool:
    return event.kind == "transition" and not {"rule", "emitted_by"} & set(event.detail)


def release_problems(world: World, compiled: Compiled) -> list[str]:
    """No task is released, armed or worked on by people before its dependencies completed."""
    problems: list[str] = []
    for iid, record in world.instances.items():
        if record.parent is None or record.task is None:
            continue
        parent = world.instances.get(record.parent)
        task = compiled(parent).process.find_task(record.task) if parent else None
        if task is None or not task.depends_on:
            continue
        ids = [task_instance_id(record.parent, d) for d in task.depends_on]
        done = [_completed_at(world, i, compiled) for i in ids]
        ready = None if None in done else max(d for d in done if d is not None)
        for event in world.events[iid]:
            early = ready is None or event.at < ready
            if (event.kind == "released" or _by_people(event)) and early:
                problems.append(
                    f"task {iid} has event {event.seq} ({event.kind} {event.trigger or ''}) "
                    f"before its dependencies {list(task.depends_on)} completed"
                )
        terminal = record.state in compiled(record).terminal
        if ready is None and not terminal and world.timers[iid]:
            names = [t.name for t in world.timers[iid]]
            problems.append(f"task {iid} waits on its dependencies but has timers {names}")
    return problems
