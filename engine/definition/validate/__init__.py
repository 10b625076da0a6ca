"""Every check on a built process model, in one call: `process_problems(process)`.

The JSON Schema check (`schema`) runs earlier, on the YAML document; `process_problems`
runs on the model: names of fields and calendars (`references`), expressions and templates
with their expected types (`engine.expressions`), and the graph, role and task checks
(`graph`). Problems are returned sorted and without duplicates; warnings do not stop loading.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping

from ...errors import DefinitionError, Problem
from ...expressions import (
    ExprType,
    check_expr,
    check_template,
    compile_expr,
    enum_values,
    field_types,
)
from ...expressions.exprtypes import BATCH_FACTS
from ...model import (
    AppendLine,
    AppendRow,
    CreateJob,
    Expr,
    Notify,
    Process,
    RecordActivity,
    SetField,
    StartProcess,
    Template,
)
from .graph import graph_problems
from .inputs import input_problems
from .references import Locator, reference_problems

__all__ = ["expression_problems", "process_problems"]

_TIME_TYPES = (ExprType.DATE, ExprType.DATETIME, ExprType.ANY)


def _expressions(process: Process) -> Iterator[tuple[Expr, ExprType | None]]:
    """Every expression of the process with the type it must have (None: any)."""
    env_types = field_types(process)
    for transition in process.transitions:
        if transition.guard is not None:
            yield transition.guard, ExprType.BOOL
    for action in process.all_actions():
        if isinstance(action, SetField):
            yield action.value, env_types.get(action.field)
        elif isinstance(action, RecordActivity) and action.outcome is not None:
            yield action.outcome, None
        elif isinstance(action, CreateJob):
            for _, expr in action.payload:
                yield expr, None
        elif isinstance(action, StartProcess):
            yield from ((expr, None) for _, expr in action.data)
    yield from ((expr, ExprType.BOOL) for expr in _timer_conditions(process))
    for task in process.tasks:
        for _, expr in task.data:
            yield expr, None
    for invariant in process.invariants:
        yield invariant.expr, ExprType.BOOL


def _timer_conditions(process: Process) -> Iterator[Expr]:
    """The timers' `unless` conditions."""
    for state in process.all_states():
        yield from (t.unless for t in state.timers if t.unless is not None)


def _templates(process: Process) -> Iterator[Template]:
    if process.instance_title is not None:
        yield process.instance_title
    for action in process.all_actions():
        if isinstance(action, AppendLine):
            yield action.line
        elif isinstance(action, RecordActivity) and action.note is not None:
            yield action.note
        elif isinstance(action, Notify):
            yield action.subject
            yield action.body
        elif isinstance(action, AppendRow):
            yield from (template for _, template in action.columns)


def _timer_time(expr: Expr, env: Mapping[str, ExprType]) -> list[Problem]:
    try:
        compiled = compile_expr(expr, env)
    except DefinitionError as exc:
        return list(exc.problems)
    if compiled.type in _TIME_TYPES:
        return []
    message = f"a timer's `at` must give a date or a datetime, but it gives {compiled.type.value}"
    return [Problem(expr.loc, message)]


def _batch_start_problems(process: Process) -> Iterator[Problem]:
    """A fulfilment list's `start` data reads the list's facts, not the fields."""
    for state in process.states:
        if state.batch is not None and state.batch.start is not None:
            for _, expr in state.batch.start.data:
                yield from check_expr(expr, BATCH_FACTS)


def expression_problems(process: Process) -> list[Problem]:
    """Problems of every expression and template, each type-checked against the fields (and
    the string literals compared with enum fields against their values)."""
    env, enums = field_types(process), enum_values(process)
    problems: list[Problem] = []
    # A text found fine is fine wherever it is written (`attempt + 1` in many transitions):
    # checked once. A text with problems is checked at each place, for each one's locations.
    fine: set[tuple[str, ExprType | None, bool]] = set()
    for expr, expect in _expressions(process):
        if (expr.source, expect, False) not in fine:
            found = check_expr(expr, env, expect=expect, enums=enums)
            if found:
                problems.extend(found)
            else:
                fine.add((expr.source, expect, False))
    for state in process.all_states():
        for timer in state.timers:
            if timer.at is not None:
                problems.extend(_timer_time(timer.at, env))
    problems.extend(_batch_start_problems(process))
    for template in _templates(process):
        if template.source and (template.source, None, True) not in fine:
            found = check_template(template, env, enums=enums)
            if found:
                problems.extend(found)
            else:
                fine.add((template.source, None, True))
    return problems


def process_problems(
    process: Process,
    *,
    known_processes: Collection[str] | None = None,
    locate: Locator | None = None,
) -> list[Problem]:
    """Every problem of a built process: references, expressions, graph, roles, tasks.

    Args:
        process: the process to check.
        known_processes: ids of the processes its tasks may start; None skips that check.
        locate: `Source.locate` of the YAML document, to point at the exact offending value.

    Returns:
        Errors and warnings, sorted by location, without duplicates.
    """
    problems = [
        *reference_problems(process, locate),
        *input_problems(process, locate),
        *expression_problems(process),
        *graph_problems(process, known_processes=known_processes, locate=locate),
    ]
    return sorted(set(problems))
