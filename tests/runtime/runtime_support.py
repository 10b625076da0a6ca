"""What the runtime tests share: the fixture processes' folder, a start time, start data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

FIXTURES = Path(__file__).parent / "processes"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLIENT = {"client": "Acme Motors", "client_email": "owner@acme.test"}
OPS = {"actor": "sam", "role": "ops_specialist"}
