"""Cancelling a request cancels its open tasks in the same transaction, each with its own
audited event naming the request; cancelling one task is that task ending with the outcome
failed, so the request's own rules decide what follows. On each store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_files, load_text
from fulfil.engine.errors import RoleRefused
from fulfil.engine.runtime import Engine
from fulfil.engine.runtime.search import SearchRequest
from fulfil.engine.store import Store
from ops_support import TEAM

CHILDREN = Path(__file__).parent.parent / "processes" / "children"
SAM = {"actor": "sam", "role": "ops_specialist"}
OLGA = {"actor": "olga"}  # the operator
TASKS = ("send_outreach_email", "create_leadsie_link", "intake_call", "obtain_access")


@pytest.fixture
def engine(store: Store, clock: ManualClock, tmp_path: Path) -> Engine:
    paths = sorted(CHILDREN.glob("*.yaml"))
    processes = load_files(paths, known_processes=[p.stem for p in paths]).processes
    return Engine(
        Catalog(processes), store=store, clock=clock, sheets_dir=tmp_path / "s", people=TEAM
    )


def _request(engine: Engine, id: str = "r1") -> str:
    data = {"client": "Acme", "account_manager": "am@acme.test"}
    engine.start("pdm_request", data, id=id, actor="sam")
    return id


def _states(engine: Engine, request: str) -> dict[str, str]:
    return {task: engine.show(f"{request}.{task}").state for task in TASKS}


def _pending_timers(store: Store, request: str) -> list[str]:
    with store.transaction(write=False) as tx:
        ids = [request, *(f"{request}.{t}" for t in TASKS)]
        return [timer.name for i in ids for timer in tx.timers(i)]


def test_cancelling_a_request_cancels_its_open_tasks_each_audited(
    engine: Engine, store: Store, clock: ManualClock
) -> None:
    request = _request(engine)
    engine.fire(f"{request}.intake_call", "complete", **SAM)  # releases obtain_access
    engine.fire(f"{request}.send_outreach_email", "begin", **SAM)
    assert _pending_timers(store, request)  # nudges of the released tasks
    clock.advance(timedelta(hours=1))

    view = engine.cancel(request, reason="the client withdrew", **OLGA)

    assert view.state == "Cancelled"
    assert _states(engine, request) == {
        "send_outreach_email": "Cancelled",
        "create_leadsie_link": "Cancelled",
        "intake_call": "closed",  # ended before: left as it ended
        "obtain_access": "Cancelled",
    }
    parent_event = engine.history(request)[-1]
    assert (parent_event.kind, parent_event.trigger, parent_event.actor) == (
        "intervention",
        "cancel",
        "olga",
    )
    assert sorted(parent_event.detail["tasks_cancelled"]) == sorted(
        f"{request}.{t}" for t in ("send_outreach_email", "create_leadsie_link", "obtain_access")
    )
    task_event = engine.history(f"{request}.obtain_access")[-1]
    assert (task_event.kind, task_event.actor, task_event.role) == (
        "intervention",
        "olga",
        "operator",
    )
    assert task_event.detail["request"] == request
    assert (
        task_event.detail["reason"] == f"its request '{request}' was cancelled: the client withdrew"
    )
    assert task_event.detail["timers_cancelled"] == ["nudge"]
    assert engine.history(f"{request}.intake_call")[-1].kind != "intervention"
    # the request's rules did not run for the tasks it took down with it
    assert [e.kind for e in engine.history(request)].count("rule") == 0
    assert _pending_timers(store, request) == []
    clock.advance(timedelta(days=30))
    assert engine.tick() == []
    assert engine.verify().problems == ()


def test_a_waiting_task_is_cancelled_with_its_request(engine: Engine) -> None:
    request = _request(engine)
    assert engine.show(f"{request}.obtain_access").waiting_on == ("intake_call",)
    engine.cancel(request, reason="opened twice", **OLGA)
    assert set(_states(engine, request).values()) == {"Cancelled"}
    assert engine.verify().problems == ()


def test_a_refused_or_dry_run_cancel_leaves_every_task_as_it_was(engine: Engine) -> None:
    request = _request(engine)
    before = _states(engine, request)
    with pytest.raises(RoleRefused):
        engine.cancel(request, reason="not mine to cancel", **SAM)
    assert _states(engine, request) == before
    report = engine.intervene_many(
        "cancel",
        SearchRequest(process="pdm_request", open=True),
        reason="clean-up",
        dry_run=True,
        **OLGA,
    )
    changes = report.items[0].changes
    assert (report.done, changes["state"]) == (1, ["in_progress", "Cancelled"])
    assert changes[f"task {request}.obtain_access"] == ["new", "Cancelled"]  # the preview says
    assert f"task {request}.intake_call" in changes
    assert engine.show(request).state == "in_progress"
    assert _states(engine, request) == before
    assert [e.kind for e in engine.history(f"{request}.intake_call")] == ["start"]


def test_cancelling_one_task_runs_its_requests_rules_as_a_failure(engine: Engine) -> None:
    """The indicator task cancelled: its request's `failed(obtain_access)` rule closes the
    other tasks and the request is not fulfilled (its `any_failed` rule then meets a closed
    request, and is skipped as the rules of a failed task are)."""
    request = _request(engine)
    engine.fire(f"{request}.intake_call", "complete", **SAM)
    engine.cancel(f"{request}.obtain_access", reason="wrong client", **OLGA)
    shown = engine.show(request)
    assert shown.state == "not_fulfilled"
    assert _states(engine, request) == {
        "send_outreach_email": "closed",
        "create_leadsie_link": "closed",
        "intake_call": "closed",
        "obtain_access": "Cancelled",
    }
    rules = [e.detail for e in engine.history(request) if e.kind == "rule"]
    assert [(r["rule"], r["by"]) for r in rules] == [
        ("failed(obtain_access)", f"{request}.obtain_access"),
        ("any_failed", f"{request}.obtain_access"),
    ]
    assert engine.verify().problems == ()


def test_cancelling_a_task_whose_request_has_no_rule_for_it_leaves_the_request_open(
    engine: Engine,
) -> None:
    request = _request(engine)
    engine.cancel(f"{request}.send_outreach_email", reason="sent by hand", **OLGA)
    shown = engine.show(request)
    # any_failed counted it; nothing else in the request's rules concerns that task
    assert (shown.state, shown.data["failures"]) == ("in_progress", 1)
    assert _states(engine, request)["intake_call"] == "new"
    assert engine.verify().problems == ()


def _nested(levels: int) -> Catalog:
    """A request of a request of ... `levels` deep; each closes when its one task ends."""
    texts = []
    for level in range(levels):
        task = f"tasks: {{inner: {{process: level{level + 1}}}}}\n" if level < levels - 1 else ""
        rules = "rules: [{when: all_completed, fire: [{target: parent, trigger: finish}]}]\n"
        texts.append(
            f"id: level{level}\nversion: 1\n"
            "states: {open: {initial: true}, done: {terminal: true}}\n"
            "transitions: [{trigger: finish, source: open, dest: done}]\n"
            + (task + rules if task else "")
        )
    return Catalog(tuple(load_text(t, f"level{i}.yaml").process for i, t in enumerate(texts)))


def test_cancelling_a_request_takes_down_the_tasks_of_its_nested_requests(
    store: Store, clock: ManualClock
) -> None:
    engine = Engine(_nested(3), store=store, clock=clock)
    engine.start("level0", id="n")
    engine.cancel("n", reason="the client left")
    assert [engine.show(i).state for i in ("n", "n.inner", "n.inner.inner")] == ["Cancelled"] * 3
    inner, leaf = engine.history("n.inner")[-1], engine.history("n.inner.inner")[-1]
    assert (inner.detail["request"], leaf.detail["request"]) == ("n", "n.inner")
    assert inner.detail["tasks_cancelled"] == ["n.inner.inner"]
    assert leaf.detail["reason"] == (
        "its request 'n.inner' was cancelled: its request 'n' was cancelled: the client left"
    )
    assert engine.verify().problems == ()


def test_a_cancelled_last_task_ends_its_request_by_all_completed(
    store: Store, clock: ManualClock
) -> None:
    engine = Engine(_nested(3), store=store, clock=clock)
    engine.start("level0", id="n")
    engine.cancel("n.inner.inner", reason="not needed")
    assert [engine.show(i).state for i in ("n", "n.inner", "n.inner.inner")] == [
        "done",
        "done",
        "Cancelled",
    ]
    assert engine.verify().problems == ()
