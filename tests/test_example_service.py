"""docs/examples/crm_service: the FastAPI app sharing one Engine, its CRM job worker and the read
model its listener keeps, run as a client would use it."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).parents[1] / "docs" / "examples" / "crm_service"
pytest.importorskip("fastapi")
# starlette's TestClient prefers httpx2 and warns when it falls back on httpx
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv("FULFIL_DB", raising=False)
    monkeypatch.syspath_prepend(str(EXAMPLE))
    for name in ("app", "crm"):
        sys.modules.pop(name, None)
    from app import create_app
    from fastapi.testclient import TestClient

    with TestClient(create_app(tmp_path, poll=0.05)) as client:
        yield client
    for name in ("app", "crm"):
        sys.modules.pop(name, None)


def wait_for(client: Any, instance: str, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        row = client.get(f"/clients/{instance}")
        if row.status_code == 200 and row.json()["state"] == state:
            return dict(row.json())
        time.sleep(0.05)
    raise AssertionError(f"{instance} never reached {state}: {client.get(f'/clients/{instance}')}")


def test_an_approval_creates_one_crm_task_and_the_read_model_follows(service: Any) -> None:
    made = service.post("/clients", json={"client": 'Acme "Motors"', "seats": 3})
    assert made.status_code == 201, made.text
    instance, rev = made.json()["id"], made.json()["rev"]
    assert wait_for(service, instance, "new")["client"] == 'Acme "Motors"'
    headers = {"Idempotency-Key": "click-1"}
    first = service.post(f"/clients/{instance}/approve", json={"rev": rev}, headers=headers)
    again = service.post(f"/clients/{instance}/approve", json={"rev": rev}, headers=headers)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json()["state"] == "waiting_crm"
    row = wait_for(service, instance, "onboarded")  # the worker did the job, the listener saw it
    (task,) = service.get("/crm/tasks").json()
    assert task["client"] == 'Acme "Motors"' and task["title"] == 'Onboard Acme "Motors"'
    assert row["crm_task"] == task["id"]
    engine = service.app.state.engine
    assert [job.state for job in engine.show(instance).jobs] == ["completed"]
    assert engine.verify().ok


def test_a_stale_page_is_a_conflict_and_an_unknown_client_is_not_found(service: Any) -> None:
    instance = service.post("/clients", json={"client": "Beta"}).json()["id"]
    stale = service.post(f"/clients/{instance}/approve", json={"rev": 99})
    assert stale.status_code == 409
    assert stale.json()["detail"]["code"] == "conflict"
    assert service.post("/clients/nobody/approve", json={}).status_code == 404
    assert service.get("/clients/nobody").status_code == 404
