"""SLA notices to people on the manual clock: overdue to the assignee, then the assignee's
manager, then that manager's manager; an unassigned task escalates to the role's manager."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.people import PeopleDirectory, Person
from fulfil.engine.runtime import Engine
from fulfil.engine.store import Store
from runtime_support import T0

CARE = Path(__file__).parent / "cases" / "care.yaml"

TEAM = PeopleDirectory.of(
    (
        Person("ana", "Ana", "ana@example.com", ("agent",), "lee"),
        Person("bo", "Bo", "bo@example.com", ("agent",), "lee"),
        Person("lee", "Lee", "lee@example.com", ("lead",), "max"),
        Person("max", "Max", "max@example.com", (), None),
    )
)
DAY = timedelta(days=1)


def care(store: Store, clock: ManualClock, tmp_path: Path) -> Engine:
    catalog = Catalog((load_file(CARE).process,))
    return Engine(catalog, store=store, clock=clock, sheets_dir=tmp_path, people=TEAM)


def notices(engine: Engine, case: str) -> list[tuple[str, object, tuple[str, ...]]]:
    """(notice, step, addresses) of each SLA event, oldest first."""
    return [
        (e.detail["notice"], e.detail.get("step"), tuple(e.detail["to"]))
        for e in engine.history(case)
        if e.kind == "sla"
    ]


def test_an_assigned_task_climbs_the_assignees_managers_day_by_day(
    store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    """Overdue -> ana; a day later her manager lee; a day later his manager max; then stop."""
    engine = care(store, clock, tmp_path)
    case = engine.start("care", actor="ana", role="agent").id
    engine.claim(case, actor="ana")
    for day in range(1, 6):
        engine.tick(T0 + day * DAY)
    assert notices(engine, case) == [
        ("overdue", None, ("ana@example.com",)),
        ("escalation", 1, ("lee@example.com",)),
        ("escalation", 2, ("max@example.com",)),
    ]
    sla = [e for e in engine.history(case) if e.kind == "sla"]
    assert [e.at for e in sla] == [T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY]
    assert [e.detail.get("person") for e in sla] == ["ana", "lee", "max"]
    assert engine.show(case).timers == ()  # the ladder ended at the top of the chart
    assert [m.to for m in engine.outbox()] == [
        ("ana@example.com",),
        ("lee@example.com",),
        ("max@example.com",),
    ]


def test_an_unassigned_task_escalates_once_to_the_roles_manager(
    store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    """Unassigned: overdue to the role's holders, then the owner role's `manager` role."""
    engine = care(store, clock, tmp_path)
    case = engine.start("care", actor="ana", role="agent").id
    for day in range(1, 5):
        engine.tick(T0 + day * DAY)
    assert notices(engine, case) == [
        ("overdue", None, ("ana@example.com", "bo@example.com")),
        ("escalation", 1, ("lee@example.com",)),
    ]
    assert engine.history(case)[-1].detail["role"] == "lead"


def test_the_ladder_follows_whoever_holds_the_work_when_it_fires(
    store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    """Assigned after the overdue notice: the escalation goes to the new assignee's manager."""
    engine = care(store, clock, tmp_path)
    case = engine.start("care", actor="ana", role="agent").id
    engine.tick(T0 + DAY)
    clock.set(T0 + DAY + timedelta(hours=1))
    engine.assign(case, "bo", actor="lee")
    engine.tick(T0 + 2 * DAY)
    assert notices(engine, case)[-1] == ("escalation", 1, ("lee@example.com",))
    assert engine.history(case)[-1].detail["person"] == "lee"
    assert engine.history(case)[-1].detail["assignee"] == "bo"
