"""Tests for the sandboxed expression language (engine/expressions)."""

from __future__ import annotations

import builtins
import dataclasses
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fulfil.engine.errors import DefinitionError, ExecutionError, Location, Problem
from fulfil.engine.expressions import (
    CompiledExpr,
    EvaluationError,
    ExprType,
    check_expr,
    check_template,
    compile_expr,
    compile_template,
    enum_values,
    field_types,
)
from fulfil.engine.expressions.evaluator import FUNCTIONS
from fulfil.engine.model import Expr, Field, FieldType, Process, Template
from hypothesis import given, settings
from hypothesis import strategies as st

T = ExprType
LOC = Location("p.yaml", 10, 5, ("transitions", 0, "guard"))
ENV: dict[str, ExprType] = {
    "attempt": T.INT,
    "limit": T.INT,
    "outcome": T.STRING,
    "client": T.STRING,
    "effective_date": T.DATE,
    "due": T.DATETIME,
    "contacts": T.LIST,
    "credit_issued": T.BOOL,
    "state": T.STRING,
    "now": T.DATETIME,
    "today": T.DATE,
    "actor": T.STRING,
    "role": T.STRING,
}
DATA: dict[str, Any] = {
    "attempt": 2,
    "limit": 3,
    "outcome": "no_answer",
    "client": "Acme",
    "effective_date": date(2026, 3, 1),
    "due": datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    "contacts": ["ann@example.com", "bob@example.com"],
    "credit_issued": False,
    "state": "in_progress",
    "now": datetime(2026, 2, 1, 9, 30, tzinfo=UTC),
    "today": date(2026, 2, 1),
    "actor": "ann",
    "role": "ops_specialist",
}


def problems(source: str, expect: ExprType | None = None) -> list[Problem]:
    return check_expr(Expr(source, LOC), ENV, expect=expect)


def only_problem(source: str, expect: ExprType | None = None) -> Problem:
    found = problems(source, expect)
    assert len(found) == 1, found
    return found[0]


def run(source: str, data: dict[str, Any] | None = None) -> Any:
    return compile_expr(Expr(source, LOC), ENV).evaluate(DATA if data is None else data)


# --- refused at load time ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("__import__('os')", "the name `__import__` is not allowed"),
        ("().__class__.__bases__", "attribute access (`.__bases__`) is not allowed"),
        ("lambda: 1", "lambda is not allowed"),
        ("[x for x in range(10**9)]", "a comprehension is not allowed"),
        ("9**9**9", "the power operator `**` is not allowed"),
        ("open('/etc/passwd').read()", "attribute access (`.read`) is not allowed"),
        ("open('/etc/passwd')", "calling `open` is not allowed"),
        ("globals()", "calling `globals` is not allowed"),
        ("__builtins__", "the name `__builtins__` is not allowed"),
        ("_private", "the name `_private` is not allowed"),
        ("client[0]", "a subscript (`[...]`) is not allowed"),
        ("f'{client}'", "an f-string is not allowed"),
        ("(x := 1)", "an assignment expression (`:=`) is not allowed"),
        ("[*contacts]", "a starred expression (`*`) is not allowed"),
        ("{'a': 1}", "a dict literal is not allowed"),
        ("(1, 2)", "a tuple is not allowed"),
        ("(y for y in contacts)", "a generator expression is not allowed"),
        ("days(n=1)", "keyword arguments are not allowed"),
        ("attempt << 40", "the operator `<<` is not allowed"),
        ("~attempt", "the operator `~` is not allowed"),
        ("attempt is None", "`is` is not allowed"),
        ("b'bytes'", "the literal `b'bytes'` is not allowed"),
        ("len", "`len` is a function"),
        ("attempt(1)", "`attempt` is a field, not a function"),
        ("(lambda: 1)()", "calling `lambda: 1` is not allowed"),
    ],
)
def test_forbidden_construct_is_refused_with_a_clear_message(source: str, fragment: str) -> None:
    """Escape attempts and constructs outside the language are refused, saying what is wrong."""
    with pytest.raises(DefinitionError) as caught:
        compile_expr(Expr(source, LOC), ENV)
    assert any(fragment in p.message for p in caught.value.problems), caught.value.problems
    assert all(p.location.file == "p.yaml" and p.location.line == 10 for p in caught.value.problems)


def test_attribute_access_points_at_the_dot() -> None:
    """An attribute access is reported at its `.`, i.e. loc.column + the token's offset."""
    assert only_problem("().__class__").location.column == 5 + 2


def test_syntax_error_is_a_problem_with_a_location() -> None:
    """Unparsable text gives a syntax problem near the error, not a Python traceback."""
    problem = only_problem("attempt <")
    assert problem.message.startswith("syntax:")
    assert problem.location.line == 10


def test_empty_expression_is_refused() -> None:
    """A blank expression is a problem."""
    assert "empty" in only_problem("   ").message


def test_deeply_nested_expression_is_refused_without_crashing() -> None:
    """A pathologically nested expression is refused as a problem, not a RecursionError."""
    assert "nested" in only_problem("1+" * 5000 + "1").message
    assert "nested" in only_problem("attempt" + " + 1" * 150).message


def test_long_string_literal_is_refused() -> None:
    """String literals over 10,000 characters are refused at load time."""
    assert "too long" in only_problem("'" + "x" * 10_001 + "'").message
    assert problems("'" + "x" * 10_000 + "' == client") == []


def test_long_list_literal_is_refused() -> None:
    """List literals of more than 10,000 items are refused at load time."""
    assert "list literal" in only_problem("[" + "1," * 10_001 + "]").message


# --- names and types ----------------------------------------------------------------------


def test_unknown_name_suggests_the_closest_field() -> None:
    """An unknown name is reported at its column with a did-you-mean over the env's names."""
    problem = only_problem("attempt < 3 and outcom == 'x'")
    assert problem.message == "unknown name 'outcom'"
    assert problem.hint == "did you mean 'outcome'?"
    assert (problem.location.line, problem.location.column) == (10, 5 + 16)
    assert problem.location.path == ("transitions", 0, "guard")


def test_unknown_function_suggests_the_closest_function() -> None:
    """A misspelt function name gets a did-you-mean over the whitelisted functions."""
    problem = only_problem("dayz(3)")
    assert problem.message == "calling `dayz` is not allowed in expressions"
    assert problem.hint == "did you mean 'days'?"


@pytest.mark.parametrize(
    ("source", "column", "message"),
    [
        ("effective_date > 3", 15, "cannot compare a date with an int using `>`"),
        ("client + attempt", 7, "cannot apply `+` to a string and an int"),
        ("(client) +attempt", 9, "cannot apply `+` to a string and an int"),
        ("effective_date < now", 15, "cannot compare a date with a datetime"),
        ("attempt == 'x'", 8, "cannot compare an int with a string using `==`"),
        ("attempt < none", 8, "`<` with none is always false"),
        ("credit_issued < true", 14, "cannot compare a bool with a bool using `<`"),
        ("attempt in ['a', 'b']", 8, "cannot look for an int `in` a list of other values"),
        ("attempt not in client", 8, "cannot look for an int `not in` a string"),
        ("'a' in attempt", 4, "`in` needs a list or a string on its right, not an int"),
        ("len(attempt)", 4, "len() needs a list or a string, not an int"),
        ("days('3')", 5, "days() needs an int, not a string"),
        ("days(1, 2)", 0, "days() takes exactly one argument (2 given)"),
        ("upper()", 0, "upper() takes exactly one argument (0 given)"),
        ("outcome and credit_issued", 0, "`and` needs true/false operands, not a string"),
        ("not attempt", 4, "`not` needs a true/false operand, not an int"),
        ("-client", 0, "cannot apply unary `-` to a string"),
        ("1 if attempt else 2", 5, "the condition after `if` must be true/false, not an int"),
        ("1 if credit_issued else 'x'", 24, "both branches of `if ... else` must have one type"),
        ("effective_date + due", 15, "cannot apply `+` to a date and a datetime"),
        ("effective_date * 2", 15, "cannot apply `*` to a date and an int"),
        ("client * 3", 7, "cannot apply `*` to a string and an int"),
        ("days(1) + 1", 8, "cannot apply `+` to a duration and an int"),
        ("attempt + none", 8, "cannot apply `+` to an int and none"),
    ],
)
def test_type_error_is_reported_at_the_offending_token(
    source: str, column: int, message: str
) -> None:
    """Type errors name both types and point at the operator, operand or call at fault."""
    problem = only_problem(source)
    assert problem.message.startswith(message), problem
    assert (problem.location.line, problem.location.column) == (10, 5 + column)


def test_guard_must_be_boolean() -> None:
    """With expect=BOOL, an expression of another type is refused."""
    problem = only_problem("attempt + 1", expect=T.BOOL)
    assert problem.message == "the expression must be a bool, but it is an int"
    assert problems("attempt < 3", expect=T.BOOL) == []
    assert "must be a bool, but it is none" in only_problem("none", expect=T.BOOL).message


def test_none_fits_any_expected_type_but_bool() -> None:
    """`none` (clearing a field) is accepted where a value of a non-bool type is expected."""
    assert problems("none", expect=T.INT) == []
    assert problems("none", expect=T.DATE) == []


def test_every_problem_is_reported_not_just_the_first() -> None:
    """Independent mistakes in one expression each give a problem."""
    found = problems("atempt < 3 and outcom == 'x'")
    assert [p.message for p in found] == ["unknown name 'atempt'", "unknown name 'outcom'"]


def test_multi_line_expression_locates_later_lines() -> None:
    """A problem on the second line of a block scalar gets the right line, 1-based column."""
    problem = only_problem("(attempt < 3 and\n   outcom == 'x')")
    assert (problem.location.line, problem.location.column) == (11, 4)


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("attempt + 1", T.INT),
        ("attempt / 2", T.INT),
        ("client + '!'", T.STRING),
        ("contacts + ['x']", T.LIST),
        ("effective_date - days(14)", T.DATE),
        ("days(1) + effective_date", T.DATE),
        ("due + hours(2)", T.DATETIME),
        ("now - due", T.DURATION),
        ("effective_date - today", T.DURATION),
        ("weeks(1) // days(1)", T.INT),
        ("days(1) * 3", T.DURATION),
        ("is_set(client)", T.BOOL),
        ("date('2026-01-01')", T.DATE),
        ("datetime(effective_date)", T.DATETIME),
        ("none if credit_issued else attempt", T.INT),
        ("true", T.BOOL),
        ("None", T.NONE),
        ("state", T.STRING),
    ],
)
def test_static_type_of_expression(source: str, kind: ExprType) -> None:
    """The checker derives the result type from the operand types."""
    compiled = compile_expr(Expr(source), ENV)
    assert compiled.type == kind


def test_names_lists_fields_and_builtins_read() -> None:
    """`names` holds the fields and builtins read, not functions or literals."""
    compiled = compile_expr(Expr("is_set(client) and attempt < limit and today > date('x')"), ENV)
    assert compiled.names == {"client", "attempt", "limit", "today"}


def test_field_types_maps_every_field_type_and_adds_builtins() -> None:
    """field_types reads text/enum as strings and adds state/now/today/actor/role."""
    process = Process(
        id="p",
        version=1,
        fields=tuple(Field(t.value + "_f", t) for t in FieldType),
    )
    env = field_types(process)
    assert env == {
        "string_f": T.STRING,
        "email_f": T.STRING,
        "text_f": T.STRING,
        "int_f": T.INT,
        "bool_f": T.BOOL,
        "date_f": T.DATE,
        "datetime_f": T.DATETIME,
        "enum_f": T.STRING,
        "list_f": T.LIST,
        "state": T.STRING,
        "now": T.DATETIME,
        "today": T.DATE,
        "actor": T.STRING,
        "role": T.STRING,
    }


def test_compiled_expression_is_immutable() -> None:
    """A CompiledExpr cannot be changed after compilation."""
    compiled = compile_expr(Expr("attempt"), ENV)
    with pytest.raises(dataclasses.FrozenInstanceError):
        compiled.source = "x"  # type: ignore[misc]


# --- evaluation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("attempt + 1", 3),
        ("attempt - 5", -3),
        ("attempt * limit", 6),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("7 % 3", 1),
        ("-attempt", -2),
        ("+attempt", 2),
        ("attempt < limit", True),
        ("attempt <= 2", True),
        ("attempt > limit", False),
        ("attempt >= 3", False),
        ("attempt == 2", True),
        ("attempt != 2", False),
        ("1 < attempt < limit", True),
        ("outcome in ['reached', 'no_answer']", True),
        ("outcome not in ['reached']", True),
        ("'Ac' in client", True),
        ("attempt < 3 and outcome != 'reached'", True),
        ("attempt > 3 or credit_issued", False),
        ("not credit_issued", True),
        ("'yes' if credit_issued else 'no'", "no"),
        ("true and True", True),
        ("false or False", False),
        ("none == None", True),
        ("client + '!'", "Acme!"),
        ("contacts + ['c']", ["ann@example.com", "bob@example.com", "c"]),
        ("days(14)", timedelta(days=14)),
        ("hours(2)", timedelta(hours=2)),
        ("minutes(90)", timedelta(minutes=90)),
        ("weeks(2)", timedelta(weeks=2)),
        ("len(client)", 4),
        ("len(contacts)", 2),
        ("lower(client)", "acme"),
        ("upper(client)", "ACME"),
        ("is_set(client)", True),
        ("is_set('')", False),
        ("date('2026-03-01')", date(2026, 3, 1)),
        ("date(due)", date(2026, 3, 1)),
        ("datetime('2026-03-01T08:00')", datetime(2026, 3, 1, 8, 0, tzinfo=UTC)),
        ("datetime('2026-03-01T08:00+01:00') == datetime('2026-03-01T07:00')", True),
        ("datetime(effective_date)", datetime(2026, 3, 1, tzinfo=UTC)),
        ("effective_date - days(14)", date(2026, 2, 15)),
        ("effective_date + weeks(1)", date(2026, 3, 8)),
        ("due + hours(36)", datetime(2026, 3, 3, 0, 0, tzinfo=UTC)),
        ("due - minutes(30)", datetime(2026, 3, 1, 11, 30, tzinfo=UTC)),
        ("effective_date - today", timedelta(days=28)),
        ("due - now > days(27)", True),
        ("days(1) / hours(1)", 24.0),
        ("weeks(1) // days(2)", 3),
        ("days(1) // 4", timedelta(hours=6)),
        ("state == 'in_progress' and role == 'ops_specialist' and actor == 'ann'", True),
    ],
)
def test_evaluation_result(source: str, value: Any) -> None:
    """Every operator and function computes what the language reference says."""
    result = run(source)
    assert result == value
    assert type(result) is type(value)


def test_unset_fields_read_as_none_and_compare_false() -> None:
    """Unset (None or absent) fields: ordering is false, == works, functions tolerate None."""
    data = {"attempt": None}
    assert run("attempt < 3", data) is False
    assert run("attempt > 3", data) is False
    assert run("attempt == none", data) is True
    assert run("client != 'x'", data) is True
    assert run("outcome in ['a']", data) is False
    assert run("'a' in client", data) is False
    assert run("'a' not in client", data) is True
    assert run("is_set(client)", data) is False
    assert run("len(contacts)", data) == 0
    assert run("upper(client)", data) is None
    assert run("date(client)", data) is None


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("attempt + 1", "`+` on a value that is not set"),
        ("-attempt", "`-` on a value that is not set"),
        ("days(attempt)", "days() of a value that is not set"),
    ],
)
def test_arithmetic_on_unset_field_raises_evaluation_error(source: str, fragment: str) -> None:
    """Arithmetic with None raises EvaluationError (an ExecutionError) naming the expression."""
    with pytest.raises(EvaluationError) as caught:
        run(source, {})
    assert isinstance(caught.value, ExecutionError)
    assert str(caught.value) == f"cannot evaluate `{source}`: {fragment}"
    assert caught.value.source == source


def test_runtime_failures_become_evaluation_errors() -> None:
    """Division by zero, bad dates and overflow raise EvaluationError, not Python errors."""
    for source, data in [
        ("attempt // limit", {"attempt": 1, "limit": 0}),
        ("date(client)", {"client": "not a date"}),
        ("days(attempt)", {"attempt": 10**12}),
    ]:
        with pytest.raises(EvaluationError, match="cannot evaluate"):
            run(source, data)


def test_long_string_result_is_refused() -> None:
    """A string result over 100,000 characters is refused at run time."""
    big = {"client": "x" * 60_000, "outcome": "y" * 60_000}
    with pytest.raises(EvaluationError, match="longer than 100,000"):
        run("client + outcome", big)
    with pytest.raises(EvaluationError, match="longer than 100,000"):
        run("client", {"client": "x" * 100_001})
    assert len(run("client + outcome", {"client": "x" * 50_000, "outcome": "y" * 50_000})) == (
        100_000
    )


def test_function_whitelist_is_exactly_the_documented_ten() -> None:
    """The evaluator knows only the ten documented functions and nothing else."""
    assert set(FUNCTIONS) == {
        "days", "hours", "minutes", "weeks", "len", "lower", "upper", "is_set", "date",
        "datetime",
    }  # fmt: skip


def test_evaluation_never_opens_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiling and evaluating every function and operator never calls open()."""
    opened: list[Any] = []
    real_open = builtins.open

    def spy(*args: Any, **kwargs: Any) -> Any:
        opened.append(args)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    source = (
        "len(contacts) + len(lower(client)) + len(upper(outcome)) > 0 and is_set(state) and "
        "date('2026-01-01') < effective_date + days(1) + weeks(1) and "
        "datetime('2026-01-01T00:00') < due - hours(1) - minutes(1)"
    )
    assert run(source) is True
    with pytest.raises(DefinitionError):
        compile_expr(Expr("open('/etc/passwd')"), ENV)
    assert opened == []


def test_data_values_cannot_smuggle_in_callables() -> None:
    """A callable in the data cannot be called: calls go only to whitelisted functions."""
    with pytest.raises(DefinitionError, match="is a field, not a function"):
        compile_expr(Expr("client()"), ENV)


def test_evaluation_in_threads_keeps_each_threads_data() -> None:
    """Evaluations in parallel threads never see each other's data."""
    compiled = compile_expr(Expr("attempt * 2"), ENV)
    failures: list[int] = []

    def work(offset: int) -> None:
        for i in range(2_000):
            if compiled.evaluate({"attempt": offset + i}) != 2 * (offset + i):
                failures.append(offset + i)

    threads = [threading.Thread(target=work, args=(k * 100_000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# --- templates ----------------------------------------------------------------------------


def render(source: str, data: dict[str, Any] | None = None) -> str:
    return compile_template(Template(source, LOC), ENV).render(DATA if data is None else data)


def test_template_renders_holes_and_escaped_braces() -> None:
    """Holes are evaluated; {{ and }} write single braces."""
    assert render("Call {attempt}: {outcome} {{not a hole}}") == "Call 2: no_answer {not a hole}"
    assert render("{'}' if credit_issued else '{'}") == "{"


def test_template_formats_values_for_people() -> None:
    """None renders empty, dates ISO, booleans lowercase, durations compactly, lists joined."""
    text = render(
        "[{client}] {effective_date} {due} {credit_issued} {days(1) + hours(2) + minutes(30)} "
        "{contacts} {7 / 2}",
        {**DATA, "client": None},
    )
    assert text == (
        "[] 2026-03-01 2026-03-01T12:00:00+00:00 false 1d2h30m ann@example.com, bob@example.com 3.5"
    )


def test_template_names_are_the_union_of_its_holes() -> None:
    """A template's names are every name its holes read."""
    compiled = compile_template(Template("{client} owes {attempt * limit}"), ENV)
    assert compiled.names == {"client", "attempt", "limit"}
    assert compile_template(Template("no holes"), ENV).names == frozenset()


@pytest.mark.parametrize(
    ("source", "column", "fragment"),
    [
        ("Hello {clint}", 7, "unknown name 'clint'"),
        ("Hello {client} {", 15, "an unclosed `{`"),
        ("Hello } there", 6, "a single `}`"),
        ("Empty {} here", 6, "an empty `{}`"),
        ("Call { attempt + 'x' }", 15, "cannot apply `+` to an int and a string"),
        ("{().__class__}", 3, "attribute access (`.__class__`) is not allowed"),
    ],
)
def test_template_problem_points_into_the_template(source: str, column: int, fragment: str) -> None:
    """Template problems carry the column of the offending character in the template."""
    found = check_template(Template(source, LOC), ENV)
    assert len(found) == 1, found
    assert fragment in found[0].message
    assert (found[0].location.line, found[0].location.column) == (10, 5 + column)
    with pytest.raises(DefinitionError):
        compile_template(Template(source, LOC), ENV)


def test_template_problem_on_a_later_line() -> None:
    """A hole on the second line of a template is located on that line."""
    found = check_template(Template("Hello\n  {clint}", LOC), ENV)
    assert [(p.location.line, p.location.column) for p in found] == [(11, 4)]


def test_template_output_over_the_limit_is_refused() -> None:
    """A rendered text over 100,000 characters is refused."""
    compiled = compile_template(Template("{client}{outcome}"), ENV)
    with pytest.raises(EvaluationError, match="longer than 100,000"):
        compiled.render({"client": "x" * 60_000, "outcome": "y" * 60_000})


def test_check_functions_return_empty_lists_for_valid_input() -> None:
    """check_expr and check_template return [] when there is nothing wrong."""
    assert check_expr(Expr("attempt < 3"), ENV, expect=T.BOOL) == []
    assert check_template(Template("Call {attempt}"), ENV) == []


# --- agreement with Python ----------------------------------------------------------------

INT_ENV = {"a": T.INT, "b": T.INT, "c": T.INT}
_leaf = st.sampled_from(["a", "b", "c"]) | st.integers(0, 50).map(str)


def _arithmetic(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "//", "%"]), children)
    choice = st.tuples(children, _leaf, _leaf, children)
    return (
        binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})")
        | children.map(lambda x: f"(-{x})")
        | choice.map(lambda t: f"({t[0]} if {t[1]} < {t[2]} else {t[3]})")
    )


_numbers = st.recursive(_leaf, _arithmetic, max_leaves=8)
_comparison = st.lists(
    st.tuples(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), _numbers), min_size=1, max_size=3
).flatmap(lambda rest: _numbers.map(lambda first: first + "".join(f" {o} {n}" for o, n in rest)))


def _logic(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(children, st.sampled_from(["and", "or"]), children)
    return (
        pair.map(lambda t: f"({t[0]} {t[1]} {t[2]})")
        | children.map(lambda x: f"(not {x})")
        | st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})")
    )


_expressions = _numbers | st.recursive(_comparison, _logic, max_leaves=4)


@settings(max_examples=300, deadline=None)
@given(
    source=_expressions,
    values=st.fixed_dictionaries({k: st.integers(-1000, 1000) for k in ("a", "b", "c")}),
)
def test_int_expressions_agree_with_python(source: str, values: dict[str, int]) -> None:
    """Random well-typed arithmetic/comparison expressions over ints evaluate as Python does."""
    compiled: CompiledExpr = compile_expr(Expr(source), INT_ENV)
    try:
        expected = eval(source, {"__builtins__": {}}, dict(values))  # the reference semantics
    except ZeroDivisionError:
        with pytest.raises(EvaluationError, match="ZeroDivisionError"):
            compiled.evaluate(values)
        return
    assert compiled.evaluate(values) == expected


def test_public_exports_are_pinned() -> None:
    """The package exports exactly the API other parts code against."""
    import fulfil.engine.expressions

    assert sorted(fulfil.engine.expressions.__all__) == [
        "CompiledExpr", "CompiledTemplate", "EvaluationError", "ExprType", "check_expr",
        "check_template", "compile_expr", "compile_template", "enum_values", "field_types",
    ]  # fmt: skip


ENUMS = {"outcome": ("reached", "no_answer", "left_voicemail", "wrong_number")}


def enum_problems(source: str) -> list[Problem]:
    return check_expr(Expr(source, LOC), ENV, expect=T.BOOL, enums=ENUMS)


def test_enum_comparison_with_a_misspelt_value_is_refused() -> None:
    """`outcome == 'reachd'` names the enum's values and suggests the closest, at the literal."""
    (problem,) = enum_problems("outcome == 'reachd'")
    assert problem.message == "'reachd' is not a value of enum field 'outcome'"
    assert problem.hint == "did you mean 'reached'?"
    assert (problem.location.line, problem.location.column) == (10, 16)


def test_enum_value_on_either_side_and_with_not_equal() -> None:
    """The literal may come first, and `!=` is checked too."""
    assert [p.message for p in enum_problems("'reachd' != outcome")] == [
        "'reachd' is not a value of enum field 'outcome'"
    ]


def test_enum_membership_checks_every_listed_value() -> None:
    """`outcome in ['reached', 'nope']` refuses 'nope' (listing the values), not 'reached'."""
    (problem,) = enum_problems("outcome not in ['reached', 'nope']")
    assert problem.message == "'nope' is not a value of enum field 'outcome'"
    assert problem.hint.startswith("expected one of: ")
    assert (problem.location.line, problem.location.column) == (10, 32)


def test_enum_values_that_exist_are_accepted() -> None:
    """Declared values, none and other fields' comparisons raise nothing."""
    assert enum_problems("outcome == 'reached' or outcome in ['no_answer', none]") == []
    assert enum_problems("client == 'reachd'") == []


def test_enum_values_of_a_process() -> None:
    """enum_values maps each enum field to its values and leaves other fields out."""
    process = Process(
        id="p",
        version=1,
        fields=(
            Field("outcome", FieldType.ENUM, values=("reached", "no_answer")),
            Field("client", FieldType.STRING),
        ),
    )
    assert enum_values(process) == {"outcome": ("reached", "no_answer")}


def test_an_integer_result_beyond_64_bits_is_refused() -> None:
    """Intermediate numbers are bounded: a product past 2**63 is an evaluation error."""
    with pytest.raises(EvaluationError, match="the number is too large"):
        run("attempt * attempt > 0", {"attempt": 10**18, "limit": 1})
    with pytest.raises(EvaluationError, match="the number is too large"):
        run("-attempt - 2 < 0", {"attempt": 2**63 - 1, "limit": 1})
    assert run("attempt * limit", {"attempt": 2**31, "limit": 2**31}) == 2**62


def test_a_16_kb_guard_over_a_large_number_stops_at_once() -> None:
    """A guard multiplying a field by itself thousands of times (each product squaring the
    digits) is refused at the first product too large, instead of burning minutes of CPU."""
    source = "attempt"
    while len(source) < 16_000:
        source = f"({source}) * ({source})"
    with pytest.raises(EvaluationError, match="the number is too large"):
        run(f"{source} > 0", {"attempt": 2**62, "limit": 1})


def test_repetition_is_refused_before_the_text_is_built() -> None:
    """`text * n` (reachable where types are unknown) is refused from its size, not built."""
    import ast

    from fulfil.engine.expressions.evaluator import evaluate_tree

    tree = ast.parse("s * n", mode="eval").body
    with pytest.raises(EvaluationError, match="longer than 100,000"):
        evaluate_tree("s * n", tree, {"s": "ab", "n": 10**15})
    with pytest.raises(EvaluationError, match="longer than 100,000"):
        evaluate_tree("s * n", tree, {"s": ["a"], "n": 10**15})
    assert evaluate_tree("s * n", tree, {"s": "ab", "n": 3}) == "ababab"


@pytest.mark.parametrize(
    ("literal", "column"),
    [("99999999999999999999", 15), ("1e999", 15)],
)
def test_a_number_literal_too_large_is_refused_at_load(literal: str, column: int) -> None:
    """A literal past 2**63 (or a float that overflows) is a located load-time error."""
    found = problems(f"attempt < {literal}")
    assert [(p.location.column, p.message) for p in found] == [
        (column, "a number this large is not allowed: at most 9,223,372,036,854,775,807")
    ]
