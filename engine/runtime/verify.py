"""Checking an instance's history: the sealed chain, then a replay against its definition.

The chain check recomputes every event's seal (HMAC with the audit key whose id it names, or
SHA-256 for unkeyed and old events) and its link to the event before it. The replay starts
from the start event's data and applies each recorded change in order, checking that every
transition exists in the definition from the replayed state, and that the replay ends where
the stored instance is. Any event, state or data that does not match is reported, naming the
instance and the first event at fault; nothing is repaired. `Tally` gathers what the seals
were across instances, for the store-wide notes (docs/audit.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from json.encoder import encode_basestring
from typing import Any, NamedTuple, Protocol, cast

from ..audit.keys import AuditKeys
from ..errors import FulfilError
from ..store.base import (
    EventRecord,
    LaneLink,
    LaneMark,
    MarkRecord,
    StoredEvent,
    StoredInstance,
    Transaction,
)
from ..store.jsontext import compact_encoder
from .compiled import CANCELLED, CompiledProcess
from .history import EVENT_PREFIX, STORED_PREFIX, canonical, expected_tag, stored_text
from .lanes import orphans, walk_lanes
from .views import VerifyProblem

__all__ = [
    "LANE_MARK_PREFIX",
    "MARK_PREFIX",
    "StoreCheck",
    "Tally",
    "lane_mark_mac",
    "mark_mac",
    "verify_instance",
    "verify_store",
]

MARK_PREFIX = b"fulfil.mark.2\n"
"""What the MAC of an instance's verify mark covers before its canonical text."""
LANE_MARK_PREFIX = b"fulfil.lane-mark.1\n"
"""What the MAC of a lane's verify mark covers before its canonical text."""

_PAGE = 2000
_dumps = compact_encoder(sort_keys=True, default=str)


class _Event(Protocol):
    """What the chain check reads of an event, decoded (EventRecord) or as stored."""

    @property
    def seq(self) -> int: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...
    @property
    def lane(self) -> int | None: ...
    @property
    def key(self) -> str | None: ...
    @property
    def instance(self) -> str: ...


class _Instance(Protocol):
    """What the chain check and the replay read of an instance row (decoded)."""

    @property
    def id(self) -> str: ...
    @property
    def process(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def state(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def seq(self) -> int: ...
    @property
    def head(self) -> str: ...


class _Step(Protocol):
    """What the replay reads of an event: EventRecord, or a stored event partly decoded."""

    @property
    def seq(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def trigger(self) -> str | None: ...
    @property
    def source(self) -> str | None: ...
    @property
    def dest(self) -> str | None: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def detail(self) -> dict[str, Any]: ...


_MOVES = ("transition", "timer")


@dataclass
class Tally:
    """What the seals of the events checked were: old format, unkeyed, keyed (by key id)."""

    events: int = 0
    legacy: int = 0
    unkeyed: int = 0
    keyed: Counter[str] = field(default_factory=Counter)
    unknown: Counter[str] = field(default_factory=Counter)  # sealed with a key not given
    bad: dict[str, list[VerifyProblem]] = field(default_factory=dict)  # seals that failed

    def problems(self, keys: AuditKeys) -> list[VerifyProblem]:
        """The findings about seals: keys missing, a wrong key (said once, not per event),
        and each event whose seal does not match."""
        found = []
        if self.unknown:
            ids = ", ".join(f"'{k}'" for k in sorted(self.unknown))
            count = sum(self.unknown.values())
            found.append(
                VerifyProblem(
                    "",
                    None,
                    f"{count} event(s) are sealed with the audit key(s) {ids}, not given: give "
                    "every key (FULFIL_AUDIT_KEY or --audit-key-file) to check them",
                )
            )
        for key_id, failed in sorted(self.bad.items()):
            sealed = self.keyed[key_id]
            if key_id and len(failed) == sealed > 1:
                found.append(
                    VerifyProblem(
                        "",
                        None,
                        f"the audit key '{key_id}' given matches none of the {sealed} event(s) "
                        f"sealed with '{key_id}': it is the wrong key",
                    )
                )
            else:
                found += failed
        return found

    def notes(self, keys: AuditKeys) -> list[str]:
        """What the check cannot vouch for."""
        notes = []
        if not keys.keyed:
            notes.append(
                "unkeyed chain (SHA-256): it detects accidents, not a forger who can rewrite "
                "the database; set FULFIL_AUDIT_KEY or --audit-key-file to seal with a key"
            )
        elif self.unkeyed or self.legacy:
            notes.append(
                f"{self.unkeyed + self.legacy} event(s) were sealed without a key (before one "
                "was set): they detect accidents, not a forger"
            )
        return notes


def _stored_tags(events: Sequence[StoredEvent], keys: AuditKeys) -> list[str | None]:
    """The tag each stored event should carry: over its stored text (format 3), else (an
    older format, or the text does not match) over its decoded fields, as `expected_tag`.
    None for an event sealed with a key not given. One loop: this runs for every event."""
    tags: list[str | None] = []
    secrets: dict[str, bytes | None] = {}
    quote = encode_basestring
    for event in events:
        instance, seq, at, actor, role, kind, trigger, source, dest = event[:9]
        data, detail, prev_hash, stored, lane, pos, after, after_seq, key = event[9:]
        if lane is None:
            tags.append(expected_tag(event.record(), keys))
            continue
        place = "null" if after is None else f"[{quote(after)},{int(after_seq or 0)}]"
        text = stored_text(
            instance, seq, at, actor, role, kind, trigger, source, dest, data, detail,
            prev_hash, lane, pos or 0, None, key or "", place,
        )  # fmt: skip
        message = STORED_PREFIX + text.encode()
        if key:
            if key not in secrets:
                secrets[key] = keys.secret(key)
            secret = secrets[key]
            if secret is None:
                tags.append(None)
                continue
            tag = hmac.digest(secret, message, "sha256").hex()
        else:
            tag = hashlib.sha256(message).hexdigest()
        if tag != stored:
            tag = keys.tag_with(key or "", EVENT_PREFIX + canonical(event.record()).encode()) or ""
        tags.append(tag)
    return tags


def _count(key: str | None, lane: int | None, tally: Tally) -> str:
    """Count one event's seal in the tally (legacy, keyed under its key, or unkeyed); its key."""
    key = key or ""
    tally.events += 1
    if lane is None:
        tally.legacy += 1
    elif key:
        tally.keyed[key] += 1
    else:
        tally.unkeyed += 1
    return key


def _seal(event: _Event, expected: str | None, tally: Tally) -> str | None:
    """What is wrong with the event's own seal (`expected`: the tag it should carry, None for
    a key not given; kept in the tally), or None."""
    key = _count(event.key, event.lane, tally)
    if expected is None:
        tally.unknown[key] += 1
        return None
    if expected == event.hash:
        return None
    if key:
        wrong = f"its content does not match its MAC under key '{key}' (edited?)"
    else:
        wrong = "its content does not match its hash (edited?)"
    tally.bad.setdefault(key, []).append(VerifyProblem(event.instance, event.seq, wrong))
    return wrong


def _chain(
    record: _Instance,
    events: Sequence[_Event],
    keys: AuditKeys,
    tally: Tally,
    tags: Sequence[str | None] | None = None,
) -> list[VerifyProblem]:
    problems: list[VerifyProblem] = []
    previous = ""
    placed = keyed = False
    where = record.id
    if tags is None:  # decoded events (one instance's `verify ID`)
        tags = [expected_tag(cast(EventRecord, event), keys) for event in events]
    expected_seq = 1
    for index, event in enumerate(events):
        hole = event.seq > expected_seq
        if hole:  # named once, by the event after it
            missing = (
                f"event {expected_seq} before it is"
                if event.seq == expected_seq + 1
                else f"events {expected_seq}-{event.seq - 1} before it are"
            )
            problems.append(VerifyProblem(where, event.seq, f"{missing} missing (deleted?)"))
        elif event.seq < expected_seq:
            problems.append(VerifyProblem(where, event.seq, f"expected event {expected_seq}"))
        if not hole and event.prev_hash != previous:  # after a hole, what it chains to is gone
            problems.append(
                VerifyProblem(where, event.seq, "does not chain to the event before it")
            )
        _seal(event, tags[index], tally)
        if event.lane is None and placed:
            problems.append(
                VerifyProblem(
                    where,
                    event.seq,
                    "is in the old unplaced format after placed events (re-sealed?)",
                )
            )
        elif event.lane is not None and not event.key and keyed:
            problems.append(
                VerifyProblem(where, event.seq, "is unkeyed after keyed events (re-sealed?)")
            )
        placed = placed or event.lane is not None
        keyed = keyed or bool(event.key)
        previous = event.hash
        expected_seq = max(expected_seq, event.seq + 1)
    problems += _head(record, events)
    return problems


def _head(record: _Instance, events: Sequence[_Event]) -> list[VerifyProblem]:
    """The instance row's last event against the history's."""
    if not events:
        return []
    last = events[-1]
    if record.seq > last.seq:
        return [
            VerifyProblem(
                record.id,
                last.seq + 1,
                f"is missing: the instance row counts {record.seq} events, the history ends at "
                f"event {last.seq} (cut?)",
            )
        ]
    if record.seq < last.seq:
        return [
            VerifyProblem(
                record.id,
                record.seq + 1,
                f"is stored after the instance row's last event {record.seq} (row rolled back?)",
            )
        ]
    if record.head != last.hash:
        return [
            VerifyProblem(record.id, last.seq, "is not the head the instance row holds (replaced?)")
        ]
    return []


def _replay(
    record: _Instance,
    events: Sequence[_Step],
    cp: CompiledProcess,
    version: Callable[[int], CompiledProcess] | None = None,
) -> list[VerifyProblem]:
    """Replay the events; a `migration` event switches to the version it names (`version`
    loads one), so each part of the history is checked against the version it ran on."""
    problems: list[VerifyProblem] = []
    first = _first_version(record, events, cp, version)
    if isinstance(first, VerifyProblem):
        return [first]
    cp = first
    if not events or events[0].kind != "start":
        return [VerifyProblem(record.id, 1, "history does not begin with a start event")]
    state = events[0].dest or ""
    data = dict(events[0].data)
    if state != cp.process.initial.name:
        problems.append(VerifyProblem(record.id, 1, f"starts in '{state}', not the initial state"))
    for event in events[1:]:
        if event.kind in _MOVES:
            problems += _step(record, event, state, cp)
            state = event.dest or state
        elif event.kind == "spent":
            problems += _spent(record, event, state, cp)
        elif event.kind in ("intervention", "migration"):
            if event.kind == "migration" and version is not None:
                try:
                    cp = version(int(event.detail.get("to", record.version)))
                except (FulfilError, ValueError, TypeError) as exc:
                    problems.append(VerifyProblem(record.id, event.seq, f"no version: {exc}"))
                    break
            problems += _intervention(record, event, state, cp)
            state = event.dest or state
        data.update(event.data)
    return problems + _compare(record, state, data)


def _step(record: _Instance, event: _Step, state: str, cp: CompiledProcess) -> list[VerifyProblem]:
    """A transition or timer: it leaves the replayed state by a transition the definition has."""
    problems = []
    if event.source != state:
        problems.append(
            VerifyProblem(
                record.id, event.seq, f"leaves '{event.source}' but replay is in '{state}'"
            )
        )
    if not cp.matches(event.trigger or "", event.source or "", event.dest or ""):
        problems.append(
            VerifyProblem(
                record.id,
                event.seq,
                f"the definition has no '{event.trigger}' from '{event.source}' to '{event.dest}'",
            )
        )
    return problems


def _spent(record: _Instance, event: _Step, state: str, cp: CompiledProcess) -> list[VerifyProblem]:
    """A timer spent by its `unless`: the replayed state runs a timer of that name, of that
    trigger, that has an `unless`; the instance stays where it is."""
    problems = []
    if event.source != state or event.dest is not None:
        problems.append(
            VerifyProblem(
                record.id,
                event.seq,
                f"a timer spent in '{event.source}' but replay is in '{state}'",
            )
        )
    name = event.detail.get("timer")
    if not any(
        ct.timer.name == name and ct.timer.trigger == event.trigger and ct.unless is not None
        for _, ct in cp.timers_around(state)
    ):
        problems.append(
            VerifyProblem(
                record.id,
                event.seq,
                f"the definition has no timer '{name}' with `unless` firing '{event.trigger}' "
                f"in '{state}'",
            )
        )
    if event.data:
        problems.append(VerifyProblem(record.id, event.seq, "a spent timer changed data"))
    return problems


def _compare(record: _Instance, state: str, data: dict[str, Any]) -> list[VerifyProblem]:
    """The replay's end against the stored instance."""
    problems = []
    if state != record.state:
        problems.append(
            VerifyProblem(record.id, None, f"stored state '{record.state}', replay gives '{state}'")
        )
    for name in sorted(set(data) | set(record.data)):
        if data.get(name) != record.data.get(name):
            problems.append(
                VerifyProblem(
                    record.id,
                    None,
                    f"field '{name}' is stored as {record.data.get(name)!r}, "
                    f"replay gives {data.get(name)!r}",
                )
            )
    return problems


def _first_version(
    record: _Instance,
    events: Sequence[_Step],
    cp: CompiledProcess,
    version: Callable[[int], CompiledProcess] | None,
) -> CompiledProcess | VerifyProblem:
    """The version the history began on: the first migration's `from`, else the current."""
    migration = next((e for e in events if e.kind == "migration"), None)
    if migration is None or version is None:
        return cp
    try:
        return version(int(migration.detail.get("from", record.version)))
    except (FulfilError, ValueError, TypeError) as exc:
        return VerifyProblem(record.id, migration.seq, f"cannot load its version: {exc}")


def _intervention(
    record: _Instance, event: _Step, state: str, cp: CompiledProcess
) -> list[VerifyProblem]:
    """An operator's cancel, move, set or message action: it leaves the replayed state, and
    lands in a state of the definition (or the engine's Cancelled)."""
    problems = []
    if event.source != state:
        problems.append(
            VerifyProblem(
                record.id, event.seq, f"leaves '{event.source}' but replay is in '{state}'"
            )
        )
    dest = event.dest or ""
    if dest != CANCELLED and cp.process.find_state(dest) is None:
        problems.append(
            VerifyProblem(
                record.id, event.seq, f"moves to '{dest}', which the definition does not have"
            )
        )
    if not str(event.detail.get("reason", "")).strip():
        problems.append(VerifyProblem(record.id, event.seq, "an intervention without a reason"))
    return problems


def verify_instance(
    record: _Instance,
    events: list[EventRecord],
    definition: Callable[[], CompiledProcess],
    keys: AuditKeys,
    tally: Tally,
    version: Callable[[int], CompiledProcess] | None = None,
) -> list[VerifyProblem]:
    """Every mismatch in one instance's stored history and state.

    `definition` loads the version the instance is on; `version(n)` loads version n of its
    process, for a history that crossed versions (`migration` events)."""
    problems = _chain(record, events, keys, tally)
    try:
        cp = definition()
    except FulfilError as exc:
        return [*problems, VerifyProblem(record.id, None, f"cannot load its definition: {exc}")]
    return problems + _replay(record, events, cp, version)


def _histories(tx: Transaction) -> Iterator[list[StoredEvent]]:
    """Every instance's stored events, one instance at a time, read in pages."""
    after = ("", 0)
    current: list[StoredEvent] = []
    while True:
        page = tx.stored_events(after, _PAGE)
        for event in page:
            if current and current[0].instance != event.instance:
                yield current
                current = []
            current.append(event)
        if len(page) < _PAGE:
            break
        after = (page[-1].instance, page[-1].seq)
    if current:
        yield current


def _rows(tx: Transaction) -> Iterator[StoredInstance]:
    """Every instance row as stored, in id order, read in pages."""
    after = ""
    while True:
        page = tx.stored_instances(after, _PAGE)
        yield from page
        if len(page) < _PAGE:
            return
        after = page[-1].id


class _Row(NamedTuple):
    """What the chain and the replay read of an instance row, decoded."""

    id: str
    process: str
    version: int
    state: str
    data: dict[str, Any]
    seq: int
    head: str


def _decoded(row: StoredInstance) -> _Row:
    return _Row(
        row.id, row.process, row.version, row.state, json.loads(row.data), row.seq, row.head
    )


class _Replayed(NamedTuple):
    """What the replay reads of a stored event: `data` decoded, `detail` only for the kinds
    whose detail it reads (no time is parsed)."""

    seq: int
    kind: str
    trigger: str | None
    source: str | None
    dest: str | None
    data: dict[str, Any]
    detail: dict[str, Any]


_DETAILED = frozenset(("spent", "intervention", "migration"))
_loads = json.loads


def _replayed(events: Sequence[StoredEvent]) -> list[_Replayed]:
    datas = _datas(events)
    return [
        _Replayed(
            e.seq,
            e.kind,
            e.trigger,
            e.source,
            e.dest,
            data,
            _loads(e.detail) if e.kind in _DETAILED else {},
        )
        for e, data in zip(events, datas, strict=True)
    ]


def _datas(events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """The events' `data` decoded, in one parse of them all when each is one object (as the
    stores write it); else one by one, a text that is not an object read as none (its seal,
    over the text, says it was edited)."""
    try:
        datas = _loads("[" + ",".join([e.data for e in events]) + "]")
    except ValueError:
        datas = None
    if (
        isinstance(datas, list)
        and len(datas) == len(events)
        and all(type(data) is dict for data in datas)
    ):
        return datas
    return [_object(e.data) for e in events]


def _object(text: str) -> dict[str, Any]:
    try:
        value = _loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _row_digest(row: StoredInstance, definition: str) -> str:
    """What a mark holds of the instance row the replay ended on (as stored) and of the
    definition it replayed against."""
    text = _dumps([row.process, row.version, row.state, row.data, row.seq, row.head, definition])
    return hashlib.sha256(text.encode()).hexdigest()


def _seals(events: Sequence[StoredEvent]) -> str:
    """How the events were sealed, as a mark keeps it: [old format, unkeyed, {key: count}]."""
    legacy = unkeyed = 0
    keyed: Counter[str] = Counter()
    for event in events:
        if event.lane is None:
            legacy += 1
        elif event.key:
            keyed[event.key] += 1
        else:
            unkeyed += 1
    return _dumps([legacy, unkeyed, dict(keyed)])


def _tally_seals(seals: Counter[str], keys: AuditKeys, tally: Tally) -> None:
    """Count, as `_seal` counts them, the events of the instances unchanged since their marks
    (`seals`: how many instances' marks hold each seals text)."""
    for text, instances in seals.items():
        legacy, unkeyed, keyed = json.loads(text)
        tally.events += instances * (legacy + unkeyed + sum(keyed.values()))
        tally.legacy += instances * legacy
        tally.unkeyed += instances * unkeyed
        for key, count in keyed.items():
            tally.keyed[key] += instances * count
            if keys.secret(key) is None:
                tally.unknown[key] += instances * count


def _mark_text(mark: MarkRecord) -> bytes:
    fields = [mark.instance, mark.seq, mark.head, mark.digest, mark.key, mark.seals]
    return MARK_PREFIX + _dumps(fields).encode()


def mark_mac(mark: MarkRecord, keys: AuditKeys) -> str | None:
    """The MAC a verify mark should carry (None: sealed with a key not given)."""
    return keys.tag_with(mark.key, _mark_text(mark))


def _lane_text(mark: LaneMark) -> bytes:
    fields = [mark.lane, mark.pos, mark.instance, mark.seq, mark.event_key, mark.key]
    return LANE_MARK_PREFIX + _dumps(fields).encode()


def lane_mark_mac(mark: LaneMark, keys: AuditKeys) -> str | None:
    """The MAC a lane's verify mark should carry (None: sealed with a key not given)."""
    return keys.tag_with(mark.key, _lane_text(mark))


def _trusted(mark: MarkRecord | None, keys: AuditKeys) -> tuple[bool, list[VerifyProblem]]:
    """Whether the mark may be relied on, and what is wrong with it. With keys given only a
    mark sealed with one of them counts: an unkeyed one anyone could have written. A mark
    without its seals counted was written before they were: it is not relied on."""
    if mark is None or not mark.seals or (keys.keyed and not mark.key):
        return False, []
    expected = mark_mac(mark, keys)
    if expected is None:
        return False, []
    if expected != mark.mac:
        why = "its verify mark does not match its MAC (edited?)"
        return False, [VerifyProblem(mark.instance, mark.seq, why)]
    return True, []


def _lane_starts(
    tx: Transaction, keys: AuditKeys
) -> tuple[dict[int, LaneLink], list[VerifyProblem]]:
    """The place each lane was checked up to, from the lane marks that hold."""
    starts: dict[int, LaneLink] = {}
    problems = []
    for lane, mark in sorted(tx.lane_marks().items()):
        if keys.keyed and not mark.key:
            continue
        expected = lane_mark_mac(mark, keys)
        if expected is None:
            continue
        if expected != mark.mac:
            why = f"lane {lane}'s verify mark does not match its MAC (edited?)"
            problems.append(VerifyProblem("", None, why))
            continue
        starts[lane] = LaneLink(lane, mark.pos, mark.instance, mark.seq, None, None, mark.event_key)
    return starts, problems


@dataclass
class StoreCheck:
    """What `verify_store` found: the problems, how many instances it checked, and the marks
    to write (instances and lanes checked since their marks) when the store passed."""

    problems: list[VerifyProblem] = field(default_factory=list)
    checked: int = 0
    marks: list[MarkRecord] = field(default_factory=list)
    lanes: list[LaneMark] = field(default_factory=list)


def verify_store(
    tx: Transaction,
    keys: AuditKeys,
    tally: Tally,
    pinned: Callable[[str, int], CompiledProcess],
    *,
    full: bool = False,
) -> StoreCheck:
    """Every instance's chain and replay, the lanes of the store-wide sequence, and histories
    without an instance row.

    An instance whose mark holds (its MAC, the row as the mark saw it, the definition, no
    event after the mark's) is not read again: only the marks, the rows, which instances have
    events after their marks, two counts and the lanes' places after their marks are. Any
    other instance is checked whole. `pinned(process, version)` loads a definition version;
    `full` ignores the marks and reads every event (docs/audit.md)."""
    run = _Run(tx, keys, tally, pinned)
    run.sort({} if full else tx.verify_marks())
    # most instances to check whole (the first verify, or --full): one pass over every event
    every = full or len(run.whole) * 4 > len(run.rows)
    last = run.every_event() if every else run.changed()
    old = {} if full else tx.lane_marks()
    for lane, link in sorted(last.items()):
        mark = old.get(lane)
        if mark is None or (mark.pos, mark.key) != (link.pos, keys.signing_id):
            new = LaneMark(
                lane, link.pos, link.instance, link.seq, link.key or "", keys.signing_id, ""
            )
            run.check.lanes.append(replace(new, mac=keys.seal(_lane_text(new))))
    return run.check


class _Run:
    """One whole-store check: the instances sorted into unchanged since their marks (counted
    from the marks) and to check whole."""

    def __init__(
        self,
        tx: Transaction,
        keys: AuditKeys,
        tally: Tally,
        pinned: Callable[[str, int], CompiledProcess],
    ) -> None:
        self.tx, self.keys, self.tally, self.pinned = tx, keys, tally, pinned
        self.check = StoreCheck()
        self.rows: dict[str, StoredInstance] = {}
        self.definitions: dict[tuple[str, int], CompiledProcess | FulfilError] = {}
        self.whole: dict[str, str | None] = {}  # instance -> its row digest (None: no definition)
        self.accounted = 0  # events counted: of the instances unchanged, and of those read

    def definition(self, row: StoredInstance) -> CompiledProcess | FulfilError:
        key = (row.process, row.version)
        cp = self.definitions.get(key)
        if cp is None:
            try:
                cp = self.pinned(row.process, row.version)
            except FulfilError as exc:
                cp = exc
            self.definitions[key] = cp
        return cp

    def sort(self, marks: dict[str, MarkRecord]) -> None:
        """Read every row; count the instances whose mark holds, keep the others to check."""
        behind = set(self.tx.marks_behind()) if marks else set()
        unchanged: Counter[str] = Counter()  # seals text -> instances
        for row in _rows(self.tx):
            self.rows[row.id] = row
            mark = marks.get(row.id)
            trusted, found = _trusted(mark, self.keys)
            self.check.problems += found
            cp = self.definition(row)
            digest = None
            if not isinstance(cp, FulfilError):
                digest = _row_digest(row, cp.process.source_hash)
            if (
                trusted
                and mark is not None
                and (mark.seq, mark.head, mark.digest) == (row.seq, row.head, digest)
                and row.id not in behind
            ):
                unchanged[mark.seals] += 1
                self.accounted += mark.seq
            else:
                self.whole[row.id] = digest
        _tally_seals(unchanged, self.keys, self.tally)
        self.check.checked = len(self.rows)

    def one(self, instance: str, events: list[StoredEvent]) -> None:
        """Check one instance whole."""
        row = self.rows[instance]
        found, mark = _check_whole(
            row,
            events,
            self.keys,
            self.tally,
            self.definition(row),
            self.whole[instance],
            self.pinned,
        )
        self.check.problems += found
        if mark is not None:
            self.check.marks.append(mark)

    def every_event(self) -> dict[int, LaneLink]:
        """Read every event and every place: histories without a row are found as read."""
        seen: set[str] = set()
        for events in _histories(self.tx):
            instance = events[0].instance
            seen.add(instance)
            if instance not in self.rows:
                self.check.problems.append(_orphan(instance, events))
            elif instance in self.whole:
                self.one(instance, events)
        for instance in self.whole.keys() - seen:
            self.one(instance, [])
        lost, _, last = walk_lanes(self.tx)
        self.check.problems += lost
        return last

    def changed(self) -> dict[int, LaneLink]:
        """Read the histories of the instances to check whole and the places after the lane
        marks. Two counts stand for the rest: the events (against those the marks and the
        histories read account for) and the placed ones (against the lanes' rows); where one
        differs, the lanes are read whole, and histories without a row looked for."""
        tx = self.tx
        for instance in self.whole:
            events = tx.stored_history(instance)
            self.accounted += len(events)
            self.one(instance, events)
        total, placed = tx.event_counts()
        starts, found = _lane_starts(tx, self.keys)
        self.check.problems += found
        heads = tx.lanes()
        if placed != sum(lane.pos for lane in heads) or set(starts) != {h.lane for h in heads}:
            starts = {}  # a place missing or added before a mark, or a lane unmarked: read all
        lost, _, last = walk_lanes(tx, starts)
        self.check.problems += lost
        if total != self.accounted:
            self.check.problems += _unaccounted(tx, total, self.accounted)
        return last


def _orphan(instance: str, events: Sequence[StoredEvent]) -> VerifyProblem:
    return VerifyProblem(
        instance,
        events[0].seq,
        f"instance row deleted: {len(events)} history event(s) remain without it",
    )


def _unaccounted(tx: Transaction, total: int, accounted: int) -> list[VerifyProblem]:
    """The store holds another number of events than the instances checked account for:
    histories without a row, or events added or deleted below a mark."""
    found = orphans(tx)
    if found:
        return found
    return [
        VerifyProblem(
            "",
            None,
            f"the store holds {total} history event(s), its instances account for "
            f"{accounted}: events were deleted or added before a verify mark; run verify "
            "--full to find them",
        )
    ]


def _check_whole(
    row: StoredInstance,
    events: list[StoredEvent],
    keys: AuditKeys,
    tally: Tally,
    cp: CompiledProcess | FulfilError,
    digest: str | None,
    pinned: Callable[[str, int], CompiledProcess],
) -> tuple[list[VerifyProblem], MarkRecord | None]:
    """One instance as stored, every seal and link checked and its history replayed; the
    mark to write when it passed (none for a history that crossed versions: it replays
    against several, and is always checked whole)."""
    record = _decoded(row)
    problems = _chain(record, events, keys, tally, _stored_tags(events, keys))
    if isinstance(cp, FulfilError):
        return [*problems, VerifyProblem(row.id, None, f"cannot load its definition: {cp}")], None
    if not events:
        return problems + verify_instance(
            record, [], lambda: cp, keys, tally, partial(pinned, row.process)
        ), None
    problems += _replay(record, _replayed(events), cp, partial(pinned, row.process))
    if problems or digest is None or any(e.kind == "migration" for e in events):
        return problems, None
    last = events[-1]
    new = MarkRecord(row.id, last.seq, last.hash, digest, keys.signing_id, "", _seals(events))
    return [], replace(new, mac=keys.seal(_mark_text(new)))
