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
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from json.encoder import encode_basestring
from typing import Any, Protocol, cast

from ..audit.keys import AuditKeys
from ..errors import FulfilError
from ..store.base import EventRecord, InstanceRecord, MarkRecord, StoredEvent, Transaction
from ..store.jsontext import compact_encoder
from .compiled import CANCELLED, CompiledProcess
from .history import EVENT_PREFIX, STORED_PREFIX, canonical, expected_tag, stored_text
from .views import VerifyProblem

__all__ = ["MARK_PREFIX", "Tally", "mark_mac", "verify_instance", "verify_store"]

MARK_PREFIX = b"fulfil.mark.1\n"
"""What the MAC of a verify mark covers before its canonical text."""

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
    record: InstanceRecord,
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
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            problems.append(VerifyProblem(where, event.seq, f"expected event {expected_seq}"))
        if event.prev_hash != previous:
            problems.append(
                VerifyProblem(where, event.seq, "does not chain to the event before it")
            )
        _seal(event, tags[expected_seq - 1], tally)
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
    problems += _head(record, events)
    return problems


def _head(record: InstanceRecord, events: Sequence[_Event]) -> list[VerifyProblem]:
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
    record: InstanceRecord,
    events: list[EventRecord],
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


def _step(
    record: InstanceRecord, event: EventRecord, state: str, cp: CompiledProcess
) -> list[VerifyProblem]:
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


def _spent(
    record: InstanceRecord, event: EventRecord, state: str, cp: CompiledProcess
) -> list[VerifyProblem]:
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


def _compare(record: InstanceRecord, state: str, data: dict[str, Any]) -> list[VerifyProblem]:
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
    record: InstanceRecord,
    events: list[EventRecord],
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
    record: InstanceRecord, event: EventRecord, state: str, cp: CompiledProcess
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
    record: InstanceRecord,
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


def _digest(record: InstanceRecord, events: Sequence[StoredEvent], cp: CompiledProcess) -> str:
    """What a check of an instance reads: every stored event as it is (each column, typed),
    the instance row the replay ends on, and the definition it replays against."""
    row = {
        "process": record.process,
        "version": record.version,
        "state": record.state,
        "data": record.data,
        "seq": record.seq,
        "head": record.head,
        "definition": cp.process.source_hash,
    }
    digest = hashlib.sha256(_dumps(row).encode())
    # a tuple's repr quotes and escapes its texts: different rows give different lines
    digest.update("\n".join(map(tuple.__repr__, events)).encode())
    return digest.hexdigest()


def _tally_unchanged(events: Sequence[StoredEvent], keys: AuditKeys, tally: Tally) -> None:
    """Count the seals of an instance unchanged since its mark, as `_seal` counts them."""
    for event in events:
        key = _count(event.key, event.lane, tally)
        if event.lane is not None and key and keys.secret(key) is None:
            tally.unknown[key] += 1


def _mark_text(mark: MarkRecord) -> bytes:
    fields = {
        "instance": mark.instance,
        "seq": mark.seq,
        "head": mark.head,
        "digest": mark.digest,
        "key": mark.key,
    }
    return MARK_PREFIX + _dumps(fields).encode()


def mark_mac(mark: MarkRecord, keys: AuditKeys) -> str | None:
    """The MAC a verify mark should carry (None: sealed with a key not given)."""
    return keys.tag_with(mark.key, _mark_text(mark))


def _trusted(mark: MarkRecord | None, keys: AuditKeys) -> tuple[bool, list[VerifyProblem]]:
    """Whether the mark may be relied on, and what is wrong with it. With keys given only a
    mark sealed with one of them counts: an unkeyed one anyone could have written."""
    if mark is None or (keys.keyed and not mark.key):
        return False, []
    expected = mark_mac(mark, keys)
    if expected is None:
        return False, []
    if expected != mark.mac:
        why = "its verify mark does not match its MAC (edited?)"
        return False, [VerifyProblem(mark.instance, mark.seq, why)]
    return True, []


def verify_store(
    tx: Transaction,
    keys: AuditKeys,
    tally: Tally,
    pinned: Callable[[str, int], CompiledProcess],
    *,
    full: bool = False,
) -> tuple[list[VerifyProblem], int, list[MarkRecord]]:
    """Every instance's chain and replay, and histories without an instance row: the problems,
    how many instances were checked, and the marks to write for the instances that passed.

    `pinned(process, version)` loads a definition version; `full` ignores the marks."""
    marks = {} if full else tx.verify_marks()
    problems: list[VerifyProblem] = []
    fresh: list[MarkRecord] = []
    seen: set[str] = set()
    for events in _histories(tx):
        instance = events[0].instance
        record = tx.get_instance(instance)
        if record is None:
            problems.append(
                VerifyProblem(
                    instance,
                    events[0].seq,
                    f"instance row deleted: {len(events)} history event(s) remain without it",
                )
            )
            continue
        seen.add(instance)
        found, mark = _verify_stored(record, events, keys, tally, pinned, marks.get(instance))
        problems += found
        if mark is not None:
            fresh.append(mark)
    checked = len(seen)
    for instance in tx.instance_ids():
        if instance in seen:
            continue
        record = tx.get_instance(instance)
        if record is not None:
            checked += 1
            problems += verify_instance(
                record,
                [],
                partial(pinned, record.process, record.version),
                keys,
                tally,
                partial(pinned, record.process),
            )
    return problems, checked, fresh


def _verify_stored(
    record: InstanceRecord,
    events: list[StoredEvent],
    keys: AuditKeys,
    tally: Tally,
    pinned: Callable[[str, int], CompiledProcess],
    mark: MarkRecord | None,
) -> tuple[list[VerifyProblem], MarkRecord | None]:
    """One instance as stored, and the mark to write when it passed (None: the one stored
    holds). An instance whose mark holds (its digest: the same stored events, row and
    definition as the check that wrote it) gives what that check gave: nothing; otherwise
    every seal and link is checked and the history replayed."""
    trusted, problems = _trusted(mark, keys)
    try:
        cp = pinned(record.process, record.version)
    except FulfilError as exc:
        failed = VerifyProblem(record.id, None, f"cannot load its definition: {exc}")
        chain = _chain(record, events, keys, tally, _stored_tags(events, keys))
        return [*problems, *chain, failed], None
    last = events[-1]
    # a history that crossed versions replays against several: it is always checked whole
    crossed = any(e.kind == "migration" for e in events)
    digest = _digest(record, events, cp)
    if (
        trusted
        and mark is not None
        and not crossed
        and (mark.seq, mark.head, mark.digest) == (last.seq, last.hash, digest)
    ):
        _tally_unchanged(events, keys, tally)
        return problems, None
    problems += _chain(record, events, keys, tally, _stored_tags(events, keys))
    problems += _replay(
        record, [e.record() for e in events], cp, lambda n: pinned(record.process, n)
    )
    if problems or crossed:
        return problems, None
    new = MarkRecord(record.id, last.seq, last.hash, digest, keys.signing_id, "")
    return [], replace(new, mac=keys.seal(_mark_text(new)))
