"""The row codec of the SQL stores: column lists, record <-> row, the decoded-instance cache.

`engine/store/sqlite.py` and `engine/store/postgres.py` read the same columns into the same
records; both take the decoders from here.
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

_INSTANCE_COLUMNS = (
    "id, process, version, state, data, parent, task, rev, seq, head, created_at, updated_at, "
    "last_activity_at, format_version, assignee"
)
_EVENT_COLUMNS = (
    "instance, seq, at, actor, role, kind, trigger_name, source, dest, data, detail, prev_hash, "
    "hash, lane, pos, after_instance, after_seq, key_id"
)
_TIMER_COLUMNS = "id, instance, name, state, trigger_name, due_at, data, created_at, fired_at"
_OUTBOX_COLUMNS = (
    "id, instance, channel, to_addr, cc_addr, subject, body, created_at, status, attempts, "
    "error, delivered_at, attachments, lease_until"
)
_MEMBER_COLUMNS = "process, state, instance, period, joined_at, batch"
_JOB_COLUMNS = (
    "id, type, instance, trigger_name, payload, job_key, result_fields, state, retries, "
    "attempt, failures, worker, due_at, lease_until, error, created_at, completed_at"
)
# fetchable: open or failed and due, or locked with a lease that ended (its worker died)
_JOB_FETCHABLE = (
    "type = ? AND ((state IN ('open', 'failed') AND due_at <= ?) OR "
    "(state = 'locked' AND lease_until < ?))"
)
_LANE_COLUMNS = "lane, pos, instance, seq, key_id, key_check"
# the statements every step runs, built once (sqlite3 caches prepared statements by text)
_GET_INSTANCE = f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE id = ?"
_APPEND_EVENT = f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES ({', '.join('?' * 18)})"


_dumps = compact_encoder()


def _json(value: dict[str, Any]) -> str:
    return _dumps(value) if value else "{}"


def _opt_iso(moment: datetime | None) -> str | None:
    return None if moment is None else to_iso(moment)


def _opt_time(text: str | None) -> datetime | None:
    return None if text is None else from_iso(text)


# Instance rows decoded lately, by id: a step reads back the row its previous step wrote (or
# read), and comparing the row with the one remembered costs far less than decoding it again.
# Records are immutable (their data is never changed in place), so one may be handed out twice.
_DECODED: dict[str, tuple[tuple[Any, ...], InstanceRecord]] = {}
_DECODED_MAX = 256


def _remember(row: tuple[Any, ...], record: InstanceRecord) -> None:
    if len(_DECODED) >= _DECODED_MAX:
        _DECODED.clear()
    _DECODED[row[0]] = (row, record)


def _instance(row: Sequence[Any]) -> InstanceRecord:
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
        _remember(row, record)
    return record


def _written_row(
    record: InstanceRecord, data: str, updated: str, activity: str
) -> tuple[Any, ...] | None:
    """The row `_GET_INSTANCE` reads back once `record` is written (its texts given).

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


def _event(row: Sequence[Any]) -> EventRecord:
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


def _timer(row: Sequence[Any]) -> TimerRecord:
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


def _outbox(row: Sequence[Any]) -> OutboxRecord:
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


def _member(row: Sequence[Any]) -> BatchMember:
    return BatchMember(row[0], row[1], row[2], from_iso(row[3]), from_iso(row[4]), row[5])


def _job(row: Sequence[Any]) -> JobRecord:
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


def _job_values(job: JobRecord) -> tuple[Any, ...]:
    """The row of `_JOB_COLUMNS` after the id."""
    return (
        job.type,
        job.instance,
        job.trigger,
        _dumps(job.payload),
        job.key,
        _dumps(list(job.result)),
        job.state,
        job.retries,
        job.attempt,
        job.failures,
        job.worker,
        to_iso(job.due_at),
        _opt_iso(job.lease_until),
        job.error,
        to_iso(job.created_at),
        _opt_iso(job.completed_at),
    )
