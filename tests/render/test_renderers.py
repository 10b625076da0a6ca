"""The diagram model, escaping in Mermaid and DOT, the format registry and the svg path."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from fulfil.engine.clock.durations import format_duration
from fulfil.engine.errors import FulfilError, UsageError
from fulfil.engine.model import Expr, Recurrence, State, Timer, Transition
from fulfil.engine.render import FORMATS, get_renderer, render, render_dot, render_mermaid
from fulfil.engine.render import svg as svg_module
from fulfil.engine.render.diagram import extract, timer_when
from render_sample import sample_process


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(days=7), "7d"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(hours=36), "1d12h"),
        (timedelta(0), "0m"),
        (timedelta(seconds=5), "5s"),
    ],
)
def test_format_duration(delta: timedelta, text: str) -> None:
    """Durations print compactly, largest unit first."""
    assert format_duration(delta) == text


def test_timer_when_for_each_kind() -> None:
    """Timer labels say after, business time, at-expression or recurrence."""
    assert timer_when(Timer("t", "x", after=timedelta(hours=1), calendar="office")) == (
        "1h business (office)"
    )
    assert timer_when(Timer("t", "x", at=Expr("due - days(14)"))) == "at due - days(14)"
    weekly = Recurrence("weekly", at="08:00", weekday=0)
    assert timer_when(Timer("t", "x", every=weekly)) == "every weekly mon 08:00"
    assert timer_when(Timer("t", "x", every=Recurrence("cron", cron="0 8 * * 1"))) == (
        "every cron 0 8 * * 1"
    )


def test_extract_marks_timer_edges_and_expands_star() -> None:
    """A timer-fired transition is a timer edge; `*` becomes one edge per non-terminal state."""
    process = sample_process()
    cancel = Transition("cancel", ("*",), "closed")
    diagram = extract(replace(process, transitions=(*process.transitions, cancel)))
    timer_edges = [e for e in diagram.edges if e.is_timer]
    assert [(e.trigger, e.timer) for e in timer_edges] == [("remind", "7d next_call_due")]
    cancels = [e.source for e in diagram.edges if e.trigger == "cancel"]
    assert cancels == ["new", "in_progress", "on_hold"]


def test_mermaid_escapes_special_characters() -> None:
    """Guards with Mermaid's special characters use entity codes, on one line."""
    process = sample_process()
    tricky = Transition("odd", ("new",), "closed", guard=Expr('a < 1; "b" # c:\nd'))
    text = render_mermaid(replace(process, transitions=(tricky,)))
    assert "new --> closed : odd [a #lt; 1#59; #quot;b#quot; #35; c#58; d]" in text


def test_mermaid_aliases_keyword_state_names() -> None:
    """A state named like a Mermaid keyword gets an alias and keeps its name as label."""
    process = sample_process()
    states = (*process.states, State("end", terminal=True))
    text = render_mermaid(
        replace(process, states=states, transitions=(Transition("stop", ("new",), "end"),))
    )
    assert 'state "end" as end_' in text
    assert "new --> end_ : stop" in text
    assert "end_ --> [*]" in text


def test_dot_escapes_quotes_and_backslashes() -> None:
    """Quotes and backslashes in labels are escaped for DOT."""
    process = sample_process()
    tricky = Transition("odd", ("new",), "closed", guard=Expr('name == "x\\y"'))
    text = render_dot(replace(process, transitions=(tricky,)))
    assert '"new" -> "closed" [label="odd [name == \\"x\\\\y\\"]"];' in text


def test_dot_draws_timers_dashed_and_terminals_double() -> None:
    """Timer edges are dashed, orange and say `timer`; terminal states are boxes with a double
    border (not circles); tasks are a cluster."""
    process = sample_process()
    remind = Transition("remind", ("in_progress",), "on_hold")
    text = render_dot(replace(process, transitions=(*process.transitions[:2], remind)))
    assert (
        '"in_progress" -> "on_hold" [label="timer 7d next_call_due →\\nremind", style=dashed, '
        'color="#b35c00", fontcolor="#b35c00"];'
    ) in text
    closed = next(line for line in text.splitlines() if line.strip().startswith('"closed"'))
    assert closed.endswith('>, peripheries=2, fillcolor="#f2f2f2", color="#444444"];')
    assert "circle" not in text
    assert "⏱" not in text
    assert '"task:intake" -> "task:access"' in text


def test_dot_lists_transitions_to_the_same_state_inside_its_box() -> None:
    """No self-loop edges: the state's label lists them under a rule, timer ones in orange."""
    text = render_dot(sample_process())
    assert '"in_progress" -> "in_progress"' not in text
    in_progress = next(line for line in text.splitlines() if '"in_progress" [' in line)
    listed = in_progress.split("<HR/>")[1]
    assert '<FONT POINT-SIZE="12" COLOR="#666666"><I>re-enters:</I></FONT>' in listed
    assert "log_call [outcome != 'reached' and</FONT>" in listed
    assert "&#160;&#160;attempt &lt; 3] (ops, lead)</FONT>" in listed
    assert 'COLOR="#b35c00">timer 7d next_call_due → remind</FONT>' in listed


def test_unknown_format_lists_available_formats() -> None:
    """Asking for an unknown format is a usage error naming every format."""
    with pytest.raises(UsageError) as caught:
        get_renderer("png")
    assert str(caught.value) == (
        "Unknown format: 'png'. Available formats: mermaid, dot, svg, html"
    )
    assert FORMATS == ("mermaid", "dot", "svg", "html")


def test_svg_without_dot_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Graphviz, svg is a usage error with install commands and alternatives."""
    monkeypatch.setattr(svg_module.shutil, "which", lambda name: None)
    with pytest.raises(UsageError) as caught:
        render(sample_process(), "svg")
    message = str(caught.value)
    assert "apt-get install graphviz" in message
    assert "brew install graphviz" in message
    assert "--format html" in message


def test_svg_pipes_dot_text_through_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    """With Graphviz, the DOT text goes to `dot -Tsvg` on stdin and its stdout is returned."""
    calls: list[tuple[list[str], bytes]] = []

    def fake_run(args: list[str], **kw: Any) -> subprocess.CompletedProcess[bytes]:
        calls.append((args, kw["input"]))
        return subprocess.CompletedProcess(args, 0, b"<svg>ok</svg>", b"")

    monkeypatch.setattr(svg_module.shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setattr(svg_module.subprocess, "run", fake_run)
    assert render(sample_process(), "svg") == "<svg>ok</svg>"
    assert calls == [(["/usr/bin/dot", "-Tsvg"], render_dot(sample_process()).encode())]


def test_svg_reports_graphviz_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing `dot` is an error carrying its exit code and message."""

    def fake_run(args: list[str], **kw: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess(args, 1, b"", b"syntax error in line 3")

    monkeypatch.setattr(svg_module.shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setattr(svg_module.subprocess, "run", fake_run)
    with pytest.raises(FulfilError, match=r"exit 1.*syntax error in line 3"):
        render(sample_process(), "svg")


def test_internal_transition_is_a_marked_self_loop() -> None:
    """A transition without dest goes from each source to itself, marked internal; DOT lists
    it inside the state's box under `stays (internal):`."""
    process = sample_process()
    note = Transition("note", ("new", "in_progress"), None)
    changed = replace(process, transitions=(*process.transitions, note))
    edges = [e for e in extract(changed).edges if e.trigger == "note"]
    assert [(e.source, e.dest, e.internal) for e in edges] == [
        ("new", "new", True),
        ("in_progress", "in_progress", True),
    ]
    assert "new --> new : note (internal)" in render_mermaid(changed)
    dot = render_dot(changed)
    assert '"new" -> "new"' not in dot
    new = next(line for line in dot.splitlines() if line.strip().startswith('"new" ['))
    assert ">stays (internal):</I></FONT></TD></TR>" in new
    assert '<FONT POINT-SIZE="12">note</FONT>' in new


def test_fulfil_dot_off_hides_graphviz_with_its_own_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FULFIL_DOT=off: no `dot` even where installed, and svg says to unset the variable."""
    monkeypatch.setattr(svg_module.shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setenv("FULFIL_DOT", "off")
    assert svg_module.dot_program() is None
    with pytest.raises(UsageError, match="FULFIL_DOT=off says not to use it: unset FULFIL_DOT"):
        render(sample_process(), "svg")


def test_fulfil_dot_names_the_program(monkeypatch: pytest.MonkeyPatch) -> None:
    """FULFIL_DOT=/opt/graphviz/bin/dot is looked up instead of `dot` on the PATH."""
    asked: list[str] = []
    monkeypatch.setattr(svg_module.shutil, "which", lambda name: asked.append(name) or name)
    monkeypatch.setenv("FULFIL_DOT", "/opt/graphviz/bin/dot")
    assert svg_module.dot_program() == "/opt/graphviz/bin/dot"
    assert asked == ["/opt/graphviz/bin/dot"]


def test_state_names_and_statuses_are_centred_on_their_box() -> None:
    """Graphviz's left-anchored name and status lines are re-anchored on the box's middle;
    the listed lines (other colours) keep their left anchor."""
    node = (
        '<g id="node2" class="node">\n<title>a</title>\n'
        '<path fill="#eef3fb" d="M172,-10C172,-10 12,-10 12,-10 0,-10 0,-50 12,-50"/>\n'
        '<text text-anchor="start" x="9" y="-40" font-weight="bold" fill="#1a1a1a">a</text>\n'
        '<text text-anchor="start" x="59" y="-30" font-size="12.00" fill="#555555">New</text>\n'
        '<text text-anchor="start" x="9" y="-20" font-size="12.00">log_call</text>\n</g>'
    )
    centred = svg_module.centre_state_lines(f"<svg>{node}</svg>")
    assert (
        '<text text-anchor="middle" x="86.00" y="-40" font-weight="bold" fill="#1a1a1a">a'
        in centred
    )
    assert (
        '<text text-anchor="middle" x="86.00" y="-30" font-size="12.00" fill="#555555">New'
        in centred
    )
    assert '<text text-anchor="start" x="9" y="-20" font-size="12.00">log_call' in centred
