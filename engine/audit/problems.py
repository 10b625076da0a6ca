"""What `verify` reports: one problem found in a history, a lane or a checkpoint."""

from __future__ import annotations

from ..frozen import frozen

__all__ = ["VerifyProblem"]


@frozen
class VerifyProblem:
    """One mismatch `verify` found: the instance ("" for the whole store) and its first bad
    event (None when no single event is at fault)."""

    instance: str
    seq: int | None
    message: str

    def __str__(self) -> str:
        if not self.instance:
            return self.message
        where = f"{self.instance} event {self.seq}" if self.seq is not None else self.instance
        return f"{where}: {self.message}"
