"""External work through the engine: create with the step, fetch under a lease, complete once,
fail with retries into an incident; on the memory store, SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.errors import DataError, FulfilError, JobRefused, NotFound, UsageError
from fulfil.engine.runtime import Engine, StepContext

TYPE = "crm.create_task"
OPS: dict[str, Any] = {"actor": "sam", "role": "ops"}
CLIENT = {"client": 'Acme "Motors" \\ Sons', "seats": 12, "start_on": "2026-04-01"}


def approved(engine: Engine, instance: str = "o-1") -> None:
    engine.start("onboarding", CLIENT, id=instance, **OPS)
    engine.fire(instance, "approve", **OPS)


def test_a_step_creates_a_job_with_a_typed_payload_and_a_key(engine: Engine) -> None:
    """The payload holds typed JSON values built from fields (a quote stays a quote), the key
    names the job's history event, and `show` lists the job."""
    approved(engine)
    view = engine.show("o-1")
    assert [job.state for job in view.jobs] == ["open"]
    job = view.jobs[0]
    assert job.type == TYPE
    assert job.payload == {
        "client": 'Acme "Motors" \\ Sons',
        "seats": 13,
        "start_on": "2026-04-01",
        "vip": True,
    }
    events = engine.history("o-1")
    created = [e for e in events if e.kind == "job"]
    assert len(created) == 1
    assert job.key == f"o-1/{created[0].seq}"
    assert created[0].detail["payload"] == job.payload
    assert view.to_json()["jobs"][0]["key"] == job.key
    assert engine.verify().ok


def test_fetch_locks_a_job_for_one_worker_until_its_lease_ends(
    engine: Engine, clock: ManualClock
) -> None:
    approved(engine)
    first = engine.fetch_jobs(TYPE, worker="w1", lease_seconds=60)
    assert [j.task_json()["attempt"] for j in first] == [1]
    assert set(first[0].task_json()) == {"id", "type", "instance", "payload", "attempt", "key"}
    assert engine.fetch_jobs(TYPE, worker="w2") == []  # locked: nobody else gets it
    assert engine.fetch_jobs("other.type", worker="w2") == []
    clock.advance(timedelta(seconds=61))
    again = engine.fetch_jobs(TYPE, worker="w2")
    assert [(j.id, j.attempt, j.worker) for j in again] == [(first[0].id, 2, "w2")]


def test_a_completion_after_the_lease_was_lost_is_refused(
    engine: Engine, clock: ManualClock
) -> None:
    """w1's lease ends, w2 fetches the job again: w1's late result is refused, w2's counts."""
    approved(engine)
    (late,) = engine.fetch_jobs(TYPE, worker="w1", lease_seconds=30)
    clock.advance(timedelta(minutes=1))
    (held,) = engine.fetch_jobs(TYPE, worker="w2")
    with pytest.raises(JobRefused) as info:
        engine.complete_job(late.id, {"crm_task": "T-1"}, worker="w1", attempt=late.attempt)
    assert info.value.code == "job_refused"
    assert info.value.details["reason"] == "lease_lost"
    assert "fetched it again" in str(info.value)
    assert engine.show("o-1").state == "waiting_crm"
    view = engine.complete_job(held.id, {"crm_task": "T-2"}, worker="w2", attempt=held.attempt)
    assert (view.state, view.data["crm_task"]) == ("done", "T-2")


def test_a_completion_fires_the_trigger_once(engine: Engine) -> None:
    approved(engine)
    (job,) = engine.fetch_jobs(TYPE, worker="w1")
    view = engine.complete_job(job.id, {"crm_task": "T-9"}, worker="w1", attempt=job.attempt)
    assert view.state == "done"
    assert view.jobs[0].state == "completed"
    before = engine.history("o-1")
    with pytest.raises(JobRefused) as info:
        engine.complete_job(job.id, {"crm_task": "T-10"})
    assert info.value.details["reason"] == "completed"
    assert engine.history("o-1") == before
    fired = [e for e in before if e.trigger == "crm_task_created"]
    assert len(fired) == 1 and fired[0].detail == {"job": job.id, "key": job.key}
    assert fired[0].actor == "w1"
    report = engine.verify()
    assert report.ok, report.problems


def test_completing_a_job_not_fetched_is_refused(engine: Engine) -> None:
    approved(engine)
    (job,) = engine.show("o-1").jobs
    with pytest.raises(JobRefused) as info:
        engine.complete_job(job.id, {"crm_task": "T-1"})
    assert info.value.details["reason"] == "not_locked"
    with pytest.raises(NotFound):
        engine.complete_job(999, {})


def test_result_fields_the_completion_does_not_take_are_refused(engine: Engine) -> None:
    approved(engine)
    (job,) = engine.fetch_jobs(TYPE, worker="w1")
    with pytest.raises(DataError, match="client"):
        engine.complete_job(job.id, {"crm_task": "T-1", "client": "Someone else"})
    assert engine.show("o-1").jobs[0].state == "locked"  # nothing stored: still held
    assert engine.complete_job(job.id, {"crm_task": "T-1"}).state == "done"


def test_failures_retry_with_a_delay_then_become_an_incident(
    engine: Engine, clock: ManualClock
) -> None:
    """retries: 2 -> the third failure is an incident, in the history, the queue and counts."""
    approved(engine)
    (job,) = engine.fetch_jobs(TYPE, worker="w1")
    failed = engine.fail_job(job.id, "CRM timed out", retry_in=120, worker="w1")
    assert (failed.state, failed.failures, failed.error) == ("failed", 1, "CRM timed out")
    assert failed.due_at == clock.now() + timedelta(seconds=120)
    assert engine.fetch_jobs(TYPE, worker="w1") == []  # not before its retry time
    clock.advance(timedelta(seconds=120))
    (job,) = engine.fetch_jobs(TYPE, worker="w1")
    failed = engine.fail_job(job.id, "CRM timed out again")  # default delay: backoff
    assert failed.due_at == clock.now() + timedelta(minutes=2)
    clock.advance(timedelta(minutes=2))
    (job,) = engine.fetch_jobs(TYPE, worker="w1")
    incident = engine.fail_job(job.id, "CRM refuses the client")
    assert (incident.state, incident.failures) == ("incident", 3)
    clock.advance(timedelta(days=1))
    assert engine.fetch_jobs(TYPE, worker="w1") == []
    events = engine.history("o-1")
    assert events[-1].kind == "incident"
    assert events[-1].detail["error"] == "CRM refuses the client"
    assert [j.id for j in engine.queue().incidents] == [job.id]
    assert [j.id for j in engine.queue("onboarding").incidents] == [job.id]
    assert engine.job_counts()["incident"] == 1
    assert [j.id for j in engine.jobs(state="incident")] == [job.id]
    assert engine.verify().ok
    again = engine.retry_job(job.id)
    assert (again.state, again.failures) == ("open", 0)
    assert engine.fetch_jobs(TYPE, worker="w1")[0].attempt == 4


def test_closing_the_instance_cancels_its_jobs(engine: Engine) -> None:
    approved(engine)
    (job,) = engine.fetch_jobs(TYPE, worker="w1")
    engine.fire("o-1", "drop", **OPS)
    assert engine.show("o-1").jobs[0].state == "cancelled"
    with pytest.raises(JobRefused) as info:
        engine.complete_job(job.id, {"crm_task": "T-1"})
    assert info.value.details["reason"] == "cancelled"


def test_a_step_rolled_back_leaves_no_job(make_engine: Callable[[], Engine]) -> None:
    """The job is written in the step's transaction: a step hook that fails takes it along."""
    engine = make_engine()
    engine.start("onboarding", CLIENT, id="o-1", **OPS)

    def refuse(step: StepContext) -> None:
        raise RuntimeError("the application's own write failed")

    engine.step_hooks = (refuse,)
    with pytest.raises(RuntimeError):
        engine.fire("o-1", "approve", **OPS)
    assert engine.jobs() == []
    assert engine.job_counts()["open"] == 0


def test_bad_calls_are_refused_with_a_usage_error(engine: Engine) -> None:
    approved(engine)
    with pytest.raises(UsageError):
        engine.fetch_jobs(TYPE, worker="w1", max=0)
    with pytest.raises(UsageError):
        engine.fetch_jobs(TYPE, worker="w1", lease_seconds=0)
    with pytest.raises(UsageError):
        engine.jobs(state="sleeping")
    (job,) = engine.fetch_jobs(TYPE, worker="w1")
    with pytest.raises(UsageError):
        engine.fail_job(job.id, "  ")


def test_two_workers_fetching_at_once_never_get_the_same_job(
    make_engine: Callable[[], Engine],
) -> None:
    engine = make_engine()
    for n in range(12):
        approved(engine, f"o-{n}")
    engines = [make_engine() for _ in range(4)]
    got: list[int] = []
    lock, gate = threading.Lock(), threading.Barrier(len(engines))

    def fetch(worker: Engine, name: str) -> None:
        gate.wait()
        while True:
            jobs = worker.fetch_jobs(TYPE, worker=name, max=2)
            if not jobs:
                return
            with lock:
                got.extend(j.id for j in jobs)

    threads = [threading.Thread(target=fetch, args=(e, f"w{i}")) for i, e in enumerate(engines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == sorted(j.id for j in engine.jobs())
    assert len(got) == 12


def _race(racers: list[Engine], job_id: int) -> list[str]:
    """Every racer completes the job at the same moment; what each got."""
    outcomes: list[str] = []
    gate = threading.Barrier(len(racers))

    def complete(worker: Engine, task: str) -> None:
        gate.wait()
        try:
            worker.complete_job(job_id, {"crm_task": task})
        except FulfilError as exc:
            outcomes.append(type(exc).__name__)
        else:
            outcomes.append("completed")

    threads = [
        threading.Thread(target=complete, args=(racer, f"T-{i}")) for i, racer in enumerate(racers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_two_workers_completing_one_job_complete_it_once(
    make_engine: Callable[[], Engine],
) -> None:
    """The race: two workers complete one fetched job at once; exactly one completion fires
    the trigger, the other is refused."""
    engine = make_engine()
    instances = [f"r-{n}" for n in range(10)]  # ten races, so the race is really run
    for instance in instances:
        approved(engine, instance)
    racers = [make_engine(), make_engine()]
    for instance in instances:
        (job,) = engine.jobs(instance=instance)
        engine.fetch_jobs(TYPE, worker="w1")
        outcomes = _race(racers, job.id)
        assert sorted(outcomes) == ["JobRefused", "completed"], outcomes
        fired = [e for e in engine.history(instance) if e.trigger == "crm_task_created"]
        assert len(fired) == 1
    assert engine.verify().ok
