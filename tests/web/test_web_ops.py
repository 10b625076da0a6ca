"""The operations pages: only operators and managers see them; search with the filters of
`fulfil list`; cancel, correct, move from the instance page with a reason, refusals shown and
nothing stored; bulk changes previewed then confirmed; migrate and stats; the JSON routes."""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import load_directory
from fulfil.engine.people import PeopleDirectory, Person
from fulfil.engine.runtime import Engine
from fulfil.engine.store import SQLiteStore, Store
from fulfil.engine.web.app import create_app
from fulfil.engine.web.auth import WebConfig
from fulfil.engine.web.credentials import Credentials
from web_support import PASSWORD, PROCESSES, START, csrf_of, sign_in, started, token

SCRIPT = "<script>alert('x')</script>"


TEAM = PeopleDirectory.of(
    (
        Person("sam", "Sam", "sam@example.com", ("ops_specialist",), "lee"),
        Person("lee", "Lee", "lee@example.com", ("ops_lead",), None),
        Person("alex", "Alex", "alex@example.com", ("account_manager",), None),
        Person("morgan", "Morgan", "morgan@example.com", ("operator",), None),
    )
)


def version_2(text: str) -> str:
    """facebook_access v2: `escalated` is `awaiting_cancellation` (the priority value too), the
    timer `next_call_due` is `call_due`, and a new field `region` defaults to EU."""
    text = re.sub(r"^version: 1$", "version: 2", text, flags=re.M)
    text = re.sub(r"\bescalated\b", "awaiting_cancellation", text)
    text = text.replace("- name: next_call_due", "- name: call_due")
    return text.replace("\nfields:\n", '\nfields:\n  region: {type: string, default: "EU"}\n', 1)


def make_engine_in(folder: Path, store: Store, clock: ManualClock) -> Engine:
    return Engine(load_directory(folder), store=store, clock=clock, people=TEAM)


@pytest.fixture
def morgan(engine: Engine, client: TestClient) -> TestClient:
    """The client signed in as morgan, the directory's operator."""
    Credentials(engine.store, engine.clock, engine.people).set_password("morgan", PASSWORD)  # type: ignore[arg-type]
    assert sign_in(client, "morgan").status_code == 303
    return client


def _instance_page(client: TestClient, instance: str) -> str:
    page = client.get(f"/instances/{instance}")
    assert page.status_code == 200, page.text
    return page.text


def _refusal(html: str, where: str) -> str:
    found = re.search(rf'<p class="refusal" role="alert" data-for="{where}">([^<]*)</p>', html)
    assert found, f"no refusal for {where}"
    return unescape(found.group(1))


# --- who sees the area ------------------------------------------------------------------------
def test_a_person_without_an_operating_role_is_refused_the_area(
    client: TestClient, engine: Engine
) -> None:
    instance = started(engine)
    sign_in(client, "sam")
    home = client.get("/").text
    assert 'href="/ops"' not in home
    for path in ("/ops", "/ops/stats?process=facebook_access", "/ops/migrate"):
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "operator" in refused.text
    page = _instance_page(client, instance)
    assert "/ops/instances/" not in page  # no operator panel
    before = engine.show(instance)
    # a forged post with sam's own valid token: the engine refuses and records it
    forged = client.post(
        f"/ops/instances/{instance}/cancel",
        data={"csrf": csrf_of(page), "reason": "I want it gone"},
    )
    assert forged.status_code == 403
    assert "may not change running work" in _refusal(forged.text, "ops:cancel")
    assert engine.show(instance).state == before.state
    last = engine.history(instance)[-1]
    assert (last.kind, last.actor, last.trigger) == ("refused", "sam", "cancel")
    bulk = client.post(
        "/ops/bulk",
        data={
            "csrf": csrf_of(page),
            "action": "cancel",
            "reason": "x",
            "process": "facebook_access",
        },
    )
    assert bulk.status_code == 403


def test_the_manager_role_sees_the_area_and_the_panel(client: TestClient, engine: Engine) -> None:
    instance = started(engine)
    sign_in(client, "lee")  # ops_lead: the manager role of facebook_access
    assert 'href="/ops"' in client.get("/").text
    page = _instance_page(client, instance)
    assert f'action="/ops/instances/{instance}/cancel"' in page


# --- search -----------------------------------------------------------------------------------
def test_search_filters_pages_and_refuses_a_bad_where(morgan: TestClient, engine: Engine) -> None:
    ids = [started(engine, client=f"Client {n}") for n in range(3)]
    engine.cancel(ids[0], reason="duplicate", actor="morgan")
    page = morgan.get("/ops", params={"process": "facebook_access", "open": "open", "limit": "1"})
    assert page.status_code == 200
    shown = re.findall(r'<td><a href="/instances/([^"]+)">', page.text)
    assert len(shown) == 1 and shown[0] in ids[1:]
    following = re.search(r'<a href="/ops\?([^"]+)">Next page', page.text)
    assert following
    second = morgan.get("/ops?" + following.group(1).replace("&amp;", "&"))
    shown2 = re.findall(r'<td><a href="/instances/([^"]+)">', second.text)
    assert set(shown + shown2) == set(ids[1:])
    where = morgan.get(
        "/ops", params={"process": "facebook_access", "where": 'client == "Client 2"'}
    )
    assert re.findall(r'<td><a href="/instances/([^"]+)">', where.text) == [ids[2]]
    closed = morgan.get("/ops", params={"state": "Cancelled"})
    assert re.findall(r'<td><a href="/instances/([^"]+)">', closed.text) == [ids[0]]
    bad = morgan.get("/ops", params={"process": "facebook_access", "where": 'clent == "x"'})
    assert bad.status_code == 400
    assert "did you mean 'client'" in _refusal(bad.text, "search")
    bad_date = morgan.get("/ops", params={"started_after": "yesterday-ish"})
    assert bad_date.status_code == 400
    assert "takes a date" in _refusal(bad_date.text, "search")


# --- interventions on the instance page ---------------------------------------------------------
def test_cancel_needs_csrf_and_a_reason_then_shows_in_history(
    morgan: TestClient, engine: Engine
) -> None:
    instance = started(engine)
    page = _instance_page(morgan, instance)
    before = engine.show(instance)
    no_csrf = morgan.post(f"/ops/instances/{instance}/cancel", data={"reason": "dup"})
    assert no_csrf.status_code == 403
    no_reason = morgan.post(
        f"/ops/instances/{instance}/cancel", data={"csrf": csrf_of(page), "reason": "  "}
    )
    assert no_reason.status_code == 400
    assert "needs a reason" in _refusal(no_reason.text, "ops:cancel")
    assert engine.show(instance) == before
    assert len(engine.history(instance)) == len(engine.history(instance))  # nothing appended
    done = morgan.post(
        f"/ops/instances/{instance}/cancel",
        data={"csrf": csrf_of(page), "reason": "duplicate of FR-1000"},
    )
    assert done.status_code == 303
    assert engine.show(instance).state == "Cancelled"
    after = _instance_page(morgan, instance)
    assert re.search(r"intervention\s*<code>cancel</code>", after)
    assert "duplicate of FR-1000" in after  # the reason is in the history
    assert engine.verify(instance).problems == ()
    again = morgan.post(
        f"/ops/instances/{instance}/cancel", data={"csrf": csrf_of(page), "reason": "again"}
    )
    assert again.status_code == 409
    assert "closed already" in _refusal(again.text, "ops:cancel")


def test_correcting_a_field_is_validated_and_escaped(morgan: TestClient, engine: Engine) -> None:
    instance = started(engine, client=SCRIPT)
    page = _instance_page(morgan, instance)
    assert SCRIPT not in page
    assert "&lt;script&gt;" in page
    assert 'name="field.client"' in page
    before = engine.show(instance)
    bad = morgan.post(
        f"/ops/instances/{instance}/set",
        data={
            "csrf": csrf_of(page),
            "reason": "typo",
            "field.client": SCRIPT,
            "field.client_email": "not an address",
        },
    )
    assert bad.status_code == 400
    assert "client_email" in _refusal(bad.text, "ops:set")
    assert SCRIPT not in bad.text
    assert engine.show(instance) == before
    nothing = morgan.post(
        f"/ops/instances/{instance}/set",
        data={"csrf": csrf_of(page), "reason": "typo", "field.client": SCRIPT},
    )
    assert nothing.status_code == 400
    assert "nothing differs" in _refusal(nothing.text, "ops:set")
    good = morgan.post(
        f"/ops/instances/{instance}/set",
        data={
            "csrf": csrf_of(page),
            "reason": "the client wrote the address wrong",
            "field.client": SCRIPT,
            "field.client_email": "owner@acme.test",
        },
    )
    assert good.status_code == 303
    shown = engine.show(instance)
    assert (shown.data["client_email"], shown.data["client"]) == ("owner@acme.test", SCRIPT)
    last = engine.history(instance)[-1]
    assert (last.kind, last.actor, last.trigger) == ("intervention", "morgan", "set")
    assert last.detail["after"] == {"client_email": "owner@acme.test"}
    after = _instance_page(morgan, instance)
    assert SCRIPT not in after and "owner@acme.test" in after


def test_move_refuses_an_unknown_state_and_moves_to_a_known_one(
    morgan: TestClient, engine: Engine
) -> None:
    instance = started(engine)
    page = _instance_page(morgan, instance)
    assert '<select name="dest"' in page
    bad = morgan.post(
        f"/ops/instances/{instance}/move",
        data={"csrf": csrf_of(page), "reason": "stuck", "dest": "escalatd"},
    )
    assert bad.status_code == 400
    assert "did you mean" in _refusal(bad.text, "ops:move")
    assert engine.show(instance).state == "in_progress"
    good = morgan.post(
        f"/ops/instances/{instance}/move",
        data={"csrf": csrf_of(page), "reason": "the call was made by phone", "dest": "escalated"},
    )
    assert good.status_code == 303
    assert engine.show(instance).state == "escalated"
    assert engine.verify(instance).problems == ()


def test_retry_and_drop_a_failed_message_from_the_instance_page(
    morgan: TestClient, engine: Engine
) -> None:
    instance = started(engine)
    engine.fire(instance, "log_call", {"outcome": "no_answer"}, actor="sam")
    message = next(m for m in engine.outbox("pending") if m.instance == instance)
    with engine.store.transaction() as tx:
        tx.update_outbox(replace(message, status="failed", error="550 no such user", attempts=5))
    page = _instance_page(morgan, instance)
    assert f'action="/ops/messages/{message.id}/retry"' in page
    no_reason = morgan.post(
        f"/ops/messages/{message.id}/retry", data={"csrf": csrf_of(page), "reason": ""}
    )
    assert no_reason.status_code == 400
    assert "needs a reason" in _refusal(no_reason.text, f"ops:retry:{message.id}")
    retried = morgan.post(
        f"/ops/messages/{message.id}/retry",
        data={"csrf": csrf_of(page), "reason": "address fixed"},
    )
    assert retried.status_code == 303
    assert [m.status for m in engine.outbox() if m.id == message.id] == ["pending"]
    dropped = morgan.post(
        f"/ops/messages/{message.id}/drop", data={"csrf": csrf_of(page), "reason": "client left"}
    )
    assert dropped.status_code == 303
    assert [m.status for m in engine.outbox() if m.id == message.id] == ["dropped"]
    assert [e.trigger for e in engine.history(instance)][-2:] == ["retry", "drop"]


# --- bulk -------------------------------------------------------------------------------------
def test_bulk_cancel_previews_then_confirms(morgan: TestClient, engine: Engine) -> None:
    ids = [started(engine, client=f"Client {n}") for n in range(3)]
    search = {"process": "facebook_access", "open": "open", "where": 'client != "Client 0"'}
    page = morgan.get("/ops", params=search).text
    missing = morgan.post(
        "/ops/bulk", data={**search, "csrf": csrf_of(page), "action": "cancel", "reason": ""}
    )
    assert missing.status_code == 400
    assert "needs a reason" in _refusal(missing.text, "bulk")
    preview = morgan.post(
        "/ops/bulk",
        data={**search, "csrf": csrf_of(page), "action": "cancel", "reason": "client left"},
    )
    assert preview.status_code == 200
    assert "Nothing has been stored yet: 2 would change" in preview.text
    assert all(engine.show(i).state == "in_progress" for i in ids)
    confirm = re.search(
        r'<form method="post" action="/ops/bulk" class="confirm">(.*?)</form>', preview.text, re.S
    )
    assert confirm
    posted = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', confirm.group(1)))
    posted = {k: v.replace("&#34;", '"').replace("&quot;", '"') for k, v in posted.items()}
    assert posted["confirm"] == "yes" and set(posted["ids"].split()) == set(ids[1:])
    engine.cancel(ids[2], reason="done by someone else meanwhile", actor="morgan")
    done = morgan.post("/ops/bulk", data=posted)
    assert done.status_code == 200
    assert "Done 1, refused 1" in done.text
    assert "no longer matches the search" in done.text
    assert [engine.show(i).state for i in ids] == ["in_progress", "Cancelled", "Cancelled"]
    assert engine.history(ids[1])[-1].detail["reason"] == "client left"


def test_bulk_set_checks_the_value_per_instance(morgan: TestClient, engine: Engine) -> None:
    instance = started(engine)
    search = {"process": "facebook_access", "open": "open"}
    page = morgan.get("/ops", params=search).text
    preview = morgan.post(
        "/ops/bulk",
        data={
            **search,
            "csrf": csrf_of(page),
            "action": "set",
            "field": "client_email",
            "value": "nope",
            "reason": "fix",
        },
    )
    assert preview.status_code == 200
    assert "0 would change, 1 would be refused" in preview.text
    assert 'class="confirm"' not in preview.text
    assert engine.show(instance).data["client_email"] == "owner@acme.example"


# --- migrate and stats ------------------------------------------------------------------------
def test_migrate_page_dry_run_and_a_bad_map(morgan: TestClient, engine: Engine) -> None:
    started(engine)
    page = morgan.get("/ops/migrate").text
    dry = morgan.post(
        "/ops/migrate", data={"csrf": csrf_of(page), "process": "facebook_access", "to": "1"}
    )
    assert dry.status_code == 200
    assert "No open instance is on another version" in dry.text
    bad = morgan.post(
        "/ops/migrate",
        data={"csrf": csrf_of(page), "process": "facebook_access", "to": "1", "map": "nowhere"},
    )
    assert bad.status_code == 400
    assert "OLD=NEW" in _refusal(bad.text, "migrate")
    unknown = morgan.post(
        "/ops/migrate", data={"csrf": csrf_of(page), "process": "facebook_access", "to": "9"}
    )
    assert unknown.status_code == 404
    assert "has no version 9" in _refusal(unknown.text, "migrate")


def test_stats_page_shows_the_figures(morgan: TestClient, engine: Engine) -> None:
    instance = started(engine)
    engine.cancel(instance, reason="dup", actor="morgan")
    page = morgan.get("/ops/stats", params={"process": "facebook_access"})
    assert page.status_code == 200
    assert "facebook_access: 1 instance(s)" in page.text
    assert re.search(r"<th><code>Cancelled</code></th><td class=\"num\">1</td>", page.text)
    assert re.search(r"<th>cancel</th><td class=\"num\">1</td>", page.text)


# --- the JSON API -----------------------------------------------------------------------------
def test_api_interventions_refusals_and_bulk(client: TestClient, engine: Engine) -> None:
    instance = started(engine)
    operator, worker = token(engine, "morgan"), token(engine, "sam")
    refused = client.post(f"/api/instances/{instance}/cancel", json={"reason": "x"}, headers=worker)
    assert refused.status_code == 403
    no_reason = client.post(f"/api/instances/{instance}/cancel", json={}, headers=operator)
    assert no_reason.status_code == 400 and "needs a reason" in no_reason.json()["error"]
    bad_set = client.post(
        f"/api/instances/{instance}/set",
        json={"data": {"client_email": "nope"}, "reason": "fix"},
        headers=operator,
    )
    assert bad_set.status_code == 400
    moved = client.post(
        f"/api/instances/{instance}/move",
        json={"state": "escalated", "reason": "by phone"},
        headers=operator,
    )
    assert moved.status_code == 200 and moved.json()["state"] == "escalated"
    preview = client.post(
        "/api/bulk/cancel",
        json={
            "search": {"process": "facebook_access", "open": True},
            "reason": "r",
            "dry_run": True,
        },
        headers=operator,
    )
    assert preview.status_code == 200
    assert (preview.json()["dry_run"], preview.json()["done"]) == (True, 1)
    assert engine.show(instance).state == "escalated"
    assert (
        client.post(
            "/api/bulk/cancel", json={"search": {}, "reason": "r"}, headers=worker
        ).status_code
        == 403
    )
    stats = client.get("/api/processes/facebook_access/stats", headers=operator)
    assert stats.status_code == 200 and stats.json()["interventions"] == {"move": 1}
    migrate = client.post(
        "/api/processes/facebook_access/migrate",
        json={"to": 1, "dry_run": True},
        headers=operator,
    )
    assert migrate.status_code == 200 and migrate.json() == []
    cancelled = client.post(
        f"/api/instances/{instance}/cancel", json={"reason": "dup"}, headers=operator
    )
    assert cancelled.status_code == 200 and cancelled.json()["closure_reason"] == "Cancelled"
    assert (
        client.post(
            f"/api/instances/{instance}/cancel", json={"reason": "dup"}, headers=operator
        ).status_code
        == 409
    )


def test_migrate_a_v1_instance_to_v2_dry_run_then_apply(
    tmp_path: Path, clock: ManualClock, config: WebConfig
) -> None:
    """Running v1 work beside a v2 that renames `escalated`: the dry run says which can move
    and why not, stores nothing; the confirm step moves them, recorded in history."""
    folder = tmp_path / "processes"
    folder.mkdir()
    text = (PROCESSES / "facebook_access.yaml").read_text()
    (folder / "facebook_access.yaml").write_text(text)
    store = SQLiteStore(tmp_path / "m.db")
    v1 = make_engine_in(folder, store, clock)
    plain = started(v1)
    stuck = started(v1)
    while v1.show(stuck).state != "escalated":
        v1.fire(stuck, "log_call", {"outcome": "no_answer"}, actor="sam")
    (folder / "facebook_access_v2.yaml").write_text(version_2(text))
    engine = make_engine_in(folder, store, clock)
    Credentials(engine.store, clock, engine.people).set_password("morgan", PASSWORD)  # type: ignore[arg-type]
    client = TestClient(create_app(engine, config), follow_redirects=False)
    sign_in(client, "morgan")
    # the search offers the states of every version, and finds v1 work in a state v2 lacks
    found = client.get("/ops", params={"process": "facebook_access", "state": "escalated"})
    assert found.status_code == 200, found.text
    assert '<option value="escalated" selected' in found.text
    assert re.findall(r'<td><a href="/instances/([^"]+)">', found.text) == [stuck]
    page = client.get("/ops/migrate").text
    form = {"csrf": csrf_of(page), "process": "facebook_access", "to": "2"}
    dry = client.post("/ops/migrate", data=form)
    assert dry.status_code == 200
    assert "1 of 2 open instance(s) can move; nothing has been stored" in dry.text
    assert "state &#39;escalated&#39; is not in version 2" in dry.text
    assert {engine.show(i).version for i in (plain, stuck)} == {1}
    mapped = {**form, "map": "escalated=awaiting_cancellation", "reason": "v2 fixes the cadence"}
    dry = client.post("/ops/migrate", data=mapped)
    assert "2 of 2 open instance(s) can move" in dry.text
    confirm = re.search(
        r'<form method="post" action="/ops/migrate" class="confirm">(.*?)</form>', dry.text, re.S
    )
    assert confirm
    posted = {
        k: unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', confirm.group(1))
    }
    assert posted["confirm"] == "yes"
    done = client.post("/ops/migrate", data=posted)
    assert done.status_code == 200
    assert "2 moved, 0 stay on their version" in done.text
    assert (engine.show(plain).version, engine.show(stuck).state) == (2, "awaiting_cancellation")
    event = engine.history(stuck)[-1]
    assert (event.kind, event.actor, event.detail["reason"]) == (
        "migration",
        "morgan",
        "v2 fixes the cadence",
    )
    assert engine.verify().problems == ()
    store.close()


def test_cancelling_a_request_from_its_page_cancels_its_tasks(
    morgan: TestClient, engine: Engine
) -> None:
    request = engine.start("facebook_fulfilment", START, actor="alex").id
    tasks = [c.id for c in engine.show(request).children]
    page = _instance_page(morgan, request)
    assert f"its {len(tasks)} open task(s) are cancelled with it" in page
    assert "counts as failed: the request's rules decide" in _instance_page(morgan, tasks[0])
    done = morgan.post(
        f"/ops/instances/{request}/cancel",
        data={"csrf": csrf_of(page), "reason": "the client withdrew"},
    )
    assert done.status_code == 303
    assert {engine.show(t).state for t in [request, *tasks]} == {"Cancelled"}
    task_page = _instance_page(morgan, tasks[-1])
    assert "counts as failed: the request" not in task_page  # closed: no cancel form
    assert f"its request &#39;{request}&#39; was cancelled: the client withdrew" in task_page
    assert engine.verify().problems == ()


def test_bulk_move_and_an_api_bulk_without_reason(morgan: TestClient, engine: Engine) -> None:
    ids = [started(engine, client=f"Client {n}") for n in range(2)]
    search = {"process": "facebook_access", "state": "in_progress"}
    page = morgan.get("/ops", params=search).text
    assert '<select name="dest">' in page
    form = {**search, "csrf": csrf_of(page), "action": "move", "reason": "called by phone"}
    unchosen = morgan.post("/ops/bulk", data=form)
    assert unchosen.status_code == 400
    assert "choose the state" in _refusal(unchosen.text, "bulk")
    preview = morgan.post("/ops/bulk", data={**form, "dest": "escalated"})
    assert "2 would change, 0 would be refused" in preview.text
    ids_field = re.search(r'name="ids" value="([^"]*)"', preview.text)
    assert ids_field and set(ids_field.group(1).split()) == set(ids)
    done = morgan.post(
        "/ops/bulk", data={**form, "dest": "escalated", "ids": ids_field.group(1), "confirm": "yes"}
    )
    assert "Done 2, refused 0" in done.text
    assert {engine.show(i).state for i in ids} == {"escalated"}
    answer = morgan.post(
        "/api/bulk/cancel",
        json={"search": {"process": "facebook_access"}, "reason": " "},
        headers=token(engine, "morgan"),
    )
    assert answer.status_code == 400 and "needs a reason" in answer.json()["error"]
    assert {engine.show(i).state for i in ids} == {"escalated"}
