"""The finite abstraction of instance data that `fulfil check` explores.

Every field gets a small domain of sample values, taken from what the process compares it with:

- enum: each value; bool: true and false;
- int: the constants the process compares it with, each plus and minus one, and its default;
  values computed by `set` actions are capped to that range, so counters stay finite;
- string and text: a sample value and the literals it is compared with (unset is also a value);
- date and datetime: the check's clock only, unless the value matters (compared, computed
  with, an `at` time): then also 30 days before and after, and the literals compared with,
  each plus and minus one day;
- list: one item (a literal tested with `in`, or a sample).

`Abstraction.canon` maps any value an action computes back into the domain, which keeps the
set of configurations finite. A field a `set` action computes from itself (a counter such as
`attempt + 1`) is the engine's own: the explorer never draws it as data given by people.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..model import Expr, FieldType, Process, SetField

__all__ = ["ABSENT", "CLOCK", "MAX_COMBINATIONS", "Abstraction"]

CLOCK = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday; the scenarios' default clock
MAX_COMBINATIONS = 256  # data combinations per event before falling back to one field at a time
ABSENT: Any = object()  # "this field is not given" in a data combination
_SPREAD = timedelta(days=30)


def _parse(source: str) -> ast.expr | None:
    try:
        return ast.parse(source, mode="eval").body
    except SyntaxError:  # the loader refused it already; nothing to learn from it here
        return None


def _constant(node: ast.expr) -> tuple[bool, Any]:
    """Whether `node` is a literal (or `date('...')`/`datetime('...')` of one), and its value."""
    if isinstance(node, ast.Constant):
        return True, node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        ok, value = _constant(node.operand)
        if ok and isinstance(value, int | float) and not isinstance(value, bool):
            return True, -value
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("date", "datetime")
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
    ):
        try:
            if node.func.id == "date":
                return True, date.fromisoformat(str(node.args[0].value))
            moment = datetime.fromisoformat(str(node.args[0].value))
            return True, moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        except ValueError:
            return False, None
    return False, None


def _compared_literals(tree: ast.expr) -> Iterator[tuple[str, Any]]:
    """(field, literal) for every comparison of a bare name with a literal in `tree`."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            for name, other in ((left, right), (right, left)):
                if not isinstance(name, ast.Name):
                    continue
                if isinstance(op, ast.In | ast.NotIn) and isinstance(other, ast.List):
                    for item in other.elts:
                        ok, value = _constant(item)
                        if ok:
                            yield name.id, value
                    continue
                ok, value = _constant(other)
                if ok:
                    yield name.id, value


def _names(tree: ast.expr) -> set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _valued(tree: ast.expr) -> set[str]:
    """The names whose value (not only whether they are set) matters: compared or computed."""
    if isinstance(tree, ast.Name):
        return {tree.id}  # an expression that is a bare name: an `at` time, a copied value
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare | ast.BinOp):
            found |= _names(node)
    return found


def control_expressions(process: Process) -> Iterator[Expr]:
    """The expressions that decide what happens: guards, `at` times, invariants, set values."""
    for transition in process.transitions:
        if transition.guard is not None:
            yield transition.guard
        for action in transition.actions:
            if isinstance(action, SetField):
                yield action.value
    for state in process.all_states():
        for timer in state.timers:
            if timer.at is not None:
                yield timer.at
            if timer.unless is not None:
                yield timer.unless
    for invariant in process.invariants:
        yield invariant.expr


@dataclass
class Abstraction:
    """Sample domains per field, the caps of int fields, and the canonical form of values.

    Attributes:
        domains: field -> the sample values data may give it (never None).
        owned: the fields a `set` action computes from themselves (counters): never drawn as
            data given by people.
        control: the fields an expression that decides something reads.
    """

    process: Process
    domains: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    owned: frozenset[str] = frozenset()
    control: frozenset[str] = frozenset()
    _literals: dict[str, set[Any]] = field(default_factory=dict)
    _ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    _compared: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, process: Process) -> Abstraction:
        """Derive the abstraction of a process from its expressions."""
        literals: dict[str, set[Any]] = {f.name: set() for f in process.fields}
        read: set[str] = set()
        compared: set[str] = set()
        for expr in control_expressions(process):
            tree = _parse(expr.source)
            if tree is None:
                continue
            read |= _names(tree)
            compared |= _valued(tree)
            for name, value in _compared_literals(tree):
                if name in literals and value is not None:
                    literals[name].add(value)
        for transition in process.transitions:
            read.update(transition.requires)
        # A field a `set` computes from itself (a counter: `attempt + 1`) is the engine's own;
        # a field a `set` merely fills in (a default reason, a timestamp) people may give too.
        owned = {
            action.field
            for t in process.transitions
            for action in t.actions
            if isinstance(action, SetField)
            and (tree := _parse(action.value.source)) is not None
            and action.field in _names(tree)
        }
        made = cls(process, owned=frozenset(owned), control=frozenset(read & set(literals)))
        made._literals = literals
        made._compared = compared
        for spec in process.fields:
            made.domains[spec.name] = made._domain(spec.name)
        return made

    def _domain(self, name: str) -> tuple[Any, ...]:
        spec = self.process.find_field(name)
        assert spec is not None
        lits = self._literals[name]
        read = name in self.control
        kind = spec.type
        if kind is FieldType.BOOL:
            return (True, False)
        if kind is FieldType.ENUM:
            return spec.values
        if kind is FieldType.INT:
            numbers = {
                n + d
                for n in lits
                if isinstance(n, int) and not isinstance(n, bool)
                for d in (-1, 0, 1)
            }
            if isinstance(spec.default, int):
                numbers.add(spec.default)
            if not numbers:
                numbers = {0, 1} if read else {0}
            self._ranges[name] = (min(numbers), max(numbers))
            return tuple(sorted(numbers))
        if kind is FieldType.EMAIL:
            return ("someone@example.com",)
        if kind in (FieldType.STRING, FieldType.TEXT):
            sample = "someone@example.com" if "email" in name else "sample"
            texts = sorted(v for v in lits if isinstance(v, str) and v)
            return (sample, *texts)
        if kind is FieldType.LIST:
            items = sorted(v for v in lits if isinstance(v, str))
            return tuple((item,) for item in [*items, "item"])
        return self._times(kind, lits, name in self._compared)

    def _times(self, kind: FieldType, lits: set[Any], compared: bool) -> tuple[Any, ...]:
        base: Any = CLOCK.date() if kind is FieldType.DATE else CLOCK
        if not compared:
            return (base,)
        step = timedelta(days=1)
        values = {base - _SPREAD, base, base + _SPREAD}
        for lit in lits:
            same_kind = isinstance(lit, datetime) == (kind is FieldType.DATETIME)
            if isinstance(lit, date) and same_kind:
                values |= {lit - step, lit, lit + step}
        return tuple(sorted(values))

    # -- canonical values ---------------------------------------------------------------------
    def canon(self, name: str, value: Any) -> Any:
        """`value` mapped into the field's finite domain (hashable: lists become tuples).

        Unset, empty text and empty lists are all None (they read alike: `is_set` is false).
        Ints are capped to the domain's range; other values not in the domain become the
        nearest sample (times) or the generic sample (text, lists).
        """
        if value is None or value == "" or value == [] or value == ():
            return None
        domain = self.domains.get(name)
        if domain is None:
            return value
        if isinstance(value, bool) or (isinstance(value, str) and value in domain):
            return value
        if isinstance(value, int | float):
            low, high = self._ranges.get(name, (0, 0))
            return min(max(value, low), high) if isinstance(value, int) else value
        if isinstance(value, str):
            return domain[0]
        if isinstance(value, list | tuple):
            first = next((v for v in value if (v,) in domain), None)
            return (first,) if first is not None else domain[-1]
        if isinstance(value, date):
            return min(domain, key=lambda sample: abs(_distance(sample, value)))
        return value

    def values(self, canon: Mapping[str, Any]) -> dict[str, Any]:
        """Typed values for expressions from canonical ones (tuples back to lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in canon.items()}

    # -- data drawn for events ----------------------------------------------------------------
    def drawable(self, names: Iterable[str]) -> list[str]:
        """The fields among `names` people may give as data (declared, not engine-owned)."""
        declared = {f.name for f in self.process.fields}
        return sorted({n for n in names if n in declared and n not in self.owned})

    def combinations(
        self, names: Sequence[str], *, required: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """Data mappings drawing `names` from their domains (or not giving them).

        `required` fields are always given. The full product is used when it has at most
        MAX_COMBINATIONS members; otherwise one field varies at a time (the others absent or
        at their first sample), which still gives every field every value once.
        """
        options = [self.domains[n] if n in required else (ABSENT, *self.domains[n]) for n in names]
        size = 1
        for choice in options:
            size *= len(choice)
        if size <= MAX_COMBINATIONS:
            rows: Iterable[tuple[Any, ...]] = itertools.product(*options)
        else:
            base = tuple(choice[0] for choice in options)
            rows = [base] + [
                (*base[:i], value, *base[i + 1 :])
                for i, choice in enumerate(options)
                for value in choice[1:]
            ]
        return [
            {
                n: (list(v) if isinstance(v, tuple) else v)
                for n, v in zip(names, row, strict=True)
                if v is not ABSENT
            }
            for row in rows
        ]


def _distance(sample: Any, value: Any) -> float:
    if isinstance(sample, datetime) and isinstance(value, datetime):
        return (sample - value).total_seconds()
    if isinstance(sample, datetime) or isinstance(value, datetime):
        left = sample.date() if isinstance(sample, datetime) else sample
        right = value.date() if isinstance(value, datetime) else value
        return float((left - right).days * 86400)
    return float((sample - value).days * 86400)
