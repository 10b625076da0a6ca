"""The names a process declares, where, and what is said about them: the outline that
completion, hover and go-to-definition read.

It is read from the YAML alone (not the checked model), so it is there as soon as the text
parses, even while the process has errors; a server keeps the last outline of a document for the
moments its text does not parse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..definition.loader import declared_id, definition_files
from ..definition.yamlsource import Source, parse
from ..errors import DefinitionError

__all__ = ["KINDS", "Name", "Outline", "folder_processes", "outline"]

KINDS = ("state", "field", "role", "trigger", "calendar", "task", "timer")


@dataclass(frozen=True)
class Name:
    """A declared name: what it is, where its key is written (0-based line and column, in code
    points), a one-line summary and what the file says about it."""

    kind: str
    name: str
    line: int
    column: int
    detail: str = ""
    description: str = ""


@dataclass(frozen=True)
class Outline:
    names: tuple[Name, ...] = ()

    def of(self, *kinds: str) -> list[Name]:
        """The names of these kinds, in the order the file declares them, first of each."""
        seen: set[tuple[str, str]] = set()
        out = []
        for item in self.names:
            if item.kind in kinds and (item.kind, item.name) not in seen:
                seen.add((item.kind, item.name))
                out.append(item)
        return out

    def find(self, name: str, kinds: tuple[str, ...] = KINDS) -> Name | None:
        """The declaration of `name`, trying the kinds in order."""
        for kind in kinds:
            for item in self.names:
                if item.kind == kind and item.name == name:
                    return item
        return None


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(_text, value))
    return " ".join(str(value).split()) if value is not None else ""


def _state_detail(raw: Mapping[str, Any]) -> str:
    parts = []
    for flag in ("initial", "terminal", "waiting"):
        if raw.get(flag) is True:
            parts.append(flag)
    if isinstance(raw.get("states"), Mapping):
        parts.append("compound")
    for key in ("status", "queue", "owner", "outcome"):
        if raw.get(key) is not None:
            parts.append(f"{key}: {_text(raw[key])}")
    return ", ".join(parts)


def _field_detail(raw: Mapping[str, Any]) -> str:
    parts = [_text(raw.get("type", "text"))]
    if raw.get("required") is True:
        parts.append("required")
    if "default" in raw:
        parts.append(f"default: {_text(raw['default'])}")
    if isinstance(raw.get("values"), list):
        parts.append("values: " + ", ".join(map(_text, raw["values"])))
    return ", ".join(parts)


def _role_detail(raw: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{key}: {_text(raw[key])}" for key in ("title", "manager", "contact") if key in raw
    )


_DETAILS = {"field": _field_detail, "role": _role_detail, "state": _state_detail}


class _Walker:
    def __init__(self, source: Source) -> None:
        self.source = source

    def name(self, kind: str, name: str, path: tuple[str | int, ...], raw: Any) -> Name:
        loc = self.source.locate(path, key=True)
        raw = raw if isinstance(raw, Mapping) else {}
        detail = _DETAILS[kind](raw) if kind in _DETAILS else ""
        description = _text(raw.get("description") or raw.get("title") or "")
        return Name(kind, name, loc.line - 1, loc.column - 1, detail, description)

    def mapping(self, kind: str, path: tuple[str | int, ...], value: Any) -> Iterator[Name]:
        if isinstance(value, Mapping):
            for name, raw in value.items():
                yield self.name(kind, str(name), (*path, str(name)), raw)

    def states(self, path: tuple[str | int, ...], value: Any) -> Iterator[Name]:
        if not isinstance(value, Mapping):
            return
        for name, raw in value.items():
            here = (*path, str(name))
            yield self.name("state", str(name), here, raw)
            if not isinstance(raw, Mapping):
                continue
            for index, timer in enumerate(raw.get("timers") or []):
                if isinstance(timer, Mapping) and isinstance(timer.get("name"), str):
                    loc = self.source.locate((*here, "timers", index, "name"))
                    yield Name("timer", timer["name"], loc.line - 1, loc.column - 1)
            yield from self.states((*here, "states"), raw.get("states"))

    def triggers(self, value: Any) -> Iterator[Name]:
        for index, transition in enumerate(value if isinstance(value, list) else []):
            if isinstance(transition, Mapping) and isinstance(transition.get("trigger"), str):
                loc = self.source.locate(("transitions", index, "trigger"))
                dest = _text(transition.get("dest")) or "(stays)"
                detail = f"{_text(transition.get('source'))} -> {dest}"
                description = _text(transition.get("description"))
                trigger = transition["trigger"]
                yield Name("trigger", trigger, loc.line - 1, loc.column - 1, detail, description)


def outline(text: str) -> Outline | None:
    """The names the document declares; None when its YAML does not parse."""
    try:
        source = parse(text, "<editor>")
    except DefinitionError:
        return None
    data = source.data
    if not isinstance(data, Mapping):
        return Outline()
    walker = _Walker(source)
    names = [
        *walker.states(("states",), data.get("states")),
        *walker.mapping("field", ("fields",), data.get("fields")),
        *walker.mapping("role", ("roles",), data.get("roles")),
        *walker.triggers(data.get("transitions")),
        *walker.mapping("calendar", ("calendars",), data.get("calendars")),
        *walker.mapping("task", ("tasks",), data.get("tasks")),
    ]
    return Outline(tuple(names))


def folder_processes(path: Path | None, text: str = "") -> list[str]:
    """The ids a `process:` may name: those of the document's folder, its own included."""
    ids: set[str] = set()
    if path is not None and path.parent.is_dir():
        ids.update(i for i in map(declared_id, definition_files(path.parent)) if i)
    own = re.search(r"^id:[ \t]*[\"']?([a-z][a-z0-9_]*)", text, re.MULTILINE)
    if own:
        ids.add(own.group(1))
    return sorted(ids)
