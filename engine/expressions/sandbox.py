"""The load-time gate of the expression language: parse, whitelist, name and type check.

Expressions are parsed with Python's `ast` and then walked by this checker, which accepts only
the constructs the language has (docs/language.md, "Expressions and templates") and refuses
everything else with a Problem pointing at the offending token. Whatever passes here is a tree
the evaluator can run without reaching Python internals: names are plain lookups in the
instance data, calls go only to the whitelisted functions, and there is no `**`, attribute,
subscript, lambda or comprehension to build a bomb or an escape from.

Columns: a Problem's column is the expression's `loc.column` plus the AST node's 0-based column
offset (for a node on the expression's first line). Whether the YAML scalar was quoted is not
known here, so for a quoted scalar the column is one short of the token.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable, Mapping
from dataclasses import field

from ..errors import Location, Problem, did_you_mean
from ..frozen import record
from .evaluator import MAX_INT
from .exprtypes import OPERATOR_SYMBOLS, ORDERED, ExprType, arithmetic_type, compatible, unify

T = ExprType
MAX_LITERAL = 10_000  # characters of a string literal, elements of a list literal
MAX_DEPTH = 100

LITERAL_NAMES = {"true": True, "false": False, "none": None}

# name -> (accepted argument types, or None for any; result type)
FUNCTIONS: dict[str, tuple[frozenset[ExprType] | None, ExprType]] = {
    "days": (frozenset({T.INT}), T.DURATION),
    "hours": (frozenset({T.INT}), T.DURATION),
    "minutes": (frozenset({T.INT}), T.DURATION),
    "weeks": (frozenset({T.INT}), T.DURATION),
    "len": (frozenset({T.STRING, T.LIST}), T.INT),
    "lower": (frozenset({T.STRING}), T.STRING),
    "upper": (frozenset({T.STRING}), T.STRING),
    "is_set": (None, T.BOOL),
    "date": (frozenset({T.STRING, T.DATE, T.DATETIME}), T.DATE),
    "datetime": (frozenset({T.STRING, T.DATE, T.DATETIME}), T.DATETIME),
}

_FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.Starred: "a starred expression (`*`)",
    ast.NamedExpr: "an assignment expression (`:=`)",
    ast.Dict: "a dict literal",
    ast.Set: "a set literal",
    ast.Tuple: "a tuple",
    ast.Slice: "a slice",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}

_ARITHMETIC_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod)
_NO_NAME_HINT = "names starting with '_' are reserved"
_IS_SET_HINT = "use is_set(x) to test whether a field is set"


# CPython 3.11 counts the depth of the tree `ast.parse` hands back in one place shared by all
# threads, so two threads parsing at once can fail with "SystemError: AST constructor recursion
# depth mismatch" (engines in threads compile definitions concurrently): one parse at a time.
PARSING = threading.Lock()


@record
class Checked:
    """The outcome of checking one expression: the (rewritten) tree, its type and problems."""

    tree: ast.expr | None
    type: ExprType
    names: frozenset[str]
    problems: list[Problem]


def check_source(
    source: str,
    loc: Location,
    env: Mapping[str, ExprType],
    expect: ExprType | None = None,
    enums: Mapping[str, tuple[str, ...]] | None = None,
) -> Checked:
    """Parse and check `source`; problems carry locations relative to `loc`.

    `enums` maps enum fields to their values: a string literal compared with one of those
    fields by `==`, `!=`, `in` or `not in` (a list) must be one of its values.
    """
    lead = len(source) - len(source.lstrip(" \t"))
    text = source.strip()
    checker = _Checker(text, loc, lead, env, enums or {})
    if not text:
        checker.problem_at(1, 0, "the expression is empty")
        return Checked(None, T.ANY, frozenset(), checker.problems)
    try:
        with PARSING:
            parsed = ast.parse(text, mode="eval")
    except SyntaxError as error:
        detail = error.msg
        checker.problem_at(error.lineno or 1, max((error.offset or 1) - 1, 0), f"syntax: {detail}")
        return Checked(None, T.ANY, frozenset(), checker.problems)
    except (RecursionError, MemoryError, ValueError):
        checker.problem_at(1, 0, "the expression is too deeply nested or too large")
        return Checked(None, T.ANY, frozenset(), checker.problems)
    try:
        tree = _Literals().visit(parsed.body)
        result = checker.check(tree, 0)
    except RecursionError:
        checker.problems = [
            Problem(
                checker.loc, f"the expression is nested too deeply (at most {MAX_DEPTH} levels)"
            )
        ]
        return Checked(None, T.ANY, frozenset(), checker.problems)
    if expect is not None and not checker.problems and not _fits(result, expect):
        checker.problem(tree, f"the expression must be {_a(expect)}, but it is {_a(result)}")
    return Checked(tree, result, frozenset(checker.names), checker.problems)


def _fits(actual: ExprType, expect: ExprType) -> bool:
    if actual in (expect, T.ANY):
        return True
    return actual == T.NONE and expect != T.BOOL  # `set: {field: none}` clears a field


def _a(kind: ExprType) -> str:
    article = "an" if kind.value[0] in "aeiou" else "a"
    return {T.NONE: "none", T.ANY: "any value"}.get(kind, f"{article} {kind.value}")


class _Literals(ast.NodeTransformer):
    """Rewrites the lowercase literals `true`, `false`, `none` to constants."""

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id in LITERAL_NAMES:
            return ast.copy_location(ast.Constant(LITERAL_NAMES[node.id]), node)
        return node


@record
class _Checker:
    text: str
    loc: Location
    lead: int
    env: Mapping[str, ExprType]
    enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    list_items: dict[int, ExprType] = field(default_factory=dict)

    # --- reporting -----------------------------------------------------------------------

    def problem_at(self, lineno: int, col: int, message: str, hint: str = "") -> None:
        loc = self.loc
        if lineno <= 1:
            where = Location(loc.file, loc.line, loc.column + self.lead + col, loc.path)
        else:
            where = Location(loc.file, loc.line + lineno - 1, col + 1, loc.path)
        self.problems.append(Problem(where, message, hint=hint))

    def problem(self, node: ast.AST, message: str, hint: str = "") -> ExprType:
        self.problem_at(getattr(node, "lineno", 1), getattr(node, "col_offset", 0), message, hint)
        return T.ANY  # an erroneous part types as ANY so one mistake is reported once

    def operator_at(self, before: ast.expr, after: ast.expr, message: str) -> ExprType:
        """Report at the operator written between two operands (found in the source text)."""
        line, col = before.end_lineno or 1, before.end_col_offset or 0
        if line == after.lineno:
            lines = self.text.splitlines()
            row = lines[line - 1] if line <= len(lines) else ""
            while col < after.col_offset and row[col] in " \t)":
                col += 1
            self.problem_at(line, col, message)
            return T.ANY
        return self.problem(after, message)

    def after(self, node: ast.expr, message: str) -> ExprType:
        """Report at the token right after `node` (the `.` of an attribute, the `[`)."""
        self.problem_at(node.end_lineno or 1, node.end_col_offset or 0, message)
        return T.ANY

    # --- the walk ------------------------------------------------------------------------

    def check(self, node: ast.expr, depth: int) -> ExprType:
        if depth > MAX_DEPTH:
            raise RecursionError  # stop the whole walk: one problem, not one per deep branch
        handler = _HANDLERS.get(type(node))
        if handler is not None:
            return handler(self, node, depth + 1)
        what = _FORBIDDEN.get(type(node), type(node).__name__)
        return self.problem(node, f"{what} is not allowed in expressions")

    def constant(self, node: ast.Constant, depth: int) -> ExprType:
        value = node.value
        if isinstance(value, bool):
            return T.BOOL
        if value is None:
            return T.NONE
        if isinstance(value, int | float):
            if not -MAX_INT - 1 <= value <= MAX_INT:  # also catches a float that overflowed
                return self.problem(
                    node, f"a number this large is not allowed: at most {MAX_INT:,}"
                )
            return T.INT
        if isinstance(value, str):
            if len(value) > MAX_LITERAL:
                return self.problem(
                    node,
                    f"a string literal of {len(value)} characters is too long "
                    f"(at most {MAX_LITERAL:,})",
                )
            return T.STRING
        return self.problem(node, f"the literal `{_snippet(node)}` is not allowed in expressions")

    def name(self, node: ast.Name, depth: int) -> ExprType:
        if node.id.startswith("_"):
            return self.problem(
                node, f"the name `{node.id}` is not allowed in expressions", _NO_NAME_HINT
            )
        kind = self.env.get(node.id)
        if kind is None:
            if node.id in FUNCTIONS:
                return self.problem(node, f"`{node.id}` is a function: call it, `{node.id}(...)`")
            return self.problem(node, f"unknown name '{node.id}'", did_you_mean(node.id, self.env))
        self.names.add(node.id)
        return kind

    def list_(self, node: ast.List, depth: int) -> ExprType:
        if len(node.elts) > MAX_LITERAL:
            return self.problem(node, f"a list literal of more than {MAX_LITERAL:,} items")
        kinds = {self.check(item, depth) for item in node.elts} - {T.NONE}
        if len(kinds) == 1:
            self.list_items[id(node)] = kinds.pop()
        return T.LIST

    def attribute(self, node: ast.Attribute, depth: int) -> ExprType:
        message = f"attribute access (`.{node.attr}`) is not allowed in expressions"
        return self.after(node.value, message)

    def subscript(self, node: ast.Subscript, depth: int) -> ExprType:
        return self.after(node.value, "a subscript (`[...]`) is not allowed in expressions")

    def boolop(self, node: ast.BoolOp, depth: int) -> ExprType:
        word = "and" if isinstance(node.op, ast.And) else "or"
        for value in node.values:
            kind = self.check(value, depth)
            if kind not in (T.BOOL, T.ANY):
                self.problem(
                    value, f"`{word}` needs true/false operands, not {_a(kind)}", _IS_SET_HINT
                )
        return T.BOOL

    def unaryop(self, node: ast.UnaryOp, depth: int) -> ExprType:
        kind = self.check(node.operand, depth)
        if isinstance(node.op, ast.Not):
            if kind not in (T.BOOL, T.ANY):
                self.problem(
                    node.operand, f"`not` needs a true/false operand, not {_a(kind)}", _IS_SET_HINT
                )
            return T.BOOL
        symbol = OPERATOR_SYMBOLS[type(node.op)]
        if isinstance(node.op, ast.Invert):
            return self.problem(node, f"the operator `{symbol}` is not allowed in expressions")
        if kind not in (T.INT, T.DURATION, T.ANY):
            return self.problem(node, f"cannot apply unary `{symbol}` to {_a(kind)}")
        return kind

    def binop(self, node: ast.BinOp, depth: int) -> ExprType:
        symbol = OPERATOR_SYMBOLS[type(node.op)]
        if isinstance(node.op, ast.Pow):
            return self.problem(
                node,
                "the power operator `**` is not allowed in expressions",
                "there is no `**`: huge exponents could exhaust the machine",
            )
        if not isinstance(node.op, _ARITHMETIC_OPS):
            return self.problem(node, f"the operator `{symbol}` is not allowed in expressions")
        left, right = self.check(node.left, depth), self.check(node.right, depth)
        result = arithmetic_type(node.op, left, right)
        if result is None:
            return self.operator_at(
                node.left, node.right, f"cannot apply `{symbol}` to {_a(left)} and {_a(right)}"
            )
        return result

    def compare(self, node: ast.Compare, depth: int) -> ExprType:
        left_node, left = node.left, self.check(node.left, depth)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.check(right_node, depth)
            message = self.comparison_error(op, left, right, right_node)
            if message:
                self.operator_at(left_node, right_node, message)
            else:
                self.enum_literals(op, left_node, right_node)
            left_node, left = right_node, right
        return T.BOOL

    def comparison_error(
        self, op: ast.cmpop, left: ExprType, right: ExprType, right_node: ast.expr
    ) -> str:
        symbol = OPERATOR_SYMBOLS[type(op)]
        if isinstance(op, ast.Is | ast.IsNot):
            return f"`{symbol}` is not allowed in expressions; use `==`/`!=` or is_set(x)"
        if isinstance(op, ast.In | ast.NotIn):
            return self.membership_error(symbol, left, right, right_node)
        if {left, right} == {T.DATE, T.DATETIME}:
            return "cannot compare a date with a datetime; convert one with date(x) or datetime(x)"
        if isinstance(op, ast.Eq | ast.NotEq):
            ok = compatible(left, right)
        elif T.NONE in (left, right):
            return f"`{symbol}` with none is always false; {_IS_SET_HINT}"
        else:
            ok = T.ANY in (left, right) or (left == right and left in ORDERED)
        return "" if ok else f"cannot compare {_a(left)} with {_a(right)} using `{symbol}`"

    def enum_literals(self, op: ast.cmpop, left: ast.expr, right: ast.expr) -> None:
        """String literals compared with an enum field must be among its values."""
        if isinstance(op, ast.Eq | ast.NotEq):
            pairs = [(left, [right]), (right, [left])]
        elif isinstance(op, ast.In | ast.NotIn) and isinstance(right, ast.List):
            pairs = [(left, right.elts)]
        else:
            return
        for side, literals in pairs:
            field_name = side.id if isinstance(side, ast.Name) else ""
            values = self.enums.get(field_name)
            if values is None:
                continue
            for literal in literals:
                if not isinstance(literal, ast.Constant) or not isinstance(literal.value, str):
                    continue
                if literal.value not in values:
                    self.problem(
                        literal,
                        f"'{literal.value}' is not a value of enum field '{field_name}'",
                        did_you_mean(literal.value, values),
                    )

    def membership_error(
        self, symbol: str, left: ExprType, right: ExprType, right_node: ast.expr
    ) -> str:
        if right == T.ANY:
            return ""
        if right == T.STRING:
            ok = left in (T.STRING, T.ANY)
        elif right == T.LIST:
            item = self.list_items.get(id(right_node), T.ANY)
            ok = compatible(left, item)
        else:
            return f"`{symbol}` needs a list or a string on its right, not {_a(right)}"
        return "" if ok else f"cannot look for {_a(left)} `{symbol}` {_a(right)} of other values"

    def ifexp(self, node: ast.IfExp, depth: int) -> ExprType:
        test = self.check(node.test, depth)
        if test not in (T.BOOL, T.ANY):
            self.problem(
                node.test,
                f"the condition after `if` must be true/false, not {_a(test)}",
                _IS_SET_HINT,
            )
        body, orelse = self.check(node.body, depth), self.check(node.orelse, depth)
        result = unify(body, orelse)
        if result is None:
            return self.problem(
                node.orelse,
                f"both branches of `if ... else` must have one type: {_a(body)} and {_a(orelse)}",
            )
        return result

    def call(self, node: ast.Call, depth: int) -> ExprType:
        func = node.func
        if not isinstance(func, ast.Name):
            if isinstance(func, ast.Attribute):
                return self.attribute(func, depth)
            return self.problem(node, f"calling `{_snippet(func)}` is not allowed in expressions")
        if func.id.startswith("_"):
            return self.problem(
                func, f"the name `{func.id}` is not allowed in expressions", _NO_NAME_HINT
            )
        signature = FUNCTIONS.get(func.id)
        if signature is None:
            hint = "the functions are: " + ", ".join(FUNCTIONS)
            if func.id in self.env:
                return self.problem(func, f"`{func.id}` is a field, not a function", hint)
            close = did_you_mean(func.id, FUNCTIONS)
            return self.problem(
                func,
                f"calling `{func.id}` is not allowed in expressions",
                close if close.startswith("did") else hint,
            )
        if node.keywords:
            return self.problem(
                node.keywords[0].value, "keyword arguments are not allowed in expressions"
            )
        if len(node.args) != 1:
            return self.problem(
                node, f"{func.id}() takes exactly one argument ({len(node.args)} given)"
            )
        accepted, result = signature
        kind = self.check(node.args[0], depth)
        if accepted is not None and kind != T.ANY and kind not in accepted:
            wanted = " or ".join(sorted(_a(k) for k in accepted))
            self.problem(node.args[0], f"{func.id}() needs {wanted}, not {_a(kind)}")
        return result


def _snippet(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


_Handler = Callable[[_Checker, ast.expr, int], ExprType]
_HANDLERS: dict[type[ast.AST], _Handler] = {
    ast.Constant: _Checker.constant,  # type: ignore[dict-item]
    ast.Name: _Checker.name,  # type: ignore[dict-item]
    ast.List: _Checker.list_,  # type: ignore[dict-item]
    ast.Attribute: _Checker.attribute,  # type: ignore[dict-item]
    ast.Subscript: _Checker.subscript,  # type: ignore[dict-item]
    ast.BoolOp: _Checker.boolop,  # type: ignore[dict-item]
    ast.UnaryOp: _Checker.unaryop,  # type: ignore[dict-item]
    ast.BinOp: _Checker.binop,  # type: ignore[dict-item]
    ast.Compare: _Checker.compare,  # type: ignore[dict-item]
    ast.IfExp: _Checker.ifexp,  # type: ignore[dict-item]
    ast.Call: _Checker.call,  # type: ignore[dict-item]
}
