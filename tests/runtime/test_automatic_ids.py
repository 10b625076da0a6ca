"""Automatic instance ids never collide with ids given by hand."""

from __future__ import annotations

from fulfil.engine.runtime import Engine
from runtime_support import CLIENT


def test_automatic_ids_skip_an_id_given_by_hand(engine: Engine) -> None:
    """`start --id access-2` takes that number: the automatic ids go around it, for good."""
    assert engine.start("access", CLIENT, id="access-2").id == "access-2"
    made = [engine.start("access", CLIENT).id for _ in range(3)]
    assert made == ["access-1", "access-3", "access-4"]


def test_a_run_of_hand_given_ids_is_skipped_whole(engine: Engine) -> None:
    """Several taken numbers in a row are all skipped in one start."""
    for number in (1, 2, 3):
        engine.start("access", CLIENT, id=f"access-{number}")
    assert engine.start("access", CLIENT).id == "access-4"
    assert engine.start("access", CLIENT).id == "access-5"
