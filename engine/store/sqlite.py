"""The SQLite store: the embedded default, one file, safe for several processes on one machine.

The file runs in WAL mode. `synchronous` (the URL's `?synchronous=`) says what a commit waits
for: `normal` (the default) keeps the file consistent whatever happens and loses nothing when a
process crashes, but the last commits can roll back on a power loss or an operating system
crash; `full` waits for the disk at every commit (about a millisecond here), so a committed step
survives those too: the production setting. Write transactions start with
`BEGIN IMMEDIATE`, so a step reads and writes its instance under one lock and two writers
queue (up to `busy_timeout`) instead of failing half-way. Readers never take that lock (WAL
lets them read the last commit while a writer works), and opening a file whose schema is
current writes nothing, so `show` never waits for a writer. The revision check in
`update_instance` still guards against writers that read outside the transaction.

A file that cannot be written (read-only media, a read-only file or folder) is opened read-only:
reading works, a write transaction is refused with a StoreError saying so. Every SQLite failure
inside a transaction (a full disk, a lock held too long) rolls the whole step back and becomes a
StoreError that says what happened and what to do.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, cast
from urllib.parse import quote

from ..errors import AlreadyExists, ConflictError, StoreError, UsageError
from .base import (
    BatchMember,
    DefinitionRecord,
    EventRecord,
    InstanceFilter,
    InstanceRecord,
    JobRecord,
    LaneRecord,
    OutboxRecord,
    Position,
    SheetRow,
    TimerRecord,
    TokenRecord,
    from_iso,
    to_iso,
)
from .prefix import SYNCHRONOUS, Prefixed, check_prefix
from .schema import MIGRATIONS
from .search_sql import search_sql
from .sqlite_rows import (
    _APPEND_EVENT,
    _EVENT_COLUMNS,
    _GET_INSTANCE,
    _INSTANCE_COLUMNS,
    _JOB_COLUMNS,
    _JOB_FETCHABLE,
    _LANE_COLUMNS,
    _MEMBER_COLUMNS,
    _OUTBOX_COLUMNS,
    _TIMER_COLUMNS,
    _dumps,
    _event,
    _instance,
    _job,
    _job_values,
    _json,
    _member,
    _opt_iso,
    _outbox,
    _remember,
    _timer,
    _written_row,
)
from .tally import StoreTally, sql_tally

__all__ = ["SQLiteStore"]

_LATEST = MIGRATIONS[-1][0]


def explain(path: Path, exc: sqlite3.Error) -> str:
    """What a failed SQLite call means for the person running fulfil, and what to do about it."""
    code = getattr(exc, "sqlite_errorname", "")
    text = str(exc)
    if code == "SQLITE_FULL" or "is full" in text:
        return (
            f"the database {path} is full (no room left on its disk, or its size limit is "
            "reached); nothing of this step was written: free space on that disk or move the "
            "database (--db sqlite:///FILE), then try again"
        )
    if code in ("SQLITE_BUSY", "SQLITE_LOCKED") or "locked" in text:
        return f"the database {path} is busy: another fulfil process is writing; try again"
    if code.startswith("SQLITE_READONLY") or "readonly" in text:
        return _read_only(path)
    return (
        f"the database {path} failed: {text}; check that it is a fulfil database "
        "(fulfil verify) or pass another --db sqlite:///FILE"
    )


def _read_only(path: Path) -> str:
    return (
        f"the database {path} is read-only (its file or folder cannot be written): show, "
        "history, verify and queue work; to change it, copy it to a writable folder"
    )


def _writable(path: Path) -> bool:
    """Whether SQLite can write the file: the file, and the folder its WAL file goes in.

    `os.access` answers for the effective user, and also for root on read-only media or an
    immutable file (EROFS, EPERM), where permission bits alone would not stop root.
    """
    folder = path.parent
    wal = path.with_name(path.name + "-wal")
    return os.access(path, os.W_OK) and (os.access(folder, os.W_OK) or os.access(wal, os.W_OK))


class SQLiteTransaction:
    """One unit of work on a `SQLiteStore` connection.

    Statements run on one cursor (or connection): every method reads its rows before the
    next statement runs, so the cursor is free again when a method returns.
    """

    def __init__(self, conn: sqlite3.Connection | sqlite3.Cursor, prefix: str = "") -> None:
        self._raw = conn
        # with a table prefix every statement is rewritten (engine.store.prefix), else none
        self._c = cast(sqlite3.Cursor, Prefixed(conn, prefix)) if prefix else conn
        self._lane: LaneRecord | None = None  # the lane this transaction took, as it is now

    @property
    def db_cursor(self) -> Any:
        """The cursor of this transaction, for a step hook's own tables (`StepContext`)."""
        return self._raw

    # instances ------------------------------------------------------------------------------
    def get_instance(self, instance_id: str) -> InstanceRecord | None:
        row = self._c.execute(_GET_INSTANCE, (instance_id,)).fetchone()
        return None if row is None else _instance(row)

    def insert_instance(self, record: InstanceRecord) -> None:
        try:
            self._c.execute(
                f"INSERT INTO instances ({_INSTANCE_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.process,
                    record.version,
                    record.state,
                    _dumps(record.data),
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
        except sqlite3.IntegrityError:
            raise AlreadyExists(
                f"an instance with id '{record.id}' already exists",
                details={"instance": record.id},
            ) from None

    def update_instance(self, record: InstanceRecord, expected_rev: int) -> None:
        data = _dumps(record.data)
        updated, activity = to_iso(record.updated_at), to_iso(record.last_activity_at)
        cursor = self._c.execute(
            "UPDATE instances SET state = ?, data = ?, rev = ?, seq = ?, head = ?, "
            "updated_at = ?, last_activity_at = ?, format_version = ?, assignee = ?, "
            "version = ? WHERE id = ? AND rev = ?",
            (
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
            ),
        )
        if cursor.rowcount != 1:
            raise ConflictError(
                f"instance '{record.id}' changed since it was read (expected revision "
                f"{expected_rev}); read it again and retry",
                details={"instance": record.id, "expected": expected_rev},
            )
        # the next step of this instance reads this row back: it need not decode it again
        row = _written_row(record, data, updated, activity)
        if row is not None:
            _remember(row, record)

    def children(self, instance_id: str) -> list[InstanceRecord]:
        rows = self._c.execute(
            f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE parent = ? ORDER BY created_at, id",
            (instance_id,),
        )
        return [_instance(row) for row in rows]

    def find_instances(self, states: Sequence[tuple[str, str]]) -> list[InstanceRecord]:
        if not states:
            return []
        where = " OR ".join("(process = ? AND state = ?)" for _ in states)
        params = [part for pair in states for part in pair]
        rows = self._c.execute(
            f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE {where} "
            "ORDER BY last_activity_at, id",
            params,
        )
        return [_instance(row) for row in rows]

    def count_instances(self, process: str) -> dict[str, int]:
        rows = self._c.execute(
            "SELECT state, COUNT(*) FROM instances WHERE process = ? GROUP BY state", (process,)
        )
        return {str(state): int(count) for state, count in rows.fetchall()}

    def search_instances(self, query: InstanceFilter, limit: int) -> list[InstanceRecord]:
        sql, params = search_sql(query, limit)
        return [_instance(row) for row in self._c.execute(sql, params).fetchall()]

    def tally(self, now: datetime) -> StoreTally:
        return sql_tally(self._c, now)

    def instance_ids(self) -> Iterator[str]:
        for (instance_id,) in self._c.execute("SELECT id FROM instances ORDER BY id").fetchall():
            yield instance_id

    def next_number(self, name: str) -> int:
        self._c.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1",
            (name,),
        )
        (value,) = self._c.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return int(value)

    # history --------------------------------------------------------------------------------
    def append_event(self, event: EventRecord) -> None:
        self._c.execute(
            _APPEND_EVENT,
            (
                event.instance,
                event.seq,
                to_iso(event.at),
                event.actor,
                event.role,
                event.kind,
                event.trigger,
                event.source,
                event.dest,
                _json(event.data),
                _json(event.detail),
                event.prev_hash,
                event.hash,
                event.lane,
                event.pos,
                None if event.after is None else event.after[0],
                None if event.after is None else event.after[1],
                None if event.lane is None else event.key,
            ),
        )

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
        self._c.execute(
            "UPDATE audit_lanes SET pos = ?, instance = ?, seq = ?, key_id = ?, key_check = ? "
            "WHERE lane = ?",
            (pos, instance_id, seq, key, check, lane),
        )

    def _take_lane(self, instance_id: str, seq: int, key: str, check: str) -> LaneRecord:
        """Take a lane for this transaction, moved on to the event given; as it was before."""
        # BEGIN IMMEDIATE serialises writers: one lane (the first) is all SQLite needs
        row = self._c.execute(
            f"SELECT {_LANE_COLUMNS} FROM audit_lanes ORDER BY lane LIMIT 1"
        ).fetchone()
        if row is None:
            raise StoreError("the store has no audit lane; run `fulfil db upgrade`")
        held = LaneRecord(*row)
        self._move_lane(held.lane, held.pos + 1, instance_id, seq, key, check)
        return held

    def lanes(self) -> list[LaneRecord]:
        rows = self._c.execute(f"SELECT {_LANE_COLUMNS} FROM audit_lanes ORDER BY lane")
        return [LaneRecord(*row) for row in rows.fetchall()]

    def lane_events(self, after: tuple[int, int], limit: int) -> list[EventRecord]:
        rows = self._c.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE lane IS NOT NULL AND "
            "(lane, pos) > (?, ?) ORDER BY lane, pos LIMIT ?",
            (after[0], after[1], limit),
        )
        return [_event(row) for row in rows.fetchall()]

    def history_ids(self) -> Iterator[str]:
        rows = self._c.execute("SELECT DISTINCT instance FROM events ORDER BY instance")
        yield from (instance for (instance,) in rows.fetchall())

    def events(self, instance_id: str) -> list[EventRecord]:
        rows = self._c.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE instance = ? ORDER BY seq", (instance_id,)
        )
        return [_event(row) for row in rows]

    # timers ---------------------------------------------------------------------------------
    def add_timer(self, timer: TimerRecord) -> TimerRecord:
        cursor = self._c.execute(
            "INSERT INTO timers (instance, name, state, trigger_name, due_at, data, created_at, "
            "fired_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                timer.instance,
                timer.name,
                timer.state,
                timer.trigger,
                to_iso(timer.due_at),
                _dumps(timer.data),
                to_iso(timer.created_at),
                _opt_iso(timer.fired_at),
            ),
        )
        return replace(timer, id=cursor.lastrowid)

    def cancel_timers(self, instance_id: str, state: str) -> int:
        cursor = self._c.execute(
            "DELETE FROM timers WHERE instance = ? AND state = ? AND fired_at IS NULL",
            (instance_id, state),
        )
        return cursor.rowcount

    def cancel_timer(self, timer_id: int) -> bool:
        cursor = self._c.execute(
            "DELETE FROM timers WHERE id = ? AND fired_at IS NULL", (timer_id,)
        )
        return cursor.rowcount == 1

    def timers(self, instance_id: str) -> list[TimerRecord]:
        rows = self._c.execute(
            f"SELECT {_TIMER_COLUMNS} FROM timers WHERE instance = ? AND fired_at IS NULL "
            "ORDER BY due_at, id",
            (instance_id,),
        )
        return [_timer(row) for row in rows]

    def next_due_timer(self, now: datetime) -> TimerRecord | None:
        row = self._c.execute(
            f"SELECT {_TIMER_COLUMNS} FROM timers WHERE fired_at IS NULL AND due_at <= ? "
            "ORDER BY due_at, id LIMIT 1",
            (to_iso(now),),
        ).fetchone()
        return None if row is None else _timer(row)

    def claim_timer(self, timer_id: int, fired_at: datetime) -> bool:
        cursor = self._c.execute(
            "UPDATE timers SET fired_at = ? WHERE id = ? AND fired_at IS NULL",
            (to_iso(fired_at), timer_id),
        )
        return cursor.rowcount == 1

    def claim_due_timer(self, now: datetime) -> TimerRecord | None:
        # BEGIN IMMEDIATE already serialises writers: the plain read-then-claim is atomic
        timer = self.next_due_timer(now)
        if timer is None or timer.id is None or not self.claim_timer(timer.id, now):
            return None
        return replace(timer, fired_at=now)

    # outbox ---------------------------------------------------------------------------------
    def claim_outbox(self, now: datetime, until: datetime, after: int = 0) -> OutboxRecord | None:
        row = self._c.execute(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE id > ? AND ((status = 'pending' AND "
            "(lease_until IS NULL OR lease_until <= ?)) OR "
            "(status = 'sending' AND lease_until < ?)) ORDER BY id LIMIT 1",
            (after, to_iso(now), to_iso(now)),
        ).fetchone()
        if row is None:
            return None
        message = replace(_outbox(row), status="sending", next_attempt_at=until)
        self._c.execute(
            "UPDATE outbox SET status = 'sending', lease_until = ? WHERE id = ?",
            (to_iso(until), message.id),
        )
        return message

    def add_outbox(self, message: OutboxRecord) -> OutboxRecord:
        cursor = self._c.execute(
            "INSERT INTO outbox (instance, channel, to_addr, cc_addr, subject, body, created_at, "
            "status, attempts, error, delivered_at, attachments, lease_until) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                message.instance,
                message.channel,
                _dumps(list(message.to)),
                _dumps(list(message.cc)),
                message.subject,
                message.body,
                to_iso(message.created_at),
                message.status,
                message.attempts,
                message.error,
                _opt_iso(message.delivered_at),
                _dumps([list(a) for a in message.attachments]),
                _opt_iso(message.next_attempt_at),
            ),
        )
        return replace(message, id=cursor.lastrowid)

    def outbox(self, status: str | None = None) -> list[OutboxRecord]:
        if status is None:
            rows = self._c.execute(f"SELECT {_OUTBOX_COLUMNS} FROM outbox ORDER BY id")
        else:
            rows = self._c.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE status = ? ORDER BY id", (status,)
            )
        return [_outbox(row) for row in rows]

    def update_outbox(self, message: OutboxRecord) -> None:
        self._c.execute(
            "UPDATE outbox SET status = ?, attempts = ?, error = ?, delivered_at = ?, "
            "lease_until = ? WHERE id = ?",
            (
                message.status,
                message.attempts,
                message.error,
                _opt_iso(message.delivered_at),
                _opt_iso(message.next_attempt_at),
                message.id,
            ),
        )

    # jobs -----------------------------------------------------------------------------------
    def add_job(self, job: JobRecord) -> JobRecord:
        columns = _JOB_COLUMNS.split(", ", 1)[1]
        cursor = self._c.execute(
            f"INSERT INTO jobs ({columns}) VALUES ({', '.join('?' * 16)})", _job_values(job)
        )
        return replace(job, id=cursor.lastrowid)

    def get_job(self, job_id: int) -> JobRecord | None:
        # BEGIN IMMEDIATE serialises writers: the row needs no lock of its own
        row = self._c.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        found = row.fetchone()
        return None if found is None else _job(found)

    def update_job(self, job: JobRecord) -> None:
        sets = ", ".join(f"{name} = ?" for name in _JOB_COLUMNS.split(", ")[1:])
        self._c.execute(f"UPDATE jobs SET {sets} WHERE id = ?", (*_job_values(job), job.id))

    def fetch_jobs(
        self, type: str, worker: str, now: datetime, until: datetime, limit: int
    ) -> list[JobRecord]:
        at = to_iso(now)
        rows = self._c.execute(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE {_JOB_FETCHABLE} ORDER BY id LIMIT ?",
            (type, at, at, limit),
        ).fetchall()
        taken = []
        for row in rows:
            job = _job(row)
            job = replace(
                job, state="locked", attempt=job.attempt + 1, worker=worker, lease_until=until
            )
            self.update_job(job)
            taken.append(job)
        return taken

    def jobs(
        self, instance: str | None = None, type: str | None = None, state: str | None = None
    ) -> list[JobRecord]:
        wanted = [("instance", instance), ("type", type), ("state", state)]
        given = [(name, value) for name, value in wanted if value is not None]
        where = " AND ".join(f"{name} = ?" for name, _ in given) or "1 = 1"
        rows = self._c.execute(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE {where} ORDER BY id",
            [value for _, value in given],
        )
        return [_job(row) for row in rows.fetchall()]

    def cancel_jobs(self, instance: str) -> int:
        cursor = self._c.execute(
            "UPDATE jobs SET state = 'cancelled', lease_until = NULL WHERE instance = ? AND "
            "state IN ('open', 'locked', 'failed', 'incident')",
            (instance,),
        )
        return cursor.rowcount

    def job_counts(self) -> dict[str, int]:
        rows = self._c.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state")
        return {str(state): int(count) for state, count in rows.fetchall()}

    # batches --------------------------------------------------------------------------------
    def add_batch_member(self, member: BatchMember) -> None:
        self._c.execute(
            f"INSERT INTO batch_members ({_MEMBER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
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
        cursor = self._c.execute(
            "DELETE FROM batch_members WHERE instance = ? AND state = ? AND batch IS NULL",
            (instance_id, state),
        )
        return cursor.rowcount

    def take_batch(
        self, process: str, state: str, until: datetime, batch: int
    ) -> list[BatchMember]:
        where = "process = ? AND state = ? AND period <= ? AND batch IS NULL"
        params = (process, state, to_iso(until))
        rows = self._c.execute(
            f"SELECT {_MEMBER_COLUMNS} FROM batch_members WHERE {where} "
            "ORDER BY joined_at, instance",
            params,
        ).fetchall()
        self._c.execute(f"UPDATE batch_members SET batch = ? WHERE {where}", (batch, *params))
        return [replace(_member(row), batch=batch) for row in rows]

    # sheets ---------------------------------------------------------------------------------
    def add_sheet_row(self, row: SheetRow) -> SheetRow:
        cursor = self._c.execute(
            "INSERT INTO sheet_rows (sheet, instance, created_at, row_values) VALUES (?, ?, ?, ?)",
            (
                row.sheet,
                row.instance,
                to_iso(row.created_at),
                _dumps([list(v) for v in row.values]),
            ),
        )
        return replace(row, id=cursor.lastrowid)

    def sheet_rows(self, sheet: str) -> list[SheetRow]:
        rows = self._c.execute(
            "SELECT id, sheet, instance, created_at, row_values FROM sheet_rows "
            "WHERE sheet = ? ORDER BY id",
            (sheet,),
        )
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
        row = self._c.execute("SELECT cursor FROM listener_cursors WHERE name = ?", (name,))
        found = row.fetchone()
        return None if found is None else str(found[0])

    def put_cursor(self, name: str, cursor: str) -> None:
        self._c.execute(
            "INSERT INTO listener_cursors (name, cursor) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor",
            (name, cursor),
        )

    # definitions ----------------------------------------------------------------------------
    def get_definition(self, process: str, version: int) -> DefinitionRecord | None:
        row = self._c.execute(
            "SELECT process, version, source_hash, source FROM definitions "
            "WHERE process = ? AND version = ?",
            (process, version),
        ).fetchone()
        return None if row is None else DefinitionRecord(*row)

    def definition_versions(self) -> list[tuple[str, int]]:
        rows = self._c.execute("SELECT process, version FROM definitions ORDER BY process, version")
        return [(str(process), int(version)) for process, version in rows.fetchall()]

    def put_definition(self, definition: DefinitionRecord) -> None:
        self._c.execute(
            "INSERT INTO definitions (process, version, source_hash, source) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (process, version) DO UPDATE SET source_hash = excluded.source_hash, "
            "source = excluded.source",
            (definition.process, definition.version, definition.source_hash, definition.source),
        )

    # credentials ----------------------------------------------------------------------------
    def get_password(self, person: str) -> str | None:
        row = self._c.execute("SELECT hash FROM passwords WHERE person = ?", (person,)).fetchone()
        return None if row is None else str(row[0])

    def set_password(self, person: str, hashed: str, at: datetime) -> None:
        self._c.execute(
            "INSERT INTO passwords (person, hash, set_at) VALUES (?, ?, ?) "
            "ON CONFLICT (person) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at",
            (person, hashed, to_iso(at)),
        )

    def add_token(self, token: TokenRecord) -> None:
        self._c.execute(
            "INSERT INTO api_tokens (digest, person, created_at, revoked_at) VALUES (?, ?, ?, ?)",
            (token.digest, token.person, to_iso(token.created_at), _opt_iso(token.revoked_at)),
        )

    def get_token(self, digest: str) -> TokenRecord | None:
        row = self._c.execute(
            "SELECT digest, person, created_at, revoked_at FROM api_tokens WHERE digest = ?",
            (digest,),
        ).fetchone()
        if row is None:
            return None
        revoked = from_iso(row[3]) if row[3] else None
        return TokenRecord(str(row[0]), str(row[1]), from_iso(row[2]), revoked)

    def revoke_tokens(self, person: str, at: datetime) -> int:
        done = self._c.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE person = ? AND revoked_at IS NULL",
            (to_iso(at), person),
        )
        return int(done.rowcount)


class _Unit:
    """The block of `SQLiteStore.transaction`: begun on entry, committed or rolled back on exit.

    A class rather than a generator-based context manager, which costs about a microsecond
    more on every step. Statements run on one cursor for the whole unit.
    """

    __slots__ = ("_conn", "_cursor", "_store", "_write")

    def __init__(self, store: SQLiteStore, conn: sqlite3.Connection, write: bool) -> None:
        self._store, self._conn, self._write = store, conn, write

    def __enter__(self) -> SQLiteTransaction:
        if self._write and self._store.read_only:
            raise StoreError(_read_only(self._store.path))
        self._store._lock.acquire()
        try:
            self._cursor = self._conn.cursor()
            self._cursor.execute("BEGIN IMMEDIATE" if self._write else "BEGIN")
        except sqlite3.Error as exc:
            self._store._lock.release()
            raise StoreError(explain(self._store.path, exc)) from None
        except BaseException:
            self._store._lock.release()
            raise
        return SQLiteTransaction(self._cursor, self._store.prefix)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                try:
                    self._cursor.execute("COMMIT")
                    return
                except sqlite3.Error as exc:
                    error = exc
            self._rollback()
            if isinstance(error, sqlite3.Error):
                raise StoreError(explain(self._store.path, error)) from None
        finally:
            self._store._lock.release()

    def _rollback(self) -> None:
        """Undo the step; SQLite may have rolled back already (a full disk can do that)."""
        if self._conn.in_transaction:
            self._cursor.execute("ROLLBACK")


def _version(conn: sqlite3.Connection, prefix: str = "") -> int:
    """The highest migration applied (0 for a new file), read without writing anything."""
    table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
        (f"{prefix}schema_version",),
    ).fetchone()
    if table is None:
        return 0
    row = conn.execute(f"SELECT MAX(version) FROM {prefix}schema_version").fetchone()
    return int(row[0] or 0)


class SQLiteStore:
    """A store in one SQLite file (created, and its schema upgraded, when opened).

    Args:
        path: the database file.
        busy_timeout_ms: how long a writer waits for another writer's lock.
        prefix: put before the name of each of the engine's tables and indexes
            (`fulfil_events`...), so the file can hold an application's own tables of any
            name (engine.store.prefix); the URL form is `sqlite:///FILE?prefix=fulfil_`.
        synchronous: `normal` or `full` (see the module docstring); the URL form is
            `sqlite:///FILE?synchronous=full`.

    Raises:
        StoreError: the file cannot be opened, is not a fulfil database, or is read-only and
            needs a schema upgrade.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_ms: int = 10_000,
        prefix: str = "",
        synchronous: str = "normal",
    ) -> None:
        self.path = Path(path)
        self.prefix = check_prefix(prefix)
        if synchronous not in SYNCHRONOUS:
            raise UsageError(f"synchronous takes normal or full, not '{synchronous}'")
        self.synchronous = synchronous
        options = [f"prefix={prefix}"] if prefix else []
        options += ["synchronous=full"] if synchronous == "full" else []
        self.url = f"sqlite:///{self.path}" + ("?" + "&".join(options) if options else "")
        self._lock = threading.RLock()
        self.read_only = self.path.exists() and not _writable(self.path)
        if self.read_only:
            self._conn = self._open_read_only()
            return
        try:
            self._conn = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if self._conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
            self.upgrade()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "full" in str(exc):
                raise StoreError(explain(self.path, exc)) from None
            raise self._unusable(exc) from None
        except sqlite3.Error as exc:
            raise self._unusable(exc) from None

    def _unusable(self, exc: sqlite3.Error) -> StoreError:
        if "already exists" in str(exc):
            return StoreError(
                f"cannot open the SQLite database {self.path}: {exc} (a table of another "
                f"application); give the engine's tables a prefix of their own: "
                f"--db 'sqlite:///{self.path}?prefix=fulfil_'"
            )
        return StoreError(
            f"cannot open the SQLite database {self.path}: {exc}; check that the folder "
            "exists and is writable and that the file is a fulfil database, or pass another "
            "--db sqlite:///FILE"
        )

    def _open_read_only(self) -> sqlite3.Connection:
        """Open a file fulfil cannot write: `mode=ro`, else `immutable` when not even SQLite's
        shared-memory file can be made (read-only media, where nobody else writes either)."""
        target = "file:" + quote(str(self.path.resolve()))
        for mode in ("mode=ro", "immutable=1"):
            try:
                conn = sqlite3.connect(
                    f"{target}?{mode}", uri=True, isolation_level=None, check_same_thread=False
                )
                version = _version(conn, self.prefix)
            except sqlite3.Error as exc:
                failure = exc
                continue
            if version < _LATEST:
                conn.close()
                raise StoreError(
                    f"the database {self.path} is read-only and its schema is older than this "
                    "fulfil's: copy it to a writable folder and open it there (fulfil upgrades "
                    "it) to read it"
                )
            return conn
        raise self._unusable(failure)

    def schema_version(self) -> int:
        """The highest migration applied to the file (0 for a new file)."""
        return _version(self._conn, self.prefix)

    def upgrade(self) -> list[int]:
        """Apply the migrations the file has not seen yet, each in its own transaction.

        A file already at the latest version is only read: no write lock is taken.
        """
        applied: list[int] = []
        with self._lock:
            if self.read_only or self.schema_version() >= _LATEST:
                return applied
            for number, statements in MIGRATIONS:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    run = Prefixed(self._conn, self.prefix)
                    run.execute(
                        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
                    )
                    if number <= self.schema_version():
                        self._conn.execute("COMMIT")
                        continue
                    for statement in statements:
                        run.execute(statement.replace("{id}", "INTEGER PRIMARY KEY"))
                    run.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                applied.append(number)
        return applied

    def transaction(self, *, write: bool = True) -> _Unit:
        """A unit of work: `BEGIN IMMEDIATE` for writes, a deferred read otherwise."""
        return _Unit(self, self._conn, write)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run raw SQL outside the engine (tests and repair tools); returns the rows."""
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
