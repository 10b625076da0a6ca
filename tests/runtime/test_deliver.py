"""Engine.deliver: pending messages are sent once; a failing adapter leaves them pending."""

from __future__ import annotations

from conftest import OPS
from test_engine import started

from engine.runtime import Engine
from engine.store import OutboxRecord


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[OutboxRecord] = []
        self.fail = fail

    def send(self, message: OutboxRecord) -> None:
        if self.fail:
            raise ConnectionError("mail server down")
        self.sent.append(message)


def test_deliver_sends_pending_once(engine: Engine) -> None:
    """deliver() sends each pending message once and marks it sent."""
    instance = started(engine)
    engine.fire(instance, "log_call", {"outcome": "no_answer"}, **OPS)
    broken = Recorder(fail=True)
    [failed] = engine.deliver(broken)
    assert (failed.status, failed.attempts, failed.error) == ("pending", 1, "mail server down")
    good = Recorder()
    engine.deliver(good)
    engine.deliver(good)
    assert [m.subject for m in good.sent] == ["Email 1 for Acme Motors"]
    assert [m.status for m in engine.outbox()] == ["sent"]
