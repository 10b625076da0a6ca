"""What the audit tests share: keys, the data of a start, engines over the runtime fixture (the
stores come from the suite's `each_store`/`store` fixtures)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fulfil.engine.audit import AuditKeys
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.runtime import Engine
from fulfil.engine.store import Store

FIXTURES = Path(__file__).parents[1] / "runtime" / "processes"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLIENT = {"client": "Acme Motors", "client_email": "owner@acme.test"}
OPS = {"actor": "sam", "role": "ops_specialist"}
KEYS = AuditKeys((("k1", b"an audit key of enough length"),))


def engine(store: Store, keys: AuditKeys = KEYS, clock: ManualClock | None = None) -> Engine:
    """An engine over the runtime's `access` fixture process, sealing with `keys`."""
    catalog = Catalog((load_file(FIXTURES / "access.yaml").process,))
    return Engine(catalog, store=store, clock=clock or ManualClock(T0), audit_keys=keys)
