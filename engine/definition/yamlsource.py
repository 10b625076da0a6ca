"""Safe YAML parsing that remembers where every key and value was written.

The text is composed into pyyaml's node tree (libyaml's C parser when available), then turned
into plain JSON-like data by our own small constructor, so that:

* only the standard tags are accepted (a `!!python/...` tag is an error, never constructed);
* duplicate keys are errors with the location of the second key;
* dates and `HH:MM` times stay strings as written (YAML 1.1 would turn `17:00` into 1020),
  and only `true`/`false` are booleans (not `yes`/`no`/`on`/`off`), as in YAML 1.2, which is
  what editors validating against our JSON Schema use;
* aliases are followed but recursive ones and alias bombs are refused.

`Source.locate(path)` returns the `Location` of the value (or, with `key=True`, the key) at a
document path such as `("states", "new", "timers", 0, "after")`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import DefinitionError, Location, Problem
from .yamlerrors import syntax_problem

__all__ = ["Source", "parse"]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when pyyaml has it

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_MAP, _SEQ, _TIMESTAMP, _MERGE = (_TAG + t for t in ("map", "seq", "timestamp", "merge"))
_ALLOWED_TAGS = {_STR, _INT, _FLOAT, _BOOL, _NULL, _MAP, _SEQ, _TIMESTAMP, _MERGE}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_MAX_NODES = 1_000_000  # after expanding aliases; a real process has a few thousand

Path = Sequence[str | int]


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


class _Builder:
    """Turns a node tree into plain data, collecting problems instead of stopping at the first."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.done: dict[int, Any] = {}
        self.active: set[int] = set()
        self.sizes: dict[int, int] = {}
        self._safe = yaml.SafeLoader("")

    def error(self, node: Node, message: str) -> None:
        mark = node.start_mark
        loc = Location(self.file, mark.line + 1, mark.column + 1)
        self.problems.append(Problem(loc, message))

    def build(self, node: Node) -> Any:
        if node.tag not in _ALLOWED_TAGS:
            self.error(node, f"tag '{_short_tag(node.tag)}' is not allowed in a process file")
            return None
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        key = id(node)
        if key in self.done:
            return self.done[key]
        if key in self.active:
            self.error(node, "recursive alias: a node cannot contain itself")
            return None
        self.active.add(key)
        if isinstance(node, MappingNode):
            value: Any = self.mapping(node)
        elif isinstance(node, SequenceNode):
            value = self.sequence(node)
        else:  # pragma: no cover - the composer makes only these three kinds of node
            return None
        self.active.discard(key)
        children = node.value if isinstance(node, SequenceNode) else [v for _, v in node.value]
        size = 1 + sum(self.sizes.get(id(child), 1) for child in children)
        if size > _MAX_NODES:
            raise _TooLarge(node)
        self.sizes[key] = size
        self.done[key] = value
        return value

    def sequence(self, node: SequenceNode) -> list[Any]:
        return [self.build(child) for child in node.value]

    def mapping(self, node: MappingNode) -> dict[str, Any]:
        out: dict[str, Any] = {}
        seen: dict[str, Node] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.update(self._merge(value_node))
                continue
            if not isinstance(key_node, ScalarNode):
                self.error(key_node, "a key must be a plain name, not a list or a mapping")
                continue
            if key_node.tag not in _ALLOWED_TAGS:
                self.error(key_node, f"tag '{_short_tag(key_node.tag)}' is not allowed in a key")
                continue
            name = str(key_node.value)
            if name in seen:
                first = seen[name].start_mark.line + 1
                self.error(key_node, f"duplicate key '{name}' (first written on line {first})")
                continue
            seen[name] = key_node
            out[name] = self.build(value_node)
        for name, value in merged.items():
            out.setdefault(name, value)
        return out

    def _merge(self, node: Node) -> dict[str, Any]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in reversed(sources):
            value = self.build(source)
            if isinstance(value, dict):
                merged.update(value)
            else:
                self.error(source, "'<<' merges a mapping (or a list of mappings) only")
        return merged

    def scalar(self, node: ScalarNode) -> Any:
        text: str = node.value
        tag = node.tag
        if not node.style and tag in (_INT, _FLOAT, _STR):  # plain: None, or "" from libyaml
            return core_scalar(text)
        if tag in (_STR, _TIMESTAMP):
            return text
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return True if text in _TRUE else False if text in _FALSE else text
        if ":" in text:  # YAML 1.1 base-60 numbers: keep `17:00` as written
            return text
        if tag == _INT:
            return self._safe.construct_yaml_int(node)
        if tag == _FLOAT:
            return self._safe.construct_yaml_float(node)
        return text  # pragma: no cover - every allowed scalar tag is handled above


# YAML 1.2's core schema for plain scalars the 1.1 resolver reads otherwise: `010` is ten (not
# octal eight), `0o17` is octal, `1e3` a float; `0b101`, `1_000` and `1:30` are text.
_CORE_INT = re.compile(r"[-+]?[0-9]+")
_CORE_OCTAL = re.compile(r"0o[0-7]+")
_CORE_HEX = re.compile(r"0x[0-9a-fA-F]+")
_CORE_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_CORE_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_CORE_NAN = re.compile(r"\.(?:nan|NaN|NAN)")


def core_scalar(text: str) -> int | float | str:
    """A plain scalar as YAML 1.2's core schema reads it: an int, a float, or the text."""
    if _CORE_INT.fullmatch(text):
        return int(text, 10)
    if _CORE_OCTAL.fullmatch(text):
        return int(text[2:], 8)
    if _CORE_HEX.fullmatch(text):
        return int(text[2:], 16)
    if _CORE_FLOAT.fullmatch(text):
        return float(text)
    if _CORE_INF.fullmatch(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _CORE_NAN.fullmatch(text):
        return float("nan")
    return text


class _PlainBuilder(_Builder):
    """For a text without anchors (no `&` anywhere): no node can be an alias of another, so
    there are no cycles nor expansions to watch for."""

    def build(self, node: Node) -> Any:
        if node.tag not in _ALLOWED_TAGS:
            self.error(node, f"tag '{_short_tag(node.tag)}' is not allowed in a process file")
            return None
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, MappingNode):
            return self.mapping(node)
        if isinstance(node, SequenceNode):
            return self.sequence(node)
        return None  # pragma: no cover - the composer makes only these three kinds of node


class _TooLarge(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node


@dataclass(frozen=True)
class Source:
    """A parsed YAML document: its plain data and the node tree that says where things are."""

    file: str
    text: str
    data: Any
    root: Node | None = None
    _index: dict[int, dict[str, tuple[Node, Node]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _parents: dict[tuple[str | int, ...], Node] = field(
        default_factory=dict, compare=False, repr=False
    )

    def _entries(self, node: MappingNode) -> dict[str, tuple[Node, Node]]:
        entries = self._index.get(id(node))
        if entries is None:
            entries = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE:
                    for source in _merge_sources(value_node):
                        for name, pair in self._entries(source).items():
                            entries.setdefault(name, pair)
                elif isinstance(key_node, ScalarNode):
                    entries[str(key_node.value)] = (key_node, value_node)
            self._index[id(node)] = entries
        return entries

    def locate(self, path: Path, *, key: bool = False, content: bool = False) -> Location:
        """The location of the value at `path` (or its key with `key=True`).

        When the path goes further than the document does, the location of the deepest node
        that exists is returned, so a problem about a missing key points at its parent. With
        `content=True` a quoted scalar's location is that of its first character inside the
        quotes, so that positions inside an expression can be added to it.
        """
        path = tuple(path)
        # The model builder locates every object and then its children: most paths share their
        # parent with an earlier one, so parents found are kept and the walk starts there.
        start = self._parents.get(path[:-1]) if path else None
        if start is not None:
            return self._step(start, path, len(path) - 1, key=key, content=content)
        node = self.root
        found: Node | None = node
        last = len(path) - 1
        for depth, part in enumerate(path):
            if depth == last and node is not None:
                self._parents[path[:-1]] = node
                return self._step(node, path, depth, key=key, content=content)
            if isinstance(node, MappingNode) and isinstance(part, str):
                pair = self._entries(node).get(part)
                if pair is None:
                    break
                node = found = pair[1]
            elif (
                isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value)
            ):
                node = found = node.value[part]
            else:
                break
        return self._location(found, path, content=content)

    def _step(
        self, parent: Node, path: tuple[str | int, ...], depth: int, *, key: bool, content: bool
    ) -> Location:
        """`locate` from the node at `path[:depth]`, one step left to go."""
        part = path[depth]
        found: Node = parent
        if isinstance(parent, MappingNode) and isinstance(part, str):
            pair = self._entries(parent).get(part)
            if pair is not None:
                found = pair[0] if key else pair[1]
        elif (
            isinstance(parent, SequenceNode) and isinstance(part, int) and part < len(parent.value)
        ):
            found = parent.value[part]
        return self._location(found, path, content=content)

    def _location(
        self, found: Node | None, path: tuple[str | int, ...], *, content: bool
    ) -> Location:
        if found is None:
            return Location(self.file, 1, 1, path)
        mark = found.start_mark
        quoted = content and isinstance(found, ScalarNode) and found.style in ("'", '"')
        return Location(self.file, mark.line + 1, mark.column + 1 + quoted, path)


def _merge_sources(node: Node) -> list[MappingNode]:
    nodes = node.value if isinstance(node, SequenceNode) else [node]
    return [n for n in nodes if isinstance(n, MappingNode)]


def parse(text: str, file: str = "<string>") -> Source:
    """Parse YAML text safely into plain data with locations.

    Args:
        text: the YAML document.
        file: the name used in locations.

    Returns:
        The parsed source. An empty document gives `data=None`.

    Raises:
        DefinitionError: syntax errors, duplicate keys, disallowed tags, recursive aliases.
    """
    try:
        root = yaml.compose(text, Loader=_Loader)
    except RecursionError:
        raise DefinitionError([Problem(Location(file, 1, 1), "YAML nested too deeply")]) from None
    except yaml.MarkedYAMLError as exc:
        raise DefinitionError([syntax_problem(file, text, exc)]) from None
    except yaml.YAMLError as exc:  # pragma: no cover - reader errors without a mark
        raise DefinitionError([Problem(Location(file, 1, 1), f"YAML error: {exc}")]) from None
    if root is None:
        return Source(file, text, None, None)
    builder = _Builder(file) if "&" in text else _PlainBuilder(file)
    data = None
    try:
        data = builder.build(root)
    except RecursionError:
        builder.error(root, "YAML nested too deeply")
    except _TooLarge as exc:
        builder.error(exc.node, "document too large once aliases are expanded")
    if builder.problems:
        raise DefinitionError(builder.problems)
    return Source(file, text, data, root)
