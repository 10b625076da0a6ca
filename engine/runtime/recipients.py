"""Who a message goes to: the names a `notify` (or an SLA notice) gives, resolved to addresses.

A name is a field or a role of the process (a field wins when both exist):

    field                  its value, which must be one valid address (engine.messages.addresses);
                           a list field gives each of its items, each checked the same way
    role, task assigned    the assignee, when they hold the role (the person doing the work)
    role with `contact`    the contact: a literal address, or a field's value as above
    role, with a people    the shared address of the queue the work sits in, when the role
    directory              owns the work and the queue has one; else its active holders
    anything else          unresolved, with the reason

A name that resolves to nothing never becomes an address: the message goes to what did
resolve, and the executor stores a message that reaches nobody as a failed outbox entry whose
error gives the reasons. `role:x` is never handed to a mail server.

An `sms` goes to people's phone numbers (`phone` in the people directory), never to an e-mail
address:

    field                  its value, which must be a phone number (engine.messages.addresses)
    role, task assigned    the assignee's phone, when they hold the role
    role                   the phones of its active holders in the directory (a contact or a
                           queue's shared address is an e-mail address: no phone)
    a person without a phone, or no directory: unresolved, with the reason
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from datetime import datetime
from typing import Any

from ..frozen import frozen, record
from ..messages.addresses import address_problem, phone_problem
from ..model import Process
from ..people.directory import Directory, Person
from ..store.base import OutboxRecord

__all__ = ["SMS", "Audience", "Resolver", "outbox_entry", "phone_audience"]

SMS = "sms"  # the channel whose recipients are phone numbers


@record
class Audience:
    """The addresses a list of names resolved to, and the names that reached nobody (why)."""

    addresses: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)  # "name: reason"

    def add(self, address: str) -> None:
        if address not in self.addresses:
            self.addresses.append(address)


@frozen(slots=True)
class Resolver:
    """Resolves names for one instance at one moment.

    Attributes:
        process: the process whose fields and roles the names refer to.
        values: the instance's typed field values.
        people: the directory (None: open mode, roles resolve only through `contact`).
        assignee: the person the task is assigned to, if any.
        owner: the role owning the work in its current state.
        queue: the queue the work sits in.
    """

    process: Process
    values: Mapping[str, Any]
    people: Directory | None = None
    assignee: str | None = None
    owner: str | None = None
    queue: str | None = None

    def resolve(self, names: Sequence[str], channel: str = "email") -> Audience:
        """The addresses of `names` on `channel` (phone numbers for an `sms`), in order and
        without repeats (see the module docstring)."""
        audience = Audience()
        for name in names:
            if channel == SMS:
                self._phones(name, audience)
            else:
                self._one(name, audience)
        return audience

    def _phones(self, name: str, audience: Audience) -> None:
        process, people = self.process, self.people
        if process.find_field(name) is not None:
            items = _items(self.values.get(name))
            if not items:
                audience.unresolved.append(f"{name}: the field is empty")
            for item in items:
                problem = phone_problem(item)
                if problem is None:
                    audience.add(item)
                else:
                    audience.unresolved.append(f"{name}: {item!r}: {problem}")
            return
        if process.find_role(name) is None:
            audience.unresolved.append(f"{name}: not a field or role of {process.id}")
            return
        if people is None:
            audience.unresolved.append(
                f"{name}: an sms goes to a person's phone and there is no people directory "
                "(add people.yaml, each person with a `phone`)"
            )
            return
        assignee = people.person(self.assignee) if self.assignee is not None else None
        if assignee is not None and assignee.active and assignee.holds(name):
            phone_audience(assignee, name, audience)
            return
        holders = people.holders(name)
        if not holders:
            audience.unresolved.append(f"{name}: no active person holds the role")
        for person in holders:
            phone_audience(person, name, audience)

    def _one(self, name: str, audience: Audience) -> None:
        process = self.process
        if process.find_field(name) is not None:
            self._field(name, name, audience)
            return
        role = process.find_role(name)
        if role is None:
            audience.unresolved.append(f"{name}: not a field or role of {process.id}")
            return
        if self._assignee(name, audience):
            return
        if role.contact is not None:
            if "@" not in role.contact:
                self._field(name, role.contact, audience)
                return
            problem = address_problem(role.contact)
            if problem is None:
                audience.add(role.contact)
            else:
                audience.unresolved.append(f"{name}: its contact is not one address ({problem})")
            return
        self._directory(name, audience)

    def _field(self, name: str, field_name: str, audience: Audience) -> None:
        items = _items(self.values.get(field_name))
        shown = name if name == field_name else f"{name} (field {field_name})"
        if not items:
            audience.unresolved.append(f"{shown}: the field is empty")
            return
        for item in items:
            problem = address_problem(item)
            if problem is None:
                audience.add(item)
            else:
                audience.unresolved.append(f"{shown}: {item!r} is not one address ({problem})")

    def _assignee(self, role: str, audience: Audience) -> bool:
        if self.assignee is None or self.people is None:
            return False
        person = self.people.person(self.assignee)
        if person is None or not person.active or not person.holds(role):
            return False
        problem = address_problem(person.email)
        if problem is not None:
            audience.unresolved.append(f"{role}: assignee {person.id}'s address ({problem})")
        else:
            audience.add(person.email)
        return True

    def _directory(self, role: str, audience: Audience) -> None:
        people = self.people
        if people is None:
            audience.unresolved.append(
                f"{role}: the role has no contact and there is no people directory to find "
                "who holds it (add people.yaml, or give the role a contact)"
            )
            return
        if role == self.owner and self.queue is not None:
            shared = people.queue_address(self.queue)
            if shared is not None and address_problem(shared) is None:
                audience.add(shared)
                return
        holders = [p for p in people.holders(role) if address_problem(p.email) is None]
        if not holders:
            audience.unresolved.append(f"{role}: no active person holds the role")
            return
        for person in holders:
            audience.add(person.email)


def outbox_entry(
    instance: str,
    channel: str,
    to: Sequence[str],
    cc: Sequence[str],
    subject: str,
    body: str,
    at: datetime,
    unresolved: Sequence[str] = (),
) -> OutboxRecord:
    """The outbox row of a message; one that reaches nobody (no `to`) is stored `failed` with
    the reasons as its error, so it shows in `fulfil outbox --json` and is never sent."""
    if to:
        return OutboxRecord(instance, channel, tuple(to), tuple(cc), subject, body, at)
    why = "; ".join(unresolved) or "the message names no recipient"
    return OutboxRecord(
        instance,
        channel,
        (),
        tuple(cc),
        subject,
        body,
        at,
        status="failed",
        error=f"no recipient: {why}",
    )


def _items(value: Any) -> list[Any]:
    """A field's recipients: each item of a list, else the value; empty ones left out."""
    return [
        item for item in (value if isinstance(value, list) else [value]) if item not in (None, "")
    ]


def phone_audience(person: Person, name: str, audience: Audience) -> None:
    """Add `person`'s phone to `audience` (`name`: what they were reached as, for the reason
    when they have none)."""
    if person.phone is None:
        audience.unresolved.append(f"{name}: {person.id} has no phone in the people directory")
        return
    problem = phone_problem(person.phone)
    if problem is None:
        audience.add(person.phone)
    else:
        audience.unresolved.append(f"{name}: {person.id}'s phone: {problem}")
