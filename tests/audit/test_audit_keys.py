"""Audit keys: where they come from, rotation, and a missing or wrong key said plainly."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import tampering
from audit_support import CLIENT, KEYS, OPS, T0, engine
from fulfil.engine.audit import UNKEYED, AuditKeys, keys_from
from fulfil.engine.clock import ManualClock
from fulfil.engine.errors import UsageError
from fulfil.engine.store import Store

SECRET = "0123456789abcdef0123"


def test_env_pairs_put_the_sealing_key_first() -> None:
    """`ID:SECRET,ID:SECRET`: the first seals, all verify; a bare secret is `default`."""
    keys = keys_from(f"k2:{SECRET}x, k1:{SECRET}", None)
    assert keys.ids == ("k2", "k1") and keys.signing_id == "k2"
    assert keys.secret("k1") == SECRET.encode()
    assert keys_from(SECRET, None).ids == ("default",)
    assert keys_from(None, None) is UNKEYED and keys_from("  ", None) is UNKEYED


def test_key_file_lines_and_comments(tmp_path: Path) -> None:
    """A key file holds `ID SECRET` lines; `#` comments and blank lines are skipped."""
    path = tmp_path / "keys"
    path.write_text(f"# rotated 2026-03\nk2 {SECRET}2\n\nk1 {SECRET}1  # old\n")
    assert keys_from(None, path).ids == ("k2", "k1")


@pytest.mark.parametrize(
    ("env", "text", "message"),
    [
        ("k1:short", None, "has 5 characters; use at least 16"),
        (f"bad id:{SECRET}", None, "the key id 'bad id' may use letters"),
        (f"k1:{SECRET},k1:{SECRET}x", None, "the audit key id 'k1' is given twice"),
        (None, f"k1 {SECRET} extra\n", "keys:1: write one key per line as `ID SECRET`"),
        (None, "# nothing\n", "holds no key"),
        (f"k1:{SECRET}", f"k2 {SECRET}\n", "given twice (FULFIL_AUDIT_KEY and --audit-key-file)"),
    ],
)
def test_malformed_keys_are_refused_with_what_to_write(
    tmp_path: Path, env: str | None, text: str | None, message: str
) -> None:
    """Short secrets, bad ids, repeated ids, bad lines and two sources are usage errors."""
    path = None
    if text is not None:
        path = tmp_path / "keys"
        path.write_text(text)
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        keys_from(env, path)


def test_a_missing_key_file_is_a_usage_error(tmp_path: Path) -> None:
    """An unreadable key file says which file and what it should hold."""
    with pytest.raises(UsageError, match=r"cannot read the audit key file .*nope"):
        keys_from(None, tmp_path / "nope")


def test_rotation_old_events_verify_with_the_old_key_id(store: Store) -> None:
    """After a rotation (k2 first, k1 kept) new events carry k2, old ones k1, all verify;
    without k1 the old events are reported as sealed with a key not given."""
    clock = ManualClock(T0)
    first = engine(store, KEYS, clock).start("access", CLIENT, **OPS).id
    rotated = AuditKeys((("k2", b"the next audit key, rotated in"), *KEYS.keys))
    clock.advance(timedelta(minutes=1))
    engine(store, rotated, clock).fire(first, "begin", **OPS)
    assert [e.key for e in tampering.events(store, first)] == ["k1", "k2"]
    report = engine(store, rotated, clock).verify()
    assert report.ok and report.keys == ("k2", "k1")
    only_new = AuditKeys(rotated.keys[:1])
    found = [str(p) for p in engine(store, only_new, clock).verify().problems]
    assert found == [
        "1 event(s) are sealed with the audit key(s) 'k1', not given: give every key "
        "(FULFIL_AUDIT_KEY or --audit-key-file) to check them"
    ]


def test_writing_without_the_key_to_a_keyed_store_is_refused(store: Store) -> None:
    """A step without keys on a keyed history is refused before anything is written."""
    first = engine(store).start("access", CLIENT, **OPS).id
    with pytest.raises(UsageError, match="sealed with the audit key 'k1'; give the audit keys"):
        engine(store, UNKEYED).fire(first, "begin", **OPS)
    assert len(tampering.events(store, first)) == 1
    assert engine(store).verify().ok


def test_a_wrong_key_is_refused_for_writing_and_named_by_verify(store: Store) -> None:
    """The same key id with another secret: writes refused, verify says the key is wrong."""
    eng = engine(store)
    first = eng.start("access", CLIENT, **OPS).id
    eng.fire(first, "begin", **OPS)
    wrong = AuditKeys((("k1", b"not the audit key at all"),))
    with pytest.raises(UsageError, match="the audit key 'k1' given is not the key 'k1'"):
        engine(store, wrong).fire(first, "log_call", {"outcome": "no_answer"}, **OPS)
    found = [str(p) for p in engine(store, wrong).verify().problems]
    assert found == [
        "the audit key 'k1' given matches none of the 2 event(s) sealed with 'k1': it is the "
        "wrong key"
    ]
