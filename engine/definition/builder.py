"""Builds the typed `Process` model from a schema-valid YAML document.

The document has already passed the JSON Schema, so shapes are right; what is converted here is
meaning: durations become `timedelta`, weekday names become numbers, `source: "*"` becomes every
non-terminal state, and every model object gets the `Location` it was written at. Values the
schema cannot judge (a timer with both `after` and `at`, an unknown time zone, an enum default
not among its values) are reported as Problems, and building goes on so that all are reported.
"""

from __future__ import annotations

import difflib
import functools
import zoneinfo
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from ..clock.durations import parse_duration
from ..errors import Location, Problem, did_you_mean
from ..expressions.exprtypes import BUILTIN_NAMES
from ..messages.addresses import address_problem
from ..model import (
    AUTOMATIC,
    Action,
    AppendLine,
    AppendRow,
    Batch,
    Calendar,
    Compound,
    CreateJob,
    Emit,
    Expr,
    Field,
    FieldType,
    Invariant,
    Notify,
    Process,
    Recipient,
    RecordActivity,
    Recurrence,
    Role,
    Rule,
    SetField,
    Sla,
    StartProcess,
    State,
    Task,
    Template,
    Timer,
    Transition,
)
from .yamlsource import Source

__all__ = ["WEEKDAYS", "build_process"]

WEEKDAYS = {name: i for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}
_TIMER_KINDS = ("after", "at", "every", "idle")
_BUILTIN_MEANINGS = {
    "state": "the instance's current state",
    "now": "the current date and time",
    "today": "today's date",
    "actor": "the person firing the trigger",
    "role": "the role they act in",
}

PathT = tuple[str | int, ...]


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _expr_source(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return "None" if value is None else str(value)


def _names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _start_input(value: Any) -> tuple[str, ...] | None:
    """`start: {input: [...]}`; None when the process has no `start` (start takes any field)."""
    if not isinstance(value, dict):
        return None
    return tuple(value.get("input") or ())


class _Builder:
    """One build: the source to locate things in, and the problems found on the way."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.problems: list[Problem] = []

    # --- locations and problems -----------------------------------------------------------

    def at(self, path: PathT, *, key: bool = False) -> Location:
        return self.source.locate(path, key=key)

    def error(self, path: PathT, message: str, *, key: bool = False) -> None:
        self.problems.append(Problem(self.at(path, key=key), message))

    def expr(self, value: Any, path: PathT) -> Expr:
        return Expr(_expr_source(value), self.source.locate(path, content=True))

    def template(self, value: Any, path: PathT) -> Template:
        return Template("" if value is None else str(value), self.source.locate(path, content=True))

    def duration(self, value: str, path: PathT) -> timedelta:
        try:
            return parse_duration(value)
        except ValueError as exc:  # the schema's pattern accepts only parseable durations
            self.error(path, str(exc))
            return timedelta(0)

    def timezone(self, name: str, path: PathT) -> str:
        if name not in _zone_names():
            try:
                zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                close = difflib.get_close_matches(name, _zone_names(), 1, 0.6)
                hint = f"; did you mean '{close[0]}'?" if close else " (e.g. America/New_York)"
                self.error(path, f"unknown time zone '{name}'{hint}")
        return name

    # --- top level ------------------------------------------------------------------------

    def process(self, data: dict[str, Any], source_hash: str) -> Process:
        tree = _Tree()
        self.states(data.get("states") or {}, ("states",), None, tree)
        states = tree.resolved()
        non_terminal = tuple(s.name for s in states if not s.terminal)
        transitions = tuple(
            self.transition(t, ("transitions", i), non_terminal, tree)
            for i, t in enumerate(data.get("transitions") or [])
        )
        return Process(
            id=data["id"],
            version=data["version"],
            title=data.get("title", ""),
            description=data.get("description", ""),
            fields=self.each(data, "fields", self.field),
            roles=self.each(data, "roles", self.role),
            states=states,
            transitions=transitions,
            calendars=self.each(data, "calendars", self.calendar),
            tasks=self.each(data, "tasks", self.task),
            rules=tuple(self.rule(r, ("rules", i)) for i, r in enumerate(data.get("rules") or [])),
            invariants=tuple(
                Invariant(
                    name,
                    self.expr(value, ("invariants", name)),
                    self.at(("invariants", name), key=True),
                )
                for name, value in (data.get("invariants") or {}).items()
            ),
            start_input=_start_input(data.get("start")),
            compounds=tuple(tree.compounds.values()),
            instance_title=(
                self.template(data["instance_title"], ("instance_title",))
                if data.get("instance_title")
                else None
            ),
            source_file=self.source.file,
            source_hash=source_hash,
            loc=self.at(("id",), key=True),
        )

    def each(
        self, data: dict[str, Any], section: str, make: Callable[[str, Any, PathT], Any]
    ) -> Any:
        return tuple(
            make(name, value or {}, (section, name))
            for name, value in (data.get(section) or {}).items()
        )

    # --- declarations -----------------------------------------------------------------------

    def field(self, name: str, data: dict[str, Any], path: PathT) -> Field:
        kind = FieldType(data["type"])
        values = tuple(data.get("values") or ())
        default = data.get("default")
        if name in BUILTIN_NAMES:
            # Expressions would read the builtin, and every step would store its value over
            # the field's: the author's data would be lost.
            meaning = _BUILTIN_MEANINGS.get(name, "a value the engine gives")
            self.error(
                path,
                f"field '{name}' has the name of the expression builtin `{name}` ({meaning}); "
                f"rename the field, e.g. 'client_{name}'",
                key=True,
            )
        if kind is FieldType.ENUM and not values:
            self.error(path, f"enum field '{name}' needs `values`", key=True)
        if values and kind is not FieldType.ENUM:
            self.error(
                (*path, "values"),
                f"`values` applies to enum fields; '{name}' is {kind.value}",
                key=True,
            )
        if default is not None:
            self.check_default(name, kind, values, default, (*path, "default"))
        return Field(
            name,
            kind,
            bool(data.get("required", False)),
            default,
            values,
            data.get("description", ""),
            self.at(path, key=True),
        )

    def check_default(
        self, name: str, kind: FieldType, values: tuple[str, ...], default: Any, path: PathT
    ) -> None:
        if kind is FieldType.ENUM and values and default not in values:
            hint = did_you_mean(str(default), values)
            self.error(
                path, f"default '{default}' of field '{name}' is not one of its values; {hint}"
            )
            return
        expected: dict[FieldType, Callable[[Any], bool]] = {
            FieldType.INT: lambda v: isinstance(v, int) and not isinstance(v, bool),
            FieldType.BOOL: lambda v: isinstance(v, bool),
            FieldType.LIST: lambda v: isinstance(v, list),
            FieldType.STRING: lambda v: isinstance(v, str),
            FieldType.TEXT: lambda v: isinstance(v, str),
        }
        if kind is FieldType.EMAIL and address_problem(default) is not None:
            self.error(
                path,
                f"default of email field '{name}' is not one address: {address_problem(default)}",
            )
            return
        test = expected.get(kind)
        if test is not None and not test(default):
            self.error(
                path, f"default of {kind.value} field '{name}' is not {_a(kind)}: {default!r}"
            )

    def role(self, name: str, data: dict[str, Any], path: PathT) -> Role:
        return Role(
            name,
            data.get("title", ""),
            data.get("manager"),
            data.get("contact"),
            self.at(path, key=True),
        )

    def calendar(self, name: str, data: dict[str, Any], path: PathT) -> Calendar:
        timezone = self.timezone(data.get("timezone", "UTC"), (*path, "timezone"))
        start, _, end = str(data.get("hours", "09:00-17:00")).partition("-")
        if end != "24:00" and start >= end:
            self.error((*path, "hours"), f"working hours '{start}-{end}' end before they start")
        weekdays = tuple(
            WEEKDAYS[d] for d in data.get("weekdays", ("mon", "tue", "wed", "thu", "fri"))
        )
        return Calendar(
            name,
            timezone,
            weekdays,
            start,
            end,
            tuple(data.get("holidays") or ()),
            self.at(path, key=True),
        )

    def task(self, name: str, data: dict[str, Any], path: PathT) -> Task:
        task_data = tuple(
            (key, self.expr(value, (*path, "data", key)))
            for key, value in (data.get("data") or {}).items()
        )
        return Task(
            name,
            data["process"],
            data.get("title", ""),
            tuple(data.get("depends_on") or ()),
            data.get("queue"),
            task_data,
            bool(data.get("indicator", False)),
            self.at(path, key=True),
        )

    def rule(self, data: dict[str, Any], path: PathT) -> Rule:
        fire = tuple((f["target"], f["trigger"]) for f in data.get("fire") or ())
        return Rule(data["when"], data.get("task"), fire, self.at(path))

    # --- states -------------------------------------------------------------------------------

    def states(self, data: dict[str, Any], path: PathT, parent: str | None, tree: _Tree) -> None:
        """Build the states of one level (and, inside compound states, the levels below)."""
        for name, value in data.items():
            here = (*path, name)
            value = value or {}
            if name in tree.seen:
                self.error(
                    here,
                    f"state '{name}' is declared twice (also at {tree.seen[name]}); state "
                    "names are unique across every level: rename one",
                    key=True,
                )
                continue
            tree.seen[name] = self.at(here, key=True)
            if parent is not None and value.get("initial"):
                first = tree.initial_child.setdefault(parent, name)
                if first != name:
                    self.error(
                        (*here, "initial"),
                        f"state '{name}' is a second initial state of '{parent}' ('{first}' "
                        "is initial)",
                        key=True,
                    )
            elif parent is None and value.get("initial"):
                tree.top_initial.append(name)
            if "states" in value:
                self.compound(name, value, here, parent, tree)
            else:
                tree.leaves.append(self.state(name, value, here, parent))

    def compound(
        self, name: str, data: dict[str, Any], path: PathT, parent: str | None, tree: _Tree
    ) -> None:
        for key in ("terminal", "sla", "batch", "closure_reason", "outcome", "waiting"):
            if key in data:
                self.error(
                    (*path, key),
                    f"`{key}` applies to plain states; '{name}' is made of states: put it on "
                    "the states inside it",
                    key=True,
                )
        # placed before its children, so that inheritance reads it first
        tree.compounds[name] = Compound(name, ())
        children = tuple((data.get("states") or {}).keys())
        self.states(data.get("states") or {}, (*path, "states"), name, tree)
        leaf = self.state(name, data, path, parent)
        tree.compounds[name] = Compound(
            name=name,
            children=children,
            initial=tree.initial_child.get(name),
            parent=parent,
            status=leaf.status,
            queue=leaf.queue,
            owner=leaf.owner,
            description=leaf.description,
            timers=leaf.timers,
            on_enter=leaf.on_enter,
            on_exit=leaf.on_exit,
            loc=leaf.loc,
        )

    def state(self, name: str, data: dict[str, Any], path: PathT, parent: str | None) -> State:
        timers = tuple(
            self.timer(t, (*path, "timers", i)) for i, t in enumerate(data.get("timers") or [])
        )
        seen: dict[str, int] = {}
        for i, timer in enumerate(timers):
            if timer.name in seen:
                self.error(
                    (*path, "timers", i), f"state '{name}' has two timers named '{timer.name}'"
                )
            seen.setdefault(timer.name, i)
        sla, batch = data.get("sla"), data.get("batch")
        return State(
            name=name,
            initial=bool(data.get("initial", False)),
            terminal=bool(data.get("terminal", False)),
            waiting=bool(data.get("waiting", False)),
            status=data.get("status", ""),
            closure_reason=data.get("closure_reason", ""),
            outcome=data.get("outcome"),
            queue=data.get("queue"),
            owner=data.get("owner"),
            description=data.get("description", ""),
            timers=timers,
            sla=self.sla(sla, (*path, "sla")) if sla is not None else None,
            batch=self.batch(batch, (*path, "batch")) if batch is not None else None,
            loc=self.at(path, key=True),
            parent=parent,
            on_enter=self.action_list(data.get("on_enter"), (*path, "on_enter")),
            on_exit=self.action_list(data.get("on_exit"), (*path, "on_exit")),
        )

    def action_list(self, data: Any, path: PathT) -> tuple[Action, ...]:
        return tuple(
            action for i, a in enumerate(data or []) for action in self.actions(a, (*path, i))
        )

    def recurrence(self, data: dict[str, Any], path: PathT) -> Recurrence:
        from ..clock.recurrence import validate_recurrence

        timezone = self.timezone(data.get("timezone", "UTC"), (*path, "timezone"))
        rec = Recurrence(
            every=data["every"],
            at=data.get("at", "00:00"),
            weekday=WEEKDAYS[data.get("weekday", "mon")],
            day=data.get("day", 1),
            cron=data.get("cron", ""),
            timezone=timezone,
        )
        if rec.every == "cron" and not rec.cron:
            self.error(path, 'a cron recurrence needs `cron`, e.g. cron: "0 8 * * 1"')
        elif rec.every == "cron" or timezone in _zone_names():
            try:
                validate_recurrence(rec)
            except ValueError as exc:
                self.error((*path, "cron") if rec.every == "cron" else path, str(exc))
        return rec

    def timer(self, data: dict[str, Any], path: PathT) -> Timer:
        kinds = [k for k in _TIMER_KINDS if k in data]
        if len(kinds) != 1:
            given = " and ".join(kinds) if kinds else "none of them"
            self.error(
                path, f"a timer needs exactly one of after, at, every, idle; this one has {given}"
            )
        after = self.duration(data["after"], (*path, "after")) if "after" in data else None
        at = self.expr(data["at"], (*path, "at")) if "at" in data else None
        every = self.recurrence(data["every"], (*path, "every")) if "every" in data else None
        return Timer(
            name=data.get("name", data["trigger"]),
            trigger=data["trigger"],
            after=after,
            at=at,
            every=every,
            calendar=data.get("calendar"),
            data=tuple((data.get("data") or {}).items()),
            loc=self.at(path),
            unless=self.expr(data["unless"], (*path, "unless")) if "unless" in data else None,
            idle=self.duration(data["idle"], (*path, "idle")) if "idle" in data else None,
        )

    def sla(self, data: dict[str, Any], path: PathT) -> Sla:
        escalate = data.get("escalate_after")
        return Sla(
            due=self.duration(data["due"], (*path, "due")),
            owner=data["owner"],
            calendar=data.get("calendar"),
            escalate_after=self.duration(escalate, (*path, "escalate_after")) if escalate else None,
            channels=tuple(data.get("channels") or ("email",)),
            loc=self.at(path, key=True),
        )

    def batch(self, data: dict[str, Any], path: PathT) -> Batch:
        recipients = tuple(
            Recipient(r["address"], r["subject"], r.get("note", "")) for r in data["recipients"]
        )
        start = data.get("start")
        return Batch(
            self.recurrence(data["every"], (*path, "every")),
            tuple(data["columns"]),
            recipients,
            data["trigger"],
            self.at(path, key=True),
            None if start is None else self.start(start, (*path, "start")),
        )

    # --- transitions ------------------------------------------------------------------------

    def transition(
        self, data: dict[str, Any], path: PathT, non_terminal: tuple[str, ...], tree: _Tree
    ) -> Transition:
        written = _names(data["source"])
        sources = non_terminal if "*" in written else written
        dest = data.get("dest")
        written_dest: str | None = None
        if tree.compounds:
            sources = tuple(dict.fromkeys(leaf for s in sources for leaf in tree.leaves_of(s)))
            if dest in tree.compounds:
                written_dest, dest = dest, tree.entered(dest)
        guard = data.get("guard")
        trigger = data.get("trigger", AUTOMATIC)
        if "trigger" in data and trigger == AUTOMATIC:
            self.error(
                (*path, "trigger"),
                f"'{AUTOMATIC}' is the trigger of automatic transitions (written without "
                "`trigger`); name this trigger otherwise",
            )
        if "trigger" not in data:
            for key in ("roles", "input"):
                if key in data:
                    self.error(
                        (*path, key),
                        f"an automatic transition (no `trigger`) is taken by the engine: it "
                        f"has no `{key}`",
                        key=True,
                    )
        return Transition(
            trigger=trigger,
            sources=sources,
            dest=dest,
            guard=self.expr(guard, (*path, "guard")) if guard is not None else None,
            requires=tuple(data.get("requires") or ()),
            roles=tuple(data.get("roles") or ()),
            actions=tuple(
                action
                for i, a in enumerate(data.get("actions") or [])
                for action in self.actions(a, (*path, "actions", i))
            ),
            description=data.get("description", ""),
            input=tuple(data.get("input") or ()),
            loc=self.at(path),
            written_sources=written if tree.compounds else (),
            written_dest=written_dest,
        )

    def start(self, body: dict[str, Any], path: PathT, loc: Location | None = None) -> StartProcess:
        values = tuple(
            (key, self.expr(value, (*path, "data", key)))
            for key, value in (body.get("data") or {}).items()
        )
        return StartProcess(body["process"], values, self.at(path) if loc is None else loc)

    def actions(self, data: dict[str, Any], path: PathT) -> list[Action]:
        kind, body = next(iter(data.items()))
        inner = (*path, kind)
        loc = self.at(path)
        if kind == "set":
            return [
                SetField(f, self.expr(v, (*inner, f)), self.at((*inner, f), key=True))
                for f, v in body.items()
            ]
        if kind == "append":
            line = self.template(body["line"], (*inner, "line"))
            return [AppendLine(body["field"], line, bool(body.get("to_parent", False)), loc)]
        if kind == "activity":
            outcome = self.expr(body["outcome"], (*inner, "outcome")) if "outcome" in body else None
            note = self.template(body["note"], (*inner, "note")) if "note" in body else None
            return [RecordActivity(body["kind"], outcome, note, loc)]
        if kind == "notify":
            return [
                Notify(
                    channel=body.get("channel", "email"),
                    to=_names(body["to"]),
                    subject=self.template(body["subject"], (*inner, "subject")),
                    body=self.template(body.get("body", ""), (*inner, "body")),
                    cc=_names(body.get("cc")),
                    on_parent=bool(body.get("on_parent", False)),
                    loc=loc,
                )
            ]
        if kind == "emit":
            return [Emit(body["trigger"], body["to"], loc)]
        if kind == "job":
            payload = tuple(
                (key, self.expr(value, (*inner, "payload", key)))
                for key, value in (body.get("payload") or {}).items()
            )
            return [
                CreateJob(
                    type=body["type"],
                    on_complete=body["on_complete"],
                    payload=payload,
                    result=_names(body.get("result")),
                    retries=int(body.get("retries", 3)),
                    loc=loc,
                )
            ]
        if kind == "start":
            return [self.start(body, inner, loc)]
        columns = tuple(
            (header, self.template(t, (*inner, "columns", header)))
            for header, t in body["columns"].items()
        )
        return [AppendRow(body["name"], columns, loc)]


class _Tree:
    """The states of a document as they are built: plain ones, compound ones, initial ones."""

    def __init__(self) -> None:
        self.leaves: list[State] = []
        self.compounds: dict[str, Compound] = {}
        self.seen: dict[str, Location] = {}
        self.initial_child: dict[str, str] = {}  # compound -> its first child marked initial
        self.top_initial: list[str] = []  # top-level states marked initial

    def leaves_of(self, name: str) -> tuple[str, ...]:
        """The plain states a name covers: itself, or every plain state inside a compound."""
        compound = self.compounds.get(name)
        if compound is None:
            return (name,)
        return tuple(leaf for child in compound.children for leaf in self.leaves_of(child))

    def entered(self, name: str) -> str:
        """The plain state entering `name` ends in (its initial child's, recursively); a
        compound state without an initial child is returned as it is (reported at load)."""
        seen: set[str] = set()
        while name in self.compounds and name not in seen:
            seen.add(name)
            child = self.compounds[name].initial
            if child is None:
                return name
            name = child
        return name

    def resolved(self) -> tuple[State, ...]:
        """The plain states, inheriting status, queue and owner from the compound states
        around them; `initial` marks the state an instance starts in (the top-level initial
        state's initial state, recursively)."""
        if not self.compounds:
            return tuple(self.leaves)
        starts = {self.entered(name) for name in self.top_initial}
        out = []
        for leaf in self.leaves:
            status, queue, owner = leaf.status, leaf.queue, leaf.owner
            parent = leaf.parent
            while parent is not None and parent in self.compounds:
                above = self.compounds[parent]
                status, queue, owner = (
                    status or above.status,
                    queue or above.queue,
                    owner or above.owner,
                )
                parent = above.parent
            out.append(
                replace(leaf, status=status, queue=queue, owner=owner, initial=leaf.name in starts)
            )
        return tuple(out)


def _a(kind: FieldType) -> str:
    return {
        FieldType.INT: "an integer",
        FieldType.BOOL: "true or false",
        FieldType.LIST: "a list",
    }.get(kind, "a string")


def build_process(source: Source, source_hash: str) -> tuple[Process, list[Problem]]:
    """Build the model of a schema-valid document.

    Args:
        source: the parsed document (already checked against the JSON Schema).
        source_hash: the sha256 of the text, stored as `Process.source_hash`.

    Returns:
        The process, and the problems found while converting values (all errors).
    """
    builder = _Builder(source)
    process = builder.process(source.data, source_hash)
    return process, builder.problems
