"""The compiled form of checked expressions (engine/expressions/compiler.py) against the evaluator.

Every expression the sandbox accepts must give, compiled, the value the evaluator gives, or the
same EvaluationError (message, details and the kind of error underneath).
"""

from __future__ import annotations

import ast
import dataclasses
import os
import pickle
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fulfil.engine.definition.loader import load_directory
from fulfil.engine.errors import UNKNOWN
from fulfil.engine.expressions import EvaluationError, ExprType, compile_expr, templates
from fulfil.engine.expressions.compiler import _GLOBALS, compile_tree, run_compiled
from fulfil.engine.expressions.evaluator import evaluate_tree
from fulfil.engine.expressions.sandbox import check_source
from fulfil.engine.model import Expr, Template
from hypothesis import given, settings
from hypothesis import strategies as st

T = ExprType
NAMES = ("a", "b", "c", "open", "eval")  # fields named like Python builtins stay fields
ENV = dict.fromkeys(NAMES, T.ANY)

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=5),
    st.sampled_from([2**62, 2**63 - 1, -(2**63), 10**30]),
    st.sampled_from([0.0, 1.5, -2.25, 1e308]),
    st.text(alphabet="ab é", max_size=4),
    st.lists(st.sampled_from(["a", "b", ""]), max_size=3),
    st.sampled_from([date(2026, 3, 2), datetime(2026, 3, 2, 9, tzinfo=UTC), timedelta(days=1)]),
    st.sampled_from(["2026-03-02", "2026-03-02T09:00:00", "x" * 60_000]),
)

ATOMS = st.one_of(
    st.sampled_from(NAMES),  # names most often: any type, so the sandbox admits more
    st.sampled_from(NAMES),
    st.sampled_from(NAMES),
    st.sampled_from(["0", "1", "-1", "3", "1.5", "0.0", "9223372036854775807"]),
    st.sampled_from(["'a'", "''", "'ab'", "'é'", "true", "false", "none", "[]", "['a', 'b']"]),
)
FUNCTIONS = ["days", "hours", "minutes", "weeks", "len", "lower", "upper", "is_set", "date"]
BINARY = ["+", "-", "*", "/", "//", "%", "==", "!=", "<", "<=", ">", ">=", "in", "not in"]


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(BINARY), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} < {t[1]} <= {t[2]})"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} == {t[1]} != {t[2]})"),
        st.tuples(children, children).map(lambda t: f"({t[0]} and {t[1]})"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} or {t[1]} or {t[2]})"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        children.map(lambda c: f"(not {c})"),
        children.map(lambda c: f"(-{c})"),
        children.map(lambda c: f"(+{c})"),
        st.tuples(children, children).map(lambda t: f"[{t[0]}, {t[1]}]"),
        st.tuples(st.sampled_from(FUNCTIONS), children).map(lambda t: f"{t[0]}({t[1]})"),
    )


EXPRESSIONS = st.recursive(ATOMS, _extend, max_leaves=8)


def outcome(run: Any) -> tuple[str, Any]:
    try:
        value = run()
    except EvaluationError as error:
        cause = type(error.__cause__).__name__ if error.__cause__ is not None else None
        return "error", (str(error), error.details, cause)
    return "value", (type(value), value)


def both(source: str, variables: dict[str, Any]) -> tuple[tuple[str, Any], tuple[str, Any]]:
    checked = check_source(source, UNKNOWN, ENV)
    assert checked.tree is not None and not checked.problems, checked.problems
    function = compile_tree(checked.tree)
    assert function is not None, source
    return (
        outcome(lambda: evaluate_tree(source, checked.tree, variables)),
        outcome(lambda: run_compiled(source, function, variables)),
    )


@settings(max_examples=int(os.environ.get("FULFIL_COMPILER_EXAMPLES", "1000")), deadline=None)
@given(EXPRESSIONS, st.dictionaries(st.sampled_from(NAMES), VALUES))
def test_compiled_matches_the_evaluator(source: str, variables: dict[str, Any]) -> None:
    checked = check_source(source, UNKNOWN, ENV)
    if checked.problems:
        return  # the sandbox refused it: nothing is compiled
    evaluated, compiled = both(source, variables)
    assert compiled == evaluated


@pytest.mark.parametrize(
    ("source", "variables"),
    [
        ("a + 1", {}),  # arithmetic on an unset field
        ("a / b", {"a": 1, "b": 0}),  # ZeroDivisionError underneath
        ("a < b", {"a": "x", "b": 1}),  # TypeError underneath
        ("a * b", {"a": "ab", "b": 60_000}),  # too long before it is built
        ("a * b", {"a": 2**62, "b": 4}),  # too large
        ("a < b < c", {"a": 1, "b": 2, "c": 3}),
        ("a < b < c", {"a": 3, "b": 2, "c": "never compared"}),
        ("a or b or c", {"a": 0, "b": "", "c": []}),
        ("a and b", {"a": "x", "b": 0}),
        ("date(a)", {"a": "not a date"}),
        ("days(a)", {"a": None}),
        ("a in b", {"a": "x", "b": None}),
        ("[a, b]", {"a": "x" * 60_000, "b": "y"}),
        ("a", {"a": "x" * 200_000}),  # a result over the size limit
        ("a == b", {"a": os, "b": 1}),  # a module among the variables is refused
        ("a", {"a": [1, [eval]]}),  # so is a forbidden function inside a list
        ("open == eval", {"open": 1, "eval": 1}),
    ],
)
def test_compiled_matches_the_evaluator_on_the_edges(
    source: str, variables: dict[str, Any]
) -> None:
    evaluated, compiled = both(source, variables)
    assert compiled == evaluated


def test_a_field_never_becomes_a_python_name() -> None:
    checked = check_source("open == eval and is_set(a)", UNKNOWN, ENV)
    assert checked.tree is not None
    function = compile_tree(checked.tree)
    assert function is not None
    code = function.__code__
    names = set(code.co_names)
    assert names <= set(_GLOBALS), names - set(_GLOBALS)
    assert not {"open", "eval", "a"} & (names | set(code.co_varnames))
    assert run_compiled("open == eval", function, {"open": 2, "eval": 2, "a": "x"}) is True


def test_a_node_it_does_not_know_is_left_to_the_evaluator() -> None:
    tree = ast.parse("a[0]", mode="eval").body  # the sandbox never lets this through
    assert compile_tree(tree) is None
    assert compile_tree(ast.parse("a ** 2", mode="eval").body) is None


def test_an_expression_pickles_after_it_ran() -> None:
    expr = compile_expr(Expr("a + 1"), {"a": T.INT})
    assert expr.evaluate({"a": 1}) == 2
    again = pickle.loads(pickle.dumps(expr))
    assert again == expr
    assert again.evaluate({"a": 41}) == 42


class _AnyName(dict[str, ExprType]):
    """Every name reads as a field of any type: the shape of the tree is what is compiled."""

    def get(self, key: str, default: Any = None) -> ExprType:  # type: ignore[override]
        return T.ANY


def _texts(value: Any, seen: set[int]) -> Iterator[str]:
    """The source of every expression and template hole in a model value."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, Expr):
        yield value.source
    elif isinstance(value, Template):
        pieces, _ = templates.split(value.source)
        yield from (p.source for p in pieces if not isinstance(p, str) and p.source.strip())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for spec in dataclasses.fields(value):
            yield from _texts(getattr(value, spec.name), seen)
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _texts(item, seen)


def test_every_shipped_expression_is_compiled() -> None:
    """No guard, value or hole of the shipped processes is left to the tree walk."""
    catalog = load_directory(Path(__file__).parents[2] / "processes")
    sources = {text for process in catalog for text in _texts(process, set())}
    assert len(sources) > 50
    for source in sorted(sources):
        checked = check_source(source, UNKNOWN, _AnyName())
        assert checked.tree is not None, (source, checked.problems)
        assert compile_tree(checked.tree) is not None, source
