"""Checks a parsed document against `schemas/process.schema.json`, in words a person can act on.

jsonschema's own messages are written for programmers (`'x' is not of type 'integer'`); here
every error becomes a `Problem` at the offending key or value with a message such as
"unknown key 'trigers' in transition; did you mean 'trigger'?". All errors are reported, one per
place, choosing for `anyOf` the alternative the author most likely meant.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Hashable, Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from ...clock.durations import DURATION_PATTERN
from ...errors import Location, Problem, did_you_mean
from ..yamlsource import Source

__all__ = [
    "PEOPLE_SCHEMA_PATH",
    "SCENARIOS_SCHEMA_PATH",
    "SCHEMAS",
    "SCHEMA_PATH",
    "load_schema",
    "schema_problems",
]

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "schemas" / "process.schema.json"
PEOPLE_SCHEMA_PATH = SCHEMA_PATH.with_name("people.schema.json")
SCENARIOS_SCHEMA_PATH = SCHEMA_PATH.with_name("scenarios.schema.json")
# `fulfil schema NAME`: the schemas an editor can check files against
SCHEMAS = {"process": SCHEMA_PATH, "scenarios": SCENARIOS_SCHEMA_PATH, "people": PEOPLE_SCHEMA_PATH}

_NOUNS = {
    "^[a-z][a-z0-9_]*$": "name",
    DURATION_PATTERN: "duration",
    "^([01][0-9]|2[0-3]):[0-5][0-9]$": "time",
}
_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "nothing",
}


@functools.cache
def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    """A JSON Schema of ours (default: the process schema), read once."""
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def _inline(node: Any, defs: dict[str, Any], inside: frozenset[str] = frozenset()) -> Any:
    """The schema with every local `$ref` replaced by its definition.

    jsonschema resolves a `$ref` on every visit; inlined, validating a 5,000-transition process
    takes about half the time. A definition used inside itself (a compound state's `states`
    holds states) is inlined once; the `$ref` inside it stays, resolved through `$defs`.
    """
    if isinstance(node, list):
        return [_inline(item, defs, inside) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and ref not in inside:
        out = {key: _inline(value, defs, inside) for key, value in node.items() if key != "$ref"}
        return {**_inline(defs[ref[len("#/$defs/") :]], defs, inside | {ref}), **out}
    return {key: _inline(value, defs, inside) for key, value in node.items()}


# Subschema verdicts already known for this document: (id(subschema), value key) of the values
# found valid. A real process repeats many values (state and role names, small lists and
# mappings, whole actions); the verdict depends only on the subschema and the value, so each
# pair is validated once. Per call, never across documents.
_VALID: ContextVar[set[Hashable] | None] = ContextVar("schema_valid", default=None)
_SCALARS = (str, int, float, bool, type(None))
_MAX_KEYED = 16  # values of more nodes are rarely repeated: not worth a key


def _freeze(value: Any, budget: int) -> tuple[Hashable, int]:
    """`value` as a hashable key (with types, so that 1, 1.0 and true differ) and the budget of
    nodes left; a budget below zero means the value is too large (the key is then unusable)."""
    kind = type(value)
    if kind in _SCALARS:
        return (kind, value), budget - 1
    items = value.items() if kind is dict else enumerate(value) if kind is list else None
    if items is None:
        return None, -1
    keys: list[Hashable] = []
    for name, item in items:
        key, budget = _freeze(item, budget - 1)
        if budget < 0:
            return None, -1
        keys.append((name, key))
    return (kind, tuple(keys)), budget


def _value_key(value: Any) -> Hashable | None:
    """A key equal only for equal values of equal types; None for a large value."""
    key, budget = _freeze(value, _MAX_KEYED)
    return key if budget >= 0 else None


def _descend(
    validator: Any,
    value: Any,
    subschema: Any,
    path: str | int | None = None,
    schema_path: str | None = None,
) -> Iterable[ValidationError]:
    """`validator.descend`, skipped when this value is already known valid under `subschema`."""
    known = _VALID.get()
    key = None if known is None else _value_key(value)
    if known is None or key is None:
        return validator.descend(value, subschema, path=path, schema_path=schema_path)  # type: ignore[no-any-return]
    if (id(subschema), key) in known:
        return ()
    errors = list(validator.descend(value, subschema, path=path, schema_path=schema_path))
    if not errors:
        known.add((id(subschema), key))
    return errors


_JSONSCHEMA_KEYWORDS: dict[str, Any] = Draft202012Validator.VALIDATORS

# jsonschema's own `properties`, `items`, `additionalProperties` and `propertyNames` keywords,
# descending through `_descend` (the forms our schema does not use are left to jsonschema).


def _properties(
    validator: Any, properties: dict[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "object"):
        for name, subschema in properties.items():
            if name in instance:
                yield from _descend(validator, instance[name], subschema, name, name)


def _items(validator: Any, items: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if "prefixItems" in schema or isinstance(items, bool):
        yield from _JSONSCHEMA_KEYWORDS["items"](validator, items, instance, schema)
    elif validator.is_type(instance, "array"):
        for index, item in enumerate(instance):
            yield from _descend(validator, item, items, index)


def _additional(
    validator: Any, extra: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not isinstance(extra, dict) or "patternProperties" in schema:
        yield from _JSONSCHEMA_KEYWORDS["additionalProperties"](validator, extra, instance, schema)
    elif validator.is_type(instance, "object"):
        known = schema.get("properties", {})
        for name in instance:
            if name not in known:
                yield from _descend(validator, instance[name], extra, name)


def _property_names(
    validator: Any, names: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "object"):
        for name in instance:
            yield from _descend(validator, name, names)


@functools.cache
def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """A schema `pattern` compiled to read as the editor's ECMA-262 engine reads it: an
    unescaped `$` outside a character class is the end of the text (Python's `$` also matches
    before a final newline, which would let `id: "mini\\n"` pass here and fail in the editor)."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            out.append(r"\Z")
            continue
        out.append(char)
    return re.compile("".join(out))


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not ecma_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator: Any = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    {
        "pattern": _pattern,
        "properties": _properties,
        "items": _items,
        "additionalProperties": _additional,
        "propertyNames": _property_names,
    },
)


@functools.cache
def _validator(path: Path) -> Any:
    schema = load_schema(path)
    inlined = _inline({k: v for k, v in schema.items() if k != "$defs"}, schema["$defs"])
    inlined["$defs"] = schema["$defs"]  # what a recursive `$ref` left in place resolves to
    return _Validator(inlined)


def describe(value: Any) -> str:
    """A value as the author wrote it, for messages: `'x'`, `3`, `true`, `a list`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _slug(text: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", text.lower())).strip("_")


def _expected(schema: dict[str, Any]) -> str:
    """What a schema accepts, in words: `a name`, `a list`, `'*'`."""
    if "const" in schema:
        return repr(schema["const"])
    if schema.get("pattern") in _NOUNS:
        return "a " + _NOUNS[schema["pattern"]]
    kind: Any = schema.get("type", "value")
    kinds: list[str] = kind if isinstance(kind, list) else [str(kind)]
    return _join([_TYPE_WORDS.get(k, k) for k in kinds])


def _is_shape_error(error: ValidationError) -> bool:
    return not error.relative_path and error.validator in ("type", "const")


def _pick(error: ValidationError) -> ValidationError | str:
    """For anyOf/oneOf, the error of the alternative meant, or a message listing the shapes."""
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return error
    if isinstance(error.schema, dict) and "errorMessage" in error.schema:
        return str(error.schema["errorMessage"])
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    meant = [errs for errs in branches.values() if not any(_is_shape_error(e) for e in errs)]
    if not meant:
        branches_schema: Any = error.validator_value
        options = [_expected(branch) for branch in branches_schema]
        return f"expected {_join(options)}, got {describe(error.instance)}"
    deepest = max((e for errs in meant for e in errs), key=lambda e: len(e.path))
    return _pick(deepest)


def _key_name(error: ValidationError) -> str:
    path = list(error.absolute_path)
    return str(path[-1]) if path and isinstance(path[-1], str) else ""


def _type_message(value: Any, instance: Any, schema: dict[str, Any]) -> str:
    if schema.get("pattern") == DURATION_PATTERN and _is_number(instance):
        if instance != int(instance):
            return "a duration needs whole numbers and units: write e.g. 1d12h or 90m"
        n = int(instance)
        return f"a duration needs a unit: write {n}d (days), {n}h (hours) or {n}m (minutes)"
    kinds = value if isinstance(value, list) else [value]
    return f"expected {_join([_TYPE_WORDS[k] for k in kinds])}, got {describe(instance)}"


def _message(error: ValidationError) -> str:
    """A human message for a leaf error (not additionalProperties/required/propertyNames)."""
    kind: Any = error.validator
    value: Any = error.validator_value
    instance: Any = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    if kind == "type":
        return _type_message(value, instance, schema)
    if kind == "pattern":
        noun = _NOUNS.get(str(value), "value")
        hint = schema.get("patternErrorMessage", f"it must match {value}")
        return f"bad {noun} {describe(instance)}: {hint}"
    if kind == "enum":
        where = f" for {_key_name(error)}" if _key_name(error) else ""
        hint = did_you_mean(str(instance), [str(v) for v in value])
        return f"bad value {describe(instance)}{where}: " + (
            hint or "expected one of: " + ", ".join(map(str, value))
        )
    if kind == "minimum":
        return f"{describe(instance)} is too small: the smallest allowed is {value}"
    if kind == "maximum":
        return f"{describe(instance)} is too large: the largest allowed is {value}"
    if kind == "minItems":
        return "the list is empty: write at least one item"
    if kind == "uniqueItems":
        return "the list repeats a value"
    if kind == "minLength":
        return "the text is empty"
    if kind == "minProperties":
        choices = ", ".join(schema.get("properties", {}))
        what = schema.get("title", "mapping")
        return f"empty {what}: write one of {choices}" if choices else f"empty {what}"
    if kind == "maxProperties":
        keys = ", ".join(instance) if isinstance(instance, dict) else ""
        return f"write only one {schema.get('title', 'entry')} per list item; this one has {keys}"
    return str(error.message)  # pragma: no cover - every keyword the schema uses is handled


def _problems_for(error: ValidationError, source: Source) -> Iterable[Problem]:
    picked = _pick(error)
    path = list(error.absolute_path)
    if isinstance(picked, str):
        yield Problem(source.locate(path), picked)
        return
    error = picked
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if "propertyNames" in error.relative_schema_path or "propertyNames" in error.schema_path:
        name = str(error.instance)
        hint = schema.get("patternErrorMessage", "")
        slug = _slug(name)
        example = f" (e.g. '{slug}')" if slug and slug != name and slug[0].isalpha() else ""
        message = f"bad name {describe(name)}: {hint}{example}"
        yield Problem(source.locate([*path, name], key=True), message)
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = schema.get("properties", {})
        title = schema.get("title", "this mapping")
        for key in error.instance:
            if key not in known:
                hint = did_you_mean(key, known)
                message = f"unknown key '{key}' in {title}" + (f"; {hint}" if hint else "")
                yield Problem(source.locate([*path, key], key=True), message)
    elif error.validator == "required" and isinstance(error.instance, dict):
        known = schema.get("properties", {})
        unknown = [k for k in error.instance if k not in known]
        required: Any = error.validator_value
        missing = [
            k
            for k in required
            if k not in error.instance and not difflib.get_close_matches(k, unknown, 1, 0.6)
        ]
        if not missing:  # a misspelt key is already reported as unknown, with a hint
            return
        title = schema.get("title", "this mapping")
        keys = ", ".join(f"'{k}'" for k in missing)
        noun = "key" if len(missing) == 1 else "keys"
        yield Problem(source.locate(path), f"missing required {noun} {keys} in {title}")
    else:
        yield Problem(source.locate(path), _message(error))


def schema_problems(
    source: Source,
    schema: Path = SCHEMA_PATH,
    empty: str = "the file is empty: a process needs id, version and states",
) -> list[Problem]:
    """Every schema error in the document, one per place, sorted by location.

    Args:
        source: the parsed document.
        schema: the JSON Schema file (default: the process schema).
        empty: the message for an empty document.

    Returns:
        The problems (all errors); empty when the document fits the schema.
    """
    if source.data is None:
        return [Problem(Location(source.file, 1, 1), empty)]
    found: dict[tuple[int, int, str], Problem] = {}
    token = _VALID.set(set())
    try:
        errors = list(_validator(schema).iter_errors(source.data))
    finally:
        _VALID.reset(token)
    for error in errors:
        for problem in _problems_for(error, source):
            loc = problem.location
            found.setdefault((loc.line, loc.column, problem.message), problem)
    return sorted(found.values())
