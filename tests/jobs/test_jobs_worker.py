"""The Python worker helper (`@worker`), `fulfil worker --jobs MODULE` and `fulfil jobs`."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fulfil.cli import main
from fulfil.engine.clock import ManualClock
from fulfil.engine.runtime import Engine
from fulfil.engine.runtime.views import JobView
from fulfil.engine.worker import JobHandlers, RetryLater, Worker

PROCESSES = Path(__file__).parent / "processes"
TYPE = "crm.create_task"
OPS: dict[str, Any] = {"actor": "sam", "role": "ops"}


def approved(engine: Engine, instance: str) -> None:
    engine.start("onboarding", {"client": f"Client {instance}"}, id=instance, **OPS)
    engine.fire(instance, "approve", **OPS)


def test_handlers_complete_jobs_with_their_result(engine: Engine) -> None:
    """A registered handler gets the payload and key; its result completes the job."""
    seen: list[tuple[str, str]] = []
    handlers = JobHandlers()

    @handlers.worker(TYPE)
    def create_task(job: JobView) -> dict[str, str]:
        seen.append((job.payload["client"], job.key))
        return {"crm_task": f"T-{job.instance}"}

    approved(engine, "o-1")
    approved(engine, "o-2")
    lines: list[str] = []
    assert handlers.round(engine, name="crm-1", echo=lines.append) == 2
    assert [client for client, _ in seen] == ["Client o-1", "Client o-2"]
    assert engine.show("o-2").data["crm_task"] == "T-o-2"
    assert engine.show("o-1").state == "done"
    assert "completed: o-1 -> done" in lines[0]
    assert engine.verify().ok


def test_a_handler_that_raises_fails_the_job_until_it_is_an_incident(
    engine: Engine, clock: ManualClock
) -> None:
    handlers = JobHandlers()
    calls: list[int] = []

    @handlers.worker(TYPE)
    def create_task(job: JobView) -> None:
        calls.append(job.attempt)
        if job.attempt == 1:
            raise RetryLater("CRM busy", retry_in=5)
        raise ConnectionError("CRM unreachable")

    approved(engine, "o-1")
    lines: list[str] = []
    for _ in range(6):
        handlers.round(engine, name="crm-1", echo=lines.append)
        clock.advance(timedelta(hours=2))
    assert calls == [1, 2, 3]  # retries: 2 -> three tries, then an incident
    (job,) = engine.jobs()
    assert (job.state, job.error) == ("incident", "ConnectionError: CRM unreachable")
    assert "retried at" in lines[0] and "CRM busy" in lines[0]
    assert "incident" in lines[-1]


def test_a_result_the_process_refuses_fails_the_job(engine: Engine) -> None:
    handlers = JobHandlers()
    handlers.worker(TYPE)(lambda job: {"client": "someone else"})
    approved(engine, "o-1")
    lines: list[str] = []
    handlers.round(engine, name="crm-1", echo=lines.append)
    (job,) = engine.jobs()
    assert job.state == "failed"
    assert "the engine refused the result" in job.error


def test_one_handler_per_type() -> None:
    handlers = JobHandlers()
    handlers.worker(TYPE)(lambda job: None)
    with pytest.raises(ValueError, match="already has a handler"):
        handlers.worker(TYPE)(lambda job: {})


def test_the_worker_runs_job_handlers_in_its_rounds(engine: Engine) -> None:
    handlers = JobHandlers()
    handlers.worker(TYPE)(lambda job: {"crm_task": "T-1"})
    approved(engine, "o-1")
    lines: list[str] = []
    Worker(engine, jobs=handlers, name="w", echo=lines.append).run(once=True)
    assert engine.show("o-1").state == "done"
    assert any("completed" in line for line in lines)


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'jobs.db'}"

    def invoke(*args: str) -> Result:
        base = ["--db", db, "--processes", str(PROCESSES), "--now", "2026-03-02T09:00:00Z"]
        return CliRunner().invoke(main, [*base, *args])

    return invoke


def test_fulfil_jobs_lists_and_filters(run) -> None:  # type: ignore[no-untyped-def]
    assert run("jobs").output.strip() == "no jobs"
    started = run("start", "onboarding", "--as", "sam:ops", "--data", '{"client": "Acme"}')
    instance = started.output.strip().splitlines()[-1]
    assert run("fire", instance, "approve", "--as", "sam:ops").exit_code == 0
    listed = run("jobs")
    assert listed.exit_code == 0, listed.output
    assert f"job 1 {TYPE} [open] {instance} -> crm_task_created" in listed.output
    (entry,) = json.loads(run("jobs", "--type", TYPE, "--state", "open", "--json").output)
    assert entry["payload"]["client"] == "Acme" and entry["state"] == "open"
    assert json.loads(run("jobs", "--state", "incident", "--json").output) == []
    shown = run("show", instance)
    assert f"job 1 {TYPE} [open]" in shown.output
    assert json.loads(run("show", instance, "--json").output)["jobs"][0]["id"] == 1
    bad = run("jobs", "--state", "sleeping")
    assert bad.exit_code == 2 and "sleeping" in bad.output
    refused = run("jobs", "--retry", "1")
    assert refused.exit_code == 1
    assert "only an incident or a failed job is retried" in refused.output


def test_fulfil_worker_jobs_module_runs_its_handlers(tmp_path: Path) -> None:
    """`fulfil worker --jobs MODULE --once` imports ./MODULE.py and handles its jobs."""
    (tmp_path / "crm_jobs.py").write_text(
        textwrap.dedent(
            """
            from fulfil.engine.worker import worker

            @worker("crm.create_task")
            def create_task(job):
                return {"crm_task": "CRM-" + job.key}
            """
        )
    )
    base = [
        sys.executable,
        "-m",
        "fulfil.cli",
        "--db",
        f"sqlite:///{tmp_path / 'w.db'}",
        "--processes",
        str(PROCESSES),
    ]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*base, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )

    assert cli("start", "onboarding", "--id", "o-1", "--data", '{"client": "Acme"}').returncode == 0
    assert cli("fire", "o-1", "approve").returncode == 0
    worked = cli("worker", "--jobs", "crm_jobs", "--once")
    assert worked.returncode == 0, worked.stderr
    assert "completed: o-1 -> done" in worked.stdout
    shown = json.loads(cli("show", "o-1", "--json").stdout)
    assert shown["data"]["crm_task"].startswith("CRM-o-1/")
    missing = cli("worker", "--jobs", "no_such_module", "--once")
    assert missing.returncode == 2
    assert "cannot import the jobs module 'no_such_module'" in missing.stderr
