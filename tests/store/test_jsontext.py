"""The hot-path JSON encoder writes exactly what json.dumps writes (history hashes rely on it)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from fulfil.engine.store.jsontext import c_encoder, choose, compact_encoder, public_encoder
from hypothesis import given
from hypothesis import strategies as st


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    _containers,
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


def test_without_the_private_c_encoder_the_text_is_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no C accelerator (another Python) the public encoder writes the same text."""
    value = {"b": [1, 2.5, None], "a": "naïve \u2028", "d": date(2026, 3, 2)}
    expected = compact_encoder(sort_keys=True, default=str)(value)
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    assert compact_encoder(sort_keys=True, default=str)(value) == expected


def test_the_private_encoder_is_used_only_when_it_agrees() -> None:
    """A fast encoder whose text differs from the public one on a probe is passed over."""
    reference = public_encoder(sort_keys=True, default=str)
    wrong = c_encoder(lambda *args: lambda value, level: ["{}"], sort_keys=True, default=str)
    assert choose(wrong, reference) is reference
    right = c_encoder(json.encoder.c_make_encoder, sort_keys=True, default=str)  # type: ignore[attr-defined]
    assert choose(right, reference) is right


def test_a_private_encoder_with_another_signature_is_not_used() -> None:
    """A `c_make_encoder` that refuses the arguments it was written against gives no encoder."""

    def other(*args: Any) -> Any:
        raise TypeError("takes 3 arguments")

    assert c_encoder(other, sort_keys=False, default=None) is None
