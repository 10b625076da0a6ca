"""Instance data: checking what callers give against the declared fields, and its JSON form.

Inside the runtime field values are typed (`date`, aware `datetime`, lists); in the store and in
history they are JSON-native (dates as ISO strings), restored here by the field types.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime
from typing import Any

from ..errors import DataError, UsageError, did_you_mean
from ..messages.addresses import address_problem
from ..model import Field, FieldType, Process

__all__ = ["INT_RANGE", "DataCodec", "refuse_undeclared", "trigger_accepts", "unique_keys"]

INT_RANGE = (-(2**63), 2**63 - 1)  # what a 64-bit column holds; expressions keep within it

_TYPE_WORDS = {
    FieldType.STRING: "a string",
    FieldType.EMAIL: "one e-mail address such as sam@example.com",
    FieldType.TEXT: "a string",
    FieldType.INT: "an integer",
    FieldType.BOOL: "true or false",
    FieldType.DATE: "an ISO date such as 2026-03-01",
    FieldType.DATETIME: "an ISO date-time such as 2026-03-01T09:30:00Z",
    FieldType.LIST: "a list of strings",
}


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError("a date-time is not a date")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise ValueError("not a date")


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    raise ValueError("not a date-time")


def _coerce(spec: Field, value: Any) -> Any:
    kind = spec.type
    if kind in (FieldType.STRING, FieldType.TEXT) and isinstance(value, str):
        return value
    if kind is FieldType.EMAIL and address_problem(value) is None:
        return value
    if kind is FieldType.INT and isinstance(value, int) and not isinstance(value, bool):
        if not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise ValueError("out of range")
        return value
    if kind is FieldType.BOOL and isinstance(value, bool):
        return value
    if kind is FieldType.ENUM and isinstance(value, str) and value in spec.values:
        return value
    if (
        kind is FieldType.LIST
        and isinstance(value, list | tuple)
        and all(isinstance(item, str) for item in value)
    ):
        return list(value)
    if kind is FieldType.DATE:
        return _as_date(value)
    if kind is FieldType.DATETIME:
        return _as_datetime(value)
    raise ValueError(kind.value)


def _shown(value: Any) -> str:
    """A value for a message, cut short: an int of thousands of digits is not printed whole."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return "a number of more than 60 digits"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _problem(spec: Field, value: Any) -> str:
    if spec.type is FieldType.INT and isinstance(value, int) and not isinstance(value, bool):
        low, high = INT_RANGE
        return (
            f"field '{spec.name}' must be a whole number between {low:,} and {high:,}, "
            f"got {_shown(value)}"
        )
    if spec.type is FieldType.ENUM:
        return f"field '{spec.name}' does not allow {value!r}; allowed values: " + ", ".join(
            spec.values
        )
    if spec.type is FieldType.EMAIL:
        return (
            f"field '{spec.name}' must be one e-mail address such as sam@example.com, and "
            f"{value!r} is not: {address_problem(value)}"
        )
    return (
        f"field '{spec.name}' must be {_TYPE_WORDS[spec.type]}, "
        f"got {_shown(value)} ({type(value).__name__})"
    )


class DataCodec:
    """Field checks and JSON conversion for one process, derived once from its fields."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.fields: dict[str, Field] = {f.name: f for f in process.fields}
        self._decoders = {
            f.name: (_as_date if f.type is FieldType.DATE else _as_datetime)
            for f in process.fields
            if f.type in (FieldType.DATE, FieldType.DATETIME)
        }

    def check(
        self, data: Mapping[str, Any] | None, *, instance: str | None = None
    ) -> dict[str, Any]:
        """Validate caller data against the fields and return it typed.

        Raises:
            DataError: an unknown field (with a did-you-mean), a wrong type, an enum value that is
                not allowed (listing the allowed ones), or `None` for a required field.
        """
        if not data:
            return {}
        check = self.check_value
        return {name: check(name, value, instance) for name, value in data.items()}

    def check_value(self, name: str, value: Any, instance: str | None = None) -> Any:
        """One field's value checked and typed, as `check` checks each (same errors)."""
        spec = self.fields.get(name)
        if spec is None:
            hint = did_you_mean(name, self.fields)
            raise DataError(
                f"unknown field '{name}' for process {self.process.id}"
                + (f": {hint}" if hint else ""),
                instance=instance,
            )
        if value is None:
            if spec.required:
                raise DataError(f"field '{name}' is required and cannot be cleared")
            return None
        try:
            typed = _coerce(spec, value)
        except ValueError:
            raise DataError(_problem(spec, value), instance=instance) from None
        if spec.required and isinstance(value, str) and not value.strip():
            raise DataError(
                f"field '{name}' is required: give it a value, not an empty text",
                instance=instance,
            )
        return typed

    def initial(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The data of a new instance: defaults overlaid with `given` (already checked).

        Raises:
            DataError: a required field without default was not given.
        """
        values: dict[str, Any] = {}
        for spec in self.process.fields:
            values[spec.name] = _coerce(spec, spec.default) if spec.default is not None else None
        values.update(given)
        missing = [f.name for f in self.process.fields if f.required and values[f.name] is None]
        if missing:
            raise DataError(
                f"missing required field{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} for process {self.process.id}: give "
                f"{'them' if len(missing) > 1 else 'it'} in --data"
            )
        return values

    def decode(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """Typed values from the stored JSON form."""
        values = dict(stored)
        for name, decoder in self._decoders.items():
            raw = values.get(name)
            if raw is not None:
                values[name] = decoder(raw)
        return values

    @staticmethod
    def encode_value(value: Any) -> Any:
        """The JSON form of one typed value."""
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, tuple):
            return list(value)
        return value

    def encode(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON form of the declared fields among `values`."""
        encode = self.encode_value
        return {name: encode(values.get(name)) for name in self.fields}


def trigger_accepts(process: Process, state: str, trigger: str) -> tuple[str, ...]:
    """The fields a trigger's data may set in a state: what any of its transitions accepts."""
    return tuple(
        dict.fromkeys(
            name
            for t in process.transitions_from(state)
            if t.trigger == trigger
            for name in process.accepts(t)
        )
    )


def refuse_undeclared(
    given: Mapping[str, Any],
    accepted: Collection[str],
    what: str,
    *,
    instance: str | None = None,
    trigger: str | None = None,
) -> None:
    """Refuse data setting a field the trigger (or `start`) does not take as input.

    Args:
        given: the checked data.
        accepted: the fields it may set (`Transition.accepts`, `Process.start_accepts`).
        what: the step in words for the message ("'approve'", "start").

    Raises:
        DataError: a field outside `accepted`; the message lists what may be given.
    """
    extra = [name for name in given if name not in accepted]
    if not extra:
        return
    names = ", ".join(f"'{name}'" for name in extra)
    may = ", ".join(accepted) if accepted else "no data at all"
    raise DataError(
        f"{what} may not set {names}: its data may set {may}"
        + ("" if accepted else "; leave --data out"),
        instance=instance,
        trigger=trigger,
    )


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A `json.loads` object hook refusing a key given twice (JSON alone keeps the last one).

    Raises:
        UsageError: a key repeats; the message names it.
    """
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise UsageError(f"the data gives '{key}' twice: give each field once")
        out[key] = value
    return out
