"""The row codec of the SQL stores: column lists, record <-> row, the decoded-instance cache.

SQLite and PostgreSQL hold the same tables with the same column types (`engine.store.schema`),
so a row reads into the same record in both: the shared transaction code (`engine.store.sql`)
and each database's own statements take the column lists and decoders from here. Nothing here
names a placeholder: statements are built by `engine.store.sql` for each dialect.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from .base import (
    BatchMember,
    EventRecord,
    InstanceRecord,
    JobRecord,
    OutboxRecord,
    TimerRecord,
    from_iso,
    to_iso,
)
from .jsontext import compact_encoder

__all__ = [
    "EVENT_COLUMNS",
    "INSTANCE_COLUMNS",
    "JOB_COLUMNS",
    "LANE_COLUMNS",
    "MEMBER_COLUMNS",
    "OUTBOX_COLUMNS",
    "TIMER_COLUMNS",
    "decode_event",
    "decode_instance",
    "decode_job",
    "decode_member",
    "decode_outbox",
    "decode_timer",
    "dumps",
    "job_values",
    "json_object",
    "opt_iso",
    "remember",
    "written_row",
]

INSTANCE_COLUMNS = (
    "id, process, version, state, data, parent, task, rev, seq, head, created_at, updated_at, "
    "last_activity_at, format_version, assignee"
)
EVENT_COLUMNS = (
    "instance, seq, at, actor, role, kind, trigger_name, source, dest, data, detail, prev_hash, "
    "hash, lane, pos, after_instance, after_seq, key_id"
)
TIMER_COLUMNS = "id, instance, name, state, trigger_name, due_at, data, created_at, fired_at"
OUTBOX_COLUMNS = (
    "id, instance, channel, to_addr, cc_addr, subject, body, created_at, status, attempts, "
    "error, delivered_at, attachments, lease_until"
)
MEMBER_COLUMNS = "process, state, instance, period, joined_at, batch"
JOB_COLUMNS = (
    "id, type, instance, trigger_name, payload, job_key, result_fields, state, retries, "
    "attempt, failures, worker, due_at, lease_until, error, created_at, completed_at"
)
LANE_COLUMNS = "lane, pos, instance, seq, key_id, key_check"


dumps = compact_encoder()


def json_object(value: dict[str, Any]) -> str:
    """A history event's `data` or `detail` as text (`{}` when empty)."""
    return dumps(value) if value else "{}"


def opt_iso(moment: datetime | None) -> str | None:
    """`to_iso`, with None for None."""
    return None if moment is None else to_iso(moment)


def _opt_time(text: str | None) -> datetime | None:
    return None if text is None else from_iso(text)


# Instance rows decoded lately, by id: a step reads back the row its previous step wrote (or
# read), and comparing the row with the one remembered costs far less than decoding it again.
# Records are immutable (their data is never changed in place), so one may be handed out twice.
_DECODED: dict[str, tuple[tuple[Any, ...], InstanceRecord]] = {}
_DECODED_MAX = 256


def remember(row: tuple[Any, ...], record: InstanceRecord) -> None:
    """Keep `record` as the decoding of `row` (the row its step wrote, or read)."""
    if len(_DECODED) >= _DECODED_MAX:
        _DECODED.clear()
    _DECODED[row[0]] = (row, record)


def decode_instance(row: Sequence[Any]) -> InstanceRecord:
    known = _DECODED.get(row[0])
    if known is not None and known[0] == row:
        return known[1]
    # positional: this runs on every step, and keywords cost a fifth more
    record = InstanceRecord(
        row[0],  # id
        row[1],  # process
        row[2],  # version
        row[3],  # state
        json.loads(row[4]),  # data
        from_iso(row[10]),  # created_at
        from_iso(row[11]),  # updated_at
        from_iso(row[12]),  # last_activity_at
        row[5],  # parent
        row[6],  # task
        row[7],  # rev
        row[8],  # seq
        row[9],  # head
        row[13],  # format_version
        row[14],  # assignee
    )
    if type(row) is tuple:
        remember(row, record)
    return record


def written_row(
    record: InstanceRecord, data: str, updated: str, activity: str
) -> tuple[Any, ...] | None:
    """The row a read of the instance gives back once `record` is written (its texts given).

    None when reading it back would not give `record` itself: times in another zone than UTC.
    """
    if not (
        record.created_at.tzinfo is UTC
        and record.updated_at.tzinfo is UTC
        and record.last_activity_at.tzinfo is UTC
    ):
        return None
    return (
        record.id,
        record.process,
        record.version,
        record.state,
        data,
        record.parent,
        record.task,
        record.rev,
        record.seq,
        record.head,
        to_iso(record.created_at),
        updated,
        activity,
        record.format_version,
        record.assignee,
    )


def decode_event(row: Sequence[Any]) -> EventRecord:
    return EventRecord(
        instance=row[0],
        seq=row[1],
        at=from_iso(row[2]),
        actor=row[3],
        role=row[4],
        kind=row[5],
        trigger=row[6],
        source=row[7],
        dest=row[8],
        data=json.loads(row[9]),
        detail=json.loads(row[10]),
        prev_hash=row[11],
        hash=row[12],
        lane=row[13],
        pos=row[14],
        after=None if row[15] is None else (row[15], row[16]),
        key=row[17] or "",
    )


def decode_timer(row: Sequence[Any]) -> TimerRecord:
    return TimerRecord(
        id=row[0],
        instance=row[1],
        name=row[2],
        state=row[3],
        trigger=row[4],
        due_at=from_iso(row[5]),
        data=json.loads(row[6]),
        created_at=from_iso(row[7]),
        fired_at=_opt_time(row[8]),
    )


def decode_outbox(row: Sequence[Any]) -> OutboxRecord:
    return OutboxRecord(
        id=row[0],
        instance=row[1],
        channel=row[2],
        to=tuple(json.loads(row[3])),
        cc=tuple(json.loads(row[4])),
        subject=row[5],
        body=row[6],
        created_at=from_iso(row[7]),
        status=row[8],
        attempts=row[9],
        error=row[10],
        delivered_at=_opt_time(row[11]),
        attachments=tuple((str(n), str(t), str(c)) for n, t, c in json.loads(row[12])),
        next_attempt_at=_opt_time(row[13]),
    )


def decode_member(row: Sequence[Any]) -> BatchMember:
    return BatchMember(row[0], row[1], row[2], from_iso(row[3]), from_iso(row[4]), row[5])


def decode_job(row: Sequence[Any]) -> JobRecord:
    return JobRecord(
        id=row[0],
        type=row[1],
        instance=row[2],
        trigger=row[3],
        payload=json.loads(row[4]),
        key=row[5],
        result=tuple(json.loads(row[6])),
        state=row[7],
        retries=row[8],
        attempt=row[9],
        failures=row[10],
        worker=row[11],
        due_at=from_iso(row[12]),
        lease_until=_opt_time(row[13]),
        error=row[14],
        created_at=from_iso(row[15]),
        completed_at=_opt_time(row[16]),
    )


def job_values(job: JobRecord) -> tuple[Any, ...]:
    """The row of `JOB_COLUMNS` after the id."""
    return (
        job.type,
        job.instance,
        job.trigger,
        dumps(job.payload),
        job.key,
        dumps(list(job.result)),
        job.state,
        job.retries,
        job.attempt,
        job.failures,
        job.worker,
        to_iso(job.due_at),
        opt_iso(job.lease_until),
        job.error,
        to_iso(job.created_at),
        opt_iso(job.completed_at),
    )
