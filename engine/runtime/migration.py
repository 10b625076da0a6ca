"""Moving running instances to another version of their process (`fulfil migrate`).

An instance stays on the version it started on until it is migrated. For each open instance
of the process on another version, the plan says whether it can move and why not:

    its state exists in the target version, or `--map OLD=NEW` names one that does
    its data validates against the target's fields (types, enum values, required fields set,
        no value in a field the target no longer has)
    each of its pending timers still exists in the target state (by name), when it stays in
        a state of the same name; a mapped instance gets the new state's timers as on entry

Running the plan moves each instance that can, each in its own transaction, with a
`migration` history event (`detail`: from, to, reason, map, changes); `fulfil verify`
replays the history against each version in turn. The others stay pinned, with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..errors import FulfilError, UsageError, did_you_mean
from ..model import Process
from ..store.base import DefinitionRecord, InstanceRecord, Transaction
from .compiled import CANCELLED, CompiledProcess
from .definitions import Definitions, _source_text
from .executor import Executor, check_not_before
from .history import HistoryChain
from .step import builtins

__all__ = ["MigrationItem", "check_map", "migrate_instance", "plan_instance"]


@dataclass(frozen=True)
class MigrationItem:
    """One instance in a migration: whether it can move (or moved), why not, what changes."""

    instance: str
    can_move: bool
    reason: str
    changes: dict[str, Any]
    moved: bool = False

    def to_json(self) -> dict[str, Any]:
        out = {
            "instance": self.instance,
            "can_move": self.can_move,
            "reason": self.reason or None,
            "changes": self.changes,
        }
        return out | {"moved": self.moved}


def check_map(
    mapping: Mapping[str, str], sources: list[Process], target: Process
) -> dict[str, str]:
    """The `--map OLD=NEW` pairs, checked: OLD a state of a version migrated from, NEW a
    state of the target.

    Raises:
        UsageError: a state neither names (with a did-you-mean), nothing changed.
    """
    old_names = {s.name for p in sources for s in p.states}
    new_names = [s.name for s in target.states]
    for old, new in mapping.items():
        if old not in old_names:
            hint = did_you_mean(old, old_names)
            raise UsageError(
                f"--map {old}={new}: no version being migrated has a state '{old}'"
                + (f" ({hint})" if hint else "")
            )
        if new not in new_names:
            hint = did_you_mean(new, new_names)
            raise UsageError(
                f"--map {old}={new}: version {target.version} of {target.id} has no state "
                f"'{new}'" + (f" ({hint})" if hint else "")
            )
    return dict(mapping)


def plan_instance(
    tx: Transaction,
    record: InstanceRecord,
    old: CompiledProcess,
    new: CompiledProcess,
    mapping: Mapping[str, str],
) -> tuple[MigrationItem, str, dict[str, Any]]:
    """Whether `record` can move to `new`: the item, the target state, the new stored data."""
    target = mapping.get(record.state, record.state)
    changes: dict[str, Any] = {"version": [record.version, new.process.version]}
    if target != record.state:
        changes["state"] = [record.state, target]
    if new.process.find_state(target) is None:
        return (
            MigrationItem(
                record.id,
                False,
                f"state '{record.state}' is not in version {new.process.version}; map it "
                f"with --map {record.state}=STATE",
                changes,
            ),
            target,
            {},
        )
    values = old.codec.decode(record.data)
    kept = {k: v for k, v in values.items() if v is not None}
    gone = sorted(k for k in kept if new.process.find_field(k) is None)
    if gone:
        return (
            MigrationItem(
                record.id,
                False,
                f"field(s) {', '.join(gone)} have values and version "
                f"{new.process.version} has no such field",
                changes,
            ),
            target,
            {},
        )
    try:
        typed = new.codec.check({k: old.codec.encode_value(v) for k, v in kept.items()})
        stored = new.codec.encode(new.codec.initial(typed))
    except FulfilError as exc:
        return (
            MigrationItem(record.id, False, f"its data does not fit: {exc}", changes),
            target,
            {},
        )
    data_changes = {
        k: [record.data.get(k), v] for k, v in stored.items() if record.data.get(k) != v
    }
    if data_changes:
        changes["data"] = data_changes
    if target == record.state:
        names = {t.timer.name for t in new.timers.get(target, ())}
        for timer in tx.timers(record.id):
            if timer.name not in names:
                return (
                    MigrationItem(
                        record.id,
                        False,
                        f"its pending timer '{timer.name}' is not in state '{target}' of "
                        f"version {new.process.version}",
                        changes,
                    ),
                    target,
                    {},
                )
    return MigrationItem(record.id, True, "", changes), target, stored


def store_definition(tx: Transaction, process: Process) -> None:
    """Keep the target version's text in the store, as a start on it would."""
    if tx.get_definition(process.id, process.version) is None:
        tx.put_definition(
            DefinitionRecord(
                process.id, process.version, process.source_hash, _source_text(process)
            )
        )


def migrate_instance(
    tx: Transaction,
    executor: Executor,
    definitions: Definitions,
    instance_id: str,
    new: CompiledProcess,
    mapping: Mapping[str, str],
    *,
    actor: str,
    role: str | None,
    reason: str,
    now: datetime,
    dry_run: bool,
) -> MigrationItem:
    """Plan, and unless `dry_run` apply, the migration of one instance in `tx`."""
    record, old = executor.load(tx, instance_id)
    item, target, stored = plan_instance(tx, record, old, new, mapping)
    if dry_run or not item.can_move:
        return item
    check_not_before(record, now)
    store_definition(tx, new.process)
    detail: dict[str, Any] = {
        "from": record.version,
        "to": new.process.version,
        "reason": reason,
        "changes": item.changes,
    }
    if mapping:
        detail["map"] = dict(mapping)
    if target != record.state:
        pending = tx.timers(record.id)
        for state in sorted({t.state for t in pending}):
            tx.cancel_timers(record.id, state)
        if record.state in old.batches:
            tx.leave_batch(record.id, record.state)
        variables = new.codec.decode(stored)
        variables.update(builtins(target, now, actor, role))
        armed = executor.arming.enter(tx, new, record.id, target, variables, now)
        if armed:
            detail["timers"] = armed
    change = {k: v for k, v in stored.items() if record.data.get(k) != v}
    chain = HistoryChain(tx, record, executor.keys)
    chain.add(
        "migration",
        at=now,
        actor=actor,
        role=role,
        trigger="migrate",
        source=record.state,
        dest=target,
        data=change,
        detail=detail,
    )
    chain.save(record, version=new.process.version, state=target, data=stored, updated_at=now)
    return replace(item, moved=True)


def is_open(cp: CompiledProcess, record: InstanceRecord) -> bool:
    return record.state not in cp.terminal and record.state != CANCELLED
