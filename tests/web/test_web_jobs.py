"""The external workers' API: fetch and lock jobs, complete them (exactly once), fail them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.people import load_people
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore, SQLiteStore, Store
from fulfil.engine.web.app import create_app
from fulfil.engine.web.auth import WebConfig
from fulfil.engine.web.credentials import Credentials

ONBOARDING = Path(__file__).resolve().parents[1] / "jobs" / "processes" / "onboarding.yaml"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PEOPLE = "people:\n  wendy: {name: Wendy Worker, email: wendy@example.com, roles: [ops]}\n"


@pytest.fixture(params=["memory", "sqlite"])
def jobs_app(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    store: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "j.db")
    request.addfinalizer(store.close)
    catalog = Catalog((load_file(ONBOARDING).process,))
    (tmp_path / "people.yaml").write_text(PEOPLE, encoding="utf-8")
    people = load_people(tmp_path / "people.yaml", catalog)
    clock = ManualClock(T0)
    engine = Engine(catalog, store=store, clock=clock, people=people)
    secret = Credentials(store, clock, people).new_token("wendy")  # type: ignore[arg-type]
    client = TestClient(create_app(engine, WebConfig(secret=b"s")), follow_redirects=False)
    return engine, client, {"Authorization": f"Bearer {secret}"}


def approved(engine: Engine, client_name: str = "Acme") -> str:
    instance = engine.start("onboarding", {"client": client_name, "seats": 3}, actor="wendy").id
    engine.fire(instance, "approve", actor="wendy")
    return instance


def test_a_worker_fetches_a_job_and_its_completion_fires_the_trigger_once(jobs_app: Any) -> None:
    engine, client, auth = jobs_app
    instance = approved(engine)
    body = {"type": "crm.create_task", "worker": "crm-1", "lease_seconds": 60, "max": 5}
    fetched = client.post("/api/jobs/fetch", json=body, headers=auth)
    assert fetched.status_code == 200, fetched.text
    (job,) = fetched.json()
    assert set(job) == {"id", "type", "instance", "payload", "attempt", "key"}
    assert (job["instance"], job["payload"]["client"], job["payload"]["seats"]) == (
        instance,
        "Acme",
        4,
    )
    assert client.post("/api/jobs/fetch", json=body, headers=auth).json() == []  # locked

    url = f"/api/jobs/{job['id']}/complete"
    done = client.post(url, json={"data": {"crm_task": "T-7"}, "worker": "crm-1"}, headers=auth)
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["data"]["crm_task"]) == ("done", "T-7")
    again = client.post(url, json={"data": {"crm_task": "T-8"}}, headers=auth)
    assert again.status_code == 409
    assert "error" in again.json()
    assert engine.show(instance).data["crm_task"] == "T-7"


def test_a_failed_job_is_fetched_again_and_its_failure_is_recorded(jobs_app: Any) -> None:
    engine, client, auth = jobs_app
    approved(engine)
    body = {"type": "crm.create_task", "worker": "crm-1"}
    (job,) = client.post("/api/jobs/fetch", json=body, headers=auth).json()
    failed = client.post(
        f"/api/jobs/{job['id']}/fail",
        json={"message": "CRM down", "retry_in": 0, "worker": "crm-1"},
        headers=auth,
    )
    assert failed.status_code == 200, failed.text
    assert (failed.json()["error"], failed.json()["failures"]) == ("CRM down", 1)
    (again,) = client.post("/api/jobs/fetch", json=body, headers=auth).json()
    assert (again["id"], again["attempt"]) == (job["id"], job["attempt"] + 1)


def test_the_jobs_api_needs_a_token_and_names_unknown_jobs(jobs_app: Any) -> None:
    _, client, auth = jobs_app
    body = {"type": "crm.create_task", "worker": "crm-1"}
    assert client.post("/api/jobs/fetch", json=body).status_code == 401
    missing = client.post("/api/jobs/999/complete", json={"data": {}}, headers=auth)
    assert missing.status_code == 404
    bad = client.post("/api/jobs/fetch", json={"type": "crm.create_task"}, headers=auth)
    assert bad.status_code == 400
