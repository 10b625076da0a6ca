"""Refusal precedence: when every transition of a trigger refuses, the most useful one is told."""

from __future__ import annotations

from typing import Any

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.errors import GuardRefused, RequirementMissing, RoleRefused
from fulfil.engine.runtime import Engine
from fulfil.engine.store import Store

HEAD = """
id: closing
version: 1
roles:
  clerk: {title: Clerk}
  boss: {title: Boss}
  auditor: {title: Auditor}
fields:
  amount: {type: int, default: 0}
  reason: {type: string}
states:
  open:
    initial: true
  done:
    terminal: true
transitions:
  - trigger: look
    source: open
    roles: [auditor]
"""
BIG = """
  - trigger: close
    source: open
    dest: done
    guard: "amount > 100"
    roles: [boss]
"""
SMALL = """
  - trigger: close
    source: open
    dest: done
    guard: "amount <= 100"
    requires: [reason]
    roles: [clerk, boss]
"""
# Two transitions share `close`: a big amount is the boss's; a small one needs a reason.
CLOSING = HEAD + BIG + SMALL


def refusal(store: Store, clock: ManualClock, role: str, data: dict[str, Any]) -> Exception:
    catalog = Catalog((load_text(CLOSING, "closing.yaml").process,))
    engine = Engine(catalog, store=store, clock=clock)
    instance = engine.start("closing", {"amount": data.pop("amount")}).id
    with pytest.raises(Exception) as caught:
        engine.fire(instance, "close", data, actor="kim", role=role)
    return caught.value


def test_missing_requirement_beats_a_guard_refusal(store: Store, clock: ManualClock) -> None:
    """Amount 50 as boss: the second transition's guard passes but `reason` is missing."""
    error = refusal(store, clock, "boss", {"amount": 50})
    assert isinstance(error, RequirementMissing)
    assert "requires field 'reason'" in str(error)


def test_a_guard_refusal_beats_a_role_refusal(store: Store, clock: ManualClock) -> None:
    """Amount 500 as clerk: the clerk's own transition's false guard is told, not the role."""
    error = refusal(store, clock, "clerk", {"amount": 500, "reason": "paid"})
    assert isinstance(error, GuardRefused)
    assert "amount <= 100" in str(error)


def test_role_refusal_names_the_roles_that_would_fire(store: Store, clock: ManualClock) -> None:
    """Amount 500 as auditor (refused by both): only the boss's transition would fire."""
    error = refusal(store, clock, "auditor", {"amount": 500, "reason": "paid"})
    assert isinstance(error, RoleRefused)
    assert str(error) == "role 'auditor' may not fire 'close'; allowed: boss"


def test_role_refusal_yields_to_an_allowed_transition_missing_a_field(
    store: Store, clock: ManualClock
) -> None:
    """Amount 50 as clerk: the boss's transition would not fire; `reason` is what is missing."""
    error = refusal(store, clock, "clerk", {"amount": 50})
    assert isinstance(error, RequirementMissing)


def test_a_guard_refusal_beats_a_requirement_whose_guard_fails(
    store: Store, clock: ManualClock
) -> None:
    """Amount -5 as boss: the small-amount transition (first here) lacks `reason` but its guard
    is false as well, so the other transition's guard refusal is told."""
    text = HEAD + SMALL.replace("amount <= 100", "amount <= 100 and amount > 0") + BIG
    catalog = Catalog((load_text(text, "closing.yaml").process,))
    engine = Engine(catalog, store=store, clock=clock)
    instance = engine.start("closing", {"amount": -5}).id
    with pytest.raises(GuardRefused, match=r"amount > 100"):
        engine.fire(instance, "close", actor="kim", role="boss")


def test_role_refusal_when_nobody_could_fire(store: Store, clock: ManualClock) -> None:
    """As auditor with amount 50 and no reason, nothing would fire: every role is listed."""
    error = refusal(store, clock, "auditor", {"amount": 50})
    assert isinstance(error, RoleRefused)
    assert str(error) == "role 'auditor' may not fire 'close'; allowed: boss, clerk"
