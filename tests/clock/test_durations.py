"""Durations: the short forms process authors write and ISO-8601."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fulfil.engine.clock.durations import DURATION_PATTERN, format_duration, parse_duration
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("30s", timedelta(seconds=30)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("P1W", timedelta(weeks=1)),
        ("PT24H", timedelta(hours=24)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("PT90M", timedelta(minutes=90)),
        ("P2D", timedelta(days=2)),
    ],
)
def test_parse_accepts_short_and_iso_forms(text: str, expected: timedelta) -> None:
    """Each accepted spelling gives the duration it says."""
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "7 days", "1.5h", "P", "PT", "P1DT", "h7", "-1d", "7D"])
def test_parse_refuses_other_text(text: str) -> None:
    """Anything else is a ValueError that says what to write."""
    with pytest.raises(ValueError, match="write a number and a unit"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["P1M", "P1Y", "P1Y2D"])
def test_parse_refuses_months_and_years(text: str) -> None:
    """Months and years have no fixed length, and the message says so."""
    with pytest.raises(ValueError, match="no fixed length"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(days=14), "14d"),
        (timedelta(days=7), "7d"),
        (timedelta(days=10), "10d"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(hours=36), "1d12h"),
        (timedelta(seconds=5), "5s"),
        (timedelta(0), "0m"),
        (timedelta(minutes=-90), "-1h30m"),
    ],
)
def test_format_writes_what_a_definition_writes(value: timedelta, text: str) -> None:
    """Largest unit first, days the largest (a week is `7d`: `1w` in business time reads like
    five working days); a past due time in a template keeps its sign."""
    assert format_duration(value) == text


@given(st.integers(min_value=0, max_value=10**8))
def test_format_then_parse_round_trips(seconds: int) -> None:
    """Any whole number of seconds survives format -> parse unchanged."""
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value


@given(st.text(alphabet="0123456789PTWDHMSYwdhms ", max_size=8))
def test_schema_pattern_agrees_with_parser(text: str) -> None:
    """The JSON Schema's pattern accepts exactly what the parser accepts."""
    try:
        parse_duration(text)
        parsed = text == text.strip()
    except ValueError:
        parsed = False
    assert bool(re.fullmatch(DURATION_PATTERN, text)) == parsed
