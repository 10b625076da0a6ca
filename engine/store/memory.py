"""The in-memory store: the test double, and the fastest way to embed the engine in a script.

A transaction records an undo step for every write and replays them backwards when the block
raises, so a failed step leaves the store exactly as it was, as a database would.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import Any

from ..errors import AlreadyExists, ConflictError
from .base import (
    BatchMember,
    DefinitionRecord,
    EventRecord,
    InstanceFilter,
    InstanceRecord,
    JobRecord,
    LaneLink,
    LaneMark,
    LaneRecord,
    MarkRecord,
    OutboxRecord,
    Position,
    SheetRow,
    StoredEvent,
    StoredInstance,
    TimerRecord,
    TokenRecord,
    sort_key,
    to_iso,
)
from .jsontext import compact_encoder
from .tally import StoreTally, memory_tally

__all__ = ["MemoryStore"]

_dumps = compact_encoder(default=str)


def _json(value: dict[str, Any]) -> str:
    return _dumps(value) if value else "{}"


def _text_of(data: dict[str, Any]) -> str:
    """The data as the SQL stores hold it (JSON text), lower-cased, for the text filter."""
    return json.dumps(data, ensure_ascii=False).lower()


class _Tables:
    def __init__(self) -> None:
        self.instances: dict[str, InstanceRecord] = {}
        self.by_state: dict[tuple[str, str], dict[str, None]] = {}
        self.by_parent: dict[str, list[str]] = {}
        self.events: dict[str, list[EventRecord]] = {}
        self.timers: dict[int, TimerRecord] = {}
        self.timers_of: dict[str, dict[int, None]] = {}  # instance -> its timers' ids
        self.due: list[tuple[datetime, int]] = []  # pending timers, ordered: the due index
        self.outbox: dict[int, OutboxRecord] = {}
        self.sheets: dict[str, list[SheetRow]] = {}
        self.definitions: dict[tuple[str, int], DefinitionRecord] = {}
        self.counters: dict[str, int] = {}
        self.members: list[BatchMember] = []
        self.jobs: dict[int, JobRecord] = {}
        self.cursors: dict[str, str] = {}
        self.ids: dict[str, int] = {"timer": 0, "outbox": 0, "sheet": 0, "job": 0}
        self.passwords: dict[str, str] = {}
        self.tokens: dict[str, TokenRecord] = {}
        self.lane = LaneRecord(0, 0, "", 0)  # one lane: the store's lock serialises writers
        self.marks: dict[str, MarkRecord] = {}
        self.lane_marks: dict[int, LaneMark] = {}


def _stored(event: EventRecord) -> StoredEvent:
    """The event as the SQL stores keep it (`_json` texts)."""
    e = event
    after = e.after or (None, None)
    return StoredEvent(
        e.instance, e.seq, to_iso(e.at), e.actor, e.role, e.kind, e.trigger, e.source, e.dest,
        _json(e.data), _json(e.detail), e.prev_hash, e.hash, e.lane, e.pos, after[0], after[1],
        None if e.lane is None else e.key,
    )  # fmt: skip


def _matches(record: InstanceRecord, query: InstanceFilter) -> bool:
    """Whether the record passes the filters of `query` (all but its page position)."""
    if query.process is not None and record.process != query.process:
        return False
    if query.version is not None and record.version != query.version:
        return False
    if query.assignee is not None and record.assignee != (query.assignee or None):
        return False
    if query.text:
        needle = query.text.lower()
        if needle not in record.id.lower() and needle not in _text_of(record.data):
            return False
    for moment, low, high in (
        (record.created_at, query.created_from, query.created_to),
        (record.updated_at, query.updated_from, query.updated_to),
    ):
        if (low is not None and moment < low) or (high is not None and moment >= high):
            return False
    return True


class MemoryTransaction:
    """One unit of work on a `MemoryStore`."""

    def __init__(self, tables: _Tables) -> None:
        self._t = tables
        self.undo: list[Callable[[], object]] = []
        self._marks: list[int] = []  # the length of `undo` at each savepoint

    def savepoint(self) -> int:
        self._marks.append(len(self.undo))
        return len(self._marks)

    def rollback_to(self, mark: int) -> None:
        kept = self._marks[mark - 1]
        while len(self.undo) > kept:
            self.undo.pop()()

    def release(self, mark: int) -> None:
        del self._marks[mark - 1 :]

    def _new_id(self, kind: str) -> int:
        self._t.ids[kind] += 1
        return self._t.ids[kind]

    # instances ------------------------------------------------------------------------------
    def get_instance(self, instance_id: str) -> InstanceRecord | None:
        return self._t.instances.get(instance_id)

    def _index(self, record: InstanceRecord) -> None:
        self._t.by_state.setdefault((record.process, record.state), {})[record.id] = None

    def _unindex(self, record: InstanceRecord) -> None:
        self._t.by_state.get((record.process, record.state), {}).pop(record.id, None)

    def insert_instance(self, record: InstanceRecord) -> None:
        if record.id in self._t.instances:
            raise AlreadyExists(
                f"an instance with id '{record.id}' already exists",
                details={"instance": record.id},
            )
        self._t.instances[record.id] = record
        self._index(record)
        if record.parent is not None:
            self._t.by_parent.setdefault(record.parent, []).append(record.id)

        def undo() -> None:
            del self._t.instances[record.id]
            self._unindex(record)
            if record.parent is not None:
                self._t.by_parent[record.parent].remove(record.id)

        self.undo.append(undo)

    def update_instance(self, record: InstanceRecord, expected_rev: int) -> None:
        old = self._t.instances.get(record.id)
        if old is None or old.rev != expected_rev:
            found = "gone" if old is None else f"at revision {old.rev}"
            raise ConflictError(
                f"instance '{record.id}' changed since it was read (expected revision "
                f"{expected_rev}, it is {found}); read it again and retry",
                details={"instance": record.id, "expected": expected_rev},
            )
        self._unindex(old)
        self._t.instances[record.id] = record
        self._index(record)

        def undo() -> None:
            self._unindex(record)
            self._t.instances[record.id] = old
            self._index(old)

        self.undo.append(undo)

    def children(self, instance_id: str) -> list[InstanceRecord]:
        return [self._t.instances[i] for i in self._t.by_parent.get(instance_id, ())]

    def find_instances(self, states: Sequence[tuple[str, str]]) -> list[InstanceRecord]:
        found = [
            self._t.instances[i]
            for key in states
            for i in self._t.by_state.get((key[0], key[1]), {})
        ]
        return sorted(found, key=lambda r: (r.last_activity_at, r.id))

    def count_instances(self, process: str) -> dict[str, int]:
        return {
            state: len(ids)
            for (owner, state), ids in self._t.by_state.items()
            if owner == process and ids
        }

    def search_instances(self, query: InstanceFilter, limit: int) -> list[InstanceRecord]:
        # a scan: the in-memory store serves tests and scripts, not a million instances
        if query.states is not None:
            found = [
                self._t.instances[i]
                for process, state, versions in query.states
                for i in self._t.by_state.get((process, state), {})
                if not versions or self._t.instances[i].version in versions
            ]
        else:
            found = list(self._t.instances.values())
        order = query.order
        keyed = [((sort_key(r, order), r.id), r) for r in found if _matches(r, query)]
        after = None if query.after is None else (query.after[0], query.after[1])
        if after is not None and order == "id":
            after = (after[1], after[1])
        if after is not None:
            if query.descending:
                keyed = [item for item in keyed if item[0] < after]
            else:
                keyed = [item for item in keyed if item[0] > after]
        keyed.sort(key=lambda item: item[0], reverse=query.descending)
        return [record for _, record in keyed[:limit]]

    def tally(self, now: datetime) -> StoreTally:
        return memory_tally(self._t, now)

    def instance_ids(self) -> Iterator[str]:
        return iter(sorted(self._t.instances))

    def next_number(self, name: str) -> int:
        old = self._t.counters.get(name, 0)
        self._t.counters[name] = old + 1
        self.undo.append(lambda: self._t.counters.__setitem__(name, old))
        return old + 1

    # history --------------------------------------------------------------------------------
    def append_event(self, event: EventRecord, texts: tuple[str, str] | None = None) -> None:
        events = self._t.events.setdefault(event.instance, [])
        events.append(event)
        self.undo.append(events.pop)

    def events(self, instance_id: str) -> list[EventRecord]:
        return list(self._t.events.get(instance_id, ()))

    def next_position(self, instance_id: str, seq: int, key: str, check: str) -> Position:
        held = self._t.lane
        self._t.lane = LaneRecord(held.lane, held.pos + 1, instance_id, seq, key, check)
        self.undo.append(lambda: setattr(self._t, "lane", held))
        after = (held.instance, held.seq) if held.pos else None
        return Position(held.lane, held.pos + 1, after, held.key, held.check)

    def lanes(self) -> list[LaneRecord]:
        return [self._t.lane]

    def lane_events(self, after: tuple[int, int], limit: int) -> list[EventRecord]:
        # a scan: verify reads every event anyway, and memory stores are small
        found = [
            e
            for events in self._t.events.values()
            for e in events
            if e.lane is not None and (e.lane, e.pos or 0) > after
        ]
        found.sort(key=lambda e: (e.lane or 0, e.pos or 0))
        return found[:limit]

    def history_ids(self) -> Iterator[str]:
        return iter(sorted(i for i, events in self._t.events.items() if events))

    def stored_events(self, after: tuple[str, int], limit: int) -> list[StoredEvent]:
        found: list[StoredEvent] = []
        for instance in sorted(i for i in self._t.events if i >= after[0]):
            for e in self._t.events[instance]:
                if (instance, e.seq) > after:
                    found.append(_stored(e))
                    if len(found) == limit:
                        return found
        return found

    def lane_links(self, after: tuple[int, int], limit: int) -> list[LaneLink]:
        found = []
        for events in self._t.events.values():
            for e in events:
                if e.lane is not None and (e.lane, e.pos or 0) > after:
                    named = e.after or (None, None)
                    found.append(
                        LaneLink(e.lane, e.pos or 0, e.instance, e.seq, named[0], named[1], e.key)
                    )
        found.sort(key=lambda link: (link.lane, link.pos))
        return found[:limit]

    def verify_marks(self) -> dict[str, MarkRecord]:
        return dict(self._t.marks)

    def put_verify_marks(self, marks: Sequence[MarkRecord]) -> None:
        old = dict(self._t.marks)
        self._t.marks.update((mark.instance, mark) for mark in marks)
        self.undo.append(lambda: setattr(self._t, "marks", old))

    def stored_instances(self, after: str, limit: int) -> list[StoredInstance]:
        rows = sorted(i for i in self._t.instances if i > after)[:limit]
        return [
            StoredInstance(r.id, r.process, r.version, r.state, _json(r.data), r.seq, r.head)
            for r in map(self._t.instances.__getitem__, rows)
        ]

    def stored_history(self, instance_id: str) -> list[StoredEvent]:
        return [_stored(e) for e in self._t.events.get(instance_id, [])]

    def marks_behind(self) -> list[str]:
        events = self._t.events
        return sorted(
            i for i, m in self._t.marks.items() if events.get(i) and events[i][-1].seq > m.seq
        )

    def event_counts(self) -> tuple[int, int]:
        every = [e for events in self._t.events.values() for e in events]
        return len(every), sum(e.lane is not None for e in every)

    def lane_marks(self) -> dict[int, LaneMark]:
        return dict(self._t.lane_marks)

    def put_lane_marks(self, marks: Sequence[LaneMark]) -> None:
        old = dict(self._t.lane_marks)
        self._t.lane_marks.update((mark.lane, mark) for mark in marks)
        self.undo.append(lambda: setattr(self._t, "lane_marks", old))

    # timers ---------------------------------------------------------------------------------
    def add_timer(self, timer: TimerRecord) -> TimerRecord:
        stored = replace(timer, id=self._new_id("timer"))
        assert stored.id is not None
        self._t.timers[stored.id] = stored
        self._t.timers_of.setdefault(stored.instance, {})[stored.id] = None
        key = (stored.due_at, stored.id)
        bisect.insort(self._t.due, key)

        def undo() -> None:
            assert stored.id is not None
            del self._t.timers[stored.id]
            del self._t.timers_of[stored.instance][stored.id]
            self._drop_due(key)

        self.undo.append(undo)
        return stored

    def _drop_due(self, key: tuple[datetime, int]) -> None:
        index = bisect.bisect_left(self._t.due, key)
        if index < len(self._t.due) and self._t.due[index] == key:
            del self._t.due[index]

    def _set_timer(self, timer: TimerRecord, new: TimerRecord | None) -> None:
        assert timer.id is not None
        key = (timer.due_at, timer.id)
        if new is None:
            del self._t.timers[timer.id]
            del self._t.timers_of[timer.instance][timer.id]
        else:
            self._t.timers[timer.id] = new
        self._drop_due(key)

        def undo() -> None:
            assert timer.id is not None
            self._t.timers[timer.id] = timer
            self._t.timers_of.setdefault(timer.instance, {})[timer.id] = None
            bisect.insort(self._t.due, key)

        self.undo.append(undo)

    def _of(self, instance_id: str) -> list[TimerRecord]:
        return [self._t.timers[i] for i in self._t.timers_of.get(instance_id, ())]

    def cancel_timers(self, instance_id: str, state: str) -> int:
        doomed = [t for t in self._of(instance_id) if t.state == state and t.fired_at is None]
        for timer in doomed:
            self._set_timer(timer, None)
        return len(doomed)

    def cancel_timer(self, timer_id: int) -> bool:
        timer = self._t.timers.get(timer_id)
        if timer is None or timer.fired_at is not None:
            return False
        self._set_timer(timer, None)
        return True

    def timers(self, instance_id: str) -> list[TimerRecord]:
        pending = [t for t in self._of(instance_id) if t.fired_at is None]
        return sorted(pending, key=lambda t: (t.due_at, t.id or 0))

    def next_due_timer(self, now: datetime) -> TimerRecord | None:
        if self._t.due and self._t.due[0][0] <= now:
            return self._t.timers[self._t.due[0][1]]
        return None

    def claim_timer(self, timer_id: int, fired_at: datetime) -> bool:
        timer = self._t.timers.get(timer_id)
        if timer is None or timer.fired_at is not None:
            return False
        self._set_timer(timer, replace(timer, fired_at=fired_at))
        return True

    def claim_due_timer(self, now: datetime) -> TimerRecord | None:
        timer = self.next_due_timer(now)
        if timer is None or timer.id is None:
            return None
        self.claim_timer(timer.id, now)
        return replace(timer, fired_at=now)

    # outbox ---------------------------------------------------------------------------------
    def claim_outbox(self, now: datetime, until: datetime, after: int = 0) -> OutboxRecord | None:
        for message in self.outbox():
            assert message.id is not None
            lease = message.next_attempt_at
            if message.status == "pending":
                ready = lease is None or lease <= now
            else:
                ready = message.status == "sending" and lease is not None and lease < now
            if message.id > after and ready:
                claimed = replace(message, status="sending", next_attempt_at=until)
                self.update_outbox(claimed)
                return claimed
        return None

    def add_outbox(self, message: OutboxRecord) -> OutboxRecord:
        stored = replace(message, id=self._new_id("outbox"))
        assert stored.id is not None
        self._t.outbox[stored.id] = stored
        self.undo.append(lambda: self._t.outbox.pop(stored.id or 0))
        return stored

    def outbox(self, status: str | None = None) -> list[OutboxRecord]:
        rows = sorted(self._t.outbox.values(), key=lambda m: m.id or 0)
        return [m for m in rows if status is None or m.status == status]

    def update_outbox(self, message: OutboxRecord) -> None:
        assert message.id is not None
        old = self._t.outbox[message.id]
        self._t.outbox[message.id] = message
        self.undo.append(lambda: self._t.outbox.__setitem__(old.id or 0, old))

    # jobs -----------------------------------------------------------------------------------
    def add_job(self, job: JobRecord) -> JobRecord:
        stored = replace(job, id=self._new_id("job"))
        assert stored.id is not None
        self._t.jobs[stored.id] = stored
        self.undo.append(lambda: self._t.jobs.pop(stored.id or 0))
        return stored

    def get_job(self, job_id: int) -> JobRecord | None:
        return self._t.jobs.get(job_id)

    def update_job(self, job: JobRecord) -> None:
        assert job.id is not None
        old = self._t.jobs[job.id]
        self._t.jobs[job.id] = job
        self.undo.append(lambda: self._t.jobs.__setitem__(old.id or 0, old))

    def fetch_jobs(
        self, type: str, worker: str, now: datetime, until: datetime, limit: int
    ) -> list[JobRecord]:
        taken: list[JobRecord] = []
        for job in self.jobs(type=type):
            if len(taken) >= limit:
                break
            due = job.state in ("open", "failed") and job.due_at <= now
            lapsed = job.state == "locked" and job.lease_until is not None and job.lease_until < now
            if due or lapsed:
                job = replace(
                    job, state="locked", attempt=job.attempt + 1, worker=worker, lease_until=until
                )
                self.update_job(job)
                taken.append(job)
        return taken

    def jobs(
        self, instance: str | None = None, type: str | None = None, state: str | None = None
    ) -> list[JobRecord]:
        return [
            job
            for _, job in sorted(self._t.jobs.items())
            if (instance is None or job.instance == instance)
            and (type is None or job.type == type)
            and (state is None or job.state == state)
        ]

    def cancel_jobs(self, instance: str) -> int:
        open_states = ("open", "locked", "failed", "incident")
        doomed = [job for job in self.jobs(instance=instance) if job.state in open_states]
        for job in doomed:
            self.update_job(replace(job, state="cancelled", lease_until=None))
        return len(doomed)

    def job_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for job in self._t.jobs.values():
            counts[job.state] = counts.get(job.state, 0) + 1
        return dict(sorted(counts.items()))

    # batches --------------------------------------------------------------------------------
    def _set_members(self, members: list[BatchMember]) -> None:
        old = self._t.members
        self._t.members = members
        self.undo.append(lambda: setattr(self._t, "members", old))

    def add_batch_member(self, member: BatchMember) -> None:
        self._t.members.append(member)
        self.undo.append(self._t.members.pop)

    def leave_batch(self, instance_id: str, state: str) -> int:
        def dropped(m: BatchMember) -> bool:
            return m.instance == instance_id and m.state == state and m.batch is None

        kept = [m for m in self._t.members if not dropped(m)]
        count = len(self._t.members) - len(kept)
        if count:
            self._set_members(kept)
        return count

    def take_batch(
        self, process: str, state: str, until: datetime, batch: int
    ) -> list[BatchMember]:
        taken: list[BatchMember] = []
        members: list[BatchMember] = []
        for m in self._t.members:
            if (m.process, m.state) == (process, state) and m.period <= until and m.batch is None:
                m = replace(m, batch=batch)
                taken.append(m)
            members.append(m)
        if taken:
            self._set_members(members)
        return sorted(taken, key=lambda m: (m.joined_at, m.instance))

    # sheets ---------------------------------------------------------------------------------
    def add_sheet_row(self, row: SheetRow) -> SheetRow:
        stored = replace(row, id=self._new_id("sheet"))
        rows = self._t.sheets.setdefault(row.sheet, [])
        rows.append(stored)
        self.undo.append(rows.pop)
        return stored

    def sheet_rows(self, sheet: str) -> list[SheetRow]:
        return list(self._t.sheets.get(sheet, ()))

    # listeners ------------------------------------------------------------------------------
    def get_cursor(self, name: str) -> str | None:
        return self._t.cursors.get(name)

    def put_cursor(self, name: str, cursor: str) -> None:
        old = self._t.cursors.get(name)
        self._t.cursors[name] = cursor

        def undo() -> None:
            if old is None:
                del self._t.cursors[name]
            else:
                self._t.cursors[name] = old

        self.undo.append(undo)

    # definitions ----------------------------------------------------------------------------
    def get_definition(self, process: str, version: int) -> DefinitionRecord | None:
        return self._t.definitions.get((process, version))

    def definition_versions(self) -> list[tuple[str, int]]:
        return sorted(self._t.definitions)

    def put_definition(self, definition: DefinitionRecord) -> None:
        key = (definition.process, definition.version)
        old = self._t.definitions.get(key)
        self._t.definitions[key] = definition

        def undo() -> None:
            if old is None:
                del self._t.definitions[key]
            else:
                self._t.definitions[key] = old

        self.undo.append(undo)

    # credentials ----------------------------------------------------------------------------
    def get_password(self, person: str) -> str | None:
        return self._t.passwords.get(person)

    def set_password(self, person: str, hashed: str, at: datetime) -> None:
        old = self._t.passwords.get(person)
        self._t.passwords[person] = hashed

        def undo() -> None:
            if old is None:
                self._t.passwords.pop(person, None)
            else:
                self._t.passwords[person] = old

        self.undo.append(undo)

    def add_token(self, token: TokenRecord) -> None:
        if token.digest in self._t.tokens:
            raise AlreadyExists("that API token exists already")
        self._t.tokens[token.digest] = token
        self.undo.append(lambda: self._t.tokens.pop(token.digest, None))

    def get_token(self, digest: str) -> TokenRecord | None:
        return self._t.tokens.get(digest)

    def revoke_tokens(self, person: str, at: datetime) -> int:
        live = [t for t in self._t.tokens.values() if t.person == person and t.revoked_at is None]
        for token in live:
            self._t.tokens[token.digest] = replace(token, revoked_at=at)

        def undo() -> None:
            for token in live:
                self._t.tokens[token.digest] = token

        self.undo.append(undo)
        return len(live)


class _Unit:
    """The block of `MemoryStore.transaction`: the store's lock held, the writes undone if the
    block raises. A class rather than a generator-based context manager, which costs about a
    microsecond more on every step."""

    __slots__ = ("_store", "_tx")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def __enter__(self) -> MemoryTransaction:
        store = self._store
        store._lock.acquire()
        self._tx = MemoryTransaction(store._tables)
        return self._tx

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        undo = self._tx.undo
        try:
            if kind is not None:
                for step in reversed(undo):
                    step()
        finally:
            # the undo steps refer to the transaction that holds them: emptied, the whole
            # unit is freed at once rather than left to the cyclic garbage collector, which
            # would otherwise run every few dozen steps and walk every object alive
            undo.clear()
            self._store._lock.release()


class MemoryStore:
    """A store kept in the process's memory; lost when the process ends."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._tables = _Tables()
        self._lock = threading.RLock()

    def transaction(self, *, write: bool = True) -> _Unit:
        """A unit of work; every write in it is undone if the block raises."""
        return _Unit(self)

    def upgrade(self) -> list[int]:
        """Nothing to migrate in memory."""
        return []

    def close(self) -> None:
        """Nothing to release."""

    def tables(self) -> Any:
        """The raw tables, for tests that tamper with a history as an attacker would."""
        return self._tables

    def stats(self) -> dict[str, Any]:
        """Row counts, for tests and the benchmark."""
        return {"instances": len(self._tables.instances), "timers": len(self._tables.timers)}
