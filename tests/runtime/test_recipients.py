"""Messages reach people: roles resolve through the directory, fields must hold one address, and
a message that reaches nobody is a failed outbox entry with its reason, never `role:x`."""

from __future__ import annotations

from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file, load_text
from fulfil.engine.errors import DataError
from fulfil.engine.people import PeopleDirectory, Person
from fulfil.engine.runtime import Engine
from fulfil.engine.runtime.recipients import SMS, Resolver
from fulfil.engine.store import Store

CARE = Path(__file__).parent / "cases" / "care.yaml"

TEAM = (
    Person("ana", "Ana", "ana@example.com", ("agent",), "lee"),
    Person("bo", "Bo", "bo@example.com", ("agent",), "lee"),
    Person("gone", "Gone", "gone@example.com", ("agent",), "lee", active=False),
    Person("lee", "Lee", "lee@example.com", ("lead",), "max"),
    Person("max", "Max", "max@example.com", (), None),
)
AGENT = {"actor": "ana", "role": "agent"}


def care_engine(
    store: Store, clock: ManualClock, tmp_path: Path, people: PeopleDirectory | None
) -> Engine:
    catalog = Catalog((load_file(CARE).process,))
    return Engine(catalog, store=store, clock=clock, sheets_dir=tmp_path, people=people)


@pytest.fixture
def team() -> PeopleDirectory:
    return PeopleDirectory.of(TEAM)


def test_a_message_to_a_role_goes_to_its_active_holders(
    store: Store, clock: ManualClock, tmp_path: Path, team: PeopleDirectory
) -> None:
    """Without a shared queue address, a role's message goes to every active holder."""
    engine = care_engine(store, clock, tmp_path, team)
    case = engine.start("care", {"customer_email": "cu@example.org"}, actor="ana", role="agent")
    engine.fire(case.id, "ping", **AGENT)
    [message] = engine.outbox()
    assert message.to == ("ana@example.com", "bo@example.com")
    assert message.status == "pending"


def test_a_message_to_the_owning_role_goes_to_the_queues_shared_address(
    store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    """The role owning the work reaches the queue's shared address; other roles their holders."""
    people = PeopleDirectory.of(TEAM, {"desk": "desk@example.com"})
    engine = care_engine(store, clock, tmp_path, people)
    case = engine.start("care", {"customer_email": "cu@example.org"}, actor="ana", role="agent")
    engine.fire(case.id, "ping", **AGENT)
    engine.fire(case.id, "tell_customer", **AGENT)
    first, second = engine.outbox()
    assert first.to == ("desk@example.com",)
    assert (second.to, second.cc) == (("cu@example.org",), ("lee@example.com",))


def test_without_a_directory_a_role_message_is_a_failed_entry_with_its_reason(
    store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    """Open mode: a role without contact cannot resolve; the entry fails, saying why, unsent."""
    engine = care_engine(store, clock, tmp_path, None)
    case = engine.start("care", {"customer_email": "cu@example.org"}, actor="ana", role="agent")
    engine.fire(case.id, "ping", actor="ana", role="agent")
    [message] = engine.outbox()
    assert message.to == ()
    assert message.status == "failed"
    assert "agent: the role has no contact and there is no people directory" in message.error
    note = engine.history(case.id)[-1]
    assert note.kind == "notification" and note.detail["to"] == []
    assert note.detail["unresolved"][0].startswith("agent: ")
    assert engine.outbox(status="pending") == []
    assert not any("role:" in a for m in engine.outbox() for a in (*m.to, *m.cc))


def test_a_role_nobody_holds_is_unresolved_but_the_rest_goes_out(
    store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    """A cc that reaches nobody is noted; the message still goes to the `to` that resolved."""
    people = PeopleDirectory.of([p for p in TEAM if p.id != "lee"])
    engine = care_engine(store, clock, tmp_path, people)
    case = engine.start("care", {"customer_email": "cu@example.org"}, actor="ana", role="agent")
    engine.fire(case.id, "tell_customer", **AGENT)
    [message] = engine.outbox()
    assert (message.to, message.cc, message.status) == (("cu@example.org",), (), "pending")
    note = engine.history(case.id)[-1]
    assert note.detail["unresolved"] == ["lead: no active person holds the role"]


@pytest.mark.parametrize(
    "value", ["a@x, other@evil", "a@x\r\nBcc: other@evil", '"boss@x" <evil@y>', "nobody"]
)
def test_an_email_field_refuses_anything_but_one_address(
    store: Store, clock: ManualClock, tmp_path: Path, value: str
) -> None:
    """`type: email` refuses lists, header injection and display names when data is given."""
    engine = care_engine(store, clock, tmp_path, None)
    with pytest.raises(DataError, match="field 'customer_email' must be one e-mail address"):
        engine.start("care", {"customer_email": value}, actor="ana", role="agent")
    with store.transaction(write=False) as tx:
        assert list(tx.instance_ids()) == []


def test_a_string_field_holding_two_addresses_mails_nobody(
    store: Store, clock: ManualClock, tmp_path: Path, team: PeopleDirectory
) -> None:
    """A plain string field used as a recipient is checked when the message is made."""
    engine = care_engine(store, clock, tmp_path, team)
    case = engine.start("care", {"backup": "a@x, other@evil"}, actor="ana", role="agent")
    engine.fire(case.id, "tell_backup", **AGENT)
    [message] = engine.outbox()
    assert message.to == () and message.status == "failed"
    assert "backup: 'a@x, other@evil' is not one address (it is a list" in message.error


def test_an_sms_goes_to_phones_never_to_an_email_address() -> None:
    """An sms reaches people at their directory `phone`: a role's holders (its contact or the
    queue's shared address is e-mail), the assignee holding the role, a field holding a phone
    number; anyone without one is unresolved with the reason, and no directory reaches nobody."""
    process = load_file(CARE).process
    phones = (
        Person("ana", "Ana", "ana@example.com", ("agent",), "lee", "+1 555 0100"),
        Person("bo", "Bo", "bo@example.com", ("agent",), "lee"),
        Person("lee", "Lee", "lee@example.com", ("lead",), None, "+44 20 7946 0000"),
    )
    people = PeopleDirectory.of(phones, {"desk": "desk@example.com"})
    values = {"customer_email": "cu@example.org", "backup": "+1 (555) 010-9999"}
    shared = Resolver(process, values, people, None, "agent", "desk")
    assert shared.resolve(["agent"]).addresses == ["desk@example.com"]  # e-mail: the queue
    sms = shared.resolve(["agent", "lead", "backup", "customer_email", "customer"], SMS)
    assert sms.addresses == ["+1 555 0100", "+44 20 7946 0000", "+1 (555) 010-9999"]
    assert sms.unresolved == [
        "agent: bo has no phone in the people directory",
        "customer_email: 'cu@example.org': it is not a phone number such as +1 555 0100 "
        "(digits, spaces, + ( ) . -)",
        "customer: no active person holds the role",
    ]
    assigned = Resolver(process, values, people, "bo", "agent", "desk").resolve(["agent"], SMS)
    assert (assigned.addresses, assigned.unresolved) == (
        [],
        ["agent: bo has no phone in the people directory"],
    )
    alone = Resolver(process, values, None).resolve(["agent"], SMS)
    assert alone.addresses == [] and "there is no people directory" in alone.unresolved[0]


def test_a_notify_by_sms_is_addressed_to_phones(
    store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    """A `notify` with `channel: sms` is resolved to phones, as an SLA's cell phone alert."""
    text = CARE.read_text().replace(
        '- notify: {to: [agent], subject: "Ping {note}"}',
        '- notify: {to: [agent], subject: "Ping {note}", channel: sms}',
    )
    assert text != CARE.read_text()
    catalog = Catalog((load_text(text, "care.yaml").process,))
    people = PeopleDirectory.of(
        [Person("ana", "Ana", "ana@example.com", ("agent",), None, "+1 555 0100")]
    )
    engine = Engine(catalog, store=store, clock=clock, sheets_dir=tmp_path, people=people)
    case = engine.start("care", {"customer_email": "cu@example.org"}, actor="ana", role="agent")
    engine.fire(case.id, "ping", **AGENT)
    [message] = engine.outbox()
    assert (message.channel, message.to, message.status) == ("sms", ("+1 555 0100",), "pending")
