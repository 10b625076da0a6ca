"""Triggers only the engine fires (timers, fulfilment lists, rules, emits) are refused to people
in every shipped process, in open mode and with a directory; the engine still fires them and
records itself (`timer`) as the actor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.firing import engine_fired
from fulfil.engine.definition.loader import load_directory
from fulfil.engine.errors import RoleRefused
from fulfil.engine.people import PeopleDirectory, Person
from fulfil.engine.runtime import Engine
from fulfil.engine.store import open_store
from fulfil.engine.store.base import InstanceRecord

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_directory(ROOT / "processes")
CLOCK = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ROLES = sorted({r.name for p in CATALOG for r in p.roles})
EVERYONE = PeopleDirectory.of([Person("kim", "Kim", "kim@example.com", tuple(ROLES))])


def _engine_only() -> list[tuple[str, str, str, str]]:
    """(process, source state, trigger, what fires it) for every transition only the engine
    may fire, in every shipped process."""
    out = []
    for process in CATALOG:
        fired = engine_fired(process, CATALOG)
        for transition in process.transitions:
            if transition.roles or transition.trigger not in fired:
                continue
            for source in transition.sources:
                out.append((process.id, source, transition.trigger, fired[transition.trigger]))
    return sorted(set(out))


CASES = _engine_only()


def test_every_timer_fired_transition_of_the_shipped_processes_is_covered() -> None:
    """The cases include the holes the issue names (the outreach cadence's next_call_due) and
    one per process that has a timer, a fulfilment list or a rule."""
    triggers = {(p, t) for p, _, t, _ in CASES}
    assert ("facebook_access", "next_call_due") in triggers
    assert ("outreach_task", "close_complete") in triggers  # fired by PDM's and RM's rules
    assert ("fulfilment_list", "list_sent") in triggers
    assert {p for p, _ in triggers} >= {
        "facebook_access",
        "fulfilment_list",
        "mass_comm_escalation",
        "retention",
        "smm_fulfilment",
        "pdm_outreach",
    }


def _in_state(engine: Engine, process_id: str, state: str) -> str:
    process = CATALOG.get(process_id)
    record = InstanceRecord("i1", process.id, process.version, state, {}, CLOCK, CLOCK, CLOCK)
    with engine.store.transaction() as tx:
        tx.insert_instance(record)
    return record.id


@pytest.mark.parametrize("mode", ["open", "directory"])
@pytest.mark.parametrize(
    ("process_id", "state", "trigger", "fired_by"),
    CASES,
    ids=[f"{c[0]}.{c[2]}@{c[1]}" for c in CASES],
)
def test_people_may_not_fire_what_only_the_engine_fires(
    mode: str, process_id: str, state: str, trigger: str, fired_by: str
) -> None:
    """Firing it by hand, in any role, is refused with a message naming what fires it, the
    refusal is audited and the instance stays where it is."""
    people = EVERYONE if mode == "directory" else None
    engine = Engine(CATALOG, store=open_store("memory://"), clock=ManualClock(CLOCK), people=people)
    instance = _in_state(engine, process_id, state)
    roles = [r.name for r in CATALOG.get(process_id).roles]
    for role in [None, *roles]:
        with pytest.raises(RoleRefused, match=f"is fired by {fired_by}, not by hand"):
            engine.fire(instance, trigger, actor="kim", role=role)
    assert engine.show(instance).state == state
    events = engine.history(instance)
    assert [e.kind for e in events] == ["refused"] * (1 + len(roles))


def test_the_timer_still_fires_next_call_due_and_is_recorded_as_the_timer() -> None:
    """The outreach cadence: a failed call waits a week; sam cannot skip it, the timer fires it."""
    clock = ManualClock(CLOCK)
    engine = Engine(CATALOG, store=open_store("memory://"), clock=clock, people=EVERYONE)
    data = {"client": "Acme", "client_email": "acme@example.com", "fr_number": "FR-1"}
    engine.start("facebook_access", data, id="fb", actor="kim")
    engine.fire("fb", "begin", actor="kim")
    engine.fire("fb", "log_call", {"outcome": "no_answer"}, actor="kim")
    with pytest.raises(RoleRefused):
        engine.fire("fb", "next_call_due", actor="kim", role="ops_specialist")
    assert engine.tick(CLOCK + timedelta(days=6)) == []
    fired = engine.tick(CLOCK + timedelta(days=7))
    assert [f.trigger for f in fired] == ["next_call_due"]
    fired_events = [e for e in engine.history("fb") if e.kind == "timer"]
    assert [(e.trigger, e.actor, e.role) for e in fired_events] == [
        ("next_call_due", "timer", None)
    ]
