"""Reading work: a queue's items, and the pages of a search, inside one read transaction.

`Engine.queue` and `Engine.search` check what they are asked, then read here. Both read each
instance's state in the state table of its own version (the catalog's and the stored ones:
`search_scope`), and both put a request's task in the queue its `Task` names, else its
state's; a task waiting on its dependencies is in no queue (`in_queue`). See
engine.runtime.search for how a search becomes one store query.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..errors import FulfilError, NotFound
from ..expressions import CompiledExpr
from ..model import Process
from ..store.base import InstanceRecord, Transaction, sort_key
from .definitions import Definitions
from .jobs import job_view
from .search import SCAN_BUDGET, SearchRequest, encode_cursor, plan_search
from .search import matches as search_matches
from .step import builtins
from .tasks import TaskReader
from .views import QueueItem, QueueView

__all__ = ["find_page", "in_queue", "read_queue", "search_scope"]


def read_queue(
    tx: Transaction,
    definitions: Definitions,
    processes: list[Process],
    name: str | None,
    mine: str | None,
) -> QueueView:
    """The work in queue `name` (every queue when None), only `mine`'s when given: ready (in
    its initial state) and in progress, as `Engine.queue` describes them."""
    task_processes = {t.process for p in processes for t in p.tasks}
    ready: list[QueueItem] = []
    in_progress: list[QueueItem] = []
    # each instance's state as its own version has it (catalog and stored versions)
    wanted: dict[tuple[str, str, int], tuple[bool, str | None, str | None, str]] = {}
    for process in search_scope(tx, definitions, processes, None, None):
        for state in process.states:
            maybe = state.queue is not None and (not name or state.queue == name)
            if state.terminal or not (maybe or process.id in task_processes):
                continue
            wanted[(process.id, state.name, process.version)] = (
                state.initial,
                state.queue,
                state.owner,
                state.status or state.name,
            )
    reader = TaskReader(tx, definitions)
    for record in tx.find_instances(sorted({(p, s) for p, s, _ in wanted})):
        if mine is not None and record.assignee != mine:
            continue
        spec = wanted.get((record.process, record.state, record.version))
        if spec is None:
            continue
        initial, queue, owner, status = spec
        task = reader.task(record)
        if task is not None:
            if reader.waiting_on(record):
                continue
            queue = task.queue or queue
        if queue is None or (name and queue != name):
            continue
        item = QueueItem(
            record.id,
            record.process,
            record.state,
            status,
            queue,
            owner,
            record.created_at,
            record.last_activity_at,
            record.parent,
            record.task,
            record.assignee,
            _text(record.data.get("service")),
            _text(record.data.get("priority")),
        )
        (ready if initial else in_progress).append(item)
    shown = {entry.id for entry in (*ready, *in_progress)}
    incidents = tuple(
        job_view(job)
        for job in tx.jobs(state="incident")
        if (name is None and mine is None) or job.instance in shown
    )
    return QueueView(tuple(ready), tuple(in_progress), incidents)


def find_page(
    tx: Transaction,
    definitions: Definitions,
    request: SearchRequest,
    scope: list[Process],
    catalog: list[Process],
    now: datetime,
) -> tuple[list[InstanceRecord], str | None]:
    """The instances of one page of the search (`scope`: `search_scope`'s) and the cursor of
    the next page (None: the last page)."""
    items: list[InstanceRecord] = []
    plan = plan_search(request, scope, catalog)
    query, where, limit = plan.query, plan.where, plan.limit
    order = query.order
    reader = TaskReader(tx, definitions) if plan.queue else None
    batch = limit + 1 if where is None else max(4 * limit, 200)
    scanned = 0
    after = query.after
    following: str | None = None
    while True:
        rows = tx.search_instances(replace(query, after=after), batch)
        full = False
        for record in rows:
            scanned += 1
            if (reader is None or in_queue(reader, record, plan.queue)) and (
                where is None or _where(tx, definitions, where, record, now)
            ):
                if len(items) == limit:
                    full = True
                    break
                items.append(record)
            after = (sort_key(record, order), record.id)
        if full:
            last = items[-1]
            following = encode_cursor(order, (sort_key(last, order), last.id))
            break
        if len(rows) < batch:
            break
        if scanned >= SCAN_BUDGET and after is not None:
            following = encode_cursor(order, after)
            break
    return items, following


def search_scope(
    tx: Transaction,
    definitions: Definitions,
    catalog: list[Process],
    process_id: str | None,
    version: int | None,
) -> list[Process]:
    """The definitions a search reads states in: every version its instances may run on
    (the catalog's and the stored ones) of the process asked for, or of every process;
    the latest version of each process first. Only `version`, when given.

    Raises:
        NotFound: the process has no such version, in the catalog or stored.
    """
    found = {(p.id, p.version): p for p in catalog if process_id in (None, p.id)}
    for stored in tx.definition_versions():
        if stored not in found and process_id in (None, stored[0]):
            with contextlib.suppress(FulfilError):
                found[stored] = definitions.for_instance(tx, *stored).process
    if version is not None:
        chosen = [p for key, p in sorted(found.items()) if key[1] == version]
        if process_id is not None and not chosen:
            have = ", ".join(str(v) for _, v in sorted(found)) or "none"
            raise NotFound(f"process '{process_id}' has no version {version}; it has {have}")
        return chosen
    return [found[key] for key in sorted(found, key=lambda k: (k[0], -k[1]))]


def _where(
    tx: Transaction,
    definitions: Definitions,
    where: CompiledExpr,
    record: InstanceRecord,
    now: datetime,
) -> bool:
    cp = definitions.for_instance(tx, record.process, record.version)
    variables = cp.codec.decode(record.data)
    variables.update(builtins(record.state, now, "", None))
    return search_matches(where, variables)


def in_queue(reader: TaskReader, record: InstanceRecord, queue: str | None) -> bool:
    """Whether the instance's work is in the queue: a task's queue is its `Task`'s, else
    its state's; a task waiting on its dependencies is in no queue."""
    spec = reader.compiled(record).process.find_state(record.state)
    state_queue = None if spec is None else spec.queue
    task = reader.task(record)
    if task is None:
        return state_queue == queue
    return not reader.waiting_on(record) and (task.queue or state_queue) == queue


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
