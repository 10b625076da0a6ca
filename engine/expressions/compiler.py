"""Checked expression trees turned into Python functions, so an evaluation walks no tree.

Only a tree the sandbox accepted (`engine.expressions.sandbox.check_source`) comes here, and
only a tree made of the nodes below is compiled; for anything else `compile_tree` answers None
and the evaluator (`engine.expressions.evaluator`) runs the tree as before. The function made
computes what the evaluator computes, node for node, through the same operator and function
tables (`OPERATORS`, `FUNCTIONS`):

- a constant stays a constant (a bool, number, string or none: the sandbox admits no other);
- a name becomes a lookup `get("name")` in the variables, a missing one None; the name is a
  string constant, never a Python name, so no field can reach anything of Python's;
- `- x`, `not x` and `a + b` ... call the operator's function (`OPERATORS[type(op)]`);
- `a < b < c` calls each comparison's function on the values, each operand evaluated once,
  and stops at the first false one, as the evaluator's loop does;
- `and`, `or` and `x if c else y` are Python's own: the evaluator's loops give the same value
  (the first false one for `and`, the first true one for `or`, else the last);
- `f(x)` calls the language's function `FUNCTIONS["f"]` (one argument, no keywords);
- `[a, b]` builds the list and checks its size as the evaluator does.

The made tree holds no attribute, subscript, import or Python name but the helpers above (its
globals are those helpers and an empty `__builtins__`), so the sandbox stays the gate.

The evaluator also refuses, at every node, a value that is a module or one of a list of Python
functions (simpleeval's `_check_disallowed_items`). The only values an expression gets from
outside are the variables, so the compiled form checks each value a name reads the same way
(a bool, number, string or none passes at once); the operators and functions make no such value
from checked ones.

Failures become the same `EvaluationError` as the evaluator's, with the same messages
(`run_compiled`). A tree is compiled the first time it is evaluated (`CompiledExpr`), so loading
a definition costs no more than before.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable, Mapping
from typing import Any

import simpleeval

from .evaluator import FUNCTIONS, OPERATORS, EvaluationError, _checked_size, _Refused
from .sandbox import PARSING

__all__ = ["Compiled", "compile_tree", "run_compiled"]

Compiled = Callable[[Callable[[str], Any]], Any]
"""A compiled expression: called with the variables' `get`, it gives the expression's value."""

# simpleeval's own check of each node's value, run the same way on what a name reads
_VALUES = simpleeval.SimpleEval(operators={}, functions={}, names={})
_PLAIN = frozenset({int, float, str, bool, type(None)})  # values the check always passes


def _checked_value(value: Any) -> Any:
    _VALUES._check_disallowed_items(value)
    return value


def _checked_list(items: list[Any]) -> list[Any]:
    _checked_size(items)
    return items


_OPERATOR_NAMES = {kind: f"_op_{kind.__name__}" for kind in OPERATORS}
_FUNCTION_NAMES = {name: f"_fn_{name}" for name in FUNCTIONS}
_GLOBALS: dict[str, Any] = {
    "__builtins__": {},
    "_type": type,
    "_plain": _PLAIN,
    "_value": _checked_value,
    "_list": _checked_list,
    **{_OPERATOR_NAMES[kind]: function for kind, function in OPERATORS.items()},
    **{_FUNCTION_NAMES[name]: function for name, function in FUNCTIONS.items()},
}
_CONSTANTS = (bool, int, float, str, type(None))


class _Unsupported(Exception):
    """A node this compiler does not translate: the evaluator runs the tree."""


def _name(identifier: str) -> ast.Name:
    return ast.Name(identifier, ast.Load())


def _call(helper: str, *args: ast.expr) -> ast.Call:
    return ast.Call(_name(helper), list(args), [])


class _Translator:
    """Writes the Python tree of one checked expression tree."""

    def __init__(self) -> None:
        self._temps = itertools.count()

    def temp(self) -> str:
        return f"_t{next(self._temps)}"

    def bound(self, value: ast.expr) -> tuple[ast.expr, ast.expr]:
        """`value` evaluated once into a temporary: (the binding, a read of it)."""
        temp = self.temp()
        return ast.NamedExpr(ast.Name(temp, ast.Store()), value), _name(temp)

    def translate(self, node: ast.expr) -> ast.expr:
        method = getattr(self, f"node_{type(node).__name__}", None)
        if method is None:
            raise _Unsupported(type(node).__name__)
        result: ast.expr = method(node)
        return result

    def node_Constant(self, node: ast.Constant) -> ast.expr:
        value = node.value
        if type(value) not in _CONSTANTS:
            raise _Unsupported("constant")
        if isinstance(value, str) and len(value) > simpleeval.MAX_STRING_LENGTH:
            raise _Unsupported("long literal")  # the evaluator refuses it: let it say so
        return ast.Constant(value)

    def node_Name(self, node: ast.Name) -> ast.expr:
        # `(v if _type(v := get("n")) in _plain else _value(v))`
        binding, read = self.bound(_call("_get", ast.Constant(node.id)))
        is_plain = ast.Compare(_call("_type", binding), [ast.In()], [_name("_plain")])
        return ast.IfExp(is_plain, read, _call("_value", read))

    def node_List(self, node: ast.List) -> ast.expr:
        items = [self.translate(item) for item in node.elts]
        return _call("_list", ast.List(items, ast.Load()))

    def operator(self, op: ast.AST) -> str:
        helper = _OPERATOR_NAMES.get(type(op))
        if helper is None:
            raise _Unsupported(type(op).__name__)
        return helper

    def node_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        return _call(self.operator(node.op), self.translate(node.operand))

    def node_BinOp(self, node: ast.BinOp) -> ast.expr:
        helper = self.operator(node.op)
        return _call(helper, self.translate(node.left), self.translate(node.right))

    def node_BoolOp(self, node: ast.BoolOp) -> ast.expr:
        if not isinstance(node.op, ast.And | ast.Or) or len(node.values) < 2:
            raise _Unsupported("boolop")
        op: ast.boolop = ast.And() if isinstance(node.op, ast.And) else ast.Or()
        return ast.BoolOp(op, [self.translate(value) for value in node.values])

    def node_Compare(self, node: ast.Compare) -> ast.expr:
        helpers = [self.operator(op) for op in node.ops]
        left = self.translate(node.left)
        steps: list[ast.expr] = []
        last = len(node.comparators) - 1
        for index, (helper, comparator) in enumerate(zip(helpers, node.comparators, strict=True)):
            right = self.translate(comparator)
            if index < last:  # the next comparison reads it again: evaluate it once
                binding, read = self.bound(right)
                steps.append(_call(helper, left, binding))
                left = read
            else:
                steps.append(_call(helper, left, right))
        return steps[0] if len(steps) == 1 else ast.BoolOp(ast.And(), steps)

    def node_IfExp(self, node: ast.IfExp) -> ast.expr:
        return ast.IfExp(
            self.translate(node.test), self.translate(node.body), self.translate(node.orelse)
        )

    def node_Call(self, node: ast.Call) -> ast.expr:
        func = node.func
        if not isinstance(func, ast.Name) or node.keywords or func.id not in FUNCTIONS:
            raise _Unsupported("call")
        return _call(_FUNCTION_NAMES[func.id], *(self.translate(arg) for arg in node.args))


def compile_tree(tree: ast.expr) -> Compiled | None:
    """The function computing what the evaluator computes on `tree` (a tree the sandbox
    accepted); None when the tree has a node this compiler does not translate."""
    try:
        body = _Translator().translate(tree)
    except (_Unsupported, RecursionError):
        return None
    arguments = ast.arguments(
        posonlyargs=[],
        args=[ast.arg("_get")],
        vararg=None,
        kwonlyargs=[],
        kw_defaults=[],
        kwarg=None,
        defaults=[],
    )
    made = ast.fix_missing_locations(ast.Expression(ast.Lambda(arguments, body)))
    try:
        with PARSING:  # CPython 3.11 converts a tree with the count `ast.parse` shares
            code = compile(made, "<expression>", "eval")
    except (RecursionError, MemoryError, ValueError, SyntaxError):
        return None
    function: Compiled = eval(code, dict(_GLOBALS))  # the made tree above, not a text
    return function


def run_compiled(source: str, function: Compiled, variables: Mapping[str, Any]) -> Any:
    """Run a compiled expression against `variables`; failures raise the EvaluationError the
    evaluator raises (`engine.expressions.evaluator.evaluate_tree`)."""
    try:
        result = function(variables.get)
        if type(result) in (str, int, float):
            _checked_size(result)
    except _Refused as refused:
        raise EvaluationError(source, str(refused)) from None
    except Exception as error:  # ZeroDivisionError, OverflowError, ValueError, TypeError...
        raise EvaluationError(source, f"{type(error).__name__}: {error}") from error
    return result
