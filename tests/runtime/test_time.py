"""Time in the runtime: SLA notices, batch steps, duration forms, business time, restarts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.runtime import Engine
from fulfil.engine.store import SQLiteStore, Store
from runtime_support import FIXTURES

FRIDAY_EVENING = datetime(2026, 3, 6, 21, 30, tzinfo=UTC)  # 16:30 in New York (EST)
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NEXT_MONDAY_8 = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)


@pytest.fixture
def timed() -> Catalog:
    return Catalog((load_file(FIXTURES / "timed.yaml").process,))


def make(catalog: Catalog, store: Store, at: datetime) -> tuple[Engine, ManualClock]:
    clock = ManualClock(at)
    return Engine(catalog, store=store, clock=clock), clock


def sla_events(engine: Engine, instance: str) -> list[dict[str, object]]:
    return [e.detail for e in engine.history(instance) if e.kind == "sla"]


# --- SLAs ---------------------------------------------------------------------------------


def test_sla_due_in_business_time_across_weekend_and_dst(timed: Catalog, store: Store) -> None:
    """1h due at Friday 16:30 New York is Monday 09:30 local, after the DST change (13:30 UTC)."""
    engine, _ = make(timed, store, FRIDAY_EVENING)
    instance = engine.start("timed", {"name": "Ann"}).id
    view = engine.fire(instance, "begin")
    due = datetime(2026, 3, 9, 13, 30, tzinfo=UTC)
    assert (view.due_at, view.owner) == (due, "owner")
    assert view.to_json()["due_at"] == due.isoformat()
    assert engine.tick(due - timedelta(seconds=1)) == []


def test_sla_holiday_moves_the_due_time(timed: Catalog, store: Store) -> None:
    """A Monday holiday pushes Friday 16:30's 1h due time to Tuesday 09:30 (EDT)."""
    engine, _ = make(timed, store, datetime(2026, 3, 13, 20, 30, tzinfo=UTC))
    instance = engine.start("timed", {"name": "Ann"}).id
    assert engine.fire(instance, "begin").due_at == datetime(2026, 3, 17, 13, 30, tzinfo=UTC)


def test_overdue_then_escalation_each_sent_once(timed: Catalog, store: Store) -> None:
    """Overdue: email + sms to the owner; 2 working days later an email to the manager; once.
    Without a people directory there is no phone: the sms is stored failed, saying why."""
    engine, _ = make(timed, store, FRIDAY_EVENING)
    instance = engine.start("timed", {"name": "Ann", "owner_email": "ann@example.com"}).id
    engine.fire(instance, "begin")
    due = datetime(2026, 3, 9, 13, 30, tzinfo=UTC)
    fired = engine.tick(due)
    assert [(f.timer, f.at) for f in fired] == [("sla.overdue", due)]
    assert [(m.channel, m.to, m.status) for m in engine.outbox()] == [
        ("email", ("ann@example.com",), "pending"),
        ("sms", (), "failed"),
    ]
    assert "owner: an sms goes to a person's phone" in (engine.outbox()[1].error or "")
    assert engine.show(instance).due_at == due  # still shown once the notice went out
    far = due + timedelta(days=30)
    fired = engine.tick(far)
    assert [(f.timer, f.at) for f in fired] == [
        ("sla.escalate", datetime(2026, 3, 11, 13, 30, tzinfo=UTC))
    ]
    assert engine.tick(far) == []
    assert [(m.channel, m.to) for m in engine.outbox()][2:] == [("email", ("boss@example.com",))]
    notices = sla_events(engine, instance)
    assert [(n["notice"], n["role"]) for n in notices] == [
        ("overdue", "owner"),
        ("escalation", "boss"),
    ]
    assert engine.verify(instance).ok


def test_leaving_cancels_sla_and_reentering_restarts_it(timed: Catalog, store: Store) -> None:
    """Finishing before the due time sends nothing; a self-loop re-arms from its own time."""
    engine, clock = make(timed, store, MONDAY + timedelta(hours=5))  # 09:00 New York
    first = engine.start("timed", {"name": "Ann"}).id
    engine.fire(first, "begin")
    engine.fire(first, "finish")
    second = engine.start("timed", {"name": "Bob"}).id
    engine.fire(second, "begin")
    clock.advance(timedelta(minutes=30))
    view = engine.fire(second, "again")
    assert view.due_at == MONDAY + timedelta(hours=6, minutes=30)
    assert [t.name for t in view.timers] == ["sla.overdue"]
    fired = engine.tick(MONDAY + timedelta(days=1))
    assert [(f.instance, f.at) for f in fired] == [
        (second, MONDAY + timedelta(hours=6, minutes=30))
    ]
    assert sla_events(engine, first) == []


# --- batch steps --------------------------------------------------------------------------


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_batch_sends_one_csv_per_recipient_and_moves_members(timed: Catalog, store: Store) -> None:
    """Members of the week go out at Monday 08:00 in one CSV; the leaver is not in it."""
    engine, clock = make(timed, store, MONDAY)
    ids = [engine.start("timed", {"name": n, "address": f"{n} street"}).id for n in "ABC"]
    for instance in ids:
        engine.fire(instance, "list")
        clock.advance(timedelta(hours=1))
    engine.fire(ids[1], "drop")
    assert engine.tick(NEXT_MONDAY_8 - timedelta(seconds=1)) == []
    fired = engine.tick(NEXT_MONDAY_8)
    assert [(f.instance, f.timer) for f in fired] == [("batch:timed:listed", "batch")]
    messages = engine.outbox()
    assert [(m.to, m.subject, m.body) for m in messages] == [
        (("printer@example.com",), "Packages to send", "Please send these."),
        (("owner@example.com",), "Copy: packages", "Your copy."),
    ]
    [(name, kind, text)] = messages[0].attachments
    assert (name, kind) == ("timed-listed-2026-03-02T0800.csv", "text/csv")
    assert rows(text) == [["name", "address"], ["A", "A street"], ["C", "C street"]]
    assert messages[1].attachments == messages[0].attachments
    assert [engine.show(i).state for i in ids] == ["sent", "done", "sent"]
    event = engine.history(ids[0])[-1]
    assert (event.trigger, event.at, event.detail["size"]) == ("list_sent", NEXT_MONDAY_8, 2)


def test_every_member_in_exactly_one_batch_and_empty_period_sends_nothing(
    timed: Catalog, store: Store
) -> None:
    """A late joiner goes with next week's batch; a week nobody joined sends nothing."""
    engine, clock = make(timed, store, MONDAY)
    early = engine.start("timed", {"name": "Early"}).id
    engine.fire(early, "list")
    clock.set(NEXT_MONDAY_8 + timedelta(minutes=1))
    late = engine.start("timed", {"name": "Late"}).id
    engine.fire(late, "list")
    fired = engine.tick(NEXT_MONDAY_8 + timedelta(days=21))
    assert [f.at for f in fired] == [NEXT_MONDAY_8, NEXT_MONDAY_8 + timedelta(days=7)]
    batches = [rows(m.attachments[0][2])[1:] for m in engine.outbox() if "printer" in m.to[0]]
    assert [[r[0] for r in b] for b in batches] == [["Early"], ["Late"]]
    assert engine.tick(NEXT_MONDAY_8 + timedelta(days=60)) == []


# --- timers -------------------------------------------------------------------------------


def test_every_duration_form(timed: Catalog, store: Store) -> None:
    """90m, PT24H, P1W, 1d12h and 1h of business time are each due at their own time."""
    engine, _ = make(timed, store, MONDAY)  # 04:00 in New York: business 1h is 10:00 local
    instance = engine.start("timed", {"name": "Ann"}).id
    view = engine.fire(instance, "wait")
    due = {t.name: t.due_at - MONDAY for t in view.timers}
    assert due == {
        "short": timedelta(minutes=90),
        "iso": timedelta(hours=24),
        "week": timedelta(weeks=1),
        "mixed": timedelta(days=1, hours=12),
        "business": timedelta(hours=6),
    }


def test_restart_between_scheduling_and_firing(timed: Catalog, tmp_path: Path) -> None:
    """A fresh engine on the same SQLite file fires the timer once; a third fires nothing."""
    path = tmp_path / "restart.db"
    first = SQLiteStore(path)
    engine, _ = make(timed, first, MONDAY)
    instance = engine.start("timed", {"name": "Ann"}).id
    engine.fire(instance, "wait")
    first.close()
    later = MONDAY + timedelta(minutes=91)
    second = SQLiteStore(path)
    fired = make(timed, second, later)[0].tick()
    assert [f.timer for f in fired] == ["short"]
    second.close()
    third = SQLiteStore(path)
    again, _ = make(timed, third, later)
    assert again.tick() == []
    assert again.show(instance).data["log"] == "2026-03-02: ping"
    third.close()
