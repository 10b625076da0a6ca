"""Who works an instance: claim, assign and release, with the directory's rules, in history,
in `show` and `queue`, and what it changes about who messages reach."""

from __future__ import annotations

from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.errors import InstanceClosed, RoleRefused, UsageError
from fulfil.engine.people import PeopleDirectory, Person
from fulfil.engine.runtime import AlreadyAssigned, Engine
from fulfil.engine.store import Store

CARE = Path(__file__).parent / "cases" / "care.yaml"

TEAM = PeopleDirectory.of(
    (
        Person("ana", "Ana", "ana@example.com", ("agent",), "lee"),
        Person("bo", "Bo", "bo@example.com", ("agent",), "lee"),
        Person("gone", "Gone", "gone@example.com", ("agent",), "lee", active=False),
        Person("lee", "Lee", "lee@example.com", ("lead",), "max"),
        Person("max", "Max", "max@example.com", (), None),
    )
)


def care(store: Store, clock: ManualClock, tmp_path: Path, people: object = TEAM) -> Engine:
    catalog = Catalog((load_file(CARE).process,))
    directory = people if isinstance(people, PeopleDirectory) else None
    return Engine(catalog, store=store, clock=clock, sheets_dir=tmp_path, people=directory)


@pytest.fixture
def engine(store: Store, clock: ManualClock, tmp_path: Path) -> Engine:
    return care(store, clock, tmp_path)


def test_a_claim_makes_the_claimer_the_assignee_in_show_history_and_json(engine: Engine) -> None:
    """`claim` sets `assignee`, shown by show --json, and records who did it in history."""
    case = engine.start("care", {"customer_email": "cu@example.org"}, actor="ana", role="agent")
    assert case.to_json()["assignee"] is None
    claimed = engine.claim(case.id, actor="ana")
    assert claimed.assignee == "ana" and claimed.to_json()["assignee"] == "ana"
    assert engine.show(case.id).assignee == "ana"
    event = engine.history(case.id)[-1]
    assert (event.kind, event.actor, event.trigger) == ("assignment", "ana", "claim")
    assert event.detail == {"action": "claim", "assignee": "ana", "previous": None}
    assert engine.verify(case.id).problems == ()


def test_claiming_your_own_work_again_changes_nothing(engine: Engine) -> None:
    """A second claim by the assignee records no second event."""
    case = engine.start("care", actor="ana", role="agent")
    engine.claim(case.id, actor="ana")
    before = len(engine.history(case.id))
    assert engine.claim(case.id, actor="ana").assignee == "ana"
    assert len(engine.history(case.id)) == before


def test_work_someone_holds_cannot_be_claimed(engine: Engine) -> None:
    """A claim on assigned work is a conflict naming who holds it."""
    case = engine.start("care", actor="ana", role="agent")
    engine.claim(case.id, actor="ana")
    with pytest.raises(AlreadyAssigned, match="already assigned to ana"):
        engine.claim(case.id, actor="bo")
    assert engine.show(case.id).assignee == "ana"


def test_only_holders_of_the_owning_role_may_claim_and_refusals_are_audited(
    engine: Engine,
) -> None:
    """A person without the state's owner role, an unknown or inactive one, cannot claim."""
    case = engine.start("care", actor="ana", role="agent")
    with pytest.raises(RoleRefused, match=r"'lee' cannot work .* needs role agent"):
        engine.claim(case.id, actor="lee")
    with pytest.raises(RoleRefused, match="unknown person 'anna' \\(did you mean 'ana'"):
        engine.claim(case.id, actor="anna")
    with pytest.raises(RoleRefused, match="'gone' is inactive"):
        engine.claim(case.id, actor="gone")
    refused = [e for e in engine.history(case.id) if e.kind == "refused"]
    assert [(e.actor, e.trigger) for e in refused] == [
        ("lee", "claim"),
        ("anna", "claim"),
        ("gone", "claim"),
    ]
    assert engine.show(case.id).assignee is None


def test_a_lead_assigns_and_reassigns_a_specialist_may_not(engine: Engine) -> None:
    """The manager role assigns to holders of the owner role; others may only take it."""
    case = engine.start("care", actor="ana", role="agent")
    with pytest.raises(RoleRefused, match=r"'ana' may not assign .* needs role lead"):
        engine.assign(case.id, "bo", actor="ana")
    assert engine.assign(case.id, "ana", actor="ana").assignee == "ana"  # to oneself: a claim
    assert engine.assign(case.id, "bo", actor="lee", role="lead").assignee == "bo"
    event = engine.history(case.id)[-1]
    assert (event.actor, event.role, event.trigger) == ("lee", "lead", "assign")
    assert event.detail == {"action": "assign", "assignee": "bo", "previous": "ana"}
    with pytest.raises(RoleRefused, match="'max' cannot work"):
        engine.assign(case.id, "max", actor="lee")
    with pytest.raises(RoleRefused, match="'gone' is inactive and cannot be given work"):
        engine.assign(case.id, "gone", actor="lee")


def test_release_by_the_assignee_or_a_lead_only(engine: Engine) -> None:
    """The assignee or a lead gives the work back; another specialist may not."""
    case = engine.start("care", actor="ana", role="agent")
    with pytest.raises(UsageError, match="not assigned to anyone"):
        engine.release(case.id, actor="ana")
    engine.claim(case.id, actor="ana")
    with pytest.raises(RoleRefused, match="only they or a lead \\(lead\\) may release"):
        engine.release(case.id, actor="bo")
    assert engine.release(case.id, actor="ana").assignee is None
    engine.claim(case.id, actor="bo")
    assert engine.release(case.id, actor="lee").assignee is None
    actions = [e.detail["action"] for e in engine.history(case.id) if e.kind == "assignment"]
    assert actions == ["claim", "release", "claim", "release"]


def test_closed_work_cannot_be_claimed(engine: Engine) -> None:
    """A closed instance has no work to claim."""
    case = engine.start("care", actor="ana", role="agent")
    engine.fire(case.id, "finish", actor="ana", role="agent")
    with pytest.raises(InstanceClosed, match="closed"):
        engine.claim(case.id, actor="ana")


def test_queue_mine_lists_the_persons_work_with_its_assignee(engine: Engine) -> None:
    """`queue(mine=P)` keeps P's work; every item carries `assignee`."""
    first, second, third = (engine.start("care", actor="ana", role="agent") for _ in range(3))
    engine.claim(first.id, actor="ana")
    engine.assign(second.id, "bo", actor="lee")
    mine = engine.queue("desk", mine="ana")
    assert [i.id for i in mine.ready] == [first.id]
    assert mine.to_json()["ready"][0]["assignee"] == "ana"
    everyone = engine.queue("desk")
    assert {i.id: i.assignee for i in everyone.ready} == {
        first.id: "ana",
        second.id: "bo",
        third.id: None,
    }
    with pytest.raises(UsageError, match="unknown person 'anna'"):
        engine.queue(mine="anna")


def test_messages_to_the_owning_role_go_to_the_assignee(engine: Engine) -> None:
    """Unassigned: the role's holders; assigned: the assignee alone."""
    case = engine.start("care", actor="ana", role="agent")
    engine.fire(case.id, "ping", actor="lee", role="lead")
    engine.claim(case.id, actor="bo")
    engine.fire(case.id, "ping", actor="lee", role="lead")
    before, after = engine.outbox()
    assert before.to == ("ana@example.com", "bo@example.com")
    assert after.to == ("bo@example.com",)


def test_open_mode_assigns_the_actors_text(
    store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    """Without a directory, the assignee is whoever the actor says; anyone may assign."""
    engine = care(store, clock, tmp_path, people=None)
    case = engine.start("care", actor="ana", role="agent")
    assert engine.claim(case.id, actor="someone").assignee == "someone"
    assert engine.assign(case.id, "another", actor="x").assignee == "another"
    assert engine.release(case.id, actor="y").assignee is None


def test_the_assignee_survives_transitions_and_a_reopened_store(
    store: Store, clock: ManualClock, tmp_path: Path, engine: Engine
) -> None:
    """A step keeps the assignee; it is read back from the store like the rest."""
    case = engine.start("care", actor="ana", role="agent")
    engine.claim(case.id, actor="ana")
    engine.fire(case.id, "ping", actor="ana", role="agent")
    assert engine.show(case.id).assignee == "ana"
    again = care(store, clock, tmp_path)
    assert again.show(case.id).assignee == "ana"
