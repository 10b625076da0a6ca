"""The sandboxed expression language of guards, computed values and templates.

Expressions (docs/language.md, "Expressions and templates") are compiled once, when a
definition is loaded: Python's `ast` parses them, our own whitelist checker
(`engine.expressions.sandbox`) refuses every construct the language does not have and checks
names and types against the process's fields. The checked tree is then turned, the first time
it is evaluated, into a Python function made of the language's own operator and function
tables (`engine.expressions.compiler`); a tree it does not translate is walked by simpleeval
(`engine.expressions.evaluator`), which gives the same values and errors. Only trees the
sandbox accepted are compiled: the sandbox stays the gate.

Measured with bench/bench_expressions.py on the 2-core dev machine, for the guard
`attempt < 3 and outcome != 'reached'`:

    compiled into a function                             ~0.5 µs per evaluation
    the same tree walked by simpleeval (our operators)   ~2.3 µs
    plain Python lambda doing the same                   ~0.09 µs
    `effective_date - days(14)`                          ~2.0 µs (walked ~6.3 µs)
    checking the guard (load time, once)                 ~33 µs
    compiling it into a function (first evaluation)      ~100 µs

The budget is 5 µs per guard. Its safety does not rest on simpleeval or on the compiled form:
the checker admits only literals, names, and/or/not, comparisons, + - * / // %,
`x if c else y` and calls of ten named functions, so there is nothing to escape through.

    >>> env = {"attempt": ExprType.INT, "outcome": ExprType.STRING}
    >>> guard = compile_expr(Expr("attempt < 3 and outcome != 'reached'"), env,
    ...                      expect=ExprType.BOOL)
    >>> guard.evaluate({"attempt": 1, "outcome": "no_answer"})
    True
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from ..errors import UNKNOWN, DefinitionError, Location, Problem
from ..frozen import frozen
from ..model import Expr, Template
from . import templates
from .compiler import compile_tree, run_compiled
from .evaluator import MAX_RESULT, EvaluationError, evaluate_tree
from .exprtypes import ExprType, enum_values, field_types
from .sandbox import check_source

__all__ = [
    "CompiledExpr",
    "CompiledTemplate",
    "EvaluationError",
    "ExprType",
    "check_expr",
    "check_template",
    "compile_expr",
    "compile_template",
    "enum_values",
    "field_types",
]


@frozen
class CompiledExpr:
    """A checked expression, ready to evaluate any number of times.

    Attributes:
        source: The expression as written.
        names: The fields and builtins it reads.
        type: Its static type.
        loc: Where it was written.
    """

    source: str
    names: frozenset[str]
    type: ExprType
    loc: Location = UNKNOWN
    _tree: ast.expr = field(default_factory=lambda: ast.Constant(None), repr=False, compare=False)

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        """Evaluate against instance data and builtins; a missing name reads as None (unset).

        The first evaluation compiles the checked tree into a function
        (`engine.expressions.compiler`); a tree it does not compile is walked by the
        evaluator. Both give the same values and the same errors.

        Raises:
            EvaluationError: The expression failed (e.g. arithmetic on an unset field).
        """
        try:
            function = self.__dict__["_function"]
        except KeyError:
            function = compile_tree(self._tree)
            object.__setattr__(self, "_function", function)  # made once, never pickled
        if function is None:
            return evaluate_tree(self.source, self._tree, variables)
        return run_compiled(self.source, function, variables)

    def __getstate__(self) -> dict[str, Any]:
        """What a pickle keeps: the fields, not the compiled function (made again on use)."""
        state = dict(self.__dict__)
        state.pop("_function", None)
        return state


@frozen
class CompiledTemplate:
    """A checked template: literal text and compiled `{expression}` holes."""

    source: str
    names: frozenset[str]
    loc: Location = UNKNOWN
    _parts: tuple[str | CompiledExpr, ...] = field(default=(), repr=False, compare=False)

    def render(self, variables: Mapping[str, Any]) -> str:
        """The text with every hole replaced by its value (unset: "", dates ISO).

        Raises:
            EvaluationError: A hole failed, or the text is longer than 100,000 characters.
        """
        out = "".join(
            part if isinstance(part, str) else templates.format_value(part.evaluate(variables))
            for part in self._parts
        )
        if len(out) > MAX_RESULT:
            raise EvaluationError(self.source, f"the text is longer than {MAX_RESULT:,} characters")
        return out


def check_expr(
    expr: Expr,
    env: Mapping[str, ExprType],
    *,
    expect: ExprType | None = None,
    enums: Mapping[str, tuple[str, ...]] | None = None,
) -> list[Problem]:
    """The problems `compile_expr` would raise, as a list (empty when the expression is fine)."""
    return check_source(expr.source, expr.loc, env, expect, enums).problems


def compile_expr(
    expr: Expr,
    env: Mapping[str, ExprType],
    *,
    expect: ExprType | None = None,
    enums: Mapping[str, tuple[str, ...]] | None = None,
) -> CompiledExpr:
    """Check an expression against the names in `env` and compile it.

    Args:
        expr: The expression and where it was written.
        env: The readable names and their types, usually `field_types(process)`.
        expect: The type the expression must have (`ExprType.BOOL` for guards); `none` is
            accepted for any type but BOOL, since setting a field to none clears it.
        enums: The values of enum fields, usually `enum_values(process)`: a string literal
            compared with such a field (`==`, `!=`, `in [...]`) must be one of them.

    Raises:
        DefinitionError: Syntax errors, constructs the language does not have, unknown names or
            functions, type errors, values no enum has; each Problem points at the offending
            token.
    """
    checked = check_source(expr.source, expr.loc, env, expect, enums)
    if checked.problems or checked.tree is None:
        raise DefinitionError(checked.problems)
    return CompiledExpr(expr.source, checked.names, checked.type, expr.loc, checked.tree)


def _compile_parts(
    template: Template,
    env: Mapping[str, ExprType],
    enums: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[list[str | CompiledExpr], list[Problem]]:
    pieces, errors = templates.split(template.source)
    problems = [
        Problem(templates.location_of(template.loc, template.source, offset), message)
        for offset, message in errors
    ]
    parts: list[str | CompiledExpr] = []
    for piece in pieces:
        if isinstance(piece, str):
            parts.append(piece)
            continue
        loc = templates.location_of(template.loc, template.source, piece.offset)
        if not piece.source.strip():
            message = "an empty `{}` in a template; write `{{}}` for braces"
            brace = templates.location_of(template.loc, template.source, piece.offset - 1)
            problems.append(Problem(brace, message))
            continue
        checked = check_source(piece.source, loc, env, enums=enums)
        problems.extend(checked.problems)
        if checked.tree is not None and not checked.problems:
            parts.append(CompiledExpr(piece.source, checked.names, checked.type, loc, checked.tree))
    return parts, problems


def check_template(
    template: Template,
    env: Mapping[str, ExprType],
    *,
    enums: Mapping[str, tuple[str, ...]] | None = None,
) -> list[Problem]:
    """The problems `compile_template` would raise, as a list (`enums` as in `compile_expr`)."""
    return _compile_parts(template, env, enums)[1]


def compile_template(template: Template, env: Mapping[str, ExprType]) -> CompiledTemplate:
    """Check every `{expression}` hole of a template and compile it.

    Raises:
        DefinitionError: A brace is unbalanced or a hole is not a valid expression.
    """
    parts, problems = _compile_parts(template, env)
    if problems:
        raise DefinitionError(problems)
    names = frozenset().union(*(p.names for p in parts if isinstance(p, CompiledExpr)))
    return CompiledTemplate(template.source, names, template.loc, tuple(parts))
