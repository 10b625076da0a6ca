"""The transaction code the SQL stores share, written against a small dialect object.

SQLite (`engine.store.sqlite`) and PostgreSQL (`engine.store.postgres`) hold the same tables
(`engine.store.schema`) and read them into the same records (`engine.store.rows`). What differs
in the statements both run is held by a `Dialect`, one per database: the parameter placeholder,
how an INSERT gives back the id it made, the lock a read of a row the step will write takes, and
which database errors mean a duplicate key or a lost race. `Statements` writes every fixed
statement once in a dialect's terms, and `SQLTransaction` runs them on a DB-API cursor.

`SQLiteTransaction` and `PostgresTransaction` are siblings built on `SQLTransaction`; each adds,
in its own module, the statements that truly differ: taking an audit lane, and claiming timers,
messages, jobs and batch members (a plain read then write where SQLite's `BEGIN IMMEDIATE` lets
one writer in at a time; one `FOR UPDATE SKIP LOCKED` statement among PostgreSQL's many).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any, ClassVar, NamedTuple, Protocol

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
    from_iso,
    to_iso,
)
from .rows import (
    EVENT_COLUMNS,
    INSTANCE_COLUMNS,
    JOB_COLUMNS,
    LANE_COLUMNS,
    MEMBER_COLUMNS,
    OUTBOX_COLUMNS,
    TIMER_COLUMNS,
    decode_event,
    decode_instance,
    decode_job,
    decode_outbox,
    decode_timer,
    dumps,
    job_values,
    json_object,
    opt_iso,
    remember,
    written_row,
)
from .search_sql import search_sql
from .tally import StoreTally, sql_tally

__all__ = ["Cursor", "Dialect", "SQLTransaction", "Statements", "event_values", "lost_race"]


class Cursor(Protocol):
    """What the shared code asks of a DB-API cursor (sqlite3's, psycopg's): `execute`, whose
    result reads rows (`fetchone`, `fetchall`, iteration) and says `rowcount`."""

    def execute(self, statement: str, params: Any = ..., /) -> Any: ...


# rows as named tuples without a Python call per row (`_make` costs a fifth of verify's read)
_STORED_EVENT = partial(tuple.__new__, StoredEvent)
_LANE_LINK = partial(tuple.__new__, LaneLink)
_STORED_INSTANCE = partial(tuple.__new__, StoredInstance)


def event_values(event: EventRecord, texts: tuple[str, str] | None = None) -> tuple[Any, ...]:
    """An event's values in the order of `append_event`'s statement (EVENT_COLUMNS); `texts`
    its data and detail as JSON text when the caller encoded them already (`append_event`)."""
    data, detail = texts if texts is not None else (None, None)
    return (
        event.instance,
        event.seq,
        to_iso(event.at),
        event.actor,
        event.role,
        event.kind,
        event.trigger,
        event.source,
        event.dest,
        json_object(event.data) if data is None else data,
        json_object(event.detail) if detail is None else detail,
        event.prev_hash,
        event.hash,
        event.lane,
        event.pos,
        None if event.after is None else event.after[0],
        None if event.after is None else event.after[1],
        None if event.lane is None else event.key,
    )


def lost_race(event: EventRecord) -> ConflictError:
    """Another worker appended this instance's next event first: a lost race, retried."""
    return ConflictError(
        f"instance '{event.instance}' changed since it was read (its event "
        f"{event.seq} was written by another worker); read it again and retry"
    )


class Dialect(NamedTuple):
    """What differs between the SQL databases in the statements they share.

    Attributes:
        mark: the parameter placeholder (`?`, `%s`).
        returning_id: what an INSERT into a table with an automatic id ends with so that
            `inserted_id` finds the new id (empty when the cursor says it anyway).
        inserted_id: the id the INSERT just run on a cursor made.
        lock_row: what a read of a row the step is about to write ends with, so that a second
            writer of the row waits for this one to commit (empty when writers never overlap).
        duplicate: the errors of a duplicate key (an instance id taken).
        event_race: the errors that mean another writer appended the instance's next history
            event first, a lost race the engine retries (none where writers never overlap).
    """

    mark: str
    returning_id: str
    inserted_id: Callable[[Any], int | None]
    lock_row: str
    duplicate: tuple[type[Exception], ...]
    event_race: tuple[type[Exception], ...]


class Statements:
    """Every fixed statement of `SQLTransaction`, written once in a dialect's terms.

    Statements are built once per dialect, never per call: sqlite3 and psycopg both keep a
    statement's prepared form by its text.
    """

    def __init__(self, dialect: Dialect) -> None:
        p, new_id = dialect.mark, dialect.returning_id

        def marks(count: int) -> str:
            return ", ".join([p] * count)

        job_columns = JOB_COLUMNS.split(", ", 1)[1]  # all but the id
        # instances
        self.get_instance = f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = {p}"
        self.insert_instance = f"INSERT INTO instances ({INSTANCE_COLUMNS}) VALUES ({marks(15)})"
        self.update_instance = (
            f"UPDATE instances SET state = {p}, data = {p}, rev = {p}, seq = {p}, head = {p}, "
            f"updated_at = {p}, last_activity_at = {p}, format_version = {p}, assignee = {p}, "
            f"version = {p} WHERE id = {p} AND rev = {p}"
        )
        self.children = (
            f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE parent = {p} ORDER BY created_at, id"
        )
        self.count_instances = (
            f"SELECT state, COUNT(*) FROM instances WHERE process = {p} GROUP BY state"
        )
        self.instance_ids = "SELECT id FROM instances ORDER BY id"
        self.bump_counter = (
            f"INSERT INTO counters (name, value) VALUES ({p}, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"
        )
        self.counter = f"SELECT value FROM counters WHERE name = {p}"
        # history
        self.append_event = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({marks(18)})"
        self.move_lane = (
            f"UPDATE audit_lanes SET pos = {p}, instance = {p}, seq = {p}, key_id = {p}, "
            f"key_check = {p} WHERE lane = {p}"
        )
        self.lanes = f"SELECT {LANE_COLUMNS} FROM audit_lanes ORDER BY lane"
        self.lane_events = (
            f"SELECT {EVENT_COLUMNS} FROM events WHERE lane IS NOT NULL AND "
            f"(lane, pos) > ({p}, {p}) ORDER BY lane, pos LIMIT {p}"
        )
        self.history_ids = "SELECT DISTINCT instance FROM events ORDER BY instance"
        self.events = f"SELECT {EVENT_COLUMNS} FROM events WHERE instance = {p} ORDER BY seq"
        self.stored_events = (
            f"SELECT {EVENT_COLUMNS} FROM events WHERE (instance, seq) > ({p}, {p}) "
            f"ORDER BY instance, seq LIMIT {p}"
        )
        self.lane_links = (
            "SELECT lane, pos, instance, seq, after_instance, after_seq, key_id FROM events "
            f"WHERE lane IS NOT NULL AND (lane, pos) > ({p}, {p}) ORDER BY lane, pos LIMIT {p}"
        )
        self.verify_marks = (
            "SELECT instance, seq, head, digest, key_id, mac, seals FROM verify_marks"
        )
        self.put_verify_mark = (
            f"INSERT INTO verify_marks (instance, seq, head, digest, key_id, mac, seals) "
            f"VALUES ({marks(7)}) ON CONFLICT (instance) DO UPDATE SET "
            "seq = excluded.seq, head = excluded.head, digest = excluded.digest, "
            "key_id = excluded.key_id, mac = excluded.mac, seals = excluded.seals"
        )
        self.stored_instances = (
            "SELECT id, process, version, state, data, seq, head FROM instances "
            f"WHERE id > {p} ORDER BY id LIMIT {p}"
        )
        self.marks_behind = (
            "SELECT m.instance FROM verify_marks m WHERE EXISTS (SELECT 1 FROM events e "
            "WHERE e.instance = m.instance AND e.seq > m.seq) ORDER BY m.instance"
        )
        self.event_counts = (
            "SELECT (SELECT COUNT(*) FROM events), "
            "(SELECT COUNT(*) FROM events WHERE lane IS NOT NULL)"
        )
        self.lane_marks = (
            "SELECT lane, pos, instance, seq, event_key, key_id, mac FROM verify_lanes"
        )
        self.put_lane_mark = (
            "INSERT INTO verify_lanes (lane, pos, instance, seq, event_key, key_id, mac) "
            f"VALUES ({marks(7)}) ON CONFLICT (lane) DO UPDATE SET pos = excluded.pos, "
            "instance = excluded.instance, seq = excluded.seq, event_key = excluded.event_key, "
            "key_id = excluded.key_id, mac = excluded.mac"
        )
        # timers
        self.add_timer = (
            "INSERT INTO timers (instance, name, state, trigger_name, due_at, data, created_at, "
            f"fired_at) VALUES ({marks(8)}){new_id}"
        )
        self.cancel_timers = (
            f"DELETE FROM timers WHERE instance = {p} AND state = {p} AND fired_at IS NULL"
        )
        self.cancel_timer = f"DELETE FROM timers WHERE id = {p} AND fired_at IS NULL"
        self.timers = (
            f"SELECT {TIMER_COLUMNS} FROM timers WHERE instance = {p} AND fired_at IS NULL "
            "ORDER BY due_at, id"
        )
        self.next_due_timer = (
            f"SELECT {TIMER_COLUMNS} FROM timers WHERE fired_at IS NULL AND due_at <= {p} "
            "ORDER BY due_at, id LIMIT 1"
        )
        self.claim_timer = f"UPDATE timers SET fired_at = {p} WHERE id = {p} AND fired_at IS NULL"
        # outbox
        self.add_outbox = (
            "INSERT INTO outbox (instance, channel, to_addr, cc_addr, subject, body, created_at, "
            "status, attempts, error, delivered_at, attachments, lease_until) "
            f"VALUES ({marks(13)}){new_id}"
        )
        self.outbox = f"SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id"
        self.outbox_of = f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = {p} ORDER BY id"
        self.update_outbox = (
            f"UPDATE outbox SET status = {p}, attempts = {p}, error = {p}, delivered_at = {p}, "
            f"lease_until = {p} WHERE id = {p}"
        )
        # jobs
        self.add_job = f"INSERT INTO jobs ({job_columns}) VALUES ({marks(16)}){new_id}"
        self.get_job = f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = {p}{dialect.lock_row}"
        sets = ", ".join(f"{name} = {p}" for name in job_columns.split(", "))
        self.update_job = f"UPDATE jobs SET {sets} WHERE id = {p}"
        self.cancel_jobs = (
            f"UPDATE jobs SET state = 'cancelled', lease_until = NULL WHERE instance = {p} AND "
            "state IN ('open', 'locked', 'failed', 'incident')"
        )
        self.job_counts = "SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state"
        # batches
        self.add_batch_member = f"INSERT INTO batch_members ({MEMBER_COLUMNS}) VALUES ({marks(6)})"
        self.leave_batch = (
            f"DELETE FROM batch_members WHERE instance = {p} AND state = {p} AND batch IS NULL"
        )
        # sheets
        self.add_sheet_row = (
            "INSERT INTO sheet_rows (sheet, instance, created_at, row_values) "
            f"VALUES ({marks(4)}){new_id}"
        )
        self.sheet_rows = (
            "SELECT id, sheet, instance, created_at, row_values FROM sheet_rows "
            f"WHERE sheet = {p} ORDER BY id"
        )
        # listeners
        self.get_cursor = f"SELECT cursor FROM listener_cursors WHERE name = {p}"
        self.put_cursor = (
            f"INSERT INTO listener_cursors (name, cursor) VALUES ({p}, {p}) "
            "ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor"
        )
        # definitions
        self.get_definition = (
            "SELECT process, version, source_hash, source FROM definitions "
            f"WHERE process = {p} AND version = {p}"
        )
        self.definition_versions = (
            "SELECT process, version FROM definitions ORDER BY process, version"
        )
        self.put_definition = (
            f"INSERT INTO definitions (process, version, source_hash, source) VALUES ({marks(4)}) "
            "ON CONFLICT (process, version) DO UPDATE SET source_hash = excluded.source_hash, "
            "source = excluded.source"
        )
        # credentials
        self.get_password = f"SELECT hash FROM passwords WHERE person = {p}"
        self.set_password = (
            f"INSERT INTO passwords (person, hash, set_at) VALUES ({marks(3)}) "
            "ON CONFLICT (person) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at"
        )
        self.add_token = (
            f"INSERT INTO api_tokens (digest, person, created_at, revoked_at) VALUES ({marks(4)})"
        )
        self.get_token = (
            f"SELECT digest, person, created_at, revoked_at FROM api_tokens WHERE digest = {p}"
        )
        self.revoke_tokens = (
            f"UPDATE api_tokens SET revoked_at = {p} WHERE person = {p} AND revoked_at IS NULL"
        )


class SQLTransaction:
    """One unit of work on a SQL store's cursor: the statements SQLite and PostgreSQL share.

    A subclass names its `dialect` and `sql` (the dialect's `Statements`) and adds what its
    database does its own way: `_take_lane`, `claim_due_timer`, `claim_outbox`, `fetch_jobs`
    and `take_batch`. Every method reads its rows before the next statement runs, so the cursor
    is free again when a method returns.
    """

    dialect: ClassVar[Dialect]
    sql: ClassVar[Statements]

    def __init__(self, cursor: Any, run: Cursor | None = None) -> None:
        """`cursor` is the transaction's DB-API cursor; statements run on `run` (the cursor
        itself unless given: SQLite's table prefix wraps it, see engine.store.prefix)."""
        self._cursor = cursor
        self._c: Cursor = cursor if run is None else run
        self._lane: LaneRecord | None = None  # the lane this transaction took, as it is now
        self._marks: list[LaneRecord | None] = []  # `_lane` at each savepoint

    @property
    def db_cursor(self) -> Any:
        """The cursor of this transaction, for a step hook's own tables (`StepContext`)."""
        return self._cursor

    # savepoints -----------------------------------------------------------------------------
    def savepoint(self) -> int:
        self._marks.append(self._lane)
        mark = len(self._marks)
        self._c.execute(f"SAVEPOINT fulfil_{mark}")
        return mark

    def rollback_to(self, mark: int) -> None:
        self._c.execute(f"ROLLBACK TO SAVEPOINT fulfil_{mark}")
        self._lane = self._marks[mark - 1]  # the lane as it was then (its row is rolled back)

    def release(self, mark: int) -> None:
        self._c.execute(f"RELEASE SAVEPOINT fulfil_{mark}")
        del self._marks[mark - 1 :]

    # instances ------------------------------------------------------------------------------
    def get_instance(self, instance_id: str) -> InstanceRecord | None:
        row = self._c.execute(self.sql.get_instance, (instance_id,)).fetchone()
        return None if row is None else decode_instance(row)

    def insert_instance(self, record: InstanceRecord) -> None:
        try:
            self._c.execute(
                self.sql.insert_instance,
                (
                    record.id,
                    record.process,
                    record.version,
                    record.state,
                    dumps(record.data),
                    record.parent,
                    record.task,
                    record.rev,
                    record.seq,
                    record.head,
                    to_iso(record.created_at),
                    to_iso(record.updated_at),
                    to_iso(record.last_activity_at),
                    record.format_version,
                    record.assignee,
                ),
            )
        except self.dialect.duplicate:
            raise AlreadyExists(
                f"an instance with id '{record.id}' already exists",
                details={"instance": record.id},
            ) from None

    def update_instance(self, record: InstanceRecord, expected_rev: int) -> None:
        data = dumps(record.data)
        updated, activity = to_iso(record.updated_at), to_iso(record.last_activity_at)
        values = (
            record.state,
            data,
            record.rev,
            record.seq,
            record.head,
            updated,
            activity,
            record.format_version,
            record.assignee,
            record.version,
            record.id,
            expected_rev,
        )
        if self._write_instance(record.id, values) != 1:
            raise ConflictError(
                f"instance '{record.id}' changed since it was read (expected revision "
                f"{expected_rev}); read it again and retry",
                details={"instance": record.id, "expected": expected_rev},
            )
        # the next step of this instance reads this row back: it need not decode it again
        row = written_row(record, data, updated, activity)
        if row is not None:
            remember(row, record)

    def _write_instance(self, instance_id: str, values: tuple[Any, ...]) -> int:
        """Run `update_instance`'s statement with its values; the number of rows it changed."""
        return int(self._c.execute(self.sql.update_instance, values).rowcount)

    def children(self, instance_id: str) -> list[InstanceRecord]:
        rows = self._c.execute(self.sql.children, (instance_id,))
        return [decode_instance(row) for row in rows]

    def find_instances(self, states: Sequence[tuple[str, str]]) -> list[InstanceRecord]:
        if not states:
            return []
        p = self.dialect.mark
        where = " OR ".join(f"(process = {p} AND state = {p})" for _ in states)
        params = [part for pair in states for part in pair]
        rows = self._c.execute(
            f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE {where} ORDER BY last_activity_at, id",
            params,
        )
        return [decode_instance(row) for row in rows]

    def count_instances(self, process: str) -> dict[str, int]:
        rows = self._c.execute(self.sql.count_instances, (process,))
        return {str(state): int(count) for state, count in rows.fetchall()}

    def search_instances(self, query: InstanceFilter, limit: int) -> list[InstanceRecord]:
        sql, params = search_sql(query, limit, self.dialect.mark)
        return [decode_instance(row) for row in self._c.execute(sql, params).fetchall()]

    def tally(self, now: datetime) -> StoreTally:
        return sql_tally(self._c, now, self.dialect.mark)

    def instance_ids(self) -> Iterator[str]:
        for (instance_id,) in self._c.execute(self.sql.instance_ids).fetchall():
            yield instance_id

    def next_number(self, name: str) -> int:
        self._c.execute(self.sql.bump_counter, (name,))
        (value,) = self._c.execute(self.sql.counter, (name,)).fetchone()
        return int(value)

    # history --------------------------------------------------------------------------------
    def append_event(self, event: EventRecord, texts: tuple[str, str] | None = None) -> None:
        try:
            self._c.execute(self.sql.append_event, event_values(event, texts))
        except self.dialect.event_race:
            raise lost_race(event) from None

    def next_position(self, instance_id: str, seq: int, key: str, check: str) -> Position:
        held = self._lane
        if held is None:
            held = self._take_lane(instance_id, seq, key, check)
        else:
            self._move_lane(held.lane, held.pos + 1, instance_id, seq, key, check)
        pos = held.pos + 1
        self._lane = LaneRecord(held.lane, pos, instance_id, seq, key, check)
        after = (held.instance, held.seq) if held.pos else None
        return Position(held.lane, pos, after, held.key, held.check)

    def _move_lane(
        self, lane: int, pos: int, instance_id: str, seq: int, key: str, check: str
    ) -> None:
        self._c.execute(self.sql.move_lane, (pos, instance_id, seq, key, check, lane))

    def _take_lane(self, instance_id: str, seq: int, key: str, check: str) -> LaneRecord:
        """Take a lane for this transaction, moved on to the event given; as it was before."""
        raise NotImplementedError  # each database takes its lanes its own way

    def lanes(self) -> list[LaneRecord]:
        rows = self._c.execute(self.sql.lanes)
        return [LaneRecord(*row) for row in rows.fetchall()]

    def lane_events(self, after: tuple[int, int], limit: int) -> list[EventRecord]:
        rows = self._c.execute(self.sql.lane_events, (after[0], after[1], limit))
        return [decode_event(row) for row in rows.fetchall()]

    def history_ids(self) -> Iterator[str]:
        rows = self._c.execute(self.sql.history_ids)
        yield from (instance for (instance,) in rows.fetchall())

    def events(self, instance_id: str) -> list[EventRecord]:
        rows = self._c.execute(self.sql.events, (instance_id,))
        return [decode_event(row) for row in rows]

    def stored_events(self, after: tuple[str, int], limit: int) -> list[StoredEvent]:
        rows = self._c.execute(self.sql.stored_events, (after[0], after[1], limit))
        return list(map(_STORED_EVENT, rows.fetchall()))

    def lane_links(self, after: tuple[int, int], limit: int) -> list[LaneLink]:
        rows = self._c.execute(self.sql.lane_links, (after[0], after[1], limit))
        return list(map(_LANE_LINK, rows.fetchall()))

    def verify_marks(self) -> dict[str, MarkRecord]:
        rows = self._c.execute(self.sql.verify_marks)
        return {row[0]: MarkRecord(*row) for row in rows.fetchall()}

    def put_verify_marks(self, marks: Sequence[MarkRecord]) -> None:
        for m in marks:
            values = (m.instance, m.seq, m.head, m.digest, m.key, m.mac, m.seals)
            self._c.execute(self.sql.put_verify_mark, values)

    def stored_instances(self, after: str, limit: int) -> list[StoredInstance]:
        rows = self._c.execute(self.sql.stored_instances, (after, limit))
        return list(map(_STORED_INSTANCE, rows.fetchall()))

    def stored_history(self, instance_id: str) -> list[StoredEvent]:
        rows = self._c.execute(self.sql.events, (instance_id,))
        return list(map(_STORED_EVENT, rows.fetchall()))

    def marks_behind(self) -> list[str]:
        return [instance for (instance,) in self._c.execute(self.sql.marks_behind).fetchall()]

    def event_counts(self) -> tuple[int, int]:
        total, placed = self._c.execute(self.sql.event_counts).fetchone()
        return int(total), int(placed)

    def lane_marks(self) -> dict[int, LaneMark]:
        rows = self._c.execute(self.sql.lane_marks)
        return {row[0]: LaneMark(*row) for row in rows.fetchall()}

    def put_lane_marks(self, marks: Sequence[LaneMark]) -> None:
        for m in marks:
            values = (m.lane, m.pos, m.instance, m.seq, m.event_key, m.key, m.mac)
            self._c.execute(self.sql.put_lane_mark, values)

    # timers ---------------------------------------------------------------------------------
    def add_timer(self, timer: TimerRecord) -> TimerRecord:
        cursor = self._c.execute(
            self.sql.add_timer,
            (
                timer.instance,
                timer.name,
                timer.state,
                timer.trigger,
                to_iso(timer.due_at),
                dumps(timer.data),
                to_iso(timer.created_at),
                opt_iso(timer.fired_at),
            ),
        )
        return replace(timer, id=self.dialect.inserted_id(cursor))

    def cancel_timers(self, instance_id: str, state: str) -> int:
        cursor = self._c.execute(self.sql.cancel_timers, (instance_id, state))
        return int(cursor.rowcount)

    def cancel_timer(self, timer_id: int) -> bool:
        cursor = self._c.execute(self.sql.cancel_timer, (timer_id,))
        return bool(cursor.rowcount == 1)

    def timers(self, instance_id: str) -> list[TimerRecord]:
        rows = self._c.execute(self.sql.timers, (instance_id,))
        return [decode_timer(row) for row in rows]

    def next_due_timer(self, now: datetime) -> TimerRecord | None:
        row = self._c.execute(self.sql.next_due_timer, (to_iso(now),)).fetchone()
        return None if row is None else decode_timer(row)

    def claim_timer(self, timer_id: int, fired_at: datetime) -> bool:
        cursor = self._c.execute(self.sql.claim_timer, (to_iso(fired_at), timer_id))
        return bool(cursor.rowcount == 1)

    # outbox ---------------------------------------------------------------------------------
    def add_outbox(self, message: OutboxRecord) -> OutboxRecord:
        cursor = self._c.execute(
            self.sql.add_outbox,
            (
                message.instance,
                message.channel,
                dumps(list(message.to)),
                dumps(list(message.cc)),
                message.subject,
                message.body,
                to_iso(message.created_at),
                message.status,
                message.attempts,
                message.error,
                opt_iso(message.delivered_at),
                dumps([list(a) for a in message.attachments]),
                opt_iso(message.next_attempt_at),
            ),
        )
        return replace(message, id=self.dialect.inserted_id(cursor))

    def outbox(self, status: str | None = None) -> list[OutboxRecord]:
        if status is None:
            rows = self._c.execute(self.sql.outbox)
        else:
            rows = self._c.execute(self.sql.outbox_of, (status,))
        return [decode_outbox(row) for row in rows]

    def update_outbox(self, message: OutboxRecord) -> None:
        self._c.execute(
            self.sql.update_outbox,
            (
                message.status,
                message.attempts,
                message.error,
                opt_iso(message.delivered_at),
                opt_iso(message.next_attempt_at),
                message.id,
            ),
        )

    # jobs -----------------------------------------------------------------------------------
    def add_job(self, job: JobRecord) -> JobRecord:
        cursor = self._c.execute(self.sql.add_job, job_values(job))
        return replace(job, id=self.dialect.inserted_id(cursor))

    def get_job(self, job_id: int) -> JobRecord | None:
        # read under the dialect's row lock: of two workers completing one job, the second
        # reads it after the first committed
        found = self._c.execute(self.sql.get_job, (job_id,)).fetchone()
        return None if found is None else decode_job(found)

    def update_job(self, job: JobRecord) -> None:
        self._c.execute(self.sql.update_job, (*job_values(job), job.id))

    def jobs(
        self, instance: str | None = None, type: str | None = None, state: str | None = None
    ) -> list[JobRecord]:
        wanted = [("instance", instance), ("type", type), ("state", state)]
        given = [(name, value) for name, value in wanted if value is not None]
        p = self.dialect.mark
        where = " AND ".join(f"{name} = {p}" for name, _ in given) or "1 = 1"
        rows = self._c.execute(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE {where} ORDER BY id",
            [value for _, value in given],
        )
        return [decode_job(row) for row in rows.fetchall()]

    def cancel_jobs(self, instance: str) -> int:
        cursor = self._c.execute(self.sql.cancel_jobs, (instance,))
        return int(cursor.rowcount)

    def job_counts(self) -> dict[str, int]:
        rows = self._c.execute(self.sql.job_counts)
        return {str(state): int(count) for state, count in rows.fetchall()}

    # batches --------------------------------------------------------------------------------
    def add_batch_member(self, member: BatchMember) -> None:
        self._c.execute(
            self.sql.add_batch_member,
            (
                member.process,
                member.state,
                member.instance,
                to_iso(member.period),
                to_iso(member.joined_at),
                member.batch,
            ),
        )

    def leave_batch(self, instance_id: str, state: str) -> int:
        cursor = self._c.execute(self.sql.leave_batch, (instance_id, state))
        return int(cursor.rowcount)

    # sheets ---------------------------------------------------------------------------------
    def add_sheet_row(self, row: SheetRow) -> SheetRow:
        cursor = self._c.execute(
            self.sql.add_sheet_row,
            (
                row.sheet,
                row.instance,
                to_iso(row.created_at),
                dumps([list(v) for v in row.values]),
            ),
        )
        return replace(row, id=self.dialect.inserted_id(cursor))

    def sheet_rows(self, sheet: str) -> list[SheetRow]:
        rows = self._c.execute(self.sql.sheet_rows, (sheet,))
        return [
            SheetRow(
                id=r[0],
                sheet=r[1],
                instance=r[2],
                created_at=from_iso(r[3]),
                values=tuple((str(k), str(v)) for k, v in json.loads(r[4])),
            )
            for r in rows
        ]

    # listeners ------------------------------------------------------------------------------
    def get_cursor(self, name: str) -> str | None:
        found = self._c.execute(self.sql.get_cursor, (name,)).fetchone()
        return None if found is None else str(found[0])

    def put_cursor(self, name: str, cursor: str) -> None:
        self._c.execute(self.sql.put_cursor, (name, cursor))

    # definitions ----------------------------------------------------------------------------
    def get_definition(self, process: str, version: int) -> DefinitionRecord | None:
        row = self._c.execute(self.sql.get_definition, (process, version)).fetchone()
        return None if row is None else DefinitionRecord(*row)

    def definition_versions(self) -> list[tuple[str, int]]:
        rows = self._c.execute(self.sql.definition_versions)
        return [(str(process), int(version)) for process, version in rows.fetchall()]

    def put_definition(self, definition: DefinitionRecord) -> None:
        self._c.execute(
            self.sql.put_definition,
            (definition.process, definition.version, definition.source_hash, definition.source),
        )

    # credentials ----------------------------------------------------------------------------
    def get_password(self, person: str) -> str | None:
        row = self._c.execute(self.sql.get_password, (person,)).fetchone()
        return None if row is None else str(row[0])

    def set_password(self, person: str, hashed: str, at: datetime) -> None:
        self._c.execute(self.sql.set_password, (person, hashed, to_iso(at)))

    def add_token(self, token: TokenRecord) -> None:
        self._c.execute(
            self.sql.add_token,
            (token.digest, token.person, to_iso(token.created_at), opt_iso(token.revoked_at)),
        )

    def get_token(self, digest: str) -> TokenRecord | None:
        row = self._c.execute(self.sql.get_token, (digest,)).fetchone()
        if row is None:
            return None
        revoked = from_iso(row[3]) if row[3] else None
        return TokenRecord(str(row[0]), str(row[1]), from_iso(row[2]), revoked)

    def revoke_tokens(self, person: str, at: datetime) -> int:
        done = self._c.execute(self.sql.revoke_tokens, (to_iso(at), person))
        return int(done.rowcount)
