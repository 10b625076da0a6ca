"""`fulfil schema`: the JSON Schemas of process, scenario and people files, for editors.

The schemas travel inside the package; a team keeping its processes in its own repository
writes them where its editor finds them (`fulfil schema process -o .fulfil/process.schema.json`)
and points each file's first line at that copy (docs/editors.md).
"""

from __future__ import annotations

from pathlib import Path

import click

from .common import guarded
from .options import FILE


@click.command("schema")
@click.argument("name", type=click.Choice(["process", "scenarios", "people"]), default="process")
@click.option(
    "-o",
    "--output",
    type=FILE,
    default=None,
    help="Write to this file (its folder is created) instead of stdout.",
)
@guarded
def schema_command(name: str, output: Path | None) -> None:
    """Print the JSON Schema of a process (default), a scenarios file or the people file."""
    from ..definition.validate.schema import SCHEMAS

    text = SCHEMAS[name].read_text(encoding="utf-8")
    if output is None:
        click.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)
