"""Who acts: a person of the directory, in one of their roles, or the refusal that says why not.

With a directory every start and fire names a person. `identify` refuses an unknown person, an
inactive one, and a role the person does not hold; without a role it picks the first of the
person's roles (in the directory's order) that may do what is asked, and says so. Timers, rules
and emits fire as the engine itself (actors `timer`, `rule`, `system`) and never come here.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import IdentityRefused
from ..frozen import frozen
from .directory import Directory, Person, unknown_person

__all__ = ["SYSTEM_ACTORS", "Identity", "identify", "pick_role", "verify_person"]

# The names the engine records for what it does itself, and for an unnamed caller in open mode;
# no person may take one of them.
SYSTEM_ACTORS = frozenset({"timer", "rule", "system", "anonymous"})


@frozen
class Identity:
    """The person acting and the role they act in; `chosen` when the engine picked the role."""

    person: Person
    role: str | None
    chosen: bool = False


def _holds(person: Person) -> str:
    return ", ".join(person.roles) if person.roles else "no role"


def verify_person(
    directory: Directory,
    actor: str | None,
    role: str | None,
    doing: str,
    *,
    instance: str | None = None,
    trigger: str | None = None,
) -> Person:
    """The person named, known, active and holding `role` when one is given.

    Raises:
        IdentityRefused: no person named, unknown person, inactive person, or a role the
            person does not hold.
    """

    def refuse(message: str) -> IdentityRefused:
        return IdentityRefused(message, instance=instance, trigger=trigger)

    if not actor:
        raise refuse(
            f"say who you are to {doing}: with a people directory every start and fire names "
            "a person (--as PERSON, e.g. --as sam)"
        )
    person = directory.person(actor)
    if person is None:
        where = getattr(directory, "file", "the people directory")
        raise refuse(
            f"{unknown_person(directory, actor)}; the people who may act are listed in {where}"
        )
    if not person.active:
        raise refuse(f"person '{actor}' is inactive (active: false) and may no longer act")
    if role is not None and role not in person.roles:
        raise refuse(f"'{actor}' does not hold role '{role}'; {actor} holds: {_holds(person)}")
    return person


def pick_role(
    person: Person,
    role: str | None,
    accepted: Sequence[str] | None,
    doing: str,
    *,
    instance: str | None = None,
    trigger: str | None = None,
) -> Identity:
    """The role a verified person acts in: `role` when given (already checked as held), else
    the first of their roles in `accepted` (None: any role, the first they hold).

    Raises:
        IdentityRefused: without `role`, none of the person's roles may do it.
    """
    if role is not None:
        return Identity(person, role)
    if accepted is None:
        return Identity(person, person.roles[0] if person.roles else None, bool(person.roles))
    for held in person.roles:
        if held in accepted:
            return Identity(person, held, True)
    raise IdentityRefused(
        f"'{person.id}' may not {doing}: that needs role {', '.join(accepted)}, and {person.id} "
        f"holds {_holds(person)}",
        instance=instance,
        trigger=trigger,
    )


def identify(
    directory: Directory,
    actor: str | None,
    role: str | None,
    accepted: Sequence[str] | None,
    doing: str,
    *,
    instance: str | None = None,
    trigger: str | None = None,
) -> Identity:
    """The verified identity of a caller: `verify_person`, then `pick_role`.

    Args:
        directory: who the people are.
        actor: the person id given (`--as PERSON[:ROLE]`).
        role: the role given, or None to let the engine pick one.
        accepted: the roles that may do it (None: any role).
        doing: what is asked, for messages ("fire 'begin'", "start facebook_access").

    Raises:
        IdentityRefused: see `verify_person` and `pick_role`.
    """
    person = verify_person(directory, actor, role, doing, instance=instance, trigger=trigger)
    return pick_role(person, role, accepted, doing, instance=instance, trigger=trigger)
