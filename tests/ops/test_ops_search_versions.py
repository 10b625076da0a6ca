"""Search reads a state in the state table of the instance's own version: a state whose
status or queue changed between versions matches the instances of each version by their own."""

from __future__ import annotations

from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.errors import UsageError
from fulfil.engine.model import Process
from fulfil.engine.runtime import Engine
from fulfil.engine.store import Store

TICKET = """
id: ticket
version: {version}
fields:
  client: {{type: string, required: true}}
states:
  open: {{initial: true, status: New, queue: desk}}
  review: {{status: {review_status}, queue: {review_queue}}}
  done: {{terminal: true, status: Closed}}
transitions:
  - {{trigger: submit, source: open, dest: review}}
  - {{trigger: finish, source: review, dest: done}}
"""


def _ticket(folder: Path, version: int, review_status: str, review_queue: str) -> Process:
    """The version loaded from a file: the store keeps its source, as a deployment's does."""
    path = folder / f"ticket_v{version}.yaml"
    path.write_text(
        TICKET.format(version=version, review_status=review_status, review_queue=review_queue)
    )
    return load_file(path).process


@pytest.fixture
def versions(tmp_path: Path) -> tuple[Process, Process]:
    """Version 1's `review` is Waiting in the desk queue; version 2's, In Review in audit."""
    return _ticket(tmp_path, 1, "Waiting", "desk"), _ticket(tmp_path, 2, "In Review", "audit")


def _ids(page: object) -> list[str]:
    return [item.id for item in page.items]  # type: ignore[attr-defined]


@pytest.mark.parametrize("catalog", ["both versions", "only the new one"])
def test_each_instance_is_matched_by_its_own_versions_states(
    store: Store, clock: ManualClock, versions: tuple[Process, Process], catalog: str
) -> None:
    v1, v2 = versions
    old = Engine(Catalog((v1,)), store=store, clock=clock)
    first = old.start("ticket", {"client": "A"}).id
    old.fire(first, "submit")
    processes = (v1, v2) if catalog == "both versions" else (v2,)
    engine = Engine(Catalog(processes), store=store, clock=clock)
    second = engine.start("ticket", {"client": "B"}).id
    engine.fire(second, "submit")
    assert engine.show(first).version == 1 and engine.show(second).version == 2

    assert _ids(engine.search(status="Waiting")) == [first]
    assert _ids(engine.search(status="In Review")) == [second]
    assert _ids(engine.search(process="ticket", status="in review")) == [second]
    assert _ids(engine.search(queue="desk", state="review")) == [first]
    assert _ids(engine.search(queue="audit")) == [second]
    assert _ids(engine.search(state="review", sort="id")) == sorted([first, second])
    assert _ids(engine.search(process="ticket", version=1, state="review")) == [first]
    with pytest.raises(UsageError, match="no status 'Waitin'"):
        engine.search(status="Waitin")


def test_a_version_asked_for_reads_only_its_own_states(
    store: Store, clock: ManualClock, versions: tuple[Process, Process]
) -> None:
    engine = Engine(Catalog(versions), store=store, clock=clock)
    engine.start("ticket", {"client": "B"})
    with pytest.raises(UsageError, match="no status 'Waiting' in process ticket"):
        engine.search(process="ticket", version=2, status="Waiting")


@pytest.mark.parametrize("catalog", ["both versions", "only the new one"])
def test_the_queue_reads_each_instance_in_its_own_version(
    store: Store, clock: ManualClock, versions: tuple[Process, Process], catalog: str
) -> None:
    """`fulfil queue` shows an instance in its version's queue, with its version's status,
    and agrees with a search by queue."""
    v1, v2 = versions
    old = Engine(Catalog((v1,)), store=store, clock=clock)
    first = old.start("ticket", {"client": "A"}).id
    old.fire(first, "submit")
    engine = Engine(
        Catalog((v1, v2) if catalog == "both versions" else (v2,)), store=store, clock=clock
    )
    second = engine.start("ticket", {"client": "B"}).id
    engine.fire(second, "submit")
    desk = engine.queue("desk").to_json()["in_progress"]
    audit = engine.queue("audit").to_json()["in_progress"]
    assert [(i["id"], i["status"]) for i in desk] == [(first, "Waiting")]
    assert [(i["id"], i["status"]) for i in audit] == [(second, "In Review")]
    for queue, items in (("desk", desk), ("audit", audit)):
        found = engine.search(queue=queue, initial=False, open=True)
        assert _ids(found) == [i["id"] for i in items]
