"""Completion, hover and go-to-definition: pure functions of a document's text, a position and
its outline (`engine.lsp.outline`).

What a position expects is read from the text around it, line by line, so it works while the
document is being typed and does not parse: the key the value belongs to (`dest: ` wants a state,
`roles: [` a role, `depends_on:` a task, `process:` a process of the folder), the key of the list
a `- ` item belongs to, an expression (`guard:`, `at:`, the value given to a field in `set:`)
or a template's `{` hole, which want fields.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .outline import Name, Outline
from .positions import Position, Range, from_utf16, to_utf16

__all__ = ["CompletionItem", "Hover", "complete", "definition", "expected", "hover"]

# What the value of a key names.
_VALUE_KINDS: dict[str, tuple[str, ...]] = {
    "dest": ("state",),
    "source": ("state",),
    "trigger": ("trigger",),
    "on_complete": ("trigger",),
    "roles": ("role",),
    "owner": ("role",),
    "manager": ("role",),
    "to": ("role", "field"),
    "cc": ("role", "field"),
    "contact": ("field",),
    "requires": ("field",),
    "input": ("field",),
    "field": ("field",),
    "result": ("field",),
    "calendar": ("calendar",),
    "depends_on": ("task",),
    "task": ("task",),
    "target": ("task",),
    "process": ("process",),
}
_EXPRESSION_KEYS = {"guard", "at"}
_MAPPING_OF_FIELDS = {"set"}  # keys inside are fields
_FIELDS = ("field",)

_QUOTED_VALUE = re.compile(r"(?:^|[\s{,])-?\s*([A-Za-z_][\w]*):[ \t]*([\"'])([^\"']*)$")
_PLAIN_VALUE = re.compile(r"(?:^|[\s{,])-?\s*([A-Za-z_][\w]*):[ \t]*(?:\[(?:[^\]\[]*,)?[ \t]*)?$")
_EXPRESSION = re.compile(r"(?:^|[\s{,])-?\s*(guard|at):[ \t]*[\"']?[^\"'#]*$")
_FLOW_KEY = re.compile(r"(?:^|[\s,])([A-Za-z_]\w*):[ \t]*\{(?:[^{}]*,)?[ \t]*$")
_BLOCK_KEY = re.compile(r"^(\s*)(?:-\s+)?([A-Za-z_]\w*):[ \t]*(?:#.*)?$")
_ITEM = re.compile(r"^(\s*)-[ \t]*$")
_BARE = re.compile(r"^(\s*)$")


def _is_name_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _name_start(line: str, index: int) -> int:
    """Where the name that ends at `index` starts."""
    while index > 0 and _is_name_char(line[index - 1]):
        index -= 1
    return index


def _name_end(line: str, index: int) -> int:
    while index < len(line) and _is_name_char(line[index]):
        index += 1
    return index


@dataclass(frozen=True)
class CompletionItem:
    label: str
    kind: str  # state, field, role, trigger, calendar, task, process
    detail: str = ""
    documentation: str = ""


@dataclass(frozen=True)
class Hover:
    markdown: str
    range: Range


def _parent_key(lines: Sequence[str], line: int, indent: int) -> str | None:
    """The key of the nearest line above written left of `indent` (the block this line is in)."""
    for above in range(line - 1, -1, -1):
        text = lines[above]
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        width = len(text) - len(text.lstrip())
        if width < indent:
            match = _BLOCK_KEY.match(text)
            return match.group(2) if match else None
    return None


def _in_template_hole(value: str) -> bool:
    """Inside a quoted value, after a `{` not yet closed (and not the `{{` of a brace)."""
    hole = value.rfind("{")
    return hole >= 0 and value.rfind("}") < hole and not value[: hole + 1].endswith("{{")


def expected(
    lines: Sequence[str], line: int, before: str, fields: set[str]
) -> tuple[str, ...] | None:
    """The kinds of name expected where `before` (the line up to the word) ends, or None."""
    quoted = _QUOTED_VALUE.search(before)
    if quoted is not None:
        key, value = quoted.group(1), quoted.group(3)
        if _in_template_hole(value) or key in _EXPRESSION_KEYS or key in fields:
            return _FIELDS
        return _VALUE_KINDS.get(key)
    if _EXPRESSION.search(before):
        return _FIELDS
    flow = _FLOW_KEY.search(before)
    if flow is not None and flow.group(1) in _MAPPING_OF_FIELDS:
        return _FIELDS
    plain = _PLAIN_VALUE.search(before)
    if plain is not None:
        key = plain.group(1)
        return _FIELDS if key in fields else _VALUE_KINDS.get(key)
    item = _ITEM.match(before)
    if item is not None:
        parent = _parent_key(lines, line, len(item.group(1)) + 1)
        return _VALUE_KINDS.get(parent or "")
    bare = _BARE.match(before)
    if bare is not None and bare.group(1):
        parent = _parent_key(lines, line, len(bare.group(1)))
        return _FIELDS if parent in _MAPPING_OF_FIELDS else None
    return None


def _at(text: str, position: Position) -> tuple[list[str], str, int] | None:
    lines = text.splitlines()
    if position.line == len(lines) and position.character == 0:
        lines.append("")
    if position.line >= len(lines):
        return None
    current = lines[position.line]
    return lines, current, from_utf16(current, position.character)


def complete(
    text: str, position: Position, names: Outline, processes: Sequence[str] = ()
) -> list[CompletionItem]:
    """The names that may be written at `position`; none where no name is expected."""
    found = _at(text, position)
    if found is None:
        return []
    lines, current, index = found
    start = _name_start(current, index)
    if current[start:index][:1].isdigit():  # a number, not a name
        return []
    before = current[:start]
    fields = {n.name for n in names.of("field")}
    kinds = expected(lines, position.line, before, fields)
    if not kinds:
        return []
    items = [CompletionItem(n.name, n.kind, n.detail, n.description) for n in names.of(*kinds)]
    if "process" in kinds:
        items += [CompletionItem(p, "process") for p in processes]
    return items


def _word(text: str, position: Position) -> tuple[list[str], str, int, int] | None:
    found = _at(text, position)
    if found is None:
        return None
    lines, current, index = found
    start, end = _name_start(current, index), _name_end(current, index)
    if start == end:
        return None
    return lines, current, start, end


_ORDER = ("state", "field", "role", "calendar", "task", "trigger", "timer")


def _lookup(
    text: str, position: Position, names: Outline, kinds: tuple[str, ...]
) -> tuple[Name, Range] | None:
    found = _word(text, position)
    if found is None:
        return None
    lines, current, start, end = found
    word = current[start:end]
    fields = {n.name for n in names.of("field")}
    wanted = expected(lines, position.line, current[:start], fields)
    order = tuple(k for k in (wanted or ()) if k in kinds) + tuple(k for k in kinds)
    name = names.find(word, order)
    if name is None:
        return None
    where = Range(
        Position(position.line, to_utf16(current, start)),
        Position(position.line, to_utf16(current, end)),
    )
    return name, where


def hover(text: str, position: Position, names: Outline) -> Hover | None:
    """What the file says about the state, field, role (or other name) under the cursor."""
    found = _lookup(text, position, names, _ORDER)
    if found is None:
        return None
    name, where = found
    head = f"**{name.kind}** `{name.name}`"
    if name.detail:
        head += f" — {name.detail}"
    parts = [head]
    if name.description:
        parts.append(name.description)
    parts.append(f"Declared at line {name.line + 1}, column {name.column + 1}.")
    return Hover("\n\n".join(parts), where)


def definition(text: str, position: Position, names: Outline) -> Range | None:
    """Where the state, field, role, calendar, task or trigger under the cursor is declared."""
    found = _lookup(
        text, position, names, ("state", "field", "role", "calendar", "task", "trigger")
    )
    if found is None:
        return None
    name, _ = found
    lines = text.splitlines()
    line = lines[name.line] if name.line < len(lines) else ""
    start = to_utf16(line, name.column)
    return Range(Position(name.line, start), Position(name.line, start + len(name.name)))
