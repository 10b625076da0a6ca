"""Every error fulfil raises on purpose, under one root.

    FulfilError
    ├── DefinitionError        a process definition is wrong (carries Problems with locations)
    ├── UsageError             a caller asked for something impossible (unknown process, bad URL)
    │   └── AlreadyExists      an instance with that id exists already
    ├── ExecutionError         a runtime request was refused; nothing was stored
    │   ├── DataError          start/fire data does not fit the declared fields
    │   ├── TriggerNotAllowed  the trigger cannot fire in the current state
    │   ├── GuardRefused       the trigger's guard is false
    │   ├── RequirementMissing a `requires` field is not set
    │   ├── RoleRefused        the actor's role may not fire the trigger
    │   │   └── IdentityRefused  no such person, an inactive one, or a role they do not hold
    │   └── InstanceClosed     the instance is in a terminal state
    ├── NotFound               no instance (or process) by that id
    ├── ConflictError          another writer changed the instance first (version check)
    ├── StoreError             the database is unreachable or refused the operation
    ├── ClockError             the clock was asked to go backwards, or a time is in the past
    └── DeliveryError          a message could not be delivered (SMTP); `retryable` says if later

The CLI catches `FulfilError`, prints its one-line message to stderr and exits non-zero.
An application reads `code`, a stable identifier of the class (it never changes wording with
the message), and `details`, a mapping of the facts the message names (e.g. `instance`,
`trigger`; `expected` and `actual` revisions of a conflict).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field
from typing import Any, ClassVar

from .frozen import ahead, frozen


@frozen(order=True)
class Location:
    """Where something was written: file, 1-based line and column, and the path in the document."""

    file: str = "<string>"
    line: int = 0
    column: int = 0
    path: tuple[str | int, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def pointer(self) -> str:
        """The document path as a dotted pointer, e.g. `states.new.timers[0].after`."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out


UNKNOWN = ahead(Location, file="<string>", line=0, column=0, path=())


@frozen(order=True)
class Problem:
    """One finding about a definition: an error, or a warning that does not block loading."""

    location: Location
    message: str
    severity: str = "error"  # "error" | "warning"
    hint: str = field(default="", compare=False)

    def __str__(self) -> str:
        text = f"{self.location}: {self.severity}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class FulfilError(Exception):
    """Root of every error fulfil raises deliberately.

    Args:
        message: one line for a person, saying what to do.
        details: the facts behind the message, for a program (JSON-compatible values).
    """

    exit_code = 1
    code: ClassVar[str] = "error"

    def __init__(self, message: str = "", *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details: dict[str, Any] = dict(details or {})


class UsageError(FulfilError):
    """The caller asked for something that cannot be done as asked."""

    exit_code = 2
    code = "usage"


class AlreadyExists(UsageError):
    """An instance with the id given to `start` exists already (`details["instance"]`)."""

    code = "already_exists"


class DefinitionError(FulfilError):
    """A process definition has errors; `problems` lists every one with its location."""

    code = "definition_invalid"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(sorted(problems))
        errors = [p for p in self.problems if p.is_error]
        first = str(errors[0]) if errors else "invalid definition"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more, details={"problems": [str(p) for p in errors]})

    @property
    def errors(self) -> Sequence[Problem]:
        return [p for p in self.problems if p.is_error]


class ExecutionError(FulfilError):
    """A start or fire was refused; nothing was stored."""

    code = "refused"

    def __init__(
        self,
        message: str,
        *,
        instance: str | None = None,
        trigger: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        facts = {"instance": instance, "trigger": trigger} | dict(details or {})
        super().__init__(message, details={k: v for k, v in facts.items() if v is not None})
        self.instance = instance
        self.trigger = trigger


class DataError(ExecutionError):
    """Data given to start/fire does not match the process's fields."""

    code = "data_invalid"


class TriggerNotAllowed(ExecutionError):
    """The trigger is unknown or cannot fire from the instance's current state."""

    code = "trigger_not_allowed"


class GuardRefused(ExecutionError):
    """The transition's guard evaluated to false."""

    code = "guard_refused"


class RequirementMissing(ExecutionError):
    """A field listed in the transition's `requires` is not set."""

    code = "requirement_missing"


class RoleRefused(ExecutionError):
    """The actor's role is not among the roles allowed to fire the transition."""

    code = "role_refused"


class IdentityRefused(RoleRefused):
    """The caller is not a person of the directory, is inactive, or lacks the role."""


class InstanceClosed(ExecutionError):
    """The instance has reached a terminal state; nothing more can fire."""

    code = "instance_closed"


class NotFound(FulfilError):
    """No instance, process or record by that name."""

    code = "not_found"


class ConflictError(FulfilError):
    """Another writer updated the instance since it was read (optimistic concurrency)."""

    code = "conflict"


class JobRefused(FulfilError):
    """A job cannot be completed or failed as asked: it is done, cancelled, not fetched, or
    another worker holds it now (`details`: job, state, reason, and the attempts)."""

    code = "job_refused"


class StoreError(FulfilError):
    """The store cannot be reached or refused the operation."""

    code = "store_error"


class ClockError(FulfilError):
    """A time that cannot be used: the clock going backwards, a timer in the past."""

    code = "clock"


class DeliveryError(FulfilError):
    """A message was not delivered; `retryable` is false when trying again cannot help.

    `reply_code` is the server's SMTP reply code, when there was one.
    """

    code = "delivery_failed"

    def __init__(self, message: str, *, retryable: bool, reply_code: int | None = None) -> None:
        super().__init__(message, details={"retryable": retryable, "reply_code": reply_code})
        self.retryable = retryable
        self.reply_code = reply_code


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A hint naming the closest choice to a misspelt word, or the list of choices."""
    import difflib

    options = sorted(set(choices))
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if options and len(options) <= 12:
        return "expected one of: " + ", ".join(options)
    return ""
