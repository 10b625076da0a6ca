"""Durations as process authors write them: `90m`, `24h`, `7d`, `2w`, `1d12h`, or ISO-8601.

ISO-8601 durations (`P1W`, `PT24H`, `P1DT2H`, `PT90M`) are accepted without years and months:
those have no fixed length, and a timer must know exactly when it is due.
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["DURATION_PATTERN", "backoff", "format_duration", "parse_duration"]

BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

# Patterns are compiled on first use (the `re` module keeps them): a command that reads no
# duration compiles none.
_SHORT = r"(?:\d+[wdhms])+"
_SHORT_PART = r"(\d+)([wdhms])"
_ISO = (
    r"P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?"
)

#: The regular expression the JSON Schema uses for a duration (kept in step with `parse_duration`).
DURATION_PATTERN = (
    r"^(?:(?:[0-9]+[wdhms])+"
    r"|P(?=[0-9T])(?:[0-9]+W)?(?:[0-9]+D)?(?:T(?=[0-9])(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+S)?)?)$"
)


def parse_duration(text: str) -> timedelta:
    """Parse a duration written as `90m`, `24h`, `7d`, `2w`, `1d12h` or ISO-8601 `P1DT2H`.

    Args:
        text: the duration as written in the definition.

    Returns:
        The duration.

    Raises:
        ValueError: the text is not a duration; the message says what is accepted.
    """
    value = text.strip()
    if re.fullmatch(_SHORT, value):
        seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in re.findall(_SHORT_PART, value))
        return timedelta(seconds=seconds)
    iso = re.fullmatch(_ISO, value)
    if iso and re.fullmatch(DURATION_PATTERN, value):
        parts = {k: int(v) for k, v in iso.groupdict().items() if v is not None}
        return timedelta(
            weeks=parts.get("w", 0),
            days=parts.get("d", 0),
            hours=parts.get("h", 0),
            minutes=parts.get("m", 0),
            seconds=parts.get("s", 0),
        )
    if re.fullmatch(r"P[0-9YMWDTHS]*", value) and re.match(r"P(?:\d+[YM])", value):
        raise ValueError(
            f"bad duration '{text}': years and months have no fixed length; use days or weeks"
        )
    raise ValueError(
        f"bad duration '{text}': write a number and a unit (90m, 24h, 7d, 2w) "
        "or ISO-8601 (P1W, PT24H, P1DT2H)"
    )


def format_duration(value: timedelta) -> str:
    """A duration as a definition writes it, largest unit first: `14d`, `1h30m`, `1d12h`, `0m`.

    Every duration printed (diagrams, `fulfil check`, templates in messages and sheets) is this
    text, which `parse_duration` reads back to the same value, so it can be pasted into a
    definition or a scenario. Days are the largest unit: a week is written `7d`, never `1w`,
    because in business time `1w` reads like a working week of five days while it counts seven
    working days. A negative duration (a template's `due - now` once past) gets a leading `-`;
    the language itself has no negative durations.
    """
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    out = ""
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, _UNIT_SECONDS[unit])
        if count:
            out += f"{count}{unit}"
    return sign + (out or "0m")


def backoff(attempt: int) -> timedelta:
    """How long to wait before retrying after `attempt` failed attempts: 1m, 2m, 4m ... 1h.

    Raises:
        ValueError: `attempt` is less than 1.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be 1 or more, not {attempt}")
    # Past 2**6 minutes the cap applies anyway; bounding the exponent avoids huge integers.
    return min(BACKOFF_FIRST * (1 << min(attempt - 1, 10)), BACKOFF_CAP)
