"""Which refusal to report when every transition of a trigger from the current state refused.

Each transition's condition stops at its first failing check (role, then `requires`, then the
guard) and leaves one refusal in the step. When they all refused, this module looks again at
each transition (the cold path only: the conditions themselves stay as cheap as they are) and
reports the most useful refusal, the one closest to what would make the trigger fire:

    0. a `requires` field is missing from a transition whose guard passes (or reads that
       missing field): giving the field fires it
    1. a guard is false
    2. a `requires` field is missing, and the guard is false anyway
    3. the role may not fire the trigger: reported only when every transition refused the role,
       naming the roles for which one would fire (all the transitions' roles when none would)

Ties go to the transition declared first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ExecutionError, RequirementMissing, RoleRefused, TriggerNotAllowed
from .compiled import CompiledProcess, CompiledTransition, is_set
from .step import Step

__all__ = ["best_refusal"]

_GIVE_FIELD, _GUARD, _FIELD_AND_GUARD, _ROLE = range(4)


def _guard_passes(ct: CompiledTransition, variables: Mapping[str, Any], missing: set[str]) -> bool:
    """Whether the guard passes; a guard reading a missing field might once it is given."""
    guard = ct.guard
    if guard is None or guard.names & missing:
        return True
    try:
        return guard.evaluate(variables) is True
    except ExecutionError:
        return False


def _rank(ct: CompiledTransition, refusal: ExecutionError, step: Step) -> int:
    if isinstance(refusal, RoleRefused):
        return _ROLE
    if isinstance(refusal, RequirementMissing):
        missing = {n for n in ct.transition.requires if not is_set(step.vars.get(n))}
        return _GIVE_FIELD if _guard_passes(ct, step.vars, missing) else _FIELD_AND_GUARD
    return _GUARD


def _fires_for_its_roles(ct: CompiledTransition, step: Step) -> bool:
    """Whether the transition would fire for a role that may fire it (a guard reading `role`
    sees that role)."""
    t = ct.transition
    if any(not is_set(step.vars.get(name)) for name in t.requires):
        return False
    variables = {**step.vars, "role": t.roles[0]} if t.roles else step.vars
    return _guard_passes(ct, variables, set())


def _roles_refusal(
    step: Step, trigger: str, refused: list[tuple[CompiledTransition, ExecutionError]]
) -> ExecutionError:
    """The role refusal: for several transitions one naming the roles that would fire one."""
    useful = [(ct, r) for ct, r in refused if _fires_for_its_roles(ct, step)] or refused
    if step.role is None or len(refused) == 1:
        return useful[0][1]
    roles = dict.fromkeys(r for ct, _ in useful for r in ct.transition.roles)
    return RoleRefused(
        f"role '{step.role}' may not fire '{trigger}'; allowed: {', '.join(roles)}",
        instance=step.record.id,
        trigger=trigger,
    )


def best_refusal(cp: CompiledProcess, step: Step, trigger: str) -> ExecutionError:
    """The refusal to raise when no transition of `trigger` from the step's state passed."""
    refusals = step.refusals
    if not refusals:
        return TriggerNotAllowed(
            f"'{trigger}' cannot fire now", instance=step.record.id, trigger=trigger
        )
    state = step.record.state
    handlers = [
        ct
        for ct in cp.transitions
        if ct.transition.trigger == trigger and state in ct.transition.sources
    ]
    if len(handlers) != len(refusals):
        return refusals[0]  # not one refusal per transition: keep the first, as it came
    ranked = [(_rank(ct, r, step), ct, r) for ct, r in zip(handlers, refusals, strict=True)]
    best = min(rank for rank, _, _ in ranked)
    chosen = [(ct, r) for rank, ct, r in ranked if rank == best]
    if best == _ROLE:
        return _roles_refusal(step, trigger, chosen)
    return chosen[0][1]
