"""The typed, immutable model of a process definition, independent of YAML.

The loader builds it from a YAML document; the validators, renderers and the runtime consume only
this model. Expressions and templates are kept as source text with their location; they are
compiled once per process by `engine.expressions` (see `engine.runtime.compiled`).
"""

from __future__ import annotations

from dataclasses import field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from .errors import UNKNOWN, Location
from .frozen import ahead, frozen


class FieldType(StrEnum):
    """The types a process field may have."""

    STRING = "string"
    EMAIL = "email"  # one valid address (engine.messages.addresses): a recipient of messages
    TEXT = "text"  # a string that `append` actions add dated lines to (a log)
    INT = "int"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"
    LIST = "list"


@frozen
class Expr:
    """An expression in the sandboxed expression language, e.g. `attempt < 3`."""

    source: str
    loc: Location = UNKNOWN


@frozen
class Template:
    """A text with `{expression}` holes, e.g. `Call {attempt}: {outcome}`."""

    source: str
    loc: Location = UNKNOWN


@frozen
class Field:
    """A typed piece of instance data."""

    name: str
    type: FieldType
    required: bool = False
    default: Any = None
    values: tuple[str, ...] = ()  # the allowed values of an enum
    description: str = ""
    loc: Location = UNKNOWN


@frozen
class Role:
    """A role that may act on instances; `contact` names the field holding its address."""

    name: str
    title: str = ""
    manager: str | None = None  # the role escalations go to (the owner's manager)
    contact: str | None = None  # a field name, or a literal address containing '@'
    loc: Location = UNKNOWN


@frozen
class Calendar:
    """Business time: working days and hours in a time zone, minus holidays."""

    name: str
    timezone: str = "UTC"
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    start: str = "09:00"
    end: str = "17:00"
    holidays: tuple[str, ...] = ()  # ISO dates
    loc: Location = UNKNOWN


@frozen
class Recurrence:
    """When a recurring timer or batch step fires.

    `every` is one of daily, weekly, monthly, cron. `at` is the local time of day (HH:MM),
    `weekday` (0-6) applies to weekly, `day` (1-31, clipped to the month) to monthly, and
    `cron` holds a five-field cron expression when `every == "cron"`.
    """

    every: str
    at: str = "00:00"
    weekday: int = 0
    day: int = 1
    cron: str = ""
    timezone: str = "UTC"


@frozen
class Timer:
    """Fires `trigger` on the instance while it stays in the state that declares the timer.

    Exactly one of `after` (a duration from entering the state), `at` (an expression giving a
    date or datetime), `every` (a recurrence) or `idle` (a duration without any step on the
    instance while it is in the state: every step there arms it afresh) is set. With
    `calendar`, `after` and `idle` count business time in that calendar.
    """

    name: str
    trigger: str
    after: timedelta | None = None
    at: Expr | None = None
    every: Recurrence | None = None
    calendar: str | None = None
    data: tuple[tuple[str, Any], ...] = ()
    loc: Location = UNKNOWN
    # a boolean expression read when the timer comes due: when it holds, the timer is spent
    # without firing its trigger (a recurring one is armed for its next time)
    unless: Expr | None = None
    idle: timedelta | None = None


@frozen
class Sla:
    """A due time on a state: the owner is notified when overdue, the manager later."""

    due: timedelta
    owner: str  # role
    calendar: str | None = None
    escalate_after: timedelta | None = None  # after this much more, notify the owner's manager
    channels: tuple[str, ...] = ("email",)  # e.g. ("email", "sms") for the cell phone alert
    loc: Location = UNKNOWN


@frozen
class Recipient:
    """One recipient of a batch (fulfilment list) email."""

    address: str
    subject: str
    note: str = ""


@frozen
class StartProcess:
    """Starts an instance of another process in the same step (an approved cancellation
    starts its offboarding, say); `data` maps the new instance's fields to expressions
    over this instance's fields (unset values are left out, so its defaults apply)."""

    process: str
    data: tuple[tuple[str, Expr], ...] = ()
    loc: Location = UNKNOWN


@frozen
class Batch:
    """A fulfilment list step: instances reaching the state in a period go out in one CSV."""

    every: Recurrence
    columns: tuple[str, ...]
    recipients: tuple[Recipient, ...]
    trigger: str  # fired on every instance of the batch once it is sent
    loc: Location = UNKNOWN
    # the list as one task: started once per list sent, its data reading the list's facts
    # (`expressions.exprtypes.BATCH_FACTS`), not the fields of one of its instances
    start: StartProcess | None = None


@frozen
class State:
    """A state an instance can be in."""

    name: str
    initial: bool = False
    terminal: bool = False
    waiting: bool = False  # may wait forever for something outside the process (no trap error)
    status: str = ""
    closure_reason: str = ""
    outcome: str | None = None  # terminal states: "succeeded" or "failed", read by parents
    queue: str | None = None
    owner: str | None = None  # role
    description: str = ""
    timers: tuple[Timer, ...] = ()
    sla: Sla | None = None
    batch: Batch | None = None
    loc: Location = UNKNOWN
    parent: str | None = None  # the compound state it is in (None: the top level)
    on_enter: tuple[Action, ...] = ()  # run when a transition enters it
    on_exit: tuple[Action, ...] = ()  # run when a transition leaves it


@frozen
class Compound:
    """A state made of states: an instance in one of its `children` is in it too.

    An instance is never in a compound state alone: entering one enters its `initial` child
    (down to a plain state). Transitions written on it apply to every state inside it (those
    written on an inner state take priority); its timers run while the instance is anywhere
    inside it, and leaving it cancels them. Its `status`, `queue` and `owner` are inherited by
    the states inside that do not give their own (the builder copies them down).
    """

    name: str
    children: tuple[str, ...]  # its direct children, in document order
    initial: str | None = None  # the child entered with it (None: an error reported at load)
    parent: str | None = None
    status: str = ""
    queue: str | None = None
    owner: str | None = None
    description: str = ""
    timers: tuple[Timer, ...] = ()
    on_enter: tuple[Action, ...] = ()
    on_exit: tuple[Action, ...] = ()
    loc: Location = UNKNOWN


# --- actions -----------------------------------------------------------------------------


@frozen
class SetField:
    """`set: {field: expression}` — assigns the expression's value."""

    field: str
    value: Expr
    loc: Location = UNKNOWN


@frozen
class AppendLine:
    """Appends a dated line to a text field; `to_parent` writes the parent's field instead."""

    field: str
    line: Template
    to_parent: bool = False
    loc: Location = UNKNOWN


@frozen
class RecordActivity:
    """Records an activity (a call with its outcome, an email) in the instance's history."""

    kind: str  # "call" | "email" | "note"
    outcome: Expr | None = None
    note: Template | None = None
    loc: Location = UNKNOWN


@frozen
class Notify:
    """Puts a message in the outbox. `to`/`cc` name roles or fields holding addresses."""

    channel: str
    to: tuple[str, ...]
    subject: Template
    body: Template = ahead(Template, source="", loc=UNKNOWN)
    cc: tuple[str, ...] = ()
    on_parent: bool = False  # address the parent's roles/fields (the Fulfillment Request)
    loc: Location = UNKNOWN


@frozen
class Emit:
    """Fires `trigger` on the parent, on all children, or on one named child task."""

    trigger: str
    target: str  # "parent" | "children" | a task name
    loc: Location = UNKNOWN


@frozen
class AppendRow:
    """Appends a row to a named sheet (a CSV file); columns map header -> template."""

    sheet: str
    columns: tuple[tuple[str, Template], ...]
    loc: Location = UNKNOWN


@frozen
class CreateJob:
    """Hands work to another system: a job of a named type with a JSON payload.

    Each payload value is an expression over the fields (a typed value, never a text
    template); an external worker fetches the job, and its completion fires `on_complete` on
    the instance with the `result` fields as data (docs/jobs.md).
    """

    type: str  # e.g. "crm.create_task"
    on_complete: str  # the trigger a completion fires
    payload: tuple[tuple[str, Expr], ...] = ()
    result: tuple[str, ...] = ()  # the fields a completion's data may set
    retries: int = 3  # failures retried before the job becomes an incident
    loc: Location = UNKNOWN


Action = (
    SetField | AppendLine | RecordActivity | Notify | Emit | AppendRow | CreateJob | StartProcess
)


AUTOMATIC = "automatic"  # the trigger of transitions written without one (reserved)


@frozen
class Transition:
    """A trigger moving an instance from one of `sources` to `dest` (the same state allowed).

    Without `dest` (None) the transition is internal: the instance stays in its state without
    leaving and entering it again, so the state's timers and SLA keep running.
    """

    trigger: str
    sources: tuple[str, ...]
    dest: str | None  # None: internal, stays in the source state
    guard: Expr | None = None
    requires: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()  # empty: any declared role may fire it
    actions: tuple[Action, ...] = ()
    description: str = ""
    input: tuple[str, ...] = ()  # the fields the trigger's data may set (`Process.accepts`)
    loc: Location = UNKNOWN
    # As written, when a compound state is named: `sources` and `dest` above are then the plain
    # states it covers (every state inside a compound source, a compound dest's initial state).
    written_sources: tuple[str, ...] = ()
    written_dest: str | None = None

    @property
    def automatic(self) -> bool:
        """Written without a trigger: taken by the engine as soon as its guard holds."""
        return self.trigger == AUTOMATIC

    @property
    def declared_sources(self) -> tuple[str, ...]:
        """The sources as the author wrote them (compound states unexpanded)."""
        return self.written_sources or self.sources

    @property
    def declared_dest(self) -> str | None:
        """The destination as the author wrote it (a compound state unresolved)."""
        return self.written_dest or self.dest

    @property
    def internal(self) -> bool:
        """Whether it stays in its state (no `dest`) instead of leaving it."""
        return self.dest is None

    def target(self, source: str) -> str:
        """The state an instance in `source` is in after the transition."""
        return source if self.dest is None else self.dest


# --- children ----------------------------------------------------------------------------


@frozen
class Task:
    """A child task a request starts: a process of its own, released when its dependencies end."""

    name: str
    process: str
    title: str = ""
    depends_on: tuple[str, ...] = ()
    queue: str | None = None
    data: tuple[tuple[str, Expr], ...] = ()  # child field -> expression over the parent's fields
    indicator: bool = False  # the task whose outcome decides the request (PDM's obtain-access task)
    loc: Location = UNKNOWN


@frozen
class Rule:
    """Reacts to children's outcomes: `when` is all_completed, any_failed, succeeded, failed."""

    when: str
    task: str | None = None  # for succeeded/failed: the task named; None means the indicator
    fire: tuple[tuple[str, str], ...] = ()  # (target, trigger); target: "parent" or a task name
    loc: Location = UNKNOWN


@frozen
class Invariant:
    """A user-declared property that must hold after every step."""

    name: str
    expr: Expr
    loc: Location = UNKNOWN


@frozen
class Process:
    """A whole process definition."""

    id: str
    version: int
    title: str = ""
    description: str = ""
    fields: tuple[Field, ...] = ()
    roles: tuple[Role, ...] = ()
    states: tuple[State, ...] = ()
    transitions: tuple[Transition, ...] = ()
    calendars: tuple[Calendar, ...] = ()
    tasks: tuple[Task, ...] = ()
    rules: tuple[Rule, ...] = ()
    invariants: tuple[Invariant, ...] = ()
    start_input: tuple[str, ...] | None = None  # the fields `start` data may set; None: all
    compounds: tuple[Compound, ...] = ()  # states made of states; `states` holds plain ones
    # the one line naming an instance in worklists, e.g. `{client} ({fr_number})`
    instance_title: Template | None = None
    source_file: str = "<string>"
    source_hash: str = ""  # sha256 of the YAML text: a version's identity in the store
    loc: Location = UNKNOWN
    _index: dict[str, Any] = field(default_factory=dict, compare=False, repr=False, hash=False)

    # Lookups are derived once and cached; the dataclass itself stays immutable in meaning.
    def _lookup(self, kind: str, items: tuple[Any, ...]) -> dict[str, Any]:
        cached: dict[str, Any] | None = self._index.get(kind)
        if cached is None:
            cached = {item.name: item for item in items}
            self._index[kind] = cached
        return cached

    def find_field(self, name: str) -> Field | None:
        found: Field | None = self._lookup("field", self.fields).get(name)
        return found

    def find_role(self, name: str) -> Role | None:
        found: Role | None = self._lookup("role", self.roles).get(name)
        return found

    def find_state(self, name: str) -> State | None:
        found: State | None = self._lookup("state", self.states).get(name)
        return found

    @property
    def initial(self) -> State:
        for state in self.states:
            if state.initial:
                return state
        raise LookupError(f"process {self.id} has no initial state")

    @property
    def triggers(self) -> tuple[str, ...]:
        """Every trigger named by a transition, in first-declared order."""
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))

    @property
    def start_accepts(self) -> tuple[str, ...]:
        """The fields `start` data may set: `start.input` and the required fields, else all."""
        if self.start_input is None:
            return tuple(f.name for f in self.fields)
        required = (f.name for f in self.fields if f.required)
        return tuple(dict.fromkeys((*self.start_input, *required)))

    def recorded(self) -> frozenset[str]:
        """The fields the process's own actions set or append to (timestamps, logs, counters)."""
        cached: frozenset[str] | None = self._index.get("recorded")
        if cached is None:
            cached = frozenset(
                action.field
                for action in self.all_actions()
                if isinstance(action, SetField | AppendLine)
                and not getattr(action, "to_parent", False)
            )
            self._index["recorded"] = cached
        return cached

    def all_states(self) -> tuple[State | Compound, ...]:
        """The plain states, then the compound ones."""
        return (*self.states, *self.compounds)

    def all_actions(self) -> tuple[Action, ...]:
        """Every action of the process: the transitions', then the states' entry and exit."""
        return (
            *(a for t in self.transitions for a in t.actions),
            *(a for s in self.all_states() for a in (*s.on_enter, *s.on_exit)),
        )

    def accepts(self, transition: Transition) -> tuple[str, ...]:
        """The fields a transition's data may set: its `input`, and the `requires` fields no
        action records (the data it needs, such as a call's outcome). A required field a step
        records (`forwarded_at`) must come from that step, never from the data."""
        recorded = self.recorded()
        needed = (name for name in transition.requires if name not in recorded)
        return tuple(dict.fromkeys((*transition.input, *needed)))

    def settable(self) -> frozenset[str]:
        """Fields some person's data may set: at `start` or through a transition's data."""
        names = set(self.start_accepts)
        for transition in self.transitions:
            names.update(self.accepts(transition))
        return frozenset(names)

    def transitions_from(self, state: str) -> tuple[Transition, ...]:
        """The transitions that may fire in `state`, in the order they are tried: those written
        on the state itself first, then those it inherits from each enclosing compound state
        outwards (document order within each level)."""
        found = tuple(t for t in self.transitions if state in t.sources)
        if not self.compounds or len(found) < 2:
            return found
        return tuple(sorted(found, key=lambda t: self.depth_of(t, state)))

    def find_compound(self, name: str) -> Compound | None:
        found: Compound | None = self._lookup("compound", self.compounds).get(name)
        return found

    def ancestors(self, name: str) -> tuple[str, ...]:
        """The compound states around a state, innermost first (() at the top level)."""
        cache: dict[str, tuple[str, ...]] = self._index.setdefault("ancestors", {})
        found = cache.get(name)
        if found is None:
            chain: list[str] = []
            node = self.find_state(name) or self.find_compound(name)
            parent = node.parent if node is not None else None
            while parent is not None and parent not in chain:
                chain.append(parent)
                above = self.find_compound(parent)
                parent = above.parent if above is not None else None
            found = cache[name] = tuple(chain)
        return found

    def leaves_of(self, name: str) -> tuple[str, ...]:
        """The plain states inside a compound state (or the plain state itself)."""
        if self.find_compound(name) is None:
            return (name,)
        return tuple(s.name for s in self.states if name in self.ancestors(s.name))

    def path(self, name: str) -> tuple[str, ...]:
        """The states an instance in `name` is in, outermost first, ending with `name`."""
        return (*reversed(self.ancestors(name)), name)

    def depth_of(self, transition: Transition, state: str) -> int:
        """How far out from `state` the transition is written: 0 on the state itself, 1 on its
        compound state, and so on (the priority of inherited transitions)."""
        written = transition.declared_sources
        if state in written:
            return 0
        for depth, name in enumerate(self.ancestors(state), 1):
            if name in written:
                return depth
        return 0  # `source: "*"`: every state, written on none in particular

    def written_source(self, transition: Transition, state: str) -> str:
        """The state (plain or compound) through which a transition applies to `state`."""
        depth = self.depth_of(transition, state)
        return state if depth == 0 else self.ancestors(state)[depth - 1]

    def find_task(self, name: str) -> Task | None:
        return next((t for t in self.tasks if t.name == name), None)
