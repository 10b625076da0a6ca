"""Finding instances: filters, a `--where` expression over fields, sorted keyset pages.

`Engine.search` turns what an operator asks (`fulfil list`, `GET /api/instances`, the
workbench's My work) into one `InstanceFilter` the store answers from its indexes, and a
compiled `where` expression checked against the process's fields. State, status, queue,
initial and open/closed all become a set of (process, state, versions) keys taken from the
definitions, so the store only ever compares columns. Each version's own state table decides:
an instance of version 1 is matched by what its state is in version 1 (a state may change its
status or queue between versions).

A queue holds the work in its states, and a request's tasks whose `Task` names it (a task's
queue is its `Task`'s, else its state's; a task waiting on its dependencies is in no queue), as
`fulfil queue` shows it: the keys cover the states of the queue and every state of the tasks'
processes, and the search (engine.runtime.finding) keeps the instances that are in the queue.

Pages are keyset pages: the cursor is the position (sort value, id) of the last instance of
the page, encoded as an opaque text. The next page starts strictly after it, so a page costs
the same wherever it is, and an instance changing meanwhile is never shown twice on the same
page. A `where` expression is evaluated on the instances the store returns; when it matches
few of them, a page may hold fewer items than asked for (at most `SCAN_BUDGET` instances are
read per page) and `next` says where to go on.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..errors import DefinitionError, UsageError, did_you_mean
from ..expressions import (
    CompiledExpr,
    EvaluationError,
    ExprType,
    compile_expr,
    enum_values,
    field_types,
)
from ..model import Expr, Process
from ..store.base import SEARCH_ORDERS, InstanceFilter, InstanceRecord, StateKey, sort_key
from .compiled import CANCELLED, CANCELLED_STATUS
from .views import InstanceView

__all__ = [
    "MAX_LIMIT",
    "SCAN_BUDGET",
    "SearchPage",
    "SearchRequest",
    "plan_search",
    "queue_names",
]

MAX_LIMIT = 500
"""The most instances one page may hold."""

SCAN_BUDGET = 5_000
"""The most instances a page with a `where` expression reads before it returns what it has."""


@dataclass(frozen=True)
class SearchPage:
    """One page of a search: the instances as `show` gives them, and the next page's cursor."""

    items: tuple[InstanceView, ...]
    next: str | None

    def to_json(self) -> dict[str, Any]:
        """The `list --json` object: `{items: [show objects], next: cursor|null}`."""
        return {"items": [item.to_json() for item in self.items], "next": self.next}


@dataclass(frozen=True)
class SearchRequest:
    """What a search asks for, as `Engine.search` takes it (every filter optional)."""

    process: str | None = None
    version: int | None = None
    state: str | Sequence[str] | None = None
    status: str | None = None
    queue: str | None = None
    assignee: str | None = None  # "" only the unassigned
    open: bool | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    changed_after: datetime | None = None
    changed_before: datetime | None = None
    where: str | None = None
    sort: str = "-created_at"
    limit: int = 50
    cursor: str | None = None
    text: str | None = None  # in the id or any field's value, case-insensitive
    initial: bool | None = None  # True: in their version's initial state; False: not


@dataclass(frozen=True)
class SearchPlan:
    """A checked request: the store's filter, the compiled `where`, the page size, and the
    queue whose work an instance must be (None: no queue asked for)."""

    query: InstanceFilter
    where: CompiledExpr | None
    limit: int
    queue: str | None = None


def encode_cursor(order: str, position: tuple[str, str]) -> str:
    """The opaque text of a page position."""
    raw = json.dumps([order, position[0], position[1]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str, order: str) -> tuple[str, str]:
    """The page position of a cursor given back by a previous page of the same search.

    Raises:
        UsageError: the text is not such a cursor, or it was made for another sort order.
    """
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        made_for, key, ident = json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        raise UsageError(
            f"cursor '{text}' is not one a page of results gave; start again without it"
        ) from None
    if made_for != order or not isinstance(key, str) or not isinstance(ident, str):
        raise UsageError(
            f"cursor '{text}' belongs to a search sorted by {made_for}, not {order}; "
            "keep the same sort order while paging"
        )
    return key, ident


def parse_sort(text: str) -> tuple[str, bool]:
    """`created_at`, `-updated_at`, `id`...: the column and whether it is descending."""
    descending = text.startswith("-")
    column = text.lstrip("-+")
    if column not in SEARCH_ORDERS:
        hint = did_you_mean(column, SEARCH_ORDERS)
        raise UsageError(
            f"cannot sort by '{text}': sort by created_at, updated_at, last_activity_at or "
            "id, with '-' in front for newest first" + (f" ({hint})" if hint else "")
        )
    return column, descending


def _states(process: Process) -> list[str]:
    return [state.name for state in process.states]


Key = tuple[str, str, int]
"""(process, state, version)."""


def _keys(processes: Iterable[Process], keep: Callable[[Process, str], bool]) -> set[Key]:
    """The (process, state, version) keys, the engine's Cancelled included, `keep` accepts."""
    return {
        (process.id, name, process.version)
        for process in processes
        for name in [*_states(process), CANCELLED]
        if keep(process, name)
    }


def _status_of(process: Process, name: str) -> str:
    if name == CANCELLED:
        return CANCELLED_STATUS
    spec = process.find_state(name)
    return (spec.status or name) if spec is not None else ""


def _queue_of(process: Process, name: str) -> str | None:
    spec = process.find_state(name)
    return None if spec is None else spec.queue


def _terminal(process: Process, name: str) -> bool:
    if name == CANCELLED:
        return True
    spec = process.find_state(name)
    return spec is not None and spec.terminal


def _initial(process: Process, name: str) -> bool:
    spec = process.find_state(name)
    return spec is not None and spec.initial


def _state_keys(keys: set[Key], scope: Sequence[Process]) -> tuple[StateKey, ...]:
    """The store's keys: a state's versions, or none (any version) when it is every version of
    the process in scope, which are all the versions its instances can have."""
    every: dict[str, set[int]] = {}
    for process in scope:
        every.setdefault(process.id, set()).add(process.version)
    versions: dict[tuple[str, str], set[int]] = {}
    for process_id, name, version in keys:
        versions.setdefault((process_id, name), set()).add(version)
    return tuple(
        (process_id, name, () if found == every[process_id] else tuple(sorted(found)))
        for (process_id, name), found in sorted(versions.items())
    )


def queue_names(processes: Iterable[Process]) -> list[str]:
    """Every queue a state or a task of these processes names, sorted."""
    names = {state.queue for process in processes for state in process.states}
    names |= {task.queue for process in processes for task in process.tasks}
    return sorted(name for name in names if name)


def _narrowed(r: SearchRequest, scope: list[Process], family: list[Process]) -> set[Key] | None:
    """The (process, state, version) keys of the state, status, queue, initial and open
    filters of the request (None: no such filter, any state).

    Raises:
        UsageError: an unknown state, status or queue (with a did-you-mean).
    """
    what = f"process {r.process}" if r.process else "any process"
    keys: set[Key] | None = None

    def narrow(found: set[Key]) -> None:
        nonlocal keys
        keys = found if keys is None else keys & found

    if r.state:
        wanted = [r.state] if isinstance(r.state, str) else list(r.state)
        known = {name for p in scope for name in [*_states(p), CANCELLED]}
        for name in wanted:
            if name not in known:
                hint = did_you_mean(name, known)
                raise UsageError(f"no state '{name}' in {what}" + (f" ({hint})" if hint else ""))
        narrow(_keys(scope, lambda p, name: name in wanted))
    if r.status:
        wanted_status = r.status.casefold()
        known = {_status_of(p, name) for p in scope for name in [*_states(p), CANCELLED]}
        if wanted_status not in {s.casefold() for s in known}:
            hint = did_you_mean(r.status, known)
            raise UsageError(f"no status '{r.status}' in {what}" + (f" ({hint})" if hint else ""))
        narrow(_keys(scope, lambda p, name: _status_of(p, name).casefold() == wanted_status))
    if r.queue:
        known = set(queue_names([*scope, *family]))
        if r.queue not in known:
            hint = did_you_mean(r.queue, known)
            raise UsageError(f"no queue '{r.queue}' in {what}" + (f" ({hint})" if hint else ""))
        tasks = {t.process for p in family for t in p.tasks if t.queue == r.queue}
        narrow(
            _keys(
                scope,
                lambda p, name: (
                    _queue_of(p, name) == r.queue or (p.id in tasks and not _terminal(p, name))
                ),
            )
        )
    if r.initial is not None:
        narrow(_keys(scope, lambda p, name: _initial(p, name) == r.initial))
    if r.open is not None:
        narrow(_keys(scope, lambda p, name: _terminal(p, name) != r.open))
    return keys


def plan_search(
    request: SearchRequest, processes: Sequence[Process], catalog: Sequence[Process] = ()
) -> SearchPlan:
    """Check a request against the definitions and turn it into the store's filter.

    `processes` are the definitions in scope: every version its instances may run on of the
    process asked for (only the version asked for with `request.version`), or of every
    process; the latest version of a process first. `catalog`: every process (default:
    `processes`), for the tasks a queue holds, which requests of any process start.

    Raises:
        UsageError: an unknown state, status or queue (with a did-you-mean), a `where`
            without a process, a `where` that does not check against the process's fields,
            a bad sort order, limit or cursor.
    """
    r = request
    if not 1 <= r.limit <= MAX_LIMIT:
        raise UsageError(f"a page holds 1 to {MAX_LIMIT} instances (got limit {r.limit})")
    order, descending = parse_sort(r.sort)
    after = decode_cursor(r.cursor, order) if r.cursor else None
    scope = list(processes)
    keys = _narrowed(r, scope, list(catalog) or scope)
    where = None
    if r.where is not None:
        where = compile_where(r.where, r.process, scope)
    query = InstanceFilter(
        r.process,
        r.version,
        None if keys is None else _state_keys(keys, scope),
        r.assignee,
        r.started_after,
        r.started_before,
        r.changed_after,
        r.changed_before,
        order,
        descending,
        after,
        r.text or None,
    )
    return SearchPlan(query, where, r.limit, r.queue or None)


def compile_where(text: str, process_id: str | None, scope: Sequence[Process]) -> CompiledExpr:
    """A `--where` expression checked against the process's fields (and `state`, `now`...).

    Raises:
        UsageError: no process given, or the expression does not check (an unknown field
            with a did-you-mean, a type error, a value no enum has).
    """
    if not process_id or not scope:
        raise UsageError(
            "--where reads a process's fields: say which process with --process "
            "(e.g. --process facebook_access --where 'client == \"Acme Motors\"')"
        )
    process = scope[0]
    try:
        return compile_expr(
            Expr(text),
            field_types(process),
            expect=ExprType.BOOL,
            enums=enum_values(process),
        )
    except DefinitionError as exc:
        first = exc.errors[0] if exc.errors else None
        detail = first.message if first is not None else str(exc)
        hint = f" ({first.hint})" if first is not None and first.hint else ""
        raise UsageError(
            f"--where '{text}': {detail}{hint}; fields of {process.id}: "
            + ", ".join(f.name for f in process.fields)
        ) from None


def matches(where: CompiledExpr, variables: dict[str, Any]) -> bool:
    """Whether an instance's values satisfy the expression (failing to evaluate: no)."""
    try:
        return where.evaluate(variables) is True
    except EvaluationError:
        return False


def next_position(record: InstanceRecord, order: str) -> tuple[str, str]:
    """Where a page that ends at `record` ends."""
    return (sort_key(record, order), record.id)


def with_after(query: InstanceFilter, after: tuple[str, str] | None) -> InstanceFilter:
    return replace(query, after=after)
