"""Checkpoints: exported signed, compared later, they catch what the store alone cannot."""

from __future__ import annotations

import json

import pytest
import tampering
from audit_support import CLIENT, KEYS, OPS, T0, engine
from fulfil.engine.audit import UNKEYED, AuditKeys
from fulfil.engine.audit.checkpoint import compare, export, read
from fulfil.engine.errors import UsageError
from fulfil.engine.store import Store


def problems(store: Store, body: dict[str, object], keys: AuditKeys = KEYS) -> list[str]:
    return [str(p) for p in compare(store, keys, body, "cp.json")]


def test_an_untouched_store_matches_its_checkpoint(store: Store) -> None:
    """Export then compare: nothing to report; the file holds heads, lanes and a MAC."""
    eng = engine(store)
    first = eng.start("access", CLIENT, **OPS).id
    eng.fire(first, "begin", **OPS)
    body = export(store, KEYS, T0)
    assert body["instances"] == {first: {"seq": 2, "head": tampering.row(store, first).head}}
    assert body["key"] == "k1" and len(str(body["mac"])) == 64 and body["events"] == 2
    assert read(json.dumps(body), "cp.json") == body
    assert problems(store, body) == []


def test_a_truncated_store_is_caught_against_the_checkpoint(store: Store) -> None:
    """The store's last events cut with the instance row and lane row rolled back: verify
    alone cannot see it, the checkpoint names the instance and the first missing event."""
    eng = engine(store)
    first = eng.start("access", CLIENT, **OPS).id
    second = eng.start("access", CLIENT, **OPS).id
    before = tampering.row(store, second)
    eng.fire(second, "begin", **OPS)
    body = export(store, KEYS, T0)
    tampering.cut_tail(store, second, before)
    tampering.set_lane(store, 0, 2, second, 1, "k1")
    assert eng.verify().ok  # a perfect cut: the store agrees with itself
    assert problems(store, body) == [
        f"{second} event 2: history cut since the checkpoint: it had 2 events, 1 remain",
        f"{second} event 2: lane 0 ends before position 3, where the checkpoint has this "
        "event: the end of the store's history was cut",
    ]
    assert first not in " ".join(problems(store, body))


def test_a_deleted_last_instance_is_caught_against_the_checkpoint(store: Store) -> None:
    """The last instance deleted and the lane rolled back: the checkpoint names it."""
    eng = engine(store)
    first = eng.start("access", CLIENT, **OPS).id
    second = eng.start("access", CLIENT, **OPS).id
    body = export(store, KEYS, T0)
    tampering.delete_instance(store, second)
    tampering.set_lane(store, 0, 1, first, 1, "k1")
    assert eng.verify().ok
    found = problems(store, body)
    assert found[0] == f"{second} event 1: instance deleted since the checkpoint (it had 1 events)"


def test_a_rewritten_history_differs_from_the_checkpoint(store: Store) -> None:
    """A history rewritten up to its last checkpointed event is named at that event."""
    eng = engine(store, UNKEYED)
    first = eng.start("access", CLIENT, **OPS).id
    eng.fire(first, "begin", **OPS)
    body = export(store, UNKEYED, T0)
    assert body["key"] == ""
    tampering.edit_and_rechain(store, first, 1, actor="mallory")
    assert eng.verify().ok  # unkeyed: the store alone cannot tell
    assert problems(store, body, UNKEYED) == [
        f"{first} event 2: differs from the checkpoint's last event of this instance: its "
        "history up to event 2 was rewritten"
    ]


def test_an_edited_checkpoint_fails_its_signature(store: Store) -> None:
    """A checkpoint changed after export (a count lowered) is not trusted: nothing compared."""
    eng = engine(store)
    first = eng.start("access", CLIENT, **OPS).id
    body = export(store, KEYS, T0)
    body["instances"] = {first: {"seq": 0, "head": ""}}
    assert problems(store, body) == [
        "cp.json does not match its signature under the key 'k1': the checkpoint was edited, "
        "or the key is not the one it was signed with; nothing compared"
    ]


def test_a_checkpoint_signed_with_a_key_not_given_is_a_usage_error(store: Store) -> None:
    """Comparing against a signed checkpoint without its key says which key to give."""
    engine(store).start("access", CLIENT, **OPS)
    body = export(store, KEYS, T0)
    with pytest.raises(UsageError, match="signed with the audit key 'k1', not given"):
        compare(store, UNKEYED, body, "cp.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "cp.json is not JSON"),
        ('{"format": "x"}', "is not a fulfil checkpoint"),
        ('{"format": "fulfil-audit-checkpoint/1", "instances": []}', "'instances' is missing"),
    ],
)
def test_a_file_that_is_not_a_checkpoint_is_refused(text: str, message: str) -> None:
    """Reading a file that is not a checkpoint says so."""
    with pytest.raises(UsageError, match=message):
        read(text, "cp.json")
