"""My work: per queue the person works, "Ready to work" and "In progress", paged.

Ready to work: instances still in their process's initial state; in progress: the others in a
queued state that is not terminal (as `fulfil queue`). Both are ordered by last activity, the
least recently worked on first (stale work shows on top). A request's task sits in
the queue its `Task` names, else its state's, and is in no queue while it waits on its
dependencies.

A page is one `Engine.search` (the queue, initial state or not, open, the filters, least
recently active first, after the cursor of the page before): each (process, state) is read by
its index, so the page costs the same at any depth of a queue of 100,000.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ..model import Process
from ..people.directory import Person
from ..runtime import Engine
from ..runtime.views import InstanceView
from .search import WORK_ORDER
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


def queue_table(
    engine: Engine,
    queue: str,
    *,
    ready: bool,
    filters: Filters,
    cursor: str | None,
    size: int,
    titles: Titles,
) -> Table:
    """One page of the queue's "Ready to work" (`ready`) or "In progress" table.

    Raises:
        NotFound: the filter names no process of the catalog.
        UsageError: the filter names an unknown state, or the cursor is not a page's.
    """
    page = engine.search(
        queue=queue,
        initial=ready,
        open=True,
        process=filters.process,
        state=filters.state,
        assignee=filters.assignee,
        text=filters.text,
        sort=WORK_ORDER,
        limit=size,
        cursor=cursor,
    )
    now = engine.clock.now()
    rows = []
    for view in page.items:
        due = [t.due_at for t in view.timers] + ([view.due_at] if view.due_at else [])
        next_due = min(due) if due else None
        overdue = next_due is not None and next_due <= now
        rows.append(Row(view, titles.title(view, now), next_due, overdue))
    return Table(tuple(rows), page.next)
