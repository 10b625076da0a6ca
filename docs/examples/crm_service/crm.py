"""A stand-in for the CRM the service hands work to: it creates tasks, once per idempotency key.

A real CRM client would make an HTTP call here; the key makes a job done twice (a worker that
crashed after the CRM answered) create one task.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakeCRM:
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # by idempotency key
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create_task(self, payload: dict[str, Any], *, idempotency_key: str) -> str:
        """The task's id; the same one again for a key already seen."""
        with self._lock:
            self.calls += 1
            known = self.tasks.get(idempotency_key)
            if known is None:
                known = {"id": f"CRM-{len(self.tasks) + 1}", **payload}
                self.tasks[idempotency_key] = known
            return str(known["id"])
