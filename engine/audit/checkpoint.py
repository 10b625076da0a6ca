"""Checkpoints: a signed record of a store's history heads, kept by an auditor elsewhere.

A checkpoint holds every instance's event count and last tag, every lane's last position and
the event there, signed with the audit key (HMAC-SHA256 over its canonical JSON, as history
events are). Compared with the store later it shows what no check of the store alone can: an
instance deleted with all its events, a history cut at its end with the instance row rolled
back to match, and the end of a lane cut with its row. The file format is in docs/audit.md.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import UsageError
from ..store.base import Store, to_iso
from ..store.jsontext import compact_encoder
from .keys import AuditKeys
from .problems import VerifyProblem

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_PREFIX", "compare", "export", "read", "signature"]

CHECKPOINT_FORMAT = "fulfil-audit-checkpoint/1"
CHECKPOINT_PREFIX = b"fulfil.checkpoint.1\n"

_dumps = compact_encoder(sort_keys=True)


def _public_url(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    user, host = parts.netloc.rsplit("@", 1)
    netloc = f"{user.split(':', 1)[0]}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def signature(body: dict[str, Any], keys: AuditKeys, key_id: str) -> str | None:
    """The tag of a checkpoint body (every member but `mac`) under `key_id` ("" : SHA-256)."""
    unsigned = {k: v for k, v in body.items() if k != "mac"}
    return keys.tag_with(key_id, CHECKPOINT_PREFIX + _dumps(unsigned).encode())


def export(store: Store, keys: AuditKeys, now: datetime) -> dict[str, Any]:
    """The checkpoint of `store` now, signed with the first of `keys` (unsigned without)."""
    instances: dict[str, dict[str, Any]] = {}
    events = 0
    with store.transaction(write=False) as tx:
        for instance in list(tx.instance_ids()):
            record = tx.get_instance(instance)
            if record is not None:
                instances[instance] = {"seq": record.seq, "head": record.head}
                events += record.seq
        lanes = [
            {"lane": lane.lane, "pos": lane.pos, "instance": lane.instance, "seq": lane.seq}
            for lane in tx.lanes()
        ]
    body: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "created_at": to_iso(now),
        "store": _public_url(store.url),
        "events": events,
        "lanes": lanes,
        "instances": instances,
        "key": keys.signing_id,
    }
    body["mac"] = signature(body, keys, keys.signing_id)
    return body


def read(text: str, name: str) -> dict[str, Any]:
    """A checkpoint file's content, its shape checked.

    Raises:
        UsageError: not JSON, or not a checkpoint (the message says which member is wrong).
    """
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{name} is not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(body, dict) or body.get("format") != CHECKPOINT_FORMAT:
        raise UsageError(
            f'{name} is not a fulfil checkpoint (no "format": "{CHECKPOINT_FORMAT}"); '
            "write one with `fulfil verify --export-checkpoint FILE`"
        )
    shapes = {"instances": dict, "lanes": list, "key": str, "mac": str, "events": int}
    for member, kind in shapes.items():
        if not isinstance(body.get(member), kind):
            raise UsageError(f"{name}: the checkpoint member '{member}' is missing or malformed")
    return body


def _seal_problems(body: dict[str, Any], keys: AuditKeys, name: str) -> list[VerifyProblem]:
    key_id = body["key"]
    expected = signature(body, keys, key_id)
    if expected is None:
        raise UsageError(
            f"{name} is signed with the audit key '{key_id}', not given: give it "
            "(FULFIL_AUDIT_KEY or --audit-key-file) to check the store against it"
        )
    if expected != body["mac"]:
        under = f"under the key '{key_id}'" if key_id else "(unsigned: its SHA-256)"
        return [
            VerifyProblem(
                "",
                None,
                f"{name} does not match its signature {under}: the checkpoint was edited, or "
                "the key is not the one it was signed with; nothing compared",
            )
        ]
    return []


def compare(store: Store, keys: AuditKeys, body: dict[str, Any], name: str) -> list[VerifyProblem]:
    """What the store lost or changed since the checkpoint `body` (read from `name`).

    Raises:
        UsageError: the checkpoint is signed with a key not among `keys`.
    """
    problems = _seal_problems(body, keys, name)
    if problems:
        return problems
    with store.transaction(write=False) as tx:
        for instance, head in sorted(body["instances"].items()):
            seq, tag = int(head["seq"]), str(head["head"])
            record = tx.get_instance(instance)
            events = tx.events(instance)
            if record is None and not events:
                problems.append(
                    VerifyProblem(
                        instance, 1, f"instance deleted since the checkpoint (it had {seq} events)"
                    )
                )
            elif len(events) < seq:
                problems.append(
                    VerifyProblem(
                        instance,
                        len(events) + 1,
                        f"history cut since the checkpoint: it had {seq} events, "
                        f"{len(events)} remain",
                    )
                )
            elif events[seq - 1].hash != tag:
                problems.append(
                    VerifyProblem(
                        instance,
                        seq,
                        "differs from the checkpoint's last event of this instance: its history "
                        f"up to event {seq} was rewritten",
                    )
                )
        lanes = {lane.lane: lane for lane in tx.lanes()}
        for kept in body["lanes"]:
            now = lanes.get(int(kept["lane"]))
            if int(kept["pos"]) and (now is None or now.pos < int(kept["pos"])):
                problems.append(
                    VerifyProblem(
                        str(kept["instance"]),
                        int(kept["seq"]),
                        f"lane {kept['lane']} ends before position {kept['pos']}, where the "
                        "checkpoint has this event: the end of the store's history was cut",
                    )
                )
    return problems
