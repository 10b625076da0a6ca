"""Engine.deliver: sent once, retried with backoff, permanent failures marked failed."""

from __future__ import annotations

from datetime import timedelta

from fulfil.engine.clock import ManualClock
from fulfil.engine.errors import DeliveryError
from fulfil.engine.messages.smtp import backoff
from fulfil.engine.runtime import Engine
from fulfil.engine.runtime.engine import MAX_DELIVERY_ATTEMPTS
from fulfil.engine.store import OutboxRecord
from runtime_support import OPS
from test_engine import started


class Recorder:
    def __init__(self, fail: Exception | None = None) -> None:
        self.sent: list[OutboxRecord] = []
        self.fail = fail

    def send(self, message: OutboxRecord) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append(message)


def queue_one(engine: Engine) -> None:
    instance = started(engine)
    engine.fire(instance, "log_call", {"outcome": "no_answer"}, **OPS)


def test_deliver_sends_pending_once(engine: Engine) -> None:
    """deliver() sends each pending message once and marks it sent."""
    queue_one(engine)
    good = Recorder()
    engine.deliver(good)
    engine.deliver(good)
    assert [m.subject for m in good.sent] == ["Email 1 for Acme Motors"]
    [message] = engine.outbox()
    assert (message.status, message.attempts, message.error) == ("sent", 1, "")
    assert message.delivered_at is not None


def test_retry_waits_for_backoff(engine: Engine, clock: ManualClock) -> None:
    """A temporary failure is retried only once `backoff(attempts)` has passed."""
    queue_one(engine)
    [failed] = engine.deliver(Recorder(ConnectionError("mail server down")))
    assert (failed.status, failed.attempts, failed.error) == ("pending", 1, "mail server down")
    assert failed.next_attempt_at == clock.now() + backoff(1)
    good = Recorder()
    assert engine.deliver(good) == []
    clock.advance(backoff(1) - timedelta(seconds=1))
    assert engine.deliver(good) == []
    clock.advance(timedelta(seconds=1))
    [sent] = engine.deliver(good)
    assert (sent.status, sent.attempts) == ("sent", 2)
    assert len(good.sent) == 1


def test_permanent_failure_is_failed_with_its_error(engine: Engine, clock: ManualClock) -> None:
    """A non-retryable DeliveryError marks the message failed at once and it is not retried."""
    queue_one(engine)
    refusal = DeliveryError("550 no such user", retryable=False, reply_code=550)
    [failed] = engine.deliver(Recorder(refusal))
    assert (failed.status, failed.attempts, failed.error) == ("failed", 1, "550 no such user")
    clock.advance(timedelta(days=1))
    assert engine.deliver(Recorder()) == []
    assert [m.status for m in engine.outbox()] == ["failed"]


def test_retries_give_up_after_the_last_attempt(engine: Engine, clock: ManualClock) -> None:
    """A message failing temporarily every time is failed after MAX_DELIVERY_ATTEMPTS."""
    queue_one(engine)
    broken = Recorder(TimeoutError("timed out"))
    statuses = []
    for _ in range(MAX_DELIVERY_ATTEMPTS + 2):
        statuses += [m.status for m in engine.deliver(broken)]
        clock.advance(timedelta(hours=2))
    assert statuses == ["pending"] * (MAX_DELIVERY_ATTEMPTS - 1) + ["failed"]
    assert engine.outbox()[0].attempts == MAX_DELIVERY_ATTEMPTS


def test_a_leased_message_is_not_sent_by_another_worker(engine: Engine, clock: ManualClock) -> None:
    """While one worker holds a message's lease no other deliver() takes it; after it, one may."""
    queue_one(engine)
    now = clock.now()
    with engine.store.transaction() as tx:
        leased = tx.claim_outbox(now, now + timedelta(minutes=10))
    assert leased is not None and leased.status == "sending"
    good = Recorder()
    assert engine.deliver(good) == []
    clock.advance(timedelta(minutes=11))  # the first worker died mid-send
    [sent] = engine.deliver(good)
    assert sent.status == "sent" and len(good.sent) == 1
