"""The hot-path JSON encoder writes exactly what json.dumps writes (history hashes rely on it)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from fulfil.engine.store.jsontext import compact_encoder
from hypothesis import given
from hypothesis import strategies as st

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_sorted_encoder_matches_json_dumps(value: Any) -> None:
    """Sorted keys, compact separators, non-ASCII kept: the canonical history text."""
    expected = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    assert compact_encoder(sort_keys=True, default=str)(value) == expected


@given(JSON)
def test_plain_encoder_matches_json_dumps(value: Any) -> None:
    """Insertion order, compact separators: what the SQL stores write."""
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert compact_encoder()(value) == expected


def test_default_applies_and_its_absence_refuses() -> None:
    """`default` turns other values into JSON; without it they raise TypeError as json does."""
    assert compact_encoder(default=str)({"d": date(2026, 3, 2)}) == '{"d":"2026-03-02"}'
    with pytest.raises(TypeError, match="date is not JSON serializable"):
        compact_encoder()({"d": date(2026, 3, 2)})
