"""Interventions (cancel, set, move, retry/drop of a message): audited with person, role,
reason and before/after values, replayed by `verify`, refused cleanly on bad input; and their
bulk form over a search, dry run first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.errors import DataError, InstanceClosed, RoleRefused, UsageError
from fulfil.engine.runtime import Engine
from fulfil.engine.runtime.search import SearchRequest
from ops_support import OPS, T0

CLIENT = {"client": "Acme Motors", "client_email": "owner@acme.test"}
OLGA = {"actor": "olga"}  # the operator


def begun(engine: Engine, **data: object) -> str:
    view = engine.start("access", {**CLIENT, **data}, actor="sam", role="ops_specialist")
    engine.fire(view.id, "begin", actor="sam", role="ops_specialist")
    return view.id


def _last(engine: Engine, instance: str):  # type: ignore[no-untyped-def]
    return engine.history(instance)[-1]


def test_cancel_closes_drops_timers_and_messages_and_replays(
    team_engine: Engine, clock: ManualClock
) -> None:
    engine = team_engine
    case = begun(engine)
    engine.fire(case, "log_call", {"outcome": "no_answer"}, actor="sam")
    assert engine.show(case).timers and engine.outbox("pending")
    clock.advance(timedelta(minutes=5))
    view = engine.cancel(case, reason="duplicate of another request", **OLGA)
    shown = view.to_json()
    assert (shown["state"], shown["status"], shown["closure_reason"]) == (
        "Cancelled",
        "Closed",
        "Cancelled",
    )
    assert shown["triggers"] == [] and shown["timers"] == [] and shown["terminal"] is True
    assert engine.outbox("pending") == [] and engine.outbox("dropped")
    event = _last(engine, case)
    assert (event.kind, event.actor, event.role, event.trigger) == (
        "intervention",
        "olga",
        "operator",
        "cancel",
    )
    assert event.detail["reason"] == "duplicate of another request"
    assert event.detail["before"] == {"state": "in_progress"}
    assert event.detail["after"] == {"state": "Cancelled"}
    assert engine.verify(case).problems == ()
    assert engine.verify().problems == ()
    with pytest.raises(InstanceClosed, match="closed already"):
        engine.cancel(case, reason="again", **OLGA)
    clock.advance(timedelta(days=30))
    assert engine.tick() == []  # the cancelled timers never fire
    assert [i.id for i in engine.search(open=False).items] == [case]


def test_set_corrects_values_validated_with_before_and_after(team_engine: Engine) -> None:
    engine = team_engine
    case = begun(engine)
    view = engine.set_fields(
        case, {"client_email": "right@acme.test", "attempt": 2}, reason="typo", **OLGA
    )
    assert view.data["client_email"] == "right@acme.test" and view.data["attempt"] == 2
    event = _last(engine, case)
    assert event.detail["before"] == {"client_email": "owner@acme.test", "attempt": 0}
    assert event.detail["after"] == {"client_email": "right@acme.test", "attempt": 2}
    assert event.data == {"client_email": "right@acme.test", "attempt": 2}
    assert engine.verify(case).problems == ()
    before = len(engine.history(case))
    with pytest.raises(DataError, match="must be"):
        engine.set_fields(case, {"attempt": "many"}, reason="x", **OLGA)
    with pytest.raises(DataError, match="unknown field 'clent'"):
        engine.set_fields(case, {"clent": "x"}, reason="x", **OLGA)
    with pytest.raises(DataError, match="required"):
        engine.set_fields(case, {"client": None}, reason="x", **OLGA)
    with pytest.raises(DataError, match="allowed values"):
        engine.set_fields(case, {"outcome": "maybe"}, reason="x", **OLGA)
    # the same values again: nothing recorded
    engine.set_fields(case, {"attempt": 2}, reason="again", **OLGA)
    assert len(engine.history(case)) == before
    assert engine.show(case).data["attempt"] == 2


def test_move_arms_the_new_states_timers_and_cancels_the_old(
    team_engine: Engine, clock: ManualClock
) -> None:
    engine = team_engine
    created = engine.start("access", CLIENT, **OPS).id
    assert engine.show(created).timers == ()
    moved = engine.move(created, "in_progress", reason="work began by phone", **OLGA)
    assert moved.state == "in_progress"
    assert [t.name for t in moved.timers] == ["next_call_due"]
    assert moved.timers[0].due_at == T0 + timedelta(days=7)
    event = _last(engine, created)
    assert (event.source, event.dest, event.detail["timers"][0]["name"]) == (
        "new",
        "in_progress",
        "next_call_due",
    )
    back = engine.move(created, "new", reason="not begun after all", **OLGA)
    assert back.timers == () and _last(engine, created).detail["timers_cancelled"] == [
        "next_call_due"
    ]
    clock.advance(timedelta(days=8))
    assert engine.tick() == []
    assert engine.verify(created).problems == ()
    with pytest.raises(UsageError, match=r"no state 'in_progres' \(did you mean 'in_progress'"):
        engine.move(created, "in_progres", reason="x", **OLGA)
    with pytest.raises(UsageError, match="already"):
        engine.move(created, "new", reason="x", **OLGA)


def test_bad_input_changes_nothing(team_engine: Engine) -> None:
    engine = team_engine
    case = begun(engine)
    before = engine.history(case)
    for call in (
        lambda: engine.cancel(case, reason="", **OLGA),
        lambda: engine.cancel(case, reason="   ", **OLGA),
        lambda: engine.set_fields(case, {"attempt": 1}, reason=None, **OLGA),  # type: ignore[arg-type]
        lambda: engine.move(case, "closed", reason="", **OLGA),
    ):
        with pytest.raises(UsageError, match="needs a reason"):
            call()
    assert engine.history(case) == before
    # an ops specialist is neither operator nor a manager role: refused, and audited
    with pytest.raises(RoleRefused, match="needs role operator"):
        engine.cancel(case, reason="mine", actor="sam")
    refused = _last(engine, case)
    assert (refused.kind, refused.actor, refused.trigger) == ("refused", "sam", "cancel")
    assert engine.show(case).state == "in_progress"
    with pytest.raises(RoleRefused, match="unknown person"):
        engine.cancel(case, reason="x", actor="nobody")
    assert engine.verify(case).problems == ()


def test_retry_and_drop_a_failed_message(team_engine: Engine) -> None:
    engine = team_engine
    case = begun(engine)
    engine.fire(case, "log_call", {"outcome": "no_answer"}, actor="sam")
    message = engine.outbox("pending")[0]
    assert message.id is not None
    with engine.store.transaction() as tx:
        from dataclasses import replace

        tx.update_outbox(replace(message, status="failed", error="550 no such user", attempts=5))
    with pytest.raises(UsageError, match="needs a reason"):
        engine.retry_message(message.id, reason="", **OLGA)
    again = engine.retry_message(message.id, reason="address fixed", **OLGA)
    assert (again.status, again.attempts, again.error) == ("pending", 0, "")
    event = _last(engine, case)
    assert (event.trigger, event.detail["message"], event.detail["before"]["status"]) == (
        "retry",
        message.id,
        "failed",
    )
    with pytest.raises(UsageError, match="not failed"):
        engine.retry_message(message.id, reason="twice", **OLGA)
    dropped = engine.drop_message(message.id, reason="client left", **OLGA)
    assert dropped.status == "dropped"
    assert engine.verify(case).problems == ()


def test_bulk_dry_run_changes_nothing_then_the_run_does(team_engine: Engine) -> None:
    engine = team_engine
    ids = [begun(engine, client=f"C{n}") for n in range(4)]
    engine.fire(ids[3], "access_obtained", actor="sam")
    search = SearchRequest(process="access", where="client in ['C0', 'C1', 'C3']")
    before = [engine.history(i) for i in ids]
    dry = engine.intervene_many("cancel", search, reason="client left", dry_run=True, **OLGA)
    assert dry.dry_run and (dry.done, dry.refused) == (2, 1)
    changes = {item.instance: item.changes for item in dry.items}
    assert changes[ids[0]] == {"state": ["in_progress", "Cancelled"]}
    assert "closed already" in next(i.error for i in dry.items if i.instance == ids[3])
    assert [engine.history(i) for i in ids] == before  # nothing stored, not even refusals
    done = engine.intervene_many("cancel", search, reason="client left", **OLGA)
    assert (done.done, done.refused) == (2, 1)
    assert [engine.show(i).state for i in ids] == [
        "Cancelled",
        "Cancelled",
        "in_progress",
        "closed",
    ]
    fixed = engine.intervene_many(
        "set",
        SearchRequest(process="access", open=True),
        data={"client_email": "new@acme.test"},
        reason="new address",
        **OLGA,
    )
    assert fixed.done == 1 and engine.show(ids[2]).data["client_email"] == "new@acme.test"
    assert engine.verify().problems == ()
