"""Compact JSON text for the hot path: history hashes and stored rows, on every step.

`json.dumps` (and `JSONEncoder.encode`) build a new C encoder on each call, which costs more
than encoding the few small values of a step. `compact_encoder` builds it once. The text is
exactly `json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=...,
default=...)`, minus the circular-reference check (stored values are JSON data, never cyclic).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["compact_encoder"]


def compact_encoder(
    *, sort_keys: bool = False, default: Callable[[Any], Any] | None = None
) -> Callable[[Any], str]:
    """A function giving the compact JSON text of a value."""
    c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
    if c_make_encoder is None:  # no C accelerator (another Python): the library's own path
        return json.JSONEncoder(
            separators=(",", ":"),
            ensure_ascii=False,
            sort_keys=sort_keys,
            default=default,
            check_circular=False,
        ).encode
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

    def encode(value: Any) -> str:
        return "".join(make(value, 0))

    return encode


def _unsupported(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
