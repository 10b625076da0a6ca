"""SVG of a process: its DOT text piped through Graphviz's `dot` program, when installed."""

from __future__ import annotations

import shutil
import subprocess

from ..errors import FulfilError, UsageError
from ..model import Process
from .dot import render_dot

INSTALL_HINT = (
    "the svg format needs Graphviz's `dot` program, which is not installed: install it with "
    "`apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz` (macOS); "
    "`--format html` and `--format mermaid` work without it"
)


def dot_program() -> str | None:
    """The path of Graphviz's `dot`, or None when it is not installed."""
    return shutil.which("dot")


def dot_to_svg(dot_text: str, *, timeout: float = 60.0) -> str:
    """Run `dot -Tsvg` on DOT text.

    Raises:
        UsageError: `dot` is not installed (the message says how to install it).
        FulfilError: `dot` failed on the text.
    """
    program = dot_program()
    if program is None:
        raise UsageError(INSTALL_HINT)
    result = subprocess.run(
        [program, "-Tsvg"],
        input=dot_text.encode("utf-8"),
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip()
        raise FulfilError(f"Graphviz dot failed (exit {result.returncode}): {detail}")
    return result.stdout.decode("utf-8")


def render_svg(process: Process) -> str:
    """The SVG diagram of a process (needs Graphviz's `dot`)."""
    return dot_to_svg(render_dot(process))
