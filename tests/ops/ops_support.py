"""What the operations tests share (imported by name: `conftest` is ambiguous across folders)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fulfil.engine.people import PeopleDirectory, Person

ACCESS = Path(__file__).parent.parent / "runtime" / "processes" / "access.yaml"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OPS = {"actor": "sam", "role": "ops_specialist"}

TEAM = PeopleDirectory.of(
    (
        Person("sam", "Sam", "sam@example.com", ("ops_specialist",), "lee"),
        Person("lee", "Lee", "lee@example.com", ("ops_lead",), "max"),
        Person("olga", "Olga", "olga@example.com", ("operator",), None),
        Person("max", "Max", "max@example.com", (), None),
    )
)
