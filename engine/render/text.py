"""The words of a drawn diagram, shared by the DOT and the built-in SVG writers.

An arrow's label is `trigger [guard] (roles)` (then `; starts PROCESS` when it starts another
process's instance), or `timer 7d name → trigger [guard] (roles)` for a
transition fired by a timer: the word "timer", not a stopwatch sign, which many machines' fonts
lack (it shows as an empty box). Long labels are cut into lines of `WRAP` characters.

A transition from a state to itself is not drawn as a loop (loop labels pile up on the box):
it is listed inside the state's box, under `stays (internal):` when it does not leave the state
(its timers run on) and `re-enters:` when it leaves and enters again (its timers restart).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence

from .diagram import Edge

WRAP = 28  # characters per label line
INTERNAL = "stays (internal):"
REENTERS = "re-enters:"


def edge_text(edge: Edge) -> str:
    """`trigger [guard] (roles)`, or `timer 7d name → trigger [guard] (roles)` for a timer edge,
    then what it starts (`starts_text`)."""
    return transition_text(edge) + starts_text(edge)


def transition_text(edge: Edge) -> str:
    """`trigger [guard] (roles)`, or `timer 7d name → trigger [guard] (roles)` for a timer edge."""
    head = f"timer {edge.timer} → {edge.trigger}" if edge.is_timer else edge.trigger
    return head + conditions_text(edge)


def conditions_text(edge: Edge) -> str:
    """` [guard] (roles)`: what a transition asks before it fires (empty when nothing)."""
    text = f" [{edge.guard}]" if edge.guard else ""
    return text + (f" ({', '.join(edge.roles)})" if edge.roles else "")


def starts_text(edge: Edge) -> str:
    """`; starts offboarding` for a transition whose `start` actions start other processes."""
    return f"; starts {', '.join(edge.starts)}" if edge.starts else ""


def wrap(text: str, width: int = WRAP, *, bullet: bool = False) -> list[str]:
    """Text cut at spaces into lines of at most `width` characters; later lines indented.

    With `bullet` the first line starts with a bullet, for one item of several.
    """
    flat = " ".join(text.split())
    first = "• " if bullet else ""
    lines = textwrap.wrap(
        flat,
        width,
        initial_indent=first,
        subsequent_indent="  ",
        break_on_hyphens=False,
        break_long_words=False,
    )
    return lines or [""]


def unique_texts(edges: Iterable[Edge]) -> list[str]:
    """The label texts of edges, each once, in order of first appearance."""
    texts: list[str] = []
    for edge in edges:
        if edge_text(edge) not in texts:
            texts.append(edge_text(edge))
    return texts


def is_loop(edge: Edge) -> bool:
    """Whether an edge goes from a state to the same state."""
    return edge.source == edge.dest


def loop_sections(loops: Sequence[Edge]) -> list[tuple[str, list[tuple[str, bool]]]]:
    """The headings and lines listed inside a state's box for its transitions to itself.

    Each transition's text is wrapped (its later lines indented); a line is paired with whether
    a timer fires the transition, for writers that colour timer transitions.
    """
    sections = []
    for heading, internal in ((INTERNAL, True), (REENTERS, False)):
        lines = []
        for timer in (False, True):
            texts = unique_texts(e for e in loops if e.internal is internal and e.is_timer is timer)
            lines += [(line, timer) for text in texts for line in wrap(text, WRAP + 8)]
        if lines:
            sections.append((heading, lines))
    return sections
