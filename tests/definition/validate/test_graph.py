"""Each graph check on a minimal process that shows it, next to a near-identical one that passes."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import pytest
from fulfil.engine.definition.validate.graph import graph_problems
from fulfil.engine.errors import Location, Problem
from fulfil.engine.model import (
    Batch,
    Emit,
    Expr,
    Field,
    FieldType,
    Notify,
    Process,
    Recurrence,
    Role,
    Rule,
    Sla,
    State,
    Task,
    Template,
    Timer,
    Transition,
)

_lines = itertools.count(1)


def at() -> Location:
    """A fresh location: each model object gets its own line so tests can tell them apart."""
    return Location("t.yaml", next(_lines), 3)


def state(name: str, **kw: object) -> State:
    return State(name, loc=at(), **kw)  # type: ignore[arg-type]


def move(trigger: str, source: str | tuple[str, ...], dest: str, **kw: object) -> Transition:
    sources = (source,) if isinstance(source, str) else source
    return Transition(trigger, sources, dest, loc=at(), **kw)  # type: ignore[arg-type]


def timer(name: str, trigger: str, after: str = "7d") -> Timer:
    return Timer(name, trigger, after=timedelta(days=int(after[:-1])), loc=at())


def base(**changes: object) -> Process:
    """A small valid process: new -> working (timer, SLA) -> closed."""
    process = Process(
        id="demo",
        version=1,
        fields=(Field("done", FieldType.BOOL, loc=at()),),
        roles=(Role("clerk", loc=at()),),
        states=(
            state("new", initial=True, owner="clerk"),
            state(
                "working",
                timers=(timer("nudge", "remind"),),
                sla=Sla(timedelta(days=2), "clerk", loc=at()),
            ),
            state("closed", terminal=True),
        ),
        transitions=(
            move("start", "new", "working", roles=("clerk",)),
            move("remind", "working", "working"),
            move("finish", "working", "closed", guard=Expr("done")),
        ),
        loc=at(),
    )
    return replace(process, **changes)  # type: ignore[arg-type]


def errors(process: Process, **kw: object) -> list[Problem]:
    return [p for p in graph_problems(process, **kw) if p.is_error]  # type: ignore[arg-type]


def warnings(process: Process) -> list[Problem]:
    return [p for p in graph_problems(process) if not p.is_error]


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def with_states(process: Process, *extra: State) -> Process:
    return replace(process, states=process.states + extra)


def with_moves(process: Process, *extra: Transition) -> Process:
    return replace(process, transitions=process.transitions + extra)


def test_base_process_has_no_problems() -> None:
    """The reference process passes every check, warnings included."""
    assert graph_problems(base()) == []


def test_transition_to_unknown_state_suggests_the_close_name() -> None:
    """A misspelt destination is an error at the transition, with a did-you-mean hint."""
    bad = move("finish_early", "working", "closd")
    problem = only(errors(with_moves(base(), bad)))
    assert problem.message == "transition 'finish_early' goes to unknown state 'closd'"
    assert problem.location == bad.loc
    assert problem.hint == "did you mean 'closed'?"
    assert errors(with_moves(base(), replace(bad, dest="closed"))) == []


def test_misspelt_state_does_not_also_report_traps() -> None:
    """The unreachable and trap errors a misspelt destination causes are not reported."""
    finish = base().transitions[2]
    process = base(transitions=(*base().transitions[:2], replace(finish, dest="closd")))
    problem = only(errors(process))
    assert problem.message == "transition 'finish' goes to unknown state 'closd'"


def test_transition_from_unknown_state() -> None:
    """A misspelt source is an error at the transition."""
    bad = move("finish_early", "workin", "closed")
    problem = only(errors(with_moves(base(), bad)))
    assert problem.message == "transition 'finish_early' comes from unknown state 'workin'"
    assert problem.location == bad.loc
    assert problem.hint == "did you mean 'working'?"


def test_unreachable_state() -> None:
    """A state nothing leads to is an error at the state; one transition into it fixes it."""
    orphan = state("limbo")
    out = move("give_up", "limbo", "closed")
    problem = only(errors(with_moves(with_states(base(), orphan), out)))
    assert problem.message == "state 'limbo' cannot be reached from the initial state 'new'"
    assert problem.location == orphan.loc
    fixed = with_moves(with_states(base(), orphan), out, move("park", "working", "limbo"))
    assert errors(fixed) == []


def test_state_reached_only_by_a_timer_is_reachable() -> None:
    """Timer edges count as ways forward."""
    later = state("later")
    process = base(
        states=(
            base().states[0],
            replace(base().states[1], timers=(timer("nudge", "expire"),)),
            base().states[2],
            later,
        ),
        transitions=(
            *base().transitions[:1],
            move("finish", "working", "closed", guard=Expr("done")),
            move("expire", "working", "later"),
            move("close_later", "later", "closed"),
        ),
    )
    assert errors(process) == []


def test_trap_state() -> None:
    """A state with no way to a terminal state is a trap, unless it is declared waiting."""
    stuck = state("stuck")
    into = move("park", "working", "stuck")
    problem = only(errors(with_moves(with_states(base(), stuck), into)))
    assert problem.message == "state 'stuck' is a trap: no terminal state can be reached from it"
    assert problem.location == stuck.loc
    assert "waiting: true" in problem.hint
    waiting = replace(stuck, waiting=True)
    assert errors(with_moves(with_states(base(), waiting), into)) == []


def test_cycle_without_exit_is_a_trap_for_each_state() -> None:
    """States going round in a loop with no way out are each reported."""
    a, b = state("loop_a"), state("loop_b")
    process = with_moves(
        with_states(base(), a, b),
        move("to_a", "working", "loop_a"),
        move("to_b", "loop_a", "loop_b"),
        move("back", "loop_b", "loop_a"),
    )
    assert [p.location for p in errors(process)] == [a.loc, b.loc]


def test_terminal_state_with_outgoing_transition() -> None:
    """A transition leaving a terminal state is an error at the transition."""
    reopen = move("reopen", "closed", "working")
    problem = only(errors(with_moves(base(), reopen)))
    assert problem.message == "transition 'reopen' leaves terminal state 'closed'"
    assert problem.location == reopen.loc


def test_terminal_state_with_timer() -> None:
    """A timer on a terminal state is an error at the timer."""
    purge = timer("purge", "remind")
    states = (*base().states[:2], replace(base().states[2], timers=(purge,)))
    problems = errors(base(states=states))
    assert any(
        p.message == "terminal state 'closed' has timer 'purge'" and p.location == purge.loc
        for p in problems
    )


def test_star_source_does_not_leave_terminal_states() -> None:
    """`source: "*"` means every non-terminal state, so it never leaves a terminal one."""
    cancel = move("cancel", "*", "closed")
    assert errors(with_moves(base(), cancel)) == []


def test_two_unguarded_transitions_on_one_trigger() -> None:
    """Two unguarded transitions on the same trigger from one state are nondeterministic."""
    first = move("finish", "working", "closed")
    second = move("finish", "working", "new")
    process = base(transitions=(base().transitions[0], base().transitions[1], first, second))
    problem = only(errors(process))
    assert problem.message == (
        "two transitions on 'finish' from state 'working' can both fire: both have no guard"
    )
    assert problem.location == second.loc
    assert str(first.loc) in problem.hint
    guarded = replace(second, guard=Expr("not done"))
    assert errors(replace(process, transitions=(*process.transitions[:3], guarded))) == []


def test_identical_guards_are_nondeterministic() -> None:
    """Identical guard text (whitespace aside) on one trigger from one state is an error."""
    twin = move("finish", "working", "new", guard=Expr("  done "))
    problem = only(errors(with_moves(base(), twin)))
    assert problem.message == (
        "two transitions on 'finish' from state 'working' can both fire: both have the same "
        "guard `done`"
    )
    assert problem.location == twin.loc
    different = replace(twin, guard=Expr("not done"))
    assert errors(with_moves(base(), different)) == []


def test_timer_naming_an_unhandled_trigger() -> None:
    """A timer whose trigger no transition from its state handles is an error at the timer."""
    bad = timer("nudge", "remnd")
    states = (base().states[0], replace(base().states[1], timers=(bad,)), base().states[2])
    problem = only(errors(base(states=states)))
    assert problem.message == (
        "timer 'nudge' of state 'working' fires 'remnd', which no transition from 'working' handles"
    )
    assert problem.location == bad.loc
    assert problem.hint == "did you mean 'remind'?"


def test_batch_naming_an_unhandled_trigger() -> None:
    """A batch step whose trigger no transition from its state handles is an error."""
    batch = Batch(Recurrence("weekly"), ("done",), (), "sent", loc=at())
    states = (base().states[0], replace(base().states[1], batch=batch), base().states[2])
    problem = only(errors(base(states=states)))
    assert problem.message == (
        "batch step of state 'working' fires 'sent', which no transition from 'working' handles"
    )
    assert problem.location == batch.loc
    fixed = with_moves(base(states=states), move("sent", "working", "closed", guard=Expr("x")))
    assert errors(fixed) == []


def test_undeclared_role_in_transition() -> None:
    """A role a transition allows must be declared."""
    bad = move("finish_now", "working", "closed", roles=("clerc",))
    problem = only(errors(with_moves(base(), bad)))
    assert problem.message == "transition 'finish_now' allows role 'clerc', which is not declared"
    assert problem.location == bad.loc
    assert problem.hint == "did you mean 'clerk'?"


@pytest.mark.parametrize("where", ["owner", "sla"])
def test_undeclared_role_as_owner(where: str) -> None:
    """State owners and SLA owners must be declared roles."""
    working = base().states[1]
    if where == "owner":
        changed = replace(working, owner="boss")
        loc, what = changed.loc, "state 'working' has owner"
    else:
        assert working.sla is not None
        changed = replace(working, sla=replace(working.sla, owner="boss"))
        assert changed.sla is not None
        loc, what = changed.sla.loc, "the SLA of state 'working' has owner"
    problem = only(errors(base(states=(base().states[0], changed, base().states[2]))))
    assert problem.message == f"{what} 'boss', which is not declared"
    assert problem.location == loc


def test_notify_recipient_must_be_role_field_or_address() -> None:
    """Notify recipients are roles, fields or literal addresses; anything else is an error."""
    note = Notify("email", ("clerk", "ops@example.com"), Template("hi"), cc=("clrk",), loc=at())
    bad = move("finish_now", "working", "closed", actions=(note,))
    problem = only(errors(with_moves(base(), bad)))
    assert problem.message == (
        "transition 'finish_now' notifies 'clrk', which is neither a declared role nor a field"
    )
    assert problem.location == note.loc
    fine = replace(bad, actions=(replace(note, cc=("clerk",)),))
    assert errors(with_moves(base(), fine)) == []


def test_role_manager_must_be_declared() -> None:
    """A role's manager is a declared role."""
    clerk = Role("clerk", manager="lead", loc=at())
    problem = only(errors(base(roles=(clerk,))))
    assert problem.message == "role 'clerk' has manager 'lead', which is not declared"
    assert problem.location == clerk.loc


def test_state_left_only_by_timers_is_a_warning() -> None:
    """A state every exit of which is its own timer's trigger gets a warning."""
    sleeping = state("sleeping", timers=(timer("wake", "wake_up"),))
    process = with_moves(
        with_states(base(), sleeping),
        move("sleep", "working", "sleeping"),
        move("wake_up", "sleeping", "working"),
    )
    assert errors(process) == []
    problem = only(warnings(process))
    assert problem.message == "state 'sleeping' can only be left by its timers"
    assert problem.location == sleeping.loc
    assert warnings(with_moves(process, move("wake_now", "sleeping", "working"))) == []


def test_unused_field_and_role_are_warnings() -> None:
    """Fields and roles nothing names are warnings at their declarations."""
    note = Field("note", FieldType.TEXT, loc=at())
    auditor = Role("auditor", loc=at())
    process = base(fields=(*base().fields, note), roles=(*base().roles, auditor))
    found = warnings(process)
    assert [(p.message, p.location) for p in found] == [
        ("field 'note' is never used", note.loc),
        ("role 'auditor' is never used", auditor.loc),
    ]
    used = with_moves(
        process, move("jot", "working", "working", requires=("note",), roles=("auditor",))
    )
    assert warnings(used) == []


def test_field_used_in_a_template_counts_as_used() -> None:
    """A field named only inside a template hole is used."""
    note = Field("client", FieldType.STRING, loc=at())
    mail = Notify("email", ("clerk",), Template("About {upper(client)}"), loc=at())
    process = with_moves(
        base(fields=(*base().fields, note)), move("mail", "working", "working", actions=(mail,))
    )
    assert warnings(process) == []


def _tasks(*tasks: Task, rules: tuple[Rule, ...] = ()) -> Process:
    return base(tasks=tasks, rules=rules)


def test_unknown_task_process_only_when_known_processes_given() -> None:
    """A task's process is checked against the known ids, with a did-you-mean hint."""
    task = Task("intake", "pdm_tsk", loc=at())
    assert errors(_tasks(task)) == []
    problem = only(errors(_tasks(task), known_processes={"pdm_task", "demo"}))
    assert problem.message == "task 'intake' starts unknown process 'pdm_tsk'"
    assert problem.hint == "did you mean 'pdm_task'?"
    assert problem.location == task.loc


def test_depends_on_unknown_task() -> None:
    """depends_on must name a declared task."""
    first = Task("intake", "p", loc=at())
    second = Task("access", "p", depends_on=("intak",), loc=at())
    problem = only(errors(_tasks(first, second)))
    assert problem.message == "task 'access' depends on unknown task 'intak'"
    assert problem.location == second.loc
    assert errors(_tasks(first, replace(second, depends_on=("intake",)))) == []


def test_dependency_cycle_lists_the_cycle() -> None:
    """A depends_on cycle is one error at its first task, naming the cycle in order."""
    a = Task("a", "p", depends_on=("b",), loc=at())
    b = Task("b", "p", depends_on=("c",), loc=at())
    c = Task("c", "p", depends_on=("a",), loc=at())
    d = Task("d", "p", depends_on=("a",), loc=at())
    problem = only(errors(_tasks(a, b, c, d)))
    assert problem.message == "tasks depend on each other in a cycle: a -> b -> c -> a"
    assert problem.location == a.loc
    assert errors(_tasks(a, b, replace(c, depends_on=()), d)) == []


def test_task_depending_on_itself() -> None:
    """A task that depends on itself is a cycle of one."""
    a = Task("a", "p", depends_on=("a",), loc=at())
    assert only(errors(_tasks(a))).message == "tasks depend on each other in a cycle: a -> a"


def test_rule_naming_unknown_task() -> None:
    """Rules name declared tasks, both in `task` and as fire targets."""
    task = Task("access", "p", indicator=True, loc=at())
    rule = Rule("succeeded", task="acess", fire=(("parent", "finish"),), loc=at())
    problem = only(errors(_tasks(task, rules=(rule,))))
    assert problem.message == "rule 'succeeded' names unknown task 'acess'"
    assert problem.location == rule.loc
    target = Rule("failed", fire=(("acces", "close"),), loc=at())
    problem = only(errors(_tasks(task, rules=(target,))))
    assert problem.message == "rule 'failed' fires 'close' on unknown task 'acces'"
    assert errors(_tasks(task, rules=(replace(rule, task="access"),))) == []


def test_emit_to_unknown_task() -> None:
    """An emit action's target is parent, children or a declared task."""
    emit = Emit("go", "intake", loc=at())
    process = with_moves(base(), move("ping", "working", "working", actions=(emit,)))
    problem = only(errors(process))
    assert problem.message == "transition 'ping' emits 'go' to unknown task 'intake'"
    assert problem.location == emit.loc
    assert errors(replace(process, tasks=(Task("intake", "p", loc=at()),))) == []


def test_more_than_one_indicator_task() -> None:
    """At most one task is the indicator."""
    a = Task("a", "p", indicator=True, loc=at())
    b = Task("b", "p", indicator=True, loc=at())
    problem = only(errors(_tasks(a, b)))
    assert problem.message == "task 'b' is a second indicator task ('a' is one)"
    assert problem.location == b.loc
    assert errors(_tasks(a, replace(b, indicator=False))) == []


def test_missing_initial_and_terminal_states() -> None:
    """A process with no initial or no terminal state is reported at the process."""
    states = (replace(base().states[0], initial=False), *base().states[1:])
    assert [p.message for p in errors(base(states=states))] == [
        "no state is marked `initial: true`"
    ]
    states = (*base().states[:2], replace(base().states[2], terminal=False))
    messages = [p.message for p in errors(base(states=states))]
    assert "no state is marked `terminal: true`" in messages


def test_problems_are_sorted_by_location() -> None:
    """The result is sorted by file, line and column."""
    process = with_moves(base(), move("a1", "working", "nowhere"), move("a0", "nowhere", "new"))
    found = graph_problems(process)
    assert found == sorted(found)
    assert len(found) == 2
