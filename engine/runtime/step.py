"""The unit of work of one event: what a transition reads and what its actions produce.

Conditions and actions (run inside `transitions` callbacks) only write into a `Step`; the
engine turns it into store writes inside the event's transaction afterwards, so an action that
fails leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import ExecutionError
from ..frozen import record
from ..model import Emit
from .recipients import Resolver

if TYPE_CHECKING:
    from ..people.directory import Directory
    from ..store.base import InstanceRecord
    from .compiled import CompiledProcess, CompiledTransition

__all__ = ["JobRequest", "Message", "Step", "builtins"]


def builtins(state: str, now: datetime, actor: str, role: str | None) -> dict[str, Any]:
    """The variables every expression sees besides the fields."""
    return {"state": state, "now": now, "today": now.date(), "actor": actor, "role": role}


@record
class Message:
    """A notification an action produced, addressed and rendered, not yet in the outbox."""

    channel: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    body: str
    unresolved: tuple[str, ...] = ()  # "name: reason" for each name that reached nobody


@record
class JobRequest:
    """A job an action produced, its payload computed (JSON values), not yet stored."""

    type: str
    trigger: str
    payload: dict[str, Any]
    result: tuple[str, ...]
    retries: int


@record
class Step:
    """One event in the making.

    Attributes:
        vars: the instance's typed field values plus the builtins `state`, `now`, `today`,
            `actor`, `role` — the variables every expression of the event sees.
        internal: fired by the engine itself (a timer, an emit): role checks do not apply.
        parent: returns the parent's compiled process and typed values (None without parent).
        people: the directory messages to roles are resolved through (None: open mode).
    """

    cp: CompiledProcess
    record: InstanceRecord
    vars: dict[str, Any]
    actor: str
    role: str | None
    now: datetime
    internal: bool = False
    parent: Callable[[], tuple[CompiledProcess, dict[str, Any]] | None] = lambda: None
    refusals: list[ExecutionError] = field(default_factory=list)
    transition: CompiledTransition | None = None
    activities: list[dict[str, Any]] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    rows: list[tuple[str, tuple[tuple[str, str], ...]]] = field(default_factory=list)
    parent_lines: list[tuple[str, str]] = field(default_factory=list)
    emits: list[Emit] = field(default_factory=list)
    jobs: list[JobRequest] = field(default_factory=list)
    starts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # process, its data
    people: Directory | None = None

    def resolver(self) -> Resolver:
        """Resolves message recipients for the instance as it is now (runtime.recipients)."""
        record = self.record
        state = self.cp.process.find_state(record.state)
        return Resolver(
            self.cp.process,
            self.vars,
            self.people,
            record.assignee,
            None if state is None else state.owner,
            None if state is None else state.queue,
        )
