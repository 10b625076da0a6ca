"""Verified identity in the engine: with a directory every start and fire names a person who
holds the role; refusals are audited; without one (open mode) callers are believed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_directory
from fulfil.engine.errors import IdentityRefused, RoleRefused
from fulfil.engine.people import PeopleDirectory, Person, load_people
from fulfil.engine.runtime import Engine
from fulfil.engine.store import open_store

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
CLOCK = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ACME = {
    "client": "Acme Motors",
    "client_email": "acme@example.com",
    "fr_number": "FR-1001",
    "account_manager": "alex.romero@example.com",
    "csm": "casey.nguyen@example.com",
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_directory(PROCESSES)


@pytest.fixture(scope="module")
def people(catalog: Catalog) -> PeopleDirectory:
    return load_people(PROCESSES / "people.yaml", catalog)


def _engine(catalog: Catalog, people: object = None) -> Engine:
    return Engine(
        catalog,
        store=open_store("memory://"),
        clock=ManualClock(CLOCK),
        people=people,  # type: ignore[arg-type]
    )


def _kinds(engine: Engine, instance: str) -> list[tuple[str, str, str | None]]:
    return [(e.kind, e.actor, e.role) for e in engine.history(instance)]


def test_a_person_alone_acts_in_the_role_the_trigger_accepts(catalog, people) -> None:  # type: ignore[no-untyped-def]
    """`--as sam`: the engine picks sam's role that may fire, says which, and history records
    the person and the role."""
    engine = _engine(catalog, people)
    view = engine.start("facebook_access", ACME, id="fb", actor="sam")
    assert view.acted_as == ("sam", "ops_specialist")
    view = engine.fire("fb", "begin", actor="sam")
    assert view.acted_as == ("sam", "ops_specialist")
    assert view.to_json()["acted_as"] == {"person": "sam", "role": "ops_specialist"}
    assert _kinds(engine, "fb") == [
        ("start", "sam", "ops_specialist"),
        ("transition", "sam", "ops_specialist"),
    ]


def test_a_person_in_a_role_they_hold_may_fire(catalog, people) -> None:  # type: ignore[no-untyped-def]
    """`--as sam:ops_specialist` still works when sam holds the role."""
    engine = _engine(catalog, people)
    engine.start("facebook_access", ACME, id="fb", actor="sam", role="ops_specialist")
    assert engine.fire("fb", "begin", actor="sam", role="ops_specialist").state == "in_progress"


@pytest.mark.parametrize(
    ("actor", "role", "message"),
    [
        ("samm", None, "unknown person 'samm' (did you mean 'sam'?)"),
        ("riley", None, "person 'riley' is inactive"),
        ("sam", "account_manager", "'sam' does not hold role 'account_manager'; sam holds: "),
        ("alex", None, "'alex' may not fire 'begin': that needs role ops_specialist"),
        (None, None, "with a people directory every start and fire names a person"),
    ],
)
def test_refused_fire_is_audited_and_changes_nothing(  # type: ignore[no-untyped-def]
    catalog, people, actor: str | None, role: str | None, message: str
) -> None:
    """Unknown, inactive, unnamed people and roles not held are refused with a clear message;
    the refusal is one `refused` event with the person and role given, nothing else changes."""
    engine = _engine(catalog, people)
    engine.start("facebook_access", ACME, id="fb", actor="sam")
    with pytest.raises(IdentityRefused, match=re.escape(message)) as refused:
        engine.fire("fb", "begin", actor=actor, role=role)
    view = engine.show("fb")
    assert view.state == "new"
    events = engine.history("fb")
    assert [(e.kind, e.actor, e.role) for e in events[1:]] == [
        ("refused", actor or "anonymous", role)
    ]
    assert events[-1].detail["error"] == str(refused.value)


@pytest.mark.parametrize(
    ("actor", "role", "error"),
    [
        ("nobody", None, IdentityRefused),
        ("riley", None, IdentityRefused),
        ("sam", "csm", IdentityRefused),
        ("sam", "ops_specialst", RoleRefused),
    ],
)
def test_refused_start_stores_nothing(  # type: ignore[no-untyped-def]
    catalog, people, actor: str, role: str | None, error: type[Exception]
) -> None:
    """A start by an unknown or inactive person, in a role not held, or in a role the process
    does not declare is refused and stores no instance."""
    engine = _engine(catalog, people)
    with pytest.raises(error):
        engine.start("facebook_access", ACME, id="fb", actor=actor, role=role)
    with engine.store.transaction(write=False) as tx:
        assert list(tx.instance_ids()) == []


def test_open_mode_believes_the_caller_but_refuses_an_undeclared_role(catalog) -> None:  # type: ignore[no-untyped-def]
    """Without a directory any actor is believed (`--as ACTOR:ROLE` as before), a call without
    one is recorded as `anonymous`, and a role the process does not declare is refused."""
    engine = _engine(catalog)
    view = engine.start("facebook_access", ACME, id="fb", actor="whoever", role="ops_specialist")
    assert view.acted_as is None
    engine.fire("fb", "begin", actor="whoever", role="ops_specialist")
    assert _kinds(engine, "fb")[-1] == ("transition", "whoever", "ops_specialist")
    engine.start("facebook_access", ACME, id="fb2")
    assert _kinds(engine, "fb2") == [("start", "anonymous", None)]
    with pytest.raises(RoleRefused, match="role 'boss' is not a role of facebook_access"):
        engine.start("facebook_access", ACME, id="fb3", actor="x", role="boss")


def test_an_application_directory_plugs_in(catalog) -> None:  # type: ignore[no-untyped-def]
    """Any object with the Directory lookups verifies identities, e.g. an LDAP adapter."""

    class Ldap:
        def person(self, person_id: str) -> Person | None:
            if person_id != "uid42":
                return None
            return Person("uid42", "Kim", "kim@corp.example", ("csm", "ops_specialist"))

        def holders(self, role: str) -> Sequence[Person]:
            return ()

        def manager(self, person_id: str) -> Person | None:
            return None

        def queue_address(self, queue: str) -> str | None:
            return None

    engine = _engine(catalog, Ldap())
    engine.start("facebook_access", ACME, id="fb", actor="uid42")
    assert engine.fire("fb", "begin", actor="uid42").acted_as == ("uid42", "ops_specialist")
    with pytest.raises(IdentityRefused, match="unknown person 'sam'"):
        engine.fire("fb", "log_call", {"outcome": "reached"}, actor="sam")
