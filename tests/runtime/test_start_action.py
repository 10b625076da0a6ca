"""The `start` action: a step starts an instance of another process in its own transaction
(an approved cancellation starts its offboarding), checked at load across the folder,
drawn, sealed in both histories, and refused as a whole when the other process refuses its data.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import load_directory, load_files
from fulfil.engine.errors import DataError, DefinitionError
from fulfil.engine.render import render_mermaid
from fulfil.engine.render.diagram import extract
from fulfil.engine.render.text import edge_text
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore, Store

SHIPPED = Path(__file__).resolve().parents[2] / "processes"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

CHANGE = """
id: change
version: 1
roles:
  clerk: {}
  approver: {}
fields:
  client: {type: string, required: true}
  kind: {type: enum, values: [cancel, pause], default: cancel}
  effective: {type: date}
start:
  input: [client, kind, effective]
states:
  pending: {initial: true}
  approved: {terminal: true}
transitions:
  - trigger: approve
    source: pending
    dest: approved
    guard: "kind == 'cancel'"
    roles: [approver]
    actions:
      - start:
          process: wrap_up
          data: {client: client, due: effective, note: "'cancelled by ' + actor"}
  - trigger: approve
    source: pending
    dest: approved
    guard: "kind == 'pause'"
    roles: [approver]
"""

WRAP_UP = """
id: wrap_up
version: 1
roles:
  team: {}
fields:
  client: {type: string, required: true}
  due: {type: date, required: true}
  note: {type: string}
start:
  input: [client]
states:
  open:
    initial: true
    timers:
      - {name: deadline, at: "due", trigger: overdue}
  done: {terminal: true}
transitions:
  - {trigger: finish, source: open, dest: done, roles: [team]}
  - trigger: overdue
    source: open
    actions:
      - notify: {channel: email, to: [team], subject: "{client} overdue"}
"""


def folder(tmp_path: Path, change: str = CHANGE, wrap_up: str = WRAP_UP) -> Path:
    (tmp_path / "change.yaml").write_text(change, "utf-8")
    (tmp_path / "wrap_up.yaml").write_text(wrap_up, "utf-8")
    return tmp_path


@pytest.fixture
def store(each_store: Store) -> Store:
    """The three stores (the runtime folder's own `store` has two)."""
    return each_store


def engine(store: Store, tmp_path: Path) -> Engine:
    catalog = load_directory(folder(_dir(tmp_path)))
    return Engine(catalog, store=store, clock=ManualClock(T0), sheets_dir=tmp_path / "sheets")


def _dir(tmp_path: Path) -> Path:
    path = tmp_path / "defs"
    path.mkdir(exist_ok=True)
    return path


def instance_ids(store: Store) -> list[str]:
    with store.transaction(write=False) as tx:
        return sorted(tx.instance_ids())


def test_the_step_starts_the_other_instance_with_its_data_and_both_histories_say_so(
    store: Store, tmp_path: Path
) -> None:
    eng = engine(store, tmp_path)
    eng.start(
        "change", {"client": "Acme", "effective": "2026-04-01"}, id="c1", actor="cy", role="clerk"
    )
    eng.fire("c1", "approve", actor="ann", role="approver")
    assert instance_ids(store) == ["c1", "c1.wrap_up"]
    started = eng.show("c1.wrap_up")
    assert started.state == "open"
    assert started.data == {"client": "Acme", "due": date(2026, 4, 1), "note": "cancelled by ann"}
    assert [t.name for t in started.timers] == ["deadline"]  # its deadline is armed at once
    step = eng.history("c1")[-1]
    assert step.trigger == "approve" and step.detail["started"] == ["c1.wrap_up"]
    first = eng.history("c1.wrap_up")[0]
    assert first.kind == "start" and first.actor == "ann" and first.detail["started_by"] == "c1"
    report = eng.verify()
    assert report.checked == 2 and report.problems == ()


def test_a_branch_without_the_action_starts_nothing(store: Store, tmp_path: Path) -> None:
    eng = engine(store, tmp_path)
    eng.start("change", {"client": "Acme", "kind": "pause"}, id="c1", actor="cy", role="clerk")
    eng.fire("c1", "approve", actor="ann", role="approver")
    assert instance_ids(store) == ["c1"]
    assert "started" not in eng.history("c1")[-1].detail


def test_data_the_other_process_refuses_refuses_the_whole_step(
    store: Store, tmp_path: Path
) -> None:
    """`due` is required by wrap_up; an unset `effective` gives it nothing: the approval is
    refused, nothing is stored (no instance, no event, no timer), and the message says why."""
    eng = engine(store, tmp_path)
    eng.start("change", {"client": "Acme"}, id="c1", actor="cy", role="clerk")
    before = eng.history("c1")
    with pytest.raises(DataError, match=r"'approve' starts wrap_up, which refused it: .*due"):
        eng.fire("c1", "approve", actor="ann", role="approver")
    assert instance_ids(store) == ["c1"]
    assert eng.show("c1").state == "pending"
    assert eng.history("c1") == before
    assert eng.verify().problems == ()


def problems(tmp_path: Path, change: str, wrap_up: str = WRAP_UP) -> list[str]:
    defs = tmp_path / "bad"
    defs.mkdir()
    with pytest.raises(DefinitionError) as raised:
        load_directory(folder(defs, change, wrap_up))
    return [str(p) for p in raised.value.problems if p.is_error]


def test_an_unknown_process_is_an_error_at_its_name(tmp_path: Path) -> None:
    found = problems(tmp_path, CHANGE.replace("process: wrap_up", "process: wrap_upp"))
    assert len(found) == 1
    assert (
        "change.yaml:24:20: error: transition 'approve' starts unknown process 'wrap_upp'"
        in found[0]
    )
    assert "did you mean 'wrap_up'" in found[0]


def test_data_naming_an_unknown_field_or_missing_a_required_one_is_an_error(
    tmp_path: Path,
) -> None:
    bad = CHANGE.replace(
        "data: {client: client, due: effective,", "data: {client: client, du: effective,"
    )
    found = problems(tmp_path, bad)
    assert any("change.yaml:25:38: error: wrap_up has no field 'du'" in p for p in found), found
    assert any(
        "change.yaml:23:9: error: starting wrap_up needs its required field 'due'" in p
        for p in found
    ), found


def test_data_of_the_wrong_type_is_an_error(tmp_path: Path) -> None:
    found = problems(tmp_path, CHANGE.replace("due: effective,", "due: client,"))
    assert any("'client' gives string, but field 'due' of wrap_up is date" in p for p in found), (
        found
    )


def test_the_schema_refuses_an_unknown_key_of_the_action(tmp_path: Path) -> None:
    found = problems(tmp_path, CHANGE.replace("process: wrap_up", "proces: wrap_up"))
    assert any("unknown key 'proces'" in p and "did you mean 'process'" in p for p in found), found


def test_a_file_alone_is_checked_for_its_own_expressions_only(tmp_path: Path) -> None:
    """Without its folder the other process is unknown: the file still loads (as a task's)."""
    path = tmp_path / "change.yaml"
    path.write_text(CHANGE, "utf-8")
    assert load_files([path]).get("change").id == "change"


def test_the_diagrams_say_which_transition_starts_what(tmp_path: Path) -> None:
    catalog = load_directory(folder(_dir(tmp_path)))
    change = catalog.get("change")
    texts = [edge_text(e) for e in extract(change).edges]
    assert "approve [kind == 'cancel'] (approver); starts wrap_up" in texts
    assert "approve [kind == 'pause'] (approver)" in texts
    assert "starts wrap_up" in render_mermaid(change)


def test_retention_starts_offboarding_only_for_an_approved_cancellation(tmp_path: Path) -> None:
    catalog = load_directory(SHIPPED)
    for change_type, started in (("cancellation", ["r.offboarding"]), ("pause", [])):
        eng = Engine(catalog, store=MemoryStore(), clock=ManualClock(T0), sheets_dir=tmp_path)
        data = {"client": "Crestview RV", "account_manager": "am@example.com"}
        eng.start(
            "retention",
            {**data, "change_type": change_type},
            id="r",
            actor="al",
            role="account_manager",
        )
        eng.fire(
            "r", "escalate", {"escalation_target": "team_lead"}, actor="al", role="account_manager"
        )
        eng.fire(
            "r",
            "submit_for_approval",
            {"effective_date": "2026-05-01"},
            actor="al",
            role="account_manager",
        )
        eng.fire("r", "approve", actor="jb", role="first_approver")
        eng.fire("r", "approve", actor="dh", role="second_approver")
        approval = [e for e in eng.history("r") if e.kind == "transition"][-1]
        assert approval.detail.get("started", []) == started
        with eng.store.transaction(write=False) as tx:
            assert sorted(tx.instance_ids()) == sorted(["r", *started])


def test_a_second_start_of_the_same_process_gets_the_next_name(tmp_path: Path) -> None:
    cancel = "guard: \"kind == 'cancel'\""
    again = CHANGE.replace(f"dest: approved\n    {cancel}", f"dest: pending\n    {cancel}")
    catalog = load_directory(folder(_dir(tmp_path), again))
    eng = Engine(catalog, store=MemoryStore(), clock=ManualClock(T0), sheets_dir=tmp_path / "s")
    eng.start(
        "change", {"client": "Acme", "effective": "2026-04-01"}, id="c1", actor="cy", role="clerk"
    )
    eng.fire("c1", "approve", actor="ann", role="approver")
    eng.fire("c1", "approve", actor="ann", role="approver")
    assert instance_ids(eng.store) == ["c1", "c1.wrap_up", "c1.wrap_up-2"]


# --- a fulfilment list is one task: the batch's `start` -------------------------------------------


def test_a_list_sent_starts_one_task_for_all_its_contacts(store: Store, tmp_path: Path) -> None:
    """Three contacts on the weekly list: one fulfilment_list_task, named after the contact
    that opened the list, with the list's facts; each contact's list_sent event names it; one
    overdue alert by email and one by SMS, then one escalation, not three of each."""
    clock = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    eng = Engine(load_directory(SHIPPED), store=store, clock=clock, sheets_dir=tmp_path)
    for name in ("ann", "bob", "cyd"):
        eng.start(
            "fulfilment_list",
            {"name": name, "address": "1 Elm St"},
            id=name,
            actor="o",
            role="owner",
        )
        eng.fire(name, "reach_step", actor="o", role="owner")
    clock.set(datetime(2026, 1, 12, 8, 0, tzinfo=UTC))
    eng.tick()
    assert instance_ids(store) == ["ann", "ann.fulfilment_list_task", "bob", "cyd"]
    task = eng.show("ann.fulfilment_list_task")
    assert task.state == "with_fulfiller"
    assert task.data["size"] == 3 and task.data["contacts"] == ["ann", "bob", "cyd"]
    assert task.data["frequency"] == "weekly"
    for name in ("ann", "bob", "cyd"):
        sent = [e for e in eng.history(name) if e.trigger == "list_sent"]
        assert sent[0].detail["started"] == ["ann.fulfilment_list_task"]
    clock.set(datetime(2026, 1, 30, 8, 0, tzinfo=UTC))
    eng.tick()
    sla = [(m.channel, m.to) for m in eng.outbox() if "Overdue" in m.subject or m.channel == "sms"]
    assert len([c for c, _ in sla if c == "sms"]) == 1
    assert len([m for m in eng.outbox() if m.to == ("fulfilment-manager@example.com",)]) == 1
    assert len(eng.outbox()) == 2 + 3  # the list to two recipients; alert, SMS, escalation
    assert eng.verify().problems == ()


LIST = """
id: contacts
version: 1
roles:
  clerk: {}
fields:
  name: {type: string, required: true}
states:
  waiting: {initial: true}
  listed:
    batch:
      every: {every: daily, at: "08:00", timezone: UTC}
      columns: [name]
      recipients: [{address: printer@example.com, subject: List}]
      trigger: sent
      start: {process: list_task, data: {count: list_size}}
  done: {terminal: true}
transitions:
  - {trigger: reach, source: waiting, dest: listed}
  - {trigger: sent, source: listed, dest: done}
"""

LIST_TASK = """
id: list_task
version: 1
roles:
  clerk: {}
fields:
  count: {type: int, required: true}
  label: {type: string, required: true}
states:
  open: {initial: true}
  closed: {terminal: true}
transitions:
  - {trigger: close, source: open, dest: closed}
"""


def test_the_lists_start_is_checked_like_an_action(tmp_path: Path) -> None:
    """The data reads the list's facts only, gives the required fields, and the process must
    exist; each error at the value at fault."""
    defs = tmp_path / "lists"
    defs.mkdir()
    (defs / "list_task.yaml").write_text(LIST_TASK)

    def errors(contacts: str) -> list[str]:
        (defs / "contacts.yaml").write_text(contacts)
        with pytest.raises(DefinitionError) as raised:
            load_directory(defs)
        return [str(p) for p in raised.value.problems if p.is_error]

    found = errors(LIST.replace("data: {count: list_size}", "data: {count: name}"))
    assert any("contacts.yaml:16:49: error: unknown name 'name'" in p for p in found), found
    found = errors(LIST)
    assert any("starting list_task needs its required field 'label'" in p for p in found), found
    found = errors(LIST.replace("process: list_task", "process: list_tsk"))
    assert any(
        "the fulfilment list of state 'listed' starts unknown process 'list_tsk'" in p
        for p in found
    ), found
