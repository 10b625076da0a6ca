"""The `expect` step: which keys it takes, what shape each has, and how each is checked.

`check_shapes` runs when a scenario file is read (a wrong shape is a located file error);
`compare_instance`, `compare_outbox` and `compare_sheets` run when the step is reached and
return one `Mismatch` per expectation that does not hold, saying what was expected and found.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..errors import did_you_mean
from ..runtime.data import DataCodec
from ..runtime.views import InstanceView
from ..store.base import OutboxRecord, SheetRow

__all__ = [
    "CHILD_KEYS",
    "EXPECT_KEYS",
    "MESSAGE_KEYS",
    "Mismatch",
    "check_shapes",
    "compare_instance",
    "compare_outbox",
    "compare_sheets",
    "show",
]

ShapeProblem = tuple[tuple[str | int, ...], str, str]


@dataclass(frozen=True)
class Mismatch:
    """One expectation that does not hold: what the scenario expected, and what was found."""

    expected: str
    found: str


# shapes ----------------------------------------------------------------------------------
def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_texts(value: Any) -> bool:
    return isinstance(value, str) or _is_str_list(value)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_contains(value: Any) -> bool:
    return isinstance(value, dict) and all(_is_texts(v) for v in value.values())


def _is_rows(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(row, dict) for row in value)


def _is_attachment(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) <= {"columns", "rows"}
        and _is_str_list(value.get("columns", []))
        and _is_rows(value.get("rows", []))
    )


_TEXT = (lambda v: isinstance(v, str), "a text")
_CLOSURE = (lambda v: v is None or isinstance(v, str), 'a text ("" for none)')
_NAMES = (_is_str_list, "a list of names")
_COUNT = (_is_count, "a whole number")
_MAPPING = (lambda v: isinstance(v, dict), "a mapping field: value")
_CONTAINS = (_is_contains, "a mapping field: text (or a list of texts)")

_Shape = tuple[Callable[[Any], bool], str]

CHILD_KEYS: dict[str, _Shape] = {
    "state": _TEXT,
    "status": _TEXT,
    "closure_reason": _CLOSURE,
    "fields": _MAPPING,
    "fields_contain": _CONTAINS,
    "released": (lambda v: isinstance(v, bool), "true or false"),
}
STARTED_KEYS = {k: v for k, v in CHILD_KEYS.items() if k != "released"}
EXPECT_KEYS: dict[str, _Shape] = {
    "instance": _TEXT,
    "task": _TEXT,
    **{k: v for k, v in CHILD_KEYS.items() if k != "released"},
    "triggers": _NAMES,
    "triggers_exact": _NAMES,
    "timers": _NAMES,
    "children": (lambda v: isinstance(v, dict), "a mapping task name: checks"),
    "started": (lambda v: isinstance(v, dict), "a mapping process id: checks"),
    "history_length": _COUNT,
    "outbox": (lambda v: isinstance(v, list), "a list of messages"),
    "outbox_count": _COUNT,
    "sheets": (
        lambda v: isinstance(v, dict) and all(_is_rows(rows) for rows in v.values()),
        "a mapping sheet name: list of rows (column: value)",
    ),
}
MESSAGE_KEYS: dict[str, _Shape] = {
    "channel": _TEXT,
    "to": (_is_texts, "an address or a list of addresses"),
    "cc": (_is_str_list, "a list of addresses ([] for none)"),
    "subject_contains": _TEXT,
    "body_contains": (_is_texts, "a text or a list of texts"),
    "attachment": (_is_attachment, "a mapping with columns: [...] and rows: [{column: value}]"),
}


def _shape_problems(
    value: Mapping[str, Any], keys: Mapping[str, _Shape], where: tuple[str | int, ...]
) -> list[ShapeProblem]:
    out: list[ShapeProblem] = []
    for name, item in value.items():
        shape = keys.get(name)
        if shape is None:
            out.append(((*where, name), f"unknown key '{name}'", did_you_mean(name, keys)))
        elif not shape[0](item):
            out.append(((*where, name), f"'{name}' must be {shape[1]}", ""))
    return out


def check_shapes(checks: Mapping[str, Any]) -> list[ShapeProblem]:
    """The problems with the keys and value shapes of an `expect` mapping (paths inside it)."""
    out = _shape_problems(checks, EXPECT_KEYS, ())
    for key in ("children", "started"):
        related = checks.get(key)
        if not isinstance(related, dict):
            continue
        keys = CHILD_KEYS if key == "children" else STARTED_KEYS
        for name, spec in related.items():
            if isinstance(spec, dict):
                out += _shape_problems(spec, keys, (key, name))
            else:
                what = "a child's" if key == "children" else "a started instance's"
                out.append(((key, name), f"{what} checks are a mapping", ""))
    outbox = checks.get("outbox")
    if isinstance(outbox, list):
        for i, message in enumerate(outbox):
            if isinstance(message, dict):
                out += _shape_problems(message, MESSAGE_KEYS, ("outbox", i))
            else:
                out.append(
                    (("outbox", i), "a message is a mapping (to, subject_contains, ...)", "")
                )
    return out


# showing values --------------------------------------------------------------------------
def show(value: Any) -> str:
    """A value as a process owner would write it in YAML flow style."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        plain = value and value.strip() == value and not any(c in value for c in ",:[]{}#\"'\n")
        return value if plain else repr(value)
    return str(value)


def _cell(value: Any) -> str:
    """An expected sheet or CSV cell as the engine writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) <= 10:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def same(expected: Any, actual: Any) -> bool:
    """Whether a field's value is the expected one (times equal whatever their zone notation)."""
    if isinstance(actual, date):
        actual = actual.isoformat()
    if isinstance(expected, bool) != isinstance(actual, bool):
        return False
    if expected == actual:
        return True
    left, right = _moment(expected), _moment(actual)
    return left is not None and right is not None and left == right


# instances -------------------------------------------------------------------------------
def compare_instance(
    checks: Mapping[str, Any],
    view: InstanceView,
    *,
    prefix: str = "",
    history_length: Callable[[], int] | None = None,
) -> list[Mismatch]:
    """Check an instance's state, status, closure reason, fields, triggers and timers."""
    out: list[Mismatch] = []
    for key in ("state", "status", "closure_reason"):
        if key in checks:
            want = checks[key] if checks[key] is not None else ""
            got = getattr(view, key)
            if want != got:
                out.append(Mismatch(f"{prefix}{key} == {show(want)}", f"{key} == {show(got)}"))
    data = {k: DataCodec.encode_value(v) for k, v in view.data.items()}
    out += _fields(checks.get("fields", {}), data, prefix)
    out += _fields_contain(checks.get("fields_contain", {}), data, prefix)
    out += _names(checks, "triggers", list(view.triggers), prefix, subset=True)
    out += _names(checks, "triggers_exact", list(view.triggers), prefix, subset=False)
    out += _names(checks, "timers", [t.name for t in view.timers], prefix, subset=False)
    if "history_length" in checks and history_length is not None:
        got = history_length()
        if got != checks["history_length"]:
            want = checks["history_length"]
            out.append(Mismatch(f"{prefix}history_length == {want}", f"history_length == {got}"))
    return out


def _fields(wanted: Mapping[str, Any], data: Mapping[str, Any], prefix: str) -> list[Mismatch]:
    out = []
    for name, want in wanted.items():
        if name not in data:
            hint = did_you_mean(name, data)
            out.append(
                Mismatch(
                    f"{prefix}fields.{name} == {show(want)}",
                    f"no field '{name}'" + (f" ({hint})" if hint else ""),
                )
            )
        elif not same(want, data[name]):
            out.append(
                Mismatch(f"{prefix}fields.{name} == {show(want)}", f"{name} == {show(data[name])}")
            )
    return out


def _fields_contain(
    wanted: Mapping[str, Any], data: Mapping[str, Any], prefix: str
) -> list[Mismatch]:
    out = []
    for name, texts in wanted.items():
        if name not in data:
            out.append(Mismatch(f"{prefix}fields_contain.{name}", f"no field '{name}'"))
            continue
        value = data[name]
        shown = value if isinstance(value, str) else show(value)
        for text in [texts] if isinstance(texts, str) else texts:
            if text not in shown:
                out.append(
                    Mismatch(
                        f"{prefix}fields_contain.{name} has {show(text)}",
                        f"{name} == " + show(shown),
                    )
                )
    return out


def _names(
    checks: Mapping[str, Any], key: str, got: list[str], prefix: str, *, subset: bool
) -> list[Mismatch]:
    if key not in checks:
        return []
    want = list(checks[key])
    ok = set(want) <= set(got) if subset else sorted(want) == sorted(got)
    if ok:
        return []
    label = key.removesuffix("_exact")
    relation = "include" if subset else "=="
    return [Mismatch(f"{prefix}{key} {relation} {show(want)}", f"{label} == {show(sorted(got))}")]


# the outbox ------------------------------------------------------------------------------
def _describe(message: OutboxRecord) -> str:
    cc = f" cc {show(list(message.cc))}" if message.cc else ""
    return f"{message.channel} to {show(list(message.to))}{cc}: {show(message.subject)}"


def compare_outbox(
    wanted: Sequence[Mapping[str, Any]], new: Sequence[OutboxRecord]
) -> list[Mismatch]:
    """Check the messages queued since the previous outbox expectation, in order."""
    if len(wanted) != len(new):
        listing = "; ".join(_describe(m) for m in new) or "none"
        return [
            Mismatch(
                f"{len(wanted)} new message{'s' if len(wanted) != 1 else ''} in the outbox",
                f"{len(new)}: {listing}",
            )
        ]
    out: list[Mismatch] = []
    for i, (want, message) in enumerate(zip(wanted, new, strict=True)):
        out += _message(f"outbox[{i}]", want, message)
    return out


def _message(label: str, want: Mapping[str, Any], message: OutboxRecord) -> list[Mismatch]:
    out: list[Mismatch] = []

    def miss(key: str, expected: Any, found: str) -> None:
        out.append(
            Mismatch(f"{label}.{key} {expected}", f"{found} (message: {_describe(message)})")
        )

    if "channel" in want and want["channel"] != message.channel:
        miss("channel", f"== {want['channel']}", f"channel == {message.channel}")
    if "to" in want:
        to = want["to"]
        if isinstance(to, str) and to not in message.to:
            miss("to", f"includes {to}", f"to == {show(list(message.to))}")
        elif isinstance(to, list) and sorted(to) != sorted(message.to):
            miss("to", f"== {show(to)}", f"to == {show(list(message.to))}")
    if "cc" in want and sorted(want["cc"]) != sorted(message.cc):
        miss("cc", f"== {show(want['cc'])}", f"cc == {show(list(message.cc))}")
    if "subject_contains" in want and want["subject_contains"] not in message.subject:
        miss(
            "subject",
            f"contains {show(want['subject_contains'])}",
            f"subject == {show(message.subject)}",
        )
    body = want.get("body_contains", [])
    for text in [body] if isinstance(body, str) else body:
        if text not in message.body:
            miss("body", f"contains {show(text)}", f"body == {show(message.body)}")
    if "attachment" in want:
        out += _attachment(label, want["attachment"], message)
    return out


def _attachment_text(message: OutboxRecord) -> str | None:
    """The CSV a fulfilment-list message carries: its first `(name, type, text)` attachment."""
    attachments: Any = getattr(message, "attachments", ())
    for item in attachments:
        if isinstance(item, tuple | list) and item and isinstance(item[-1], str):
            return item[-1]
    return None


def _attachment(label: str, want: Mapping[str, Any], message: OutboxRecord) -> list[Mismatch]:
    text = _attachment_text(message)
    if text is None:
        return [Mismatch(f"{label}.attachment (a CSV)", "the message has no attachment")]
    rows = list(csv.reader(io.StringIO(text)))
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    out: list[Mismatch] = []
    if "columns" in want and list(want["columns"]) != header:
        out.append(
            Mismatch(
                f"{label}.attachment.columns == {show(want['columns'])}",
                f"columns == {show(header)}",
            )
        )
    if "rows" in want:
        found = [dict(zip(header, row, strict=False)) for row in body]
        out += _rows(f"{label}.attachment.rows", want["rows"], found)
    return out


# sheets ----------------------------------------------------------------------------------
def _rows(
    label: str, wanted: Sequence[Mapping[str, Any]], found: Sequence[Mapping[str, str]]
) -> list[Mismatch]:
    if len(wanted) != len(found):
        return [Mismatch(f"{label}: {len(wanted)} rows", f"{len(found)} rows: {show(list(found))}")]
    out = []
    for i, (want, row) in enumerate(zip(wanted, found, strict=True)):
        for column, value in want.items():
            if column not in row:
                out.append(
                    Mismatch(
                        f"{label}[{i}].{column} == {show(value)}",
                        f"no column '{column}' (columns: {show(list(row))})",
                    )
                )
            elif _cell(value) != row[column]:
                out.append(
                    Mismatch(
                        f"{label}[{i}].{column} == {show(_cell(value))}",
                        f"{column} == {show(row[column])}",
                    )
                )
    return out


def compare_sheets(
    wanted: Mapping[str, Sequence[Mapping[str, Any]]], rows_of: Callable[[str], list[SheetRow]]
) -> list[Mismatch]:
    """Check the rows appended to each named sheet (only the columns given are compared)."""
    out: list[Mismatch] = []
    for sheet, rows in wanted.items():
        found = [dict(row.values) for row in rows_of(sheet)]
        out += _rows(f"sheets.{sheet}", rows, found)
    return out
