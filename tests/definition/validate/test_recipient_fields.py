"""Fields used as recipients must be able to hold one address: checked when a process loads."""

from __future__ import annotations

import pytest
from fulfil.engine.definition.loader import load_text
from fulfil.engine.errors import DefinitionError
from fulfil.engine.people import people_problems, read_people

BASE = """\
id: mail
version: 1
roles:
  agent: {contact: %(contact)s}
fields:
  who: {type: %(kind)s}
  n: {type: int}
states:
  open: {initial: true}
  done: {terminal: true}
transitions:
  - trigger: send
    source: open
    dest: done
    actions:
      - notify: {to: [who], subject: "Hi"}
      - notify: {to: [who], cc: [agent], subject: "Again"}
"""


def text(kind: str = "email", contact: str = "who") -> str:
    return BASE % {"kind": kind, "contact": contact}


def test_an_email_field_as_recipient_loads_clean() -> None:
    """`type: email` fields and valid literal contacts give no recipient warning."""
    loaded = load_text(text(), "mail.yaml")
    assert not [w for w in loaded.warnings if "goes to field" in w.message]


def test_a_string_recipient_warns_once_where_it_is_first_used() -> None:
    """A string field as recipient is a located warning (once) saying to declare it email."""
    loaded = load_text(text("string"), "mail.yaml")
    found = [w for w in loaded.warnings if "goes to field 'who'" in w.message]
    assert len(found) == 1
    [warning] = found
    assert (warning.location.line, warning.location.column) == (16, 22)  # the `to` list
    assert "declare it `who: {type: email}`" in str(warning)


@pytest.mark.parametrize("kind", ["int", "date", "bool"])
def test_a_field_that_cannot_hold_an_address_is_an_error(kind: str) -> None:
    """A message to an int, date or bool field is refused at load, at the notify."""
    with pytest.raises(DefinitionError, match=f"goes to field 'who', which is {kind}"):
        load_text(text(kind), "mail.yaml")


@pytest.mark.parametrize(
    "contact", ['"ops@example.com, spy@evil.example"', '"Boss <boss@example.com>"']
)
def test_a_literal_contact_must_be_one_address(contact: str) -> None:
    """A role's literal contact that is a list or has a display name is a load error."""
    with pytest.raises(DefinitionError, match="contact of role 'agent' is not one address"):
        load_text(text(contact=contact), "mail.yaml")


def test_an_email_default_must_be_one_address() -> None:
    """The default of an email field is checked like data."""
    bad = text().replace("who: {type: email}", 'who: {type: email, default: "a@x, b@y"}')
    with pytest.raises(DefinitionError, match="default of email field 'who' is not one address"):
        load_text(bad, "mail.yaml")


WATCHED = """\
id: watched
version: 1
roles:
  agent: {}
  watcher: {}
states:
  open: {initial: true, owner: agent, queue: desk}
  done: {terminal: true}
transitions:
  - trigger: send
    source: open
    dest: done
    roles: [agent]
    actions:
      - notify: {to: [watcher], subject: "Hi"}
"""


def test_a_message_to_a_role_nobody_holds_warns_at_the_notify() -> None:
    """With a directory, a notify to a role without contact or holder is a located warning."""
    process = load_text(WATCHED, "watched.yaml").process
    people = read_people("people:\n  ana: {name: Ana, email: ana@example.com, roles: [agent]}\n")
    found = [p for p in people_problems(people, [process]) if "reaches nobody" in p.message]
    [warning] = found
    assert warning.severity == "warning"
    assert (warning.location.file, warning.location.line) == ("watched.yaml", 15)  # the notify
    assert "role 'watcher'" in warning.message
    staffed = read_people(
        "people:\n  ana: {name: Ana, email: ana@example.com, roles: [agent, watcher]}\n"
    )
    assert not [p for p in people_problems(staffed, [process]) if "reaches nobody" in p.message]


ALERTED = """\
id: alerted
version: 1
roles:
  agent: {}
  owner: {contact: "owner@example.com"}
states:
  open:
    initial: true
    owner: agent
    sla: {due: 1d, owner: owner, channels: [email, sms]}
  done: {terminal: true}
transitions:
  - trigger: send
    source: open
    dest: done
    roles: [agent]
    actions:
      - notify: {to: [owner], subject: "Hi", channel: sms}
"""


def test_an_sms_to_a_role_nobody_with_a_phone_holds_warns_at_the_sla_and_the_notify() -> None:
    """An sms goes to phones: a role whose holders have none (its contact is e-mail) is warned
    at the SLA's cell phone alert and at the notify; a holder with a phone quiets both."""
    process = load_text(ALERTED, "alerted.yaml").process
    people = read_people(
        "people:\n  ana: {name: Ana, email: ana@example.com, roles: [agent, owner]}\n"
    )
    found = [p for p in people_problems(people, [process]) if "sms" in p.message]
    assert [(w.severity, w.location.line) for w in found] == [("warning", 10), ("warning", 18)]
    assert "no active person holding 'owner' has a phone" in found[0].message
    phoned = read_people(
        "people:\n  ana: {name: Ana, email: ana@example.com, roles: [agent, owner],"
        ' phone: "+1 555 0100"}\n'
    )
    assert not [p for p in people_problems(phoned, [process]) if "sms" in p.message]
