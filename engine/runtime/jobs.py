"""External work: jobs a step creates, workers fetch under a lease, complete or fail.

A `job` action stores a job in the step's transaction (the transactional outbox: the job
exists exactly when the step does). A worker of any language fetches jobs of a type
(`Engine.fetch_jobs`), each locked for it until its lease ends, and either completes it
(`Engine.complete_job`: the result data fires the job's completion trigger on the instance,
in the same transaction that marks the job completed) or fails it (`Engine.fail_job`: retried
after a delay, with backoff, until its retries run out; then it is an incident, recorded in
the instance's history). A lease that ends before either returns the job to the next fetch.

What a completion or failure must hold: the job locked, and, when the caller names them, the
worker and attempt of its own fetch; so a worker whose lease ended and whose job another
worker fetched again is refused (`JobRefused`, reason `lease_lost`), and of two completions
of one job exactly one fires the trigger (the job row is locked while the step runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from ..audit.keys import AuditKeys
from ..clock.durations import backoff
from ..errors import JobRefused, NotFound
from ..store.base import JobRecord, Transaction
from .compiled import CompiledProcess
from .data import refuse_undeclared, trigger_accepts
from .history import HistoryChain
from .views import JobView

__all__ = [
    "DEFAULT_LEASE",
    "JobView",
    "creates_jobs",
    "failed_job",
    "held_job",
    "job_view",
    "record_incident",
    "result_data",
]

DEFAULT_LEASE = timedelta(minutes=5)


def job_view(job: JobRecord) -> JobView:
    assert job.id is not None
    return JobView(
        job.id,
        job.type,
        job.instance,
        job.state,
        job.trigger,
        job.payload,
        job.key,
        job.attempt,
        job.failures,
        job.retries,
        job.worker,
        job.due_at,
        job.lease_until,
        job.error,
        job.created_at,
        job.completed_at,
    )


def creates_jobs(cp: CompiledProcess) -> bool:
    """Whether any transition of the process creates a job (else `show` skips the read)."""
    return cp.has_jobs


def _refused(job: JobRecord, reason: str, message: str) -> JobRefused:
    return JobRefused(
        message,
        details={
            "job": job.id,
            "state": job.state,
            "reason": reason,
            "worker": job.worker or None,
            "attempt": job.attempt,
        },
    )


def held_job(tx: Transaction, job_id: int, worker: str | None, attempt: int | None) -> JobRecord:
    """The job, locked for this transaction, that the caller may complete or fail.

    Raises:
        NotFound: no job `job_id`.
        JobRefused: it is completed, cancelled, not fetched, or fetched again by another
            worker after the caller's lease ended (`worker`/`attempt` name the caller's fetch).
    """
    job = tx.get_job(job_id)
    if job is None:
        raise NotFound(f"no job {job_id}; `fulfil jobs` lists them", details={"job": job_id})
    name = f"job {job_id} ({job.type})"
    if job.state == "completed":
        done = job.completed_at.isoformat() if job.completed_at else "an earlier moment"
        raise _refused(
            job, "completed", f"{name} was completed at {done}: its result counted once already"
        )
    if job.state == "cancelled":
        raise _refused(
            job, "cancelled", f"{name} was cancelled: its instance '{job.instance}' closed"
        )
    if job.state != "locked":
        raise _refused(
            job,
            "not_locked",
            f"{name} is {job.state}, not held by a worker: fetch it before completing or "
            "failing it",
        )
    other_attempt = attempt is not None and attempt != job.attempt
    other_worker = worker is not None and worker != job.worker
    if other_attempt or other_worker:
        yours = f"attempt {attempt}" if attempt is not None else f"worker '{worker}'"
        raise _refused(
            job,
            "lease_lost",
            f"{name}: the lease of {yours} ended and worker '{job.worker}' fetched it again "
            f"(attempt {job.attempt}); this result is refused, that fetch completes it",
        )
    return job


def result_data(
    cp: CompiledProcess, state: str, job: JobRecord, data: Mapping[str, Any] | None
) -> None:
    """Refuse result fields the job's completion does not take (its `result`, else what the
    trigger accepts in the instance's state)."""
    given = dict(data or {})
    if not given:
        return
    accepted = job.result or trigger_accepts(cp.process, state, job.trigger)
    refuse_undeclared(
        given,
        accepted,
        f"the result of job {job.id} ({job.type}) for '{job.trigger}'",
        instance=job.instance,
        trigger=job.trigger,
    )


def failed_job(job: JobRecord, message: str, retry_in: float | None, now: datetime) -> JobRecord:
    """The job after a failure: retried after `retry_in` seconds (default: backoff), or an
    incident once it failed more often than its retries."""
    failures = job.failures + 1
    if failures > job.retries:
        return replace(job, state="incident", failures=failures, error=message, lease_until=None)
    delay = timedelta(seconds=retry_in) if retry_in is not None else backoff(failures)
    return replace(
        job, state="failed", failures=failures, error=message, due_at=now + delay, lease_until=None
    )


def record_incident(tx: Transaction, job: JobRecord, now: datetime, keys: AuditKeys) -> None:
    """Write an `incident` event in the job's instance history (its rev moves on)."""
    record = tx.get_instance(job.instance)
    if record is None:
        return
    chain = HistoryChain(tx, record, keys)
    chain.add(
        "incident",
        at=max(now, record.updated_at),
        actor=job.worker or "job",
        trigger=job.trigger,
        source=record.state,
        detail={
            "job": job.id,
            "type": job.type,
            "key": job.key,
            "error": job.error,
            "failures": job.failures,
        },
    )
    chain.save(record)
