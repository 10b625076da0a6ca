"""The store protocol: what the engine needs from a database, one transaction at a time.

Every write the engine makes for one step (a start, a transition, a timer firing, a refusal) goes
through one `Transaction`, so the new state, the history events, the timer changes, the outbox
messages and the sheet rows commit together or not at all. Records are frozen dataclasses; the
instance data they carry is JSON-native (dates as ISO strings) so every store serialises it the
same way and the history hash is stable.

Times are aware UTC datetimes in records; stores write them with `to_iso` (fixed width, so the
text order is the time order) and read them back with `from_iso`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from ..frozen import frozen

if TYPE_CHECKING:
    from .tally import StoreTally

__all__ = [
    "FORMAT_VERSION",
    "SEARCH_ORDERS",
    "BatchMember",
    "DefinitionRecord",
    "EventRecord",
    "InstanceFilter",
    "InstanceRecord",
    "JobRecord",
    "LaneMark",
    "LaneRecord",
    "OutboxRecord",
    "Position",
    "SheetRow",
    "StateKey",
    "Store",
    "StoredEvent",
    "StoredInstance",
    "TimerRecord",
    "TokenRecord",
    "Transaction",
    "from_iso",
    "sort_key",
    "to_iso",
]

FORMAT_VERSION = 1
"""The layout of `InstanceRecord.data`; bump it with an upgrade function when it changes."""

EVENT_KINDS = (
    "start",
    "transition",
    "refused",
    "timer",
    "spent",  # a timer come due whose `unless` held: it did nothing (detail: timer, unless)
    "activity",
    "notification",
    "update",
    "sla",
    "assignment",  # claim, assign, release: who works the instance (detail: action, assignee)
    "job",  # a job created for another system (detail: job, type, key, payload, on_complete)
    "incident",  # a job failed through its retries (detail: job, type, error, failures)
    "intervention",  # an operator's cancel, set, move (detail: action, reason, before, after)
    "migration",  # moved to another version of its process (detail: from, to, reason, changes)
)

JOB_STATES = ("open", "locked", "failed", "incident", "completed", "cancelled")
"""open: waiting for a worker; locked: fetched, under lease; failed: waiting to be retried
(`due_at`); incident: failed through its retries; completed; cancelled: its instance closed."""


# One step writes the same few moments several times (event, instance, timers) and reads
# them back as often; formatting one costs about a microsecond, a cache hit a tenth of that.
@lru_cache(maxsize=4096)
def to_iso(moment: datetime) -> str:
    """A fixed-width ISO-8601 UTC text for a datetime, ordered like the times it stands for."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@lru_cache(maxsize=4096)
def from_iso(text: str) -> datetime:
    """The aware UTC datetime written by `to_iso`."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@frozen(slots=True)
class InstanceRecord:
    """One running (or finished) instance of a process, pinned to a definition version.

    `seq` and `head` are the number and hash of the instance's last history event, kept on the
    row so appending an event needs no extra read.
    """

    id: str
    process: str
    version: int
    state: str
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    parent: str | None = None
    task: str | None = None
    rev: int = 1
    seq: int = 0
    head: str = ""
    format_version: int = FORMAT_VERSION
    assignee: str | None = None  # the person the work is assigned to (claim / assign)


@frozen(slots=True)
class EventRecord:
    """One append-only history event; `hash` chains it to the event before it.

    `lane` and `pos` place it in the store-wide sequence (`Transaction.next_position`), `after`
    names the event before it in that lane, `key` is the id of the audit key that sealed it
    ("" unkeyed). Events written before the store-wide sequence existed have `lane` None.
    """

    instance: str
    seq: int
    at: datetime
    actor: str
    role: str | None
    kind: str  # one of EVENT_KINDS
    trigger: str | None = None
    source: str | None = None
    dest: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # the change: {field: new value}
    detail: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""
    lane: int | None = None
    pos: int | None = None
    after: tuple[str, int] | None = None
    key: str = ""


class Position(NamedTuple):
    """Where a new event goes in the store-wide sequence, and what its lane held before."""

    lane: int
    pos: int
    after: tuple[str, int] | None  # the lane's previous event (instance, seq)
    last_key: str  # the audit key id that sealed that event ("" unkeyed or none)
    last_check: str  # that key's check value (AuditKeys.check_value)


class StoredEvent(NamedTuple):
    """One history event as a store keeps it: `at` as `to_iso` text, `data` and `detail` as
    compact JSON text, `after` in two columns. `verify` hashes these texts as they are."""

    instance: str
    seq: int
    at: str
    actor: str
    role: str | None
    kind: str
    trigger: str | None
    source: str | None
    dest: str | None
    data: str
    detail: str
    prev_hash: str
    hash: str
    lane: int | None
    pos: int | None
    after_instance: str | None
    after_seq: int | None
    key: str | None

    def record(self) -> EventRecord:
        """The event decoded."""
        return EventRecord(
            self.instance,
            self.seq,
            from_iso(self.at),
            self.actor,
            self.role,
            self.kind,
            self.trigger,
            self.source,
            self.dest,
            json.loads(self.data),
            json.loads(self.detail),
            self.prev_hash,
            self.hash,
            self.lane,
            self.pos,
            None if self.after_instance is None else (self.after_instance, self.after_seq or 0),
            self.key or "",
        )


class StoredInstance(NamedTuple):
    """What `verify` reads of an instance row, as stored: `data` as its JSON text."""

    id: str
    process: str
    version: int
    state: str
    data: str
    seq: int
    head: str


class LaneLink(NamedTuple):
    """What the store-wide check reads of a placed event: its place and the event it names
    before it in its lane (`after_instance` None for a lane's first)."""

    lane: int
    pos: int
    instance: str
    seq: int
    after_instance: str | None
    after_seq: int | None
    key: str | None


@frozen(slots=True)
class MarkRecord:
    """How far `verify` has checked an instance (engine/runtime/verify.py): its history up to
    event `seq` ending in the tag `head`, with `digest` over what the replay read; `mac` seals
    the mark with the audit key `key` ("" : SHA-256); `seals` counts how the events up to `seq`
    were sealed (old format, unkeyed, per key), so an unchanged instance is counted unread."""

    instance: str
    seq: int
    head: str
    digest: str
    key: str
    mac: str
    seals: str = ""


@frozen(slots=True)
class LaneMark:
    """How far `verify` has checked a lane of the store-wide sequence: its positions up to
    `pos`, the event there (`instance`, `seq`, sealed with `event_key`); `mac` seals the mark
    with the audit key `key` ("" : SHA-256)."""

    lane: int
    pos: int
    instance: str
    seq: int
    event_key: str
    key: str
    mac: str


@frozen(slots=True)
class LaneRecord:
    """One lane of the store-wide event sequence: its last position and the event there."""

    lane: int
    pos: int
    instance: str
    seq: int
    key: str = ""
    check: str = ""


@frozen(slots=True)
class TimerRecord:
    """A scheduled firing of `trigger` on an instance; `fired_at` is set once it is claimed."""

    instance: str
    name: str
    state: str
    trigger: str
    due_at: datetime
    created_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    fired_at: datetime | None = None
    id: int | None = None


@frozen(slots=True)
class OutboxRecord:
    """A message waiting for (or past) delivery."""

    instance: str
    channel: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    body: str
    created_at: datetime
    status: str = "pending"  # pending | sending (leased by a worker) | sent | failed
    attempts: int = 0
    error: str = ""
    delivered_at: datetime | None = None
    id: int | None = None
    # (file name, content type, text) of each attachment: a batch's CSV
    attachments: tuple[tuple[str, str, str], ...] = ()
    # pending: not attempted again before this (retry backoff); sending: the end of the lease
    next_attempt_at: datetime | None = None


@frozen(slots=True)
class JobRecord:
    """Work handed to another system, created by a step and completed by a worker.

    `attempt` counts fetches (a completion names the attempt it holds), `failures` the
    failures reported; `due_at` is when an open or failed job may be fetched, `lease_until`
    when a locked job's lease ends.
    """

    type: str
    instance: str
    trigger: str  # fired by the completion
    payload: dict[str, Any]
    key: str  # the idempotency key the external system may deduplicate on
    created_at: datetime
    due_at: datetime
    retries: int = 3
    result: tuple[str, ...] = ()  # the fields a completion's data may set
    state: str = "open"  # one of JOB_STATES
    attempt: int = 0
    failures: int = 0
    worker: str = ""
    lease_until: datetime | None = None
    error: str = ""
    completed_at: datetime | None = None
    id: int | None = None


@frozen(slots=True)
class BatchMember:
    """An instance gathered into the batch of a (process, batch state) sent at `period`.

    `batch` is the id of the recurrence timer that sent it (None while waiting): an instance is
    taken by exactly one batch.
    """

    process: str
    state: str
    instance: str
    period: datetime  # the occurrence the batch is sent at
    joined_at: datetime
    batch: int | None = None


@frozen(slots=True)
class SheetRow:
    """One row appended to a named sheet; `values` keeps the column order."""

    sheet: str
    instance: str
    created_at: datetime
    values: tuple[tuple[str, str], ...]
    id: int | None = None


@frozen(slots=True)
class DefinitionRecord:
    """A stored definition version, so pinned instances can run after the catalog moved on."""

    process: str
    version: int
    source_hash: str
    source: str


@frozen(slots=True)
class TokenRecord:
    """An API token of a person: the SHA-256 hex digest of the token, never the token."""

    digest: str
    person: str
    created_at: datetime
    revoked_at: datetime | None = None


SEARCH_ORDERS = ("created_at", "updated_at", "last_activity_at", "id")
"""The columns a search can be sorted on (each with `id` as the tie-breaker)."""

StateKey = tuple[str, str, tuple[int, ...]]
"""(process, state, versions): the instances of the process in that state, of those versions
(empty: of any version). A state is read in the state table of the instance's own version."""


@frozen(slots=True)
class InstanceFilter:
    """What `Transaction.search_instances` selects, and in which order.

    `states` None: any state; else only the instances the `StateKey`s name (empty: nothing).
    `assignee` "": only the unassigned. `text`: only those whose id or data contains it
    (case-insensitive). Time bounds are inclusive from, exclusive to. `after` is the keyset
    position of the last row of the previous page: (the sort column's text, the id).
    """

    process: str | None = None
    version: int | None = None
    states: tuple[StateKey, ...] | None = None
    assignee: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    order: str = "created_at"  # one of SEARCH_ORDERS
    descending: bool = True
    after: tuple[str, str] | None = None
    text: str | None = None


def sort_key(record: InstanceRecord, order: str) -> str:
    """The text a record sorts by on `order` (what the SQL stores compare)."""
    if order == "id":
        return record.id
    if order == "created_at":
        return to_iso(record.created_at)
    if order == "last_activity_at":
        return to_iso(record.last_activity_at)
    return to_iso(record.updated_at)


class Transaction(Protocol):
    """The operations of one unit of work. Writes become visible together at commit."""

    # instances
    def get_instance(self, instance_id: str) -> InstanceRecord | None: ...
    def insert_instance(self, record: InstanceRecord) -> None: ...
    def update_instance(self, record: InstanceRecord, expected_rev: int) -> None:
        """Replace the instance; raises ConflictError when the stored rev is not expected_rev."""
        ...

    def children(self, instance_id: str) -> list[InstanceRecord]: ...
    def find_instances(self, states: Sequence[tuple[str, str]]) -> list[InstanceRecord]:
        """Instances in any of the (process, state) pairs, oldest last activity first."""
        ...

    def search_instances(self, query: InstanceFilter, limit: int) -> list[InstanceRecord]:
        """Up to `limit` instances matching `query`, in its order, after `query.after`.

        The SQL stores answer from indexes (keyset paging: no OFFSET, so page 1,000 costs
        what page 1 does; each (process, state) is read through its index in the order asked
        for, and the reads are merged).
        """
        ...

    def count_instances(self, process: str) -> dict[str, int]:
        """The process's instances per state now (an index-only count in the SQL stores)."""
        ...

    def tally(self, now: datetime) -> StoreTally:
        """Store-wide counts for metrics and stats (engine.store.tally)."""
        ...

    def instance_ids(self) -> Iterator[str]: ...
    def next_number(self, name: str) -> int:
        """The next value (1, 2, ...) of a named counter."""
        ...

    # history
    def append_event(self, event: EventRecord, texts: tuple[str, str] | None = None) -> None:
        """Write a history event. `texts`: its `data` and `detail` as the compact JSON text a
        SQL store keeps (`engine.store.rows.json_object`), when the caller encoded them already
        (the seal covers them), so they are not encoded twice."""
        ...

    def events(self, instance_id: str) -> list[EventRecord]: ...
    def next_position(self, instance_id: str, seq: int, key: str, check: str) -> Position:
        """Take the next position of a lane for event `seq` of the instance, sealed by `key`.

        A transaction keeps the lane it took first; lanes are rows locked until commit (on
        PostgreSQL each concurrent writer takes a free one, `SKIP LOCKED`), so the positions
        of a lane are 1, 2, 3... with no gap, whatever rolls back.
        """
        ...

    def lanes(self) -> list[LaneRecord]:
        """Every lane and its last position."""
        ...

    def lane_events(self, after: tuple[int, int], limit: int) -> list[EventRecord]:
        """Up to `limit` events with a position, in (lane, pos) order, after `after`."""
        ...

    def history_ids(self) -> Iterator[str]:
        """The ids of the instances that have history events, in order."""
        ...

    def stored_events(self, after: tuple[str, int], limit: int) -> list[StoredEvent]:
        """Up to `limit` events as stored, in (instance, seq) order, after `after`."""
        ...

    def lane_links(self, after: tuple[int, int], limit: int) -> list[LaneLink]:
        """Up to `limit` placed events' places, in (lane, pos) order, after `after`."""
        ...

    def verify_marks(self) -> dict[str, MarkRecord]:
        """Every instance's verify mark, by instance."""
        ...

    def put_verify_marks(self, marks: Sequence[MarkRecord]) -> None:
        """Write these marks, each replacing the instance's mark."""
        ...

    def stored_instances(self, after: str, limit: int) -> list[StoredInstance]:
        """Up to `limit` instance rows as stored, in id order, after the id `after`."""
        ...

    def stored_history(self, instance_id: str) -> list[StoredEvent]:
        """One instance's events as stored, in order."""
        ...

    def marks_behind(self) -> list[str]:
        """The instances that have events after the one their verify mark ends on."""
        ...

    def event_counts(self) -> tuple[int, int]:
        """How many history events are stored, and how many of them are placed in a lane."""
        ...

    def lane_marks(self) -> dict[int, LaneMark]:
        """Every lane's verify mark, by lane."""
        ...

    def put_lane_marks(self, marks: Sequence[LaneMark]) -> None:
        """Write these lane marks, each replacing the lane's mark."""
        ...

    # timers
    def add_timer(self, timer: TimerRecord) -> TimerRecord: ...
    def cancel_timers(self, instance_id: str, state: str) -> int:
        """Drop the pending timers the instance scheduled in `state`; returns how many."""
        ...

    def cancel_timer(self, timer_id: int) -> bool:
        """Drop one pending timer; False when it is not pending (fired, or gone)."""
        ...

    def timers(self, instance_id: str) -> list[TimerRecord]:
        """The instance's pending timers, earliest first."""
        ...

    def next_due_timer(self, now: datetime) -> TimerRecord | None: ...
    def claim_timer(self, timer_id: int, fired_at: datetime) -> bool:
        """Mark a pending timer fired; False when someone else claimed it first."""
        ...

    # savepoints: a part of the transaction undone on its own (`tick` fires several timers in
    # one transaction, each undone alone when its firing fails)
    def savepoint(self) -> int:
        """Mark this point of the transaction; returns the mark for `rollback_to` and `release`."""
        ...

    def rollback_to(self, mark: int) -> None:
        """Undo every write made since `mark`; the mark stays, to be rolled back to again."""
        ...

    def release(self, mark: int) -> None:
        """Keep what was written since `mark` (and the marks made after it) as part of the
        transaction; they commit or roll back with it."""
        ...

    def claim_due_timer(self, now: datetime) -> TimerRecord | None:
        """Claim the earliest pending timer due at `now` (marking it fired at `now`).

        The claim is part of this transaction: if the block rolls back, the timer is pending
        again. Several workers calling this at once each get a different timer and never wait
        for one another (PostgreSQL skips rows other transactions hold); a timer whose instance
        another transaction is changing may be passed over until that one ends.
        """
        ...

    # outbox
    def add_outbox(self, message: OutboxRecord) -> OutboxRecord: ...
    def outbox(self, status: str | None = None) -> list[OutboxRecord]: ...
    def update_outbox(self, message: OutboxRecord) -> None: ...
    def claim_outbox(self, now: datetime, until: datetime, after: int = 0) -> OutboxRecord | None:
        """Lease the first deliverable message with an id above `after`, until `until`.

        Deliverable: `pending`, or `sending` with a lease that ended before `now` (its worker
        died mid-send). The message comes back with status `sending`; the caller sends it and
        stores the outcome with `update_outbox`. Commit the claim before sending, so other
        workers see the lease.
        """
        ...

    # jobs (external work)
    def add_job(self, job: JobRecord) -> JobRecord: ...
    def get_job(self, job_id: int) -> JobRecord | None:
        """The job, locked until this transaction ends (PostgreSQL: `FOR UPDATE`)."""
        ...

    def update_job(self, job: JobRecord) -> None: ...
    def fetch_jobs(
        self, type: str, worker: str, now: datetime, until: datetime, limit: int
    ) -> list[JobRecord]:
        """Lock up to `limit` jobs of `type` for `worker` until `until`, oldest first.

        Fetchable: `open` or `failed` with `due_at <= now`, or `locked` with a lease that
        ended before `now`. Each comes back `locked` with its attempt counted. Workers
        fetching at once never get the same job (PostgreSQL skips rows others hold).
        """
        ...

    def jobs(
        self, instance: str | None = None, type: str | None = None, state: str | None = None
    ) -> list[JobRecord]:
        """Jobs, oldest first, optionally of one instance, type or state."""
        ...

    def cancel_jobs(self, instance: str) -> int:
        """Cancel the instance's jobs not completed (it closed); returns how many."""
        ...

    def job_counts(self) -> dict[str, int]:
        """How many jobs are in each state (states without jobs left out)."""
        ...

    # batches (fulfilment lists)
    def add_batch_member(self, member: BatchMember) -> None: ...
    def leave_batch(self, instance_id: str, state: str) -> int:
        """Drop the instance's membership of the unsent batch of `state`; returns how many."""
        ...

    def take_batch(
        self, process: str, state: str, until: datetime, batch: int
    ) -> list[BatchMember]:
        """Mark the unsent members of (process, state) with `period <= until` as sent in
        `batch` and return them, earliest joined first."""
        ...

    # sheets
    def add_sheet_row(self, row: SheetRow) -> SheetRow: ...
    def sheet_rows(self, sheet: str) -> list[SheetRow]: ...

    # listeners
    def get_cursor(self, name: str) -> str | None:
        """The stored cursor of a named event subscription (None: none stored)."""
        ...

    def put_cursor(self, name: str, cursor: str) -> None: ...

    # definitions
    def get_definition(self, process: str, version: int) -> DefinitionRecord | None: ...
    def definition_versions(self) -> list[tuple[str, int]]:
        """Every stored (process, version), sorted: the versions instances may run on."""
        ...

    def put_definition(self, definition: DefinitionRecord) -> None: ...

    # credentials (the workbench's sign-in; engine.web.credentials)
    def get_password(self, person: str) -> str | None:
        """The person's password hash, or None when none is set."""
        ...

    def set_password(self, person: str, hashed: str, at: datetime) -> None:
        """Set (or replace) the person's password hash."""
        ...

    def add_token(self, token: TokenRecord) -> None: ...
    def get_token(self, digest: str) -> TokenRecord | None: ...
    def revoke_tokens(self, person: str, at: datetime) -> int:
        """Revoke every live token of the person; returns how many."""
        ...


class Store(Protocol):
    """A database the engine runs instances against."""

    url: str

    def transaction(self, *, write: bool = True) -> AbstractContextManager[Transaction]:
        """A unit of work: committed when the block ends, rolled back when it raises."""
        ...

    def upgrade(self) -> list[int]:
        """Apply pending schema migrations; returns the versions applied."""
        ...

    def close(self) -> None: ...
