"""Property: whoever fires whatever, a person the directory does not vouch for never changes an
instance, and every change is made by an active person in a role they hold that may fire it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import load_directory
from fulfil.engine.errors import ExecutionError, IdentityRefused, RoleRefused
from fulfil.engine.runtime import Engine
from fulfil.engine.store import open_store
from fulfil.engine.store.base import InstanceRecord
from fulfil.engine.testing.strategies import ACTORS, directories
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_directory(ROOT / "processes")
CLOCK = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PROCESSES = ["facebook_access", "retention", "smm_fulfilment", "mass_comm_escalation"]


@st.composite
def attempts(draw: st.DrawFn) -> tuple[str, str, object, str, str | None, str]:
    process = CATALOG.get(draw(st.sampled_from(PROCESSES)))
    directory = draw(directories(process))
    state = draw(st.sampled_from([s.name for s in process.states if not s.terminal]))
    trigger = draw(st.sampled_from(sorted({t.trigger for t in process.transitions})))
    actor = draw(st.sampled_from([*ACTORS, "p0", "stranger"]))
    role = draw(st.none() | st.sampled_from([r.name for r in process.roles]))
    return process.id, state, directory, actor, role, trigger


@settings(max_examples=150, deadline=None)
@given(attempts())
def test_only_vouched_people_change_instances(
    attempt: tuple[str, str, object, str, str | None, str],
) -> None:
    """An unknown or inactive person, or a role not held, is refused and audited; a change is
    always made by an active holder of a role the fired transition allows (or any declared
    role when it names none)."""
    process_id, state, directory, actor, role, trigger = attempt
    process = CATALOG.get(process_id)
    engine = Engine(
        CATALOG,
        store=open_store("memory://"),
        clock=ManualClock(CLOCK),
        people=directory,  # type: ignore[arg-type]
    )
    with engine.store.transaction() as tx:
        tx.insert_instance(
            InstanceRecord("i1", process.id, process.version, state, {}, CLOCK, CLOCK, CLOCK)
        )
    person = directory.person(actor)  # type: ignore[attr-defined]
    try:
        view = engine.fire("i1", trigger, actor=actor, role=role)
    except IdentityRefused:
        assert engine.show("i1").state == state
        assert [e.kind for e in engine.history("i1")] == ["refused"]
        return
    except RoleRefused:
        assert person is not None and person.active
        assert [e.kind for e in engine.history("i1")] == ["refused"]
        return
    except ExecutionError:
        assert engine.show("i1").state == state
        assert engine.history("i1") == []
        return
    assert person is not None and person.active
    assert view.acted_as is not None
    acted_role = view.acted_as[1]
    assert acted_role in person.roles and (role is None or acted_role == role)
    event = next(e for e in engine.history("i1") if e.kind == "transition")
    fired = next(
        t
        for t in process.transitions
        if t.trigger == trigger and state in t.sources and event.dest == t.target(state)
    )
    allowed = fired.roles or tuple(r.name for r in process.roles)
    assert (event.actor, event.role) == (actor, acted_role) and acted_role in allowed
