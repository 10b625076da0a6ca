"""What someone holding the database can do to a history, on every store (tests' helper).

Each function changes stored rows directly, as a person with the SQLite file or a PostgreSQL
login would (the memory store's tables stand in for them): no engine check runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from fulfil.engine.runtime.history import EVENT_PREFIX, canonical
from fulfil.engine.store import MemoryStore, Store
from fulfil.engine.store.base import EventRecord, InstanceRecord


def _sql(store: Store, statement: str, params: tuple[Any, ...] = ()) -> None:
    if type(store).__name__ == "PostgresStore":
        statement = statement.replace("?", "%s")
    store.execute(statement, params)  # type: ignore[attr-defined]


def events(store: Store, instance: str) -> list[EventRecord]:
    with store.transaction(write=False) as tx:
        return tx.events(instance)


def row(store: Store, instance: str) -> InstanceRecord:
    with store.transaction(write=False) as tx:
        found = tx.get_instance(instance)
    assert found is not None
    return found


def put_events(store: Store, instance: str, history: list[EventRecord]) -> None:
    """Replace the instance's stored events with `history`."""
    if isinstance(store, MemoryStore):
        store.tables().events[instance] = list(history)
        return
    _sql(store, "DELETE FROM events WHERE instance = ?", (instance,))
    with store.transaction() as tx:
        for event in history:
            tx.append_event(event)


def put_row(store: Store, record: InstanceRecord | None, instance: str) -> None:
    """Replace (or with None delete) the instance's row."""
    if isinstance(store, MemoryStore):
        tables = store.tables()
        old = tables.instances.pop(instance, None)
        if old is not None:
            tables.by_state.get((old.process, old.state), {}).pop(instance, None)
        if record is not None:
            tables.instances[instance] = record
            tables.by_state.setdefault((record.process, record.state), {})[instance] = None
        return
    _sql(store, "DELETE FROM instances WHERE id = ?", (instance,))
    if record is not None:
        with store.transaction() as tx:
            tx.insert_instance(record)


def delete_instance(store: Store, instance: str) -> None:
    """The instance gone, row and history."""
    put_events(store, instance, [])
    put_row(store, None, instance)


def cut_tail(store: Store, instance: str, back_to: InstanceRecord) -> None:
    """Drop the events after `back_to.seq` and put the row back as it was then."""
    put_events(store, instance, [e for e in events(store, instance) if e.seq <= back_to.seq])
    put_row(store, back_to, instance)


def reseal_unkeyed(event: EventRecord, prev_hash: str) -> EventRecord:
    """The event re-sealed as an unkeyed one: what needs no secret."""
    event = replace(event, key="", prev_hash=prev_hash)
    tag = hashlib.sha256(EVENT_PREFIX + canonical(event).encode()).hexdigest()
    return replace(event, hash=tag)


def edit_and_rechain(store: Store, instance: str, seq: int, **change: Any) -> None:
    """Edit event `seq` and recompute the SHA-256 chain from it on, row head included."""
    history = events(store, instance)
    rebuilt: list[EventRecord] = []
    for event in history:
        if event.seq < seq:
            rebuilt.append(event)
            continue
        if event.seq == seq:
            event = replace(event, **change)
        rebuilt.append(reseal_unkeyed(event, rebuilt[-1].hash if rebuilt else ""))
    put_events(store, instance, rebuilt)
    put_row(store, replace(row(store, instance), head=rebuilt[-1].hash), instance)


def edit_event(store: Store, instance: str, seq: int, **change: Any) -> None:
    """Change fields of one stored event, nothing else."""
    history = [replace(e, **change) if e.seq == seq else e for e in events(store, instance)]
    put_events(store, instance, history)


def drop_event(store: Store, instance: str, seq: int) -> None:
    put_events(store, instance, [e for e in events(store, instance) if e.seq != seq])


def swap_events(store: Store, instance: str, first: int, second: int) -> None:
    """Exchange the numbers of two events (a reordering)."""
    numbers = {first: second, second: first}
    history = [replace(e, seq=numbers.get(e.seq, e.seq)) for e in events(store, instance)]
    put_events(store, instance, sorted(history, key=lambda e: e.seq))


def set_lane(store: Store, lane: int, pos: int, instance: str, seq: int, key: str) -> None:
    """Put a lane's row back to an earlier position (the end of the store cut with it)."""
    if isinstance(store, MemoryStore):
        from fulfil.engine.store.base import LaneRecord

        old = store.tables().lane
        store.tables().lane = LaneRecord(lane, pos, instance, seq, key, old.check)
        return
    _sql(
        store,
        "UPDATE audit_lanes SET pos = ?, instance = ?, seq = ?, key_id = ? WHERE lane = ?",
        (pos, instance, seq, key, lane),
    )
