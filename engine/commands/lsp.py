"""`fulfil lsp`: the language server, over stdin and stdout (engine.lsp)."""

from __future__ import annotations

import os
import sys

import click


@click.command(
    "lsp", epilog="\b\nExample:\n  fulfil lsp   # started by the editor (docs/editors.md)"
)
@click.option(
    "--stdio", is_flag=True, help="Speak over stdin/stdout (the default; editors pass it)."
)
@click.option(
    "--no-check",
    is_flag=True,
    help="Do not model-check a process when it is saved (the findings of `fulfil check`).",
)
def lsp_command(stdio: bool, no_check: bool) -> None:
    """Run the language server for process, scenario and people files (docs/editors.md).

    An editor starts it and speaks the Language Server Protocol over stdin and stdout: it shows
    what `fulfil validate` finds as you type, completes names, hovers, and goes to definitions.
    """
    from ..lsp.server import build_server

    # The protocol gets its own handle on stdout (the server closes it when told to exit), and
    # anything else printed goes to stderr, where it cannot corrupt the protocol's messages.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr
    build_server(check_on_save=not no_check).start_io(sys.stdin.buffer, channel)
