"""Hypothesis strategies for any process definition: data, actors, clock moves, event sequences.

    field_values(process, field)       values a field may hold (its type, its enum values)
    start_data(process)                data a `start` accepts: required fields always given
    fire_data(process, trigger)        data for the fields a trigger's transitions read and
                                       take as input
    actors(process, trigger)           (actor, role): usually a role that may fire, sometimes not
    directories(process)               a people directory holding some of the process's roles
    clock_advances(process)            durations from minutes to weeks (and the process's own)
    event_sequences(process, max_len)  lists of `FireStep` / `AdvanceStep`

Values lean on what the process compares a field with (the literals of its guards, each plus
and minus one, as `engine.checking.abstraction` finds them), mixed with arbitrary valid values,
so that boundaries are hit often and shrinking lands on them. Fields a `set` action computes
from themselves (counters such as `attempt + 1`) are the engine's own: they are never drawn as
data people give. Everything drawn is valid for the field's declared type: refusals come from
the process (guards, roles, states), never from malformed data.

This module imports Hypothesis, a test dependency: import it explicitly, not via
`engine.testing`'s eager exports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from hypothesis import strategies as st

from ..checking.abstraction import CLOCK, Abstraction
from ..checking.explore import action_reads
from ..errors import UsageError, did_you_mean
from ..expressions import compile_expr, field_types
from ..model import Field, FieldType, Notify, Process, Transition
from ..people.directory import PeopleDirectory, Person

__all__ = [
    "ACTORS",
    "AdvanceStep",
    "FireStep",
    "actors",
    "clock_advances",
    "directories",
    "drawable_fields",
    "event_sequences",
    "field_values",
    "fire_data",
    "start_data",
]

T = TypeVar("T")

ACTORS = ("sam", "ann")  # the people who act; guards may read `actor`
_SPAN = timedelta(days=400)  # dates and times are drawn this far around the clock
_INT_SPAN = 10**9  # ints are drawn within this far from zero
_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=16)
_ADDRESS = st.from_regex(r"[a-z]{1,8}@example\.(com|org)", fullmatch=True)


@dataclass(frozen=True)
class FireStep:
    """Fire `trigger` with `data` as `actor` in `role` (None: no role)."""

    trigger: str
    data: dict[str, Any] = field(default_factory=dict)
    actor: str = ACTORS[0]
    role: str | None = None


@dataclass(frozen=True)
class AdvanceStep:
    """Move the clock forward by `delta`, then fire every timer due (`tick`)."""

    delta: timedelta


@lru_cache(maxsize=64)
def _abstraction(process: Process) -> Abstraction:
    return Abstraction.of(process)


def _field(process: Process, name: str) -> Field:
    spec = process.find_field(name)
    if spec is None:
        hint = did_you_mean(name, [f.name for f in process.fields])
        raise UsageError(
            f"process {process.id} has no field '{name}'" + (f"; {hint}" if hint else "")
        )
    return spec


def _is_address(process: Process, name: str) -> bool:
    return "email" in name or any(role.contact == name for role in process.roles)


def field_values(process: Process, field_name: str) -> st.SearchStrategy[Any]:
    """Values valid for one field, never None.

    Ints, texts, dates and lists lean on the literals the process compares the field with;
    enums draw their declared values; texts that hold addresses (a role's `contact`, a name
    containing `email`) are addresses. Dates and date-times are typed (`date`, aware UTC
    `datetime` on the minute) within 400 days of the scenarios' default clock.

    Args:
        process: a loaded process definition.
        field_name: one of its fields.

    Raises:
        UsageError: the process has no such field.
    """
    spec = _field(process, field_name)
    samples = _abstraction(process).domains.get(field_name, ())
    kind = spec.type
    if kind is FieldType.BOOL:
        return st.booleans()
    if kind is FieldType.ENUM:
        return st.sampled_from(spec.values)
    if kind is FieldType.INT:
        # well inside the 64 bits an int field holds, so that guards' arithmetic stays in range
        wide = st.integers(-_INT_SPAN, _INT_SPAN)
        return st.sampled_from(samples) | st.integers(-10, 1000) if samples else wide
    if kind is FieldType.EMAIL:
        return _ADDRESS
    if kind in (FieldType.STRING, FieldType.TEXT):
        fresh = _ADDRESS if _is_address(process, field_name) else _TEXT
        literals = [s for s in samples if isinstance(s, str) and s not in ("sample",)]
        texts = st.sampled_from(literals) | fresh if literals else fresh
        # a required text is not satisfied by an empty one (the engine refuses it); mapped, not
        # filtered, so that the draws (and the examples a fixed seed finds) stay the same
        return texts.map(_not_blank) if spec.required else texts
    if kind is FieldType.LIST:
        items = [s[0] for s in samples if isinstance(s, tuple) and s]
        item = st.sampled_from(items) | _TEXT if items else _TEXT
        return st.lists(item, max_size=3)
    if kind is FieldType.DATE:
        days = st.integers(-_SPAN.days, _SPAN.days).map(lambda n: CLOCK.date() + timedelta(n))
        dates = [s for s in samples if isinstance(s, date) and not isinstance(s, datetime)]
        return st.sampled_from(dates) | days if dates else days
    minutes = int(_SPAN.total_seconds() // 60)
    moments = st.integers(-minutes, minutes).map(lambda n: CLOCK + timedelta(minutes=n))
    times = [s.astimezone(UTC) for s in samples if isinstance(s, datetime)]
    return st.sampled_from(times) | moments if times else moments


def _not_blank(text: str) -> str:
    return text if text.strip() else "x"


def drawable_fields(process: Process, names: set[str] | frozenset[str]) -> list[str]:
    """The fields among `names` people may give as data: declared, and not engine-owned."""
    return _abstraction(process).drawable(names)


def _mostly(usual: st.SearchStrategy[T], rare: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """`usual` four draws in five, else `rare`; shrinks towards `usual`."""
    return st.sampled_from((True, True, True, True, False)).flatmap(
        lambda ok: usual if ok else rare
    )


def _optional(process: Process, name: str) -> st.SearchStrategy[Any]:
    """A value for a field that may be cleared: mostly a value, sometimes None (unset)."""
    values = field_values(process, name)
    return values if _field(process, name).required else _mostly(values, st.none())


def start_data(process: Process) -> st.SearchStrategy[dict[str, Any]]:
    """Data a `start` of the process accepts: every required field, some optional ones.

    Engine-owned fields (counters) and the optional fields not drawn keep their defaults.
    """
    owned = _abstraction(process).owned
    accepted = set(process.start_accepts)
    required = {f.name: field_values(process, f.name) for f in process.fields if f.required}
    # An optional field is given a value or left out, never given None: None at the start
    # would override the field's default, which no caller means to do.
    optional = {
        f.name: field_values(process, f.name)
        for f in process.fields
        if not f.required and f.name not in owned and f.name in accepted
    }
    return st.fixed_dictionaries(required, optional=optional)


def _transitions(process: Process, transition: Transition | str) -> list[Transition]:
    if isinstance(transition, Transition):
        return [transition]
    found = [t for t in process.transitions if t.trigger == transition]
    if not found:
        hint = did_you_mean(transition, process.triggers)
        raise UsageError(
            f"process {process.id} has no trigger '{transition}'" + (f"; {hint}" if hint else "")
        )
    return found


def _reads(process: Process, transitions: list[Transition]) -> set[str]:
    env = field_types(process)
    names: set[str] = set()
    for t in transitions:
        names.update(t.requires)
        if t.guard is not None:
            names |= _guard_names(process, t)
        names.update(action_reads(process, t, env))
        for action in t.actions:
            if isinstance(action, Notify):
                names.update((*action.to, *action.cc))
    return names


def _guard_names(process: Process, transition: Transition) -> set[str]:
    assert transition.guard is not None
    return set(compile_expr(transition.guard, field_types(process)).names)


def fire_data(process: Process, transition: Transition | str) -> st.SearchStrategy[dict[str, Any]]:
    """Data for the fields a transition (or every transition of a trigger) reads and accepts.

    The fields its guard, `requires` and actions read, and the fields its notifications are
    addressed to, among those its data may set (`input` and `requires`). `requires` fields are
    given (set) four times in five; the others may be
    absent, or None (cleared) now and then; one draw in five is empty data.

    Raises:
        UsageError: the process has no such trigger.
    """
    transitions = _transitions(process, transition)
    accepted = {name for t in transitions for name in process.accepts(t)}
    names = drawable_fields(process, _reads(process, transitions) & accepted)
    needed = [n for n in names if any(n in t.requires for t in transitions)]
    full = st.fixed_dictionaries(
        {n: field_values(process, n) for n in needed},
        optional={n: _optional(process, n) for n in names if n not in needed},
    )
    return _mostly(full, st.just({})) if names else st.just({})


def actors(
    process: Process, transition: Transition | str
) -> st.SearchStrategy[tuple[str, str | None]]:
    """An (actor, role) pair for firing: usually a role that may fire, sometimes not.

    The allowed roles are the transitions' `roles` (any declared role when they name none);
    about one draw in five is another declared role or no role at all.

    Raises:
        UsageError: the process has no such trigger.
    """
    declared = [r.name for r in process.roles]
    named = {r for t in _transitions(process, transition) for r in t.roles}
    allowed = [r for r in declared if r in named] if named else declared
    others = [r for r in declared if r not in allowed]
    who = st.sampled_from(ACTORS)
    if not allowed:
        return st.tuples(who, st.none())
    good: st.SearchStrategy[str | None] = st.sampled_from(allowed)
    bad: st.SearchStrategy[str | None] = st.sampled_from([*others, None])
    return st.tuples(who, _mostly(good, bad))


def directories(process: Process, size: int = 4) -> st.SearchStrategy[PeopleDirectory]:
    """A people directory for `process`: up to `size` people named from `ACTORS` on, each
    holding a few of the process's roles (or none), now and then inactive."""
    roles = [r.name for r in process.roles]
    names = [*ACTORS, *(f"p{i}" for i in range(max(0, size - len(ACTORS))))][:size]
    held = st.lists(st.sampled_from(roles), unique=True, max_size=3) if roles else st.just([])

    def person(name: str) -> st.SearchStrategy[Person]:
        return st.builds(
            lambda r, active: Person(
                name, name.title(), f"{name}@example.com", tuple(r), None, None, active
            ),
            held,
            _mostly(st.just(True), st.just(False)),
        )

    chosen = st.lists(st.sampled_from(names), unique=True, min_size=1, max_size=size)
    return chosen.flatmap(lambda ids: st.tuples(*map(person, ids))).map(PeopleDirectory.of)


def _process_durations(process: Process) -> list[timedelta]:
    found: set[timedelta] = set()
    for timer in (t for s in process.all_states() for t in s.timers):
        wait = timer.after if timer.after is not None else timer.idle
        if wait is not None:
            found.add(wait)
    for state in process.states:
        if state.sla is not None:
            found.add(state.sla.due)
            if state.sla.escalate_after is not None:
                found.add(state.sla.escalate_after)
    return sorted(found)


def clock_advances(process: Process | None = None) -> st.SearchStrategy[timedelta]:
    """How far the clock moves: minutes, hours, days or weeks (up to four).

    With a process, its timers' `after` and SLA durations are drawn too (first, so shrinking
    prefers them), which makes a timer due exactly at the new time common.
    """
    units = [
        st.integers(1, 59).map(lambda n: timedelta(minutes=n)),
        st.integers(1, 23).map(lambda n: timedelta(hours=n)),
        st.integers(1, 6).map(lambda n: timedelta(days=n)),
        st.integers(1, 4).map(lambda n: timedelta(weeks=n)),
    ]
    own = _process_durations(process) if process is not None else []
    return st.one_of(st.sampled_from(own), *units) if own else st.one_of(*units)


def fire_steps(process: Process, trigger: str) -> st.SearchStrategy[FireStep]:
    """`FireStep`s of one trigger, with its data and an (actor, role)."""
    return st.builds(
        lambda data, who: FireStep(trigger, data, who[0], who[1]),
        fire_data(process, trigger),
        actors(process, trigger),
    )


def event_sequences(
    process: Process, *, max_len: int = 10
) -> st.SearchStrategy[list[FireStep | AdvanceStep]]:
    """Sequences of steps for one instance after its start: fires and advance-and-tick.

    Any trigger of the process may be drawn whatever the state, so some fires are refused.
    """
    triggers = process.triggers
    steps: list[st.SearchStrategy[FireStep | AdvanceStep]] = [
        st.builds(AdvanceStep, clock_advances(process))
    ]
    if triggers:
        fires = st.sampled_from(triggers).flatmap(lambda t: fire_steps(process, t))
        steps.insert(0, fires)
    return st.lists(st.one_of(*steps), max_size=max_len)
