"""The static types of the expression language and the typing rules of its operators.

Types are checked when a definition is loaded (`engine.expressions.sandbox`); nothing here runs
per evaluation. `INT` stands for numbers: `/` of two ints gives a float, which is still `INT` to
the checker (the language has no separate float type).
"""

from __future__ import annotations

import ast
from enum import StrEnum

from ..model import FieldType, Process


class ExprType(StrEnum):
    """The type of an expression, derived from the declared field types at load time."""

    STRING = "string"
    INT = "int"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    DURATION = "duration"
    LIST = "list"
    NONE = "none"
    ANY = "any"


_FIELD_TYPES = {
    FieldType.STRING: ExprType.STRING,
    FieldType.EMAIL: ExprType.STRING,
    FieldType.TEXT: ExprType.STRING,
    FieldType.ENUM: ExprType.STRING,
    FieldType.INT: ExprType.INT,
    FieldType.BOOL: ExprType.BOOL,
    FieldType.DATE: ExprType.DATE,
    FieldType.DATETIME: ExprType.DATETIME,
    FieldType.LIST: ExprType.LIST,
}

BATCH_FACTS: dict[str, ExprType] = {
    "list_size": ExprType.INT,  # how many instances the list holds
    "list_contacts": ExprType.LIST,  # their instance ids
    "list_period": ExprType.DATETIME,  # when the list's period began
    "list_sent_at": ExprType.DATETIME,  # when it was sent
}
"""What the `data` of a batch's `start` (the list's task) may read."""

BUILTIN_NAMES: dict[str, ExprType] = {
    "state": ExprType.STRING,
    "now": ExprType.DATETIME,
    "today": ExprType.DATE,
    "actor": ExprType.STRING,
    "role": ExprType.STRING,
}


def field_types(process: Process) -> dict[str, ExprType]:
    """The names an expression of `process` may read, with their types.

    Args:
        process: The process whose fields are readable.

    Returns:
        Every field mapped to its expression type (text and enum read as strings), plus the
        builtins `state`, `now`, `today`, `actor` and `role`; a builtin wins over a field of
        the same name.
    """
    env = {f.name: _FIELD_TYPES[f.type] for f in process.fields}
    env.update(BUILTIN_NAMES)
    return env


def enum_values(process: Process) -> dict[str, tuple[str, ...]]:
    """The values of every enum field of `process`, for checking literals compared with them.

    Args:
        process: The process whose fields are read.

    Returns:
        Each enum field (not shadowed by a builtin) mapped to its declared values, in order.
    """
    return {
        f.name: f.values
        for f in process.fields
        if f.type == FieldType.ENUM and f.name not in BUILTIN_NAMES
    }


T = ExprType
ORDERED = frozenset({T.INT, T.STRING, T.DATE, T.DATETIME, T.DURATION})

# (operator, left, right) -> result. Anything missing is a type error.
_ARITHMETIC: dict[tuple[type[ast.operator], ExprType, ExprType], ExprType] = {
    (ast.Add, T.INT, T.INT): T.INT,
    (ast.Add, T.STRING, T.STRING): T.STRING,
    (ast.Add, T.LIST, T.LIST): T.LIST,
    (ast.Add, T.DATE, T.DURATION): T.DATE,
    (ast.Add, T.DURATION, T.DATE): T.DATE,
    (ast.Add, T.DATETIME, T.DURATION): T.DATETIME,
    (ast.Add, T.DURATION, T.DATETIME): T.DATETIME,
    (ast.Add, T.DURATION, T.DURATION): T.DURATION,
    (ast.Sub, T.INT, T.INT): T.INT,
    (ast.Sub, T.DATE, T.DURATION): T.DATE,
    (ast.Sub, T.DATETIME, T.DURATION): T.DATETIME,
    (ast.Sub, T.DATE, T.DATE): T.DURATION,
    (ast.Sub, T.DATETIME, T.DATETIME): T.DURATION,
    (ast.Sub, T.DURATION, T.DURATION): T.DURATION,
    (ast.Mult, T.INT, T.INT): T.INT,
    (ast.Mult, T.DURATION, T.INT): T.DURATION,
    (ast.Mult, T.INT, T.DURATION): T.DURATION,
    (ast.Div, T.INT, T.INT): T.INT,
    (ast.Div, T.DURATION, T.INT): T.DURATION,
    (ast.Div, T.DURATION, T.DURATION): T.INT,
    (ast.FloorDiv, T.INT, T.INT): T.INT,
    (ast.FloorDiv, T.DURATION, T.INT): T.DURATION,
    (ast.FloorDiv, T.DURATION, T.DURATION): T.INT,
    (ast.Mod, T.INT, T.INT): T.INT,
    (ast.Mod, T.DURATION, T.DURATION): T.DURATION,
}

OPERATOR_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.Invert: "~",
    ast.USub: "-",
    ast.UAdd: "+",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}


def arithmetic_type(op: ast.operator, left: ExprType, right: ExprType) -> ExprType | None:
    """The result type of `left op right`, or None when the operation is a type error."""
    if T.ANY in (left, right) and T.NONE not in (left, right):
        return T.ANY
    return _ARITHMETIC.get((type(op), left, right))


def compatible(left: ExprType, right: ExprType) -> bool:
    """Whether values of the two types can sensibly be compared with `==`."""
    return left == right or T.ANY in (left, right) or T.NONE in (left, right)


def unify(left: ExprType, right: ExprType) -> ExprType | None:
    """The type of `a if c else b` given the branch types, or None when they do not fit."""
    if left == right or right == T.NONE:
        return left
    if left == T.NONE:
        return right
    if T.ANY in (left, right):
        return T.ANY
    return None
