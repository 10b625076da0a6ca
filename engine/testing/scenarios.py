"""Scenario files (docs/scenarios.md): read a `<process>.scenarios.yaml` into typed steps.

A scenario file is read through `definition.yamlsource`, so every mistake in it (an unknown key, a
duration that is not one, an instance name never started) is reported as `FILE:LINE:COL:
message` at the key or value at fault, all of them at once, in a `DefinitionError`. Running the
steps is `engine.testing.runner`'s job; this module only says what the file asks for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..clock.clocks import parse_now
from ..clock.durations import parse_duration
from ..definition.loader import read_text_file
from ..definition.yamlsource import Source, parse
from ..errors import ClockError, DefinitionError, Location, Problem, did_you_mean

__all__ = [
    "DEFAULT_CLOCK",
    "Scenario",
    "ScenarioFile",
    "ScenarioStep",
    "load_scenario_file",
    "parse_scenarios",
    "scenario_files",
]

DEFAULT_CLOCK = datetime.fromisoformat("2026-01-05T09:00:00+00:00")
"""When a scenario does not say: a Monday morning."""

STEP_KINDS = ("start", "fire", "advance", "at", "tick", "expect")
_OPTIONS: dict[str, frozenset[str]] = {
    "start": frozenset({"as", "error"}),
    "fire": frozenset({"as", "data", "task", "instance", "error"}),
    "advance": frozenset(),
    "at": frozenset(),
    "tick": frozenset(),
    "expect": frozenset(),
}
_FILE_KEYS = frozenset({"process", "scenarios"})
_SCENARIO_KEYS = frozenset({"name", "clock", "steps", "demo"})
_START_KEYS = frozenset({"data", "id"})

DocPath = tuple[str | int, ...]


@dataclass(frozen=True)
class ScenarioStep:
    """One step of a scenario; which attributes matter depends on `kind`.

    Attributes:
        kind: `start`, `fire`, `advance`, `at`, `tick` or `expect`.
        number: the step's 1-based position in its scenario.
        location: where the step starts in its file.
        text: the step as written in the file (for failure reports).
        trigger: the trigger a `fire` step fires.
        data: the data of a `start` or `fire` step.
        alias: the name a `start` step gives its instance (`id:`, default `i1`, `i2`, ...).
        instance: the instance a `fire` or `expect` step targets (None: the current one).
        task: the child task a `fire` or `expect` step targets, by task name.
        actor: who acts (`as: actor:role`), `scenario` by default.
        role: the role the actor acts in, if any.
        error: for a refusal the step expects, a text the refusal's message contains.
        delta: how far an `advance` step moves the clock.
        moment: where an `at` step sets the clock.
        checks: the expectations of an `expect` step (instance and task removed).
        data_at: where each key of `data` is written, for the load-time input checks.
    """

    kind: str
    number: int
    location: Location
    text: str = ""
    trigger: str = ""
    data: Mapping[str, Any] | None = None
    alias: str = ""
    instance: str | None = None
    task: str | None = None
    actor: str = "scenario"
    role: str | None = None
    error: str | None = None
    delta: timedelta | None = None
    moment: datetime | None = None
    checks: Mapping[str, Any] = field(default_factory=dict)
    data_at: Mapping[str, Location] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """A named list of steps, run on a fresh store with a clock starting at `clock`."""

    process: str
    name: str
    clock: datetime
    steps: tuple[ScenarioStep, ...]
    location: Location
    demo: bool = False


@dataclass(frozen=True)
class ScenarioFile:
    """A parsed scenario file: the process it exercises and its scenarios, in file order."""

    path: Path
    process: str
    scenarios: tuple[Scenario, ...]
    process_location: Location


def scenario_files(folder: str | Path) -> list[Path]:
    """The `*.scenarios.yaml` files of a folder, sorted."""
    return sorted(Path(folder).glob("*.scenarios.yaml"))


def load_scenario_file(path: str | Path) -> ScenarioFile:
    """Read and check a scenario file.

    Raises:
        DefinitionError: every problem of the file, each with its location.
        OSError: the file cannot be read.
    """
    path = Path(path)
    return parse_scenarios(read_text_file(path), path)


def parse_scenarios(text: str, path: str | Path = "<string>") -> ScenarioFile:
    """Parse the text of a scenario file (see `load_scenario_file`).

    Raises:
        DefinitionError: every problem of the file, each with its location.
    """
    source = parse(text, str(path))
    reader = _Reader(source)
    result = reader.read_file(Path(path))
    if reader.problems or result is None:
        raise DefinitionError(reader.problems or [Problem(Location(str(path), 1, 1), "empty")])
    return result


class _Reader:
    """Walks the parsed document, building steps and collecting located problems."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.problems: list[Problem] = []

    # reporting ---------------------------------------------------------------------------
    def problem(self, path: DocPath, message: str, *, key: bool = False, hint: str = "") -> None:
        self.problems.append(Problem(self.source.locate(path, key=key), message, hint=hint))

    def mapping(self, value: Any, path: DocPath, what: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.problem(path, f"{what} must be a mapping (key: value), not {_kind(value)}")
        return None

    def unknown_keys(
        self, value: Mapping[str, Any], allowed: frozenset[str], path: DocPath
    ) -> None:
        for name in value:
            if name not in allowed:
                hint = did_you_mean(name, allowed)
                self.problem((*path, name), f"unknown key '{name}'", key=True, hint=hint)

    def text_of(self, path: DocPath) -> str:
        """The text of the node at `path` exactly as written, dedented."""
        node = self.source.root
        for part in path:
            node = _child(node, part)
            if node is None:
                return ""
        if node is None:
            return ""
        start, end = node.start_mark, node.end_mark
        raw = self.source.text[start.index : end.index].rstrip()
        indent = " " * start.column
        lines = raw.splitlines()
        while len(lines) > 1 and lines[-1].lstrip().startswith("#"):
            lines.pop()  # a block ends where the next one starts: drop the comments between
        body = [lines[0], *(line.removeprefix(indent) for line in lines[1:])]
        return "\n".join(body)

    # the file ----------------------------------------------------------------------------
    def read_file(self, path: Path) -> ScenarioFile | None:
        doc = self.mapping(self.source.data, (), "a scenario file")
        if doc is None:
            return None
        self.unknown_keys(doc, _FILE_KEYS, ())
        process = doc.get("process")
        if not isinstance(process, str) or not process:
            self.problem(("process",), "'process' must name the process the scenarios start")
            process = ""
        listed = doc.get("scenarios")
        if not isinstance(listed, list) or not listed:
            self.problem(("scenarios",), "'scenarios' must be a non-empty list of scenarios")
            listed = []
        scenarios = [self.read_scenario(process, item, i) for i, item in enumerate(listed)]
        names: dict[str, int] = {}
        for i, scenario in enumerate(scenarios):
            if scenario is not None and names.setdefault(scenario.name, i) != i:
                self.problem(("scenarios", i, "name"), f"duplicate scenario name '{scenario.name}'")
        return ScenarioFile(
            path,
            process,
            tuple(s for s in scenarios if s is not None),
            self.source.locate(("process",)),
        )

    def read_scenario(self, process: str, value: Any, index: int) -> Scenario | None:
        path: DocPath = ("scenarios", index)
        item = self.mapping(value, path, "a scenario")
        if item is None:
            return None
        self.unknown_keys(item, _SCENARIO_KEYS, path)
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            self.problem(path, "a scenario needs a 'name' saying what behaviour it shows")
            name = f"scenario {index + 1}"
        clock = self.read_time(item.get("clock"), (*path, "clock")) if "clock" in item else None
        demo = item.get("demo", False)
        if not isinstance(demo, bool):
            self.problem((*path, "demo"), "'demo' is true or false")
        steps = item.get("steps")
        if not isinstance(steps, list) or not steps:
            self.problem((*path, "steps"), "'steps' must be a non-empty list of steps")
            steps = []
        aliases = _Aliases()
        built = [
            self.read_step(s, (*path, "steps", j), j + 1, aliases) for j, s in enumerate(steps)
        ]
        return Scenario(
            process,
            name,
            clock or DEFAULT_CLOCK,
            tuple(s for s in built if s is not None),
            self.source.locate(path),
            demo is True,
        )

    def read_time(self, value: Any, path: DocPath) -> datetime | None:
        text = str(value) if value is not None else ""
        if len(text) <= 10 or not (text.endswith("Z") or "+" in text[10:] or "-" in text[10:]):
            self.problem(path, f"'{text}' is not a time with a zone; write 2026-01-05T09:00:00Z")
            return None
        try:
            return parse_now(text)
        except ClockError as exc:
            self.problem(path, str(exc))
            return None

    # steps -------------------------------------------------------------------------------
    def read_step(
        self, value: Any, path: DocPath, number: int, aliases: _Aliases
    ) -> ScenarioStep | None:
        item = self.mapping(value, path, "a step")
        if item is None:
            return None
        kinds = [k for k in STEP_KINDS if k in item]
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            self.problem(
                path,
                f"a step has exactly one of {', '.join(STEP_KINDS)} (found: {found})",
                hint=did_you_mean(next(iter(item), ""), STEP_KINDS) if not kinds else "",
            )
            return None
        kind = kinds[0]
        allowed = _OPTIONS[kind] | {kind}
        for name in item:
            if name not in allowed:
                hint = did_you_mean(name, allowed) or (
                    f"a {kind} step takes {', '.join(sorted(_OPTIONS[kind])) or 'no options'}"
                )
                if kind == "expect" and name in ("instance", "task"):
                    hint = f"write '{name}' inside the expect mapping"
                self.problem(
                    (*path, name),
                    f"unknown key '{name}' in {_article(kind)} {kind} step",
                    key=True,
                    hint=hint,
                )
        step = ScenarioStep(kind, number, self.source.locate(path), self.text_of(path))
        reader: Callable[[ScenarioStep, dict[str, Any], DocPath, _Aliases], ScenarioStep | None] = (
            getattr(self, f"step_{kind}")
        )
        return reader(step, item, path, aliases)

    def who(self, item: Mapping[str, Any], path: DocPath) -> dict[str, Any]:
        if "as" not in item:
            return {}
        text = item["as"]
        actor, _, role = str(text).partition(":") if isinstance(text, str) else ("", "", "")
        if not actor:
            self.problem((*path, "as"), "'as' is actor:role, e.g. \"sam:ops_specialist\"")
            return {}
        return {"actor": actor, "role": role or None}

    def error_text(self, item: Mapping[str, Any], path: DocPath) -> dict[str, Any]:
        if "error" not in item:
            return {}
        error = item["error"]
        if not isinstance(error, str) or not error:
            self.problem((*path, "error"), "'error' is a text the refusal's message contains")
            return {}
        return {"error": error}

    def keys_at(self, data: Mapping[str, Any] | None, path: DocPath) -> dict[str, Location]:
        return {name: self.source.locate((*path, name), key=True) for name in data or {}}

    def data_of(self, value: Any, path: DocPath) -> dict[str, Any] | None:
        if value is None:
            return None
        return self.mapping(value, path, "data")

    def target(self, item: Mapping[str, Any], path: DocPath, aliases: _Aliases) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("instance", "task"):
            if key not in item:
                continue
            value = item[key]
            if not isinstance(value, str) or not value:
                self.problem(
                    (*path, key),
                    f"'{key}' names {'an instance' if key == 'instance' else 'a task'}",
                )
                continue
            if key == "instance" and value not in aliases.names:
                hint = did_you_mean(value, aliases.names) if aliases.names else ""
                self.problem(
                    (*path, key), f"no instance '{value}' was started before this step", hint=hint
                )
            out[key] = value
        if not aliases.names:
            self.problem(path, "this step acts on an instance, but none was started before it")
        return out

    def step_start(
        self, step: ScenarioStep, item: dict[str, Any], path: DocPath, aliases: _Aliases
    ) -> ScenarioStep | None:
        spec = self.mapping(
            item["start"] if item["start"] is not None else {}, (*path, "start"), "'start'"
        )
        if spec is None:
            return None
        self.unknown_keys(spec, _START_KEYS, (*path, "start"))
        data = self.data_of(spec.get("data"), (*path, "start", "data"))
        error = self.error_text(item, path)
        alias = spec.get("id")
        if alias is not None and (not isinstance(alias, str) or not alias.strip()):
            self.problem((*path, "start", "id"), "'id' is a name for the instance, e.g. acme")
            alias = None
        if not error:
            alias = aliases.add(alias)
            if alias is None:
                self.problem(
                    (*path, "start", "id"), f"instance '{spec.get('id')}' is already started"
                )
        where = self.keys_at(data, (*path, "start", "data"))
        return _with(
            step, data=data, data_at=where, alias=alias or "", **self.who(item, path), **error
        )

    def step_fire(
        self, step: ScenarioStep, item: dict[str, Any], path: DocPath, aliases: _Aliases
    ) -> ScenarioStep | None:
        trigger = item["fire"]
        if not isinstance(trigger, str) or not trigger:
            self.problem((*path, "fire"), "'fire' names the trigger to fire")
            return None
        data = self.data_of(item.get("data"), (*path, "data"))
        return _with(
            step,
            trigger=trigger,
            data=data,
            data_at=self.keys_at(data, (*path, "data")),
            **self.target(item, path, aliases),
            **self.who(item, path),
            **self.error_text(item, path),
        )

    def step_advance(
        self, step: ScenarioStep, item: dict[str, Any], path: DocPath, aliases: _Aliases
    ) -> ScenarioStep | None:
        try:
            return _with(step, delta=parse_duration(str(item["advance"])))
        except ValueError as exc:
            self.problem((*path, "advance"), str(exc))
            return None

    def step_at(
        self, step: ScenarioStep, item: dict[str, Any], path: DocPath, aliases: _Aliases
    ) -> ScenarioStep | None:
        moment = self.read_time(item["at"], (*path, "at"))
        return _with(step, moment=moment) if moment else None

    def step_tick(
        self, step: ScenarioStep, item: dict[str, Any], path: DocPath, aliases: _Aliases
    ) -> ScenarioStep | None:
        if item["tick"] is not True:
            self.problem((*path, "tick"), "write 'tick: true'")
        return step

    def step_expect(
        self, step: ScenarioStep, item: dict[str, Any], path: DocPath, aliases: _Aliases
    ) -> ScenarioStep | None:
        where = (*path, "expect")
        checks = self.mapping(item["expect"], where, "'expect'")
        if checks is None:
            return None
        from .expectations import check_shapes

        for sub, message, hint in check_shapes(checks):
            self.problem((*where, *sub), message, key=message.startswith("unknown key"), hint=hint)
        needs_instance = any(k not in ("outbox", "outbox_count", "sheets") for k in checks)
        target = self.target(checks, where, aliases) if needs_instance else {}
        rest = {k: v for k, v in checks.items() if k not in ("instance", "task")}
        return _with(step, checks=rest, **target)


class _Aliases:
    """The instance names a scenario has started so far (`i1`, `i2`, ... unless named)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add(self, name: str | None) -> str | None:
        name = name or f"i{len(self.names) + 1}"
        if name in self.names:
            return None
        self.names.append(name)
        return name


def _with(step: ScenarioStep, **changes: Any) -> ScenarioStep:
    from dataclasses import replace

    return replace(step, **changes)


def _child(node: Any, part: str | int) -> Any:
    from yaml.nodes import MappingNode, SequenceNode

    if isinstance(node, MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if getattr(key, "value", None) == part:
                return value
        return None
    if isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text '{value}'"
    return f"the value {value!r}"
