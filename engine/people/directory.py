"""Who the people are: `Person`, the `Directory` protocol the engine asks, and the YAML one.

The engine needs four answers about people and nothing else, so an application with its own
user store (a database, LDAP) plugs in by implementing `Directory`:

    person(id)          the person with that id, or None
    holders(role)       the active people holding a role, in the directory's order
    manager(id)         the person's manager, or None
    queue_address(q)    a queue's shared address, or None

`PeopleDirectory` is the implementation behind `people.yaml` (engine.people.yamlfile loads it);
`manager_chain` walks managers upwards over any directory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import field
from typing import Protocol, runtime_checkable

from ..errors import UNKNOWN, Location, did_you_mean
from ..frozen import frozen

__all__ = [
    "OPERATOR",
    "Directory",
    "PeopleDirectory",
    "Person",
    "manager_chain",
    "unknown_person",
]

OPERATOR = "operator"
"""The role, no process needs to declare, that may cancel, correct, move and migrate the
running work of every process (docs/operations.md); a process's manager roles may too."""


@frozen
class Person:
    """One person of the team: who they are, the roles they hold, whom they report to."""

    id: str
    name: str
    email: str
    roles: tuple[str, ...] = ()
    manager: str | None = None
    phone: str | None = None
    active: bool = True
    loc: Location = UNKNOWN

    def holds(self, role: str) -> bool:
        """Whether the person holds `role`."""
        return role in self.roles


@runtime_checkable
class Directory(Protocol):
    """What the engine asks about people; see the module docstring."""

    def person(self, person_id: str) -> Person | None: ...

    def holders(self, role: str) -> Sequence[Person]: ...

    def manager(self, person_id: str) -> Person | None: ...

    def queue_address(self, queue: str) -> str | None: ...


@frozen
class PeopleDirectory:
    """A directory held in memory: the people of `people.yaml`, or built in code with `of`.

    Attributes:
        people: person id -> person, in the file's order.
        queues: queue name -> shared address.
        file: where the directory was read from (for messages).
    """

    people: Mapping[str, Person]
    queues: Mapping[str, str] = field(default_factory=dict)
    file: str = "<people>"
    _holders: dict[str, tuple[Person, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        held: dict[str, list[Person]] = {}
        for person in self.people.values():
            if person.active:
                for role in person.roles:
                    held.setdefault(role, []).append(person)
        self._holders.update({role: tuple(people) for role, people in held.items()})

    @classmethod
    def of(
        cls, people: Iterable[Person], queues: Mapping[str, str] | None = None
    ) -> PeopleDirectory:
        """A directory of these people (an embedding application's own list)."""
        return cls({p.id: p for p in people}, dict(queues or {}), "<code>")

    def __iter__(self) -> Iterator[Person]:
        return iter(self.people.values())

    def __len__(self) -> int:
        return len(self.people)

    def person(self, person_id: str) -> Person | None:
        return self.people.get(person_id)

    def holders(self, role: str) -> Sequence[Person]:
        return self._holders.get(role, ())

    def manager(self, person_id: str) -> Person | None:
        person = self.people.get(person_id)
        return None if person is None or person.manager is None else self.person(person.manager)

    def queue_address(self, queue: str) -> str | None:
        return self.queues.get(queue)

    def suggest(self, person_id: str) -> str:
        """A "did you mean" for an unknown person id ('' when nothing is close)."""
        return did_you_mean(person_id, self.people)

    @property
    def roles(self) -> set[str]:
        """Every role some person holds (active or not)."""
        return {role for person in self.people.values() for role in person.roles}


def unknown_person(directory: Directory, person_id: str) -> str:
    """`unknown person 'x'`, with the directory's "did you mean" when it has one (`suggest`:
    `PeopleDirectory` does; the protocol does not ask it of an application's directory)."""
    suggest = getattr(directory, "suggest", None)
    hint = suggest(person_id) if callable(suggest) else ""
    return f"unknown person '{person_id}'" + (f" ({hint})" if hint else "")


def manager_chain(directory: Directory, person_id: str, *, limit: int = 32) -> list[Person]:
    """The person's manager, that manager's manager, and so on (never the person; stops at a
    loop or after `limit`, so a directory with a cycle cannot hang an escalation)."""
    chain: list[Person] = []
    seen = {person_id}
    current = directory.manager(person_id)
    while current is not None and current.id not in seen and len(chain) < limit:
        chain.append(current)
        seen.add(current.id)
        current = directory.manager(current.id)
    return chain
