"""My work: per queue the person works, "Ready to work" and "In progress", paged.

Ready to work: instances still in their process's initial state; in progress: the others in a
queued state that is not terminal (as `fulfil queue`). Both are ordered by last activity, the
least recently worked on first (seed 000: stale work shows on top). A request's task sits in
the queue its `Task` names, else its state's, and is in no queue while it waits on its
dependencies.

A page is read through `Transaction.page_instances` (each (process, state) pair by its index,
after the cursor of the page before), so the page costs the same at any depth of a queue of
100,000; rows another queue's task took, or a waiting task, are skipped by reading on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ..model import Process
from ..people.directory import Person
from ..runtime import Engine
from ..runtime.children import Family
from ..runtime.views import InstanceView
from ..store.base import InstanceRecord
from .search import decode_cursor, encode_cursor
from .titles import Titles

__all__ = ["Filters", "Row", "Table", "person_queues", "queue_table"]


@dataclass(frozen=True)
class Filters:
    """What the worklist is narrowed to (None: everything)."""

    process: str | None = None
    state: str | None = None
    assignee: str | None = None  # a person id, or "" for the unassigned
    text: str | None = None


@dataclass(frozen=True)
class Row:
    """One line of a worklist table."""

    view: InstanceView
    title: str
    next_due: datetime | None  # the earliest of the SLA's due time and the pending timers
    overdue: bool


@dataclass(frozen=True)
class Table:
    """One page of a table, and the cursor of the next page (None: the last page)."""

    rows: tuple[Row, ...]
    next: str | None


def _works(process: Process, person: Person, states: Iterable[str]) -> bool:
    """Whether the person holds a role that owns, fires in, or leads one of the states."""
    leads = {r.manager for r in process.roles if r.manager}
    if any(person.holds(role) for role in leads):
        return True
    for name in states:
        state = process.find_state(name)
        if state is not None and state.owner and person.holds(state.owner):
            return True
        for t in process.transitions_from(name):
            if any(person.holds(role) for role in t.roles):
                return True
    return False


def person_queues(processes: Iterable[Process], person: Person) -> list[str]:
    """The queues whose work the person's roles do (every queue for nobody's roles: none)."""
    catalog = {p.id: p for p in processes}
    found: set[str] = set()
    for process in catalog.values():
        for state in process.states:
            if state.queue and not state.terminal and _works(process, person, [state.name]):
                found.add(state.queue)
        for task in process.tasks:
            child = catalog.get(task.process)
            if task.queue and child is not None:
                live = [s.name for s in child.states if not s.terminal]
                if _works(child, person, live):
                    found.add(task.queue)
    return sorted(found)


def _pairs(
    processes: Iterable[Process], queue: str, ready: bool, filters: Filters
) -> list[tuple[str, str]]:
    catalog = list(processes)
    task_processes = {t.process for p in catalog for t in p.tasks if t.queue == queue}
    pairs = []
    for process in catalog:
        if filters.process and process.id != filters.process:
            continue
        for state in process.states:
            if state.terminal or state.initial != ready:
                continue
            if filters.state and state.name != filters.state:
                continue
            if state.queue == queue or process.id in task_processes:
                pairs.append((process.id, state.name))
    return pairs


def _in_queue(family: Family, record: InstanceRecord, queue: str, state_queue: str | None) -> bool:
    task = family.task(record)
    if task is not None:
        if family.waiting_on(record):
            return False
        return (task.queue or state_queue) == queue
    return state_queue == queue


def queue_table(
    engine: Engine,
    processes: list[Process],
    queue: str,
    *,
    ready: bool,
    filters: Filters,
    cursor: str | None,
    size: int,
    titles: Titles,
) -> Table:
    """One page of the queue's "Ready to work" (`ready`) or "In progress" table."""
    pairs = _pairs(processes, queue, ready, filters)
    queues = {(p.id, s.name): s.queue for p in processes for s in p.states}
    after = decode_cursor(cursor)
    kept: list[InstanceRecord] = []
    with engine.store.transaction(write=False) as tx:
        family = Family(tx, engine.definitions)
        while pairs and len(kept) <= size:
            batch = tx.page_instances(
                pairs,
                after=after,
                limit=size + 1,
                assignee=filters.assignee,
                text=filters.text,
            )
            for record in batch:
                if _in_queue(family, record, queue, queues.get((record.process, record.state))):
                    kept.append(record)
            if len(batch) <= size:
                break
            after = (batch[-1].last_activity_at, batch[-1].id)
    more = len(kept) > size
    kept = kept[:size]
    now = engine.clock.now()
    rows = []
    for record in kept:
        view = engine.show(record.id)
        due = [t.due_at for t in view.timers] + ([view.due_at] if view.due_at else [])
        next_due = min(due) if due else None
        overdue = next_due is not None and next_due <= now
        rows.append(Row(view, titles.title(view, now), next_due, overdue))
    last = kept[-1] if more else None
    return Table(tuple(rows), encode_cursor(last.last_activity_at, last.id) if last else None)
