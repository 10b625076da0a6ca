"""SVG of a process: its DOT text piped through Graphviz's `dot` program, when installed.

`FULFIL_DOT` chooses the program: a name or path to use instead of `dot`, or `off` to behave as
if Graphviz were not installed (the auditor's page then uses the built-in drawing).

Graphviz writes each line of an HTML-like label from the left end of its own estimate of the
line's width, which for bold Helvetica is up to a sixth wider than browsers draw it: centred
names would look pushed to the left. `centre_state_lines` anchors the name and status line of
each state (`engine.render.dot` gives them their own colours) on the middle of its box instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from ..errors import FulfilError, UsageError
from ..model import Process
from .dot import CAPTION_INK, NAME_INK, render_dot

INSTALL_HINT = (
    "the svg format needs Graphviz's `dot` program, which is not installed: install it with "
    "`apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz` (macOS); "
    "`--format html` and `--format mermaid` work without it"
)


OFF_HINT = (
    "the svg format needs Graphviz's `dot` program, and FULFIL_DOT=off says not to use it: "
    "unset FULFIL_DOT; `--format html` and `--format mermaid` work without it"
)


def graphviz_off() -> bool:
    """Whether `FULFIL_DOT` turns Graphviz off."""
    return os.environ.get("FULFIL_DOT", "").strip().lower() == "off"


def dot_program() -> str | None:
    """The path of Graphviz's `dot` (or of `FULFIL_DOT`), or None when absent or turned off."""
    if graphviz_off():
        return None
    return shutil.which(os.environ.get("FULFIL_DOT", "").strip() or "dot")


def dot_to_svg(dot_text: str, *, timeout: float = 60.0) -> str:
    """Run `dot -Tsvg` on DOT text.

    Raises:
        UsageError: `dot` is not installed (the message says how to install it).
        FulfilError: `dot` failed on the text.
    """
    program = dot_program()
    if program is None:
        raise UsageError(OFF_HINT if graphviz_off() else INSTALL_HINT)
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
    return graphviz_svg(process)


_NODE = re.compile(r'<g id="node\d+" class="node">.*?</g>', re.DOTALL)
_SHAPE = re.compile(r'<(?:path|polygon|ellipse)\b[^>]*?(?:\sd|\spoints)="([^"]*)"')
_PAIR = re.compile(r"(-?[\d.]+),(-?[\d.]+)")
_CENTRED = re.compile(
    r'<text text-anchor="start" x="(-?[\d.]+)"([^>]*?fill="(?:'
    + "|".join(re.escape(ink) for ink in (NAME_INK, CAPTION_INK))
    + ')")'
)


def _centred(node: str) -> str:
    shape = _SHAPE.search(node)
    xs = [float(x) for x, _ in _PAIR.findall(shape.group(1))] if shape else []
    if not xs:
        return node
    middle = f"{(min(xs) + max(xs)) / 2:.2f}"
    return _CENTRED.sub(
        lambda found: f'<text text-anchor="middle" x="{middle}"{found.group(2)}', node
    )


def centre_state_lines(svg: str) -> str:
    """Graphviz's SVG with each state's name and status line centred on its box."""
    return _NODE.sub(lambda found: _centred(found.group(0)), svg)


def graphviz_svg(process: Process) -> str:
    """The SVG of a process drawn by Graphviz, its states' names centred (needs `dot`)."""
    return centre_state_lines(dot_to_svg(render_dot(process)))
