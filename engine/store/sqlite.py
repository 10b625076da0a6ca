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
`update_instance` still guards against writers that read outside the transaction. A step moves
the audit lane on in one statement, without reading it, when the lane row is still the one this
connection committed last (the statement's WHERE holds the whole row: anything else that changed
it makes the step read it again).

A file that cannot be written (read-only media, a read-only file or folder) is opened read-only:
reading works, a write transaction is refused with a StoreError saying so. Every SQLite failure
inside a transaction (a full disk, a lock held too long) rolls the whole step back and becomes a
StoreError that says what happened and what to do.

`SQLiteTransaction` runs the statements the SQL stores share (`engine.store.sql`) in SQLite's
dialect (`SQLITE`: `?` placeholders, the cursor's `lastrowid`, no row locks) and adds SQLite's
own audit lane and claims; `PostgresTransaction` is its sibling.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from ..errors import StoreError, UsageError
from .base import BatchMember, JobRecord, LaneRecord, OutboxRecord, TimerRecord, to_iso
from .prefix import SYNCHRONOUS, Prefixed, check_prefix
from .rows import (
    JOB_COLUMNS,
    LANE_COLUMNS,
    MEMBER_COLUMNS,
    OUTBOX_COLUMNS,
    decode_job,
    decode_member,
    decode_outbox,
)
from .schema import MIGRATIONS
from .sql import Dialect, SQLTransaction, Statements

__all__ = ["SQLITE", "SQLiteStore", "SQLiteTransaction"]

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


def _lastrowid(cursor: sqlite3.Cursor) -> int | None:
    return cursor.lastrowid


SQLITE = Dialect(
    mark="?",
    returning_id="",  # the cursor's lastrowid is the new row's id
    inserted_id=_lastrowid,
    lock_row="",  # BEGIN IMMEDIATE lets one writer in at a time: a row needs no lock of its own
    duplicate=(sqlite3.IntegrityError,),
    event_race=(),  # one writer at a time: nobody else appends an event meanwhile
)


class SQLiteTransaction(SQLTransaction):
    """One unit of work on a `SQLiteStore` connection: the shared statements
    (`engine.store.sql`) and SQLite's own lane and claims, each a read then a write, atomic
    because `BEGIN IMMEDIATE` lets one writer in at a time."""

    dialect = SQLITE
    sql = Statements(SQLITE)
    # the lane moved on only if its row is still the one `known` says (see `_take_lane`)
    move_known_lane = (
        "UPDATE audit_lanes SET pos = ?, instance = ?, seq = ?, key_id = ?, key_check = ? "
        "WHERE lane = ? AND pos = ? AND instance = ? AND seq = ? AND key_id = ? AND key_check = ?"
    )

    def __init__(
        self,
        conn: sqlite3.Connection | sqlite3.Cursor,
        prefix: str = "",
        known_lane: LaneRecord | None = None,
    ) -> None:
        # with a table prefix every statement is rewritten (engine.store.prefix), else none
        super().__init__(conn, Prefixed(conn, prefix) if prefix else None)
        self.known_lane = known_lane

    def _take_lane(self, instance_id: str, seq: int, key: str, check: str) -> LaneRecord:
        # BEGIN IMMEDIATE serialises writers: one lane (the first) is all SQLite needs. The
        # lane as this connection last committed it (`known_lane`) is moved on in one
        # statement whose WHERE holds every column of the row as known: it moves only a row
        # nobody changed since (no other connection, no raw write), else it is read again.
        known = self.known_lane
        if known is not None:
            moved = self._c.execute(
                self.move_known_lane,
                (
                    *(known.pos + 1, instance_id, seq, key, check),
                    *(known.lane, known.pos, known.instance, known.seq, known.key, known.check),
                ),
            )
            if moved.rowcount == 1:
                return known
        row = self._c.execute(
            f"SELECT {LANE_COLUMNS} FROM audit_lanes ORDER BY lane LIMIT 1"
        ).fetchone()
        if row is None:
            raise StoreError("the store has no audit lane; run `fulfil db upgrade`")
        held = LaneRecord(*row)
        self._move_lane(held.lane, held.pos + 1, instance_id, seq, key, check)
        return held

    def claim_due_timer(self, now: datetime) -> TimerRecord | None:
        # BEGIN IMMEDIATE already serialises writers: the plain read-then-claim is atomic
        timer = self.next_due_timer(now)
        if timer is None or timer.id is None or not self.claim_timer(timer.id, now):
            return None
        return replace(timer, fired_at=now)

    def claim_outbox(self, now: datetime, until: datetime, after: int = 0) -> OutboxRecord | None:
        row = self._c.execute(
            f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id > ? AND ((status = 'pending' AND "
            "(lease_until IS NULL OR lease_until <= ?)) OR "
            "(status = 'sending' AND lease_until < ?)) ORDER BY id LIMIT 1",
            (after, to_iso(now), to_iso(now)),
        ).fetchone()
        if row is None:
            return None
        message = replace(decode_outbox(row), status="sending", next_attempt_at=until)
        self._c.execute(
            "UPDATE outbox SET status = 'sending', lease_until = ? WHERE id = ?",
            (to_iso(until), message.id),
        )
        return message

    def fetch_jobs(
        self, type: str, worker: str, now: datetime, until: datetime, limit: int
    ) -> list[JobRecord]:
        # fetchable: open or failed and due, or locked with a lease that ended (its worker died)
        at = to_iso(now)
        rows = self._c.execute(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE type = ? AND ((state IN ('open', 'failed') "
            "AND due_at <= ?) OR (state = 'locked' AND lease_until < ?)) ORDER BY id LIMIT ?",
            (type, at, at, limit),
        ).fetchall()
        taken = []
        for row in rows:
            job = decode_job(row)
            job = replace(
                job, state="locked", attempt=job.attempt + 1, worker=worker, lease_until=until
            )
            self.update_job(job)
            taken.append(job)
        return taken

    def take_batch(
        self, process: str, state: str, until: datetime, batch: int
    ) -> list[BatchMember]:
        where = "process = ? AND state = ? AND period <= ? AND batch IS NULL"
        params = (process, state, to_iso(until))
        rows = self._c.execute(
            f"SELECT {MEMBER_COLUMNS} FROM batch_members WHERE {where} "
            "ORDER BY joined_at, instance",
            params,
        ).fetchall()
        self._c.execute(f"UPDATE batch_members SET batch = ? WHERE {where}", (batch, *params))
        return [replace(decode_member(row), batch=batch) for row in rows]


class _Unit:
    """The block of `SQLiteStore.transaction`: begun on entry, committed or rolled back on exit.

    A class rather than a generator-based context manager, which costs about a microsecond
    more on every step. Statements run on one cursor for the whole unit.
    """

    __slots__ = ("_conn", "_cursor", "_store", "_tx", "_write")

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
        self._tx = SQLiteTransaction(self._cursor, self._store.prefix, self._store.known_lane)
        return self._tx

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
                    if self._tx._lane is not None:  # the lane row as committed
                        self._store.known_lane = self._tx._lane
                    return
                except sqlite3.Error as exc:
                    error = exc
            self._store.known_lane = None
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
        # the audit lane as this connection's last commit left it: the next step moves it on
        # without reading it first when its row is unchanged (SQLiteTransaction._take_lane)
        self.known_lane: LaneRecord | None = None
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
