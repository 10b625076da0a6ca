"""Requests made of tasks: task creation, waiting and release, rules, show, queue (issue 5)."""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fulfil.cli import main
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_files, load_text
from fulfil.engine.errors import DataError, ExecutionError, TriggerNotAllowed
from fulfil.engine.model import Process
from fulfil.engine.runtime import Engine
from fulfil.engine.runtime.tasks import MAX_RULE_DEPTH
from fulfil.engine.store import MemoryStore, SQLiteStore, Store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runtime_support import OPS, T0

CHILDREN = Path(__file__).parent.parent / "processes" / "children"
TASK_ROLE = OPS  # the fixture task's transitions are fired by the ops specialist
FOUR = ("send_outreach_email", "create_leadsie_link", "intake_call", "obtain_access")


def fixture_processes() -> tuple[Process, ...]:
    paths = sorted(CHILDREN.glob("*.yaml"))
    return load_files(paths, known_processes=[p.stem for p in paths]).processes


@pytest.fixture
def catalog() -> Catalog:
    return Catalog(fixture_processes())


def request(engine: Engine, process: str = "pdm_request", id: str = "r1") -> str:
    data = {"client": "Acme"}
    if process == "pdm_request":
        data["account_manager"] = "am@acme.test"
    engine.start(process, data, id=id)
    return id


def states(engine: Engine, parent: str) -> dict[str | None, tuple[str, str]]:
    return {c.task: (c.status, c.closure_reason) for c in engine.show(parent).children}


def kinds(engine: Engine, instance: str) -> list[str]:
    return [e.kind for e in engine.history(instance)]


def ids(engine: Engine, queue: str | None = None) -> set[str]:
    view = engine.queue(queue)
    return {i.id for i in view.ready + view.in_progress}


def count_instances(store: Store) -> int:
    with store.transaction(write=False) as tx:
        return len(list(tx.instance_ids()))


# --- creation ------------------------------------------------------------------------------


def test_start_creates_the_tasks_with_derived_ids_and_data(engine: Engine) -> None:
    """Starting a request starts one child per task: `<id>.<task>`, parent/task set, data."""
    view = engine.start("pdm_request", {"client": "Acme"}, id="r1")
    assert [(c.id, c.task) for c in view.children] == [(f"r1.{t}", t) for t in FOUR]
    child = engine.show("r1.obtain_access")
    assert (child.parent, child.task, child.process) == ("r1", "obtain_access", "step_task")
    assert (child.data["client"], child.data["label"]) == ("Acme", "access")
    assert kinds(engine, "r1.obtain_access") == ["start"]


def test_a_task_whose_data_does_not_fit_refuses_the_whole_start(
    store: Store, clock: ManualClock
) -> None:
    """A task's data that its process refuses refuses the request's start; nothing is stored."""
    text = (
        (CHILDREN / "chain.yaml")
        .read_text()
        .replace(
            "a: {process: step_task, data: {client: client, label: \"'a'\"}}",
            "a: {process: step_task, data: {label: \"'a'\"}}",
        )
    )
    bad = load_text(text, "bad.yaml").process
    step = next(p for p in fixture_processes() if p.id == "step_task")
    engine = Engine(Catalog((bad, step)), store=store, clock=clock)
    with pytest.raises(DataError, match="task 'a' of chain"):
        engine.start("chain", {"client": "Acme"}, id="r1")
    assert count_instances(store) == 0


# --- waiting and release -------------------------------------------------------------------


def test_a_waiting_task_is_refused_to_people_and_in_no_queue(engine: Engine) -> None:
    """A task waiting on its dependencies: refused with their names, absent from every queue."""
    request(engine)
    with pytest.raises(TriggerNotAllowed, match="task 'obtain_access' is waiting on: intake_call"):
        engine.fire("r1.obtain_access", "begin", **TASK_ROLE)
    assert "r1.obtain_access" not in ids(engine)
    assert ids(engine) == {"r1.send_outreach_email", "r1.create_leadsie_link", "r1.intake_call"}
    shown = engine.show("r1.obtain_access")
    assert (shown.waiting_on, shown.triggers) == (("intake_call",), ())
    engine.fire("r1.intake_call", "complete", **TASK_ROLE)
    assert "r1.obtain_access" in ids(engine, "ops")
    assert engine.fire("r1.obtain_access", "begin", **TASK_ROLE).state == "in_progress"


def test_the_queue_of_a_task_comes_from_its_task_else_its_state(engine: Engine) -> None:
    """`queue` lists a task under the Task's queue when it names one, else its state's."""
    request(engine)
    assert ids(engine, "outreach") == {"r1.send_outreach_email"}
    assert ids(engine, "ops") == {"r1.create_leadsie_link", "r1.intake_call"}
    [item] = engine.queue("outreach").ready
    assert (item.queue, item.parent, item.task) == ("outreach", "r1", "send_outreach_email")


def test_a_chain_of_three_is_released_in_order(engine: Engine) -> None:
    """a -> b -> c: only a is ready at start; b is released when a completes; c after b."""
    request(engine, "chain")
    waiting = lambda: {c.task for c in engine.show("r1").children if c.waiting}  # noqa: E731
    assert (ids(engine), waiting()) == ({"r1.a"}, {"b", "c"})
    engine.fire("r1.a", "complete", **TASK_ROLE)
    assert (ids(engine), waiting()) == ({"r1.b"}, {"c"})
    assert kinds(engine, "r1.b") == ["start", "released"]
    assert kinds(engine, "r1.c") == ["start"]
    engine.fire("r1.b", "complete", **TASK_ROLE)
    assert (ids(engine), waiting()) == ({"r1.c"}, set())
    assert engine.history("r1.c")[-1].detail["by"] == "r1.b"
    engine.fire("r1.c", "complete", **TASK_ROLE)
    assert engine.show("r1").state == "done"


def test_a_failed_dependency_keeps_its_dependants_waiting(engine: Engine) -> None:
    """Only a succeeded dependency releases: a declined intake call leaves obtain_access waiting."""
    request(engine)
    engine.fire("r1.intake_call", "decline", {"actions_taken": "no reply"}, **TASK_ROLE)
    assert engine.show("r1.obtain_access").waiting_on == ("intake_call",)
    assert "r1.obtain_access" not in ids(engine)


def test_the_timers_of_a_waiting_task_count_from_its_release(
    engine: Engine, clock: ManualClock
) -> None:
    """A waiting task arms no timers; released 5h later, its 1d timer is due 1d after release."""
    request(engine)
    assert engine.show("r1.obtain_access").timers == ()
    assert [t.due_at for t in engine.show("r1.intake_call").timers] == [T0 + timedelta(days=1)]
    clock.advance(timedelta(hours=5))
    engine.fire("r1.intake_call", "complete", **TASK_ROLE)
    [timer] = engine.show("r1.obtain_access").timers
    assert timer.due_at == T0 + timedelta(hours=5, days=1)
    assert engine.history("r1.obtain_access")[-1].detail["timers"][0]["name"] == "nudge"


# --- the PDM rules -------------------------------------------------------------------------


def test_pdm_success_of_the_indicator_closes_all_four(engine: Engine) -> None:
    """Obtain access succeeds: all four tasks Closed / Complete, the request fulfilled."""
    request(engine)
    engine.fire("r1.intake_call", "begin", **TASK_ROLE)
    engine.fire("r1.create_leadsie_link", "complete", **TASK_ROLE)
    engine.fire("r1.intake_call", "complete", **TASK_ROLE)
    engine.fire("r1.obtain_access", "complete", **TASK_ROLE)
    assert states(engine, "r1") == dict.fromkeys(FOUR, ("Closed", "Complete"))
    parent = engine.show("r1")
    assert (parent.state, parent.status, parent.closure_reason) == (
        "fulfilled",
        "Closed",
        "Complete",
    )
    assert parent.data["log"].endswith("access obtained")


def test_pdm_failure_closes_three_and_puts_the_indicator_on_hold(engine: Engine) -> None:
    """Obtain access fails: three tasks Closed / Complete, Obtain access On Hold / Declined."""
    request(engine)
    engine.fire("r1.intake_call", "complete", **TASK_ROLE)
    engine.fire("r1.obtain_access", "decline", {"actions_taken": "no answer"}, **TASK_ROLE)
    expected = dict.fromkeys(FOUR[:3], ("Closed", "Complete"))
    assert states(engine, "r1") == {**expected, "obtain_access": ("On Hold", "Declined")}
    parent = engine.show("r1")
    assert (parent.state, parent.status, parent.closure_reason) == (
        "not_fulfilled",
        "On Hold",
        "Declined",
    )
    assert engine.show("r1.send_outreach_email").state == "closed"


def test_rule_firings_run_as_rule_and_skip_closed_tasks_on_record(engine: Engine) -> None:
    """Rule triggers fire as actor `rule`; one a closed task refuses is skipped and recorded."""
    request(engine)
    engine.fire("r1.intake_call", "complete", **TASK_ROLE)
    engine.fire("r1.obtain_access", "complete", **TASK_ROLE)
    closing = engine.history("r1.send_outreach_email")[-1]
    assert (closing.actor, closing.trigger, closing.detail["rule"]) == (
        "rule",
        "close_complete",
        "succeeded(obtain_access)",
    )
    [rule] = [e for e in engine.history("r1") if e.kind == "rule"]
    assert rule.detail["by"] == "r1.obtain_access"
    assert [s["target"] for s in rule.detail["skipped"]] == ["intake_call"]
    assert "closed" in rule.detail["skipped"][0]["reason"]
    assert [f["target"] for f in rule.detail["fired"]] == [
        "send_outreach_email",
        "create_leadsie_link",
        "parent",
    ]
    assert engine.verify().ok


def test_append_to_parent_and_notify_on_parent_reach_the_request(engine: Engine) -> None:
    """Task actions `append ... to_parent` and `notify on_parent` use the request's fields."""
    request(engine)
    engine.fire("r1.intake_call", "complete", **TASK_ROLE)
    engine.fire("r1.obtain_access", "decline", {"actions_taken": "no answer"}, **TASK_ROLE)
    log = engine.show("r1").data["log"].splitlines()
    assert log[:3] == [
        "2026-03-02: call: succeeded",
        "2026-03-02: access: failed: no answer",
        "2026-03-02: email: closed by the request",
    ]
    [message] = engine.outbox()
    assert (message.instance, message.to, message.subject) == (
        "r1.obtain_access",
        ("am@acme.test",),
        "access failed for Acme",
    )


def test_any_failed_reacts_to_the_first_failure_only(engine: Engine) -> None:
    """any_failed fires on the first task that fails, not on the later ones."""
    request(engine)
    engine.fire("r1.create_leadsie_link", "decline", {"actions_taken": "x"}, **TASK_ROLE)
    engine.fire("r1.send_outreach_email", "decline", {"actions_taken": "y"}, **TASK_ROLE)
    assert (engine.show("r1").state, engine.show("r1").data["failures"]) == ("in_progress", 1)


def test_a_request_may_close_waiting_tasks_and_all_completed_follows(engine: Engine) -> None:
    """A failed dependency keeps c waiting; the request's emit closes it; all_completed fires."""
    request(engine, "chain")
    engine.fire("r1.a", "complete", **TASK_ROLE)
    engine.fire("r1.b", "decline", {"actions_taken": "x"}, **TASK_ROLE)
    c = engine.show("r1.c")
    assert (c.state, c.waiting_on) == ("closed", ())
    assert "released" not in kinds(engine, "r1.c")
    parent = engine.show("r1")
    assert (parent.state, parent.data["failures"]) == ("done", 1)


def test_a_rule_trigger_an_open_instance_refuses_refuses_the_step(
    store: Store, clock: ManualClock
) -> None:
    """A rule firing refused by an open instance is a definition mistake: nothing is stored."""
    text = (CHILDREN / "chain.yaml").read_text()
    text = text.replace("dest: done", "dest: done\n    guard: failures > 5")
    broken = load_text(text, "broken.yaml").process
    step = next(p for p in fixture_processes() if p.id == "step_task")
    engine = Engine(Catalog((broken, step)), store=store, clock=clock)
    request(engine, "chain")
    engine.fire("r1.a", "complete", **TASK_ROLE)
    engine.fire("r1.b", "complete", **TASK_ROLE)
    before = engine.show("r1.c")
    with pytest.raises(ExecutionError, match=r"rule 'all_completed' of request 'r1'.*'all_done'"):
        engine.fire("r1.c", "complete", **TASK_ROLE)
    assert engine.show("r1.c") == before


def _nested(levels: int) -> Catalog:
    """A request of a request of ... `levels` deep; each closes when its one task ends."""
    texts = []
    for level in range(levels):
        task = f"tasks: {{inner: {{process: level{level + 1}}}}}\n" if level < levels - 1 else ""
        rules = "rules: [{when: all_completed, fire: [{target: parent, trigger: finish}]}]\n"
        texts.append(
            f"id: level{level}\nversion: 1\n"
            "states: {open: {initial: true}, done: {terminal: true}}\n"
            "transitions: [{trigger: finish, source: open, dest: done}]\n"
            + (task + rules if task else "")
        )
    return Catalog(tuple(load_text(t, f"level{i}.yaml").process for i, t in enumerate(texts)))


def test_nested_requests_cascade_up_to_the_depth_limit(store: Store, clock: ManualClock) -> None:
    """Outcomes climb nested requests in one step; past MAX_RULE_DEPTH levels, a clear error."""
    shallow = Engine(_nested(3), store=MemoryStore(), clock=clock)
    shallow.start("level0", id="n")
    shallow.fire("n.inner.inner", "finish")
    assert [shallow.show(i).state for i in ("n", "n.inner")] == ["done", "done"]
    deep = Engine(_nested(MAX_RULE_DEPTH + 2), store=store, clock=clock)
    deep.start("level0", id="n")
    leaf = "n" + ".inner" * (MAX_RULE_DEPTH + 1)
    with pytest.raises(ExecutionError, match="levels deep"):
        deep.fire(leaf, "finish")
    assert deep.show(leaf).state == "open"


# --- show and the CLI ----------------------------------------------------------------------


def test_show_json_lists_children_with_their_states(engine: Engine) -> None:
    """show --json: children are objects with id, task, state, status, waiting, released."""
    request(engine)
    children = engine.show("r1").to_json()["children"]
    last = children[-1]
    assert {k: last[k] for k in ("id", "task", "state", "status", "waiting", "released")} == {
        "id": "r1.obtain_access",
        "task": "obtain_access",
        "state": "new",
        "status": "New",
        "waiting": True,
        "released": False,
    }
    assert last["waiting_on"] == ["intake_call"]
    assert all(c["released"] for c in children[:3])


def test_cli_show_and_queue_of_a_request(tmp_path: Path) -> None:
    """`fulfil show` prints each task with its state and waiting/released; queue omits waiting."""
    runner = CliRunner()
    base = ["--db", f"sqlite:///{tmp_path / 'f.db'}", "--processes", str(CHILDREN)]
    base += ["--now", "2026-03-02T09:00:00Z"]
    started = runner.invoke(
        main, [*base, "start", "pdm_request", "--id", "r1", "--data", '{"client": "Acme"}']
    )
    assert started.exit_code == 0, started.output
    shown = runner.invoke(main, [*base, "show", "r1"])
    assert "task obtain_access: r1.obtain_access  new (New)  waiting on intake_call" in shown.output
    assert "task intake_call: r1.intake_call  new (New)  released" in shown.output
    as_json = json.loads(runner.invoke(main, [*base, "show", "r1", "--json"]).output)
    assert [c["task"] for c in as_json["children"]] == list(FOUR)
    queue = json.loads(runner.invoke(main, [*base, "queue", "ops", "--json"]).output)
    assert {i["id"] for i in queue["ready"]} == {"r1.create_leadsie_link", "r1.intake_call"}


# --- random dependency graphs --------------------------------------------------------------


def _dag_request(deps: list[list[int]]) -> Process:
    fields = "fields: {client: {type: string}, log: {type: text}}"
    lines = ["id: dag", "version: 1", fields, "states:"]
    lines += ["  open: {initial: true}", "  done: {terminal: true}", "tasks:"]
    for i, mine in enumerate(deps):
        after = ", ".join(f"t{d}" for d in mine)
        lines.append(
            f"  t{i}: {{process: step_task, depends_on: [{after}], data: {{client: client}}}}"
        )
    lines += ["rules: [{when: all_completed, fire: [{target: parent, trigger: finish}]}]"]
    lines += ["transitions: [{trigger: finish, source: open, dest: done}]"]
    return load_text("\n".join(lines) + "\n", "dag.yaml").process


@st.composite
def dags(draw: st.DrawFn) -> list[list[int]]:
    """Dependencies of up to 8 tasks: task i depends on some of the tasks before it."""
    size = draw(st.integers(1, 8))
    return [sorted(draw(st.sets(st.integers(0, i - 1)))) if i else [] for i in range(size)]


def _check_released(engine: Engine, deps: list[list[int]], done: set[int]) -> set[int]:
    """Every task is released exactly when all its dependencies completed; the ready ones."""
    ready: set[int] = set()
    for i, mine in enumerate(deps):
        shown = engine.show(f"r.t{i}")
        complete = set(mine) <= done
        assert bool(shown.waiting_on) == (not complete and i not in done)
        releases = kinds(engine, f"r.t{i}").count("released")
        assert releases == (1 if mine and complete else 0)
        if complete and i not in done:
            ready.add(i)
    assert ids(engine) == {f"r.t{i}" for i in ready}
    return ready


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deps=dags(), data=st.data())
def test_random_dags_release_exactly_when_dependencies_complete(
    kind: str, deps: list[list[int]], data: st.DataObject
) -> None:
    """Random DAGs, random completion order: no task is released early, none is left behind."""
    step = next(p for p in fixture_processes() if p.id == "step_task")
    with tempfile.TemporaryDirectory() as folder:
        store = MemoryStore() if kind == "memory" else SQLiteStore(Path(folder) / "f.db")
        engine = Engine(Catalog((_dag_request(deps), step)), store=store, clock=ManualClock(T0))
        engine.start("dag", {"client": "Acme"}, id="r")
        done: set[int] = set()
        while len(done) < len(deps):
            ready = _check_released(engine, deps, done)
            assert ready, "no task is released though some are not done"
            for waiting in set(range(len(deps))) - ready - done:
                with pytest.raises(TriggerNotAllowed, match="is waiting on"):
                    engine.fire(f"r.t{waiting}", "complete", **TASK_ROLE)
            chosen = data.draw(st.sampled_from(sorted(ready)))
            engine.fire(f"r.t{chosen}", "complete", **TASK_ROLE)
            done.add(chosen)
        _check_released(engine, deps, done)
        assert engine.show("r").state == "done"
        store.close()
