"""Graph warnings through the loader: YAML in, warnings with the line and column of the culprit."""

from __future__ import annotations

from fulfil.engine.definition.loader import load_text

YAML = """\
id: nap
version: 1
roles:
  clerk: {}
  auditor: {}
fields:
  done: {type: bool, default: false}
  note: {type: text}
states:
  new:
    initial: true
    owner: clerk
  sleeping:
    timers:
      - {name: wake, after: 1h, trigger: wake_up}
  closed:
    terminal: true
transitions:
  - {trigger: sleep, source: new, dest: sleeping}
  - {trigger: wake_up, source: sleeping, dest: new}
  - {trigger: finish, source: new, dest: closed, guard: "done"}
"""


def test_warnings_point_at_their_declarations() -> None:
    """Unused role and field, and a state only timers leave, are warnings at their keys."""
    loaded = load_text(YAML, "nap.yaml")
    found = [(p.location.line, p.location.column, p.message) for p in loaded.warnings]
    assert found == [
        (5, 3, "role 'auditor' is never used"),
        (8, 3, "field 'note' is never used"),
        (13, 3, "state 'sleeping' can only be left by its timers"),
    ]
    assert all(p.severity == "warning" for p in loaded.warnings)


def test_using_them_clears_the_warnings() -> None:
    """Naming the role and the field, and adding a manual way out, leaves no warning."""
    fixed = YAML.replace(
        "  - {trigger: finish",
        "  - {trigger: jot, source: sleeping, dest: new, "
        "requires: [note], roles: [auditor]}\n  - {trigger: finish",
    )
    assert load_text(fixed, "nap.yaml").warnings == ()


def test_an_internal_transition_is_no_way_out() -> None:
    """A person's internal transition (no dest) does not leave the state: still timer-only."""
    noted = YAML.replace(
        "  - {trigger: finish,",
        "  - {trigger: note, source: sleeping, roles: [clerk]}\n  - {trigger: finish,",
    )
    messages = [p.message for p in load_text(noted, "nap.yaml").warnings]
    assert "state 'sleeping' can only be left by its timers" in messages


CLASH = """\
id: clash
version: 1
roles:
  csm: {title: Customer Success Manager}
  account_manager: {contact: account_manager}
  lead: {contact: "lead@example.com"}
fields:
  csm: {type: email}
  account_manager: {type: email}
  lead: {type: email}
states:
  new:
    initial: true
  closed:
    terminal: true
transitions:
  - trigger: finish
    source: new
    dest: closed
    roles: [csm, account_manager, lead]
    actions:
      - notify: {channel: email, to: [csm, account_manager, lead], subject: "Done"}
"""


def test_a_role_named_like_a_field_without_that_contact_is_a_warning() -> None:
    """Roles `csm` (no contact) and `lead` (a literal contact) shadowed by fields are warned
    about at the role; `account_manager`, whose contact is its field, is not."""
    found = [
        (p.location.line, p.location.column, p.message, p.hint)
        for p in load_text(CLASH, "clash.yaml").warnings
    ]
    assert found == [
        (
            4,
            3,
            "role 'csm' has the name of field 'csm': messages to 'csm' go to the field's "
            "value, not to the role (role:csm)",
            "give the role `contact: csm`, or rename the role or the field",
        ),
        (
            6,
            3,
            "role 'lead' has the name of field 'lead': messages to 'lead' go to the field's "
            "value, not to the role's contact 'lead@example.com'",
            "give the role `contact: lead`, or rename the role or the field",
        ),
    ]
