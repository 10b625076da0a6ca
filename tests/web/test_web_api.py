"""The JSON API: the CLI's JSON over HTTP, its errors, search pages, OpenAPI and metrics."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from fulfil.engine.clock import ManualClock
from fulfil.engine.runtime import Engine
from fulfil.engine.runtime.prometheus import render_metrics
from fulfil.engine.runtime.views import event_json, outbox_json
from fulfil.engine.store import SQLiteStore
from fulfil.engine.web.app import create_app
from fulfil.engine.web.auth import WebConfig
from web_support import START, make_engine, started, token


def test_start_fire_show_history(client: TestClient, engine: Engine) -> None:
    """Start answers 201 and the show object; fire, show and history mirror the CLI's JSON."""
    alex, sam = token(engine, "alex"), token(engine, "sam")
    made = client.post(
        "/api/instances", json={"process": "facebook_access", "data": START}, headers=alex
    )
    assert made.status_code == 201, made.text
    instance = made.json()["id"]
    assert made.json()["state"] == "new" and made.json()["acted_as"] == {
        "person": "alex",
        "role": "account_manager",
    }
    fired = client.post(f"/api/instances/{instance}/fire", json={"trigger": "begin"}, headers=sam)
    assert fired.status_code == 200 and fired.json()["state"] == "in_progress"
    shown = client.get(f"/api/instances/{instance}", headers=sam)
    assert shown.json() == engine.show(instance).to_json()
    history = client.get(f"/api/instances/{instance}/history", headers=sam)
    assert history.json() == [event_json(e) for e in engine.history(instance)]
    assert [e["actor"] for e in history.json()] == ["alex", "sam"]


def test_errors_are_json_with_the_contract_statuses(client: TestClient, engine: Engine) -> None:
    """Each refusal answers `{error: message}` with the contract's status; a role refusal is
    audited in history."""
    instance = started(engine)
    sam, alex = token(engine, "sam"), token(engine, "alex")
    fire = f"/api/instances/{instance}/fire"
    reached = {"outcome": "reached"}
    as_json = {**sam, "Content-Type": "application/json"}
    cases = [
        (client.get(f"/api/instances/{instance}"), 401),
        (client.get(f"/api/instances/{instance}", headers={"Authorization": "Bearer x"}), 401),
        (client.get("/api/instances/nope-1", headers=sam), 404),
        (client.post("/api/instances", json={"process": "nope"}, headers=sam), 404),
        (client.post("/api/instances", json={"data": {}}, headers=sam), 400),
        (client.post("/api/instances", content=b"{not json", headers=as_json), 400),
        (
            client.post(fire, json={"trigger": "log_call", "data": {"outcome": "x"}}, headers=sam),
            400,
        ),
        (client.post(fire, json={"trigger": "access_not_obtained"}, headers=sam), 400),
        (client.post(fire, json={"trigger": "log_call", "data": reached}, headers=alex), 403),
        (client.post(fire, json={"trigger": "begin"}, headers=sam), 409),
        (
            client.post(
                fire, json={"trigger": "log_call", "data": reached, "expected_rev": 1}, headers=sam
            ),
            409,
        ),
    ]
    for response, status in cases:
        assert response.status_code == status, (response.request.url, response.text)
        body = response.json()
        assert isinstance(body["error"], str) and body["error"]
    assert cases[0][0].headers["www-authenticate"] == "Bearer"
    refused = [e for e in engine.history(instance) if e.kind == "refused"]
    assert [(e.actor, e.trigger) for e in refused] == [("alex", "log_call")]


def test_revoked_token_is_refused(client: TestClient, engine: Engine) -> None:
    from fulfil.engine.web.credentials import Credentials

    sam = token(engine, "sam")
    assert client.get("/api/queues", headers=sam).status_code == 200
    Credentials(engine.store, engine.clock, engine.people).revoke_tokens("sam")  # type: ignore[arg-type]
    assert client.get("/api/queues", headers=sam).status_code == 401


def test_search_pages_through_every_instance(client: TestClient, engine: Engine) -> None:
    """`GET /api/instances` pages by cursor: every match once, least recently active first."""
    clock = engine.clock
    assert isinstance(clock, ManualClock)
    ids = []
    for n in range(7):
        clock.advance(timedelta(minutes=1))
        ids.append(started(engine, fr_number=f"FR-{n}"))
    engine.fire(ids[0], "access_obtained", actor="sam")
    sam = token(engine, "sam")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"process": "facebook_access", "open": "true", "limit": "2"}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/instances", params=params, headers=sam).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == ids[1:] and pages == 3
    closed = client.get("/api/instances?open=false", headers=sam).json()
    assert [i["id"] for i in closed["items"]] == [ids[0]] and closed["next"] is None
    text = client.get("/api/instances?text=fr-3", headers=sam).json()
    assert [i["id"] for i in text["items"]] == [ids[3]]
    engine.claim(ids[2], actor="nina")
    mine = client.get("/api/instances?assignee=nina", headers=sam).json()
    assert [i["id"] for i in mine["items"]] == [ids[2]]
    nobody = client.get(
        "/api/instances?assignee=none&open=true&process=facebook_access", headers=sam
    )
    assert ids[2] not in [i["id"] for i in nobody.json()["items"]]
    assert client.get("/api/instances?cursor=zzz", headers=sam).status_code == 400
    unknown_state = client.get("/api/instances?state=in_progres", headers=sam)
    assert unknown_state.status_code == 400  # a bad filter, as `fulfil list --state` says
    assert "did you mean 'in_progress'" in unknown_state.json()["error"]
    assert client.get("/api/instances?process=nope", headers=sam).status_code == 404
    assert client.get("/api/instances?open=maybe", headers=sam).status_code == 400


def test_queues_and_outbox(client: TestClient, engine: Engine) -> None:
    instance = started(engine)
    engine.fire(instance, "log_call", {"outcome": "no_answer"}, actor="sam")
    sam = token(engine, "sam")
    assert (
        client.get("/api/queues/digms_ops", headers=sam).json()
        == engine.queue("digms_ops").to_json()
    )
    assert client.get("/api/queues/nope", headers=sam).status_code == 404
    assert client.get("/api/outbox", headers=sam).json() == [
        outbox_json(m) for m in engine.outbox()
    ]
    assert client.get("/api/outbox", headers=sam).json()[0]["subject"].startswith("Email 1")


def test_claim_assign_release(client: TestClient, engine: Engine) -> None:
    instance = started(engine)
    sam, lee = token(engine, "sam"), token(engine, "lee")
    assert client.post(f"/api/instances/{instance}/claim", headers=sam).json()["assignee"] == "sam"
    assert (
        client.post(f"/api/instances/{instance}/claim", headers=token(engine, "nina")).status_code
        == 409
    )
    assigned = client.post(
        f"/api/instances/{instance}/assign", json={"person": "nina"}, headers=lee
    )
    assert assigned.json()["assignee"] == "nina"
    assert (
        client.post(
            f"/api/instances/{instance}/assign", json={"person": "lee"}, headers=sam
        ).status_code
        == 403
    )
    assert client.post(f"/api/instances/{instance}/release", headers=lee).json()["assignee"] is None


def test_export_has_the_verify_verdict(client: TestClient, engine: Engine) -> None:
    instance = started(engine)
    body = client.get(f"/api/instances/{instance}/export", headers=token(engine, "sam")).json()
    assert body["verify"]["ok"] is True and body["verify"]["checked"] == 1
    assert len(body["history"]) == 2 and body["instance"]["id"] == instance


def test_openapi_documents_the_contract(client: TestClient) -> None:
    """/openapi.json is served and names the contract's routes and methods."""
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert {"post", "get"} <= set(paths["/api/instances"])
    assert "get" in paths["/api/instances/{instance_id}"]
    assert "get" in paths["/api/instances/{instance_id}/history"]
    assert "post" in paths["/api/instances/{instance_id}/fire"]
    assert "get" in paths["/api/queues/{queue}"]
    fire_body = paths["/api/instances/{instance_id}/fire"]["post"]["requestBody"]
    schema_ref = fire_body["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert {"trigger", "data"} <= set(spec["components"]["schemas"][schema_ref]["properties"])
    for status in ("400", "401", "403", "404", "409"):
        assert status in paths["/api/instances/{instance_id}/fire"]["post"]["responses"]
    assert not any(path.startswith("/instances") or path == "/login" for path in paths)


def test_metrics_need_an_identity(client: TestClient, engine: Engine) -> None:
    sam = token(engine, "sam")
    assert client.get("/metrics").status_code == 401
    client.get("/api/queues", headers=sam)
    text = client.get("/metrics", headers=sam).text
    assert 'fulfil_http_requests_total{method="GET",route="/api/queues",status="200"} 1.0' in text


def test_a_locked_database_is_503(tmp_path: Path, clock: ManualClock) -> None:
    """While another process holds the write lock, a write answers 503 and stores nothing."""
    store = SQLiteStore(tmp_path / "locked.db", busy_timeout_ms=50)
    engine = make_engine(store, clock)
    instance = started(engine)
    sam = token(engine, "sam")
    client = TestClient(create_app(engine, WebConfig()), follow_redirects=False)
    blocker = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        response = client.post(
            f"/api/instances/{instance}/fire",
            json={"trigger": "log_call", "data": {"outcome": "reached"}},
            headers=sam,
        )
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert response.status_code == 503
    assert "busy" in response.json()["error"]
    assert engine.show(instance).state == "in_progress"
    assert len(engine.history(instance)) == 2
    store.close()


def test_metrics_serve_the_engines_figures(client: TestClient, engine: Engine) -> None:
    """/metrics of the workbench has every family `fulfil worker --metrics-port` serves, with
    the same figures, beside the request counters."""
    started(engine)
    sam = token(engine, "sam")
    served = client.get("/metrics", headers=sam)
    assert served.status_code == 200
    worker = _families(render_metrics(engine, max_age=0).decode())
    assert "fulfil_instances" in worker and "fulfil_store_up" in worker
    web = _families(served.text)
    assert set(worker) <= set(web)
    assert web["fulfil_instances"] == worker["fulfil_instances"]
    assert 'fulfil_instances{process="facebook_access",state="in_progress"} 1.0' in served.text
    assert "fulfil_http_requests_total" in web


def _families(text: str) -> dict[str, list[str]]:
    """The sample lines of a Prometheus text, by the family of each `# TYPE` line."""
    families: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            current = line.split()[2]
            families[current] = []
        elif line and not line.startswith("#"):
            families[current].append(line)
    return families
