"""The pages: fire with a form, refusals beside it, history, roles, stale forms, escaping,
overdue badges, the process page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fulfil.engine.clock import ManualClock
from fulfil.engine.runtime import Engine
from web_support import csrf_of, sign_in, started


def _page(client: TestClient, instance: str) -> str:
    page = client.get(f"/instances/{instance}")
    assert page.status_code == 200, page.text
    return page.text


def test_fire_log_call_with_the_form(client: TestClient, engine: Engine) -> None:
    """The form's select posts the outcome; the step is stored as Sam and shows in history."""
    instance = started(engine)
    sign_in(client)
    page = _page(client, instance)
    assert re.search(r'<select name="outcome"[^>]*>\s*<option value="">', page)
    response = client.post(
        f"/instances/{instance}/fire",
        data={
            "trigger": "log_call",
            "outcome": "no_answer",
            "csrf": csrf_of(page),
            "rev": str(engine.show(instance).rev),
        },
    )
    assert response.status_code == 303
    assert engine.show(instance).state == "waiting_next_call"
    last = engine.history(instance)[-1]
    assert (last.actor, last.role, last.trigger) == ("sam", "ops_specialist", "log_call")
    after = _page(client, instance)
    assert "Call 1: no_answer" in after  # the fields and the history show the step
    assert "next_call_due" in after  # the pending timer


def test_refusal_beside_the_form_and_nothing_stored(client: TestClient, engine: Engine) -> None:
    """access_not_obtained without Actions Taken: the engine's message beside that form, 400,
    the instance unchanged."""
    instance = started(engine)
    sign_in(client)
    page = _page(client, instance)
    before = engine.show(instance)
    response = client.post(
        f"/instances/{instance}/fire",
        data={
            "trigger": "access_not_obtained",
            "actions_taken": "",
            "csrf": csrf_of(page),
            "rev": str(before.rev),
        },
    )
    assert response.status_code == 400
    refusal = re.search(
        r'data-trigger="access_not_obtained".*?<p class="refusal" role="alert" '
        r'data-for="access_not_obtained">([^<]*)</p>',
        response.text,
        re.S,
    )
    assert refusal and "actions_taken" in refusal.group(1)
    assert "--data" not in refusal.group(1)  # the command line's way to give it, not the form's
    assert engine.show(instance) == before
    assert len(engine.history(instance)) == 2


def test_without_the_role_no_button_and_a_forged_post_is_refused(
    client: TestClient, engine: Engine
) -> None:
    """Alex (account manager) sees no log_call button; posting it anyway is 403 and audited."""
    instance = started(engine)
    sign_in(client, "alex")
    page = _page(client, instance)
    assert 'value="log_call"' not in page
    assert 'value="escalate_priority"' in page  # alex's own trigger
    response = client.post(
        f"/instances/{instance}/fire",
        data={"trigger": "log_call", "outcome": "reached", "csrf": csrf_of(page)},
    )
    assert response.status_code == 403
    assert engine.show(instance).state == "in_progress"
    refused = engine.history(instance)[-1]
    assert (refused.kind, refused.actor, refused.trigger) == ("refused", "alex", "log_call")
    assert "refused" in _page(client, instance)


def test_a_stale_form_is_a_conflict_and_stores_nothing(client: TestClient, engine: Engine) -> None:
    """A form opened before someone else moved the instance on is refused 409."""
    instance = started(engine)
    sign_in(client)
    page = _page(client, instance)
    rev = engine.show(instance).rev
    engine.fire(instance, "budget_to_google", {"client_wish": "Google"}, actor="nina")
    moved = engine.show(instance)
    response = client.post(
        f"/instances/{instance}/fire",
        data={"trigger": "log_call", "outcome": "reached", "csrf": csrf_of(page), "rev": str(rev)},
    )
    assert response.status_code == 409
    assert "moved on" in response.text
    assert engine.show(instance) == moved


def test_stored_text_is_escaped(client: TestClient, engine: Engine) -> None:
    """A client named `<script>` shows as text on every page, never as markup."""
    evil = "<script>alert('x')</script>"
    instance = started(engine, client=evil)
    sign_in(client)
    for url in ("/", f"/instances/{instance}", "/?text=script"):
        text = client.get(url).text
        assert "<script>alert" not in text, url
        assert "&lt;script&gt;alert(" in text, url


def test_worklist_rows_and_overdue_badge(client: TestClient, engine: Engine) -> None:
    """Rows carry the title line (client and FR number), state, status, next due; the badge
    shows once the clock passes the due time."""
    instance = started(engine)
    fresh = engine.start(
        "facebook_access",
        {"client": "Beta Cars", "client_email": "b@beta.example", "fr_number": "FR-2002"},
        actor="alex",
    ).id
    engine.fire(instance, "log_call", {"outcome": "no_answer"}, actor="sam")
    sign_in(client)
    home = client.get("/").text
    ready, progress = home.split('id="progress"')
    assert f'href="/instances/{fresh}"' in ready and "Beta Cars (FR-2002)" in ready
    assert f'href="/instances/{instance}"' in progress and "Acme Motors (FR-1001)" in progress
    assert "waiting_next_call" in progress and "2026-03-09 09:00 UTC" in progress
    assert "Overdue" not in home
    clock = engine.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(days=8))
    assert 'class="badge overdue">Overdue' in client.get("/").text
    assert 'class="badge overdue">Overdue' in client.get(f"/instances/{instance}").text


def test_worklist_filters_and_pages(client: TestClient, engine: Engine) -> None:
    clock = engine.clock
    assert isinstance(clock, ManualClock)
    ids = []
    for n in range(30):
        clock.advance(timedelta(minutes=1))
        ids.append(started(engine, fr_number=f"FR-{n:03}"))
    sign_in(client)
    first = client.get("/?queue=digms_ops").text
    assert all(f'/instances/{i}"' in first for i in ids[:25])
    assert f'/instances/{ids[25]}"' not in first
    link = re.search(r'href="(/\?[^"]*progress_after=[^"]+)"', first)
    assert link
    second = client.get(link.group(1).replace("&amp;", "&")).text
    assert all(f'/instances/{i}"' in second for i in ids[25:])
    found = client.get("/?text=FR-007").text
    assert f'/instances/{ids[7]}"' in found and f'/instances/{ids[8]}"' not in found
    engine.claim(ids[3], actor="nina")
    nina = client.get("/?assignee=nina").text
    assert f'/instances/{ids[3]}"' in nina and f'/instances/{ids[4]}"' not in nina


def test_claim_from_the_page(client: TestClient, engine: Engine) -> None:
    instance = started(engine)
    sign_in(client)
    page = _page(client, instance)
    response = client.post(f"/instances/{instance}/claim", data={"csrf": csrf_of(page)})
    assert response.status_code == 303 and engine.show(instance).assignee == "sam"
    assert "Release" in _page(client, instance)


def test_process_page_counts_and_times(client: TestClient, engine: Engine) -> None:
    clock = engine.clock
    assert isinstance(clock, ManualClock)
    for _ in range(3):
        instance = started(engine)
        clock.advance(timedelta(hours=2))
        engine.fire(instance, "access_obtained", actor="sam")
    started(engine)
    sign_in(client)
    page = client.get("/processes/facebook_access").text
    assert re.search(r"<code>in_progress</code></td><td class=\"num\">1</td>", page)
    assert re.search(r"<code>closed</code></td><td class=\"num\">3</td>", page)
    assert "2h" in page  # the median time in in_progress
    assert "Diagram" in page  # the auditor's section


def test_unknown_things_are_404_pages(client: TestClient) -> None:
    sign_in(client)
    for url in ("/instances/nope-1", "/processes/nope", "/no/such/page", "/?queue=nope"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Not found" in response.text


def test_a_diagram_is_drawn_once_per_definition(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Graphviz runs as a program of its own: pages reuse the drawing of a definition."""
    import fulfil.engine.web.context as app_module

    drawn: list[str] = []
    real = app_module.diagram_html

    def counting(process: Any) -> str:
        made = real(process)
        drawn.append(made)
        return made

    monkeypatch.setattr(app_module, "diagram_html", counting)
    first, second = started(engine), started(engine)
    sign_in(client)
    pages = [_page(client, instance) for instance in (first, second, first)]
    assert len(drawn) == 1
    assert all(drawn[0] in page for page in pages)


def test_page_forms_do_their_engine_work_off_the_event_loop(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Firing and claiming from a page wait on the store (a SQLite lock, up to its busy
    timeout) in a worker thread: on the event loop they would stall every other request."""
    import asyncio

    seen: list[tuple[str, bool]] = []

    def watched(name: str) -> Any:
        real = getattr(engine, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                asyncio.get_running_loop()
                seen.append((name, True))
            except RuntimeError:
                seen.append((name, False))
            return real(*args, **kwargs)

        return call

    instance = started(engine)
    sign_in(client)
    for name in ("fire", "claim"):
        monkeypatch.setattr(engine, name, watched(name))
    page = _page(client, instance)
    claimed = client.post(f"/instances/{instance}/claim", data={"csrf": csrf_of(page)})
    fired = client.post(
        f"/instances/{instance}/fire",
        data={"csrf": csrf_of(_page(client, instance)), "trigger": "access_obtained"},
    )
    assert claimed.status_code == fired.status_code == 303
    assert seen == [("claim", False), ("fire", False)]
