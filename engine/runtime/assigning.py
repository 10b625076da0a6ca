"""Assignment: which person works an instance. `claim`, `assign` and `release`.

Each is one transaction that writes the instance's `assignee` (compare-and-set on `rev`, like
every step) and one `assignment` history event through the instance's hash chain, with the
detail `{action, assignee, previous}`; the event's actor and role say who did it.

Who may (with a people directory; the owner role is the current state's `owner`):

    claim      a person holding the owner role takes unassigned work (their own: no change)
    assign     a holder of a manager role (a role some role names as its `manager`, e.g.
               ops_lead) gives the work to a person holding the owner role, or takes it back
               from someone else; a holder of the owner role may assign it to themselves
    release    the assignee, or a manager-role holder, gives the work back to the queue

Without a directory (open mode) nobody's identity is known: the assignee is the actor's text,
and any actor may claim, assign and release. Either way a claim or an assignment racing another
one on the same instance loses cleanly: the loser gets a `ConflictError` naming the winner.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..errors import ConflictError, InstanceClosed, RoleRefused, UsageError
from ..model import Process
from ..people.directory import Directory, Person, unknown_person
from ..store.base import InstanceRecord, Transaction
from .compiled import CompiledProcess
from .executor import Executor
from .history import HistoryChain

__all__ = ["ACTIONS", "AlreadyAssigned", "Assignment", "manager_roles", "owner_role"]

ACTIONS = ("claim", "assign", "release")


class AlreadyAssigned(ConflictError):
    """Someone else holds the work (a claim that lost, or a change raced by another person)."""


def manager_roles(process: Process) -> tuple[str, ...]:
    """The roles the process names as some role's `manager`: they may assign its work."""
    return tuple(dict.fromkeys(r.manager for r in process.roles if r.manager))


def owner_role(cp: CompiledProcess, state: str) -> str | None:
    """The role owning the work in `state`: the state's `owner`, else its SLA's owner."""
    spec = cp.process.find_state(state)
    if spec is None:
        return None
    return spec.owner or (spec.sla.owner if spec.sla is not None else None)


class Assignment:
    """One claim, assign or release on one instance, inside an open transaction."""

    def __init__(self, executor: Executor, people: Directory | None) -> None:
        self.executor = executor
        self.people = people

    def run(
        self,
        tx: Transaction,
        action: str,
        instance_id: str,
        *,
        actor: str,
        role: str | None,
        now: datetime,
        person: str | None = None,
        seen: tuple[str | None] | None = None,
    ) -> InstanceRecord:
        """Apply `action` (see the module docstring) and return the instance as stored.

        `seen` holds the assignee a first attempt found, when this is a retry after another
        writer changed the instance: if the assignee changed meanwhile, this caller lost.

        Raises:
            NotFound: no such instance.
            InstanceClosed: the instance is closed.
            RoleRefused: the actor may not do it, or `person` may not work the instance.
            AlreadyAssigned: someone else holds the work (claim), or took it during a retry.
            UsageError: release of unassigned work, or assign without a person.
        """
        record, cp = self.executor.load(tx, instance_id)
        if record.state in cp.terminal:
            raise InstanceClosed(
                f"instance '{record.id}' is closed; there is no work left to {action}",
                instance=record.id,
            )
        self.executor.check_role(cp, role, record)
        owner = owner_role(cp, record.state)
        previous = record.assignee
        if seen is not None and seen[0] != previous:
            now_held = f"is now assigned to {previous}" if previous else "was just released"
            raise AlreadyAssigned(
                f"'{record.id}' {now_held} by someone else while you tried to {action} it; "
                "look again (fulfil show) before you retry"
            )
        new: str | None = None
        if action == "claim":
            new = self._claim(cp, record, actor, role, owner)
        elif action == "assign":
            if not person:
                raise UsageError("say whom to assign the work to: fulfil assign ID PERSON")
            new = self._assign(cp, record, actor, role, owner, person)
        else:
            self._check_release(cp, record, actor, role)
        if new == previous:
            return record  # already so: nothing to record
        detail: dict[str, Any] = {"action": action, "assignee": new, "previous": previous}
        chain = HistoryChain(tx, record, self.executor.keys)
        chain.add(
            "assignment",
            at=now,
            actor=actor,
            role=role,
            trigger=action,
            source=record.state,
            detail=detail,
        )
        return chain.save(record, assignee=new, updated_at=max(now, record.updated_at))

    # the three actions ----------------------------------------------------------------------
    def _claim(
        self,
        cp: CompiledProcess,
        record: InstanceRecord,
        actor: str,
        role: str | None,
        owner: str | None,
    ) -> str:
        if record.assignee not in (None, actor):
            raise AlreadyAssigned(
                f"'{record.id}' is already assigned to {record.assignee}; a lead can "
                f"reassign it (fulfil assign {record.id} PERSON)"
            )
        if self.people is not None:
            me = self._person(actor, record)
            self._may_work(cp, me, owner, record)
        return actor

    def _assign(
        self,
        cp: CompiledProcess,
        record: InstanceRecord,
        actor: str,
        role: str | None,
        owner: str | None,
        person: str,
    ) -> str:
        if self.people is None:
            return person
        me = self._person(actor, record)
        target = self._person(person, record, whom=True)
        if not (target.id == me.id or self._manages(cp, me, role)):
            needed = ", ".join(manager_roles(cp.process)) or "a manager role"
            raise RoleRefused(
                f"'{me.id}' may not assign '{record.id}' to someone else: that needs role "
                f"{needed} (a person may claim work for themselves: fulfil claim {record.id})",
                instance=record.id,
                trigger="assign",
            )
        self._may_work(cp, target, owner, record)
        return target.id

    def _check_release(
        self, cp: CompiledProcess, record: InstanceRecord, actor: str, role: str | None
    ) -> None:
        if record.assignee is None:
            raise UsageError(f"'{record.id}' is not assigned to anyone; nothing to release")
        if self.people is None or record.assignee == actor:
            return
        me = self._person(actor, record)
        if not self._manages(cp, me, role):
            raise RoleRefused(
                f"'{record.id}' is assigned to {record.assignee}; only they or a lead "
                f"({', '.join(manager_roles(cp.process)) or 'a manager role'}) may release it",
                instance=record.id,
                trigger="release",
            )

    # checks ---------------------------------------------------------------------------------
    def _person(self, person_id: str, record: InstanceRecord, *, whom: bool = False) -> Person:
        assert self.people is not None
        person = self.people.person(person_id)
        if person is None:
            raise RoleRefused(unknown_person(self.people, person_id), instance=record.id)
        if not person.active:
            what = "cannot be given work" if whom else "may no longer act"
            raise RoleRefused(f"person '{person_id}' is inactive and {what}", instance=record.id)
        return person

    def _manages(self, cp: CompiledProcess, person: Person, role: str | None) -> bool:
        managers: Sequence[str] = manager_roles(cp.process)
        if role is not None:
            return role in managers and person.holds(role)
        return any(person.holds(r) for r in managers)

    @staticmethod
    def _may_work(
        cp: CompiledProcess, person: Person, owner: str | None, record: InstanceRecord
    ) -> None:
        """The assignee must hold the role owning the work (any process role when none)."""
        wanted = [owner] if owner else [r.name for r in cp.process.roles]
        if not wanted or any(person.holds(r) for r in wanted):
            return
        holds = ", ".join(person.roles) or "no role"
        raise RoleRefused(
            f"'{person.id}' cannot work '{record.id}' in state '{record.state}': that needs "
            f"role {', '.join(wanted)}, and {person.id} holds {holds}",
            instance=record.id,
        )
