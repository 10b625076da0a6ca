"""Engine behaviour: a whole flow, the data checks, every refusal, and what refusals store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fulfil.engine.errors import (
    DataError,
    GuardRefused,
    InstanceClosed,
    NotFound,
    RequirementMissing,
    RoleRefused,
    TriggerNotAllowed,
    UsageError,
)
from fulfil.engine.runtime import Engine
from fulfil.engine.store import Store
from runtime_support import CLIENT, OPS, T0


def snapshot(store: Store, instance_id: str) -> tuple[object, ...]:
    with store.transaction(write=False) as tx:
        return (
            tx.get_instance(instance_id),
            tx.events(instance_id),
            tx.timers(instance_id),
            tx.outbox(),
            tx.sheet_rows("calls"),
        )


def started(engine: Engine) -> str:
    view = engine.start("access", {**CLIENT, "account_manager": "am@acme.test"})
    engine.fire(view.id, "begin", **OPS)
    return view.id


def test_full_flow(engine: Engine, tmp_path: Path) -> None:
    """start -> begin -> log_call -> access_obtained: state, data, outbox, sheet, history."""
    view = engine.start("access", {**CLIENT, "account_manager": "am@acme.test"})
    assert (view.id, view.state, view.status, view.triggers) == (
        "access-1",
        "new",
        "New",
        ("begin",),
    )
    engine.fire(view.id, "begin", **OPS)
    after = engine.fire(view.id, "log_call", {"outcome": "no_answer"}, **OPS)
    assert after.data["attempt"] == 1
    assert after.data["log"] == "2026-03-02: Call 1: no_answer"
    [message] = engine.outbox()
    assert message.to == ("owner@acme.test",)
    assert message.cc == ("csm@example.com", "am@acme.test")  # ops_lead: no address, open mode
    assert message.subject == "Email 1 for Acme Motors"
    assert (tmp_path / "sheets" / "calls.csv").read_text().splitlines() == [
        "Client,Attempt",
        "Acme Motors,1",
    ]
    done = engine.fire(view.id, "access_obtained", **OPS)
    assert (done.status, done.closure_reason, done.triggers, done.timers) == (
        "Closed",
        "Complete",
        (),
        (),
    )
    kinds = [(e.kind, e.trigger, e.source, e.dest) for e in engine.history(view.id)]
    assert kinds == [
        ("start", None, None, "new"),
        ("transition", "begin", "new", "in_progress"),
        ("transition", "log_call", "in_progress", "in_progress"),
        ("activity", "log_call", None, None),
        ("notification", "log_call", None, None),
        ("transition", "access_obtained", "in_progress", "closed"),
    ]
    assert engine.history(view.id)[2].data == {
        "attempt": 1,
        "outcome": "no_answer",
        "log": "2026-03-02: Call 1: no_answer",
    }
    assert engine.verify().ok


def test_start_checks_data(engine: Engine) -> None:
    """start refuses missing required fields, unknown fields and wrong types; coerces dates."""
    with pytest.raises(DataError, match="missing required fields client, client_email"):
        engine.start("access", {})
    with pytest.raises(DataError, match="did you mean 'client'"):
        engine.start("access", {**CLIENT, "cliant": "x"})
    with pytest.raises(DataError, match="'attempt' must be an integer, got 'three'"):
        engine.start("access", {**CLIENT, "attempt": "three"})
    with pytest.raises(DataError, match="ISO date"):
        engine.start("access", {**CLIENT, "effective_date": "03/01/2026"})
    view = engine.start("access", {**CLIENT, "effective_date": "2026-04-01"}, id="mine")
    assert view.id == "mine" and view.data["effective_date"] == date(2026, 4, 1)
    assert view.data["attempt"] == 0
    with pytest.raises(UsageError, match="already exists"):
        engine.start("access", CLIENT, id="mine")


def test_unknown_process_and_instance(engine: Engine) -> None:
    """Unknown process and unknown instance are NotFound with a helpful message."""
    with pytest.raises(NotFound, match="did you mean 'access'"):
        engine.start("acess", CLIENT)
    with pytest.raises(NotFound, match="no instance 'ghost'"):
        engine.fire("ghost", "begin", **OPS)


@pytest.mark.parametrize(
    ("trigger", "data", "who", "error", "message"),
    [
        (
            "begin",
            None,
            OPS,
            TriggerNotAllowed,
            "'begin' cannot fire in state 'in_progress'; allowed now: log_call",
        ),
        ("acess_obtained", None, OPS, TriggerNotAllowed, "did you mean 'access_obtained'"),
        (
            "log_call",
            {"outcome": "reached"},
            OPS,
            GuardRefused,
            "guard `outcome != 'reached'` is false",
        ),
        ("log_call", {"outcome": "busy"}, OPS, DataError, "allowed values: reached, no_answer"),
        ("log_call", {"outcom": "x"}, OPS, DataError, "did you mean 'outcome'"),
        (
            "access_not_obtained",
            None,
            OPS,
            RequirementMissing,
            "requires field 'actions_taken' to be set$",
        ),
    ],
)
def test_refusals_store_nothing(
    engine: Engine,
    store: Store,
    trigger: str,
    data: dict[str, str] | None,
    who: dict[str, str],
    error: type[Exception],
    message: str,
) -> None:
    """Each refused fire raises its error with a clear message and stores nothing at all."""
    instance = started(engine)
    before = snapshot(store, instance)
    with pytest.raises(error, match=message):
        engine.fire(instance, trigger, data, **who)
    assert snapshot(store, instance) == before


def test_requires_accepts_the_field_in_the_same_call(engine: Engine) -> None:
    """A `requires` field given in the fire's data satisfies it."""
    instance = started(engine)
    view = engine.fire(instance, "access_not_obtained", {"actions_taken": "no reply"}, **OPS)
    assert (view.status, view.closure_reason) == ("On Hold", "Complete")


def test_closed_instance_refuses(engine: Engine, store: Store) -> None:
    """Nothing fires on a closed instance, and the refusal stores nothing."""
    instance = started(engine)
    engine.fire(instance, "access_obtained", **OPS)
    before = snapshot(store, instance)
    with pytest.raises(InstanceClosed, match="closed \\(Closed / Complete\\)"):
        engine.fire(instance, "log_call", {"outcome": "no_answer"}, **OPS)
    assert snapshot(store, instance) == before


def test_role_refusal_is_audited_and_changes_nothing_else(engine: Engine, store: Store) -> None:
    """A refused role raises RoleRefused and adds one `refused` event; state and data stay."""
    instance = started(engine)
    before = engine.show(instance)
    with pytest.raises(
        RoleRefused,
        match="role 'account_manager' may not fire 'access_obtained'; allowed: ops_specialist",
    ):
        engine.fire(instance, "access_obtained", actor="ann", role="account_manager")
    after = engine.show(instance)
    assert (after.state, after.data, after.timers) == (before.state, before.data, before.timers)
    last = engine.history(instance)[-1]
    assert (last.kind, last.actor, last.role, last.trigger) == (
        "refused",
        "ann",
        "account_manager",
        "access_obtained",
    )
    assert "may not fire" in last.detail["error"]
    assert engine.verify(instance).ok


def test_role_missing_or_unknown(engine: Engine) -> None:
    """No role on a restricted trigger, or a role the process lacks, is refused with a hint."""
    instance = started(engine)
    with pytest.raises(RoleRefused, match=r"name the role you act in$") as refused:
        engine.fire(instance, "access_obtained")
    assert refused.value.details["roles"] == ["ops_specialist"]
    assert "role" not in refused.value.details  # none was named: each surface says how
    with pytest.raises(RoleRefused, match="did you mean 'ops_specialist'"):
        engine.fire(instance, "access_obtained", actor="x", role="ops_specialst")


def test_queue_ready_and_in_progress(engine: Engine, clock: object) -> None:
    """queue: new work is ready; begun work is in progress, least recently worked first."""
    from datetime import timedelta

    from fulfil.engine.clock import ManualClock

    assert isinstance(clock, ManualClock)
    first = started(engine)
    clock.advance(timedelta(hours=1))
    second = started(engine)
    clock.advance(timedelta(hours=1))
    fresh = engine.start("access", CLIENT).id
    engine.fire(first, "log_call", {"outcome": "no_answer"}, **OPS)  # first is now the freshest
    queue = engine.queue("ops")
    assert [i.id for i in queue.ready] == [fresh]
    assert [i.id for i in queue.in_progress] == [second, first]
    with pytest.raises(NotFound, match="no queue 'elsewhere'; the processes' queues: ops"):
        engine.queue("elsewhere")  # a misspelt queue is not an empty one


def test_show_json_keys(engine: Engine) -> None:
    """show's JSON has every key of the CLI contract."""
    instance = started(engine)
    shown = engine.show(instance).to_json()
    for key in (
        "id",
        "process",
        "version",
        "state",
        "status",
        "closure_reason",
        "data",
        "triggers",
        "timers",
        "parent",
        "children",
        "created_at",
        "updated_at",
    ):
        assert key in shown
    assert shown["timers"][0] == {
        "name": "next_call_due",
        "trigger": "remind",
        "due_at": "2026-03-09T09:00:00+00:00",
    }
    assert shown["created_at"] == T0.isoformat()


def test_a_step_dated_before_the_last_change_is_refused(
    catalog: object, store: Store, tmp_path: Path
) -> None:
    """A clock behind the instance's last change (a stale --now) is refused; nothing stored."""
    from datetime import timedelta

    from fulfil.engine.clock import ManualClock
    from fulfil.engine.definition.loader import Catalog
    from fulfil.engine.errors import ClockError

    assert isinstance(catalog, Catalog)
    later = Engine(catalog, store=store, clock=ManualClock(T0 + timedelta(days=30)))
    instance = later.start("access", dict(CLIENT)).id
    earlier = Engine(catalog, store=store, clock=ManualClock(T0), sheets_dir=tmp_path)
    before = snapshot(store, instance)
    with pytest.raises(ClockError, match="cannot go back in time"):
        earlier.fire(instance, "begin", **OPS)
    assert snapshot(store, instance) == before
