"""What the commands of `fulfil` share: errors to one line, JSON out, the engine opened from
the global options, and the `--data`, `--as` and `--json` options.

A command module (`cli.py`, and each `engine/commands/<topic>.py`) builds its commands from
these, so every command reads, refuses and prints alike.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

import click

from ..errors import FulfilError
from .options import Settings, pipe_closed

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def guarded(func: F) -> F:
    """Turn every deliberate engine error into a one-line message and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FulfilError as exc:
            fail(str(exc) + _how_to_give(exc), getattr(exc, "exit_code", 1))
        except BrokenPipeError:
            pipe_closed()  # the reader went away (`| head`): not an error of ours
        except (OSError, ValueError) as exc:
            fail(str(exc))
        return None

    return wrapper  # type: ignore[return-value]


def _how_to_give(error: FulfilError) -> str:
    """What the command line adds to a refusal the engine words for every surface: how to give
    a field a transition requires (the workbench's form marks it, the API names it), or the
    role it may only be fired in."""
    if error.code == "requirement_missing":
        field = error.details.get("field")
        if isinstance(field, str):
            return f': give it in --data, e.g. --data \'{{"{field}": "..."}}\''
    if error.code == "role_refused" and "role" not in error.details:
        roles = error.details.get("roles")
        if isinstance(roles, list) and roles:
            return f" with --as ACTOR:ROLE, e.g. --as you:{roles[0]}"
    return ""


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=False, default=str))


@contextlib.contextmanager
def opened_engine(settings: Settings) -> Iterator[Any]:
    """`open_engine` for the length of a command; its store is closed however it ends."""
    engine = open_engine(settings)
    try:
        yield engine
    finally:
        engine.store.close()


def open_engine(settings: Settings) -> Any:
    """An Engine over the settings' store, processes folder and clock (`--now` fixes it)."""
    from ..clock.clocks import ManualClock, SystemClock, parse_now
    from ..people.yamlfile import people_path
    from ..runtime import Engine
    from ..store import open_store
    from .cache import load_definitions

    clock = ManualClock(parse_now(settings.now)) if settings.now else SystemClock()
    keys = settings.audit_keys()
    catalog, people = load_definitions(
        settings.processes, people_path(settings.processes, settings.people)
    )
    return Engine(
        catalog,
        store=open_store(settings.db),
        clock=clock,
        sheets_dir=settings.sheets,
        audit_keys=keys,
        people=people,
    )


OPEN_MODE_NOTE = (
    "note: identities are not verified (no people directory: open mode); "
    "add people.yaml to the processes folder or give --people"
)


def note_open_mode(engine: Any) -> None:
    """Say plainly, under what `show` and `history` print, that nobody's identity was checked."""
    if engine.people is None:
        click.echo(OPEN_MODE_NOTE)


def say_acted_as(view: Any, who: str | None) -> None:
    """When the engine picked the role (`--as PERSON`), say on stderr which one it used."""
    if view.acted_as is None or (who is not None and ":" in who):
        return
    person, role = view.acted_as
    click.echo(f"acting as {person}" + (f" in role {role}" if role else ""), err=True)


def warn_past_timers(view: Any, now: datetime) -> None:
    """Say on stderr which timers the step scheduled in the past (the next tick fires them)."""
    from ..runtime.text import past_timer_warnings

    for line in past_timer_warnings(view, now):
        click.echo(line, err=True)


def parse_data(text: str | None) -> dict[str, Any] | None:
    """The `--data` option: a JSON object, or a usage error (exit 2) saying what is wrong."""
    from ..errors import UsageError
    from ..runtime.data import unique_keys

    if text is None:
        return None
    try:
        value = json.loads(text, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--data is not JSON ({exc.msg} at column {exc.colno}): {text}") from None
    if not isinstance(value, dict):
        raise UsageError(f'--data must be a JSON object such as \'{{"field": "value"}}\': {text}')
    return value


def parse_as(text: str | None) -> dict[str, Any]:
    """The `--as PERSON` or `--as PERSON:ROLE` option as engine keyword arguments."""
    from ..errors import UsageError

    if text is None:
        return {}
    actor, colon, role = text.partition(":")
    if not actor or (colon and not role):
        raise UsageError(
            f"--as takes PERSON or PERSON:ROLE, e.g. --as sam or --as sam:ops_specialist "
            f"(got '{text}')"
        )
    return {"actor": actor, "role": role or None}


def echo_view(view: Any, as_json: bool) -> None:
    from ..runtime.text import instance_lines

    if as_json:
        emit_json(view.to_json())
        return
    for line in instance_lines(view):
        click.echo(line)


DATA_OPTION = click.option("--data", "data", default=None, help="Field values as a JSON object.")
AS_OPTION = click.option(
    "--as",
    "who",
    default=None,
    metavar="PERSON[:ROLE]",
    help="Who is acting: a person of the people directory, optionally in one of their roles.",
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def parse_person(text: str | None, command: str) -> dict[str, Any]:
    """`--as PERSON[:ROLE]` for the commands that need to know who asks (claim, --mine...)."""
    from ..errors import UsageError

    if not text:
        raise UsageError(f"say who you are: fulfil {command} --as PERSON (e.g. --as sam)")
    person, _, role = text.partition(":")
    if not person:
        raise UsageError(f"--as takes PERSON or PERSON:ROLE, e.g. --as sam (got '{text}')")
    return {"actor": person, "role": role or None}


AS_PERSON_OPTION = click.option(
    "--as", "who", default=None, metavar="PERSON[:ROLE]", help="Who is acting (required)."
)
