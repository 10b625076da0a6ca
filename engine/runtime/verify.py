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

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..audit.keys import AuditKeys
from ..errors import FulfilError
from ..store.base import EventRecord, InstanceRecord
from .compiled import CANCELLED, CompiledProcess
from .history import expected_tag
from .views import VerifyProblem

__all__ = ["Tally", "verify_instance"]

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


def _seal(event: EventRecord, keys: AuditKeys, tally: Tally) -> str | None:
    """What is wrong with the event's own seal (kept in the tally), or None."""
    tally.events += 1
    if event.lane is None:
        tally.legacy += 1
    elif event.key:
        tally.keyed[event.key] += 1
    else:
        tally.unkeyed += 1
    expected = expected_tag(event, keys)
    if expected is None:
        tally.unknown[event.key] += 1
        return None
    if expected == event.hash:
        return None
    if event.key:
        wrong = f"its content does not match its MAC under key '{event.key}' (edited?)"
    else:
        wrong = "its content does not match its hash (edited?)"
    tally.bad.setdefault(event.key, []).append(VerifyProblem(event.instance, event.seq, wrong))
    return wrong


def _chain(
    record: InstanceRecord, events: list[EventRecord], keys: AuditKeys, tally: Tally
) -> list[VerifyProblem]:
    problems: list[VerifyProblem] = []
    previous = ""
    placed = keyed = False
    where = record.id
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            problems.append(VerifyProblem(where, event.seq, f"expected event {expected_seq}"))
        if event.prev_hash != previous:
            problems.append(
                VerifyProblem(where, event.seq, "does not chain to the event before it")
            )
        _seal(event, keys, tally)
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


def _head(record: InstanceRecord, events: list[EventRecord]) -> list[VerifyProblem]:
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
