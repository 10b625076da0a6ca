"""Listening to committed events: a feed with a durable cursor, and subscriptions over it.

Every history event is placed in a lane of the store-wide sequence (`engine.runtime.lanes`):
positions 1, 2, 3... per lane, and a lane is held by one transaction until it commits, so a
reader that saw position N of a lane never finds N-1 committed later. A cursor is therefore the
last position read in each lane (`Cursor`, written as text `"0:42,1:7"`): `events_since(cursor)`
gives what committed after it, whichever call made it (a person's fire, a timer, an SLA notice,
a rule, an emit, a job's completion, a refusal), and the cursor to read from next.

Order: one lane's events come in commit order, lanes one after another. An instance's events
are in `seq` order within a lane; on PostgreSQL, where concurrent writers take different lanes,
two steps of one instance may sit in different lanes, so order an instance's events by `seq`.
Events written before the store-wide sequence existed (lane None) are not in the feed.

A `Subscription` delivers the events matching its filters (process, kinds) to a handler, after
commit, at least once: its cursor moves past an event only once the handler returned, and a
named subscription keeps its cursor in the store (`listener_cursors`), so after a restart it
goes on where it stopped. A handler that raises stops its delivery there; the event is given
again at the next dispatch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from ..store.base import EventRecord, Store, Transaction

__all__ = [
    "CommittedEvent",
    "Cursor",
    "EventPage",
    "Listener",
    "Subscription",
    "parse_cursor",
    "read_events",
]

Cursor = dict[int, int]  # lane -> the last position read
Listener = Callable[["CommittedEvent"], None]
_PAGE = 500


def parse_cursor(text: str | None) -> Cursor:
    """The cursor written by `format_cursor` ("" or None: the beginning).

    Raises:
        UsageError: the text is not a cursor.
    """
    cursor: Cursor = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        lane, _, pos = part.partition(":")
        try:
            cursor[int(lane)] = int(pos)
        except ValueError:
            raise UsageError(
                f"'{text}' is not an event cursor (LANE:POS,...): pass the cursor "
                "events_since returned, or none to read from the beginning"
            ) from None
    return cursor


def format_cursor(cursor: Cursor) -> str:
    return ",".join(f"{lane}:{pos}" for lane, pos in sorted(cursor.items()))


@dataclass(frozen=True)
class CommittedEvent:
    """A committed history event with the process of its instance and its place in the feed."""

    process: str
    event: EventRecord

    @property
    def instance(self) -> str:
        return self.event.instance

    @property
    def kind(self) -> str:
        return self.event.kind

    def to_json(self) -> dict[str, Any]:
        from .views import event_json

        return {
            "instance": self.instance,
            "process": self.process,
            "lane": self.event.lane,
            "pos": self.event.pos,
            **event_json(self.event),
        }


@dataclass(frozen=True)
class EventPage:
    """What `events_since` read, and the cursor to read from next (text, to store)."""

    events: tuple[CommittedEvent, ...]
    cursor: str


def read_events(tx: Transaction, cursor: Cursor, limit: int) -> Iterator[CommittedEvent]:
    """Up to `limit` events after `cursor` in each lane, lane after lane, in position order."""
    processes: dict[str, str] = {}
    for lane in sorted(record.lane for record in tx.lanes()):
        after = cursor.get(lane, 0)
        for event in tx.lane_events((lane, after), limit):
            if event.lane != lane:
                break
            process = processes.get(event.instance)
            if process is None:
                record = tx.get_instance(event.instance)
                process = record.process if record is not None else ""
                processes[event.instance] = process
            yield CommittedEvent(process, event)


def events_since(store: Store, cursor: str | None, limit: int = _PAGE) -> EventPage:
    """The events committed after `cursor` (up to `limit` per lane) and the next cursor."""
    if limit < 1:
        raise UsageError(f"limit must be 1 or more, not {limit}")
    moved = parse_cursor(cursor)
    with store.transaction(write=False) as tx:
        events = tuple(read_events(tx, moved, limit))
    for item in events:
        moved[item.event.lane or 0] = item.event.pos or 0
    return EventPage(events, format_cursor(moved))


@dataclass
class Subscription:
    """A handler of the committed events of some processes and kinds (None: all).

    `name`: the cursor is kept in the store under it (None: in memory, from the moment of
    subscribing, or from the beginning with `from_start`). `error` is the last failure of the
    handler (None once it delivered again).
    """

    handler: Listener
    name: str | None = None
    processes: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    cursor: Cursor = field(default_factory=dict)
    error: BaseException | None = None
    delivered: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _busy: bool = field(default=False, repr=False)

    def wants(self, item: CommittedEvent) -> bool:
        return (self.processes is None or item.process in self.processes) and (
            self.kinds is None or item.kind in self.kinds
        )

    def deliver(self, store: Store) -> int:
        """Give the handler every matching event committed since its cursor; how many."""
        with self.lock:
            if self._busy:
                # a handler that fires a step lands here: the delivery under way reads pages
                # until one is empty, so it gives that step's events after this one
                return 0
            self._busy = True
            try:
                count, more = 0, True
                while more:
                    handed, more = self._page(store)
                    count += handed
                return count
            finally:
                self._busy = False

    def _page(self, store: Store) -> tuple[int, bool]:
        """One page: (events handed, whether to read another page)."""
        with store.transaction(write=False) as tx:
            page = list(read_events(tx, self.cursor, _PAGE))
        handed = 0
        try:
            for item in page:
                if self.wants(item):
                    self.handler(item)
                    handed += 1
                    self.delivered += 1
                self.cursor[item.event.lane or 0] = item.event.pos or 0
            self.error = None
        except Exception as exc:  # the application's handler: kept, retried next dispatch
            self.error = exc
            self._save(store)
            return handed, False
        self._save(store)
        return handed, bool(page)

    def _save(self, store: Store) -> None:
        if self.name is None:
            return
        with store.transaction() as tx:
            tx.put_cursor(self.name, format_cursor(self.cursor))


def subscription(
    store: Store,
    handler: Listener,
    *,
    name: str | None,
    processes: Collection[str] | None,
    kinds: Collection[str] | None,
    from_start: bool,
) -> Subscription:
    """A subscription whose cursor is the stored one of `name`, else the end of the feed now
    (or the beginning with `from_start`)."""
    with store.transaction(write=False) as tx:
        stored = tx.get_cursor(name) if name is not None else None
        if stored is not None:
            cursor = parse_cursor(stored)
        elif from_start:
            cursor = {}
        else:
            cursor = {lane.lane: lane.pos for lane in tx.lanes()}
    return Subscription(
        handler,
        name,
        None if processes is None else frozenset(processes),
        None if kinds is None else frozenset(kinds),
        cursor,
    )
