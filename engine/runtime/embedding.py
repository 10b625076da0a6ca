"""What an application embedding the engine hooks into: step hooks and idempotency keys.

A step hook is called inside the transaction of every `Engine.start` and `Engine.fire`, after
the engine wrote the step and before it commits: the application writes its own rows through
`StepContext.cursor` and they commit with the step, or, when the hook raises, nothing of the
step is stored. An idempotency key is stored in the detail of the step's event, so a repeated
call with the same key finds it (after a restart too) instead of stepping again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ConflictError
from ..frozen import frozen
from ..store.base import InstanceRecord, Transaction
from .views import InstanceView

__all__ = ["IDEMPOTENCY_KEY", "StepContext", "StepHook", "check_rev", "keyed_step_done"]

IDEMPOTENCY_KEY = "idempotency_key"


@frozen(slots=True)
class StepContext:
    """One step, as a step hook sees it inside the step's transaction.

    Attributes:
        call: "start" or "fire" (a job's completion too); "timer", "sla" or "batch" for a
            step the engine took itself.
        instance: the instance as the step leaves it (not committed yet).
        trigger: the trigger fired (None for a start or an SLA notice).
        actor: who called ("timer" for the engine's own steps, the worker for a job).
        cursor: the DB-API cursor of the step's transaction (`sqlite3.Cursor`, or a
            `psycopg.Cursor` on PostgreSQL; None on the memory store). Use it for the
            application's own tables only; never commit or roll back through it. On
            PostgreSQL a failed statement aborts the step, its error caught or not (a hook
            going on after one rolls back to a savepoint of its own first).
    """

    call: str
    instance: InstanceView
    trigger: str | None
    actor: str
    cursor: Any


StepHook = Callable[[StepContext], None]


def cursor_of(tx: Transaction) -> Any:
    """The DB-API cursor under a store transaction (None when the store has none)."""
    return getattr(tx, "db_cursor", None)


def keyed_step_done(tx: Transaction, instance_id: str, key: str) -> bool:
    """Whether a step of the instance was stored with this idempotency key."""
    return any(event.detail.get(IDEMPOTENCY_KEY) == key for event in tx.events(instance_id))


def check_rev(record: InstanceRecord, expected: int | None) -> ConflictError | None:
    """The refusal of a fire against another revision than the instance's, else None.

    It is a ConflictError whose details name the instance, the expected and the actual rev.
    """
    if expected is not None and record.rev != expected:
        return ConflictError(
            f"instance '{record.id}' is at revision {record.rev}, not {expected}: it changed "
            "since it was shown; show it again and decide",
            details={"instance": record.id, "expected": expected, "actual": record.rev},
        )
    return None
