"""Runs checked expression trees with simpleeval, with the language's own operators and functions.

Only trees that passed `engine.expressions.sandbox` get here, so every node is one the language
has. simpleeval walks the pre-parsed tree (`SimpleEval.eval(source, previously_parsed=tree)`);
we give it our operator table (unset fields are None: ordering comparisons with None are false,
arithmetic with None is refused) and our ten functions, and nothing else: no Python builtins,
no attribute access, no modules. A string or list result over 100,000 items is refused, and
so is a whole number past 64 bits (or a fraction that overflows): every intermediate result is
bounded, so no expression can build a huge number or text step by step. `text * n` and `a + b`
are judged by their size before they are built.

Each thread keeps one evaluator: simpleeval stores the names on the evaluator, so sharing one
between threads would mix two instances' data.
"""

from __future__ import annotations

import ast
import math
import operator
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import simpleeval

from ..errors import ExecutionError

MAX_RESULT = 100_000  # characters of a string, items of a list
MAX_INT = 2**63 - 1  # what a 64-bit database column holds; a field's int is within it too
_TOO_LARGE = f"the number is too large (over {MAX_INT:,})"


class EvaluationError(ExecutionError):
    """An expression failed at run time (division by zero, arithmetic on an unset field, ...)."""

    code = "evaluation_failed"

    def __init__(self, source: str, detail: str) -> None:
        super().__init__(
            f"cannot evaluate `{source}`: {detail}", details={"source": source, "error": detail}
        )
        self.source = source
        self.detail = detail


class _Refused(Exception):
    """A language rule broken at run time; becomes an EvaluationError carrying the source."""


def _too_long() -> _Refused:
    return _Refused(f"the result is longer than {MAX_RESULT:,} items")


def _checked_size(value: Any) -> Any:
    kind = type(value)
    if kind is int:
        if not -MAX_INT - 1 <= value <= MAX_INT:
            raise _Refused(_TOO_LARGE)
    elif kind is float:
        if not math.isfinite(value):
            raise _Refused(_TOO_LARGE)
    elif isinstance(value, str | list) and len(value) > MAX_RESULT:
        raise _too_long()
    return value


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | list) else 0


def _precheck(symbol: str, left: Any, right: Any) -> None:
    """Refuse a text or list that would be too long before building it."""
    if symbol == "+" and _length(left) + _length(right) > MAX_RESULT:
        raise _too_long()
    if symbol == "*":
        for items, times in ((left, right), (right, left)):
            if type(times) is int and _length(items) * max(times, 0) > MAX_RESULT:
                raise _too_long()


def _arithmetic(symbol: str, function: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def apply(left: Any, right: Any) -> Any:
        if type(left) is int and type(right) is int:  # the common case: no text, no list
            value = function(left, right)
            if type(value) is int and -MAX_INT - 1 <= value <= MAX_INT:
                return value
            return _checked_size(value)
        if left is None or right is None:
            raise _Refused(f"`{symbol}` on a value that is not set")
        _precheck(symbol, left, right)
        return _checked_size(function(left, right))

    return apply


def _negate(value: Any) -> Any:
    if value is None:
        raise _Refused("`-` on a value that is not set")
    return _checked_size(-value)


def _positive(value: Any) -> Any:
    if value is None:
        raise _Refused("`+` on a value that is not set")
    return +value


def _ordering(function: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(left: Any, right: Any) -> bool:
        return left is not None and right is not None and function(left, right)

    return compare


def _contains(item: Any, container: Any) -> bool:
    return container is not None and item in container


def _not_contains(item: Any, container: Any) -> bool:
    return container is None or item not in container


OPERATORS: dict[type[ast.AST], Callable[..., Any]] = {
    ast.Add: _arithmetic("+", operator.add),
    ast.Sub: _arithmetic("-", operator.sub),
    ast.Mult: _arithmetic("*", operator.mul),
    ast.Div: _arithmetic("/", operator.truediv),
    ast.FloorDiv: _arithmetic("//", operator.floordiv),
    ast.Mod: _arithmetic("%", operator.mod),
    ast.USub: _negate,
    ast.UAdd: _positive,
    ast.Not: operator.not_,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: _ordering(operator.lt),
    ast.LtE: _ordering(operator.le),
    ast.Gt: _ordering(operator.gt),
    ast.GtE: _ordering(operator.ge),
    ast.In: _contains,
    ast.NotIn: _not_contains,
}


def _duration(unit: str) -> Callable[[Any], timedelta]:
    def make(amount: Any) -> timedelta:
        if amount is None:
            raise _Refused(f"{unit}() of a value that is not set")
        return timedelta(**{unit: amount})

    return make


def _len(value: Any) -> int:
    return 0 if value is None else len(value)


def _lower(value: Any) -> Any:
    return None if value is None else str(value).lower()


def _upper(value: Any) -> Any:
    return None if value is None else str(value).upper()


def _is_set(value: Any) -> bool:
    return value is not None and value != "" and value != []


def _date(value: Any) -> date | None:
    if value is None or type(value) is date:
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value))


def _datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        moment = datetime.fromisoformat(str(value))
    # Times without a zone are UTC, like the engine's clock, so they compare with `now`.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "days": _duration("days"),
    "hours": _duration("hours"),
    "minutes": _duration("minutes"),
    "weeks": _duration("weeks"),
    "len": _len,
    "lower": _lower,
    "upper": _upper,
    "is_set": _is_set,
    "date": _date,
    "datetime": _datetime,
}


class _Evaluator(simpleeval.SimpleEval):  # type: ignore[misc]
    """simpleeval with our operators and functions; an unknown name reads as None (unset)."""

    def __init__(self) -> None:
        super().__init__(operators=OPERATORS, functions=FUNCTIONS, names={})
        self.nodes[ast.List] = self._eval_list

    def _eval_list(self, node: ast.List) -> list[Any]:
        items = [self._eval(item) for item in node.elts]
        _checked_size(items)
        return items

    def _eval_name(self, node: ast.Name) -> Any:
        # The checker allowed only declared names; one missing from the data is an unset field.
        return self.names.get(node.id)


_local = threading.local()


def evaluate_tree(source: str, tree: ast.expr, variables: Mapping[str, Any]) -> Any:
    """Evaluate a checked tree against `variables`; failures raise EvaluationError."""
    evaluator = getattr(_local, "evaluator", None)
    if evaluator is None:
        evaluator = _local.evaluator = _Evaluator()
    evaluator.names = variables
    try:
        result = evaluator.eval(source, previously_parsed=tree)
        if type(result) in (str, int, float):
            _checked_size(result)
    except _Refused as refused:
        raise EvaluationError(source, str(refused)) from None
    except Exception as error:  # simpleeval's, ZeroDivisionError, OverflowError, ValueError...
        raise EvaluationError(source, f"{type(error).__name__}: {error}") from error
    return result
