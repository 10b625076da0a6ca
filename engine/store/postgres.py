"""The PostgreSQL store: several worker processes, on one machine or many, share one database.

The tables, the migrations and most statements are shared with SQLite (`engine.store.schema`,
`engine.store.sql`): `PostgresTransaction`, the sibling of `SQLiteTransaction`, runs the shared
statements on a psycopg cursor in PostgreSQL's dialect (`POSTGRES`: `%s` placeholders, an
INSERT's new id by `RETURNING id`, a job read for completion locked `FOR UPDATE`, a duplicate
key as psycopg's `UniqueViolation`). What it adds is what several concurrent writers need:

- one step is one PostgreSQL transaction (READ COMMITTED); the revision check in
  `update_instance` (`UPDATE ... WHERE rev = ?`, one row or ConflictError) stops lost updates,
  and a second writer of the same history event (same instance and sequence number) is a
  ConflictError too, as are deadlocks and serialisation failures: the engine retries them;
- `claim_due_timer`, `claim_outbox` and `fetch_jobs` take rows with `FOR UPDATE SKIP LOCKED`,
  so workers never take the same timer, message or job and never wait for one another; a
  job's completion locks its row (`FOR UPDATE`), so of two racing completions one sees the
  other's;
- the schema is never changed implicitly: `upgrade()` (`fulfil db upgrade`) applies the pending
  migrations under an advisory lock, and a store whose schema is behind refuses to run.

URL: `postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME]`. `schema=` (or libpq's
`options=-csearch_path=NAME`) puts the tables in a schema of their own, created by `upgrade()`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors, pq, sql

from ..errors import ConflictError, StoreError, UsageError
from .base import (
    BatchMember,
    EventRecord,
    InstanceRecord,
    JobRecord,
    LaneRecord,
    OutboxRecord,
    TimerRecord,
    to_iso,
)
from .rows import (
    INSTANCE_COLUMNS,
    JOB_COLUMNS,
    LANE_COLUMNS,
    MEMBER_COLUMNS,
    OUTBOX_COLUMNS,
    TIMER_COLUMNS,
    decode_instance,
    decode_job,
    decode_member,
    decode_outbox,
    decode_timer,
)
from .schema import MIGRATIONS
from .sql import Dialect, SQLTransaction, Statements, event_values, lost_race

__all__ = ["POSTGRES", "PostgresStore", "PostgresTransaction", "split_url"]

LATEST = MIGRATIONS[-1][0]


def split_url(url: str) -> tuple[str, str | None]:
    """The libpq connection URL and the schema named by a `schema=` query parameter."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((value for key, value in query if key == "schema"), None)
    # libpq reads %20 as a space, not "+" (`options=-c%20statement_timeout%3D5000`)
    rest = urlencode([(key, value) for key, value in query if key != "schema"], quote_via=quote)
    scheme = "postgresql" if parts.scheme == "postgres" else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, rest, parts.fragment)), schema or None


def _where(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    if len(netloc) == 2 and ":" in netloc[0]:
        netloc[0] = netloc[0].split(":", 1)[0] + ":***"
    return urlunsplit((parts.scheme, "@".join(netloc), parts.path, parts.query, ""))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _returned_id(cursor: psycopg.Cursor[Any]) -> int | None:
    row = cursor.fetchone()
    return None if row is None else int(row[0])


POSTGRES = Dialect(
    mark="%s",
    returning_id=" RETURNING id",
    inserted_id=_returned_id,
    # of two workers completing one job, the second reads it after the first committed
    # (READ COMMITTED re-reads the row it waited for)
    lock_row=" FOR UPDATE",
    duplicate=(errors.UniqueViolation,),
    # another worker appended the instance's event of the same number first
    event_race=(errors.UniqueViolation,),
)


class _Flushing:
    """The transaction's cursor as its statements use it: what is held is sent first."""

    __slots__ = ("_tx",)

    def __init__(self, tx: PostgresTransaction) -> None:
        self._tx = tx

    def execute(self, statement: str, params: Any = ()) -> psycopg.Cursor[Any]:
        tx = self._tx
        if tx._held is not None or tx._lane_moved:
            tx.flush()
        return tx._send(statement, params)


class Session:
    """What a `PostgresStore` keeps per connection for its transactions: one cursor for all of
    them (a new one would look up its parameters' dumpers and columns' loaders again, about
    15 us a step), and whether the step's first read is prepared on the connection by name."""

    __slots__ = ("cursor", "read_prepared")

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.cursor = conn.cursor()
        self.read_prepared = False


def _lane_values(lane: LaneRecord | None) -> tuple[Any, ...]:
    """A lane's values in the order of `Statements.move_lane`."""
    assert lane is not None  # a lane is moved only once taken
    return (lane.pos, lane.instance, lane.seq, lane.key, lane.check, lane.lane)


_I_COLUMNS = ", ".join(f"i.{column}" for column in INSTANCE_COLUMNS.split(", "))
_LANE_AT = _I_COLUMNS.count(",") + 1  # where the lane's columns start in `read_with_lane`
_FREE_LANE = f"SELECT {LANE_COLUMNS} FROM audit_lanes ORDER BY lane LIMIT 1 FOR UPDATE SKIP LOCKED"
# the instance (its columns NULL when there is none) and a free lane, locked (its columns NULL
# when other writers hold every lane)
_READ_WITH_LANE = (
    f"WITH free AS ({_FREE_LANE}) SELECT {_I_COLUMNS}, free.* FROM (SELECT 1) AS one "
    "LEFT JOIN instances AS i ON i.id = %s LEFT JOIN free ON TRUE"
)
_PREPARE_READ = b"PREPARE fulfil_step_read(text) AS " + _READ_WITH_LANE.replace("%s", "$1").encode()


class PostgresTransaction(SQLTransaction):
    """One unit of work on a `PostgresStore`: the shared statements (`engine.store.sql`) and
    PostgreSQL's own lanes and claims, which concurrent workers take without waiting.

    A step costs three round trips, one fewer than the bare statements of a step (BEGIN, a
    read, a write, COMMIT): BEGIN is sent with the transaction's first statement, and when
    that is the first read of an instance in a writing transaction, both travel as one query
    (`_begin_with_read`); that read also locks a free audit lane for the events to come. The
    lane's moves and the events are held, not sent, and the step's last event and the lane go
    to the server with the instance's revision-checked write-back, as one statement. Any other
    statement sends what is held first, so every statement sees what was written before it,
    and `PostgresStore` sends what is held before it commits. A transaction that sends no
    statement sends no BEGIN and no COMMIT.
    """

    dialect = POSTGRES
    sql = Statements(POSTGRES)
    # the events and lane move are written whether or not the revision matched; a mismatch
    # (ConflictError) rolls the transaction back, all of it
    append_and_update = f"WITH appended AS ({sql.append_event}) {sql.update_instance}"
    move_append_update = (
        f"WITH moved AS ({sql.move_lane}), appended AS ({sql.append_event}) {sql.update_instance}"
    )
    read_with_lane = _READ_WITH_LANE

    def __init__(self, session: Session, write: bool = True) -> None:
        self._flushing = _Flushing(self)
        super().__init__(session.cursor, run=self._flushing)
        self._session = session
        self._cur = session.cursor
        # A reading transaction sees the store as it was when it began (REPEATABLE READ): a
        # verify, a search or a view reading several tables while workers commit steps never
        # sees a step half (its event, not yet its instance's row). A writing one reads each
        # statement afresh (READ COMMITTED), its rows locked.
        self._begin = "BEGIN" if write else "BEGIN ISOLATION LEVEL REPEATABLE READ"
        self.begun = False  # whether BEGIN was sent: with the first statement, not before
        self._held: EventRecord | None = None  # appended, not yet sent (see `append_event`)
        self._held_texts: tuple[str, str] | None = None  # its data and detail texts, if given
        self._lane_moved = False  # `_lane` is ahead of its row: its move is not yet sent
        self._free: LaneRecord | None = None  # a lane locked by the first read, not yet taken
        self._looked = not write  # whether a free lane was looked for
        self._free_marks: list[tuple[LaneRecord | None, bool]] = []  # at each savepoint

    def _run(self, statement: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self._flushing.execute(statement, params)

    def _send(self, statement: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        """Run a statement, BEGIN first when it is the transaction's first."""
        if not self.begun:
            self.begun = True
            self._cur.execute(self._begin, prepare=False)
        return self._cur.execute(statement, params)

    @property
    def db_cursor(self) -> Any:
        """A cursor of its own in this transaction, for a step hook: what the hook does to it
        (closing it, another row factory) does not reach the store's cursor."""
        self.flush()  # a step hook's statements see the events appended before them
        if not self.begun:
            self.begun = True
            self._cur.execute(self._begin, prepare=False)
        return self._cur.connection.cursor()

    def get_instance(self, instance_id: str) -> InstanceRecord | None:
        if self._looked or self._lane is not None:
            return super().get_instance(instance_id)
        self._looked = True
        if self.begun or self._held is not None or self._lane_moved:
            row = self._run(self.read_with_lane, (instance_id,)).fetchone()
        else:
            row = self._begin_with_read(instance_id)
        assert row is not None  # the outer join gives one row whatever it finds
        if row[_LANE_AT] is not None:
            self._free = LaneRecord(*row[_LANE_AT:])
        return None if row[0] is None else decode_instance(row[:_LANE_AT])

    def _begin_with_read(self, instance_id: str) -> tuple[Any, ...] | None:
        """BEGIN and `read_with_lane` in one round trip (a step's first statement): one query
        text holding both, so the read runs as the statement prepared on the connection by
        name (`PREPARE`), its instance id written in as a literal quoted by psycopg."""
        session, cursor = self._session, self._cur
        literal = sql.Literal(instance_id).as_bytes(cursor)
        query = b"BEGIN; EXECUTE fulfil_step_read(" + literal + b")"
        self.begun = True  # BEGIN runs even when the read fails: the rollback must follow
        if not session.read_prepared:
            self._prepare_with(query)
        else:
            try:
                cursor.execute(query, prepare=False)
            except errors.InvalidSqlStatementName:
                # psycopg drops every prepared statement on some commands (a ROLLBACK TO
                # SAVEPOINT, a DROP): prepare it again, after undoing the BEGIN that ran
                cursor.connection.rollback()
                self._prepare_with(query)
        session.read_prepared = True
        while cursor.nextset():  # the read's rows come last
            pass
        return cursor.fetchone()

    def _prepare_with(self, query: bytes) -> None:
        """Run `query` with the read's PREPARE before it, in the same round trip. A statement
        of the read's name still on the connection (psycopg did not drop it, or the store did
        not prepare it) fails that query whole at its PREPARE: it is replaced in a second."""
        try:
            self._cur.execute(_PREPARE_READ + b"; " + query, prepare=False)
        except errors.DuplicatePreparedStatement:
            replace = b"DEALLOCATE fulfil_step_read; " + _PREPARE_READ + b"; " + query
            self._cur.execute(replace, prepare=False)

    def append_event(self, event: EventRecord, texts: tuple[str, str] | None = None) -> None:
        self._send_event()  # the one before, if held; the lane's move can wait for this one
        self._held, self._held_texts = event, texts

    def savepoint(self) -> int:
        mark = super().savepoint()  # sends what is held first
        self._free_marks.append((self._free, self._looked))
        return mark

    def rollback_to(self, mark: int) -> None:
        # what is held was written after the mark; a lane locked after it is unlocked
        self._held, self._lane_moved = None, False
        self._session.read_prepared = False  # psycopg drops prepared statements on a rollback
        self._free, self._looked = self._free_marks[mark - 1]
        super().rollback_to(mark)

    def release(self, mark: int) -> None:
        super().release(mark)
        del self._free_marks[mark - 1 :]

    def flush(self) -> None:
        """Send the held lane move and event, if any (before any other statement, and before
        commit)."""
        if self._lane_moved:
            self._lane_moved = False
            self._send(self.sql.move_lane, _lane_values(self._lane))
        self._send_event()

    def _send_event(self) -> None:
        event, self._held = self._held, None
        if event is not None:
            try:
                self._send(self.sql.append_event, event_values(event, self._held_texts))
            except self.dialect.event_race:
                raise lost_race(event) from None

    def _write_instance(self, instance_id: str, values: tuple[Any, ...]) -> int:
        event = self._held
        if event is None or event.instance != instance_id:
            return super()._write_instance(instance_id, values)
        self._held = None
        try:
            values = (*event_values(event, self._held_texts), *values)
            if self._lane_moved:
                self._lane_moved = False
                lane = _lane_values(self._lane)
                done = self._send(self.move_append_update, (*lane, *values))
            else:
                done = self._send(self.append_and_update, values)
        except self.dialect.event_race:
            raise lost_race(event) from None
        return int(done.rowcount)

    def _move_lane(
        self, lane: int, pos: int, instance_id: str, seq: int, key: str, check: str
    ) -> None:
        self._lane_moved = True  # `next_position` sets `_lane` to the move; sent when due

    def _take_lane(self, instance_id: str, seq: int, key: str, check: str) -> LaneRecord:
        # Each concurrent writer takes a lane no other transaction holds (one statement: lock,
        # move on, return the lane as it was), so writers never queue on one counter row; when
        # every lane is held a new lane is added (a writer adding the same number at the same
        # moment waits for the other, then tries again).
        free, self._free = self._free, None
        if free is not None:  # locked by the first read of the transaction
            self._lane_moved = True
            return free
        new = (instance_id, seq, key, check)
        for _ in range(8):
            row = self._run(
                f"WITH free AS (SELECT {LANE_COLUMNS} FROM audit_lanes ORDER BY lane LIMIT 1 "
                "FOR UPDATE SKIP LOCKED) UPDATE audit_lanes AS taken SET pos = free.pos + 1, "
                "instance = %s, seq = %s, key_id = %s, key_check = %s FROM free "
                "WHERE taken.lane = free.lane RETURNING free.lane, free.pos, free.instance, "
                "free.seq, free.key_id, free.key_check",
                new,
            ).fetchone()
            if row is not None:
                return LaneRecord(*row)
            row = self._run(
                f"INSERT INTO audit_lanes ({LANE_COLUMNS}) "
                "SELECT COALESCE(MAX(lane), -1) + 1, 1, %s, %s, %s, %s FROM audit_lanes "
                "ON CONFLICT (lane) DO NOTHING RETURNING lane",
                new,
            ).fetchone()
            if row is not None:
                return LaneRecord(int(row[0]), 0, "", 0)
        raise ConflictError("every audit lane was taken by other writers; retry")

    def claim_due_timer(self, now: datetime) -> TimerRecord | None:
        # One query takes timers in (due_at, id) order whether or not they have an instance
        # row (a batch's timers and those of deleted instances have none), skipping timers
        # other workers hold. The instance is then locked too, so a second timer of it (and a
        # deadlock between two workers cancelling each other's timers) stays out of reach
        # until this transaction ends; when another transaction holds it, the claim is undone
        # to its savepoint, releasing the timer, and the next timer in order is tried.
        due, after = to_iso(now), ("", 0)
        while True:
            self._run("SAVEPOINT claim_timer")
            row = self._run(
                "UPDATE timers SET fired_at = %s WHERE id = ("
                "SELECT id FROM timers WHERE fired_at IS NULL AND due_at <= %s "
                "AND (due_at, id) > (%s, %s) ORDER BY due_at, id LIMIT 1 "
                f"FOR UPDATE SKIP LOCKED) RETURNING {TIMER_COLUMNS}",
                (due, due, *after),
            ).fetchone()
            if row is None:
                self._run("RELEASE SAVEPOINT claim_timer")
                return None
            timer = decode_timer(row)
            checked = self._run(
                "SELECT (SELECT count(*) FROM instances WHERE id = %s), "
                "(SELECT id FROM instances WHERE id = %s FOR UPDATE SKIP LOCKED)",
                (timer.instance, timer.instance),
            ).fetchone()
            present, locked = checked if checked is not None else (0, None)
            if locked is not None or not present:
                self._run("RELEASE SAVEPOINT claim_timer")
                return timer
            self._run("ROLLBACK TO SAVEPOINT claim_timer")
            self._session.read_prepared = False  # psycopg drops prepared statements here
            self._run("RELEASE SAVEPOINT claim_timer")
            after = (row[5], int(row[0]))  # due_at text and id, as TIMER_COLUMNS order them

    def claim_outbox(self, now: datetime, until: datetime, after: int = 0) -> OutboxRecord | None:
        row = self._run(
            "UPDATE outbox SET status = 'sending', lease_until = %s WHERE id = ("
            "SELECT id FROM outbox WHERE id > %s AND ((status = 'pending' AND "
            "(lease_until IS NULL OR lease_until <= %s)) OR "
            "(status = 'sending' AND lease_until < %s)) ORDER BY id LIMIT 1 "
            f"FOR UPDATE SKIP LOCKED) RETURNING {OUTBOX_COLUMNS}",
            (to_iso(until), after, to_iso(now), to_iso(now)),
        ).fetchone()
        return None if row is None else decode_outbox(row)

    def fetch_jobs(
        self, type: str, worker: str, now: datetime, until: datetime, limit: int
    ) -> list[JobRecord]:
        # one statement: rows another worker is taking are skipped, never waited for
        at = to_iso(now)
        rows = self._run(
            "UPDATE jobs SET state = 'locked', attempt = attempt + 1, worker = %s, "
            "lease_until = %s WHERE id IN (SELECT id FROM jobs WHERE type = %s AND "
            "((state IN ('open', 'failed') AND due_at <= %s) OR "
            "(state = 'locked' AND lease_until < %s)) ORDER BY id LIMIT %s "
            f"FOR UPDATE SKIP LOCKED) RETURNING {JOB_COLUMNS}",
            (worker, to_iso(until), type, at, at, limit),
        ).fetchall()
        return sorted((decode_job(row) for row in rows), key=lambda job: job.id or 0)

    def take_batch(
        self, process: str, state: str, until: datetime, batch: int
    ) -> list[BatchMember]:
        # one statement: of two workers taking the same members, the second finds them taken
        rows = self._run(
            "UPDATE batch_members SET batch = %s WHERE process = %s AND state = %s "
            f"AND period <= %s AND batch IS NULL RETURNING {MEMBER_COLUMNS}",
            (batch, process, state, to_iso(until)),
        ).fetchall()
        members = [decode_member(row) for row in rows]
        return sorted(members, key=lambda m: (to_iso(m.joined_at), m.instance))


def _explain(url: str, exc: psycopg.Error) -> str:
    """What a failed step means for the person running fulfil, and what to do about it."""
    where, first = _where(url), _first_line(exc)
    if isinstance(exc, errors.DiskFull):  # also "could not extend file": no room on the disk
        return (
            f"the database {where} is full ({first}); nothing of this step was written: free "
            "space on the PostgreSQL server's disk, then try again"
        )
    if isinstance(exc, errors.ReadOnlySqlTransaction):
        return (
            f"the database {where} is read-only ({first}): show, history, verify and queue "
            "work; point --db at the primary server to change it"
        )
    if isinstance(exc, psycopg.DataError) and "NUL (0x00)" in first:  # psycopg refuses to send
        return (
            f"the database {where} cannot hold a text with a NUL character (0x00), as this "
            "step's instance id or data has; nothing of this step was written: leave the "
            "character out"
        )
    if isinstance(exc, errors.LockNotAvailable):
        return f"the database {where} is busy: another fulfil process is writing; try again"
    return (
        f"PostgreSQL at {where} failed: {first}; check that the server is running and that "
        "`fulfil db upgrade` was run for this URL"
    )


class PostgresStore:
    """A store in a PostgreSQL database, shared by any number of worker processes.

    Args:
        url: `postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME]`.
        connect_timeout: seconds to wait for the server before giving up.

    Raises:
        StoreError: the server does not answer or refuses the connection.
    """

    def __init__(self, url: str, *, connect_timeout: int = 5) -> None:
        self.url = url
        self._conninfo, self.schema = split_url(url)
        self._timeout = connect_timeout
        self._lock = threading.RLock()
        self._checked = False
        self._open = False  # whether a transaction's block is running (see `transaction`)
        self._conn = self._connect()
        self._session = Session(self._conn)

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=self._timeout)
            if self.schema is not None:
                conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL at {_where(self.url)}: {_first_line(exc)}; check "
                "that the server is running and reachable, and that the user, password, host, "
                "port and database in the URL are right"
            ) from None
        return conn

    def _target_schema(self) -> str:
        """The schema the tables live in: `schema=`, else the first of the search path."""
        if self.schema is not None:
            return self.schema
        row = self._conn.execute("SELECT current_schema()").fetchone()
        if row is not None and row[0] is not None:
            return str(row[0])
        path = self._conn.execute("SELECT current_setting('search_path')").fetchone()
        names = [n.strip().strip('"') for n in str(path[0] if path else "").split(",")]
        named = [n for n in names if n and n != "$user"]
        if not named:
            raise UsageError(f"{_where(self.url)} selects no schema; add ?schema=NAME to the URL")
        return named[0]

    def schema_version(self) -> int:
        """The highest migration applied to the schema (0 when it has no fulfil tables)."""
        with self._lock:
            found = self._conn.execute(
                "SELECT to_regclass(format('%%I.schema_version', %s::text))",
                (self._target_schema(),),
            ).fetchone()
            if found is None or found[0] is None:
                return 0
            row = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
            return int(row[0] or 0) if row else 0

    def upgrade(self) -> list[int]:
        """Create the schema and apply pending migrations, each in its own transaction.

        Workers upgrading at once queue on an advisory lock, so each migration runs once.
        """
        applied: list[int] = []
        with self._lock:
            self._reconnect_if_broken()
            schema = self._target_schema()
            for number, statements in MIGRATIONS:
                with self._conn.transaction():
                    self._conn.execute(
                        "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"fulfil:{schema}",)
                    )
                    self._conn.execute(
                        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
                    )
                    self._conn.execute(
                        sql.SQL(
                            "CREATE TABLE IF NOT EXISTS {}.schema_version "
                            "(version INTEGER NOT NULL)"
                        ).format(sql.Identifier(schema))
                    )
                    if number <= self.schema_version():
                        continue
                    for statement in statements:
                        self._conn.execute(statement.replace("{id}", "BIGSERIAL PRIMARY KEY"))
                    self._conn.execute(
                        "INSERT INTO schema_version (version) VALUES (%s)", (number,)
                    )
                applied.append(number)
            self._checked = True
        return applied

    def _check_schema(self) -> None:
        version = self.schema_version()
        if version != LATEST:
            state = "has no fulfil tables" if version == 0 else f"is at version {version}"
            raise StoreError(
                f"the database {_where(self.url)} {state}; this fulfil needs schema version "
                f"{LATEST}: run `fulfil db upgrade --db {_where(self.url)}` first"
            )
        self._checked = True

    def _reconnect_if_broken(self) -> None:
        if self._conn.closed or self._conn.broken:
            self._conn = self._connect()
            self._session = Session(self._conn)

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[PostgresTransaction]:
        """A unit of work in one PostgreSQL transaction, rolled back when the block raises;
        with `write=False`, one that reads a single snapshot of the store.

        Raises:
            ConflictError: a deadlock or serialisation failure with another writer (retry).
            StoreError: the connection failed, or the schema needs `fulfil db upgrade`.
        """
        with self._lock:
            if self._open:
                # its BEGIN would be ignored and its COMMIT would end the outer transaction,
                # committing half a step that can no longer be undone
                raise StoreError(
                    f"a transaction on {_where(self.url)} was opened inside another on the same "
                    "connection (a step hook that starts, fires or reads through the engine?); "
                    "a step hook must use its cursor, not the engine"
                )
            self._open = True
            try:
                self._reconnect_if_broken()
                if not self._checked:
                    self._check_schema()
                session = self._session
                tx = PostgresTransaction(session, write)
                try:
                    yield tx
                    tx.flush()
                    if self._conn.info.transaction_status == pq.TransactionStatus.INERROR:
                        # a statement failed and its error was caught: COMMIT would roll the
                        # step back without an error, as if it had been written
                        raise StoreError(
                            f"a statement of this step failed on {_where(self.url)} and its "
                            "error was caught, which ends the transaction; nothing of the step "
                            "was written (a step hook catching a database error must roll "
                            "back to a savepoint of its own)"
                        )
                except BaseException:
                    if tx.begun:
                        # psycopg drops the connection's prepared statements as it rolls back
                        session.read_prepared = False
                    # nothing to undo when nothing was sent, nor on a broken connection (the
                    # error says why)
                    with suppress(psycopg.Error):
                        self._conn.rollback()
                    raise
                self._conn.commit()  # sends nothing when no statement was sent
            except (errors.DeadlockDetected, errors.SerializationFailure) as exc:
                raise ConflictError(
                    f"another worker changed the same rows at the same time "
                    f"({_first_line(exc)}); retry"
                ) from None
            except psycopg.Error as exc:
                raise StoreError(_explain(self.url, exc)) from None
            finally:
                self._open = False

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run raw SQL outside the engine (tests and repair tools); returns the rows, if any."""
        with self._lock, self._conn.transaction():
            cursor = self._conn.execute(statement, params)
            return list(cursor.fetchall()) if cursor.description else []

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
