"""The history chain's sealing: one new event sealed at once hashes as the two-step seal did."""

from __future__ import annotations

from datetime import UTC, datetime

from fulfil.engine.runtime.history import event_hash, seal, sealed
from fulfil.engine.store.base import EventRecord

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_sealed_matches_seal_and_verifies() -> None:
    """`sealed` gives the record `seal` gives, and its hash is the one `verify` recomputes."""
    fields = ("i-1", 7, T0, "ann", "ops", "transition", "go", "a", "b", {"n": 2}, {"z": 1, "a": 2})
    event = sealed(*fields, "f" * 64)
    unsealed = EventRecord(*fields)  # type: ignore[arg-type]
    assert event == seal(unsealed, "f" * 64)
    assert event.prev_hash == "f" * 64
    assert event.hash == event_hash(event)
    assert event.hash != sealed(*fields, "e" * 64).hash
