"""Search (`Engine.search`, `fulfil list`): filters, `where` over fields, keyset pages, on
every store; bad filters refused with a did-you-mean."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.errors import NotFound, UsageError
from fulfil.engine.runtime import Engine
from ops_support import OPS, T0


def _fill(engine: Engine, clock: ManualClock) -> list[str]:
    """Six instances a minute apart: clients C0..C5; C1, C3, C5 begun; C3 closed."""
    ids = []
    for n in range(6):
        clock.set(T0 + timedelta(minutes=n))
        view = engine.start("access", {"client": f"C{n}", "client_email": "c@x.test"}, **OPS)
        ids.append(view.id)
    clock.set(T0 + timedelta(hours=1))
    for n in (1, 3, 5):
        engine.fire(ids[n], "begin", **OPS)
    clock.set(T0 + timedelta(hours=2))
    engine.fire(ids[3], "access_obtained", **OPS)
    return ids


def _ids(page: object) -> list[str]:
    return [item.id for item in page.items]  # type: ignore[attr-defined]


def test_filters_by_state_status_open_closed_and_where(engine: Engine, clock: ManualClock) -> None:
    ids = _fill(engine, clock)
    assert _ids(engine.search()) == list(reversed(ids))  # newest first by default
    assert _ids(engine.search(state="new", sort="created_at")) == [ids[0], ids[2], ids[4]]
    assert _ids(engine.search(status="in progress", sort="id")) == [ids[1], ids[5]]
    assert _ids(engine.search(open=False)) == [ids[3]]
    assert len(engine.search(open=True).items) == 5
    assert _ids(engine.search(process="access", where='client == "C4"')) == [ids[4]]
    assert _ids(
        engine.search(process="access", where="client in ['C1', 'C2'] and state == 'new'")
    ) == [ids[2]]
    assert _ids(engine.search(queue="ops", state="in_progress", sort="id")) == [ids[1], ids[5]]
    closed = engine.search(open=False).to_json()["items"][0]
    assert closed["status"] == "Closed" and closed["closure_reason"] == "Complete"


def test_dates_and_assignee(engine: Engine, clock: ManualClock) -> None:
    ids = _fill(engine, clock)
    started = engine.search(
        started_after=T0 + timedelta(minutes=2),
        started_before=T0 + timedelta(minutes=4),
        sort="created_at",
    )
    assert _ids(started) == [ids[2], ids[3]]
    changed = engine.search(changed_after=T0 + timedelta(minutes=30), sort="updated_at")
    assert _ids(changed) == [ids[1], ids[5], ids[3]]
    engine.claim(ids[2], actor="sam")
    assert _ids(engine.search(assignee="sam")) == [ids[2]]
    assert engine.search(assignee="nobody").items == ()


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "updated_at", "-updated_at", "id"])
def test_pages_cover_every_instance_once_in_order(
    engine: Engine, clock: ManualClock, sort: str
) -> None:
    ids = _fill(engine, clock)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = engine.search(sort=sort, limit=4, cursor=cursor)
        seen += _ids(page)
        pages += 1
        cursor = page.next
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and pages == 2
    assert seen == _ids(engine.search(sort=sort, limit=50))


def test_where_pages_skip_what_does_not_match(engine: Engine, clock: ManualClock) -> None:
    ids = _fill(engine, clock)
    first = engine.search(process="access", where="state == 'new'", limit=2, sort="id")
    assert _ids(first) == [ids[0], ids[2]] and first.next is not None
    second = engine.search(
        process="access", where="state == 'new'", limit=2, sort="id", cursor=first.next
    )
    assert _ids(second) == [ids[4]] and second.next is None


def test_bad_filters_are_clear_errors(engine: Engine, clock: ManualClock) -> None:
    _fill(engine, clock)
    with pytest.raises(UsageError, match=r"unknown name 'clent' \(did you mean 'client'"):
        engine.search(process="access", where='clent == "C1"')
    with pytest.raises(UsageError, match="--where reads a process's fields"):
        engine.search(where='client == "C1"')
    with pytest.raises(UsageError, match=r"no state 'in_progres'.*did you mean 'in_progress'"):
        engine.search(state="in_progres")
    with pytest.raises(UsageError, match="no status 'Opn'"):
        engine.search(status="Opn")
    with pytest.raises(UsageError, match="no queue 'sales'"):
        engine.search(queue="sales")
    with pytest.raises(UsageError, match="cannot sort by 'name'"):
        engine.search(sort="name")
    with pytest.raises(UsageError, match="not one a page of results gave"):
        engine.search(cursor="nonsense!")
    with pytest.raises(UsageError, match="sorted by"):
        engine.search(cursor=engine.search(limit=1).next, sort="id")
    with pytest.raises(UsageError, match="1 to 500"):
        engine.search(limit=0)
    with pytest.raises(NotFound, match="unknown process 'acess'"):
        engine.search(process="acess")
    with pytest.raises(UsageError, match="bool"):
        engine.search(process="access", where="attempt + 1")
