"""The `fulfil` command line: a thin layer over the engine.

Every command catches `FulfilError`, prints its one-line message to stderr and exits non-zero
(1 for a refused or invalid request, 2 for wrong usage). No traceback reaches the user.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from engine.errors import FulfilError

F = TypeVar("F", bound=Callable[..., Any])


class Settings:
    """The global options, shared by every command through click's context."""

    def __init__(self, db: str, processes: str, now: str | None) -> None:
        self.db = db
        self.processes = Path(processes)
        self.now = now


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
            fail(str(exc), getattr(exc, "exit_code", 1))
        except (OSError, ValueError) as exc:
            fail(str(exc))
        return None

    return wrapper  # type: ignore[return-value]


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=False, default=str))


@click.group()
@click.option(
    "--db",
    envvar="FULFIL_DB",
    default="sqlite:///fulfil.db",
    show_default=True,
    help="Store URL: sqlite:///FILE, memory://, or postgresql://...",
)
@click.option(
    "--processes",
    envvar="FULFIL_PROCESSES",
    default="./processes",
    show_default=True,
    help="Folder of process definitions.",
)
@click.option(
    "--now",
    envvar="FULFIL_NOW",
    default=None,
    help="The clock's time (ISO-8601), for scenarios and back-filling.",
)
@click.version_option(package_name="fulfil")
@click.pass_context
def main(ctx: click.Context, db: str, processes: str, now: str | None) -> None:
    """fulfil: declarative workflows for operations teams."""
    ctx.obj = Settings(db, processes, now)


@main.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_obj
@guarded
def validate_command(settings: Settings, paths: tuple[Path, ...]) -> None:
    """Check process definitions (files or folders; default: the processes folder)."""
    from engine.validate.files import validate_paths

    reports = validate_paths(paths or (settings.processes,))
    for report in reports:
        for line in report.lines():
            click.echo(line)
    errors = sum(1 for r in reports for p in r.problems if p.is_error)
    if errors:
        bad = sum(1 for r in reports if not r.ok)
        fail(f"{errors} error{'s' if errors > 1 else ''} in {bad} of {len(reports)} files")


@main.command("render")
@click.argument("target", metavar="PROCESS_OR_FILE")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot", "svg", "html"]),
    default="mermaid",
    show_default=True,
    help="svg needs Graphviz's `dot` program; the others need nothing.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file instead of stdout.",
)
@click.pass_obj
@guarded
def render_command(settings: Settings, target: str, fmt: str, output: Path | None) -> None:
    """Draw a process: a .yaml file, or a process id from the processes folder."""
    from engine.errors import DefinitionError, UsageError
    from engine.loader import load_directory, load_file
    from engine.render import render

    path = Path(target)
    try:
        if path.suffix in (".yaml", ".yml") or path.is_file():
            if not path.is_file():
                raise UsageError(f"no such file: {target}")
            process = load_file(path).process
        else:
            process = load_directory(settings.processes).get(target)
    except DefinitionError as exc:
        for problem in exc.errors:
            click.echo(str(problem), err=True)
        count = len(exc.errors)
        fail(f"cannot render an invalid definition ({count} error{'s' if count > 1 else ''})")
    text = render(process, fmt)
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


if __name__ == "__main__":
    main()
