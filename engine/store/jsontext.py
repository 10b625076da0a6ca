"""Compact JSON text for the hot path: history seals and stored rows, on every step.

The text is defined by the public API: `json.JSONEncoder(separators=(",", ":"),
ensure_ascii=False, sort_keys=..., default=..., check_circular=False).encode`, which is exactly
`json.dumps` with those arguments. That encoder builds a new C encoder on each call, which costs
more than encoding the few small values of a step, so `compact_encoder` prefers a C encoder
built once with CPython's `json.encoder.c_make_encoder`. That function is private: it is used
only when present, callable with the arguments below, and giving the public encoder's text on
every probe value (`_PROBES`), checked when the encoder is built; otherwise the public encoder
is used. Either way the text is the same, which the history's MACs rely on (docs/audit.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

__all__ = ["c_encoder", "choose", "compact_encoder", "public_encoder"]

# Values covering what history events hold: nesting, key order, non-ASCII text, escapes,
# integers, floats, booleans, null, and a value only `default` can write (a date).
_PROBES: tuple[Any, ...] = (
    {"b": 1, "a": [1.5, -0.0, 1e300, True, False, None], "é": 'naïve \u2028 "q" \\ \n\t\x00'},
    {"z": {"y": {"x": []}}, "m": {}, "n": "", "emoji": "\U0001f600", "big": 2**70},
    [{"when": "2026-03-02T09:00:00.000000+00:00"}, 0, -7, 3.0, "ops_specialist"],
    {"2": "two", "10": "ten", "A": "upper", "a": "lower", "_": "under"},
    {"d": date(2026, 3, 2)},
)


def public_encoder(
    *, sort_keys: bool = False, default: Callable[[Any], Any] | None = None
) -> Callable[[Any], str]:
    """The compact JSON encoder of the public API: the reference text."""
    return json.JSONEncoder(
        separators=(",", ":"),
        ensure_ascii=False,
        sort_keys=sort_keys,
        default=default,
        check_circular=False,
    ).encode


def compact_encoder(
    *, sort_keys: bool = False, default: Callable[[Any], Any] | None = None
) -> Callable[[Any], str]:
    """A function giving the compact JSON text of a value (the public encoder's text)."""
    reference = public_encoder(sort_keys=sort_keys, default=default)
    factory = getattr(json.encoder, "c_make_encoder", None)
    return choose(c_encoder(factory, sort_keys=sort_keys, default=default), reference)


def choose(
    fast: Callable[[Any], str] | None, reference: Callable[[Any], str]
) -> Callable[[Any], str]:
    """`fast` when it writes what `reference` writes (or fails as it does) on every probe."""
    if fast is None:
        return reference
    for probe in _PROBES:
        try:
            expected: str | type[BaseException] = reference(probe)
        except (TypeError, ValueError) as exc:
            expected = type(exc)
        try:
            got: str | type[BaseException] = fast(probe)
        except (TypeError, ValueError) as exc:
            got = type(exc)
        except Exception:
            return reference
        if got != expected:
            return reference
    return fast


def c_encoder(
    c_make_encoder: Any, *, sort_keys: bool, default: Callable[[Any], Any] | None
) -> Callable[[Any], str] | None:
    """An encoder over CPython's private `c_make_encoder`, built once; None when unavailable."""
    if c_make_encoder is None:
        return None
    try:
        make = c_make_encoder(
            None,  # markers: no circular check
            default if default is not None else _unsupported,
            json.encoder.encode_basestring,
            None,  # indent
            ":",
            ",",
            sort_keys,
            False,  # skipkeys
            True,  # allow_nan, as json.dumps
        )
    except TypeError:  # another signature: not the function this was written against
        return None

    def encode(value: Any) -> str:
        return "".join(make(value, 0))

    return encode


def _unsupported(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
